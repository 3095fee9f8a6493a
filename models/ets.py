"""Exponential smoothing (statsmodels ETSModel) per series, chosen among a few additive forms by AIC, with analytic intervals."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.intervals import z_value
from models.local import LocalForecaster

# (trend, damped) candidates; error and season are additive (analytic prediction intervals, robust to zeros).
CANDIDATES = ((None, False), ("add", True))


class ETSForecaster(LocalForecaster):
    """Additive-error ETS with additive season ``m``; damped-trend vs no-trend picked by AIC.

    A series with at least ``2 * m + 2`` points gets the seasonal state-space model. A shorter one with more
    than one full season (e.g. two years of weekly data against a 52-week season) cannot initialise 52
    seasonal states, so it is *deseasonalised* instead: seasonal indices come from a least-squares fit of a
    trend plus one index per season position (:func:`seasonal_indices`), a non-seasonal ETS is fitted to the
    adjusted series and the indices are added back to its forecast (intervals add the indices' estimation
    variance). Shorter series fall back to the seasonal-naive/naive/mean rules.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Season length ``m`` (default 7 daily, 52 weekly).
    maxiter : int, default 100
        Optimiser iterations per candidate: enough for these few-parameter models to converge.
    trends : tuple of (trend, damped), default :data:`CANDIDATES`
        Candidate trend forms compared by AIC.
    max_train : int, optional
        Fit on at most the last ``max_train`` points (default: the whole history).
    """

    name = "ets"
    uses_exog = False
    is_global = False

    def __init__(self, freq: str = "D", season_length: int | None = None, maxiter: int = 100,
                 trends: tuple = CANDIDATES, max_train: int | None = None):
        super().__init__(freq=freq, season_length=season_length)
        self.maxiter = maxiter
        self.trends = trends
        self.max_train = max_train

    def min_length(self) -> int:
        """A season plus a quarter of one (at least 4 points): enough for deseasonalised ETS."""
        return self.m + max(self.m // 4, 4) if self.m > 1 else 2 * self.m + 2

    def _fit_one(self, g: pd.DataFrame):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
        y = pd.Series(g["y"].to_numpy(dtype=float))
        max_train = self.max_train
        if max_train and len(y) > max_train:
            y = y.iloc[-int(max_train):].reset_index(drop=True)
        seasonal = self.m > 1 and len(y) >= 2 * self.m + 2
        index = seasonal_indices(y.to_numpy(), self.m) if self.m > 1 and not seasonal else np.zeros(1)
        adjusted = y - _repeat(index, np.arange(len(y)))
        best = None
        for trend, damped in self.trends:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = ETSModel(adjusted, error="add", trend=trend, damped_trend=damped,
                                 seasonal="add" if seasonal else None,
                                 seasonal_periods=self.m if seasonal else None, initialization_method="heuristic")
                res = model.fit(disp=False, maxiter=int(self.maxiter))
            if not np.isfinite(res.aic):
                continue
            if best is None or res.aic < best.aic:
                best = res
        if best is None:
            raise ValueError("no ETS candidate converged")
        return {"res": best, "n": len(y), "offset": len(g) - len(y), "index": index}

    def _predict_one(self, state, h: int, xf, levels: tuple[int, ...]) -> dict:
        res, n = state["res"], state["n"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = res.get_prediction(start=n, end=n + h - 1)
            frames = {lv: pred.summary_frame(alpha=(100 - lv) / 100) for lv in levels}
        season = _repeat(state["index"], np.arange(n, n + h))
        mean = frames[levels[0]]["mean"].to_numpy()
        # Deseasonalised fits: each index is a mean of only n / m seasons, an error the ETS intervals do not
        # know about; add its variance, sigma^2 / (n / m) (as models.ses does), or the intervals are too narrow.
        extra = 0.0
        if len(state["index"]) > 1:
            extra = float(np.mean(np.asarray(state["res"].resid, dtype=float) ** 2)) / max(n / self.m, 1.0)
        out = {"yhat": mean + season}
        for lv, frame in frames.items():
            z = z_value(lv)
            below = np.sqrt((mean - frame["pi_lower"].to_numpy()) ** 2 + z ** 2 * extra)
            above = np.sqrt((frame["pi_upper"].to_numpy() - mean) ** 2 + z ** 2 * extra)
            out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = mean - below + season, mean + above + season
        return out

    def _fitted_values_one(self, state, g: pd.DataFrame) -> np.ndarray:
        out = np.full(len(g), np.nan)
        fitted = np.asarray(state["res"].fittedvalues, dtype=float)
        out[state["offset"]:] = fitted + _repeat(state["index"], np.arange(len(fitted)))
        return out


def _repeat(index: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The seasonal index at each position (a one-element zero index means no adjustment)."""
    return index[positions % len(index)]


def seasonal_indices(y: np.ndarray, m: int) -> np.ndarray:
    """Additive seasonal indices (summing to 0) for position ``t % m``, from a least-squares fit of
    ``y = trend * t + index[t % m]``: the joint fit keeps the trend out of the indices even when the series
    covers only one season and a bit, where a moving average would be cut short at both ends."""
    t = np.arange(len(y), dtype=float)
    design = np.zeros((len(y), m + 1))
    design[np.arange(len(y)), (np.arange(len(y)) % m)] = 1.0
    design[:, m] = t - t.mean()
    coef = np.linalg.lstsq(design, y, rcond=None)[0][:m]
    seen = np.bincount(np.arange(len(y)) % m, minlength=m) > 0
    coef = np.where(seen, coef, 0.0)
    return coef - coef[seen].mean()
