"""Regression with ARIMA errors (statsmodels SARIMAX) per series: exogenous regressors + Fourier seasonality, order by AIC."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.base import LocalForecaster, exog_columns

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

    Seasonality enters as Fourier regressors rather than seasonal AR/MA terms, which keeps a 52-week
    season tractable. Candidate orders :data:`ORDERS` (with a constant when d = 0) are compared by AIC,
    each fitted with at most ``maxiter`` (default 30) L-BFGS iterations. Analytic intervals.
    """

    name = "arima"
    uses_exog = True
    is_global = False

    def min_length(self) -> int:
        return max(2 * self.m, 20)

    def _design(self, g: pd.DataFrame, t: np.ndarray, cols: list[str]) -> np.ndarray:
        m = self.m
        k = int(self.hyperparams.get("fourier_k", 3 if m <= 7 else 6))
        parts = [g[cols].to_numpy(dtype=float), fourier_terms(t, m, min(k, m // 2))]
        if self.freq == "D" and self.hyperparams.get("yearly", True):
            parts.append(fourier_terms(t, 365.25, 2))
        return np.column_stack(parts)

    def _fit_one(self, g: pd.DataFrame):
        from statsmodels.tsa.statespace.sarimax import SARIMAX
        max_train = int(self.hyperparams.get("max_train", 730 if self.freq == "D" else 260))
        g = g.iloc[-max_train:].reset_index(drop=True)
        cols = [c for c in exog_columns(g) if g[c].std() > 0]
        t = np.arange(len(g), dtype=float)
        X = self._design(g, t, cols)
        y = g["y"].to_numpy(dtype=float)
        best = None
        for order in self.hyperparams.get("orders", ORDERS):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = SARIMAX(y, exog=X, order=order, trend="c" if order[1] == 0 else "n",
                                enforce_stationarity=False, enforce_invertibility=False)
                try:
                    res = model.fit(disp=False, maxiter=int(self.hyperparams.get("maxiter", 30)), method="lbfgs")
                except (ValueError, np.linalg.LinAlgError):
                    continue
            if np.isfinite(res.aic) and (best is None or res.aic < best[0].aic):
                best = (res, order)
        if best is None:
            raise ValueError("no ARIMA candidate converged")
        return {"res": best[0], "order": best[1], "cols": cols, "n": len(g), "offset": 0, "g_len": len(g)}

    def _predict_one(self, state, h: int, xf) -> dict:
        t = np.arange(state["n"], state["n"] + h, dtype=float)
        X = self._design(xf, t, state["cols"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = state["res"].get_forecast(steps=h, exog=X)
            ci80, ci95 = np.asarray(fc.conf_int(alpha=0.2)), np.asarray(fc.conf_int(alpha=0.05))
        return {"yhat": np.asarray(fc.predicted_mean), "yhat_lo_80": ci80[:, 0], "yhat_hi_80": ci80[:, 1],
                "yhat_lo_95": ci95[:, 0], "yhat_hi_95": ci95[:, 1]}

    def _fitted_values_one(self, state, g: pd.DataFrame) -> np.ndarray:
        out = np.full(len(g), np.nan)
        fv = np.asarray(state["res"].fittedvalues, dtype=float)
        out[len(g) - len(fv):] = fv
        out[len(g) - len(fv)] = np.nan  # the first fitted value is the unconditional mean, not a forecast
        return out
