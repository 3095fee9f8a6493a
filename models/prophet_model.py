"""Prophet per series with the country's holidays and promotion/temperature regressors (logging silenced)."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from models.base import LocalForecaster, exog_columns

Z80, Z95 = 1.2815515655446004, 1.959963984540054


def _quiet() -> None:
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).disabled = True


class ProphetForecaster(LocalForecaster):
    """Prophet (MAP fit) per series.

    Daily data: weekly + yearly seasonality and ``add_country_holidays(country)`` (the ``holidays``
    package, offline). Weekly data: yearly seasonality only, holidays through the data's ``is_holiday``
    flag (a holiday date rarely falls on the weekly timestamp). Regressors: ``promo``, ``temp_c`` (and
    ``is_holiday`` on weekly data), dropped per series when constant. The 80% interval comes from
    Prophet's ``uncertainty_samples`` (default 100); the 95% interval is the 80% one widened by the
    Gaussian ratio 1.96/1.28.
    """

    name = "prophet"
    uses_exog = True
    is_global = False

    def min_length(self) -> int:
        return 26 if self.freq == "W" else 2 * self.m  # half a year of weeks; yearly seasonality needs more

    def _fit_one(self, g: pd.DataFrame):
        _quiet()
        from prophet import Prophet
        daily = self.freq == "D"
        model = Prophet(yearly_seasonality=len(g) >= (365 if daily else 52) + (30 if daily else 8),
                        weekly_seasonality=daily, daily_seasonality=False, interval_width=0.8,
                        uncertainty_samples=int(self.hyperparams.get("uncertainty_samples", 100)),
                        seasonality_mode=self.hyperparams.get("seasonality_mode", "additive"))
        if daily and self.hyperparams.get("country"):
            model.add_country_holidays(country_name=self.hyperparams["country"])
        candidates = ["promo", "temp_c"] + ([] if daily else ["is_holiday"])
        cols = [c for c in candidates if c in exog_columns(g) and g[c].std() > 0]
        for c in cols:
            model.add_regressor(c)
        frame = g[["ds", "y", *cols]]
        np.random.seed(int(self.hyperparams.get("seed", 0)))
        model.fit(frame)
        return {"model": model, "cols": cols}

    def _forecast(self, state, frame: pd.DataFrame) -> pd.DataFrame:
        _quiet()
        np.random.seed(int(self.hyperparams.get("seed", 0)))
        return state["model"].predict(frame[["ds", *state["cols"]]])

    def _predict_one(self, state, h: int, xf) -> dict:
        fc = self._forecast(state, xf)
        yhat = fc["yhat"].to_numpy()
        lo, hi = fc["yhat_lower"].to_numpy(), fc["yhat_upper"].to_numpy()
        widen = Z95 / Z80
        return {"yhat": yhat, "yhat_lo_80": lo, "yhat_hi_80": hi,
                "yhat_lo_95": yhat - (yhat - lo) * widen, "yhat_hi_95": yhat + (hi - yhat) * widen}

    def _fitted_values_one(self, state, g: pd.DataFrame) -> np.ndarray:
        # In-sample component fit without sampling (fast): trend + seasonalities + regressors.
        model = state["model"]
        saved = model.uncertainty_samples
        model.uncertainty_samples = 0
        try:
            return model.predict(g[["ds", *state["cols"]]])["yhat"].to_numpy()
        finally:
            model.uncertainty_samples = saved
