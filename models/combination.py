"""Forecast combinations: equal-weight averages of candidate models, one chosen per hierarchy level on pooled backtest error.

Why pooled and per level rather than per series: with three folds of a six-week horizon, a single series'
backtest score is mostly noise, and per-series picks among the same candidates forecast worse on a holdout
than the level's single best combination (the README has the Walmart numbers). Averaging models is the most
reliable gain in forecasting practice (the M competitions); which models to average is learned from the whole level.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from domain import interval_columns
from models.backtest import fold_metrics
from models.metrics import METRIC_KEYS, compute_metrics

SEP = "+"
BOUNDS = interval_columns()
POINT_METRICS = ("wape", "mae", "rmse", "smape", "mape", "rmspe", "bias", "pinball")  # poolable over series


def name_of(members) -> str:
    """The model name of a combination: its members sorted and joined by '+' (a single model keeps its name)."""
    return SEP.join(sorted(members))


def members_of(name: str) -> list[str]:
    """The member models of a combination name (inverse of :func:`name_of`)."""
    return name.split(SEP)


def candidate_sets(models, fallback: str | None) -> list[tuple[str, ...]]:
    """Every non-empty subset of the non-fallback models, plus the fallback alone (it is the baseline)."""
    pool = sorted(m for m in models if m != fallback)
    sets = [c for r in range(1, len(pool) + 1) for c in combinations(pool, r)]
    return sets + ([(fallback,)] if fallback in models else [])


def average(frame: pd.DataFrame, members, name: str | None = None, keys=("series_id", "ds")) -> pd.DataFrame:
    """Equal-weight average of ``members``' rows in ``frame`` (a ``model`` column), points and interval bounds.

    A (series, date) takes the average of the members present there. Averaging bounds is exact for perfectly
    correlated errors and conservative otherwise.
    """
    keys = list(keys)
    part = frame[frame["model"].isin(list(members))]
    cols = [c for c in ["yhat", *BOUNDS, "y"] if c in part.columns]
    out = part.groupby(keys, as_index=False, sort=True)[cols].mean()
    out["model"] = name or name_of(members)
    return out


def pooled_score(bt: pd.DataFrame, metric: str) -> float:
    """Mean over folds of the metric pooled over every (series, date) of the fold (WAPE = sum|e| / sum|y|)."""
    if metric not in POINT_METRICS and not metric.startswith("coverage_"):
        return np.nan  # scaled metrics (MASE...) are not defined on pooled series; the caller averages per series
    scores = []
    for _, g in bt.groupby("fold", sort=True):
        res = compute_metrics(g["y"], g["yhat"], g.get("yhat_lo_80"), g.get("yhat_hi_80"), g.get("yhat_lo_95"),
                              g.get("yhat_hi_95"))
        scores.append(res[metric])
    value = float(np.mean(scores)) if scores else np.nan
    if metric == "bias":
        return abs(value)
    if metric.startswith("coverage_"):
        return abs(value - int(metric.split("_")[1]) / 100)
    return value


def choose(bt: pd.DataFrame, models, fallback: str | None, metric: str = "wape") -> tuple[tuple[str, ...], pd.DataFrame]:
    """The best candidate set for one group of series by pooled backtest score, and every set's score.

    Parameters
    ----------
    bt : DataFrame
        Backtest forecasts ``series_id, ds, fold, model, y, yhat`` (+ bounds) of the group.
    models : list of str
        Candidate models.
    fallback : str or None
        The baseline, considered alone only.
    metric : str

    Returns
    -------
    (members, scores)
        ``scores`` has ``model, score, n`` (n = scored (series, date, fold) rows). Sets are compared on the
        (series, fold) pairs that every candidate model forecast, so no set is judged on easier series. Ties go
        to the smaller set, then the alphabetically first.
    """
    present = [m for m in models if m in set(bt["model"])]
    if not present:
        return ((fallback,) if fallback else tuple(models[:1])), pd.DataFrame(columns=["model", "score", "n"])
    per_model = bt.groupby(["series_id", "fold"])["model"].nunique()
    common = per_model[per_model == len(present)].index
    keyed = bt.set_index(["series_id", "fold"])
    shared = keyed.loc[keyed.index.isin(common)].reset_index()
    rows = []
    for members in candidate_sets(present, fallback if fallback in present else None):
        comb = average(shared, members, keys=("series_id", "fold", "ds"))
        rows.append({"model": name_of(members), "members": members, "score": pooled_score(comb, metric),
                     "n": len(comb)})
    scores = pd.DataFrame(rows)
    ok = scores[np.isfinite(scores["score"].astype(float))]
    if ok.empty:
        return (fallback,) if fallback in present else (present[0],), scores.drop(columns="members")
    ok = ok.assign(size=ok["members"].map(len)).sort_values(["score", "size", "model"], kind="mergesort")
    return tuple(ok.iloc[0]["members"]), scores.drop(columns="members")


def combination_metrics(bt: pd.DataFrame, members, history: pd.DataFrame, season_length: int) -> pd.DataFrame:
    """Per series and fold metrics of the combination (like :func:`models.backtest.rolling_origin`'s).

    ``history`` (``series_id, ds, y``) gives each fold's training values (before its first forecast date)
    for MASE's scale.
    """
    comb = average(bt, members, keys=("series_id", "fold", "ds"))
    parts = []
    for fold, g in comb.groupby("fold", sort=True):
        parts.append(fold_metrics(g, history[history["ds"] < g["ds"].min()], name_of(members), fold, season_length))
    cols = ["series_id", "model", "fold", *METRIC_KEYS]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
