"""Explore page: global filters in the URL, click-through drill-down, YoY series, seasonality, decomposition, table."""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components as c
from layouts import ids
from layouts.demand_panel import demand_card

dash.register_page(__name__, path="/explore", name="Explore", title="Explore · Sales Forecasting", order=1)

GRANULARITIES = {"D": "Day", "W": "Week", "M": "Month"}
GRID_COLUMNS = [
    {"field": "label", "headerName": "Node", "flex": 2, "filter": "agTextColumnFilter"},
    {"field": "node_id", "headerName": "Series key", "flex": 2, "filter": "agTextColumnFilter"},
    {"field": "category", "headerName": "Category", "flex": 1, "filter": "agTextColumnFilter"},
    {"field": "sales", "headerName": "Sales", "flex": 1, "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "d3.format(',.0f')(params.value)"}},
    {"field": "share", "headerName": "Share", "flex": 1, "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.1%')(params.value)"}},
    {"field": "mean", "headerName": "Mean per period", "flex": 1, "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "d3.format(',.1f')(params.value)"}},
    {"field": "growth", "headerName": "Change vs previous", "flex": 1, "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('+.1%')(params.value)"}},
]

# Text cells that a spreadsheet would run as a formula are neutralised in the export (assets/dashAgGridFunctions.js).
CSV_EXPORT = {"fileName": "explore_summary.csv", "processCellCallback": {"function": "neutraliseCsvCell(params)"}}


def _select(control_id, values, multi: bool, placeholder: str) -> dcc.Dropdown:
    """A dropdown whose initial options hold the values from the URL (the full list arrives by callback)."""
    vals = values if multi else ([values] if values else [])
    return dcc.Dropdown(id=control_id, value=values, multi=multi, placeholder=placeholder, clearable=True,
                        options=[{"label": v, "value": v} for v in vals])


def layout(**query):
    """The Explore page; ``?start=&end=&region=&stores=1,2&category=&products=&gran=W`` restore the filters."""
    start, end = ids.q_str(query, "start"), ids.q_str(query, "end")
    filters = dbc.Row([
        c.labeled("Dates (default: last 12 months)", dcc.DatePickerRange(
            id=ids.Explore.DATES, start_date=start, end_date=end, display_format="YYYY-MM-DD",
            clearable=True, start_date_placeholder_text="start", end_date_placeholder_text="end"), width=3),
        c.labeled("Region", _select(ids.Explore.REGION, ids.q_str(query, "region"), False, "All regions"), width=2),
        c.labeled("Stores", _select(ids.Explore.STORES, ids.q_list(query, "stores"), True, "All stores"), width=2),
        c.labeled("Category", _select(ids.Explore.CATEGORY, ids.q_str(query, "category"), False,
                                      "All categories"), width=2),
        c.labeled("Products", _select(ids.Explore.PRODUCTS, ids.q_list(query, "products"), True,
                                      "All products"), width=3),
        dbc.Col(dbc.RadioItems(
            id=ids.Explore.GRAN, value=ids.q_str(query, "gran", "D", allowed=GRANULARITIES), inline=True,
            options=[{"label": f"By {v.lower()}", "value": k} for k, v in GRANULARITIES.items()],
            className="small"), width=12),
    ], className="filter-bar g-2")
    grid = dag.AgGrid(id=ids.Explore.GRID, columnDefs=GRID_COLUMNS, rowData=[], className="ag-theme-alpine",
                      defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True},
                      dashGridOptions={"animateRows": False, "pagination": True, "paginationPageSize": 20},
                      csvExportParams=CSV_EXPORT, style={"height": "420px"})
    return html.Div([
        c.page_header("Explore", "Slice sales by region, store, category and product; click a bar to drill down."),
        filters,
        dcc.Store(id=ids.Explore.FILTERS),
        html.Div(id=ids.Explore.ERROR),
        dbc.Row([
            dbc.Col(html.Div(id=ids.Explore.BREADCRUMB, className="breadcrumb-bar"), md=8),
            dbc.Col(dcc.Link("Forecast this series →", id=ids.Explore.FORECAST_LINK, href="/forecast"),
                    md=4, className="text-end"),
        ], className="mb-2 align-items-center"),
        html.H5(id=ids.Explore.TITLE, className="mb-1"),
        html.Div(id=ids.Explore.DEMAND_BADGE, className="mb-2"),
        dbc.Row([
            dbc.Col(c.chart_card(ids.Explore.BREAKDOWN, "Breakdown — click a bar to drill down",
                                 "Total sales of each part of the selection in the chosen dates; coloured by "
                                 "category where one applies.", height=420), lg=5, className="mb-3"),
            dbc.Col(c.chart_card(ids.Explore.SERIES, "Sales with last year overlaid",
                                 "Blue is the selected period; the dashed grey line is the same dates one year "
                                 "earlier, so gaps between them are year-over-year changes.", height=420),
                    lg=7, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(c.chart_card(ids.Explore.HEATMAP, "Seasonal heatmap",
                                 "Mean sales by weekday and week of the year (daily data) or by month and year "
                                 "(weekly data); darker is higher.", height=340), lg=6, className="mb-3"),
            dbc.Col(c.chart_card(ids.Explore.HIST, "Distribution",
                                 "How often each sales level occurs at the chosen granularity; a long right tail "
                                 "means occasional spikes (promotions, holidays).", height=340), lg=6,
                    className="mb-3"),
        ]),
        dbc.Row(dbc.Col(c.chart_card(ids.Explore.DECOMP, "Decomposition (whole history)",
                                     "The series split into trend, seasonal cycles and a remainder (STL/MSTL); a "
                                     "large remainder means events the seasons do not explain.", height=520,
                                     extra=dbc.Button("Decompose", id=ids.Explore.DECOMP_BTN, size="sm",
                                                      color="secondary", outline=True, className="mb-1")),
                        className="mb-3")),
        demand_card(),
        dbc.Card(dbc.CardBody([
            dbc.Row([dbc.Col(html.H6("Summary table", className="card-title"), md=9),
                     dbc.Col(dbc.Button("Export CSV", id=ids.Explore.EXPORT, size="sm", color="secondary",
                                        outline=True), md=3, className="text-end")]),
            html.P("One row per part of the breakdown; sort or filter any column.",
                   className="chart-explanation text-muted small"),
            grid,
        ]), className="chart-card"),
    ])
