"""--tune: time-series-aware random search over the hyperparameters of the boosted global models (``lgbm``,
``xgboost``), each trial scored by a rolling-origin backtest."""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from models.backtest import rolling_origin

SPACE = {
    "num_leaves": [15, 31, 63, 127],
    "learning_rate": [0.02, 0.05, 0.1],
    "n_estimators": [150, 300, 600],
    "min_child_samples": [10, 20, 50, 100],
    "feature_fraction": [0.6, 0.8, 1.0],
    "lambda_l2": [0.0, 1.0, 10.0],
    "objective": ["l2", "l1"],
}
XGB_SPACE = {  # the same ranges as SPACE in XGBoost's terms (depth for leaves, hessian weight for leaf rows)
    "max_depth": [4, 6, 8, 10],
    "learning_rate": [0.02, 0.05, 0.1],
    "n_estimators": [150, 300, 600],
    "min_child_weight": [1.0, 5.0, 20.0, 50.0],
    "colsample_bytree": [0.6, 0.8, 1.0],
    "reg_lambda": [0.0, 1.0, 10.0],
    "objective": ["reg:squarederror", "reg:absoluteerror"],
}
SPACES = {"lgbm": SPACE, "xgboost": XGB_SPACE}  # the models --tune searches, and their default spaces


def sample_params(rng: np.random.Generator, space: dict | None = None) -> dict:
    """One random draw from ``space`` (default :data:`SPACE`)."""
    space = space or SPACE
    return {k: (v[int(rng.integers(len(v)))] if isinstance(v, list) else v) for k, v in space.items()}


def tune_lgbm(df: pd.DataFrame, freq: str, h: int, n_trials: int = 10, folds: int = 2, metric: str = "wape",
              seed: int = 0, space: dict | None = None, base_params: dict | None = None,
              max_series: int | None = 500) -> tuple[dict, pd.DataFrame]:
    """:func:`tune_model` for ``lgbm``."""
    return tune_model(df, "lgbm", freq, h, n_trials=n_trials, folds=folds, metric=metric, seed=seed, space=space,
                      base_params=base_params, max_series=max_series)


def tune_model(df: pd.DataFrame, name: str, freq: str, h: int, n_trials: int = 10, folds: int = 2,
               metric: str = "wape", seed: int = 0, space: dict | None = None, base_params: dict | None = None,
               max_series: int | None = 500) -> tuple[dict, pd.DataFrame]:
    """Random search scored by an expanding-window rolling-origin backtest (never a shuffled split).

    Parameters
    ----------
    name : str
        A key of :data:`SPACES` (``lgbm``, ``xgboost``).
    df : DataFrame
        Long frame of the series to tune on (``series_id, ds, y`` + exogenous columns).
    freq : {'D', 'W'}
    h : int
        Horizon; each trial is backtested over ``folds`` folds of ``h`` periods ending at the last date.
    n_trials : int, default 10
        Random draws; trial 0 is always the registry defaults, so tuning never returns worse than them
        on the tuning folds.
    folds : int, default 2
    metric : str, default 'wape'
        Aggregated as total absolute error / total absolute actual over all series and folds (for
        'wape'), else the mean of the per-series metric.
    seed : int, default 0
    space : dict, optional
        ``{param: list of values}`` (default: the model's space in :data:`SPACES`).
    base_params : dict, optional
        Fixed overrides applied to every trial (e.g. ``num_threads``).
    max_series : int or None, default 500
        Tune on an evenly spaced subset of at most this many series to bound the cost.

    Returns
    -------
    best_params : dict
        The hyperparameters of the best trial.
    trials : DataFrame
        One row per trial: ``trial``, each parameter, ``params`` (JSON), ``score``, ``wall_s``; sorted by trial.
    """
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if name not in SPACES:
        raise ValueError(f"--tune searches the hyperparameters of {sorted(SPACES)}; {name!r} has no search space")
    space = space or SPACES[name]
    ids = sorted(df["series_id"].astype(str).unique())
    if max_series and len(ids) > max_series:
        ids = [ids[i] for i in np.linspace(0, len(ids) - 1, max_series).round().astype(int)]
        df = df[df["series_id"].astype(str).isin(ids)]
    rng = np.random.default_rng(seed)
    rows = []
    for trial in range(n_trials):
        params = {} if trial == 0 else sample_params(rng, space)
        full = {**(base_params or {}), **params}
        t0 = time.perf_counter()
        metrics, fc = rolling_origin(df, name, freq, h, folds=folds, model_params=full)
        if metric == "wape":
            score = float(np.abs(fc["yhat"] - fc["y"]).sum() / max(np.abs(fc["y"]).sum(), 1e-12))
        else:
            score = float(metrics[metric].mean())
        rows.append({"trial": trial, **params, "params": json.dumps(params, sort_keys=True), "score": score,
                     "wall_s": round(time.perf_counter() - t0, 3)})
    trials = pd.DataFrame(rows)
    best = trials.loc[trials["score"].idxmin()]
    return json.loads(best["params"]), trials
