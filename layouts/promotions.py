"""Promotions page: the recommended promotion calendar (store x product x week x depth), its expected value with
intervals, the constraints, and one click to write it to the plan (``python cli.py optimize-promos``)."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components, ids

dash.register_page(__name__, path="/promotions", name="Promotions", order=6, title="Promotions · Sales Forecasting")

DEFAULT_DEPTHS = "0.1,0.2,0.3"


def _number(query: dict, key: str, default, low: float):
    """A number from the URL query (``default`` when absent or invalid)."""
    try:
        value = float(query.get(key, ""))
    except ValueError:
        return default
    return value if value >= low else default


def layout(**query):
    weeks = _number(query, "weeks", 4, 1)
    k = _number(query, "k", 3, 0)
    budget = _number(query, "budget", None, 0)
    controls = dbc.Row([
        components.labeled("First week starts", dbc.Input(id=ids.Promo.START, type="date",
                                                          value=ids.q_str(query, "start") or None), width=2),
        components.labeled("Weeks", dbc.Input(id=ids.Promo.WEEKS, type="number", min=1, step=1,
                                              value=int(weeks)), width=1),
        components.labeled("Most per store-week", dbc.Input(id=ids.Promo.MAX_PER_STORE_WEEK, type="number", min=0,
                                                            step=1, value=int(k)), width=2),
        components.labeled("Depths (share off)", dbc.Input(id=ids.Promo.DEPTHS, type="text",
                                                           value=ids.q_str(query, "depths") or DEFAULT_DEPTHS),
                           width=2),
        components.labeled("Discount budget (optional)", dbc.Input(id=ids.Promo.BUDGET, type="number", min=0,
                                                                   value=budget), width=2),
        dbc.Col([
            dbc.Button("Optimize", id=ids.Promo.RUN, color="primary", className="me-2 mt-3"),
            dbc.Button("Apply to the plan", id=ids.Promo.APPLY, color="success", className="mt-3", disabled=True),
        ], width=3),
    ], className="align-items-end")
    return html.Div([
        components.page_header("Promotions", "Which products to promote in which store and week, and how deep, for "
                                             "the most expected extra margin (baseline forecasts x the estimated "
                                             "promotion lifts, an integer program)."),
        controls,
        html.Div(id=ids.Promo.STATUS, className="small text-muted mb-2"),
        html.Div(id=ids.Promo.APPLY_RESULT, className="mb-2"),
        dcc.Store(id=ids.Promo.PARAMS, data=None),
        dcc.Loading(html.Div(id=ids.Promo.SUMMARY, className="mb-3")),
        components.chart_card(
            ids.Promo.CALENDAR, "Recommended calendar",
            "One row per store x product, one column per week: a coloured cell is a recommended promotion, darker = "
            "deeper discount; hover for its expected extra margin with the 95% interval.", height=420),
        html.H5("Promotions and their expected value", className="mt-3"),
        dcc.Loading(html.Div(id=ids.Promo.TABLE)),
    ])
