"""Drift checks on the store: data drift per level since the published run's training data ended, forecast-error
drift (CUSUM) on the published forecasts' live errors, and structural changes; the result is saved as the frame
``Frames.MONITOR_DRIFT`` (one row per level and test) for the page and ``cli.py monitor``."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analytics import drift as stats
from data import monitoring as live
from data import store
from domain import BOTTOM_LEVEL, LEVELS, Frames, freq_step
from monitoring import rules as rules_mod

COLUMNS = ["level", "test", "statistic", "p_value", "shift", "shift_lo", "shift_hi", "drift", "detail"]


def reference_cutoff(url: str | None = None, window_days: int = 14,
                     asof=None) -> tuple[pd.Timestamp | None, str | None]:
    """``(cutoff, run_id)``: the published run's training end, else the data's end (or ``asof``) less the recent
    window."""
    run = store.current_run(url)
    if run is not None:
        first = live.forecast_start(run["run_id"], url)
        if first is not None:
            return first - freq_step(store.frequency(url) or "D"), run["run_id"]
    end = store.date_bounds(url)[1]
    if end is None:
        return None, None
    end = min(pd.Timestamp(end), pd.Timestamp(asof)) if asof is not None else pd.Timestamp(end)
    return end - pd.Timedelta(days=window_days), None


def error_drift(url: str | None, run_id: str | None, thresholds: stats.DriftThresholds) -> dict:
    """Two-sided CUSUM per level on the daily mean of the published forecasts' MASE-scaled errors (yhat - y) /
    scale (in-control mean 0, unit scale assumed): ``{level: {"alarm_at", "direction", "upper", "lower", "n"}}``."""
    if run_id is None:
        return {}
    pts = live.read_live_points(run_id=run_id, model="final", url=url)
    if pts.empty:
        return {}
    pts = pts.assign(x=(pts["yhat"] - pts["y"]) / pts["scale"].where(pts["scale"] > 0))
    out = {}
    for level, g in pts.groupby("level"):
        daily = g.groupby("ds")["x"].mean().sort_index()
        res = stats.cusum(daily.to_numpy(), k=thresholds.cusum_k, h=thresholds.cusum_h)
        at = res["alarm_at"]
        out[level] = {**res, "alarm_at": None if at is None else str(daily.index[at].date()), "n": int(len(daily))}
    return out


def check(url: str | None = None, rules: dict | None = None, asof=None, save: bool = True) -> dict:
    """Run every drift test on the store as of ``asof`` (default: all data); returns the report (``drift`` True
    when any sales, zero-share, structural or forecast-error test flags) and saves its rows."""
    rules = rules if rules is not None else rules_mod.load()
    th, window, ref_days = rules_mod.drift_settings(rules)
    if (store.frequency(url) or "D") == "W":  # the window must hold min_points weekly values
        window = max(window, th.min_points * 7)
    cutoff, run_id = reference_cutoff(url, window, asof)
    if cutoff is None:
        return {"drift": False, "cutoff": None, "levels": {}, "structural": {"new": [], "stopped": []},
                "errors": {}, "run_id": None}
    freq = store.frequency(url) or "D"
    frames = {lv: store.level_frame(lv, start=cutoff - pd.Timedelta(days=ref_days + 400), url=url) for lv in LEVELS}
    report = stats.drift_report(stats.prepare_levels(frames, freq), cutoff, asof=asof, ref_days=ref_days,
                                window_days=window, thresholds=th)
    report["errors"] = error_drift(url, run_id, th)
    report["run_id"] = run_id
    report["drift"] = bool(report["drift"] or any(e["alarm_at"] for e in report["errors"].values()))
    if save:
        with store.session_scope(url=url) as session:
            store.save_frame(session, Frames.MONITOR_DRIFT, "all", report_rows(report))
    return report


def report_rows(report: dict) -> pd.DataFrame:
    """The report as one row per level and test (the saved frame)."""
    rows = []
    for level, tests in report.get("levels", {}).items():
        for test, r in tests.items():
            stat = r.get("psi", r.get("diff"))
            rows.append({"level": level, "test": test, "statistic": stat, "p_value": r.get("p_value"),
                         "shift": r.get("shift", r.get("diff")), "shift_lo": r.get("shift_lo", r.get("lo")),
                         "shift_hi": r.get("shift_hi", r.get("hi")), "drift": bool(r["drift"]), "detail": ""})
    for level, e in report.get("errors", {}).items():
        rows.append({"level": level, "test": "forecast_error_cusum", "statistic": max(e["upper"], -e["lower"]),
                     "p_value": np.nan, "shift": np.nan, "shift_lo": np.nan, "shift_hi": np.nan,
                     "drift": e["alarm_at"] is not None, "detail": json.dumps({"alarm_at": e["alarm_at"],
                                                                               "direction": e["direction"]})})
    s = report.get("structural", {})
    for kind in ("new", "stopped"):
        ids = s.get(kind, [])
        rows.append({"level": BOTTOM_LEVEL, "test": f"{kind}_series", "statistic": float(len(ids)),
                     "p_value": np.nan, "shift": np.nan, "shift_lo": np.nan, "shift_hi": np.nan,
                     "drift": bool(ids), "detail": json.dumps(ids[:20])})
    return pd.DataFrame(rows, columns=COLUMNS)


def last_check(url: str | None = None) -> pd.DataFrame:
    """The saved rows of the last drift check (empty before the first)."""
    df = store.load_frame(Frames.MONITOR_DRIFT, "all", url=url, dtype={"level": str, "test": str, "detail": str})
    return pd.DataFrame(columns=COLUMNS) if df is None else df
