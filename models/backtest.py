"""Expanding-window rolling-origin backtests: the model only ever sees data up to each cutoff, and never future y.

Folds are numbered 1..K. With ``step`` (default ``h``) periods between origins, fold k's cutoff is
``last_date - ((K - k) * step + h)`` periods, so the last fold's test window ends on the last date.
Each fold fits a fresh model on rows with ``ds <= cutoff`` and forecasts the ``h`` periods after it.

Exogenous inputs of a fold's horizon (``X_future``): with ``known_future`` (what the refresh passes by default,
``backtest_inputs="as_known"``) the values known at the origin (the plan, the calendar, climatology: see
:mod:`jobs.plan_inputs`), so a backtest scores what the published forecast will do; without it (``"oracle"``)
the *observed* promotions, closures, prices and weather of the fold, as if they had been known in advance. It
never receives ``y``: ``X_future`` is built without the column and :meth:`BaseForecaster.predict` refuses one
that has it.

Closed days: where the fold's inputs say closed (``is_open`` 0) the forecast is 0 (:func:`zero_closed`), and
days that were in fact closed (realised ``is_open`` 0) are left out of the fold's metrics and forecasts.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from domain import EXOG_COLS, FORECAST_COLS, OPTIONAL_EXOG, freq_step
from models.base import sort_by_series
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


def zero_closed(fc: pd.DataFrame, inputs: pd.DataFrame | None) -> pd.DataFrame:
    """``fc`` with the point forecast and every interval bound 0 where ``inputs`` (``series_id, ds, is_open``)
    says closed (``is_open`` 0: for an aggregate node, every series closed)."""
    if inputs is None or "is_open" not in inputs.columns or fc.empty:
        return fc
    closed = inputs.loc[inputs["is_open"].fillna(1) <= 0, ["series_id", "ds"]]
    if closed.empty:
        return fc
    hit = fc[["series_id", "ds"]].merge(closed.assign(_c=True), on=["series_id", "ds"], how="left")["_c"]
    mask = hit.fillna(False).to_numpy(dtype=bool)
    out = fc.copy()
    cols = [c for c in out.columns if c.startswith("yhat")]
    out.loc[mask, cols] = 0.0
    return out


def fold_metrics(fc: pd.DataFrame, train: pd.DataFrame, model_name: str, fold: int, season_length: int) -> pd.DataFrame:
    """``series_id, model, fold`` + every metric for one fold's forecasts ``fc`` (with ``y``); ``train`` holds the
    rows before the fold, for MASE's scale."""
    per_series = metrics_by_series(fc, mase_scales(train, season_length))
    per_series.insert(1, "model", model_name)
    per_series.insert(2, "fold", fold)
    return per_series


def rolling_origin(df: pd.DataFrame, model_name: str, freq: str, h: int, folds: int = 3, step: int | None = None,
                   model_params: dict | None = None, only_folds=None,
                   known_future: pd.DataFrame | None = None, on_fold=None) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    known_future : DataFrame, optional
        ``series_id, ds`` + exogenous columns of the folds' windows as known at the origin (as-known
        backtests); a (series, date) it lacks gets missing values (filled like any gap), never the realised
        ones. None: the realised values (oracle).
    on_fold : callable, optional
        Called as ``on_fold(fold, model, X_future, actuals)`` after each fold's forecast, with the fold's fitted
        model, its inputs and the open test rows (``series_id, ds, y``): e.g. to measure the last fold's
        permutation importance without a second fit.

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
    data = df.copy(deep=False)  # copy-on-write: ``df`` is never changed, and not copied whole
    data["series_id"] = data["series_id"].astype(str)
    data["ds"] = pd.to_datetime(data["ds"])
    data = sort_by_series(data)
    if data.empty:
        return _empty_metrics(), _empty_fcst()
    delta = freq_step(freq)
    exog = [c for c in (*EXOG_COLS, *OPTIONAL_EXOG) if c in data.columns]
    params = dict(model_params or {})
    if accepts(model_name, "horizon"):  # a horizon-aware model is fitted for exactly the fold's horizon
        params["horizon"] = h
    metric_rows, fcst_parts = [], []
    wanted = None if only_folds is None else set(only_folds)
    last = folds if wanted is None else max(wanted, default=0)
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
        # The model gets copies (copy-on-write): rows up to the cutoff, and the horizon's exogenous values
        # without y.
        train = data[(data["ds"] <= cutoff) & data["series_id"].isin(active)]
        test = window[window["series_id"].isin(active)]
        if fold == last:  # no later fold reads it: a sorted copy of a large frame is not held through the fit
            del data, window
        model = make_model(model_name, freq, **params)
        inputs = _fold_inputs(test, known_future, exog)
        X_future = inputs if model.uses_exog else None
        if train["ds"].max() > cutoff or (X_future is not None and "y" in X_future.columns):
            raise ValueError("rolling_origin: internal leakage guard tripped")  # pragma: no cover
        fc = zero_closed(model.fit(train).predict(h, X_future), inputs)
        if (fc["ds"] <= cutoff).any():
            raise ValueError(f"{model_name} returned forecasts dated on or before the cutoff {cutoff.date()}: "
                             "a backtest forecast must be out of sample")
        if on_fold is not None:
            on_fold(fold, model, inputs, _open_rows(test)[["series_id", "ds", "y"]])
        fc = fc.merge(_open_rows(test)[["series_id", "ds", "y"]], on=["series_id", "ds"], how="inner")
        if fc.empty:
            continue
        fc["cutoff"], fc["model"], fc["fold"] = cutoff, model_name, fold
        fcst_parts.append(fc)
        metric_rows.append(fold_metrics(fc, train, model_name, fold, model.m))
    if not metric_rows:
        return _empty_metrics(), _empty_fcst()
    metrics = pd.concat(metric_rows, ignore_index=True)[["series_id", "model", "fold", *METRIC_KEYS]]
    return metrics, pd.concat(fcst_parts, ignore_index=True)


def _fold_inputs(test: pd.DataFrame, known_future: pd.DataFrame | None, exog: list[str]) -> pd.DataFrame:
    """A fold's ``X_future``: the realised exogenous values of ``test`` (oracle), or the known ones."""
    if known_future is None:
        return test[["series_id", "ds", *exog]].copy()
    known = known_future[["series_id", "ds", *[c for c in exog if c in known_future.columns]]]
    out = test[["series_id", "ds"]].merge(known, on=["series_id", "ds"], how="left")
    for col in exog:
        if col not in out:
            out[col] = np.nan
    return out


def _open_rows(test: pd.DataFrame) -> pd.DataFrame:
    """The test rows that were open (all when the frame has no ``is_open``): closed days are not scored."""
    if "is_open" not in test.columns:
        return test
    return test[test["is_open"].fillna(1) > 0]


def backtest_series(series_df: pd.DataFrame, model_names, freq: str, h: int, folds: int = 3,
                    params: dict | None = None, step: int | None = None,
                    known_future: pd.DataFrame | None = None) -> pd.DataFrame:
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
    known_future : DataFrame, optional
        The folds' inputs as known at the origin (see :func:`rolling_origin`).

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
            metrics, _ = rolling_origin(series_df, name, freq, h, folds, step, params.get(name),
                                        known_future=known_future)
        except (ValueError, np.linalg.LinAlgError) as exc:
            warnings.warn(f"backtest of {name} on {series_df['series_id'].iloc[0]} failed: {exc}", stacklevel=2)
            continue
        parts.append(metrics)
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else _empty_metrics()
