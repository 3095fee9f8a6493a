"""Prophet per series with the country's holidays and promotion/temperature regressors (logging silenced)."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from models.base import exog_columns
from models.intervals import nest_intervals, z_value
from models.local import LocalForecaster


def _quiet() -> None:
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).disabled = True


class ProphetForecaster(LocalForecaster):
    """Prophet (MAP fit) per series.

    Daily data: weekly + yearly seasonality and ``add_country_holidays(country)`` (the ``holidays``
    package, offline). Weekly data: yearly seasonality only, holidays through the data's ``is_holiday``
    flag (a holiday date rarely falls on the weekly timestamp). Regressors: ``promo``, ``promo_intensity``,
    ``is_open``, ``temp_c`` (and
    ``is_holiday`` on weekly data), dropped per series when constant. The ``interval_width`` interval comes
    from Prophet's simulated paths; other levels widen or narrow it by the Gaussian ratio of their z values.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Season length ``m`` (default 7 daily, 52 weekly).
    uncertainty_samples : int, default 100
        Simulated paths for the interval: enough for a stable 80% interval at a bearable cost per series.
    seasonality_mode : {'additive', 'multiplicative'}, default 'additive'
    country : str, optional
        Country code of the holidays added on daily data (``make_model`` passes ``SALES_COUNTRY``).
    seed : int, default 0
        Seed of the path simulation (determinism).
    interval_width : float, default 0.8
        Coverage Prophet estimates from its paths; 80% is well estimated from a hundred paths, wider ones
        would need many more.
    min_weeks : int, default 26
        Weekly data: fewer points fall back to seasonal naive (half a year; yearly seasonality needs more).
    """

    name = "prophet"
    uses_exog = True
    is_global = False

    def __init__(self, freq: str = "D", season_length: int | None = None, uncertainty_samples: int = 100,
                 seasonality_mode: str = "additive", country: str | None = None, seed: int = 0,
                 interval_width: float = 0.8, min_weeks: int = 26):
        super().__init__(freq=freq, season_length=season_length)
        self.uncertainty_samples = uncertainty_samples
        self.seasonality_mode = seasonality_mode
        self.country = country
        self.seed = seed
        self.interval_width = interval_width
        self.min_weeks = min_weeks

    def min_length(self) -> int:
        """``min_weeks`` on weekly data, two seasons on daily data."""
        return int(self.min_weeks) if self.freq == "W" else 2 * self.m

    def _fit_one(self, g: pd.DataFrame):
        _quiet()
        from prophet import Prophet
        daily = self.freq == "D"
        model = Prophet(yearly_seasonality=len(g) >= (365 if daily else 52) + (30 if daily else 8),
                        weekly_seasonality=daily, daily_seasonality=False, interval_width=self.interval_width,
                        uncertainty_samples=int(self.uncertainty_samples), seasonality_mode=self.seasonality_mode)
        if daily and self.country:
            model.add_country_holidays(country_name=self.country)
        candidates = ["promo", "promo_intensity", "is_open", "temp_c"] + ([] if daily else ["is_holiday"])
        cols = [c for c in candidates if c in exog_columns(g) and g[c].std() > 0]
        for c in cols:
            model.add_regressor(c)
        frame = g[["ds", "y", *cols]]
        np.random.seed(int(self.seed))
        model.fit(frame)
        return {"model": model, "cols": cols}

    def _forecast(self, state, frame: pd.DataFrame) -> pd.DataFrame:
        _quiet()
        np.random.seed(int(self.seed))
        return state["model"].predict(frame[["ds", *state["cols"]]])

    def _predict_one(self, state, h: int, xf, levels: tuple[int, ...]) -> dict:
        fc = self._forecast(state, xf)
        yhat = fc["yhat"].to_numpy()
        lo, hi = fc["yhat_lower"].to_numpy(), fc["yhat_upper"].to_numpy()
        base = 100 * self.interval_width
        out = {"yhat": yhat}
        for lv in levels:
            if lv == base:
                out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = lo, hi
                continue
            widen = z_value(lv) / z_value(base)
            out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = yhat - (yhat - lo) * widen, yhat + (hi - yhat) * widen
        # yhat is the mean path while the bounds are quantiles of a hundred simulated paths: with few samples
        # yhat can fall outside them; widen the intervals to contain it (and each narrower one).
        nest_intervals(out, levels)
        return out

    def _fitted_values_one(self, state, g: pd.DataFrame) -> np.ndarray:
        # In-sample component fit without sampling (fast): trend + seasonalities + regressors.
        model = state["model"]
        saved = model.uncertainty_samples
        model.uncertainty_samples = 0
        try:
            return model.predict(g[["ds", *state["cols"]]])["yhat"].to_numpy()
        finally:
            model.uncertainty_samples = saved
