"""Customers page: RFM segments with a drill to the products each segment buys, the churn-risk list (CSV export,
expected value at risk), the CLV distribution, monthly cohort retention, top customers by CLV, and the models'
parameters and validation."""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components as c
from layouts import ids

dash.register_page(__name__, path="/customers", name="Customers", order=2.5, title="Customers · Sales Forecasting")

_NUM = {"filter": "agNumberColumnFilter", "type": "numericColumn"}


def _num(field: str, header: str, fmt: str = ",.1f", **extra) -> dict:
    return {"field": field, "headerName": header, **_NUM, **extra,
            "valueFormatter": {"function": f"params.value == null ? '' : d3.format('{fmt}')(params.value)"}}


RISK_COLUMNS = [
    {"field": "customer", "headerName": "Customer", "filter": "agTextColumnFilter", "pinned": "left", "width": 120},
    {"field": "segment", "headerName": "Segment", "filter": "agTextColumnFilter", "width": 150},
    _num("value_at_risk", "Value at risk", ",.2f", sort="desc", cellClass="fw-bold"),
    _num("churn_probability", "Churn prob.", ".1%"), _num("p_alive", "P(alive)", ".1%"),
    _num("clv", "CLV", ",.2f"), _num("value_if_active", "Value if active", ",.2f"),
    _num("frequency", "Purchases", ",.0f"), _num("recency_days", "Days since last", ",.0f"),
    _num("revenue", "Revenue to date", ",.2f"),
    {"field": "last", "headerName": "Last purchase", "filter": "agTextColumnFilter", "width": 130},
]
# Text cells a spreadsheet would run as a formula are neutralised in the export (assets/dashAgGridFunctions.js).
CSV_EXPORT = {"fileName": "churn_risk.csv", "processCellCallback": {"function": "neutraliseCsvCell(params)"}}


def _risk_grid() -> dag.AgGrid:
    return dag.AgGrid(
        id=ids.Cust.RISK_GRID, columnDefs=RISK_COLUMNS, rowData=[], className="ag-theme-alpine",
        getRowId="params.data.customer", csvExportParams=CSV_EXPORT, style={"height": "400px"},
        defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True, "minWidth": 90},
        dashGridOptions={"animateRows": False, "pagination": True, "paginationPageSize": 15})


def _card(title: str, explanation: str, body) -> dbc.Card:
    return dbc.Card(dbc.CardBody([html.H6(title, className="card-title mb-1"),
                                  html.P(explanation, className="chart-explanation text-muted small mb-2"), body]),
                    className="chart-card h-100")


def layout(**query):
    """The Customers page; ``?segment=champions`` opens the drill on that segment."""
    segment = ids.q_str(query, "segment")
    export = dbc.Button("Export CSV", id=ids.Cust.EXPORT_CSV, size="sm", color="secondary", outline=True)
    return html.Div([
        c.page_header("Customers", "Who buys, who is about to stop, and what each customer is worth: RFM segments, "
                                   "buy-till-you-die churn and lifetime value from the order lines."),
        dcc.Store(id=ids.Cust.QUERY, data={"segment": segment}),
        html.Div(id=ids.Cust.STATUS),
        html.Div(id=ids.Cust.SUMMARY, className="small text-muted mb-2"),
        dbc.Row([
            dbc.Col(c.chart_card(ids.Cust.SEGMENTS, "Segments",
                                 "Customers per RFM segment (bars) and the segment's share of revenue (diamonds). "
                                 "Segments come from the recency and frequency quintile scores; click a bar to see "
                                 "what that segment buys.", height=360), lg=7, className="mb-3"),
            dbc.Col(_card("Customers and revenue per segment", "Revenue to date, expected CLV over the horizon and "
                          "mean P(alive) of each segment.", dcc.Loading(html.Div(id=ids.Cust.SEGMENT_TABLE),
                                                                        type="circle")), lg=5, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(c.chart_card(ids.Cust.PRODUCTS, "What this segment buys",
                                 "Revenue of the segment's customers per product (its top 20).", height=380,
                                 extra=dcc.Dropdown(id=ids.Cust.SEGMENT, value=segment, clearable=False,
                                                    placeholder="pick a segment", options=[], className="mb-2")),
                    lg=7, className="mb-3"),
            dbc.Col(_card("Products of the segment", "Revenue, units and buyers per product.",
                          dcc.Loading(html.Div(id=ids.Cust.PRODUCTS_TABLE), type="circle")), lg=5, className="mb-3"),
        ]),
        dbc.Card(dbc.CardBody([
            dbc.Row([dbc.Col(html.H6("Churn risk", className="card-title"), md=8),
                     dbc.Col(export, md=4, className="text-end")]),
            html.P("Every customer, largest expected value at risk first: the churn classifier's probability of no "
                   "purchase in the churn window (26 weeks unless `--churn-window` says otherwise) times the "
                   "revenue the customer would bring over the CLV horizon if still active (BG/NBD purchases given alive x Gamma-Gamma spend). P(alive) is BG/NBD's.",
                   className="chart-explanation text-muted small"),
            _risk_grid(),
        ]), className="chart-card mb-3"),
        dbc.Row([
            dbc.Col(c.chart_card(ids.Cust.CLV, "Lifetime value", "How the expected CLV over the horizon "
                                 "(BG/NBD purchases x Gamma-Gamma spend, discounted monthly) spreads over the "
                                 "customers.", height=340), lg=6, className="mb-3"),
            dbc.Col(c.chart_card(ids.Cust.COHORTS, "Cohort retention", "Share of each first-purchase month's "
                                 "customers who buy in each later month.", height=340), lg=6, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(_card("Top customers by CLV", "The 15 customers worth most over the horizon.",
                          dcc.Loading(html.Div(id=ids.Cust.TOP), type="circle")), lg=6, className="mb-3"),
            dbc.Col(_card("Models and validation", "Maximum-likelihood parameters with 95% intervals (the planted "
                          "value on the demo), the CLV check on a holdout period and the churn classifier's AUC "
                          "and Brier score on a later period.", dcc.Loading(html.Div(id=ids.Cust.MODEL),
                                                                             type="circle")),
                    lg=6, className="mb-3"),
        ]),
    ])
