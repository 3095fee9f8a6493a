"""Per-series model selection by mean backtest score (with a fallback), and the optional best-two ensemble."""
from __future__ import annotations

import numpy as np
import pandas as pd

from domain import FORECAST_COLS
from models.metrics import LOWER_IS_BETTER

INTERVAL_COLS = FORECAST_COLS[2:]  # the point forecast and its bounds, averaged by an ensemble


def _scores(metrics_df: pd.DataFrame, metric: str) -> pd.DataFrame:
    if metric not in LOWER_IS_BETTER and metric != "bias":
        raise ValueError(f"cannot select on {metric!r}; choose one of {list(LOWER_IS_BETTER) + ['bias']}")
    missing = [c for c in ("series_id", "model", metric) if c not in metrics_df.columns]
    if missing:
        raise ValueError(f"the metrics frame lacks column(s) {missing}")
    values = metrics_df[metric].astype(float)
    if metric == "bias":
        values = values.abs()  # smallest absolute bias is best
    frame = metrics_df[["series_id", "model"]].assign(score=values.replace([np.inf, -np.inf], np.nan))
    # A model with any NaN fold is not comparable on that series: its mean is NaN and it is skipped.
    return frame.groupby(["series_id", "model"], sort=True)["score"].agg(
        lambda s: s.mean() if s.notna().all() else np.nan).reset_index()


def select_best(metrics_df: pd.DataFrame, metric: str = "wape", fallback: str = "seasonal_naive") -> pd.DataFrame:
    """The best model per series by mean score over folds (lower is better).

    Parameters
    ----------
    metrics_df : DataFrame
        Backtest metrics ``series_id, model, fold, <metric>...`` (see :func:`models.backtest.rolling_origin`).
    metric : str, default 'wape'
        A lower-is-better metric (``bias`` is compared in absolute value).
    fallback : str, default 'seasonal_naive'
        Chosen when every model's score is NaN, and on a tie that includes it.

    Returns
    -------
    DataFrame
        ``series_id, model, metric, score`` (score NaN when the fallback was forced). Ties without the
        fallback go to the alphabetically first model, so the choice is deterministic.
    """
    scores = _scores(metrics_df, metric)
    rows = []
    for sid, g in scores.groupby("series_id", sort=True):
        valid = g.dropna(subset=["score"])
        if valid.empty:
            rows.append({"series_id": sid, "model": fallback, "metric": metric, "score": np.nan})
            continue
        best = valid["score"].min()
        tied = valid.loc[np.isclose(valid["score"], best, rtol=1e-12, atol=0), "model"].tolist()
        model = fallback if fallback in tied else sorted(tied)[0]
        rows.append({"series_id": sid, "model": model, "metric": metric, "score": float(best)})
    return pd.DataFrame(rows, columns=["series_id", "model", "metric", "score"])


def ensemble_best_two(metrics_df: pd.DataFrame, metric: str = "wape") -> pd.DataFrame:
    """The two best models per series (by mean score), for an equal-weight ensemble.

    Returns
    -------
    DataFrame
        ``series_id, model_1, model_2, score_1, score_2``; series with fewer than two scored models
        are left out (they keep their single best model).
    """
    scores = _scores(metrics_df, metric).dropna(subset=["score"])
    scores = scores.sort_values(["series_id", "score", "model"], kind="mergesort")
    rows = []
    for sid, g in scores.groupby("series_id", sort=True):
        if len(g) < 2:
            continue
        a, b = g.iloc[0], g.iloc[1]
        rows.append({"series_id": sid, "model_1": a["model"], "model_2": b["model"],
                     "score_1": float(a["score"]), "score_2": float(b["score"])})
    return pd.DataFrame(rows, columns=["series_id", "model_1", "model_2", "score_1", "score_2"])


def combine_forecasts(fcst_df: pd.DataFrame, pairs: pd.DataFrame, name: str = "ensemble") -> pd.DataFrame:
    """Equal-weight average of the two models in ``pairs`` per series (points and interval bounds).

    Averaging the bounds is an approximation (exact for perfectly correlated errors, conservative
    otherwise). ``fcst_df`` has a ``model`` column and the forecast columns.
    """
    merged = fcst_df.merge(pairs[["series_id", "model_1", "model_2"]], on="series_id")
    keep = merged[(merged["model"] == merged["model_1"]) | (merged["model"] == merged["model_2"])]
    out = keep.groupby(["series_id", "ds"], as_index=False)[INTERVAL_COLS].mean()
    counts = keep.groupby(["series_id", "ds"]).size().to_numpy()
    out = out[counts == 2].reset_index(drop=True)
    out["model"] = name
    return out


SPARSE_MODELS = ("croston_sba", "tsb")  # the intermittent-demand candidates (models.intermittent)
SPARSE_METRIC = "rmsse"  # scale-free and defined on zeros, unlike MAPE; squared, so it rewards the mean, not 0


def select_sparse(metrics_df: pd.DataFrame, sparse_ids, have: pd.DataFrame, fallback: str = "seasonal_naive",
                  metric: str = SPARSE_METRIC) -> pd.DataFrame:
    """The best model of each sparse (intermittent or lumpy) series by mean backtest ``metric`` over folds, among
    every model scored on it (the regular candidates, their combination and the intermittent models).

    Parameters
    ----------
    metrics_df : DataFrame
        Backtest metrics ``series_id, model, fold, <metric>`` of every candidate.
    sparse_ids : iterable of str
        The series to choose for.
    have : DataFrame
        ``series_id, model`` pairs that have a final forecast: only those can be chosen.
    fallback, metric
        As :func:`select_best` (a series whose every score is NaN, e.g. no demand in its training folds, gets
        the fallback).

    Returns
    -------
    DataFrame
        ``series_id, model, metric, score`` for the sparse series that have a forecast.
    """
    ids = set(sparse_ids)
    ok = have[have["series_id"].isin(ids)][["series_id", "model"]].drop_duplicates()
    scored = metrics_df[metrics_df["series_id"].isin(ids)].merge(ok, on=["series_id", "model"])
    sel = select_best(scored, metric=metric, fallback=fallback) if len(scored) else \
        pd.DataFrame(columns=["series_id", "model", "metric", "score"])
    sel = sel.merge(ok, on=["series_id", "model"])  # a forced fallback without a forecast is dropped
    return sel.sort_values("series_id").reset_index(drop=True)
