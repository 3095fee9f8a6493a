"""Plan page callbacks called directly on the small demo database: choices, calendar and table, the edit form,
plan-file upload -> validate -> import, and the stale-forecast list."""
from __future__ import annotations

import base64

import plotly.graph_objects as go
import pytest

from callbacks import plan as cb
from data import store
from tests.dash_helpers import publish_fake_run

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)


@pytest.fixture
def small_demo_db(small_demo_db):
    """The small demo without the plan it writes for its promotions: these tests start from an empty plan."""
    from tests.conftest import clear_plan
    clear_plan(small_demo_db)
    return small_demo_db


FIELDS = [{"type": "plan-map", "field": f} for f in ("date", "store", "product", "promo", "promo_intensity")]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _calendar(**filters):
    args = dict(store=None, category=None, product=None, start=None, end=None, saved=None, imported=None)
    args.update(filters)
    fig, table = cb.render_plan_calendar(**args)
    return go.Figure(fig), str(table)


def _save(*, grain="store_product", store_id="01", product="P001", category=None, start="2023-01-02",
          end="2023-01-04", depth=0.2, kind="promo"):
    return str(cb.save_planned_promotion(1, grain, store_id, product, category, start, end, depth, kind))


def test_choices_fill_the_filters_and_start_the_form_after_the_data(small_demo_db):
    stores, cats, prods, fstores, fcats, fprods, start, end = cb.fill_plan_choices("plan-form-grain", None)
    assert [o["value"] for o in stores] == ["01", "02", "03"] == [o["value"] for o in fstores]
    assert [o["value"] for o in cats] == ["Apparel", "Beverages", "Garden", "Grocery"]
    assert prods[0] == {"value": "P001", "label": "P001 Cola 2L (Beverages)"} and fprods == prods
    assert start == end == "2023-01-01"  # the small demo ends on 2022-12-31
    assert cb.fill_plan_choices("x", "2023-02-01")[6] == "2023-02-01"  # a date the user typed is kept


def test_save_shows_in_calendar_and_table_then_delete(small_demo_db):
    fig, table = _calendar()
    assert "No planned promotion" in fig.layout.annotations[0].text and "No plan rows" in table
    assert "Saved: promotion at depth 20%, 3 day(s)" in _save()
    fig, table = _calendar()
    promo = fig.data[0]
    assert list(promo.y) == ["01 · P001"] and list(promo.x) == ["2023-01-02", "2023-01-03", "2023-01-04"]
    assert [round(v, 2) for v in promo.z[0]] == [0.2, 0.2, 0.2]
    assert table.count("2023-01-0") == 3 and "P001" in table
    # edit = the same scope and dates again, with another depth
    _save(depth=0.35)
    assert [round(v, 2) for v in _calendar()[0].data[0].z[0]] == [0.35, 0.35, 0.35]
    # filters: another store shows nothing, the product's category shows it
    assert "No planned promotion" in _calendar(store="02")[0].layout.annotations[0].text
    assert list(_calendar(category="Beverages")[0].data[0].y) == ["01 · P001"]
    assert "Deleted 2 plan row(s)" in str(cb.delete_planned_promotion(1, "store_product", "01", "P001", None,
                                                                       "2023-01-03", "2023-01-04", None, "promo"))
    assert list(_calendar()[0].data[0].x) == ["2023-01-02"]


def test_grains_and_closures_in_the_calendar(small_demo_db):
    assert "Saved" in _save(grain="store_category", store_id="02", product=None, category="Grocery", depth=0.1)
    assert "Saved: closure" in _save(grain="store", store_id="03", product=None, start="2023-01-05",
                                     end="2023-01-05", kind="closed")
    fig, _ = _calendar()
    rows = list(fig.data[0].y)
    assert rows == ["02 · P002", "03 · P001", "03 · P002", "03 · P003", "03 · P004"]
    closed = fig.data[1]
    assert closed.name == "closed" and sum(v == 1 for row in closed.z for v in row) == 4


@pytest.mark.parametrize("kwargs, expected", [
    (dict(depth=1.2), "the depth must be in [0, 1)"),
    (dict(depth="lots"), "the depth must be a number"),
    (dict(start="2023-01-05", end="2023-01-01"), "the end 2023-01-01 is before the start 2023-01-05"),
    (dict(start="soon"), "dates must look like 2024-12-31"),
    (dict(product=None), "choose a product"),
    (dict(store_id="99"), "unknown store '99'"),
    (dict(grain="store_category", product=None, category="Toys"), "unknown category 'Toys'"),
])
def test_bad_form_input_writes_nothing(small_demo_db, kwargs, expected):
    result = _save(**kwargs)
    assert "Not saved" in result and expected in result
    assert store.plan_rows(url=small_demo_db).empty


def test_a_promotion_on_a_closed_day_is_refused(small_demo_db):
    _save(grain="store", product=None, kind="closed")
    result = _save()  # store 01 is closed on those days
    assert "Not saved" in result and "on a day the plan closes (already planned)" in result
    result = _save(grain="store", product=None)  # the store's own closure: delete it first
    assert "Not saved" in result and "this scope, already planned" in result


def test_stale_forecasts_list_the_changes_since_the_run(small_demo_db):
    assert "No forecasts yet" in str(cb.render_stale_forecasts(None, None))
    publish_fake_run(small_demo_db)
    assert "know the whole plan" in str(cb.render_stale_forecasts(None, None))
    _save()
    text = str(cb.render_stale_forecasts("saved", None))
    assert "1 plan change(s) since run run-test-1" in text and "store 01 x product P001" in text
    assert "python cli.py refresh" in text


def _data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_upload_validate_and_import_a_plan_file(small_demo_db, cache_dir):
    text = "Date,Store,Item,Promo,Discount\n2023-01-09,01,P002,1,0.3\n2023-01-10,01,P002,1,0.3\n"
    file, info, form, validate_off, import_off, report = cb.read_plan_upload(_data_url(text), "promo plan.csv")
    assert file["name"] == "promo plan.csv" and "2 rows, 5 columns" in str(info)
    assert (validate_off, import_off, report) == (False, False, None)
    guessed = {c.id["field"]: c.value for c in _dropdowns(form)}
    assert guessed["date"] == "Date" and guessed["store"] == "Store" and guessed["product"] == "Item"
    assert guessed["promo"] == "Promo" and guessed["promo_intensity"] == "Discount"
    values = ["Date", "Store", "Item", "Promo", "Discount"]
    ok, report = cb.run_plan_import(file, FIELDS, values, [], dry_run=True)
    assert ok and "nothing was written" in str(report) and store.plan_rows(url=small_demo_db).empty
    ok, report = cb.run_plan_import(file, FIELDS, values, [], dry_run=False)
    assert ok and "Import finished" in str(report) and "promo plan.csv" in str(report)
    assert store.plan_rows(url=small_demo_db)["promo_intensity"].tolist() == [0.3, 0.3]
    ok, report = cb.run_plan_import(file, FIELDS, values, [], dry_run=True)  # the upload went with the import
    assert not ok and "upload the file again" in str(report)


def test_bad_plan_upload_names_the_users_file(small_demo_db, cache_dir):
    text = "Date,Store,Item,Promo,Discount\n2023-01-09,07,P002,1,0.3\n"
    file, *_ = cb.read_plan_upload(_data_url(text), "plan.csv")
    ok, report = cb.run_plan_import(file, FIELDS, ["Date", "Store", "Item", "Promo", "Discount"], [], dry_run=True)
    report = str(report)
    assert not ok and "plan.csv: line 2, column 'Store': unknown store" in report and str(cache_dir) not in report
    out = cb.read_plan_upload(_data_url("\x00\x01binary"), "x.csv")
    assert out[0] is None and "cannot be imported" in str(out[1]) and out[3] is True


def _dropdowns(component) -> list:
    found = []
    if isinstance(getattr(component, "id", None), dict) and component.id.get("type") == "plan-map":
        found.append(component)
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found += _dropdowns(child)
    return found
