"""Plan page: the calendar of planned promotions and closures, an edit form, plan-file import, stale forecasts."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components as c
from layouts import ids, plan_parts

dash.register_page(__name__, path="/plan", name="Plan", title="Plan · Sales Forecasting", order=6)


def _select(control_id, value, placeholder: str) -> dcc.Dropdown:
    """A filter dropdown whose initial options hold the URL's value (the full list arrives by callback)."""
    return dcc.Dropdown(id=control_id, value=value, placeholder=placeholder, clearable=True,
                        options=[{"label": value, "value": value}] if value else [])


def layout(**query):
    """The Plan page; ``?store=&category=&product=&start=&end=`` restore the calendar's filters and window."""
    start, end = ids.q_str(query, "start"), ids.q_str(query, "end")
    filters = dbc.Row([
        c.labeled("Dates (default: the whole plan)", dcc.DatePickerRange(
            id=ids.Plan.DATES, start_date=start, end_date=end, display_format="YYYY-MM-DD", clearable=True,
            start_date_placeholder_text="start", end_date_placeholder_text="end"), width=4),
        c.labeled("Store", _select(ids.Plan.STORE, ids.q_str(query, "store"), "All stores"), width=2),
        c.labeled("Category", _select(ids.Plan.CATEGORY, ids.q_str(query, "category"), "All categories"), width=3),
        c.labeled("Product", _select(ids.Plan.PRODUCT, ids.q_str(query, "product"), "All products"), width=3),
    ], className="filter-bar g-2")
    return html.Div([
        c.page_header("Plan", "What is planned ahead: promotions and their depth, closures, prices and events, at "
                              "any grain. Forecasts made before the plan last changed are flagged below."),
        filters,
        dbc.Row(dbc.Col(c.chart_card(ids.Plan.CALENDAR, "Plan calendar",
                                     "One row per store · product with a planned promotion or closure: colour = "
                                     "promotion depth, dark grey = closed. Zoom with the dates above or by dragging.",
                                     height=420), className="mb-3")),
        dbc.Row([dbc.Col(plan_parts.edit_form(), md=7, className="mb-3"),
                 dbc.Col(plan_parts.import_box(), md=5, className="mb-3")]),
        html.H5("Plan rows as stored", className="mt-2"),
        dcc.Loading(html.Div(id=ids.Plan.TABLE)),
        html.H5("Stale forecasts", className="mt-3"),
        dcc.Loading(html.Div(id=ids.Plan.STALE)),
    ])
