"""Forecast page callbacks: node search and default, model choice, URL sync, fan chart, models, diagnostics, CSV."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from callbacks._cache import memo, short_error
from data import store
from layouts import components, figures, ids

METRIC_LABELS = {"wape": "WAPE", "mase": "MASE", "rmse": "RMSE", "smape": "sMAPE", "bias": "Bias",
                 "coverage_80": "Cover 80", "coverage_95": "Cover 95"}
PERCENT = {"wape", "smape", "coverage_80", "coverage_95"}


def resolve_node(value, query, session) -> str:
    """The node to show: the picker's value, else ``?node=``, else the node last explored (session), else total."""
    return value or (query or {}).get("node") or (session or {}).get("node") or "total"


@callback(Output(ids.Fcst.NODE, "options"), Output(ids.Fcst.NODE, "value"),
          Input(ids.Fcst.NODE, "search_value"), Input(ids.Fcst.QUERY, "data"),
          State(ids.Fcst.NODE, "value"), State(ids.Shell.SESSION, "data"))
def fill_fcst_node_options(search, query, value, session):
    """Offer up to 50 nodes matching the typed text (upper levels first), always including the shown one."""
    node = resolve_node(value, query, session)
    try:
        df = memo(store.search_nodes, search or "", 50)
    except Exception:  # noqa: BLE001 - no nodes yet: only the current value is offered
        df = pd.DataFrame(columns=["node_id", "label", "level"])
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
    try:
        models = memo(store.forecast_models, node)
    except Exception:  # noqa: BLE001
        models = []
    models = models or ["final"]
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
def render_fcst_chart(node, model):
    """Redraw the history and forecast fan when the node or the model changes."""
    if not node or not model:
        raise PreventUpdate
    try:
        hist, fc = memo(store.history_and_forecast, node, 548, model)  # 18 months of context
    except Exception as exc:  # noqa: BLE001
        return figures.empty_figure("Cannot show this series"), components.error_alert(short_error(exc))
    if hist.empty and fc.empty:
        return figures.empty_figure("No data for this series"), ""
    info = components.EMPTY_FORECASTS if fc.empty else \
        f"Forecast of {len(fc)} periods, {fc['ds'].min():%d %b %Y} – {fc['ds'].max():%d %b %Y} (model: {model})."
    return figures.fan_chart(hist, fc, model=model), info


def models_table(df: pd.DataFrame) -> html.Div | dbc.Table:
    """The model comparison as a Bootstrap table with the chosen model's row highlighted."""
    if df.empty:
        return components.empty_state("No backtest for this series yet: run `python cli.py refresh`.")
    head = html.Thead(html.Tr([html.Th("Model"), html.Th("Folds")] + [html.Th(v) for v in METRIC_LABELS.values()]))
    rows = []
    for r in df.to_dict("records"):
        cells = [html.Td([html.Span("●", style={"color": figures.model_color(r["model"])}), f" {r['model']}"]
                         + ([" ", dbc.Badge("chosen", color="primary")] if r["chosen"] else [])),
                 html.Td(int(r["folds"]))]
        for m in METRIC_LABELS:
            v = r.get(m)
            cells.append(html.Td("–" if v is None or pd.isna(v) else
                                 f"{v * 100:.1f}%" if m in PERCENT else f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"))
        rows.append(html.Tr(cells, className="chosen" if r["chosen"] else None))
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0")


@callback(Output(ids.Fcst.MODELS_TABLE, "children"), Input(ids.Fcst.NODE, "value"))
def render_fcst_models_table(node):
    """Rebuild the backtest comparison table when the node changes."""
    if not node:
        raise PreventUpdate
    try:
        return models_table(memo(store.model_comparison, node))
    except Exception as exc:  # noqa: BLE001
        return components.error_alert(short_error(exc))


@callback(Output(ids.Fcst.PAST, "figure"), Input(ids.Fcst.NODE, "value"))
def render_fcst_past(node):
    """Redraw earlier runs' forecasts against the actuals when the node changes."""
    if not node:
        raise PreventUpdate
    try:
        actuals, past = memo(store.past_forecasts, node, 5)
    except Exception as exc:  # noqa: BLE001
        return figures.empty_figure(f"Cannot read earlier runs: {short_error(exc)}")
    return figures.past_runs_chart(actuals, past)


def ljung_box_text(diag: pd.DataFrame):
    """A sentence reading the Ljung-Box p-value, bias and residual spread of the chosen model."""
    if diag.empty or diag["ljung_box_p"].isna().all():
        return components.empty_state("No diagnostics for this series yet: run `python cli.py refresh`.")
    r = diag.iloc[0]
    p = float(r["ljung_box_p"])
    verdict = ("the residuals are autocorrelated (p < 0.05): the model leaves structure unexplained and its "
               "intervals may be too narrow" if p < 0.05 else
               "no evidence of leftover autocorrelation (p ≥ 0.05): the residuals look like noise")
    return html.Div([
        html.Div([html.Span("p = ", className="text-muted"), html.Span(f"{p:.3f}", className="kpi-value")]),
        html.P(f"Model {r['model']}: {verdict}.", className="small mb-1"),
        html.P(f"Mean residual (bias) {r['bias']:,.2f}; residual standard deviation {r['resid_std']:,.2f}.",
               className="small text-muted mb-0") if pd.notna(r["bias"]) and pd.notna(r["resid_std"]) else None,
    ])


@callback(Output(ids.Fcst.ACF, "figure"), Output(ids.Fcst.RESID_HIST, "figure"), Output(ids.Fcst.LJUNG, "children"),
          Input(ids.Fcst.NODE, "value"))
def render_fcst_diagnostics(node):
    """Redraw the residual ACF, the residual histogram and the Ljung-Box verdict when the node changes."""
    if not node:
        raise PreventUpdate
    try:
        diag = memo(store.diagnostics, node)
    except Exception as exc:  # noqa: BLE001
        msg = short_error(exc)
        return figures.empty_figure(msg), figures.empty_figure(msg), components.error_alert(msg)
    if diag.empty:
        return (figures.acf_bars([], 0), figures.residual_histogram([]), ljung_box_text(diag))
    r = diag.iloc[0]
    return (figures.acf_bars(r["acf"], len(r["residuals"])), figures.residual_histogram(r["residuals"]),
            ljung_box_text(diag))


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
    return dcc.send_data_frame(df.assign(model=model).to_csv, name, index=False)
