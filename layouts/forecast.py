"""Forecast page: any node's history and forecast fan, model comparison, past runs vs actuals, diagnostics."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components as c
from layouts import explain_panel, ids, whatif_panel

dash.register_page(__name__, path="/forecast", name="Forecast", title="Forecast · Sales Forecasting", order=3)


def layout(**query):
    """The Forecast page; ``?node=store=3/product=7&model=ets`` restore the node and the model."""
    node = ids.q_str(query, "node")
    model = ids.q_str(query, "model", "final")
    controls = dbc.Row([
        c.labeled("Series (type to search any node of the hierarchy)", dcc.Dropdown(
            id=ids.Fcst.NODE, value=node, clearable=False, searchable=True, placeholder="total",
            options=[{"label": node, "value": node}] if node else []), width=6),
        c.labeled("Model shown", dcc.Dropdown(id=ids.Fcst.MODEL, value=model, clearable=False,
                                              options=[{"label": model, "value": model}]), width=3),
        dbc.Col([dbc.Label("\u00a0", className="small d-block mb-0"),
                 dbc.Button("Download forecast CSV", id=ids.Fcst.DOWNLOAD_BTN, color="primary", outline=True,
                            size="sm"), dcc.Download(id=ids.Fcst.DOWNLOAD)], width=3, className="text-end"),
    ], className="filter-bar g-2")
    return html.Div([
        c.page_header("Forecast", "History and the published forecast of any node, how the candidate models "
                                  "scored in the backtest, and whether the chosen model's residuals look clean."),
        controls,
        dcc.Store(id=ids.Fcst.QUERY, data={"node": node}),
        html.Div(id=ids.Fcst.RUN_INFO, className="small text-muted mb-2"),
        dbc.Row(dbc.Col(c.chart_card(ids.Fcst.CHART, "History and forecast",
                                     "Black is what was sold; the coloured line is the forecast of the model shown, "
                                     "with its 80% (dark) and 95% (light) prediction intervals.", height=420),
                        className="mb-3")),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H6("Model comparison (rolling-origin backtest)", className="card-title mb-1"),
                html.P("Mean over backtest folds; lower WAPE/MASE is better, coverage should be near 80% and "
                       "95%. The highlighted row is the model the refresh chose for this series.",
                       className="chart-explanation text-muted small"),
                dcc.Loading(html.Div(id=ids.Fcst.MODELS_TABLE, className="models-table"), type="circle"),
            ]), className="chart-card h-100"), lg=6, className="mb-3"),
            dbc.Col(c.chart_card(ids.Fcst.PAST, "Earlier forecasts against actuals",
                                 "Dashed lines are the forecasts of earlier runs; where they drift from the black "
                                 "actuals, those runs were wrong.", height=330), lg=6, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(c.chart_card(ids.Fcst.ACF, "Residual autocorrelation",
                                 "Bars outside the dashed ±1.96/√n band (red) are lags the model did not "
                                 "capture.", height=300), lg=4, className="mb-3"),
            dbc.Col(c.chart_card(ids.Fcst.RESID_HIST, "Residual distribution",
                                 "Centred on zero when the model is unbiased; a shifted peak means systematic "
                                 "over- or under-forecasting.", height=300), lg=4, className="mb-3"),
            dbc.Col(dbc.Card(dbc.CardBody([
                html.H6("Ljung-Box test", className="card-title mb-1"),
                html.P("Tests whether the residuals are white noise (no autocorrelation left).",
                       className="chart-explanation text-muted small"),
                dcc.Loading(html.Div(id=ids.Fcst.LJUNG), type="circle"),
            ]), className="chart-card h-100"), lg=4, className="mb-3"),
        ]),
        explain_panel.explain_panel(),
        whatif_panel.scenario_panel(),
    ])
