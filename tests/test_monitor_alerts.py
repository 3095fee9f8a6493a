"""Alert rules file, notifications (a real aiosmtpd server and a local http.server started here), the alert log
with acknowledge, and rule dedup (monitoring/)."""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests import monitor_helpers as mh


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf8", "replace")))
            return "250 Message accepted for delivery"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.hostname, controller.port, inbox
    controller.stop()


@pytest.fixture
def webhook_server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_rules_file_is_validated_saved_and_loaded(tmp_path):
    from monitoring import rules
    path = tmp_path / "alerts.json"
    assert rules.load(path) == rules.DEFAULT_RULES  # no file: the defaults
    doc = rules.load(path)
    doc["rules"][0]["threshold"] = 0.4
    rules.save(doc, path)
    assert rules.load(path)["rules"][0]["threshold"] == 0.4
    path.write_text('{"rules": [{"name": "x", "kind": "nonsense"}]}')
    with pytest.raises(rules.RulesError, match=r"alerts.json: rules\[0\]: 'kind' must be one of"):
        rules.load(path)
    path.write_text("{not json")
    with pytest.raises(rules.RulesError, match="alerts.json: not a JSON rules file"):
        rules.load(path)
    with pytest.raises(rules.RulesError, match="drift.psy is not a drift threshold"):
        rules.validate({"drift": {"psy": 1}})


def test_email_and_webhook_notifications_reach_real_local_servers(smtp_server, webhook_server):
    from monitoring import notify
    host, port, inbox = smtp_server
    url, received = webhook_server
    alert = {"id": 7, "rule": "accuracy-total", "kind": "accuracy", "severity": "warning", "subject": "total",
             "message": "WAPE above 0.25 for 3 periods", "value": 0.31, "threshold": 0.25, "run_id": "r1"}
    out = notify.notify({"email": {"host": host, "port": port, "sender": "monitor@example.org",
                                   "to": ["ops@example.org"]}, "webhook": {"url": url}}, [alert])
    assert out == {"email": "sent", "webhook": "sent"}
    (rcpt, content), = inbox.messages
    assert rcpt == ["ops@example.org"] and "WAPE above 0.25 for 3 periods" in content
    (ctype, body), = received
    assert ctype == "application/json" and body["alerts"][0]["rule"] == "accuracy-total"
    assert body["alerts"][0]["value"] == 0.31
    closed = notify.notify({"webhook": {"url": f"http://127.0.0.1:{_free_port()}/"}}, [alert])
    assert closed["webhook"].startswith("failed: ")


def test_stale_rule_fires_once_notifies_and_rearms_after_acknowledge(tmp_path, smtp_server, webhook_server):
    from data import ingest
    from data import monitor_alerts as log_
    from monitoring import alerts, rules
    host, port, inbox = smtp_server
    url_hook, received = webhook_server
    path = tmp_path / "sales.csv"
    mh.sales_frame(days=30).to_csv(path, index=False)
    db = f"sqlite:///{tmp_path / 'a.db'}"
    ingest.ingest_csv(path, mh.MAP, url=db)
    doc = rules.validate({"rules": [{"name": "stale", "kind": "stale", "days": 2, "severity": "critical"}],
                          "notify": {"email": {"host": host, "port": port, "to": "ops@example.org"},
                                     "webhook": {"url": url_hook}}})
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert alerts.evaluate(db, doc, now=now)["fired"] == []  # just imported: not stale
    later = now + dt.timedelta(days=3)
    first = alerts.evaluate(db, doc, now=later)
    (alert,) = first["fired"]
    assert alert["kind"] == "stale" and alert["value"] == pytest.approx(3, abs=0.01)
    assert first["notified"] == {"email": "sent", "webhook": "sent"} and len(inbox.messages) == len(received) == 1
    assert alerts.evaluate(db, doc, now=later)["fired"] == []  # still open: not again
    log = log_.alerts(url=db)
    assert json.loads(log["notified"].iloc[0]) == {"email": "sent", "webhook": "sent"}
    assert log_.acknowledge_alert(alert["id"], "ops", url=db)
    assert not log_.acknowledge_alert(alert["id"], "ops", url=db)  # once
    assert log_.alerts(open_only=True, url=db).empty
    assert len(alerts.evaluate(db, doc, now=later)["fired"]) == 1  # acknowledged: the rule is armed again


def test_monitor_command_prints_the_state_and_refuses_a_bad_ack(tmp_path, monkeypatch, capsys):
    import cli
    db = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setenv("SALES_ALERTS_FILE", str(tmp_path / "alerts.json"))
    run_id = mh.scored_store(tmp_path, db)
    assert cli.main(["monitor", "--check", "--json", "--db", db]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["published_run"]["run_id"] == run_id and out["drift"]["checked"] is True
    assert {r["level"] for r in out["live_accuracy"]} >= {"total", "store_product"}
    assert out["scored"]["points"] == 0  # the import already scored them
    assert cli.main(["monitor", "--db", db]) == 0
    assert "Live accuracy of the published forecasts" in capsys.readouterr().out
    assert cli.main(["monitor", "--ack", "999", "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --ack 999: no open alert with that id"]


def test_coverage_bias_and_refresh_failed_rules(tmp_path):
    from data import monitoring, store
    from monitoring import alerts, rules
    db = f"sqlite:///{tmp_path / 'r.db'}"
    run_id = mh.scored_store(tmp_path, db)
    per_day = monitoring.read_live_accuracy(by=("ds",), run_id=run_id, model="final", level="store_product", url=db)
    last7 = per_day.tail(7)
    coverage = float((last7["coverage_80"] * last7["n"]).sum() / last7["n"].sum())
    doc = rules.validate({"rules": [
        {"name": "cov-hi", "kind": "coverage", "interval": 80, "level": "store_product", "threshold": coverage + 0.01,
         "periods": 7},
        {"name": "cov-lo", "kind": "coverage", "interval": 80, "level": "store_product", "threshold": coverage - 0.01,
         "periods": 7},
        {"name": "bias", "kind": "bias", "level": "total", "threshold": 0.0, "periods": 7},
        {"name": "drift", "kind": "drift"},
        {"name": "failed", "kind": "refresh_failed"}]})
    fired = {a["rule"]: a for a in alerts.evaluate(db, doc, notify=False)["fired"]}
    assert set(fired) == {"cov-hi", "bias"}  # 60 days of history: no year-over-year ratios, so no drift test
    assert fired["cov-hi"]["value"] == pytest.approx(coverage)
    store.create_run("r-bad", {"freq": "D"}, "h", "test", url=db)
    store.mark_failed("r-bad", "the model diverged", url=db)
    (failed,) = alerts.evaluate(db, doc, notify=False)["fired"]
    assert failed["rule"] == "failed" and "the model diverged" in failed["message"]
