"""The monitoring state that ``cli.py monitor`` prints and the Monitoring page shows: the published run's live
accuracy per level against its backtest expectation, the last drift check, and the open alerts."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from data import monitor_alerts as log_
from data import monitoring as live
from data import store
from monitoring import drift as drift_mod


def backtest_expectation(run_id: str | None, url: str | None = None) -> pd.DataFrame:
    """Per level the backtest's WAPE of the chosen models, aggregated like the live WAPE (sum |e| / sum |y| over
    the level's series) per fold: ``level, wape_expected`` (mean over folds), ``wape_lo``, ``wape_hi`` (the
    folds' range, the reference band) and ``coverage_80_expected``, ``coverage_95_expected``."""
    cols = ["level", "wape_expected", "wape_lo", "wape_hi", "coverage_80_expected", "coverage_95_expected"]
    if run_id is None:
        return pd.DataFrame(columns=cols)
    # per level and fold, summed when the run was published (data/run_accuracy.py): reading every backtest row of
    # the run here cost a Monitoring request hundreds of milliseconds at tens of thousands of series
    per_fold = store.chosen_folds(run_id, url=url).rename(columns={"coverage_80": "c80", "coverage_95": "c95"})
    if per_fold.empty:
        return pd.DataFrame(columns=cols)
    per_fold["wape"] = per_fold["mae"] / per_fold["sum_y"]
    g = per_fold.groupby("level")
    out = pd.DataFrame({"wape_expected": g["wape"].mean(), "wape_lo": g["wape"].min(), "wape_hi": g["wape"].max(),
                        "coverage_80_expected": g["c80"].mean(), "coverage_95_expected": g["c95"].mean()})
    return out.reset_index()[cols]


def live_vs_expected(url: str | None = None) -> tuple[dict | None, pd.DataFrame]:
    """``(published run, per-level table)``: live accuracy of its final forecasts beside the backtest's."""
    run = store.current_run(url)
    if run is None:
        return None, pd.DataFrame()
    acc = live.read_live_accuracy(by=("level",), run_id=run["run_id"], model="final", url=url)
    exp = backtest_expectation(run["run_id"], url)
    table = exp.merge(acc, on="level", how="outer") if len(exp) or len(acc) else pd.DataFrame()
    if len(table):
        table["n"] = table["n"].fillna(0).astype(int)
        table["status"] = np.where(table["n"] == 0, "no actuals yet",
                                   np.where(table["wape"] > table["wape_hi"], "worse than backtest", "as expected"))
    return run, table


def worst_series(url: str | None = None, run_id: str | None = None, top: int = 10) -> pd.DataFrame:
    """The bottom series whose published forecasts fared worst on the actuals so far (by absolute error)."""
    rid = run_id or (store.current_run(url) or {}).get("run_id")
    if rid is None:
        return pd.DataFrame(columns=["series_id", "n", "wape", "mase", "bias", "abs_error"])
    pts = live.read_live_points(run_id=rid, model="final", url=url)
    pts = pts[pts["level"] == store.BOTTOM_LEVEL]
    if pts.empty:
        return pd.DataFrame(columns=["series_id", "n", "wape", "mase", "bias", "abs_error"])
    acc = live.accuracy(pts, by=("series_id",))
    abs_err = (pts["yhat"] - pts["y"]).abs().groupby(pts["series_id"]).sum().rename("abs_error")
    acc = acc.merge(abs_err.reset_index(), on="series_id")
    return acc.sort_values("abs_error", ascending=False).head(top)[["series_id", "n", "wape", "mase", "bias",
                                                                     "abs_error"]].reset_index(drop=True)


def status(url: str | None = None) -> dict:
    """Everything ``cli.py monitor --json`` prints (JSON-safe)."""
    run, table = live_vs_expected(url)
    drift_rows = drift_mod.last_check(url)
    open_alerts = log_.alerts(limit=50, open_only=True, url=url)
    return {
        "published_run": None if run is None else {
            "run_id": run["run_id"], "finished_at": str(run.get("finished_at")),
            "forecast_start": _date(live.forecast_start(run["run_id"], url))},
        "live_accuracy": _records(table),
        "scored_runs": _records(live.scored_runs(url)),
        "drift": {"checked": bool(len(drift_rows)), "drift": bool(drift_rows["drift"].astype(bool).any())
                  if len(drift_rows) else False,
                  "flagged": _records(drift_rows[drift_rows["drift"].astype(bool)]) if len(drift_rows) else []},
        "alerts": _records(open_alerts[["id", "fired_at", "rule", "kind", "severity", "subject", "message",
                                        "refresh_run_id"]]) if len(open_alerts) else [],
    }


def _date(value) -> str | None:
    return None if value is None else str(pd.Timestamp(value).date())


def _records(df: pd.DataFrame) -> list[dict]:
    if df is None or df.empty:
        return []
    return json.loads(df.to_json(orient="records", date_format="iso"))


def format_status(state: dict) -> str:
    """The human-readable ``cli.py monitor``."""
    lines = []
    run = state["published_run"]
    lines.append("Published run: " + (f"{run['run_id']} (forecasts from {run['forecast_start']})" if run
                                      else "none yet (python cli.py refresh)"))
    if state["live_accuracy"]:
        lines.append("Live accuracy of the published forecasts vs the backtest (WAPE; band = folds' range):")
        for r in state["live_accuracy"]:
            live_w = "-" if r.get("wape") is None else f"{r['wape']:.3f}"
            band = "-" if r.get("wape_expected") is None else \
                f"{r['wape_expected']:.3f} [{r['wape_lo']:.3f}, {r['wape_hi']:.3f}]"
            cov = "-" if r.get("coverage_80") is None else f"{r['coverage_80']:.0%}/{r['coverage_95']:.0%}"
            lines.append(f"  {r['level']:<15} live {live_w:>7} on {r['n']:>5} points | backtest {band:<24} | "
                         f"coverage 80/95 {cov:<9} | {r.get('status', '')}")
    d = state["drift"]
    lines.append("Drift: " + ("not checked yet (python cli.py monitor --check)" if not d["checked"] else
                              "none" if not d["drift"] else
                              ", ".join(f"{r['level']} {r['test']}" for r in d["flagged"][:8])))
    lines.append(f"Open alerts: {len(state['alerts'])}")
    for a in state["alerts"][:10]:
        link = f" -> refresh {a['refresh_run_id']}" if a.get("refresh_run_id") else ""
        lines.append(f"  #{a['id']} [{a['severity']}] {a['rule']}: {a['message']}{link}")
    return "\n".join(lines)


def page_view(level: str, metric: str, url: str | None = None) -> dict:
    """The Monitoring page's reads for one level: per-date and per-step accuracy, the backtest band, the
    per-level summary, the worst series and the last drift check."""
    run, table = live_vs_expected(url)
    rid = None if run is None else run["run_id"]
    per_day = live.read_live_accuracy(by=("ds",), run_id=rid, model="final", level=level, url=url) \
        if rid else pd.DataFrame()
    by_step = live.read_live_accuracy(by=("step",), model="final", level=level, url=url)
    band = table[table["level"] == level].iloc[0].to_dict() if len(table) and (table["level"] == level).any() \
        else None
    return {"run": run, "summary": table, "per_day": per_day, "by_step": by_step, "band": band,
            "worst": worst_series(url, rid), "drift": drift_mod.last_check(url)}
