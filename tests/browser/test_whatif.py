"""Forecast page in a real browser: running a what-if scenario draws baseline vs scenario and the differences."""
from __future__ import annotations

import pytest

from tests.dash_helpers import publish_fake_run, wait_until

pytestmark = pytest.mark.browser

SCENARIO_GAIN = """const gd = document.querySelector('#fcst-whatif-chart .js-plotly-plot');
if (!gd || !gd._fullData) return null;
const s = gd._fullData.find(t => t.name === 'Scenario'), b = gd._fullData.find(t => t.name === 'Baseline');
if (!s || !b) return null;
return Array.from(s.y).reduce((a, v) => a + v, 0) - Array.from(b.y).reduce((a, v) => a + v, 0);"""


def test_whatif_panel_runs_a_promotion_scenario(dash_duo, small_demo_db):
    from jobs import effects_job
    publish_fake_run(small_demo_db, horizon=14)
    effects_job.run_effects(level="category", save=True, url=small_demo_db, extras=False)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/forecast?node=store%3D01%2Fproduct%3DP001")
    dash_duo.wait_for_contains_text("#fcst-node-select", "store=01/product=P001", timeout=20)
    # the pickers are filled with the horizon's first week once the node's forecast is read (Dash 4 puts the
    # picker's id on its start-date input)
    wait_until(lambda: dash_duo.find_element("#fcst-whatif-promo-dates").get_attribute("value"),
               timeout=20, message="promotion dates proposed")
    run = dash_duo.find_element("#fcst-whatif-run-button")
    # the panel sits below the fold of the 1280x1000 window, where selenium's click cannot reach: a DOM click
    dash_duo.driver.execute_script("arguments[0].click();", run)
    dash_duo.wait_for_contains_text("#fcst-whatif-table", "Revenue", timeout=30)
    assert "95% interval" in dash_duo.find_element("#fcst-whatif-table").text
    gain = wait_until(lambda: dash_duo.driver.execute_script(SCENARIO_GAIN), timeout=20, message="scenario chart")
    assert gain > 0  # a promotion of a category with a positive lift sells more than the baseline
    assert "Sales lift on promotion days +" in dash_duo.find_element("#fcst-whatif-table").text
    assert dash_duo.get_logs() == []
