"""Runs page: refresh history, the current run, a button that starts a refresh with a live progress bar, and the schedule."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components, ids

dash.register_page(__name__, path="/runs", name="Runs", order=5, title="Runs · Sales Forecasting")

STATUSES = ("all", "success", "failed", "running", "cancelled", "skipped")


def layout(**query):
    status = ids.q_str(query, "status", "all", STATUSES)
    controls = dbc.Row([
        components.labeled("Show runs", dbc.Select(
            id=ids.Runs.STATUS, value=status, options=[{"label": s.title(), "value": s} for s in STATUSES]),
            width=3),
        dbc.Col([
            dbc.Button("Start a refresh now", id=ids.Runs.START, color="primary", className="me-2 mt-3"),
            html.Span(id=ids.Runs.START_RESULT, className="small"),
        ], width=9),
    ], className="align-items-end")
    progress = html.Div([
        dbc.Progress(id=ids.Runs.PROGRESS, value=0, label="", striped=True, animated=False,
                     style={"height": "22px"}),
        html.Div(id=ids.Runs.PROGRESS_MSG, className="small text-muted mt-1"),
    ], className="mb-3")
    return html.Div([
        components.page_header("Runs", "Every forecast refresh: when it ran, how long it took, how accurate it was; "
                                       "start one now and see when the next scheduled one runs."),
        controls,
        progress,
        dcc.Interval(id=ids.Runs.POLL, interval=2000, n_intervals=0),
        dcc.Store(id=ids.Runs.SIGNATURE, data=""),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([html.H6("Current run", className="card-title"),
                                           dcc.Loading(html.Div(id=ids.Runs.CURRENT))])), md=6),
            dbc.Col(dbc.Card(dbc.CardBody([html.H6("Schedule", className="card-title"),
                                           html.Div(id=ids.Runs.SCHEDULE)])), md=6),
        ], className="mb-3 g-3"),
        components.chart_card(ids.Runs.DURATIONS, "Refresh duration",
                              "Each bar is one refresh: its height is the wall time in seconds and its colour the "
                              "outcome; a bar much taller than its neighbours means a slow refresh.", height=260),
        html.H5("Refresh history", className="mt-3"),
        dcc.Loading(html.Div(id=ids.Runs.HISTORY)),
        html.H5("Audit log", className="mt-3"),
        html.P("Who imported data, started a refresh, edited the plan or the inventory inputs, or changed users "
               "(also `python cli.py audit`).", className="text-muted small"),
        html.Div(id=ids.Runs.AUDIT),
    ])
