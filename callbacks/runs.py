"""Runs page callbacks: refresh history, current run, live progress from the store, schedule, and starting a refresh."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from dash import Input, Output, State, callback, no_update
from dash.exceptions import PreventUpdate

import config
from callbacks._auth import audit, current_principal, refused_alert
from data import store
from jobs import lock
from layouts import components, figures, ids


def _fmt_time(value) -> str:
    return "–" if value is None or value != value else f"{value:%Y-%m-%d %H:%M:%S}"


def _fmt_metrics(summary) -> str:
    """One line from a run's metric summary (as ``jobs.runner`` writes it): the backtest WAPE of each
    candidate model (pooled over the bottom series), best first, and how many series chose each model."""
    if not isinstance(summary, dict) or not summary:
        return ""
    per_model = summary.get("metrics") if isinstance(summary.get("metrics"), dict) else {}
    scored = sorted(((m, v["wape"]) for m, v in per_model.items()
                     if isinstance(v, dict) and isinstance(v.get("wape"), (int, float))), key=lambda mv: mv[1])
    parts = []
    if scored:
        parts.append("backtest WAPE " + ", ".join(f"{m} {w:.1%}" for m, w in scored))
    selected = summary.get("selected")
    if isinstance(selected, dict) and selected:
        parts.append("chosen: " + ", ".join(f"{m} ({n})" for m, n in sorted(selected.items(), key=lambda kv: -kv[1])))
    return "; ".join(parts)


def history_rows(runs, status: str):
    """The history table's rows (newest first) for the runs frame, filtered by ``status`` ("all" keeps all)."""
    if status and status != "all":
        runs = runs[runs["status"] == status]
    return [{"Started (UTC)": _fmt_time(r["started_at"]), "Status": r["status"] + (" (current)" if r["is_current"]
                                                                                   else ""),
             "Duration (s)": "–" if r["duration_s"] != r["duration_s"] or r["duration_s"] is None
             else f"{r['duration_s']:.1f}",
             "Series": "–" if r["n_series"] != r["n_series"] or r["n_series"] is None else f"{int(r['n_series']):,}",
             "Metrics": _fmt_metrics(r["metrics"]), "Run": str(r["run_id"]),
             "Error": (r["error"] or "")[:200] if isinstance(r["error"], str) else ""}
            for r in runs.to_dict("records")]


def _current_card(runs):
    current = runs[runs["is_current"]] if len(runs) else runs
    if current.empty:
        return components.empty_state("No forecasts yet: run `python cli.py refresh` or press the button above.")
    r = current.iloc[0]
    params = r["params"] if isinstance(r["params"], dict) else {}
    items = [("Run", r["run_id"]), ("Finished (UTC)", _fmt_time(r["finished_at"])),
             ("Duration", f"{r['duration_s']:.1f} s" if r["duration_s"] == r["duration_s"] else "–"),
             ("Series", f"{int(r['n_series']):,}" if r["n_series"] == r["n_series"] else "–"),
             ("Models", params.get("models") or "all"), ("Horizon", params.get("horizon") or "default"),
             ("Accuracy", _fmt_metrics(r["metrics"]) or "–")]
    return components.facts(items)


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True), Input(ids.Runs.STATUS, "value"),
          prevent_initial_call=True)
def sync_runs_url(status):
    """Write the status filter into the URL so the view can be bookmarked."""
    return ids.to_search({"status": None if status == "all" else status})


@callback(Output(ids.Runs.HISTORY, "children"), Output(ids.Runs.DURATIONS, "figure"),
          Output(ids.Runs.CURRENT, "children"),
          Input(ids.Runs.STATUS, "value"), Input(ids.Runs.SIGNATURE, "data"))
def render_run_history(status, _signature):
    """Redraw the history table, duration chart and current-run card when the filter or the latest run changes."""
    lock.reap_dead_refresh()  # a run whose process died shows as failed (abandoned) now, not after the next refresh
    runs = store.runs(limit=200)
    if runs.empty:
        empty = components.empty_state("No refresh has run yet: run `python cli.py refresh` or press the button.")
        return empty, figures.run_durations(runs), _current_card(runs)
    rows = history_rows(runs, status or "all")
    table = components.frame_table(pd.DataFrame(rows)) if rows else \
        components.empty_state(f"No {status} runs.")
    return table, figures.run_durations(runs.sort_values("started_at")), _current_card(runs)


@callback(Output(ids.Runs.PROGRESS, "value"), Output(ids.Runs.PROGRESS, "label"),
          Output(ids.Runs.PROGRESS, "animated"), Output(ids.Runs.PROGRESS_MSG, "children"),
          Output(ids.Runs.SIGNATURE, "data"),
          Input(ids.Runs.POLL, "n_intervals"), State(ids.Runs.SIGNATURE, "data"))
def render_refresh_progress(_n, signature):
    """Every poll, show the latest run's progress (written by the runner) and signal when a run starts or ends."""
    lock.reap_dead_refresh()
    latest = store.runs(limit=1)
    if latest.empty:
        return 0, "", False, "Idle: no refresh has run yet.", no_update if signature == "" else ""
    r = latest.iloc[0]
    new_sig = f"{r['run_id']}|{r['status']}"
    sig_out = no_update if new_sig == signature else new_sig
    if r["status"] == "running":
        pct = round(100 * float(r["progress"] or 0.0))
        return pct, f"{pct}%", True, f"Refreshing (run {r['run_id']}): {r['progress_msg'] or ''}", sig_out
    finished = _fmt_time(r["finished_at"])
    msg = f"Idle. Last refresh {r['status']} at {finished} UTC"
    if isinstance(r["error"], str) and r["error"] and r["status"] != "success":
        msg += f": {r['error'][:200]}"
    return (100 if r["status"] == "success" else 0), "", False, msg, sig_out


AUDIT_ROWS = 20


@callback(Output(ids.Runs.AUDIT, "children"), Input(ids.Runs.AUDIT, "id"), Input(ids.Runs.SIGNATURE, "data"))
def render_audit_log(_, _signature):
    """On load and when a run starts or ends, show the newest audit entries (failed logins to admins only)."""
    from data import accounts
    log = accounts.audit_log(200)
    principal = current_principal()
    if principal is None or not principal.allows("admin"):
        log = log[log["action"] != "login.fail"]
    if log.empty:
        return components.empty_state("Nothing recorded yet.")
    log = log.head(AUDIT_ROWS).assign(at=lambda d: d["at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    return components.frame_table(log.rename(columns={"at": "When (UTC)", "actor": "Who", "action": "What",
                                                      "detail": "Detail"}))


def next_runs(cron: str, now: dt.datetime, n: int = 3, timezone=None) -> list[dt.datetime]:
    """The next ``n`` fire times of a crontab expression after ``now``.

    Uses APScheduler's ``CronTrigger.from_crontab`` exactly like ``cli.py schedule`` (``timezone=None`` means the
    machine's local time zone, as the scheduler uses), so the page shows when the scheduler will really run.
    """
    from apscheduler.triggers.cron import CronTrigger
    trigger = CronTrigger.from_crontab(cron, timezone=timezone)
    out, prev, current = [], None, now
    while len(out) < n:
        nxt = trigger.get_next_fire_time(prev, current)
        if nxt is None:
            break
        if nxt > now:  # a fire time equal to "now" is not upcoming
            out.append(nxt)
        prev, current = nxt, nxt + dt.timedelta(seconds=1)
    return out


@callback(Output(ids.Runs.SCHEDULE, "children"), Input(ids.Runs.SCHEDULE, "id"))
def render_schedule(_):
    """On page load, show the refresh schedule (``SALES_SCHEDULE``, default that of `cli.py schedule`) and next runs."""
    cron = config.load().schedule
    try:
        upcoming = next_runs(cron, dt.datetime.now(dt.timezone.utc))
    except ValueError as exc:
        return components.error_alert(f"SALES_SCHEDULE={cron!r} is not a crontab expression ({exc})")
    fields = cron.split()
    numeric_weekdays = len(fields) == 5 and any(ch.isdigit() for ch in fields[4])
    return components.schedule_view(cron, upcoming, numeric_weekdays)


@callback(Output(ids.Runs.START_RESULT, "children"), Input(ids.Runs.START, "n_clicks"),
          background=True, prevent_initial_call=True,
          running=[(Output(ids.Runs.START, "disabled"), True, False),
                   (Output(ids.Runs.POLL, "interval"), 1000, 2000)])
def start_refresh(n_clicks):
    """On click, run a full forecast refresh in a background process (the progress bar follows it)."""
    if not n_clicks:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    from jobs import runner
    audit("refresh.start", {"source": "dashboard"})
    try:
        summary = runner.refresh(progress=False, force=True)
    except ValueError as exc:
        return components.error_alert(str(exc), title="Refresh failed")
    status = summary.get("status")
    color = "success" if status == "success" else "warning" if status == "skipped" else "danger"
    text = f"Refresh {status}: run {summary.get('run_id', '?')}"
    if summary.get("duration_s") is not None:
        text += f" in {summary['duration_s']:.1f} s"
    if summary.get("error"):
        text += f" ({summary['error']})"
    return components.status_badge(text, color)
