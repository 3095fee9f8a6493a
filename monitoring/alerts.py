"""Evaluate the alert rules, log what fires, notify, and close the feedback loop (a refresh for accuracy or drift
alerts when the rules file asks for it).

An alert fires once per rule, subject and published run: while an unacknowledged alert of the same rule about the
same subject and run is in the log, the rule stays quiet (acknowledging it re-arms the rule).
"""
from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from data import monitor_alerts as log_
from data import monitoring as live
from data import store
from data.engine import utcnow
from monitoring import drift as drift_mod
from monitoring import notify as notify_mod
from monitoring import rules as rules_mod

logger = logging.getLogger(__name__)


def _per_period(url: str | None, run_id: str, level: str) -> pd.DataFrame:
    """The published run's final forecasts' live accuracy per date at ``level`` (oldest first)."""
    return live.read_live_accuracy(by=("ds",), run_id=run_id, model="final", level=level, url=url)


def _accuracy_like(rule: dict, url: str | None, run_id: str | None) -> dict | None:
    """An accuracy, coverage or bias rule judged on the last ``periods`` scored periods of the published run."""
    if run_id is None:
        return None
    level, n = rule.get("level", "total"), int(rule.get("periods", 1))
    per = _per_period(url, run_id, level)
    if len(per) < n:
        return None
    last = per.tail(n)
    th = float(rule["threshold"])
    if rule["kind"] == "accuracy":
        metric = rule.get("metric", "wape")
        if not (last[metric] > th).all():
            return None
        value = float(last[metric].mean())
        text = f"{metric.upper()} of the published forecasts at {level} above {th:g} for {n} periods " \
               f"(mean {value:.3f})"
    elif rule["kind"] == "coverage":
        col = f"coverage_{int(rule.get('interval', 80))}"
        value = float((last[col] * last["n"]).sum() / last["n"].sum())
        if not value < th:
            return None
        text = f"{int(rule.get('interval', 80))}% interval coverage at {level} {value:.0%} over the last {n} " \
               f"periods, below {th:.0%}"
    else:
        pts = live.read_live_points(run_id=run_id, model="final", level=level, url=url)
        pts = pts[pts["ds"].isin(last["ds"])]
        value = float((pts["yhat"] - pts["y"]).sum() / pts["y"].abs().sum()) if pts["y"].abs().sum() else 0.0
        if not abs(value) > th:
            return None
        text = f"bias of the published forecasts at {level} {value:+.1%} over the last {n} periods " \
               f"(bound ±{th:.0%})"
    return {"subject": level, "value": value, "threshold": th, "message": text}


def _drift(rule: dict, url: str | None, rules: dict, asof) -> dict | None:
    report = drift_mod.check(url, rules, asof=asof)
    if not report["drift"]:
        return None
    flagged = [f"{lv} {test}" for lv, tests in report["levels"].items() for test, r in tests.items() if r["drift"]]
    flagged += [f"{lv} forecast errors ({e['direction']})" for lv, e in report["errors"].items() if e["alarm_at"]]
    s = report["structural"]
    flagged += [f"{len(s[k])} {k} series" for k in ("new", "stopped") if s[k]]
    sales = [r["sales"] for r in report["levels"].values() if r["sales"]["drift"]]
    value = max((abs(r["shift"]) for r in sales), default=None)
    return {"subject": "data since " + str(report["cutoff"]), "value": value, "threshold": None,
            "message": "drift detected: " + ", ".join(flagged[:6]) + (" ..." if len(flagged) > 6 else "")}


def _refresh_failed(url: str | None) -> dict | None:
    runs = store.runs(limit=1, url=url)
    if runs.empty or runs.iloc[0]["status"] != "failed":
        return None
    r = runs.iloc[0]
    return {"subject": f"run {r['run_id']}", "value": None, "threshold": None,
            "message": f"refresh {r['run_id']} failed: {str(r.get('error') or '')[:200]}"}


def _stale(rule: dict, url: str | None, now: dt.datetime) -> dict | None:
    latest = store.latest_dataset(url)
    if latest is None:
        return None
    days = float(rule.get("days", 8))
    age = (now - pd.Timestamp(latest["imported_at"]).to_pydatetime()).total_seconds() / 86400
    if age <= days:
        return None
    return {"subject": "data", "value": age, "threshold": days,
            "message": f"no import for {age:.1f} days (last: {latest['name']}, limit {days:g} days)"}


def _judge(rule: dict, url, run_id, rules, asof, now) -> dict | None:
    kind = rule["kind"]
    if kind in ("accuracy", "coverage", "bias"):
        return _accuracy_like(rule, url, run_id)
    if kind == "drift":
        return _drift(rule, url, rules, asof)
    if kind == "refresh_failed":
        return _refresh_failed(url)
    return _stale(rule, url, now)


def evaluate(url: str | None = None, rules: dict | None = None, asof=None, notify: bool = True,
             feedback: bool = True, now: dt.datetime | None = None, start_refresh=None) -> dict:
    """Judge every rule, log the alerts that fire, notify them and (when configured) start a refresh.

    Returns ``{"fired": [alert dicts with id], "notified": {channel: result}, "refresh_run_id": id or None}``.
    ``start_refresh(tune) -> run_id`` starts the feedback loop's refresh (default: :func:`start_refresh`).
    """
    rules = rules if rules is not None else rules_mod.load()
    run = store.current_run(url)
    run_id = run["run_id"] if run else None
    now = now or utcnow()
    fired = []
    for rule in rules["rules"]:
        try:
            hit = _judge(rule, url, run_id, rules, asof, now)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not silence the others
            logger.warning("alert rule %s failed: %s", rule["name"], exc)
            continue
        if hit is None or log_.open_alert_exists(rule["name"], hit["subject"], run_id, url):
            continue
        alert = {**hit, "rule": rule["name"], "kind": rule["kind"], "severity": rule.get("severity", "warning"),
                 "run_id": run_id, "fired_at": now}
        alert["id"] = log_.record_alert(alert, url)
        fired.append(alert)
    out = {"fired": fired, "notified": {}, "refresh_run_id": None}
    loop = [a for a in fired if a["kind"] in set(rules["feedback"].get("refresh_on") or [])]
    if feedback and loop and not store.running_run_ids(url):
        fb = rules["feedback"]
        starter = start_refresh or (lambda tune: start_refresh_process(url, tune, fb.get("models")))
        new_run = starter(bool(fb.get("tune")))
        log_.link_refresh([a["id"] for a in loop], new_run, url)
        for a in loop:
            a["refresh_run_id"] = new_run
        out["refresh_run_id"] = new_run
    if notify and fired:
        out["notified"] = notify_mod.notify(rules.get("notify") or {}, fired)
        for a in fired:
            log_.set_notified(a["id"], out["notified"], url)
    return out


def start_refresh_process(url: str | None = None, tune: bool = False, models: str | None = None) -> str:
    """Start a refresh in a background child process (jobs/refresh_process.py, as the API does); its run id."""
    from jobs import refresh_process, runner
    run_id = runner.new_run_id()
    proc = refresh_process.start(run_id, url=url, force=True, tune=tune, models=models)
    refresh_process.wait_started(run_id, proc, timeout_s=30, url=url)
    return run_id
