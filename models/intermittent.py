"""Intermittent-demand models vectorised over all series: Croston with the SBA correction, and TSB.

Both smooth a demand size and a demand frequency separately and forecast a flat rate per period:

- **Croston SBA** (Croston 1972; Syntetos & Boylan 2005): at a period with demand ``y > 0`` the size
  ``z <- z + alpha (y - z)`` and the interval since the last demand ``p <- p + alpha (q - p)`` are updated (``q``
  periods since the previous demand, the first counted from the start); the forecast is
  ``(1 - alpha / 2) z / p``, the SBA factor removing Croston's positive bias.
- **TSB** (Teunter, Syntetos & Babai 2011): the demand probability is updated every period,
  ``d <- d + beta (1[y > 0] - d)``, the size only at demands, ``z <- z + alpha (y - z)``; the forecast is ``d z``.
  Unlike Croston it decays towards zero while no demand comes (obsolescence).

Each series' smoothing weights are the grid values with the smallest in-sample one-step squared error. The
series are the rows of one matrix and the recursion loops over periods only (statsforecast's implementations were
the reference; statsforecast itself does not install beside pandas 3).

Intervals: the empirical quantiles of each series' in-sample one-step residuals ``y - yhat`` (the last
``resid_window`` periods) added to the forecast, the lower bound cut at 0 (demand is not negative) and nested
with :func:`models.intervals.nest_intervals`; the forecast is flat and the spread of intermittent demand comes
from whether and how much is sold each period, which those residuals measure, not from the smoothed level's drift.
A series without any residual yet (one period) gets ``[yhat, yhat]``; one without demand forecasts 0 with ``[0, 0]``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.base import BaseForecaster
from models.intervals import nest_intervals, tail

SIZE_ALPHAS = (0.05, 0.1, 0.2, 0.3)
PROB_BETAS = (0.02, 0.05, 0.1, 0.2, 0.3)


def _wide(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """The series x period matrix (NaN before a series starts), its series ids and dates."""
    wide = df.pivot(index="series_id", columns="ds", values="y").sort_index()
    return wide.to_numpy(dtype=float), wide.index.to_numpy(), pd.DatetimeIndex(wide.columns)


def croston_path(mat: np.ndarray, alpha: np.ndarray, sba: bool = True, keep: bool = True):
    """Croston's method on every row of ``mat``: ``(fitted, last, sse)``.

    Parameters
    ----------
    mat : ndarray (n_series, n_periods)
        Demand; NaN marks periods before a series starts (skipped).
    alpha : ndarray (n_series,)
        Smoothing weight of each row (sizes and intervals alike).
    sba : bool
        Apply the Syntetos-Boylan factor ``1 - alpha / 2``.
    keep : bool
        Return the one-step forecasts (else ``fitted`` is None: the grid search needs only ``sse``).

    Returns
    -------
    fitted : ndarray or None
        One-step forecasts (NaN until the first demand).
    last : ndarray
        The forecast after the last period (0 without any demand).
    sse : ndarray
        Sum of squared one-step errors over the periods with a forecast.
    """
    n, t_len = mat.shape
    z, p, q, sse = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n), np.zeros(n)
    factor = (1 - alpha / 2) if sba else np.ones(n)
    fitted = np.full((n, t_len), np.nan) if keep else None
    for t in range(t_len):
        f = factor * z / p
        y = mat[:, t]
        sse += np.nan_to_num((y - f) ** 2)
        if keep:
            fitted[:, t] = f
        seen = ~np.isnan(y)
        q = np.where(seen, q + 1, q)
        dem = seen & (y > 0)
        first = dem & np.isnan(z)
        later = dem & ~first
        z = np.where(first, y, np.where(later, z + alpha * (y - z), z))
        p = np.where(first, q, np.where(later, p + alpha * (q - p), p))
        q = np.where(dem, 0.0, q)
    last = factor * z / p
    return fitted, np.where(np.isnan(last), 0.0, last), sse


def tsb_path(mat: np.ndarray, alpha: np.ndarray, beta: np.ndarray, keep: bool = True):
    """TSB on every row of ``mat``: ``(fitted, last, sse)`` as :func:`croston_path`.

    The probability starts at the row's share of periods with demand, the size at its first demand (the
    forecast is 0 until then).
    """
    n, t_len = mat.shape
    seen_all = ~np.isnan(mat)
    n_seen = seen_all.sum(axis=1)
    d = np.divide((np.nan_to_num(mat) > 0).sum(axis=1), n_seen, out=np.zeros(n), where=n_seen > 0)
    z, sse = np.full(n, np.nan), np.zeros(n)
    fitted = np.full((n, t_len), np.nan) if keep else None
    for t in range(t_len):
        y = mat[:, t]
        seen = seen_all[:, t]
        f = np.where(seen, d * np.nan_to_num(z), np.nan)
        sse += np.nan_to_num((y - f) ** 2)
        if keep:
            fitted[:, t] = f
        dem = seen & (y > 0)
        d = np.where(seen, d + beta * (dem - d), d)
        z = np.where(dem, np.where(np.isnan(z), y, z + alpha * (y - z)), z)
    return fitted, d * np.nan_to_num(z), sse


def grid_search(path, mat: np.ndarray, grid: list[tuple], block: int = 50_000) -> np.ndarray:
    """Per row, the parameter tuple of ``grid`` whose ``path(mat, *params, keep=False)`` has the smallest
    squared error (ties: the first), as an ``(n_rows, n_params)`` array.

    Every (row, tuple) pair is one row of a stacked matrix, so the recursion's Python loop over periods runs
    once per block of at most ``block`` stacked rows rather than once per grid point.
    """
    n, g = len(mat), len(grid)
    values = np.asarray(grid, dtype=float)
    chosen = np.zeros((n, values.shape[1]))
    step = max(1, block // g)
    for lo in range(0, n, step):
        part = mat[lo:lo + step]
        k = len(part)
        stacked = np.repeat(part, g, axis=0)  # row i's copies are rows i*g .. i*g + g - 1
        params = np.tile(values, (k, 1))
        _, _, sse = path(stacked, *params.T, keep=False)
        chosen[lo:lo + k] = values[np.argmin(sse.reshape(k, g), axis=1)]
    return chosen


class _Intermittent(BaseForecaster):
    """Shared fit/predict of the intermittent-demand models: subclasses write ``_paths(mat)``."""

    uses_exog = False
    is_global = True  # one vectorised fit over all series (no parameters are shared between them)

    def _paths(self, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, df: pd.DataFrame) -> None:
        mat, ids, dates = _wide(df)
        fitted, last, chosen = self._paths(mat)
        resid = mat - fitted
        window = int(self.resid_window)
        self.resid_ = pd.DataFrame(resid[:, -window:] if resid.shape[1] > window else resid, index=ids)
        self.level_ = pd.Series(last, index=ids)
        self.params_ = pd.DataFrame(chosen, index=ids)
        long = pd.DataFrame(fitted, index=ids, columns=dates).stack(future_stack=True).rename("yhat").reset_index()
        long.columns = ["series_id", "ds", "yhat"]
        self.fitted_values_ = df[["series_id", "ds", "y"]].merge(long, on=["series_id", "ds"], how="left")

    def _predict(self, h: int, X_future, levels: tuple[int, ...]) -> pd.DataFrame:
        idx = self._future_index(h)
        sids = list(self.last_ds_.index)
        yhat = self.level_.reindex(sids).to_numpy(dtype=float)
        resid = self.resid_.reindex(sids).to_numpy(dtype=float)
        cols = {"yhat": np.repeat(yhat, h)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a series without residuals: NaN bounds (collapse)
            for lv in levels:
                lo = np.clip(yhat + np.nanquantile(resid, tail(lv), axis=1), 0, None)
                hi = yhat + np.nanquantile(resid, 1 - tail(lv), axis=1)
                cols[f"yhat_lo_{lv}"], cols[f"yhat_hi_{lv}"] = np.repeat(lo, h), np.repeat(hi, h)
        defined = {k: v for k, v in cols.items()}
        nest_intervals(defined, levels)
        for lv in levels:  # keep "cannot say" bounds NaN (the base class collapses them), nest the rest
            for side in ("lo", "hi"):
                c = f"yhat_{side}_{lv}"
                defined[c] = np.where(np.isnan(cols[c]), np.nan, defined[c])
        return idx.assign(**defined)


class CrostonSBA(_Intermittent):
    """Croston's method with the Syntetos-Boylan approximation (SBA) bias correction, for intermittent demand.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Unused by the model (no seasonality); kept for the common interface.
    alphas : tuple of float, default :data:`SIZE_ALPHAS`
        Candidate smoothing weights of sizes and intervals; per series the one with the smallest in-sample
        one-step squared error (0.05-0.2 is the range Syntetos and Boylan recommend; 0.3 for fast change).
    resid_window : int, default 365
        In-sample residuals kept per series for the intervals.
    """

    name = "croston_sba"

    def __init__(self, freq: str = "D", season_length: int | None = None, alphas: tuple = SIZE_ALPHAS,
                 resid_window: int = 365):
        super().__init__(freq=freq, season_length=season_length)
        self.alphas = alphas
        self.resid_window = resid_window

    def _paths(self, mat):
        chosen = grid_search(croston_path, mat, [(a,) for a in self.alphas])
        fitted, last, _ = croston_path(mat, chosen[:, 0])
        return fitted, last, {"alpha": chosen[:, 0]}


class TSB(_Intermittent):
    """Teunter-Syntetos-Babai: demand probability updated every period, size at demands; forecast ``d * z``.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Unused by the model (no seasonality); kept for the common interface.
    alphas : tuple of float, default :data:`SIZE_ALPHAS`
        Candidate smoothing weights of the demand size.
    betas : tuple of float, default :data:`PROB_BETAS`
        Candidate smoothing weights of the demand probability; per series the (alpha, beta) pair with the
        smallest in-sample one-step squared error.
    resid_window : int, default 365
        In-sample residuals kept per series for the intervals.
    """

    name = "tsb"

    def __init__(self, freq: str = "D", season_length: int | None = None, alphas: tuple = SIZE_ALPHAS,
                 betas: tuple = PROB_BETAS, resid_window: int = 365):
        super().__init__(freq=freq, season_length=season_length)
        self.alphas = alphas
        self.betas = betas
        self.resid_window = resid_window

    def _paths(self, mat):
        chosen = grid_search(tsb_path, mat, [(a, b) for a in self.alphas for b in self.betas])
        fitted, last, _ = tsb_path(mat, chosen[:, 0], chosen[:, 1])
        return fitted, last, {"alpha": chosen[:, 0], "beta": chosen[:, 1]}
