"""Inventory page: today's recommended orders (grid, CSV/Excel export), items at risk, the service-vs-inventory
trade-off and, for one store x product, its projected stock and editable inputs."""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from domain import INVENTORY_PARAM_FIELDS
from layouts import components as c
from layouts import ids

dash.register_page(__name__, path="/inventory", name="Inventory", title="Inventory · Sales Forecasting", order=6)

_NUM = {"filter": "agNumberColumnFilter", "type": "numericColumn"}


def _num(field: str, header: str, fmt: str = ",.1f", **extra) -> dict:
    return {"field": field, "headerName": header, **_NUM, **extra,
            "valueFormatter": {"function": f"params.value == null ? '' : d3.format('{fmt}')(params.value)"}}


GRID_COLUMNS = [
    {"field": "store_id", "headerName": "Store", "filter": "agTextColumnFilter", "pinned": "left", "width": 100},
    {"field": "product_id", "headerName": "Product", "filter": "agTextColumnFilter", "pinned": "left", "width": 120},
    _num("order_qty", "Order today", ",.0f", sort="desc", cellClass="fw-bold"),
    _num("on_hand", "On hand", ",.0f"), _num("on_order", "On order", ",.0f"),
    _num("reorder_point", "Reorder point"), _num("order_up_to", "Order-up-to"), _num("safety_stock", "Safety stock"),
    _num("demand_mean", "Demand (L+R)"), _num("demand_sd", "Demand sd (L+R)"),
    _num("days_of_cover", "Days of cover"), _num("stockout_prob", "Stockout prob.", ".1%"),
    _num("expected_fill_rate", "Fill rate", ".1%"),
    {"field": "at_risk", "headerName": "At risk", "filter": "agTextColumnFilter", "width": 100},
    _num("lead_time_days", "Lead time (d)", ",.1f"), _num("review_period_days", "Review (d)", ",.1f"),
    {"field": "policy", "headerName": "Policy", "filter": "agTextColumnFilter"},
    {"field": "method", "headerName": "Demand method", "filter": "agTextColumnFilter"},
]
# Text cells that a spreadsheet would run as a formula are neutralised in the export (assets/dashAgGridFunctions.js).
CSV_EXPORT = {"fileName": "inventory_orders.csv", "processCellCallback": {"function": "neutraliseCsvCell(params)"}}
TRADEOFF_AXES = {"avg_inventory_units": "Units", "avg_inventory_value": "Value"}
GRAINS = {"series": "This store x product", "store": "Every product of this store",
          "product": "This product in every store", "all": "Every store and product"}
FIELD_LABELS = {
    "on_hand": "On hand (units)", "lead_time_days": "Lead time (days)", "lead_time_sd_days": "Lead time sd (days)",
    "review_period_days": "Review period (days)", "unit_cost": "Unit cost", "holding_rate": "Holding rate (/year)",
    "lost_sale_cost": "Lost-sale cost (/unit)", "backorder_cost": "Backorder cost (/unit)",
    "target_csl": "Target cycle service (0-1)", "target_fill_rate": "Target fill rate (0-1)", "moq": "MOQ (units)",
    "case_pack": "Case pack (units)", "shelf_life_days": "Shelf life (days)",
}


def _grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=ids.Inv.GRID, columnDefs=GRID_COLUMNS, rowData=[], className="ag-theme-alpine",
        getRowId="params.data.series", csvExportParams=CSV_EXPORT, style={"height": "420px"},
        defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True, "minWidth": 90},
        dashGridOptions={"animateRows": False, "pagination": True, "paginationPageSize": 20,
                         "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}})


def _edit_form() -> dbc.Card:
    boxes = [dbc.Col([dbc.Label(FIELD_LABELS[f], className="small text-muted mb-0"),
                      dbc.Input(id=ids.inv_input(f), type="number", size="sm")], md=3,
                     className="mb-2") for f in INVENTORY_PARAM_FIELDS]
    return dbc.Card(dbc.CardBody([
        html.H6("Inputs of this series", className="card-title mb-1"),
        html.P("The values in force for the selected store x product (its own, else a store or product default, "
               "else the SALES_INVENTORY_* settings). Change any and save them for the grain chosen; an empty box "
               "clears the value at that grain. Recommendations change at the next `python cli.py inventory`.",
               className="chart-explanation text-muted small"),
        dbc.Row(boxes, className="g-2"),
        dbc.Row([
            dbc.Col(dbc.RadioItems(id=ids.Inv.GRAIN, value="series", inline=True, className="small",
                                   options=[{"label": v, "value": k} for k, v in GRAINS.items()]), md=9),
            dbc.Col(dbc.Button("Save inputs", id=ids.Inv.SAVE, color="primary", size="sm"), md=3,
                    className="text-end"),
        ], className="align-items-center"),
        html.Div(id=ids.Inv.EDIT_RESULT, className="mt-2"),
        html.Hr(),
        html.Div(id=ids.Inv.ORDERS_LIST, className="small mb-2"),
        dbc.Row([
            c.labeled("Arrival date", dcc.DatePickerSingle(id=ids.Inv.ORDER_DATE, display_format="YYYY-MM-DD",
                                                           placeholder="date"), width=3),
            c.labeled("Quantity", dbc.Input(id=ids.Inv.ORDER_QTY, type="number", size="sm"), width=3),
            dbc.Col([dbc.Button("Add open order", id=ids.Inv.ORDER_ADD, color="secondary", outline=True,
                                size="sm", className="me-2"),
                     dbc.Button("Clear open orders", id=ids.Inv.ORDER_CLEAR, color="danger", outline=True,
                                size="sm")], width=6, className="align-self-end mb-2"),
        ], className="g-2"),
    ]), className="chart-card")


def layout(**query):
    """The Inventory page; ``?series=store=01/product=P001&x=avg_inventory_value`` restore the series and axis."""
    series = ids.q_str(query, "series")
    axis = ids.q_str(query, "x", "avg_inventory_units", allowed=TRADEOFF_AXES)
    exports = html.Div([
        dbc.Button("Export CSV", id=ids.Inv.EXPORT_CSV, size="sm", color="secondary", outline=True, className="me-2"),
        dbc.Button("Export Excel", id=ids.Inv.EXPORT_XLSX, size="sm", color="secondary", outline=True),
        dcc.Download(id=ids.Inv.DOWNLOAD)], className="text-end")
    return html.Div([
        c.page_header("Inventory", "What to order today from the forecast distributions, what is about to run out, "
                                   "and how much stock each service level costs."),
        dcc.Store(id=ids.Inv.QUERY, data={"series": series}),
        html.Div(id=ids.Inv.STATUS),
        html.Div(id=ids.Inv.SUMMARY, className="small text-muted mb-2"),
        dbc.Card(dbc.CardBody([
            dbc.Row([dbc.Col(html.H6("Recommended orders for today", className="card-title"), md=7),
                     dbc.Col(exports, md=5)]),
            html.P("One row per store x product; sort or filter any column, click a row to see its projected "
                   "stock and inputs below. Demand (L+R) is over the lead time plus the review period.",
                   className="chart-explanation text-muted small"),
            _grid(),
        ]), className="chart-card mb-3"),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H6("At risk of a stockout within the lead time", className="card-title mb-1"),
                html.P("Series whose stock on hand and on order does not cover the demand until the next order "
                       "can arrive, most likely first.", className="chart-explanation text-muted small"),
                dcc.Loading(html.Div(id=ids.Inv.RISK), type="circle"),
            ]), className="chart-card h-100"), lg=5, className="mb-3"),
            dbc.Col(c.chart_card(ids.Inv.TRADEOFF, "Service vs inventory",
                                 "Each point is a target cycle service level (80-99%) replayed on the holdout: "
                                 "further up is better service, further left is less stock. A curve left of "
                                 "another gives the same service with less inventory.", height=360,
                                 extra=dbc.RadioItems(id=ids.Inv.TRADEOFF_X, value=axis, inline=True,
                                                      className="small",
                                                      options=[{"label": v, "value": k}
                                                               for k, v in TRADEOFF_AXES.items()])),
                    lg=7, className="mb-3"),
        ]),
        dbc.Row([
            c.labeled("Store x product", dcc.Dropdown(
                id=ids.Inv.SERIES, value=series, clearable=False, searchable=True, placeholder="pick a series",
                options=[{"label": series, "value": series}] if series else []), width=8),
            dbc.Col(dcc.Link("Forecast of this series →", id=ids.Inv.FORECAST_LINK, href="/forecast"), width=4,
                    className="text-end align-self-end mb-2"),
        ], className="filter-bar g-2"),
        dbc.Row(dbc.Col(c.chart_card(ids.Inv.PROJECTION, "Projected stock",
                                     "Expected stock at the end of each day with today's recommended order (blue) "
                                     "and without it (red), from the forecast demand (grey, with its 80% and 95% "
                                     "intervals), the open orders (green bars), the reorder point and the "
                                     "order-up-to level.", height=420), className="mb-3")),
        _edit_form(),
    ])
