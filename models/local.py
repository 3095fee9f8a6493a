"""Per-series models: the machinery that fits one model per series and falls back to seasonal naive when it cannot."""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import BaseForecaster, future_dates
from models.intervals import forecast_columns
from models.naive import naive_fitted, naive_forecast, naive_state


class LocalForecaster(BaseForecaster):
    """A model fitted independently per series; subclasses write ``_fit_one`` and ``_predict_one``.

    A series whose own fit fails or is too short (fewer than ``min_length()`` points) falls back to the
    seasonal-naive/naive/mean rules of :mod:`models.naive`; the series ids that fell back are in ``fallbacks_``.
    """

    def min_length(self) -> int:
        """The shortest history the model itself is fitted on: two seasons."""
        return 2 * self.m

    def _fit(self, df: pd.DataFrame) -> None:
        self.states_, self.fallbacks_ = {}, []
        fitted = {"series_id": [], "ds": [], "y": [], "yhat": []}
        for sid, g in df.groupby("series_id", sort=True):
            g = g.reset_index(drop=True)
            state = None
            if len(g) >= self.min_length():
                try:
                    state = self._fit_one(g)
                except (ValueError, np.linalg.LinAlgError, IndexError, ZeroDivisionError):
                    state = None
            if state is None:
                self.fallbacks_.append(sid)
                state = ("fallback", naive_state(g["y"].to_numpy(), self.m))
            self.states_[sid] = state
            fitted["series_id"].append(np.full(len(g), sid, dtype=object))
            fitted["ds"].append(g["ds"].to_numpy())
            fitted["y"].append(g["y"].to_numpy())
            fitted["yhat"].append(np.asarray(self._fitted_one(state, g), dtype=float))
        self.fitted_values_ = pd.DataFrame({k: np.concatenate(v) for k, v in fitted.items()})

    def _predict(self, h: int, X_future: pd.DataFrame | None, levels: tuple[int, ...]) -> pd.DataFrame:
        names = forecast_columns(levels)
        cols = {c: [] for c in names}
        groups = dict(tuple(X_future.groupby("series_id", sort=False))) if X_future is not None else {}
        for sid, state in self.states_.items():
            xf = groups.get(sid)
            if _is_fallback(state):
                res = naive_forecast(state[1], h, levels)
            else:
                xf = None if xf is None else xf.sort_values("ds").reset_index(drop=True)
                res = self._predict_one(state, h, xf, levels)
            cols["series_id"].append(np.full(h, sid, dtype=object))
            cols["ds"].append(future_dates(self.last_ds_[sid], h, self.freq).to_numpy())
            for c in names[2:]:
                cols[c].append(np.asarray(res[c], dtype=float))
        return pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})

    def _fitted_one(self, state, g: pd.DataFrame) -> np.ndarray:
        if _is_fallback(state):
            return naive_fitted(state[1])
        return self._fitted_values_one(state, g)

    def _fitted_values_one(self, state, g: pd.DataFrame) -> np.ndarray:
        return np.full(len(g), np.nan)

    def _fit_one(self, g: pd.DataFrame):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_one(self, state, h: int, xf: pd.DataFrame | None,
                     levels: tuple[int, ...]) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


def _is_fallback(state) -> bool:
    return isinstance(state, tuple) and bool(state) and state[0] == "fallback"
