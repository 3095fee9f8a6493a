"""Monitoring page callbacks: live accuracy charts and tables, the alert log with acknowledge, running the checks,
and editing the alert rules (ops actions check the role)."""
from __future__ import annotations

import json

import pandas as pd
from dash import Input, Output, State, callback
from dash.exceptions import PreventUpdate

from callbacks._auth import audit, current_principal, refused_alert
from callbacks._cache import memo
from callbacks._errors import guarded
from data import monitor_alerts
from layouts import components, ids
from layouts import monitor_figures as mfig
from layouts.figures import empty_figure
from monitoring import rules as rules_mod
from monitoring import status


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True), Input(ids.Mon.LEVEL, "value"),
          Input(ids.Mon.METRIC, "value"), prevent_initial_call=True)
def sync_monitoring_url(level, metric):
    """Write the level and metric into the URL so the view can be bookmarked."""
    return ids.to_search({"level": None if level == "total" else level, "metric": None if metric == "wape" else metric})


def _fallback(msg):
    empty = components.empty_state(f"Could not read the monitoring data: {msg}")
    fig = empty_figure(f"Could not read: {msg}")
    return empty, fig, fig, fig, empty, empty


def _round(df: pd.DataFrame) -> pd.DataFrame:
    return df.round({c: 3 for c in df.columns if df[c].dtype.kind == "f"})


@callback(Output(ids.Mon.SUMMARY, "children"), Output(ids.Mon.OVER_TIME, "figure"),
          Output(ids.Mon.BY_STEP, "figure"), Output(ids.Mon.COVERAGE, "figure"),
          Output(ids.Mon.WORST, "children"), Output(ids.Mon.DRIFT, "children"),
          Input(ids.Mon.LEVEL, "value"), Input(ids.Mon.METRIC, "value"), Input(ids.Mon.SIGNATURE, "data"))
@guarded(_fallback)
def render_monitoring(level, metric, _signature):
    """Redraw the accuracy charts, summary, worst series and drift table when the level or metric changes."""
    if not level or metric not in ("wape", "mase"):
        raise PreventUpdate
    view = memo(status.page_view, level, metric)
    run = view["run"]
    if run is None:
        summary = components.empty_state("No published run yet: run `python cli.py refresh`.")
    elif view["summary"].empty:
        summary = components.empty_state("No actuals after the published run yet.")
    else:
        cols = ["level", "n", "wape", "wape_expected", "wape_lo", "wape_hi", "mase", "bias_pct", "coverage_80",
                "coverage_95", "status"]
        table = view["summary"][[c for c in cols if c in view["summary"]]]
        summary = [components.facts([("Published run", run["run_id"])]), components.frame_table(_round(table))]
    worst = components.frame_table(_round(view["worst"])) if len(view["worst"]) else \
        components.empty_state("No bottom-level forecasts scored yet.")
    drift = view["drift"]
    drift_view = components.frame_table(_round(drift.drop(columns=["detail"]))) if len(drift) else \
        components.empty_state("No drift check yet: press \"Run the checks now\" or `python cli.py monitor --check`.")
    return (summary, mfig.accuracy_over_time(view["per_day"], metric, view["band"]),
            mfig.accuracy_by_step(view["by_step"], metric), mfig.coverage_over_time(view["per_day"]), worst,
            drift_view)


def _log_fallback(msg):
    return components.empty_state(f"Could not read the alert log: {msg}"), [], None


@callback(Output(ids.Mon.ALERTS, "children"), Output(ids.Mon.ACK_ID, "options"), Output(ids.Mon.ACK_ID, "value"),
          Input(ids.Mon.SIGNATURE, "data"))
@guarded(_log_fallback)
def render_alert_log(_signature):
    """On load and after an acknowledge or a check, show the alert log and the open alerts to acknowledge."""
    log = monitor_alerts.alerts(limit=100)
    if log.empty:
        return components.empty_state("No alert has fired."), [], None
    shown = log.assign(fired_at=log["fired_at"].dt.strftime("%Y-%m-%d %H:%M"),
                       acknowledged=log["acknowledged_by"].fillna("").where(log["acknowledged_at"].notna(), "open"))
    table = shown[["id", "fired_at", "severity", "rule", "message", "refresh_run_id", "acknowledged"]]
    open_ = log[log["acknowledged_at"].isna()]
    options = [{"label": f"#{r.id} {r.rule}: {r.message[:60]}", "value": str(r.id)} for r in open_.itertuples()]
    return (components.frame_table(table.rename(columns={"refresh_run_id": "refresh started"})), options,
            options[0]["value"] if options else None)


@callback(Output(ids.Mon.ACK_RESULT, "children"), Output(ids.Mon.SIGNATURE, "data"),
          Input(ids.Mon.ACK, "n_clicks"), State(ids.Mon.ACK_ID, "value"), State(ids.Mon.SIGNATURE, "data"),
          prevent_initial_call=True)
def acknowledge_alert(n_clicks, alert_id, signature):
    """On click, acknowledge the chosen open alert (analyst role) and redraw the log."""
    if not n_clicks:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied, signature
    if not alert_id:
        return components.status_badge("Choose an open alert first.", "warning"), signature
    principal = current_principal()
    who = principal.name if principal else "?"
    if not monitor_alerts.acknowledge_alert(int(alert_id), who):
        return components.status_badge(f"Alert #{alert_id} is not open.", "warning"), signature
    audit("alert.acknowledge", {"id": int(alert_id)})
    return components.status_badge(f"Alert #{alert_id} acknowledged by {who}.", "success"), (signature or 0) + 1


@callback(Output(ids.Mon.CHECK_RESULT, "children"), Output(ids.Mon.SIGNATURE, "data", allow_duplicate=True),
          Input(ids.Mon.CHECK, "n_clicks"), State(ids.Mon.SIGNATURE, "data"), background=True,
          prevent_initial_call=True, running=[(Output(ids.Mon.CHECK, "disabled"), True, False)])
def run_checks(n_clicks, signature):
    """On click, score new actuals, check drift and the alert rules (notify, feedback loop) in the background."""
    if not n_clicks:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied, signature
    from data import monitoring as live
    from monitoring import alerts
    audit("monitor.check", {"source": "dashboard"})
    scored = live.score_new_actuals()
    result = alerts.evaluate(rules=rules_mod.load())
    text = f"Scored {scored['points']} new points; {len(result['fired'])} alerts fired"
    if result["refresh_run_id"]:
        text += f"; refresh {result['refresh_run_id']} started"
    return components.status_badge(text, "warning" if result["fired"] else "success"), (signature or 0) + 1


@callback(Output(ids.Mon.RULES, "value"), Input(ids.Mon.RULES, "id"))
def load_rules(_):
    """On page load, show the rules file (the defaults when there is none)."""
    try:
        return json.dumps(rules_mod.load(), indent=2)
    except rules_mod.RulesError as exc:
        return f"// {exc}\n" + json.dumps(rules_mod.DEFAULT_RULES, indent=2)


@callback(Output(ids.Mon.RULES_RESULT, "children"), Input(ids.Mon.RULES_SAVE, "n_clicks"),
          State(ids.Mon.RULES, "value"), prevent_initial_call=True)
def save_rules(n_clicks, text):
    """On click, validate and save the edited rules file (admin role)."""
    if not n_clicks:
        raise PreventUpdate
    if (denied := refused_alert("admin")) is not None:
        return denied
    try:
        doc = json.loads(text or "")
    except ValueError as exc:
        return components.error_alert(f"not JSON: {exc}", title="Rules not saved")
    try:
        path = rules_mod.save(doc)
    except rules_mod.RulesError as exc:
        return components.error_alert(str(exc), title="Rules not saved")
    audit("alerts.rules", {"rules": len(doc.get("rules", []))})
    return components.status_badge(f"Saved to {path}.", "success")
