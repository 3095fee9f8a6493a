"""Drivers page in a real browser: effects charts render without console errors; the level selector updates the URL."""
from __future__ import annotations

import pandas as pd
import pytest

from data import store

pytestmark = pytest.mark.browser

# Frames in the layout jobs/effects_job.py saves (see its module docstring); the real job is exercised by
# tests/callbacks/test_drivers.py::test_on_the_demo_effects.
EFFECTS = pd.DataFrame({"kind": "promo_lift", "group": ["Beverages", "Snacks"], "name": "promotion",
                        "estimate": [0.3, 0.15], "ci_low": [0.25, 0.1], "ci_high": [0.35, 0.2], "unit": "relative",
                        "n": 100, "truth": [0.28, 0.16]})
STUDY = pd.DataFrame({"group": "Beverages", "holiday": "Christmas Day", "offset": [-1, 0, 1],
                      "estimate": [0.1, 0.5, -0.1], "ci_low": [0.0, 0.4, -0.2], "ci_high": [0.2, 0.6, 0.0],
                      "n": 10, "closed_share": 0.0})


def test_drivers_page_level_switch(dash_duo, small_demo_db):
    with store.session_scope() as s:
        store.save_frame(s, "effects", "category", EFFECTS)
        store.save_frame(s, "holiday_event_study", "category", STUDY)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/drivers")
    dash_duo.wait_for_contains_text("#drivers-status", "computed", timeout=20)
    dash_duo.wait_for_element("#drivers-promo-chart .scatterlayer .point", timeout=20)
    dash_duo.wait_for_element("#drivers-event-study-chart .scatterlayer .point", timeout=20)
    dash_duo.wait_for_contains_text("#drivers-correlation-chart", "No effects computed yet", timeout=10)
    # switch the level: there are no store-level effects, so the page says how to compute them
    dash_duo.find_element("label[for='_dbcprivate_radioitems_drivers-level-radio_input_store']").click()
    dash_duo.wait_for_contains_text("#drivers-status", "--level store", timeout=10)
    assert "level=store" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []
