"""Forecast page callbacks: node search and default, model choice, URL sync, fan chart, models, diagnostics, CSV."""
from __future__ import annotations

import pandas as pd
from dash import Input, Output, State, callback, dcc
from dash.exceptions import PreventUpdate

from callbacks._cache import memo
from callbacks._errors import guarded
from data import store
from data.exports import csv_safe
from layouts import components, figures, ids


def resolve_node(value, query, session) -> str:
    """The node to show: the picker's value, else ``?node=``, else the node last explored (session), else total."""
    return value or (query or {}).get("node") or (session or {}).get("node") or "total"


@guarded(lambda _msg: pd.DataFrame(columns=["node_id", "label", "level"]))
def _search_nodes(text: str) -> pd.DataFrame:
    """Up to 50 nodes matching ``text``; none when the store cannot be read (only the current node is offered)."""
    return memo(store.search_nodes, text, 50)


@guarded(lambda _msg: [])
def _forecast_models(node: str) -> list[str]:
    """Models with a stored forecast for ``node``; none when the store cannot be read."""
    return memo(store.forecast_models, node)


@callback(Output(ids.Fcst.NODE, "options"), Output(ids.Fcst.NODE, "value"),
          Input(ids.Fcst.NODE, "search_value"), Input(ids.Fcst.QUERY, "data"),
          State(ids.Fcst.NODE, "value"), State(ids.Shell.SESSION, "data"))
def fill_fcst_node_options(search, query, value, session):
    """Offer up to 50 nodes matching the typed text (upper levels first), always including the shown one."""
    node = resolve_node(value, query, session)
    df = _search_nodes(search or "")
    opts = [{"label": f"{r.label}  ·  {r.node_id}", "value": r.node_id} for r in df.itertuples()]
    if node not in set(df["node_id"]):
        opts.insert(0, {"label": node, "value": node})
    return opts, node


@callback(Output(ids.Fcst.MODEL, "options"), Output(ids.Fcst.MODEL, "value"),
          Input(ids.Fcst.NODE, "value"), State(ids.Fcst.MODEL, "value"))
def fill_fcst_models(node, model):
    """List the models with a stored forecast for the node; keep the current one if it has one."""
    if not node:
        raise PreventUpdate
    models = _forecast_models(node) or ["final"]
    return ([{"label": "final (published)" if m == "final" else m, "value": m} for m in models],
            model if model in models else models[0])


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True),
          Input(ids.Fcst.NODE, "value"), Input(ids.Fcst.MODEL, "value"), prevent_initial_call=True)
def sync_fcst_url(node, model):
    """Write the node and the model (when not the published one) into the URL."""
    if not node:
        raise PreventUpdate
    return ids.to_search({"node": node, "model": None if model == "final" else model})


@callback(Output(ids.Fcst.CHART, "figure"), Output(ids.Fcst.RUN_INFO, "children"),
          Input(ids.Fcst.NODE, "value"), Input(ids.Fcst.MODEL, "value"))
@guarded(lambda msg: (figures.empty_figure("Cannot show this series"), components.error_alert(msg)))
def render_fcst_chart(node, model):
    """Redraw the history and forecast fan when the node or the model changes."""
    if not node or not model:
        raise PreventUpdate
    hist, fc = memo(store.history_and_forecast, node, 548, model)  # 18 months of context
    if hist.empty and fc.empty:
        return figures.empty_figure("No data for this series"), ""
    info = components.EMPTY_FORECASTS if fc.empty else \
        f"Forecast of {len(fc)} periods, {fc['ds'].min():%d %b %Y} – {fc['ds'].max():%d %b %Y} (model: {model})."
    return figures.fan_chart(hist, fc, model=model), info


@callback(Output(ids.Fcst.MODELS_TABLE, "children"), Input(ids.Fcst.NODE, "value"))
@guarded(components.error_alert)
def render_fcst_models_table(node):
    """Rebuild the backtest comparison table when the node changes."""
    if not node:
        raise PreventUpdate
    return components.models_table(memo(store.model_comparison, node))


@callback(Output(ids.Fcst.PAST, "figure"), Input(ids.Fcst.NODE, "value"))
@guarded(lambda msg: figures.empty_figure(f"Cannot read earlier runs: {msg}"))
def render_fcst_past(node):
    """Redraw earlier runs' forecasts against the actuals when the node changes."""
    if not node:
        raise PreventUpdate
    actuals, past = memo(store.past_forecasts, node, 5)
    return figures.past_runs_chart(actuals, past)


@callback(Output(ids.Fcst.ACF, "figure"), Output(ids.Fcst.RESID_HIST, "figure"), Output(ids.Fcst.LJUNG, "children"),
          Input(ids.Fcst.NODE, "value"))
@guarded(lambda msg: (figures.empty_figure(msg), figures.empty_figure(msg), components.error_alert(msg)))
def render_fcst_diagnostics(node):
    """Redraw the residual ACF, the residual histogram and the Ljung-Box verdict when the node changes."""
    if not node:
        raise PreventUpdate
    diag = memo(store.diagnostics, node)
    if diag.empty:
        return (figures.acf_bars([], 0), figures.residual_histogram([]), components.ljung_box_summary(diag))
    r = diag.iloc[0]
    return (figures.acf_bars(r["acf"], len(r["residuals"])), figures.residual_histogram(r["residuals"]),
            components.ljung_box_summary(diag))


@callback(Output(ids.Fcst.DOWNLOAD, "data"), Input(ids.Fcst.DOWNLOAD_BTN, "n_clicks"),
          State(ids.Fcst.NODE, "value"), State(ids.Fcst.MODEL, "value"), prevent_initial_call=True)
def download_fcst_csv(n_clicks, node, model):
    """Send the shown forecast (with its 80%/95% bounds) as a CSV file when the button is clicked."""
    if not n_clicks or not node:
        raise PreventUpdate
    df = memo(store.forecast, node, None, model or "final")
    if df.empty:
        raise PreventUpdate
    name = "forecast_" + node.replace("/", "_").replace("=", "-") + f"_{model}.csv"
    return dcc.send_data_frame(csv_safe(df.assign(model=model)).to_csv, name, index=False)
