"""The Data page upload's parts for workbooks and order lines: what the file holds (sales rows or order lines),
the sheet of a workbook, and the order-line mapping form (fields of `cli.py ingest orders --map`)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components import labeled

ORDER_LABELS = {"date": "Date or time *", "order": "Order id *", "product": "Product *", "quantity": "Quantity *",
                "price": "Unit price", "sales": "Line revenue", "customer": "Customer", "discount": "Discount",
                "store": "Store", "category": "Category", "region": "Region"}


def import_kind(kind_id: str) -> dbc.RadioItems:
    """Sales rows (one per date, store and product) or order lines (one per product in an order)."""
    return dbc.RadioItems(id=kind_id, value="sales", inline=True, className="mb-2", options=[
        {"label": "Sales rows (one per date, store and product)", "value": "sales"},
        {"label": "Order lines (one per product in an order, with customers)", "value": "orders"}])


def sheet_picker(box_id: str, sheet_id: str) -> html.Div:
    """The sheet dropdown of a workbook upload (hidden until a workbook with its sheet names is read)."""
    return html.Div(labeled("Sheet", dcc.Dropdown(id=sheet_id, options=[], placeholder="(first sheet)"), width=4),
                    id=box_id, style={"display": "none"}, className="mt-2")


def orders_mapping_form(field_id, opt_id, extra_id: str, dayfirst_id: str, columns: list[str],
                        guesses: dict) -> html.Div:
    """One dropdown per order-line field (ID ``field_id(field)``), the returns prefix and the time zone
    (``opt_id(name)``) and the day-first switch; ``extra_id`` is kept (hidden) so both forms share their IDs."""
    options = [{"label": c, "value": c} for c in columns]
    rows = [labeled(label, dcc.Dropdown(id=field_id(field), options=options, value=guesses.get(field),
                                        placeholder="(none)"), width=3)
            for field, label in ORDER_LABELS.items()]
    opts = [labeled("Returns prefix (order ids starting with it are returns)",
                    dbc.Input(id=opt_id("returns_prefix"), value="C", type="text", maxLength=10), width=3),
            labeled("Time zone (IANA name, e.g. Europe/Berlin)",
                    dbc.Input(id=opt_id("timezone"), value="", type="text", maxLength=60), width=3),
            dbc.Col(dbc.Checklist(id=dayfirst_id, value=[], switch=True, options=[
                {"label": "Dates are day-first (31/12/2020)", "value": "dayfirst"}]), width=6, className="pt-4")]
    hidden = dcc.Dropdown(id=extra_id, options=[], multi=True, value=[], style={"display": "none"})
    note = html.P("* required; map a unit price or a line revenue. Negative quantities are returns too; each "
                  "return is matched to its sale and netted from that day.", className="small text-muted mb-1")
    return html.Div([dbc.Row(rows), dbc.Row(opts), hidden, note])
