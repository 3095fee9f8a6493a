"""Plan page in a real browser: adding a planned promotion shows it in the calendar and in the table, with no
console errors; a plan file uploads, validates and imports through the background callbacks."""
from __future__ import annotations

import pytest


@pytest.fixture
def small_demo_db(small_demo_db):
    """The small demo without the plan it writes for its promotions: these tests start from an empty plan."""
    from tests.conftest import clear_plan
    clear_plan(small_demo_db)
    return small_demo_db


pytestmark = pytest.mark.browser


def _visible(dash_duo, selector: str):
    element = dash_duo.find_element(selector)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    return element


def _pick(dash_duo, selector: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys
    dash_duo.select_dcc_dropdown(_visible(dash_duo, selector), value=text)
    dash_duo.driver.switch_to.active_element.send_keys(Keys.ESCAPE)  # close the menu (Dash 4 keeps it open)
    dash_duo.wait_for_contains_text(selector, text, timeout=5)


def _type(dash_duo, selector: str, text: str) -> None:
    box = _visible(dash_duo, selector)
    dash_duo.clear_input(box)
    box.send_keys(text)


def test_adding_a_planned_promotion(dash_duo, small_demo_db):
    from app import create_app
    from data import store
    dash_duo.start_server(create_app())
    dash_duo.driver.set_window_size(1280, 1800)  # room below the form for the dropdown menus
    dash_duo.wait_for_page(url=dash_duo.server_url + "/plan")
    dash_duo.wait_for_contains_text("#plan-calendar-chart", "No planned promotion", timeout=15)
    dash_duo.wait_for_contains_text("#plan-form-store", "store", timeout=10)
    _pick(dash_duo, "#plan-form-store", "02")
    _pick(dash_duo, "#plan-form-product", "P002 Pasta (Grocery)")
    _type(dash_duo, "#plan-form-start", "2023-01-02")
    _type(dash_duo, "#plan-form-end", "2023-01-04")
    _type(dash_duo, "#plan-form-depth", "0.3")
    _visible(dash_duo, "#plan-save-button").click()
    dash_duo.wait_for_contains_text("#plan-form-result", "Saved: promotion at depth 30%, 3 day(s)", timeout=15)
    dash_duo.wait_for_contains_text("#plan-calendar-chart", "02 · P002", timeout=15)
    dash_duo.wait_for_contains_text("#plan-rows-table", "2023-01-04", timeout=15)
    table = dash_duo.find_element("#plan-rows-table").text
    assert "3 plan rows" in table and "P002" in table and "0.3" in table
    assert "1 plan change" not in dash_duo.find_element("#plan-stale-forecasts").text  # no run yet
    rows = store.plan_rows(url=small_demo_db)
    assert rows["product_id"].tolist() == ["P002"] * 3 and rows["promo_intensity"].eq(0.3).all()
    assert dash_duo.get_logs() == []


def test_plan_file_upload_validate_import(dash_duo, small_demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    plan = tmp_path / "plan.csv"
    plan.write_text("Date,Store,Product,Promo,Depth\n2023-01-09,,P003,1,0.25\n2023-01-10,,P003,1,0.25\n")
    from app import create_app
    from data import store
    dash_duo.start_server(create_app())
    dash_duo.driver.set_window_size(1280, 1800)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/plan")
    dash_duo.wait_for_element("#plan-upload input[type=file]", timeout=10).send_keys(str(plan))
    dash_duo.wait_for_contains_text("#plan-upload-info", "2 rows, 5 columns", timeout=20)
    dash_duo.wait_for_element("#plan-validate-button:not([disabled])", timeout=10)
    _visible(dash_duo, "#plan-validate-button").click()
    dash_duo.wait_for_contains_text("#plan-import-report", "Validation passed", timeout=30)
    assert store.plan_rows(url=small_demo_db).empty
    dash_duo.wait_for_element("#plan-import-button:not([disabled])", timeout=10)
    _visible(dash_duo, "#plan-import-button").click()
    dash_duo.wait_for_contains_text("#plan-import-report", "Import finished", timeout=30)
    dash_duo.wait_for_contains_text("#plan-calendar-chart", "03 · P003", timeout=15)
    assert len(store.expanded_plan(url=small_demo_db)) == 6  # P003 in 3 stores x 2 days
    assert dash_duo.get_logs() == []
