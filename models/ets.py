"""Exponential smoothing (statsmodels ETSModel) per series, chosen among a few additive forms by AIC, with analytic intervals."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.base import LocalForecaster

# (trend, damped) candidates; error and season are additive (analytic prediction intervals, robust to zeros).
CANDIDATES = ((None, False), ("add", True))


class ETSForecaster(LocalForecaster):
    """Additive-error ETS with additive season ``m``; damped-trend vs no-trend picked by AIC.

    Series with fewer than ``2 * m + 2`` points (too short to initialise a season) fall back to the
    seasonal-naive/naive/mean rules. Hyperparameters: ``maxiter`` (default 100), ``trends`` (candidate
    list of (trend, damped)).
    """

    name = "ets"
    uses_exog = False
    is_global = False

    def min_length(self) -> int:
        return 2 * self.m + 2

    def _fit_one(self, g: pd.DataFrame):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
        y = pd.Series(g["y"].to_numpy(dtype=float))
        max_train = self.hyperparams.get("max_train")
        if max_train and len(y) > max_train:
            y = y.iloc[-int(max_train):].reset_index(drop=True)
        best = None
        for trend, damped in self.hyperparams.get("trends", CANDIDATES):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = ETSModel(y, error="add", trend=trend, damped_trend=damped, seasonal="add",
                                 seasonal_periods=self.m, initialization_method="heuristic")
                res = model.fit(disp=False, maxiter=int(self.hyperparams.get("maxiter", 100)))
            if not np.isfinite(res.aic):
                continue
            if best is None or res.aic < best.aic:
                best = res
        if best is None:
            raise ValueError("no ETS candidate converged")
        return {"res": best, "n": len(y), "offset": len(g) - len(y)}

    def _predict_one(self, state, h: int, xf) -> dict:
        res, n = state["res"], state["n"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = res.get_prediction(start=n, end=n + h - 1)
            f80 = pred.summary_frame(alpha=0.2)
            f95 = pred.summary_frame(alpha=0.05)
        return {"yhat": f80["mean"].to_numpy(), "yhat_lo_80": f80["pi_lower"].to_numpy(),
                "yhat_hi_80": f80["pi_upper"].to_numpy(), "yhat_lo_95": f95["pi_lower"].to_numpy(),
                "yhat_hi_95": f95["pi_upper"].to_numpy()}

    def _fitted_values_one(self, state, g: pd.DataFrame) -> np.ndarray:
        out = np.full(len(g), np.nan)
        out[state["offset"]:] = np.asarray(state["res"].fittedvalues, dtype=float)
        return out
