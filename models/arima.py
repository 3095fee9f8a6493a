"""Regression with ARIMA errors (statsmodels SARIMAX) per series: exogenous regressors + Fourier seasonality, order by AIC."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.base import exog_columns
from models.local import LocalForecaster

# A handful of candidate (p, d, q) orders keeps the search fast (each is one SARIMAX fit).
ORDERS = ((1, 0, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1))


def fourier_terms(t: np.ndarray, period: float, k: int) -> np.ndarray:
    """``2k`` columns sin/cos(2·pi·j·t/period), j = 1..k."""
    cols = []
    for j in range(1, k + 1):
        cols += [np.sin(2 * np.pi * j * t / period), np.cos(2 * np.pi * j * t / period)]
    return np.column_stack(cols) if cols else np.empty((len(t), 0))


class ARIMAForecaster(LocalForecaster):
    """SARIMAX with promo/holiday/weather regressors and Fourier terms for the season (and the year, daily data).

    The regressors are every exogenous column that varies (``models.base.exog_columns``: promotion flag and
    depth, open flag, holiday, weather) except the price, which moves with the depth. Seasonality enters as
    Fourier regressors rather than seasonal AR/MA terms, which keeps a 52-week season tractable. Candidate orders are compared by AIC (with a constant when d = 0). Analytic intervals.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Season length ``m`` (default 7 daily, 52 weekly).
    maxiter : int, default 30
        L-BFGS iterations per candidate: the fit is re-run per series and candidate, so it is kept short.
    orders : tuple of (p, d, q), default :data:`ORDERS`
        Candidate orders.
    max_train : int, optional
        Fit on at most the last ``max_train`` points (default 730 daily, 260 weekly: two and five years,
        enough for the seasonal Fourier terms while bounding the state-space cost).
    fourier_k : int, optional
        Sine/cosine pairs of the season (default 3 for m <= 7, else 6; at most ``m // 2``).
    yearly : bool, default True
        Daily data: add ``yearly_k`` yearly Fourier pairs.
    yearly_k : int, default 2
        Yearly Fourier pairs: a smooth annual curve without fitting noise.
    min_history : int, default 20
        Fewer points than ``max(2 * m, min_history)`` fall back to seasonal naive (too few for the candidates).
    """

    name = "arima"
    uses_exog = True
    is_global = False

    def __init__(self, freq: str = "D", season_length: int | None = None, maxiter: int = 30, orders: tuple = ORDERS,
                 max_train: int | None = None, fourier_k: int | None = None, yearly: bool = True, yearly_k: int = 2,
                 min_history: int = 20):
        super().__init__(freq=freq, season_length=season_length)
        self.maxiter = maxiter
        self.orders = orders
        self.max_train = max_train
        self.fourier_k = fourier_k
        self.yearly = yearly
        self.yearly_k = yearly_k
        self.min_history = min_history

    def min_length(self) -> int:
        """Two seasons, and at least ``min_history`` points."""
        return max(2 * self.m, int(self.min_history))

    def _design(self, g: pd.DataFrame, t: np.ndarray, cols: list[str]) -> np.ndarray:
        m = self.m
        k = int(self.fourier_k if self.fourier_k is not None else (3 if m <= 7 else 6))
        parts = [g[cols].to_numpy(dtype=float), fourier_terms(t, m, min(k, m // 2))]
        if self.freq == "D" and self.yearly:
            parts.append(fourier_terms(t, 365.25, int(self.yearly_k)))
        return np.column_stack(parts)

    def _fit_one(self, g: pd.DataFrame):
        from statsmodels.tsa.statespace.sarimax import SARIMAX
        max_train = int(self.max_train if self.max_train is not None else (730 if self.freq == "D" else 260))
        g = g.iloc[-max_train:].reset_index(drop=True)
        # Price is left to the depth (on a discount the two move together and would make the design singular).
        cols = [c for c in exog_columns(g) if c != "price" and g[c].std() > 0]
        t = np.arange(len(g), dtype=float)
        X = self._design(g, t, cols)
        y = g["y"].to_numpy(dtype=float)
        best = None
        for order in self.orders:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = SARIMAX(y, exog=X, order=order, trend="c" if order[1] == 0 else "n",
                                enforce_stationarity=False, enforce_invertibility=False)
                try:
                    res = model.fit(disp=False, maxiter=int(self.maxiter), method="lbfgs")
                except (ValueError, np.linalg.LinAlgError):
                    continue
            if np.isfinite(res.aic) and (best is None or res.aic < best[0].aic):
                best = (res, order)
        if best is None:
            raise ValueError("no ARIMA candidate converged")
        return {"res": best[0], "order": best[1], "cols": cols, "n": len(g), "offset": 0, "g_len": len(g)}

    def _predict_one(self, state, h: int, xf, levels: tuple[int, ...]) -> dict:
        t = np.arange(state["n"], state["n"] + h, dtype=float)
        X = self._design(xf, t, state["cols"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = state["res"].get_forecast(steps=h, exog=X)
            out = {"yhat": np.asarray(fc.predicted_mean)}
            for lv in levels:
                ci = np.asarray(fc.conf_int(alpha=(100 - lv) / 100))
                out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = ci[:, 0], ci[:, 1]
        return out

    def _fitted_values_one(self, state, g: pd.DataFrame) -> np.ndarray:
        out = np.full(len(g), np.nan)
        fv = np.asarray(state["res"].fittedvalues, dtype=float)
        out[len(g) - len(fv):] = fv
        out[len(g) - len(fv)] = np.nan  # the first fitted value is the unconditional mean, not a forecast
        return out
