"""Monitoring page callbacks called directly on a store with a published run scored on later actuals."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from tests import monitor_helpers as mh



@pytest.fixture
def scored(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_ALERTS_FILE", str(tmp_path / "alerts.json"))
    return tmp_db, mh.scored_store(tmp_path, tmp_db)


@pytest.mark.backends("sqlite", "postgresql")
def test_charts_tables_and_band_render_for_the_published_run(scored):
    from callbacks import monitoring as cb
    url, run_id = scored
    summary, over_time, by_step, coverage, worst, drift = cb.render_monitoring("total", "wape", 0)
    assert run_id in str(summary)
    assert "as expected" in str(summary) or "worse than backtest" in str(summary)
    fig = go.Figure(over_time)
    names = [t.name for t in fig.data]
    assert "backtest range (folds)" in names and "live WAPE" in names
    live = next(t for t in fig.data if t.name == "live WAPE")
    assert len(live.x) == 10
    assert list(go.Figure(by_step).data[0].x) == list(range(1, 11))
    assert {t.name for t in go.Figure(coverage).data} >= {"80% interval", "95% interval"}
    assert "store=S" in str(worst)
    assert "No drift check yet" in str(drift)
    mase = go.Figure(cb.render_monitoring("store", "mase", 0)[1])
    assert [t.name for t in mase.data] == ["live MASE"]  # no pooled backtest MASE band


def test_acknowledge_and_rules_editing(scored, monkeypatch):
    import datetime as dt

    from callbacks import monitoring as cb
    from data import monitor_alerts
    url, run_id = scored
    alert_id = monitor_alerts.record_alert({"rule": "stale", "kind": "stale", "severity": "warning",
                                            "subject": "data", "message": "no import for 9 days",
                                            "fired_at": dt.datetime(2030, 1, 1)}, url)
    table, options, chosen = cb.render_alert_log(0)
    assert "no import for 9 days" in str(table) and options[0]["value"] == chosen == str(alert_id)
    result, sig = cb.acknowledge_alert(1, str(alert_id), 0)
    assert "acknowledged" in str(result) and sig == 1
    assert monitor_alerts.alerts(open_only=True, url=url).empty
    assert cb.render_alert_log(sig)[1:] == ([], None)
    again, sig2 = cb.acknowledge_alert(1, str(alert_id), 1)
    assert "not open" in str(again) and sig2 == 1
    text = cb.load_rules(None)
    doc = json.loads(text)
    doc["rules"][0]["threshold"] = 0.5
    assert "Saved to" in str(cb.save_rules(1, json.dumps(doc)))
    assert json.loads(cb.load_rules(None))["rules"][0]["threshold"] == 0.5
    assert "Rules not saved" in str(cb.save_rules(1, '{"rules": [{"kind": "x"}]}'))
    assert "not JSON" in str(cb.save_rules(1, "{"))


def test_ops_callbacks_refuse_a_viewer(tmp_db, monkeypatch):
    from auth import Principal
    from callbacks import _auth
    from callbacks import monitoring as cb
    monkeypatch.setattr(_auth, "current_principal", lambda: Principal("vic", "viewer"))
    assert "Not allowed" in str(cb.acknowledge_alert(1, "1", 0)[0])
    assert "Not allowed" in str(cb.save_rules(1, "{}"))
    assert "Not allowed" in str(cb.run_checks(1, 0)[0])


@pytest.mark.backends("sqlite", "postgresql")
def test_alert_log_round_trip(tmp_db):
    from data import monitor_alerts as log_
    from data import store
    store.init_db(tmp_db)
    first = log_.record_alert({"rule": "drift", "kind": "drift", "severity": "warning", "subject": "data",
                               "message": "drift detected", "value": 0.26, "run_id": "r1"}, tmp_db)
    second = log_.record_alert({"rule": "stale", "kind": "stale", "severity": "critical", "subject": "data",
                                "message": "no import"}, tmp_db)
    assert second > first
    assert log_.open_alert_exists("drift", "data", "r1", tmp_db)
    assert not log_.open_alert_exists("drift", "data", "r2", tmp_db)
    assert log_.open_alert_exists("stale", "data", None, tmp_db)
    log_.link_refresh([first], "r-new", tmp_db)
    log_.set_notified(first, {"webhook": "sent"}, tmp_db)
    assert log_.acknowledge_alert(first, "ann", tmp_db)
    log = log_.alerts(url=tmp_db).set_index("id")
    assert log.loc[first, "refresh_run_id"] == "r-new" and log.loc[first, "acknowledged_by"] == "ann"
    assert log_.alerts(open_only=True, url=tmp_db)["id"].tolist() == [second]
