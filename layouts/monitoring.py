"""Monitoring page: how the published forecasts fare against the actuals that arrived since (with the backtest's
expectation as a band), accuracy by horizon step, interval coverage, the worst series, drift and the alert log."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from domain import LEVELS
from layouts import components, ids

dash.register_page(__name__, path="/monitoring", name="Monitoring", order=6, title="Monitoring · Sales Forecasting")

METRICS = ("wape", "mase")


def layout(**query):
    level = ids.q_str(query, "level", "total", LEVELS)
    metric = ids.q_str(query, "metric", "wape", METRICS)
    controls = dbc.Row([
        components.labeled("Level", dbc.Select(id=ids.Mon.LEVEL, value=level,
                                               options=[{"label": lv, "value": lv} for lv in LEVELS]), width=3),
        components.labeled("Metric", dbc.Select(id=ids.Mon.METRIC, value=metric,
                                                options=[{"label": m.upper(), "value": m} for m in METRICS]),
                           width=2),
        dbc.Col([dbc.Button("Run the checks now", id=ids.Mon.CHECK, color="secondary", className="mt-3 me-2"),
                 html.Span(id=ids.Mon.CHECK_RESULT, className="small")], width=7),
    ], className="align-items-end mb-3")
    alerts = dbc.Card(dbc.CardBody([
        html.H6("Alert log", className="card-title"),
        dcc.Loading(html.Div(id=ids.Mon.ALERTS)),
        dbc.Row([components.labeled("Open alert", dbc.Select(id=ids.Mon.ACK_ID, options=[]), width=6),
                 dbc.Col([dbc.Button("Acknowledge", id=ids.Mon.ACK, color="primary", className="mt-3 me-2"),
                          html.Span(id=ids.Mon.ACK_RESULT, className="small")], width=6)],
                className="align-items-end"),
    ]), className="mb-3")
    rules = dbc.Card(dbc.CardBody([
        html.H6("Alert rules (the rules file, JSON)", className="card-title"),
        html.P("Rules (accuracy, coverage, bias, drift, refresh_failed, stale), the e-mail and webhook channels, "
               "the feedback loop (refresh_on, tune) and drift thresholds; `python cli.py monitor --check` and the "
               "button above apply them.", className="text-muted small"),
        dcc.Textarea(id=ids.Mon.RULES, style={"width": "100%", "height": "260px", "fontFamily": "monospace"}),
        dbc.Button("Save rules", id=ids.Mon.RULES_SAVE, color="primary", className="mt-2 me-2"),
        html.Span(id=ids.Mon.RULES_RESULT, className="small"),
    ]))
    return html.Div([
        components.page_header("Monitoring", "Live accuracy of the published forecasts on the sales that arrived "
                                             "after them, drift of the data, and the alerts."),
        controls,
        dcc.Store(id=ids.Mon.SIGNATURE, data=0),
        dcc.Loading(html.Div(id=ids.Mon.SUMMARY, className="mb-3")),
        components.chart_card(ids.Mon.OVER_TIME, "Accuracy over time",
                              "The published run's forecasts scored on each date's actuals at this level; the "
                              "grey band is the range of its backtest folds (the expectation), the dashed line "
                              "their mean. A line above the band means the forecasts do worse than promised.",
                              height=300),
        dbc.Row([
            dbc.Col(components.chart_card(ids.Mon.BY_STEP, "Accuracy by horizon step",
                                          "All stored runs' final forecasts at this level by how far ahead they "
                                          "were: step 1 is the first period after the training data.",
                                          height=280), md=6),
            dbc.Col(components.chart_card(ids.Mon.COVERAGE, "Interval coverage over time",
                                          "Share of actuals inside the 80% and 95% intervals; the dotted lines are "
                                          "the nominal levels.", height=280), md=6),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col([html.H5("Worst series now", className="mt-3"), dcc.Loading(html.Div(id=ids.Mon.WORST))], md=6),
            dbc.Col([html.H5("Drift (last check)", className="mt-3"), dcc.Loading(html.Div(id=ids.Mon.DRIFT))],
                    md=6),
        ], className="g-3"),
        html.Div(className="mt-3"),
        alerts,
        rules,
    ])
