"""Forecast page in a real browser: the "What drives this forecast" panel explains the node, and picking another
forecast date redraws its contributions."""
from __future__ import annotations

import pytest

from tests.dash_helpers import wait_until
from tests.explain_helpers import NODE, tree_run

pytestmark = pytest.mark.browser

TITLE = """const gd = document.querySelector('#fcst-explain-node-chart .js-plotly-plot');
return gd && gd.layout && gd.layout.title ? gd.layout.title.text : null;"""
N_FEATURES = """const gd = document.querySelector('#fcst-explain-overall-chart .js-plotly-plot');
return gd && gd._fullData && gd._fullData.length ? gd._fullData[0].y.length : 0;"""


def test_explain_panel_follows_the_date(dash_duo, tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    tree_run(tmp_db)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/forecast?node=" + NODE)
    dash_duo.wait_for_contains_text("#fcst-explain-info", "TreeSHAP", timeout=30)
    assert wait_until(lambda: dash_duo.driver.execute_script(N_FEATURES), timeout=20, message="importance bars") > 0
    first = wait_until(lambda: dash_duo.driver.execute_script(TITLE), timeout=20, message="contributions")
    picker = dash_duo.find_element("#fcst-explain-date")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", picker)
    in_view = "const r = arguments[0].getBoundingClientRect(); return r.top > 0 && r.bottom < window.innerHeight;"
    wait_until(lambda: dash_duo.driver.execute_script(in_view, picker), timeout=10, message="date picker in view")
    picker.click()
    options = wait_until(lambda: dash_duo.driver.find_elements("css selector", "[role=option]"), timeout=20,
                         message="date options")
    options[2].click()
    second = wait_until(lambda: (t := dash_duo.driver.execute_script(TITLE)) and t != first and t, timeout=20,
                        message="the contributions follow the date")
    assert second.split(":")[0] > first.split(":")[0]
    assert dash_duo.get_logs() == []
