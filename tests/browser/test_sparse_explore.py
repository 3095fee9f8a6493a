"""Explore's product-demand panel in a real browser: the class matrix and the lists render from the stored demand
classes, and switching to stores redraws them."""
from __future__ import annotations

import pytest

from tests.dash_helpers import wait_until

pytestmark = pytest.mark.browser

TOP_ROWS = "return document.querySelectorAll('#explore-demand-top-grid .ag-row').length"


def test_demand_panel_renders_and_switches_level(dash_duo, small_demo_db):
    from app import create_app
    from data import store
    from jobs import sparse
    from jobs.refresh_inputs import load_history
    frames, _ = load_history(("product", "store", "store_product"), store.frequency(), small_demo_db)
    sparse.save_tables(sparse.demand_tables(frames, store.frequency(), small_demo_db), small_demo_db)

    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/explore")
    dash_duo.wait_for_contains_text("#explore-demand-matrix-table", "Intermittent", timeout=20)
    assert wait_until(lambda: dash_duo.driver.execute_script(TOP_ROWS), message="top products listed") > 0
    product_label = dash_duo.find_element("#explore-demand-top-grid .ag-row [col-id='label']").text
    radio = dash_duo.find_element("#explore-demand-level input[value='store']")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", radio)
    wait_until(lambda: dash_duo.find_element("#explore-demand-top-grid .ag-row [col-id='label']").text
               != product_label, message="the lists show stores")
    assert "Store" in dash_duo.find_element("#explore-demand-top-grid .ag-row [col-id='label']").text
    assert dash_duo.get_logs() == []
