"""What a refresh reports: backtest accuracy per model, and the short text ``cli.py refresh`` prints."""
from __future__ import annotations

import numpy as np
import pandas as pd

from models import combination

SUMMARY_METRICS = ("wape", "mase", "rmse", "smape", "coverage_80", "coverage_95")


def metric_summary(metrics: pd.DataFrame, backtests: pd.DataFrame | None = None, bottom_ids=(),
                    bottom_choice: str | None = None) -> dict:
    """Backtest accuracy per model: means over series and folds, except ``wape``.

    ``wape`` is pooled over the bottom series and folds (sum |error| / sum |actual|), the business number and
    the one selection uses: a mean of per-series WAPEs is dominated by tiny series (a 2-unit series missed
    by 4 scores 200%) and would favour whichever model suits the small series. Combinations chosen only
    above the bottom level have no pooled bottom WAPE (``None``); their level scores are in the summary's
    ``combinations``.
    """
    if metrics.empty:
        return {}
    cols = [c for c in SUMMARY_METRICS if c in metrics.columns]
    agg = metrics.groupby("model")[cols].mean()
    n = metrics.groupby("model")["series_id"].nunique()
    out = {m: {"n_series": int(n[m]), **{c: (None if pd.isna(v) else round(float(v), 4)) for c, v in row.items()}}
           for m, row in agg.iterrows()}
    if backtests is None or backtests.empty or "wape" not in cols:
        return out
    # Pooled block by block of bottom series (combination.pooled_scores): the bottom backtests are millions of rows.
    blocks = combination.SeriesBlocks(backtests, bottom_ids)
    have = combination.models_in(backtests, blocks.mask)
    sets = [(m,) for m in out if m in have]
    if bottom_choice and combination.SEP in bottom_choice:
        sets.append(tuple(combination.members_of(bottom_choice)))
    scores = combination.pooled_scores(backtests, sets, "wape", ids=blocks.ids) if sets else {}
    pooled = {combination.name_of(s): v for s, v in scores.items()}
    for m in out:
        value = pooled.get(m)
        out[m]["wape"] = None if value is None or not np.isfinite(value) else round(float(value), 4)
    return out


def format_summary(summary: dict) -> str:
    """A short human-readable report of a refresh summary."""
    status = summary.get("status")
    if status == "skipped":
        return f"Refresh skipped: {summary.get('reason')} (current run {summary.get('current_run')})."
    if status == "locked":
        return f"Refresh not started: {summary.get('error')}."
    if status == "failed":
        return f"Refresh FAILED (run {summary.get('run_id')}): {summary.get('error')}\nThe previous run stays current."
    lines = [f"Run {summary['run_id']}: {status} in {summary['duration_s']:.1f} s — {summary['n_series']} nodes "
             f"({summary['n_bottom']} bottom series), horizon {summary['horizon']} ({summary['freq']}), "
             f"{summary['forecast_start']} .. {summary['forecast_end']}, reconciliation {summary['reconcile']}",
             f"{'model':<16}{'series':>8}{'selected':>10}" + "".join(f"{c:>13}" for c in SUMMARY_METRICS)]
    for model, row in summary.get("metrics", {}).items():
        lines.append(f"{model:<16}{row['n_series']:>8}{summary['selected'].get(model, 0):>10}" + "".join(
            f"{'-' if row.get(c) is None else format(row[c], '.3f'):>13}" for c in SUMMARY_METRICS))
    t = summary.get("timings", {})
    lines.append("timings: " + ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in t.items()))
    if summary.get("errors", {}).get("count"):
        lines.append(f"{summary['errors']['count']} model fits failed and fell back, e.g. "
                     f"{summary['errors']['first'][0]}")
    return "\n".join(lines)
