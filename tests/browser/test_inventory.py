"""Inventory page in a real browser: the grid shows the orders, clicking a row shows that series' projection and
puts it in the URL; without recommendations the page names the command that fills them."""
from __future__ import annotations

import pytest

from tests.dash_helpers import publish_fake_run, wait_until
from tests.inventory_helpers import write_inventory_frames

pytestmark = pytest.mark.browser

STOCK = """const gd = document.querySelector('#inv-projection-chart .js-plotly-plot');
const t = gd && gd._fullData ? gd._fullData.find(t => t.name === "Stock with today's order") : null;
return t ? Array.from(t.y).length : null;"""
ROWS = "#inv-orders-grid .ag-center-cols-container .ag-row"


def test_inventory_grid_selection_shows_the_projection(dash_duo, small_demo_db):
    publish_fake_run(small_demo_db, horizon=14)
    orders = write_inventory_frames(small_demo_db)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/inventory")
    wait_until(lambda: len(dash_duo.driver.find_elements("css selector", ROWS)) == len(orders), timeout=20,
               message="one grid row per series")
    dash_duo.wait_for_contains_text("#inv-summary", "to order today", timeout=20)
    assert wait_until(lambda: dash_duo.driver.execute_script(STOCK), timeout=20, message="default projection") == 14

    # Click the row of store 02 / product P003 (rows are sorted by order size, so find it by its cells).
    def row_of(store_id, product_id):
        for row in dash_duo.driver.find_elements("css selector", ROWS):
            index = row.get_attribute("row-index")
            cells = dash_duo.driver.find_elements(
                "css selector", f"#inv-orders-grid .ag-pinned-left-cols-container .ag-row[row-index='{index}'] .ag-cell")
            if [c.text for c in cells] == [store_id, product_id]:
                return cells[0]
        return None
    wait_until(lambda: row_of("02", "P003"), timeout=20, message="row 02/P003").click()
    wait_until(lambda: "series=store=02/product=P003" in dash_duo.driver.current_url, timeout=20,
               message="the picked series in the URL")
    dash_duo.wait_for_contains_text("#inv-series-select", "store=02/product=P003", timeout=20)
    wait_until(lambda: dash_duo.driver.execute_script(STOCK) == 14, timeout=20, message="projection redrawn")
    assert "product=P003" in dash_duo.find_element("#inv-forecast-link").get_attribute("href")
    dash_duo.wait_for_contains_text("#inv-at-risk-table", "Stockout prob.", timeout=20)
    assert dash_duo.get_logs() == []


def test_inventory_page_without_recommendations_names_the_command(dash_duo, small_demo_db):
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/inventory?series=store=01/product=P002")
    dash_duo.wait_for_contains_text("#inv-status", "python cli.py inventory", timeout=20)
    dash_duo.wait_for_contains_text("#inv-series-select", "store=01/product=P002", timeout=20)
    # The series' inputs in force are editable; a case pack of 0 is refused with the rule, nothing saved.
    box = '[id*="case_pack"][id*="inv-input"]'
    wait_until(lambda: dash_duo.find_element(box).get_attribute("value") == "1", timeout=20, message="inputs shown")
    dash_duo.find_element(box).clear()
    dash_duo.find_element(box).send_keys("0")
    save = dash_duo.find_element("#inv-edit-save-button")
    dash_duo.driver.execute_script("arguments[0].click();", save)  # below the fold of the 1000 px window
    dash_duo.wait_for_contains_text("#inv-edit-result", "case_pack: must be > 0", timeout=20)
    from data import inventory
    assert inventory.raw_params(small_demo_db).empty
    assert dash_duo.get_logs() == []
