"""Seasonal-naive baseline (and the naive/mean fallbacks every local model uses for short series)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import LocalForecaster, normal_intervals


def naive_state(y: np.ndarray, m: int) -> dict:
    """What the seasonal-naive forecast needs from one series.

    Parameters
    ----------
    y : ndarray
        The series' history (regular spacing).
    m : int
        Season length.

    Returns
    -------
    dict
        ``kind`` ('snaive' when the series has at least m + 2 points, 'naive' with at least 3, else 'mean'),
        ``m`` (the lag used), ``y`` and ``sigma`` (RMS of the one-season-back residuals).
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if m > 1 and n >= m + 2:
        kind, lag = "snaive", m
    elif n >= 3:
        kind, lag = "naive", 1
    else:
        kind, lag = "mean", 0
    if lag:
        resid = y[lag:] - y[:-lag]
        sigma = float(np.sqrt(np.mean(resid ** 2)))
    else:
        sigma = float(np.std(y)) if n > 1 else 0.0
    return {"kind": kind, "m": lag, "y": y, "sigma": sigma}


def naive_forecast(state: dict, h: int) -> dict:
    """Point forecasts and Gaussian 80/95% intervals for ``h`` steps from :func:`naive_state`.

    The seasonal naive repeats the last season; its h-step standard deviation is
    ``sigma * sqrt(floor((h - 1) / m) + 1)`` (Hyndman & Athanasopoulos, FPP3 5.5). The naive method
    uses ``sigma * sqrt(h)``; the mean method ``sigma * sqrt(1 + 1/n)``.
    """
    y, m, sigma = state["y"], state["m"], state["sigma"]
    steps = np.arange(1, h + 1)
    if state["kind"] == "snaive":
        season = y[-m:]
        yhat = season[(steps - 1) % m]
        sd = sigma * np.sqrt((steps - 1) // m + 1)
    elif state["kind"] == "naive":
        yhat = np.full(h, y[-1])
        sd = sigma * np.sqrt(steps)
    else:
        yhat = np.full(h, float(np.mean(y)) if len(y) else 0.0)
        sd = np.full(h, sigma * np.sqrt(1 + 1 / max(len(y), 1)))
    return {"yhat": yhat, **normal_intervals(yhat, sd)}


def naive_fitted(state: dict) -> np.ndarray:
    """In-sample one-step fits: ``y[t - m]`` (NaN for the first m points; the mean for the mean method)."""
    y, m = state["y"], state["m"]
    out = np.full(len(y), np.nan)
    if m:
        out[m:] = y[:-m]
    else:
        out[:] = np.mean(y) if len(y) else np.nan
    return out


class SeasonalNaive(LocalForecaster):
    """Repeat the last observed season: the baseline every metric is compared with (MASE's denominator)."""

    name = "seasonal_naive"
    uses_exog = False
    is_global = False

    def min_length(self) -> int:
        return 1

    def _fit_one(self, g: pd.DataFrame) -> dict:
        return naive_state(g["y"].to_numpy(), self.m)

    def _predict_one(self, state: dict, h: int, xf) -> dict:
        return naive_forecast(state, h)

    def _fitted_values_one(self, state: dict, g: pd.DataFrame) -> np.ndarray:
        return naive_fitted(state)
