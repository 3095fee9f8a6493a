"""Expanding-window rolling-origin backtests: the model only ever sees data up to each cutoff, and never future y.

Folds are numbered 1..K. With ``step`` (default ``h``) periods between origins, fold k's cutoff is
``last_date - ((K - k) * step + h)`` periods, so the last fold's test window ends on the last date.
Each fold fits a fresh model on rows with ``ds <= cutoff`` and forecasts the ``h`` periods after it.

Oracle exogenous assumption: in the horizon, the model receives the *observed* promo calendar, holiday
flags and weather (``X_future``), as if they were known in advance (promotions are planned, holidays are
fixed, weather forecasts are treated as exact). It never receives ``y``: ``X_future`` is built without
the column and :meth:`BaseForecaster.predict` refuses one that has it.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from domain import EXOG_COLS, FORECAST_COLS, OPTIONAL_EXOG, freq_step
from models.metrics import METRIC_KEYS, mase_scales, metrics_by_series
from models.registry import accepts, make_model


def fold_cutoffs(last_date, freq: str, h: int, folds: int = 3, step: int | None = None) -> list[pd.Timestamp]:
    """The K forecast origins, oldest first: fold k (1..K) at ``last_date - ((K - k) * step + h)`` periods."""
    if folds < 1 or h < 1:
        raise ValueError(f"folds and h must be >= 1 (got folds={folds}, h={h})")
    step = int(step or h)
    delta = freq_step(freq)
    last = pd.Timestamp(last_date)
    return [last - delta * ((folds - k) * step + h) for k in range(1, folds + 1)]


def _empty_metrics() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object" if c in ("series_id", "model") else "float")
                         for c in ["series_id", "model", "fold", *METRIC_KEYS]})


def _empty_fcst() -> pd.DataFrame:
    cols = FORECAST_COLS + ["cutoff", "y", "model", "fold"]
    return pd.DataFrame({c: pd.Series(dtype="float") for c in cols})


def fold_metrics(fc: pd.DataFrame, train: pd.DataFrame, model_name: str, fold: int, season_length: int) -> pd.DataFrame:
    """``series_id, model, fold`` + every metric for one fold's forecasts ``fc`` (with ``y``); ``train`` holds the
    rows before the fold, for MASE's scale."""
    per_series = metrics_by_series(fc, mase_scales(train, season_length))
    per_series.insert(1, "model", model_name)
    per_series.insert(2, "fold", fold)
    return per_series


def rolling_origin(df: pd.DataFrame, model_name: str, freq: str, h: int, folds: int = 3, step: int | None = None,
                   model_params: dict | None = None, only_folds=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest one model over every series of ``df`` with an expanding window.

    Parameters
    ----------
    df : DataFrame
        Long frame ``series_id, ds, y`` (+ ``promo, is_holiday, temp_c[, precip_mm]``), regular spacing.
    model_name : str
        A registry name; global models are fitted once per fold over all series, local models per series.
    freq : {'D', 'W'}
    h : int
        Horizon of each fold.
    folds : int, default 3
    step : int, optional
        Periods between consecutive cutoffs (default ``h``: non-overlapping test windows).
    model_params : dict, optional
        Hyperparameter overrides for :func:`models.registry.make_model` (``horizon`` is set to ``h`` for the
        models that take it).
    only_folds : iterable of int, optional
        Run only these folds (numbered as in the full backtest), so that the folds of one expensive global
        model can run in parallel as separate tasks.

    Returns
    -------
    metrics_df : DataFrame
        ``series_id, model, fold`` + :data:`models.metrics.METRIC_KEYS`, one row per series and fold.
        A series enters a fold only if it is observed on the cutoff and on all ``h`` following dates.
    fcst_df : DataFrame
        Out-of-sample forecasts with ``cutoff``, the actual ``y``, ``model`` and ``fold``.

    Raises
    ------
    ValueError
        On a malformed frame, or when a model returns forecasts dated on or before the cutoff.
    """
    missing = [c for c in ("series_id", "ds", "y") if c not in df.columns]
    if missing:
        raise ValueError(f"rolling_origin: the frame lacks column(s) {missing}")
    data = df.copy()
    data["series_id"] = data["series_id"].astype(str)
    data["ds"] = pd.to_datetime(data["ds"])
    data = data.sort_values(["series_id", "ds"], kind="mergesort").reset_index(drop=True)
    if data.empty:
        return _empty_metrics(), _empty_fcst()
    delta = freq_step(freq)
    exog = [c for c in (*EXOG_COLS, *OPTIONAL_EXOG) if c in data.columns]
    params = dict(model_params or {})
    if accepts(model_name, "horizon"):  # a horizon-aware model is fitted for exactly the fold's horizon
        params["horizon"] = h
    metric_rows, fcst_parts = [], []
    wanted = None if only_folds is None else set(only_folds)
    for fold, cutoff in enumerate(fold_cutoffs(data["ds"].max(), freq, h, folds, step), start=1):
        if wanted is not None and fold not in wanted:
            continue
        end = cutoff + delta * h
        window = data[(data["ds"] > cutoff) & (data["ds"] <= end)]
        n_test = window.groupby("series_id").size()
        at_cutoff = set(data.loc[data["ds"] == cutoff, "series_id"])
        active = [s for s in n_test.index[n_test == h] if s in at_cutoff]
        if not active:
            continue
        # The model gets copies: rows up to the cutoff, and the horizon's exogenous values without y.
        train = data[(data["ds"] <= cutoff) & data["series_id"].isin(active)].copy()
        test = window[window["series_id"].isin(active)]
        model = make_model(model_name, freq, **params)
        X_future = test[["series_id", "ds", *exog]].copy() if model.uses_exog else None
        if train["ds"].max() > cutoff or (X_future is not None and "y" in X_future.columns):
            raise ValueError("rolling_origin: internal leakage guard tripped")  # pragma: no cover
        fc = model.fit(train).predict(h, X_future)
        if (fc["ds"] <= cutoff).any():
            raise ValueError(f"{model_name} returned forecasts dated on or before the cutoff {cutoff.date()}: "
                             "a backtest forecast must be out of sample")
        fc = fc.merge(test[["series_id", "ds", "y"]], on=["series_id", "ds"], how="inner")
        fc["cutoff"], fc["model"], fc["fold"] = cutoff, model_name, fold
        fcst_parts.append(fc)
        metric_rows.append(fold_metrics(fc, train, model_name, fold, model.m))
    if not metric_rows:
        return _empty_metrics(), _empty_fcst()
    metrics = pd.concat(metric_rows, ignore_index=True)[["series_id", "model", "fold", *METRIC_KEYS]]
    return metrics, pd.concat(fcst_parts, ignore_index=True)


def backtest_series(series_df: pd.DataFrame, model_names, freq: str, h: int, folds: int = 3,
                    params: dict | None = None, step: int | None = None) -> pd.DataFrame:
    """Backtest several local models on ONE series: a pure function (no database, no globals).

    Parameters
    ----------
    series_df : DataFrame
        One series in long format (``series_id, ds, y`` + exogenous columns).
    model_names : iterable of str
        Registry names of local models.
    freq : {'D', 'W'}
    h, folds : int
        Horizon and number of folds.
    params : dict, optional
        ``{model_name: {hyperparameter: value}}``.
    step : int, optional
        Periods between cutoffs (default ``h``).

    Returns
    -------
    DataFrame
        Concatenated ``metrics_df`` of :func:`rolling_origin`; a model that raises is skipped with a
        warning (selection then falls back), and a series too short for any fold gives no rows.
    """
    if series_df["series_id"].nunique() > 1:
        raise ValueError("backtest_series takes one series; map it over series (or call rolling_origin)")
    params = params or {}
    parts = []
    for name in model_names:
        try:
            metrics, _ = rolling_origin(series_df, name, freq, h, folds, step, params.get(name))
        except (ValueError, np.linalg.LinAlgError) as exc:
            warnings.warn(f"backtest of {name} on {series_df['series_id'].iloc[0]} failed: {exc}", stacklevel=2)
            continue
        parts.append(metrics)
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else _empty_metrics()
