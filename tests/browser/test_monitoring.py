"""Monitoring page in a real browser: renders the scored run without console errors; acknowledging an alert
updates the log."""
from __future__ import annotations

import datetime as dt

import pytest

from tests import monitor_helpers as mh

pytestmark = pytest.mark.browser


def test_monitoring_page_renders_and_acknowledges(dash_duo, tmp_db, tmp_path, monkeypatch):
    from data import monitor_alerts
    monkeypatch.setenv("SALES_ALERTS_FILE", str(tmp_path / "alerts.json"))
    run_id = mh.scored_store(tmp_path, tmp_db)
    alert_id = monitor_alerts.record_alert({"rule": "stale", "kind": "stale", "severity": "warning",
                                            "subject": "data", "message": "no import for 9 days",
                                            "fired_at": dt.datetime(2030, 1, 1)}, tmp_db)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/monitoring")
    dash_duo.wait_for_contains_text("#mon-summary", run_id, timeout=20)
    dash_duo.wait_for_element("#mon-accuracy-over-time-chart .main-svg", timeout=10)
    dash_duo.wait_for_contains_text("#mon-alert-log", "no import for 9 days", timeout=10)
    dash_duo.wait_for_contains_text("#mon-rules-text", "accuracy-total", timeout=10)
    from selenium.webdriver.support.ui import Select
    dash_duo.wait_for_element(f"#mon-ack-select option[value='{alert_id}']", timeout=10)
    assert Select(dash_duo.find_element("#mon-ack-select")).first_selected_option.get_attribute("value") == \
        str(alert_id)  # the newest open alert is preselected
    button = dash_duo.find_element("#mon-ack-button")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    dash_duo.driver.execute_script("arguments[0].click();", button)
    dash_duo.wait_for_contains_text("#mon-ack-result", "acknowledged", timeout=10)
    assert monitor_alerts.alerts(open_only=True, url=tmp_db).empty
    assert dash_duo.get_logs() == []
