"""Drivers page in a real browser: effects charts render without console errors; the level selector updates the URL."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_drivers_page_level_switch(dash_duo, small_demo_db):
    from models import effects_job
    effects_job.run_effects(level="category", save=True)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/drivers")
    dash_duo.wait_for_contains_text("#drivers-status", "computed", timeout=20)
    dash_duo.wait_for_element("#drivers-promo-chart .scatterlayer .point", timeout=20)
    dash_duo.wait_for_element("#drivers-event-study-chart .scatterlayer .point", timeout=20)
    # switch the level: there are no store-level effects, so the page says how to compute them
    dash_duo.find_element("label[for='_dbcprivate_radioitems_drivers-level-radio_input_store']").click()
    dash_duo.wait_for_contains_text("#drivers-status", "--level store", timeout=10)
    assert "level=store" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []
