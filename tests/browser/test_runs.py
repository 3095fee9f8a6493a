"""Runs page in a real browser: renders without console errors; the status filter updates the table and the URL."""
from __future__ import annotations

import pytest

from data import store

pytestmark = pytest.mark.browser


def test_runs_page_filter(dash_duo, small_demo_db):
    store.create_run("run-ok", {"models": "seasonal_naive"}, "h", "test", url=small_demo_db)
    store.publish_run("run-ok", 12, 3.0, {"wape": 0.2}, url=small_demo_db)
    store.create_run("run-bad", {}, "h", "test", url=small_demo_db)
    store.mark_failed("run-bad", "exploded on purpose", duration_s=1.0, url=small_demo_db)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/runs")
    dash_duo.wait_for_contains_text("#runs-history-table", "run-ok", timeout=15)
    dash_duo.wait_for_contains_text("#runs-current-run", "run-ok", timeout=10)
    dash_duo.wait_for_contains_text("#runs-schedule", "UTC", timeout=10)
    from selenium.webdriver.support.ui import Select
    Select(dash_duo.find_element("#runs-status-filter")).select_by_value("failed")
    dash_duo.wait_for_contains_text("#runs-history-table", "exploded on purpose", timeout=10)
    assert "run-ok" not in dash_duo.find_element("#runs-history-table").text
    assert "status=failed" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []
