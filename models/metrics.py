"""Forecast accuracy metrics (textbook definitions) and the Kaggle Walmart WMAE.

Conventions
-----------
- Errors are ``e = yhat - y``; ``bias`` is the mean of ``yhat - y`` (positive = over-forecast).
- ``mape``, ``smape``, ``wape`` and ``rmspe`` are **fractions** (0.12 means 12%), not percentages.
- ``mape``/``rmspe`` skip points whose actual is 0; how many were skipped is ``mape_excluded``.
- ``smape`` = mean of ``2|e| / (|y| + |yhat|)`` (range 0..2), with 0/0 counted as 0.
- ``mase`` = MAE / in-sample MAE of the seasonal naive (lag ``season_length``) on ``y_train``
  (Hyndman & Koehler 2006); NaN when ``y_train`` is missing, too short or constant.
- ``rmsse`` = RMSE / sqrt(in-sample mean squared error of the seasonal naive, lag ``season_length``, on
  ``y_train``) (Hyndman & Athanasopoulos, FPP3 5.8; the M5 competition's metric with lag 1); NaN like MASE.
- ``pinball`` = mean pinball (quantile) loss over the quantiles implied by the interval bounds:
  the 95% interval gives q = 0.025 and 0.975, the 80% interval q = 0.1 and 0.9.
- ``coverage_80``/``coverage_95``: share of actuals inside ``[lo, hi]`` (bounds included).
"""
from __future__ import annotations

import numpy as np

METRIC_KEYS = ("rmse", "mae", "mape", "mape_excluded", "smape", "wape", "mase", "rmspe", "bias",
               "coverage_80", "coverage_95", "pinball", "rmsse")
LOWER_IS_BETTER = ("rmse", "mae", "mape", "smape", "wape", "mase", "rmspe", "pinball", "rmsse")


def _arr(x) -> np.ndarray | None:
    return None if x is None else np.asarray(x, dtype=float).ravel()


def pinball_loss(y_true, q_pred, q: float) -> float:
    """Mean pinball loss of quantile forecast ``q_pred`` at level ``q``: mean of max(q·u, (q-1)·u), u = y - q_pred.

    Parameters
    ----------
    y_true, q_pred : array-like
        Actuals and the forecast quantile.
    q : float
        Quantile level in (0, 1).

    Returns
    -------
    float
    """
    u = _arr(y_true) - _arr(q_pred)
    return float(np.mean(np.maximum(q * u, (q - 1) * u)))


def mase_scale(y_train, season_length: int = 1) -> float:
    """In-sample MAE of the seasonal-naive forecast on ``y_train`` (NaN when too short or zero)."""
    y = _arr(y_train)
    m = max(int(season_length), 1)
    if y is None or len(y) <= m:
        return float("nan")
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    return scale if scale > 0 else float("nan")


def rmsse_scale(y_train, season_length: int = 1) -> float:
    """In-sample mean squared error of the seasonal-naive forecast on ``y_train`` (NaN when too short or zero);
    RMSSE divides the forecast's MSE by it before the square root."""
    y = _arr(y_train)
    m = max(int(season_length), 1)
    if y is None or len(y) <= m:
        return float("nan")
    scale = float(np.mean((y[m:] - y[:-m]) ** 2))
    return scale if scale > 0 else float("nan")


def compute_metrics(y_true, y_pred, lo_80=None, hi_80=None, lo_95=None, hi_95=None, y_train=None,
                    season_length: int = 1) -> dict:
    """All accuracy metrics for one forecast window.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actuals and point forecasts, same length.
    lo_80, hi_80, lo_95, hi_95 : array-like, optional
        Interval bounds; coverage and pinball are NaN without them.
    y_train : array-like, optional
        The training history, for MASE's scale.
    season_length : int, default 1
        Lag of the naive forecast in MASE's scale.

    Returns
    -------
    dict
        Keys :data:`METRIC_KEYS` (see the module docstring for definitions and units).
    """
    y, f = _arr(y_true), _arr(y_pred)
    if len(y) != len(f):
        raise ValueError(f"y_true has {len(y)} values but y_pred has {len(f)}")
    if len(y) == 0:
        raise ValueError("compute_metrics needs at least one actual value")
    if np.isnan(y).any() or np.isnan(f).any():
        raise ValueError("y_true and y_pred must not contain NaN; drop those points first")
    e = f - y
    abs_e = np.abs(e)
    nz = y != 0
    out = {"rmse": float(np.sqrt(np.mean(e ** 2))), "mae": float(np.mean(abs_e))}
    out["mape"] = float(np.mean(abs_e[nz] / np.abs(y[nz]))) if nz.any() else float("nan")
    out["mape_excluded"] = int((~nz).sum())
    denom = np.abs(y) + np.abs(f)
    ratio = np.divide(2 * abs_e, denom, out=np.zeros_like(abs_e), where=denom > 0)
    out["smape"] = float(np.mean(ratio))
    total = float(np.sum(np.abs(y)))
    out["wape"] = float(np.sum(abs_e) / total) if total > 0 else float("nan")
    scale = mase_scale(y_train, season_length) if y_train is not None else float("nan")
    out["mase"] = float(out["mae"] / scale) if np.isfinite(scale) else float("nan")
    out["rmspe"] = float(np.sqrt(np.mean((e[nz] / y[nz]) ** 2))) if nz.any() else float("nan")
    out["bias"] = float(np.mean(e))
    sq_scale = rmsse_scale(y_train, season_length) if y_train is not None else float("nan")
    out["rmsse"] = float(np.sqrt(np.mean(e ** 2) / sq_scale)) if np.isfinite(sq_scale) else float("nan")
    pin = []
    for name, lo, hi, q_lo, q_hi in (("coverage_80", lo_80, hi_80, 0.1, 0.9),
                                     ("coverage_95", lo_95, hi_95, 0.025, 0.975)):
        lo, hi = _arr(lo), _arr(hi)
        if lo is None or hi is None:
            out[name] = float("nan")
            continue
        out[name] = float(np.mean((y >= lo) & (y <= hi)))
        pin += [pinball_loss(y, lo, q_lo), pinball_loss(y, hi, q_hi)]
    out["pinball"] = float(np.mean(pin)) if pin else float("nan")
    return out


def wmae(y_true, y_pred, weights) -> float:
    """Weighted MAE, the Kaggle Walmart metric: sum(w·|y - yhat|) / sum(w), with w = 5 on holiday weeks, else 1.

    Parameters
    ----------
    y_true, y_pred, weights : array-like
        Same length; weights must be non-negative with a positive sum.

    Returns
    -------
    float
    """
    y, f, w = _arr(y_true), _arr(y_pred), _arr(weights)
    if not (len(y) == len(f) == len(w)):
        raise ValueError(f"wmae: lengths differ (y_true {len(y)}, y_pred {len(f)}, weights {len(w)})")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("wmae: weights must be non-negative with a positive sum")
    return float(np.sum(w * np.abs(y - f)) / np.sum(w))


def holiday_weights(is_holiday, holiday_weight: float = 5.0) -> np.ndarray:
    """Kaggle Walmart weights: ``holiday_weight`` on holiday weeks, 1 elsewhere."""
    h = np.asarray(is_holiday).astype(bool)
    return np.where(h, holiday_weight, 1.0)


def mase_scales(train, season_length: int = 1):
    """The scales of every series of a long frame ``series_id, ds, y`` at once: a frame indexed by series_id with
    ``scale`` (:func:`mase_scale`, MASE's) and ``sq_scale`` (:func:`rmsse_scale`, RMSSE's), NaN where zero."""
    import pandas as pd
    m = max(int(season_length), 1)
    t = train.sort_values(["series_id", "ds"], kind="mergesort")
    diff = (t["y"] - t.groupby("series_id", sort=False)["y"].shift(m)).abs()
    if not len(t):
        return pd.DataFrame({"scale": pd.Series(dtype=float), "sq_scale": pd.Series(dtype=float)}).rename_axis(
            "series_id")
    g = pd.DataFrame({"scale": diff, "sq_scale": diff ** 2}).groupby(t["series_id"], sort=True).mean()
    return g.where(g > 0).astype(float).rename_axis("series_id")


def metrics_by_series(frame, scales=None):
    """:func:`compute_metrics` for every series of a long frame at once, with the same definitions.

    Parameters
    ----------
    frame : DataFrame
        ``series_id, y, yhat`` and ``yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95``.
    scales : DataFrame or Series, optional
        :func:`mase_scales`' frame (MASE's ``scale`` and RMSSE's ``sq_scale`` per series_id), or MASE's scale
        alone as a Series; MASE and RMSSE are NaN without their scale.

    Returns
    -------
    DataFrame
        ``series_id`` + :data:`METRIC_KEYS`, one row per series, sorted by series_id.
    """
    import pandas as pd
    y = frame["y"].to_numpy(dtype=float)
    f = frame["yhat"].to_numpy(dtype=float)
    if np.isnan(y).any() or np.isnan(f).any():
        raise ValueError("y and yhat must not contain NaN; drop those points first")
    e = f - y
    abs_e = np.abs(e)
    nz = y != 0
    safe_y = np.where(nz, y, 1.0)
    denom = np.abs(y) + np.abs(f)
    cols = {"e2": e ** 2, "ae": abs_e, "ape": np.where(nz, abs_e / np.abs(safe_y), np.nan),
            "zero": (~nz).astype(int), "sr": np.divide(2 * abs_e, denom, out=np.zeros_like(abs_e), where=denom > 0),
            "ay": np.abs(y), "pe2": np.where(nz, (e / safe_y) ** 2, np.nan), "e": e}
    pins = []
    for name, lo_c, hi_c, q_lo, q_hi in (("c80", "yhat_lo_80", "yhat_hi_80", 0.1, 0.9),
                                         ("c95", "yhat_lo_95", "yhat_hi_95", 0.025, 0.975)):
        lo, hi = frame[lo_c].to_numpy(dtype=float), frame[hi_c].to_numpy(dtype=float)
        cols[name] = ((y >= lo) & (y <= hi)).astype(float)
        for q, bound in ((q_lo, lo), (q_hi, hi)):
            u = y - bound
            pins.append(np.maximum(q * u, (q - 1) * u))
    cols["pin"] = np.mean(pins, axis=0)
    g = pd.DataFrame(cols).groupby(frame["series_id"].to_numpy(), sort=True)
    mean, total = g.mean(), g.sum()
    out = pd.DataFrame(index=mean.index)
    out["rmse"] = np.sqrt(mean["e2"])
    out["mae"] = mean["ae"]
    out["mape"] = mean["ape"]  # NaN-skipping mean: zero actuals are excluded (all zero: NaN)
    out["mape_excluded"] = total["zero"].astype(int)
    out["smape"] = mean["sr"]
    out["wape"] = (total["ae"] / total["ay"].where(total["ay"] > 0)).astype(float)
    if isinstance(scales, pd.Series):
        scales = scales.to_frame("scale")
    none = pd.Series(np.nan, index=out.index)
    scale = scales["scale"].reindex(out.index) if scales is not None else none
    sq = scales["sq_scale"].reindex(out.index) if scales is not None and "sq_scale" in scales else none
    out["mase"] = (out["mae"] / scale).astype(float)
    out["rmspe"] = np.sqrt(mean["pe2"])
    out["bias"] = mean["e"]
    out["coverage_80"], out["coverage_95"], out["pinball"] = mean["c80"], mean["c95"], mean["pin"]
    out["rmsse"] = np.sqrt(mean["e2"] / sq).astype(float)
    return out.rename_axis("series_id").reset_index()[["series_id", *METRIC_KEYS]]
