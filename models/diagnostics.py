"""Residual diagnostics per series: Ljung-Box white-noise test, bias, spread and autocorrelations."""
from __future__ import annotations

import warnings

import numpy as np


def residual_diagnostics(residuals, lags: int = 10) -> dict:
    """Is what the model left over white noise?

    Parameters
    ----------
    residuals : array-like
        In-sample residuals ``y - yhat`` (NaN are dropped).
    lags : int, default 10
        Lags of the Ljung-Box test and of the returned autocorrelations (reduced for short series).

    Returns
    -------
    dict
        ``ljung_box_p`` (p-value at the largest lag; small = autocorrelation left), ``lags`` used,
        ``bias`` (mean residual, ``y - yhat``: positive = under-forecast), ``bias_ci95`` (normal 95% CI
        of the mean), ``resid_std``, ``n`` and ``acf`` (list, lags 1..lags). NaN/empty when fewer than
        4 residuals.
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    r = np.asarray(residuals, dtype=float)
    r = r[np.isfinite(r)]
    n = len(r)
    out = {"n": n, "lags": 0, "ljung_box_p": float("nan"), "bias": float("nan"),
           "bias_ci95": [float("nan"), float("nan")], "resid_std": float("nan"), "acf": []}
    if n < 4:
        return out
    mean, std = float(np.mean(r)), float(np.std(r, ddof=1))
    half = 1.959963984540054 * std / np.sqrt(n)
    out.update(bias=mean, bias_ci95=[float(mean - half), float(mean + half)], resid_std=std)
    k = int(max(1, min(lags, n // 2 - 1)))
    out["lags"] = k
    if std == 0:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lb = acorr_ljungbox(r, lags=[k], return_df=True)
        out["ljung_box_p"] = float(lb["lb_pvalue"].iloc[-1])
        out["acf"] = [float(v) for v in acf(r, nlags=k, fft=True)[1:]]
    return out
