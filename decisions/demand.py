"""Demand over the protection interval (lead time + review period) as a distribution, never a sum of quantiles.

Two ways to build it, both vectorised over series (quantiles do not add, so neither sums per-day quantiles):

* :func:`fitted_window` - a fitted distribution for the *sum* over the window: its mean is the sum of the
  point forecasts, its variance ``w' (sigma sigma' * R) w`` adds every pair of days with the residuals'
  autocorrelation ``R`` (positively correlated errors make the sum much wider than ``sqrt(n) sigma``), plus
  the lead-time variability term ``mean_per_day^2 * lt_sd^2``. Low-volume series (window mean below
  :data:`COUNT_MEAN`) get a negative binomial (Poisson when not over-dispersed) with that mean and variance,
  which lives on 0, 1, 2... so an intermittent series is not given the normal's absurd safety stock; the
  rest a normal truncated at 0.
* :func:`conformal_window` - the empirical distribution of the model's own out-of-sample errors of the window
  sum at past origins (normalised split conformal): each series' errors are divided by a leave-one-out
  scale of that series, the standardised errors are pooled over series, and the window quantile is
  ``forecast + q_z * scale``. Bias, skew and autocorrelation are in the errors themselves; pooling gives the
  tails enough points. Errors can be standardised as they are or relative to their forecast's size
  (``relative``). This is what the replay benchmark's ``ours`` uses; the job (and the bench's
  ``ours_fitted``) uses :func:`fitted_window` with sds calibrated by :func:`coverage_factor`.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

# Window means below this (units) are treated as counts: negative binomial / Poisson instead of the normal.
COUNT_MEAN = 30.0
# Prior weight (in pseudo-errors) of the pooled relative scale in each series' conformal scale.
PRIOR_WEIGHT = 2.0


def window_weights(window: float, n_steps: int) -> np.ndarray:
    """Weights of forecast steps 1..n covering ``window`` periods: 1 for whole periods, the fraction for the
    last partial one (a 10-day window on weekly forecasts is 1, 1, 3/7)."""
    if window <= 0:
        raise ValueError(f"the protection window must be positive, got {window}")
    steps = np.arange(n_steps, dtype=float)
    return np.clip(window - steps, 0.0, 1.0)


def window_variance(sigma: np.ndarray, weights: np.ndarray, acf: np.ndarray | None = None) -> np.ndarray:
    """Variance of ``sum_h w_h e_h`` for per-step sds ``sigma`` (series x steps) and autocorrelations ``acf``
    (series x lags, lag 1 first; missing lags are 0): ``sum_ij w_i w_j s_i s_j rho_|i-j|``."""
    sigma = np.atleast_2d(np.asarray(sigma, dtype=float))
    n, k = sigma.shape
    ws = sigma * np.asarray(weights, dtype=float)[:k]
    rho = np.zeros((n, k))
    rho[:, 0] = 1.0
    if acf is not None:
        acf = np.atleast_2d(np.asarray(acf, dtype=float))
        m = min(k - 1, acf.shape[1])
        rho[:, 1:1 + m] = np.clip(np.nan_to_num(acf[:, :m]), -1.0, 1.0)
    var = (ws ** 2).sum(axis=1)
    for lag in range(1, k):
        var += 2.0 * rho[:, lag] * (ws[:, lag:] * ws[:, :-lag]).sum(axis=1)
    return np.maximum(var, 0.0)


class WindowDemand:
    """Demand over a window for many series: ``mean``, ``sd`` and a vectorised ``quantile(q)`` (q scalar or
    per series); ``kind`` names each series' distribution ("normal", "negative_binomial", "poisson")."""

    def __init__(self, mean, sd, count_mean: float = COUNT_MEAN):
        self.mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
        self.sd = np.maximum(np.asarray(sd, dtype=float), 0.0)
        var = self.sd ** 2
        counts = self.mean < count_mean
        over = var > self.mean * (1 + 1e-9)
        self.kind = np.where(~counts, "normal", np.where(over, "negative_binomial", "poisson"))
        with np.errstate(divide="ignore", invalid="ignore"):
            self._n = np.where(over, self.mean ** 2 / np.maximum(var - self.mean, 1e-12), np.nan)
            self._p = np.where(over, self.mean / np.maximum(var, 1e-12), np.nan)

    def quantile(self, q) -> np.ndarray:
        """The ``q`` quantile of each series' window demand (never below 0)."""
        q = np.broadcast_to(np.asarray(q, dtype=float), self.mean.shape)
        if np.any((q <= 0) | (q >= 1)):
            raise ValueError("a service level must lie strictly between 0 and 1")
        out = np.maximum(self.mean + stats.norm.ppf(q) * self.sd, 0.0)
        nb = (self.kind == "negative_binomial") & (self.mean > 0)
        if nb.any():
            out[nb] = stats.nbinom.ppf(q[nb], self._n[nb], self._p[nb])
        po = (self.kind == "poisson") & (self.mean > 0)
        if po.any():
            out[po] = stats.poisson.ppf(q[po], self.mean[po])
        out[self.mean <= 0] = 0.0
        return out

    def expected_shortage(self, level, grid: int = 400) -> np.ndarray:
        """``E[(D - level)+]`` per series, by averaging the quantile function over a fine probability grid."""
        u = (np.arange(grid) + 0.5) / grid
        level = np.asarray(level, dtype=float)
        total = np.zeros_like(self.mean)
        for ui in u:
            total += np.maximum(self.quantile(ui) - level, 0.0)
        return total / grid

    def cdf(self, level) -> np.ndarray:
        """``P(D <= level)`` per series."""
        level = np.broadcast_to(np.asarray(level, dtype=float), self.mean.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(self.sd > 0, stats.norm.cdf((level - self.mean) / np.where(self.sd > 0, self.sd, 1)),
                           (level >= self.mean).astype(float))
        nb = (self.kind == "negative_binomial") & (self.mean > 0)
        if nb.any():
            out[nb] = stats.nbinom.cdf(np.floor(level[nb]), self._n[nb], self._p[nb])
        po = (self.kind == "poisson") & (self.mean > 0)
        if po.any():
            out[po] = stats.poisson.cdf(np.floor(level[po]), self.mean[po])
        out[self.mean <= 0] = 1.0
        return out


def fitted_window(yhat: np.ndarray, sigma: np.ndarray, window: float, acf: np.ndarray | None = None,
                  per_day: np.ndarray | None = None, lead_time_sd: np.ndarray | float = 0.0) -> WindowDemand:
    """Demand over ``window`` periods from point forecasts ``yhat`` and per-step sds ``sigma`` (series x
    steps, steps >= ceil(window)) with the residual autocorrelations ``acf``; ``lead_time_sd`` (periods)
    adds ``(mean per period)^2 * lt_sd^2``. See the module docstring."""
    yhat = np.atleast_2d(np.asarray(yhat, dtype=float))
    need = int(np.ceil(window))
    if yhat.shape[1] < need:
        raise ValueError(f"the forecasts cover {yhat.shape[1]} periods but the lead time plus review period "
                         f"needs {need}: run `python cli.py refresh --horizon {need}` or longer")
    w = window_weights(window, need)
    mean = np.clip(yhat[:, :need], 0.0, None) @ w
    var = window_variance(np.asarray(sigma, dtype=float)[:, :need], w, acf)
    rate = mean / window if per_day is None else np.asarray(per_day, dtype=float)
    var = var + rate ** 2 * np.asarray(lead_time_sd, dtype=float) ** 2
    return WindowDemand(mean, np.sqrt(var))


def conformal_scale(errors: np.ndarray, level: np.ndarray, prior_weight: float = PRIOR_WEIGHT) -> np.ndarray:
    """Each series' error scale (root mean square of its past window errors, ``errors``: series x origins,
    NaN = not known yet) shrunk toward ``c * level`` where ``c`` is the pooled error/level ratio."""
    errors = np.asarray(errors, dtype=float)
    level = np.maximum(np.asarray(level, dtype=float), 0.0)
    known = np.isfinite(errors)
    n = known.sum(axis=1)
    sq = np.where(known, errors, 0.0) ** 2
    pooled = np.sqrt(sq.sum() / max(known.sum(), 1)) / max(float(np.mean(level)), 1e-9)
    prior = (pooled * level) ** 2
    return np.sqrt((sq.sum(axis=1) + prior_weight * prior) / (n + prior_weight))


def conformal_z(errors: np.ndarray, level: np.ndarray, prior_weight: float = PRIOR_WEIGHT) -> np.ndarray:
    """Pooled standardised errors: each error divided by its series' scale computed without it (leave one
    out, so the scale cannot shrink the error it standardises)."""
    errors = np.asarray(errors, dtype=float)
    level = np.maximum(np.asarray(level, dtype=float), 0.0)
    known = np.isfinite(errors)
    n = known.sum(axis=1, keepdims=True)
    sq = np.where(known, errors, 0.0) ** 2
    pooled = np.sqrt(sq.sum() / max(known.sum(), 1)) / max(float(np.mean(level)), 1e-9)
    prior = ((pooled * level) ** 2)[:, None]
    loo = np.sqrt((sq.sum(axis=1, keepdims=True) - sq + prior_weight * prior) / (n - 1 + prior_weight))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(known & (loo > 0), errors / loo, np.nan)
    return z[np.isfinite(z)]


def conformal_window(forecast_sum: np.ndarray, past_forecasts: np.ndarray, past_actuals: np.ndarray, levels,
                     relative: bool = False, prior_weight: float = PRIOR_WEIGHT) -> dict[float, np.ndarray]:
    """Window-demand quantiles ``{q: per-series quantile}`` from the point forecast of the window sum and the
    series' past window forecasts and actual window sums (series x origins, NaN where unknown).

    The quantile is ``max(0, forecast + q_z * scale)`` with ``q_z`` the pooled quantile of the leave-one-out
    standardised errors and ``scale`` the series' own error scale. ``relative=True`` instead measures each
    error against the size of its own forecast (floored at a tenth of the series' mean forecast) and scales
    by today's forecast; on Walmart that doubled the stock for the same service (small departments have
    huge relative errors), so the default is absolute.
    """
    forecast_sum = np.nan_to_num(np.asarray(forecast_sum, dtype=float))
    past_f = np.asarray(past_forecasts, dtype=float)
    errors = np.asarray(past_actuals, dtype=float) - past_f
    if relative:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_f = np.nanmean(np.where(np.isfinite(past_f), np.maximum(past_f, 0), np.nan), axis=1)
        floor = 0.1 * np.nan_to_num(np.maximum(mean_f, forecast_sum)) + 1e-9
        size_past = np.maximum(np.nan_to_num(past_f), floor[:, None])
        size_now = np.maximum(forecast_sum, floor)
        errors = errors / size_past
    else:
        size_now = np.ones_like(forecast_sum)
    level = np.ones_like(forecast_sum) if relative else np.maximum(forecast_sum, 0)
    z = conformal_z(errors, level, prior_weight)
    if z.size == 0:
        raise ValueError("no past forecast errors to calibrate the demand distribution on")
    scale = conformal_scale(errors, level, prior_weight) * size_now
    out = {}
    for q in levels:
        if not 0 < q < 1:
            raise ValueError(f"a service level must lie strictly between 0 and 1, got {q}")
        out[q] = np.maximum(forecast_sum + np.quantile(z, q) * scale, 0.0)
    return out


def coverage_factor(coverage, nominal: float = 0.95) -> np.ndarray:
    """How much to widen (or narrow) per-step sds whose nominal ``nominal`` intervals covered ``coverage`` of
    the actuals out of sample: ``z((1 + nominal) / 2) / z((1 + coverage) / 2)`` (1 where unknown; coverage
    clipped to [0.5, 0.999]). A normal interval that covered 90% instead of 95% is 1.96 / 1.645 = 1.19x too
    narrow. Used by the inventory job on the run's backtest coverage before it builds :func:`fitted_window`."""
    c = np.clip(np.asarray(coverage, dtype=float), 0.5, 0.999)
    out = stats.norm.ppf((1 + nominal) / 2) / stats.norm.ppf((1 + c) / 2)
    return np.where(np.isfinite(out), out, 1.0)
