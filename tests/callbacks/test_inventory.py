"""Inventory callbacks called directly on the small demo store, with recommendation frames written by hand."""
from __future__ import annotations

import base64
import io
import zipfile
from contextvars import copy_context
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from analytics.stock_projection import project_stock
from callbacks import inventory as cb
from data import store
from data.xlsx import column_letter, to_xlsx
from domain import INVENTORY_PARAM_FIELDS
from layouts import ids
from tests.dash_helpers import find_values, page_layout, publish_fake_run
from tests.inventory_helpers import write_inventory_frames

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)

SERIES = "store=01/product=P001"


def run_with_trigger(prop_id: str, value, func, *args):
    """Call a callback that reads ``ctx`` as Dash would after ``prop_id`` changed to ``value``."""
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))
        return func(*args)
    return copy_context().run(run)


def test_without_recommendations_the_page_names_the_command(small_demo_db):
    rows, status, summary, risk = cb.render_inv_orders({})
    assert rows == [] and "python cli.py inventory" in str(status) and "python cli.py inventory" in str(risk)
    fig = go.Figure(cb.render_inv_tradeoff("avg_inventory_units"))
    assert "python cli.py inventory" in fig.layout.annotations[0].text
    # The series picker still offers every bottom series (from the inputs) so inputs can be edited.
    options, value = run_with_trigger(f"{ids.Inv.QUERY}.data", {}, cb.fill_inv_series, None, {}, None, None)
    assert len(options) == 12 and value == SERIES


def test_an_empty_store_says_how_to_get_data(tmp_db):
    rows, status, _summary, _risk = cb.render_inv_orders({})
    assert rows == [] and "python cli.py demo" in str(status)
    assert "python cli.py inventory" in go.Figure(cb.render_inv_tradeoff("avg_inventory_units")).layout.annotations[0].text
    assert run_with_trigger(f"{ids.Inv.QUERY}.data", {}, cb.fill_inv_series, None, {}, None, None) == ([], None)


def test_the_grid_shows_one_row_per_series_largest_order_first(small_demo_db):
    orders = write_inventory_frames(small_demo_db)
    rows, status, summary, risk = cb.render_inv_orders({})
    assert len(rows) == len(orders) == 12
    assert [r["order_qty"] for r in rows] == sorted(orders["order_qty"], reverse=True)
    assert {r["at_risk"] for r in rows} == {"yes", "no"} and rows[0]["series"].startswith("store=")
    assert f"{int((orders['order_qty'] > 0).sum())} to order today" in summary
    assert f"{int(orders['at_risk'].sum())} at risk" in summary
    assert status == []
    text = str(risk)
    worst = orders[orders["at_risk"]].sort_values("stockout_prob", ascending=False).iloc[0]
    assert worst["product_id"] in text and "Stockout prob." in text


def test_missing_forecasts_and_stale_inputs_are_reported(small_demo_db):
    orders = write_inventory_frames(small_demo_db)
    orders.loc[0, "demand_mean"] = float("nan")
    with store.session_scope(url=small_demo_db) as s:
        store.save_frame(s, "inventory_orders", "all", orders)
    store.upsert_inventory_params("01", "P002", {"on_hand": 9})
    _rows, status, _summary, _risk = cb.render_inv_orders({})
    text = str(status)
    assert "1 series have no forecast" in text and "python cli.py refresh" in text
    assert "inputs changed after these recommendations" in text


def test_tradeoff_curve_has_one_line_per_policy(small_demo_db):
    write_inventory_frames(small_demo_db)
    fig = go.Figure(cb.render_inv_tradeoff("avg_inventory_value"))
    assert [t.name for t in fig.data] == ["naive", "ours", "perfect", "rule"]
    ours = next(t for t in fig.data if t.name == "ours")
    assert list(ours.y) == pytest.approx([0.79, 0.89, 0.94, 0.98])
    assert list(ours.x) == pytest.approx([(10 + 40 * t) * 2.5 for t in (0.8, 0.9, 0.95, 0.99)])


def test_selecting_a_grid_row_picks_the_series_and_the_url_follows(small_demo_db):
    write_inventory_frames(small_demo_db)
    picked = [{"series": "store=02/product=P003", "store_id": "02"}]
    options, value = run_with_trigger(f"{ids.Inv.GRID}.selectedRows", picked, cb.fill_inv_series,
                                      None, {"series": SERIES}, picked, SERIES)
    assert value == "store=02/product=P003" and value in [o["value"] for o in options]
    options, value = run_with_trigger(f"{ids.Inv.SERIES}.search_value", "p004", cb.fill_inv_series,
                                      "p004", {}, None, value)
    assert all("P004" in o["value"] for o in options[1:]) and len(options) == 4
    search = cb.sync_inv_url(value, "avg_inventory_value")
    assert dict(parse_qsl(search[1:])) == {"series": value, "x": "avg_inventory_value"}
    assert cb.sync_inv_url(value, "avg_inventory_units") == ids.to_search({"series": value})


def test_layout_restores_the_series_and_axis_from_the_url(small_demo_db):
    layout = page_layout("/inventory")(series=SERIES, x="avg_inventory_value")
    found = find_values(layout, {ids.Inv.SERIES, ids.Inv.TRADEOFF_X})
    assert found == {ids.Inv.SERIES: SERIES, ids.Inv.TRADEOFF_X: "avg_inventory_value"}
    assert find_values(page_layout("/inventory")(x="bogus"), {ids.Inv.TRADEOFF_X}) == \
        {ids.Inv.TRADEOFF_X: "avg_inventory_units"}


def test_projection_shows_stock_demand_bands_orders_and_levels(small_demo_db):
    run = publish_fake_run(small_demo_db, horizon=14)
    orders = write_inventory_frames(small_demo_db)
    store.set_on_order("01", "P001", [{"arrival_date": run["start"] + pd.Timedelta(days=1), "quantity": 7}])
    fig, link = cb.render_inv_projection(SERIES)
    fig = go.Figure(fig)
    names = {t.name for t in fig.data}
    assert {"Forecast demand", "Demand 80% interval", "Demand 95% interval", "Sales", "Stock with today's order",
            "Stock without it", "On order (arrivals)"} <= names
    row = orders[(orders["store_id"] == "01") & (orders["product_id"] == "P001")].iloc[0]
    fc = store.forecast(SERIES)
    expected = project_stock(fc, row["on_hand"], store.on_order(), row["order_qty"], row["lead_time_days"])
    with_order = next(t for t in fig.data if t.name == "Stock with today's order")
    assert list(with_order.y) == pytest.approx(expected["stock_with_order"].tolist())
    levels = sorted(s.y0 for s in fig.layout.shapes if s.y0 == s.y1)
    assert levels == pytest.approx(sorted([row["reorder_point"], row["order_up_to"]]))
    assert link == "/forecast?node=store=01/product=P001"


def test_projection_without_forecasts_names_the_command(small_demo_db):
    fig, _link = cb.render_inv_projection(SERIES)
    assert "python cli.py refresh" in go.Figure(fig).layout.annotations[0].text


def test_stock_projection_arithmetic():
    fc = pd.DataFrame({"ds": pd.date_range("2030-01-01", periods=6), "yhat": [3.0, 3, 3, 3, 3, -1]})
    orders = pd.DataFrame({"arrival_date": ["2030-01-02", "2031-01-01"], "quantity": [4.0, 100]})
    p = project_stock(fc, 10, orders, order_qty=6, lead_time_days=2.5)
    assert p["stock_without_order"].tolist() == [7, 8, 5, 2, 0, 0]
    assert p["stock_with_order"].tolist() == [7, 8, 11, 8, 5, 5]  # arrives on day 3 (ceil 2.5 after today)
    assert p["arrivals"].tolist() == [0, 4, 0, 0, 0, 0]
    weekly = pd.DataFrame({"ds": pd.date_range("2030-01-06", periods=3, freq="7D"), "yhat": [5.0, 5, 5]})
    w = project_stock(weekly, 4, None, order_qty=10, lead_time_days=7)
    # Today is one week before the first forecast week: a 7-day lead time lands in that first week.
    assert w["stock_with_order"].tolist() == [9, 4, 0] and w["stock_without_order"].tolist() == [0, 0, 0]
    assert project_stock(weekly, 4, None, 10, 8)["stock_with_order"].tolist() == [0, 5, 0]


def test_inputs_are_shown_and_edits_saved_at_the_chosen_grain(small_demo_db):
    store.upsert_inventory_params("01", "P001", {"on_hand": 8, "case_pack": 6})
    values, orders_text = cb.fill_inv_inputs(SERIES)
    by_field = dict(zip(INVENTORY_PARAM_FIELDS, values))
    assert by_field["on_hand"] == 8 and by_field["case_pack"] == 6 and by_field["target_csl"] == 0.95
    assert "none" in orders_text
    typed = dict(by_field, on_hand=11, unit_cost=2.5)
    result = cb.save_inv_inputs(1, SERIES, "series", [typed[f] for f in INVENTORY_PARAM_FIELDS])
    assert "Saved" in str(result) and "on_hand = 11" in str(result) and "unit_cost = 2.5" in str(result)
    raw = store.inventory_params()
    mine = raw[(raw["store_id"] == "01") & (raw["product_id"] == "P001")].iloc[0]
    assert (mine["on_hand"], mine["unit_cost"], mine["case_pack"]) == (11, 2.5, 6)
    # The settings' defaults were not pinned at the series grain: only the changed fields were written.
    from data import inventory
    stored = inventory.raw_params()
    assert stored[["lead_time_days", "target_csl"]].isna().all().all()
    # Product grain: every store of P002 gets the case pack.
    values, _ = cb.fill_inv_inputs("store=02/product=P002")
    typed = dict(zip(INVENTORY_PARAM_FIELDS, values), case_pack=24)
    cb.save_inv_inputs(1, "store=02/product=P002", "product", [typed[f] for f in INVENTORY_PARAM_FIELDS])
    raw = store.inventory_params()
    assert raw.loc[raw["product_id"] == "P002", "case_pack"].tolist() == [24.0, 24.0, 24.0]
    assert cb.save_inv_inputs(1, SERIES, "series", cb.fill_inv_inputs(SERIES)[0]).children == "Nothing changed."


@pytest.mark.parametrize("field, value, fragment", [
    ("case_pack", 0, "case_pack: must be > 0"), ("on_hand", -3, "on_hand: must be ≥ 0"),
    ("target_csl", 95, "between 0 and 1"), ("lead_time_days", -1, "lead_time_days: must be ≥ 0"),
])
def test_bad_edits_are_refused_and_nothing_is_saved(small_demo_db, field, value, fragment):
    values, _ = cb.fill_inv_inputs(SERIES)
    typed = dict(zip(INVENTORY_PARAM_FIELDS, values), **{field: value})
    before = store.inventory_params()
    result = cb.save_inv_inputs(1, SERIES, "series", [typed[f] for f in INVENTORY_PARAM_FIELDS])
    assert "Not saved" in str(result) and fragment in str(result)
    pd.testing.assert_frame_equal(store.inventory_params(), before)


def test_excel_export_holds_the_rows_shown(small_demo_db):
    write_inventory_frames(small_demo_db)
    rows, *_ = cb.render_inv_orders({})
    shown = [r for r in rows if r["store_id"] == "02"]
    sent = cb.download_inv_xlsx(1, shown)
    assert sent["filename"] == "inventory_orders.xlsx"
    book = zipfile.ZipFile(io.BytesIO(base64.b64decode(sent["content"])))
    assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} <= set(book.namelist())
    sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    table = sheet.findall(".//m:row", ns)
    assert len(table) == 1 + len(shown)
    header = [c.find(".//m:t", ns).text for c in table[0]]
    assert "series" not in header and header[:2] == ["store_id", "product_id"]
    qty_col = column_letter(header.index("order_qty"))
    qty = [float(c.find("m:v", ns).text) for r in table[1:] for c in r if c.get("r").startswith(qty_col)
           and c.get("r")[len(qty_col):].isdigit()]
    assert qty == [r["order_qty"] for r in shown]
    with pytest.raises(PreventUpdate):
        cb.download_inv_xlsx(None, shown)
    assert cb.export_inv_csv(1) is True


def test_xlsx_writer_keeps_types_and_never_writes_formulas():
    df = pd.DataFrame({"a": ["=1+1", "x<y&z"], "b": [1.5, float("nan")], "c": [True, False]})
    book = zipfile.ZipFile(io.BytesIO(to_xlsx(df, "S/1")))
    xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "=1+1" in xml and "x&lt;y&amp;z" in xml
    assert '<c r="B2"><v>1.5</v></c>' in xml and 'r="B3"' not in xml and '<c r="C2" t="b"><v>1</v></c>' in xml
    assert 'name="S_1"' in book.read("xl/workbook.xml").decode()
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_open_orders_are_added_cleared_and_validated(small_demo_db):
    add = f"{ids.Inv.ORDER_ADD}.n_clicks"
    text = run_with_trigger(add, 1, cb.edit_inv_orders, 1, None, SERIES, "2030-01-05", 6)
    assert text == "Open orders: 6 on 2030-01-05."
    text = run_with_trigger(add, 2, cb.edit_inv_orders, 2, None, SERIES, "2030-01-02", 4)
    assert text == "Open orders: 4 on 2030-01-02, 6 on 2030-01-05."
    refused = run_with_trigger(add, 3, cb.edit_inv_orders, 3, None, SERIES, None, 4)
    assert "Not saved" in str(refused) and "arrival_date" in str(refused)
    refused = run_with_trigger(add, 4, cb.edit_inv_orders, 4, None, SERIES, "2030-01-09", 0)
    assert "quantity: must be > 0" in str(refused)
    assert store.on_order()["quantity"].tolist() == [4.0, 6.0]
    assert cb.fill_inv_inputs(SERIES)[1] == "Open orders: 4 on 2030-01-02, 6 on 2030-01-05."
    text = run_with_trigger(f"{ids.Inv.ORDER_CLEAR}.n_clicks", 1, cb.edit_inv_orders, 4, 1, SERIES, None, None)
    assert text == "Open orders: none." and store.on_order().empty


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def test_grid_csv_export_neutralises_formula_text(small_demo_db):
    grid = next(c for c in _walk(page_layout("/inventory")()) if getattr(c, "id", None) == ids.Inv.GRID)
    assert grid.csvExportParams["processCellCallback"] == {"function": "neutraliseCsvCell(params)"}
    assert ("Inventory", "/inventory") in dict(ids.NAV_GROUPS)["Forecast & plan"]
