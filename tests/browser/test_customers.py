"""Customers page in a real browser: segments, churn-risk grid and cohorts render without console errors; clicking
a segment's bar drills to the products it buys and puts the segment in the URL."""
from __future__ import annotations

import pytest

from tests.customers_helpers import customers_db
from tests.dash_helpers import wait_until

pytestmark = pytest.mark.browser

ROWS = "#cust-churn-risk-grid .ag-center-cols-container .ag-row"
PRODUCTS = """const gd = document.querySelector('#cust-segment-products-chart .js-plotly-plot');
return gd && gd._fullData && gd._fullData.length ? Array.from(gd._fullData[0].x).join(",") : null;"""


def test_customers_page_segment_drill(dash_duo, tmp_path, monkeypatch):
    customers_db(tmp_path, monkeypatch)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/customers")
    dash_duo.wait_for_contains_text("#cust-summary", "customers", timeout=30)
    wait_until(lambda: len(dash_duo.driver.find_elements("css selector", ROWS)) > 0, timeout=20,
               message="churn-risk rows")
    dash_duo.wait_for_element("#cust-cohort-chart .heatmaplayer", timeout=20)
    dash_duo.wait_for_element("#cust-segments-chart .barlayer .point", timeout=20)
    assert wait_until(lambda: dash_duo.driver.execute_script(PRODUCTS), timeout=20, message="first segment's products")
    first = dash_duo.driver.execute_script(PRODUCTS)
    bars = dash_duo.driver.find_elements("css selector", "#cust-segments-chart .barlayer .point")
    labels = [t.text for t in dash_duo.driver.find_elements("css selector", "#cust-segments-chart .xtick text")]
    pick = max(range(1, len(bars)), key=lambda i: bars[i].size["height"])  # the tallest bar but the first one
    target = labels[pick]
    dash_duo.click_at_coord_fractions(bars[pick], 0.5, 0.5)
    wait_until(lambda: f"segment={target.replace(' ', '+')}" in dash_duo.driver.current_url
               or f"segment={target.replace(' ', '%20')}" in dash_duo.driver.current_url, timeout=20,
               message="the clicked segment in the URL")
    dash_duo.wait_for_contains_text("#cust-segment-select", target, timeout=10)
    wait_until(lambda: dash_duo.driver.execute_script(PRODUCTS) not in (None, first), timeout=20,
               message="the clicked segment's products")
    assert dash_duo.get_logs() == []
