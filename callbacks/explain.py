"""Forecast page: the "What drives this forecast" panel (dates of the horizon, importance and contributions)."""
from __future__ import annotations

from dash import Input, Output, callback
from dash.exceptions import PreventUpdate

from callbacks._cache import memo
from callbacks._errors import guarded
from jobs import explain_job
from layouts import explain_panel as panel
from layouts import figures, ids


def _explain(node: str, date: str | None) -> tuple[dict | None, str | None]:
    """``(result, None)``, or ``(None, why)`` when this run cannot explain the node (e.g. no tree model)."""
    try:
        return memo(explain_job.explain, node, date), None
    except (ValueError, FileNotFoundError) as exc:
        return None, str(exc).splitlines()[0]


@callback(Output(ids.Fcst.EXPLAIN_DATE, "options"), Output(ids.Fcst.EXPLAIN_DATE, "value"),
          Input(ids.Fcst.NODE, "value"))
@guarded(lambda msg: ([], None))
def fill_fcst_explain_dates(node):
    """List the node's forecast dates (the first selected) when the node changes."""
    if not node:
        raise PreventUpdate
    result, _ = _explain(node, None)
    dates = result["dates"] if result else []
    return [{"label": d, "value": d} for d in dates], (dates[0] if dates else None)


@callback(Output(ids.Fcst.EXPLAIN_OVERALL, "figure"), Output(ids.Fcst.EXPLAIN_NODE, "figure"),
          Output(ids.Fcst.EXPLAIN_INFO, "children"),
          Input(ids.Fcst.NODE, "value"), Input(ids.Fcst.EXPLAIN_DATE, "value"))
@guarded(lambda msg: (figures.empty_figure(msg), figures.empty_figure(msg), f"Cannot explain: {msg}"))
def render_fcst_explain(node, date):
    """Redraw the importance and the date's contributions when the node or the date changes."""
    if not node:
        raise PreventUpdate
    result, why = _explain(node, date)
    if result is None:
        return figures.empty_figure("Nothing to explain"), figures.empty_figure("Nothing to explain"), why
    info = (f"Model {result['model']} ({result['method']}); chosen for this node: {result['chosen_model'] or '—'}. "
            "Contributions explain that model's own forecast, before combination and reconciliation.")
    node_fig = (panel.contribution_bars(result["date_features"], result["date_base"], result["date_yhat"],
                                        result["date"]) if "date" in result
                else figures.empty_figure("Pick a forecast date"))
    return panel.importance_bars(result["overall"]), node_fig, info
