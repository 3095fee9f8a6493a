"""Forecast page in a real browser: switching the node through the searchable picker updates the chart and URL."""
from __future__ import annotations

import pytest

from tests.dash_helpers import publish_fake_run, wait_until

pytestmark = pytest.mark.browser

FORECAST_MEAN = """const gd = document.querySelector('#fcst-fan-chart .js-plotly-plot');
const t = gd && gd._fullData ? gd._fullData.find(t => t.name === 'Forecast (final)') : null;
return t ? Array.from(t.y)[0] : null;"""


def test_forecast_node_switch_updates_chart(dash_duo, small_demo_db):
    publish_fake_run(small_demo_db, horizon=14)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/forecast")
    dash_duo.wait_for_contains_text("#fcst-node-select", "total", timeout=20)
    total = wait_until(lambda: dash_duo.driver.execute_script(FORECAST_MEAN), timeout=20, message="total fan")
    dash_duo.wait_for_contains_text("#fcst-models-table", "chosen", timeout=20)

    dash_duo.find_element("#fcst-node-select").click()  # Dash 4 dropdown: the search box lives in a popover
    dash_duo.wait_for_element("input.dash-dropdown-search").send_keys("garden")
    option = wait_until(lambda: next(o for o in dash_duo.driver.find_elements("css selector", "[role=option]")
                                     if o.text.endswith("category=Garden")), timeout=20, message="search result")
    option.click()
    garden = wait_until(lambda: (v := dash_duo.driver.execute_script(FORECAST_MEAN)) and v != total and v,
                        timeout=20, message="the fan chart shows the new node")
    assert 0 < garden < total
    wait_until(lambda: "node=category=Garden" in dash_duo.driver.current_url, message="node in the URL")
    assert dash_duo.get_logs() == []
