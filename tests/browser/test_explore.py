"""Explore page in a real browser: a URL with filters restores them, and a drill-down click changes the series."""
from __future__ import annotations

import pytest

from tests.dash_helpers import wait_until

pytestmark = pytest.mark.browser

SERIES_SUM = """const gd = document.querySelector('#explore-series-chart .js-plotly-plot');
const t = gd && gd._fullData ? gd._fullData.find(t => t.name === 'This period') : null;
return t ? Array.from(t.y).reduce((a, b) => a + b, 0) : null;"""


def test_explore_url_restores_filters_and_drilldown(dash_duo, small_demo_db):
    from app import create_app
    dash_duo.start_server(create_app())
    # a link with filters restores them into the controls
    dash_duo.wait_for_page(url=dash_duo.server_url + "/explore?region=North&stores=01&gran=W")
    dash_duo.wait_for_contains_text("#explore-region-select", "North", timeout=20)
    dash_duo.wait_for_contains_text("#explore-stores-select", "Store 01", timeout=20)
    assert dash_duo.find_element("#explore-granularity input[value='W']").is_selected()
    dash_duo.wait_for_contains_text("#explore-series-title", "Store 01", timeout=20)

    # from the total, clicking a region's bar drills into it: the title, the URL and the series follow
    dash_duo.wait_for_page(url=dash_duo.server_url + "/explore?gran=W")
    dash_duo.wait_for_contains_text("#explore-series-title", "Total", timeout=20)
    total = wait_until(lambda: dash_duo.driver.execute_script(SERIES_SUM), message="total series drawn")
    bar = dash_duo.wait_for_element("#explore-breakdown-chart .barlayer .point", timeout=20)
    dash_duo.click_at_coord_fractions(bar, 0.5, 0.5)
    dash_duo.wait_for_contains_text("#explore-series-title", "Region", timeout=20)
    wait_until(lambda: "region=" in dash_duo.driver.current_url, message="region in the URL")
    region = wait_until(lambda: (v := dash_duo.driver.execute_script(SERIES_SUM)) and v != total and v,
                        message="the series changes to the region's")
    assert 0 < region < total
    assert dash_duo.find_element("#explore-breadcrumb button").text == "Total"

    # the browser's back button returns to the total (the page is rebuilt from the previous URL)
    dash_duo.driver.back()
    wait_until(lambda: "region=" not in dash_duo.driver.current_url, message="back to the previous URL")
    dash_duo.wait_for_text_to_equal("#explore-series-title", "Total — total", timeout=20)
    wait_until(lambda: dash_duo.driver.execute_script(SERIES_SUM) == total, message="total series again")
    assert dash_duo.get_logs() == []
