"""Overview page in a real browser: KPIs and charts render without console errors; the period goes to the URL."""
from __future__ import annotations

import pytest

from tests.dash_helpers import publish_fake_run, wait_until

pytestmark = pytest.mark.browser

SALES_KPI = "[id='{\"kpi\":\"sales\",\"type\":\"overview-kpi-value\"}']"


def test_overview_renders_and_period_updates_url(dash_duo, small_demo_db):
    publish_fake_run(small_demo_db, horizon=14)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/")
    dash_duo.wait_for_element("#overview-fan-chart .scatterlayer .trace", timeout=20)
    dash_duo.wait_for_element("#overview-movers-chart .barlayer .point", timeout=20)
    before = wait_until(lambda: dash_duo.find_element(SALES_KPI).text not in ("–", "")
                        and dash_duo.find_element(SALES_KPI).text, message="sales KPI filled")
    dash_duo.select_dcc_dropdown("#overview-period-select", "Last 52 weeks")
    wait_until(lambda: dash_duo.find_element(SALES_KPI).text != before, message="KPI follows the period")
    assert "period=364" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []
