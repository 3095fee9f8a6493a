"""Residual diagnostics per series: Ljung-Box white-noise test, bias, spread and autocorrelations."""
from __future__ import annotations

import numpy as np
from scipy import stats

from models.intervals import z_value


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
    r = np.asarray(residuals, dtype=float)
    r = r[np.isfinite(r)]
    n = len(r)
    out = {"n": n, "lags": 0, "ljung_box_p": float("nan"), "bias": float("nan"),
           "bias_ci95": [float("nan"), float("nan")], "resid_std": float("nan"), "acf": []}
    if n < 4:
        return out
    mean, std = float(np.mean(r)), float(np.std(r, ddof=1))
    half = z_value(95) * std / np.sqrt(n)
    out.update(bias=mean, bias_ci95=[float(mean - half), float(mean + half)], resid_std=std)
    k = int(max(1, min(lags, n // 2 - 1)))
    out["lags"] = k
    if std == 0:
        return out
    # Sample autocorrelations and the Ljung-Box Q = n (n + 2) sum_k acf_k^2 / (n - k), written out in numpy
    # (the same numbers as statsmodels' acf/acorr_ljungbox, which cost ~2 ms a call: seconds per refresh).
    d = r - mean
    denom = float(d @ d)
    rho = np.array([float(d[:-j] @ d[j:]) / denom for j in range(1, k + 1)])
    q = n * (n + 2) * float(np.sum(rho ** 2 / (n - np.arange(1, k + 1))))
    out["ljung_box_p"] = float(stats.chi2.sf(q, k))
    out["acf"] = [float(v) for v in rho]
    return out
