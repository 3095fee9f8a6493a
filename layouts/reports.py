"""Reports page: the EDA report, the model report and the executive summary, each downloadable as HTML or PDF."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components, ids

dash.register_page(__name__, path="/reports", name="Reports", order=7, title="Reports · Sales Forecasting")

# (kind, title, what it holds): the kinds of `python cli.py report KIND`
REPORTS = (
    ("eda", "Exploratory data analysis",
     "Data summary and quality (missing dates, duplicates, negatives, outliers, coverage), trends, seasonality "
     "(decomposition), distributions, correlations with the drivers and the cleaning applied."),
    ("model", "Model report",
     "The published run's candidates and their backtest metrics, the chosen models per level, tuning results, "
     "residual diagnostics and interval coverage."),
    ("executive", "Executive summary",
     "The next horizon's forecast with intervals, accuracy against the naive baseline in plain words, the largest "
     "drivers, and the inventory and promotion recommendations with their expected value."),
)


def _card(kind: str, title: str, text: str) -> dbc.Col:
    buttons = html.Div([
        dbc.Button("Download HTML", id=ids.Reports.button(kind, "html"), color="primary", size="sm",
                   className="me-2"),
        dbc.Button("Download PDF", id=ids.Reports.button(kind, "pdf"), color="secondary", size="sm", outline=True),
    ])
    return dbc.Col(dbc.Card(dbc.CardBody([html.H6(title, className="card-title"),
                                          html.P(text, className="small text-muted"), buttons]),
                            className="h-100"), md=4)


def layout(**_query):
    return html.Div([
        components.page_header("Reports", "Documents to hand to stakeholders, generated from the live database "
                                          "when you ask (also `python cli.py report eda|model|executive "
                                          "--format html|pdf`). HTML works offline with interactive charts; PDF "
                                          "is the same page printed by headless Chromium."),
        dbc.Row([_card(*r) for r in REPORTS], className="g-3 mb-3"),
        dbc.Progress(id=ids.Reports.PROGRESS, value=0, label="", striped=True, animated=True,
                     style={"height": "18px", "visibility": "hidden"}, className="mb-2"),
        html.Div(id=ids.Reports.STATUS, className="small"),
        dcc.Download(id=ids.Reports.DOWNLOAD),
    ])
