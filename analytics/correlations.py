"""Correlations between sales and their drivers (promotion, holiday, weather, price, covariates) with
significance, and the lagged correlation of sales with promotions.

Correlations are computed *within series*: log sales and every driver are demeaned per series first, so
differences in level between stores or products do not masquerade as a driver effect (Simpson's paradox).
p-values and Fisher-z intervals treat observations as independent; with autocorrelated daily data they are
optimistic, which is why effect sizes with honest CIs come from :mod:`analytics.effects`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

DRIVERS = ("promo", "is_holiday", "temp_c", "precip_mm", "price", "promo_intensity")


def _within(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    d = frame.copy()
    d["log_sales"] = np.log(d["y"].where(d["y"] > 0))
    cols = ["log_sales"] + columns
    d[cols] = d[cols].apply(pd.to_numeric, errors="coerce")
    return d[cols] - d.groupby("series_id")[cols].transform("mean")


def _pearson(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float, float, float, int]:
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 4 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return np.nan, np.nan, np.nan, np.nan, n
    r, p = stats.pearsonr(x[ok], y[ok])
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(n - 3)
    crit = stats.norm.ppf(0.5 + level / 2)
    return float(r), float(p), float(np.tanh(z - crit * se)), float(np.tanh(z + crit * se)), n


def correlation_matrix(frame: pd.DataFrame, drivers=DRIVERS, covariates: pd.DataFrame | None = None,
                       level: float = 0.95) -> pd.DataFrame:
    """Pairwise within-series correlations of log sales and the drivers present in ``frame``.

    Parameters
    ----------
    frame : DataFrame
        Long frame ``series_id, ds, y`` plus driver columns (e.g. ``store.level_frame(level)``).
    drivers : sequence of str
        Driver columns to use when present and varying.
    covariates : DataFrame, optional
        Extra drivers in wide form (``ds`` plus one column per covariate), joined on ``ds``.
    level : float
        Confidence level of the Fisher-z intervals.

    Returns
    -------
    DataFrame
        Long rows ``var1, var2, r, p, ci_low, ci_high, n`` for every pair (upper triangle).
    """
    if not {"series_id", "ds", "y"} <= set(frame.columns):
        raise ValueError("correlation_matrix needs series_id, ds and y")
    d = frame
    if covariates is not None and not covariates.empty:
        d = d.merge(covariates, on="ds", how="left")
        drivers = list(drivers) + [c for c in covariates.columns if c != "ds"]
    cols = [c for c in dict.fromkeys(drivers) if c in d and pd.to_numeric(d[c], errors="coerce").nunique() > 1]
    w = _within(d, cols)
    names = ["log_sales"] + cols
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            r, p, lo, hi, n = _pearson(w[a].to_numpy(), w[b].to_numpy(), level)
            rows.append({"var1": a, "var2": b, "r": r, "p": p, "ci_low": lo, "ci_high": hi, "n": n})
    return pd.DataFrame(rows, columns=["var1", "var2", "r", "p", "ci_low", "ci_high", "n"])


def lagged_correlation(frame: pd.DataFrame, driver: str = "promo", freq: str = "D", lags=None,
                       level: float = 0.95) -> pd.DataFrame:
    """Within-series correlation of log sales at ``t`` with ``driver`` at ``t - lag``.

    Positive lags look at sales after the promotion (a post-promotion dip shows as a negative r), negative
    lags at sales before it (stock-up or anticipation).

    Returns
    -------
    DataFrame
        ``lag, r, p, ci_low, ci_high, n``.
    """
    cols = ["lag", "r", "p", "ci_low", "ci_high", "n"]
    if driver not in frame or pd.to_numeric(frame[driver], errors="coerce").nunique() < 2:
        return pd.DataFrame(columns=cols)
    lags = lags if lags is not None else (range(-7, 15) if freq == "D" else range(-4, 5))
    d = frame.sort_values(["series_id", "ds"]).reset_index(drop=True)
    w = _within(d, [driver])
    w["series_id"] = d["series_id"].to_numpy()
    rows = []
    for lag in lags:
        shifted = w.groupby("series_id")[driver].shift(lag).to_numpy()
        r, p, lo, hi, n = _pearson(w["log_sales"].to_numpy(), shifted, level)
        rows.append({"lag": int(lag), "r": r, "p": p, "ci_low": lo, "ci_high": hi, "n": n})
    return pd.DataFrame(rows, columns=cols)
