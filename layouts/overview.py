"""Overview page: KPIs of the chosen period, total sales with its forecast fan, top/bottom movers and alerts."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components as c
from layouts import ids

dash.register_page(__name__, path="/", name="Overview", title="Overview · Sales Forecasting", order=0)

PERIODS = {7: "Last 7 days", 28: "Last 4 weeks", 91: "Last 13 weeks", 364: "Last 52 weeks"}
MOVER_LEVELS = {"store": "Stores", "product": "Products"}
KPI_TITLES = {"sales": "Sales in period", "vs-prev": "Change vs previous period", "vs-ly": "Change vs last year",
              "forecast": "Next-horizon forecast", "accuracy": "Backtest accuracy (WAPE)",
              "freshness": "Data freshness"}


def layout(**query):
    """The Overview page; ``?period=28&movers=store`` restore the period and the movers level."""
    period = ids.q_int(query, "period", 28, allowed=PERIODS)
    level = ids.q_str(query, "movers", "store", allowed=MOVER_LEVELS)
    kpis = [dbc.Col(c.kpi_card(ids.kpi_value(name), ids.kpi_detail(name), KPI_TITLES[name]), xs=6, md=4, xl=2)
            for name in ids.Overview.KPI_NAMES]
    movers_level = dbc.RadioItems(id=ids.Overview.MOVERS_LEVEL, value=level, inline=True, className="small mb-1",
                                  options=[{"label": v, "value": k} for k, v in MOVER_LEVELS.items()])
    return html.Div([
        c.page_header("Overview", "How sales are doing now, what the forecast expects next, and what needs "
                                  "attention."),
        dbc.Row([c.labeled("Period", dcc.Dropdown(id=ids.Overview.PERIOD, value=period, clearable=False,
                                                  options=[{"label": v, "value": k} for k, v in PERIODS.items()]),
                           width=3)]),
        html.Div(id=ids.Overview.ALERTS),
        dcc.Loading(dbc.Row(kpis, id=ids.Overview.KPIS, className="g-3 mb-3"), type="dot", delay_show=300),
        dbc.Row([
            dbc.Col(c.chart_card(ids.Overview.FAN, "Total sales and forecast",
                                 "Black is what was sold; the blue line is the published forecast, with its 80% "
                                 "(dark) and 95% (light) prediction intervals.", height=400), lg=8, className="mb-3"),
            dbc.Col(c.chart_card(ids.Overview.MOVERS, "Top and bottom movers",
                                 "Change of sales in the chosen period against the period just before it; "
                                 "green grew, red shrank.", height=400, extra=movers_level), lg=4, className="mb-3"),
        ]),
    ])
