"""Seasonal-naive baseline, its denoised variant pooled over groups of series (SeasonalSVD), and the naive/mean fallbacks of every local model."""
from __future__ import annotations

import numpy as np
import pandas as pd

from domain import DEFAULT_LEVELS
from models.base import BaseForecaster
from models.events import event_flags, recurring_events
from models.intervals import normal_intervals


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


def naive_forecast(state: dict, h: int, levels=DEFAULT_LEVELS) -> dict:
    """Point forecasts and Gaussian intervals at coverage ``levels`` for ``h`` steps from :func:`naive_state`.

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
    return {"yhat": yhat, **normal_intervals(yhat, sd, levels)}


def naive_fitted(state: dict) -> np.ndarray:
    """In-sample one-step fits: ``y[t - m]`` (NaN for the first m points; the mean for the mean method)."""
    y, m = state["y"], state["m"]
    out = np.full(len(y), np.nan)
    if m:
        out[m:] = y[:-m]
    else:
        out[:] = np.mean(y) if len(y) else np.nan
    return out


class SeasonalNaive(BaseForecaster):
    """Repeat the last observed season: the baseline every metric is compared with (MASE's denominator).

    Each series is independent (seasonal naive, or naive/mean when it is too short: :func:`naive_state`), but
    all are fitted in one pass over the sorted frame rather than as a local model per series: that costs
    milliseconds instead of the per-series machinery's overhead, which adds up over thousands of series.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        The lag repeated (default 7 daily, 52 weekly).
    """

    name = "seasonal_naive"
    uses_exog = False
    is_global = True

    def __init__(self, freq: str = "D", season_length: int | None = None):
        super().__init__(freq=freq, season_length=season_length)

    def _fit(self, df: pd.DataFrame) -> None:
        sids = df["series_id"].to_numpy()
        y = df["y"].to_numpy(dtype=float)
        starts = np.unique(sids, return_index=True)[1]  # df is sorted by series_id, ds
        bounds = np.append(np.sort(starts), len(y))
        ids = sids[bounds[:-1]]
        fitted = np.full(len(y), np.nan)
        self.states_ = {}
        for sid, lo, hi in zip(ids, bounds[:-1], bounds[1:]):
            state = naive_state(y[lo:hi], self.m)
            self.states_[sid] = state
            fitted[lo:hi] = naive_fitted(state)
        self.fitted_values_ = df[["series_id", "ds", "y"]].assign(yhat=fitted)

    def _predict(self, h: int, X_future, levels: tuple[int, ...]) -> pd.DataFrame:
        idx = self._future_index(h)
        parts = [naive_forecast(self.states_[sid], h, levels) for sid in self.last_ds_.index]
        return idx.assign(**{c: np.concatenate([p[c] for p in parts]) for c in parts[0]})


def _svd_denoise(mat: np.ndarray, rank: int) -> np.ndarray:
    """Best rank-``rank`` approximation of ``mat`` (rows = series), or ``mat`` when it has too few rows."""
    if mat.shape[0] <= rank:
        return mat
    u, s, vt = np.linalg.svd(mat, full_matrices=False)
    return (u[:, :rank] * s[:rank]) @ vt[:rank]


def event_effects(mat: np.ndarray, dates: pd.DatetimeIndex, m: int, freq: str, names) -> tuple[list, np.ndarray]:
    """Per-row effects of the moving events in ``names`` on ``mat`` (rows = series, columns = ``dates``).

    Least squares of each row on seasonal-position dummies (``t % m``) and the event flags, so an event's
    effect is how far its weeks stand above the same positions in the other seasons. Only events seen at
    least twice, and only when they are identifiable (the design has full column rank); else none.

    Returns
    -------
    (events, coef)
        The event column names used and a ``(rows, len(events))`` array of effects.
    """
    n = mat.shape[1]
    flags = event_flags(dates, freq)
    events = recurring_events(flags, names)
    none = ([], np.zeros((mat.shape[0], 0)))
    if not events or n < m + 2:
        return none
    design = np.zeros((n, m + len(events)))
    design[np.arange(n), np.arange(n) % m] = 1.0
    design[:, m:] = np.column_stack([flags[e] for e in events])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return none
    coef = np.linalg.lstsq(design, mat.T, rcond=None)[0]
    return events, coef[m:].T


class SeasonalSVD(BaseForecaster):
    """Seasonal naive on a denoised history: a global model pooling the series of each group (e.g. product).

    The series are grouped by the column ``group_col`` of the training frame (one group when the frame
    has no such column; series whose value is missing form one group together); each group's series x time
    matrix over the last ``n_seasons * m`` periods is replaced by its best rank-``rank`` approximation,
    which keeps the shared seasonal shape and drops store-specific noise (the SVD preprocessing of the
    winning Kaggle Walmart solution). The forecast repeats the denoised last season plus ``level_weight`` x
    the change between the last ``level_window`` periods and the same periods one season earlier. Moving
    events (``events``, see :mod:`models.events`) seen at least twice in the window are taken out of the
    repeated season and put back on the future dates they fall on, each with its per-series effect from a
    least-squares fit of the denoised window on seasonal positions and event flags (:func:`event_effects`).
    Intervals: seasonal-naive Gaussian intervals from the residuals ``y_t - forecast_t``.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Season length ``m`` (default 7 daily, 52 weekly).
    rank : int, default 5
        Components kept per group: a few shared seasonal shapes; more let store-level noise back in,
        fewer flatten real differences between stores. A group with at most ``rank`` series is kept as is.
    level_weight : float, optional
        Weight of the recent level change added to the repeated season. Default 0.5 for weekly data (a
        year-ago season misses half of this year's drift) and 0 for daily data (a week-ago season already
        carries the current level).
    events : tuple of str, default ('easter',)
        Moving events of :data:`models.events.MOVING_EVENTS` to move to their dates; ``()`` for none.
    group_col : str or None, default 'product_id'
        Column of the training frame whose value (constant per series) defines the pooling groups; the
        model never reads the series keys. None: one group.
    n_seasons : int, default 2
        Seasons of history denoised: two is the fewest that separate a seasonal shape from one season's noise,
        and older seasons would pull in stale levels.
    level_window : int, optional
        Periods whose mean defines the recent level (default ``ceil(m / 4)``: a month of weeks, two days of a week).
    """

    name = "seasonal_svd"
    uses_exog = False
    is_global = True

    def __init__(self, freq: str = "D", season_length: int | None = None, rank: int = 5,
                 level_weight: float | None = None, events: tuple = ("easter",), group_col: str | None = "product_id",
                 n_seasons: int = 2, level_window: int | None = None):
        super().__init__(freq=freq, season_length=season_length)
        self.rank = rank
        self.level_weight = level_weight
        self.events = events
        self.group_col = group_col
        self.n_seasons = n_seasons
        self.level_window = level_window

    def _groups(self, df: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
        """The pooling group of each series of ``ids`` (``'*'`` without a group column or value)."""
        if self.group_col is None or self.group_col not in df.columns:
            return np.full(len(ids), "*", dtype=object)
        first = df.groupby("series_id", sort=False)[self.group_col].first().reindex(ids)
        return np.asarray([("*" if pd.isna(v) else str(v)) for v in first], dtype=object)

    def _fit(self, df: pd.DataFrame) -> None:
        m = self.m
        lw = float(self.level_weight if self.level_weight is not None else (0.5 if self.freq == "W" else 0.0))
        window = int(self.n_seasons) * m
        wide = df.pivot(index="series_id", columns="ds", values="y").sort_index()
        wide = wide.iloc[:, -window:] if wide.shape[1] > window else wide
        mat = wide.to_numpy(dtype=float)
        observed = np.isfinite(mat)
        mat = np.where(observed, mat, 0.0)
        ids = wide.index.to_numpy()
        parts = self._groups(df, ids)
        den = np.empty_like(mat)
        for grp in np.unique(parts):
            idx = np.flatnonzero(parts == grp)
            den[idx] = _svd_denoise(mat[idx], int(self.rank))
        k = int(self.level_window) if self.level_window else max(1, int(np.ceil(m / 4)))
        if mat.shape[1] >= m + k:
            level = lw * (den[:, -k:].mean(axis=1) - den[:, -m - k:-m].mean(axis=1))
        else:
            level = np.zeros(len(ids))
        dates = pd.DatetimeIndex(wide.columns)
        self.events_, self.event_coef_ = event_effects(den, dates, m, self.freq, self.events)
        if self.events_:  # the repeated season without last year's events (added back where they recur)
            flags = event_flags(dates[-m:], self.freq)
            den = den.copy()
            den[:, -m:] -= self.event_coef_ @ np.stack([flags[e] for e in self.events_])
        self.season_ = {}
        fitted = []
        groups = {sid: g for sid, g in df.groupby("series_id", sort=False)}
        for i, sid in enumerate(ids):
            row, ok = den[i], observed[i]
            season = row[-m:] if len(row) >= m else np.full(m, row[ok].mean() if ok.any() else 0.0)
            y_full = groups[sid]["y"].to_numpy()
            resid = (mat[i, m:] - den[i, :-m])[ok[m:] & ok[:-m]] if len(row) > m else y_full - y_full.mean()
            sigma = float(np.sqrt(np.mean(resid ** 2))) if len(resid) else 0.0
            self.season_[sid] = (season + level[i], sigma, self.event_coef_[i])
            fv = np.full(len(y_full), np.nan)
            n_den = len(row)
            if n_den > m:
                fv[-(n_den - m):] = den[i, :-m][-min(len(y_full), n_den - m):]
            fitted.append(pd.DataFrame({"series_id": sid, "ds": groups[sid]["ds"].to_numpy(),
                                        "y": y_full, "yhat": fv}))
        self.fitted_values_ = pd.concat(fitted, ignore_index=True)

    def _predict(self, h: int, X_future, levels: tuple[int, ...]) -> pd.DataFrame:
        idx = self._future_index(h)
        steps = np.arange(1, h + 1)
        sids = list(self.last_ds_.index)
        season = np.stack([self.season_[sid][0] for sid in sids])
        sigma = np.array([self.season_[sid][1] for sid in sids])
        m = season.shape[1]
        yhat = season[:, (steps - 1) % m]
        if self.events_:
            flags = event_flags(pd.DatetimeIndex(idx["ds"]), self.freq)
            coef = np.stack([self.season_[sid][2] for sid in sids])
            for k, e in enumerate(self.events_):
                yhat = yhat + coef[:, [k]] * flags[e].reshape(len(sids), h)
        sd = sigma[:, None] * np.sqrt((steps - 1) // m + 1)[None, :]
        cols = {"yhat": yhat, **normal_intervals(yhat, sd, levels)}
        return idx.assign(**{c: v.ravel() for c, v in cols.items()})
