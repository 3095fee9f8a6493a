"""Live accuracy (data/monitoring.py): an import scores every stored run on the newly known dates, with the
backtests' metric definitions, once per point, and a failing scorer never fails the import."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from tests import monitor_helpers as mh


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from data import ingest
    tmp = tmp_path_factory.mktemp("live")
    url, second, run = mh.refreshed_store(tmp)
    assert run["status"] == "success"
    summary = ingest.ingest_csv(second, mh.MAP, url=url)
    return url, second, run, summary


def test_import_scores_every_stored_point_with_an_actual(live):
    from data import schema, store
    url, _, run, summary = live
    fc = store.get_engine(url).connect().execute(select(schema.Forecast.__table__)).mappings().all()
    fc = pd.DataFrame(fc)
    last = pd.Timestamp(store.date_bounds(url)[1])
    scored = fc[pd.to_datetime(fc["ds"]) <= last]
    assert summary["live_scoring"]["points"] == len(scored) > 0
    assert summary["live_scoring"]["runs"] == 1


def test_total_level_matches_the_backtest_metric_definitions(live):
    from data import monitoring, store
    from models.metrics import compute_metrics
    url, _, run, _ = live
    acc = monitoring.read_live_accuracy(by=("level",), model="final", url=url).set_index("level")
    fc = store.forecast("total", run_id=run["run_id"], url=url)
    hist = store.level_frame("total", url=url)
    first = fc["ds"].min()
    both = fc.merge(hist[["ds", "y"]], on="ds")
    expected = compute_metrics(both["y"], both["yhat"], both["yhat_lo_80"], both["yhat_hi_80"], both["yhat_lo_95"],
                               both["yhat_hi_95"], y_train=hist.loc[hist["ds"] < first, "y"], season_length=7)
    row = acc.loc["total"]
    assert row["n"] == len(both) == 10
    for key in ("wape", "mase", "bias", "coverage_80", "coverage_95"):
        assert row[key] == pytest.approx(expected[key], rel=1e-9), key
    by_step = monitoring.read_live_accuracy(by=("step",), model="final", level="total", url=url)
    assert by_step["step"].tolist() == list(range(1, 11))
    assert np.allclose(by_step["wape"], (both["yhat"] - both["y"]).abs() / both["y"].abs())


def test_scoring_again_adds_nothing_and_a_failing_scorer_never_fails_the_import(live, tmp_path, monkeypatch):
    from data import ingest, monitoring
    url, *_ = live
    before = len(monitoring.read_live_points(url=url))
    assert monitoring.score_new_actuals(url)["points"] == 0
    assert len(monitoring.read_live_points(url=url)) == before

    def broken(url=None):
        raise RuntimeError("scorer broke")
    monkeypatch.setattr(monitoring, "score_new_actuals", broken)
    path = tmp_path / "more.csv"
    mh.sales_frame(start="2030-01-01", days=3).to_csv(path, index=False)
    summary = ingest.ingest_csv(path, mh.MAP, url=url)
    assert summary["message"] == "imported" and summary["live_scoring"] == {"error": "scorer broke"}


def test_group_by_names_are_checked():
    from data import monitoring
    with pytest.raises(ValueError, match="cannot group live accuracy by"):
        monitoring.read_live_accuracy(by=("store",))


def test_status_compares_live_accuracy_with_the_backtest_band(live):
    from monitoring import status
    url, _, run, _ = live
    state = status.status(url)
    assert state["published_run"]["run_id"] == run["run_id"]
    rows = {r["level"]: r for r in state["live_accuracy"]}
    assert rows["total"]["n"] == 10 and rows["store_product"]["n"] == 40
    assert rows["total"]["wape_lo"] <= rows["total"]["wape_expected"] <= rows["total"]["wape_hi"]
    assert rows["total"]["status"] in ("as expected", "worse than backtest")
    worst = status.worst_series(url)
    assert len(worst) == 4 and worst["abs_error"].is_monotonic_decreasing
    assert "Live accuracy of the published forecasts" in status.format_status(state)


def test_accuracy_alert_starts_a_refresh_and_the_log_links_it(live):
    import time

    from data import monitor_alerts as log_
    from data import store
    from monitoring import alerts, rules
    url, _, run, _ = live
    doc = rules.validate({"rules": [{"name": "wape", "kind": "accuracy", "metric": "wape", "level": "total",
                                     "threshold": 0.0, "periods": 3}],
                          "feedback": {"refresh_on": ["accuracy"], "models": "seasonal_naive"}})
    out = alerts.evaluate(url, doc, notify=False)
    (alert,) = out["fired"]
    new_run = out["refresh_run_id"]
    assert new_run and alert["refresh_run_id"] == new_run and alert["run_id"] == run["run_id"]
    logged = log_.alerts(url=url).set_index("id")
    assert logged.loc[alert["id"], "refresh_run_id"] == new_run
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (store.run_info(new_run, url) or {}).get("status") in (None, "running"):
        time.sleep(0.5)
    assert store.run_info(new_run, url)["status"] == "success"
    assert store.current_run(url)["run_id"] == new_run
