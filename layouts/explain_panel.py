"""The Forecast page's "What drives this forecast" panel: overall feature importance and one date's contributions.

Not a page (no ``register_page``): :mod:`layouts.forecast` places :func:`explain_panel`, and
:mod:`callbacks.explain` fills it with :func:`importance_bars` and :func:`contribution_bars` from
``jobs.explain_job.explain`` (the run's stored importance and the node's contributions, no refit).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from layouts import components as c
from layouts import ids
from layouts.figures import DOWN, GRID, HIGHLIGHT, MUTED, UP, _themed, empty_figure


def explain_panel() -> dbc.Card:
    """A forecast-date picker, a one-line summary and the two charts."""
    return dbc.Card(dbc.CardBody([
        html.H6("What drives this forecast", className="card-title mb-1"),
        html.P("For the global tree model of this node (lgbm, xgboost or rf; the chosen one when the refresh chose "
               "one): left, what the model relies on over all series (share of split gain, and how much the "
               "backtest error grows when a feature is shuffled on the last fold); right, how each feature moves "
               "this node's forecast on the chosen date away from the model's base value, in sales units.",
               className="chart-explanation text-muted small"),
        dbc.Row([c.labeled("Forecast date", dcc.Dropdown(id=ids.Fcst.EXPLAIN_DATE, clearable=False, options=[]),
                           width=3),
                 dbc.Col(html.Div(id=ids.Fcst.EXPLAIN_INFO, className="small text-muted pt-4"), width=9)],
                className="g-2 mb-2"),
        dbc.Row([
            dbc.Col(dcc.Loading(dcc.Graph(id=ids.Fcst.EXPLAIN_OVERALL, figure=empty_figure("Loading…"),
                                          style={"height": "360px"}, config={"displaylogo": False}),
                                type="circle", delay_show=300), lg=6),
            dbc.Col(dcc.Loading(dcc.Graph(id=ids.Fcst.EXPLAIN_NODE, figure=empty_figure("Loading…"),
                                          style={"height": "360px"}, config={"displaylogo": False}),
                                type="circle", delay_show=300), lg=6),
        ]),
    ]), className="chart-card mb-3")


def importance_bars(rows: list[dict]) -> go.Figure:
    """Gain share and permutation importance (WAPE increase ± s.d.) of the top features, side by side."""
    if not rows:
        return empty_figure("No importance stored for this run")
    rows = rows[::-1]  # largest at the top
    names = [r["feature"] for r in rows]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("Gain share", "Shuffled: WAPE increase"))
    fig.add_trace(go.Bar(x=[r["gain"] for r in rows], y=names, orientation="h", marker_color=HIGHLIGHT,
                         name="gain share", hovertemplate="%{y}: %{x:.1%} of the gain<extra></extra>"), 1, 1)
    fig.add_trace(go.Bar(x=[r["permutation"] for r in rows], y=names, orientation="h", marker_color=MUTED,
                         error_x=dict(type="data", array=[r["permutation_sd"] or 0 for r in rows], thickness=1),
                         name="permutation", hovertemplate="%{y}: WAPE +%{x:.2%}<extra></extra>"), 1, 2)
    fig.update_xaxes(tickformat=".0%", gridcolor=GRID)
    fig.update_xaxes(tickformat=".1%", col=2)
    return _themed(fig, showlegend=False, hovermode="closest", margin=dict(l=10, r=10, t=30, b=30))


def contribution_bars(rows: list[dict], base: float, yhat: float, date: str) -> go.Figure:
    """One date's contributions (green raises, red lowers the forecast), largest in absolute value at the top."""
    if not rows:
        return empty_figure("No contributions for this date")
    rows = rows[::-1]
    labels = [f"{r['feature']} = {r['feature_value']}" for r in rows]
    fig = go.Figure(go.Bar(x=[r["value"] for r in rows], y=labels, orientation="h",
                           marker_color=[UP if r["value"] >= 0 else DOWN for r in rows],
                           hovertemplate="%{y}: %{x:+,.2f}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color=MUTED, width=1))
    return _themed(fig, showlegend=False, hovermode="closest", margin=dict(l=10, r=10, t=30, b=40),
                   title=dict(text=f"{date}: base {base:,.1f} → forecast {yhat:,.1f}", font=dict(size=12)),
                   xaxis_title="Contribution to the forecast (sales units)")
