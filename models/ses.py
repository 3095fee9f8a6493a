"""Seasonal exponential smoothing vectorised over all series: least-squares seasonal indices plus an SES level."""
from __future__ import annotations

import numpy as np
import pandas as pd

from domain import freq_step
from models.base import BaseForecaster
from models.events import event_flags, recurring_events
from models.intervals import forecast_columns, normal_intervals
from models.naive import naive_forecast, naive_fitted, naive_state

ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8)
SMOOTH_GRID = tuple(float(w) for w in np.round(np.arange(0.0, 1.01, 0.1), 1))


class SeasonalSES(BaseForecaster):
    """Additive seasonal indices from one least-squares fit per series, then simple exponential smoothing.

    For each series, ``y_t = index[t % m] + trend * t (+ yearly Fourier terms on daily data) + sum_e
    beta_e * event_e(t) + noise`` is fitted by least squares (every series of the same span in one matrix
    solve); the series minus its seasonal and event terms is smoothed by SES, whose smoothing weight is the
    one of ``alphas`` with the smallest in-sample one-step squared error. Forecast = last level +
    seasonal index + event terms of the future dates; intervals are the ETS(A,N,N) ones,
    ``sigma^2 (1 + (h - 1) alpha^2)``, plus ``sigma^2 / seasons seen`` for the indices' own estimation error.

    With a long season and little history (two years of weekly data: each of 52 indices is the mean of two
    weeks) the raw indices are noisy, so they are shrunk toward their circular 3-period moving average with
    weight ``smooth``. Series shorter than ``m + max(m // 4, 4)`` use the seasonal-naive/naive/mean rules.

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Season length ``m`` (default 7 daily, 52 weekly).
    smooth : float or 'auto', default 'auto'
        Shrinkage weight of the seasonal indices. 'auto': for seasons of at least ``smooth_min_season``
        periods, the weight of ``smooth_grid`` that best predicts a held-out season
        (:func:`cross_season_smoothing`), because the right amount depends on how noisy and how sharp the
        seasonal shape is; 0 for shorter seasons, whose indices average many periods each.
    events : tuple of str, default ('easter',)
        Moving events of :data:`models.events.MOVING_EVENTS` added as regressors when the history holds at
        least two occurrences; ``()`` for none.
    alphas : tuple of float, default :data:`ALPHAS`
        Candidate SES smoothing weights: from very stable levels (0.02) to fast-moving ones (0.8).
    yearly_harmonics : int, default 4
        Sine/cosine pairs of the yearly shape on daily data with two years or more (the weekly season is the
        index): enough for a smooth yearly curve with a holiday-season bump, few enough not to fit noise.
    smooth_min_season : int, default 26
        Shortest season for which 'auto' smoothing is estimated (half a year of weeks).
    smooth_grid : tuple of float, default :data:`SMOOTH_GRID`
        Weights 'auto' chooses from (0, 0.1, ..., 1).
    warmup : int, default 4
        Points averaged to start the SES level; they are not scored.
    """

    name = "seasonal_ses"
    uses_exog = False
    is_global = True  # one vectorised fit over all series (no parameters are shared between them)

    def __init__(self, freq: str = "D", season_length: int | None = None, smooth="auto", events: tuple = ("easter",),
                 alphas: tuple = ALPHAS, yearly_harmonics: int = 4, smooth_min_season: int = 26,
                 smooth_grid: tuple = SMOOTH_GRID, warmup: int = 4):
        super().__init__(freq=freq, season_length=season_length)
        self.smooth = smooth
        self.events = events
        self.alphas = alphas
        self.yearly_harmonics = yearly_harmonics
        self.smooth_min_season = smooth_min_season
        self.smooth_grid = smooth_grid
        self.warmup = warmup

    def min_length(self) -> int:
        """The shortest history fitted: a season plus a quarter of one (at least 4 points) for the level."""
        return self.m + max(self.m // 4, 4) if self.m > 1 else 8

    def _fit(self, df: pd.DataFrame) -> None:
        self.states_ = {}
        fitted = []
        spans = df.groupby("series_id", sort=True)["ds"].agg(["min", "max"])
        for (start, end), ids in spans.groupby(["min", "max"]).groups.items():
            part = df[df["series_id"].isin(ids)]
            wide = part.pivot(index="series_id", columns="ds", values="y").sort_index()
            mat = wide.to_numpy(dtype=float)
            if mat.shape[1] < self.min_length():
                for sid, row in zip(wide.index, mat):
                    self.states_[sid] = ("fallback", naive_state(row, self.m))
                    fitted.append((sid, wide.columns, row, naive_fitted(self.states_[sid][1])))
                continue
            fit = self._fit_block(mat, pd.DatetimeIndex(wide.columns))
            for i, sid in enumerate(wide.index):
                self.states_[sid] = ("ses", {k: v[i] for k, v in fit.items() if k not in ("fitted", "span")}
                                      | {"span": fit["span"]})
                fitted.append((sid, wide.columns, mat[i], fit["fitted"][i]))
        self.fitted_values_ = pd.DataFrame({
            "series_id": np.concatenate([np.full(len(f[1]), f[0], dtype=object) for f in fitted]),
            "ds": np.concatenate([np.asarray(f[1]) for f in fitted]),
            "y": np.concatenate([f[2] for f in fitted]), "yhat": np.concatenate([f[3] for f in fitted])})

    # ------------------------------------------------------------------ fitting one block of equal spans
    def _terms(self, dates: pd.DatetimeIndex, t: np.ndarray, n: int, events: list[str], flags=None) -> np.ndarray:
        """Yearly Fourier (daily data with two years or more: ``n`` points) and event columns for positions
        ``t`` (dates ``dates``; ``flags``: their :func:`event_flags` when already computed)."""
        cols = []
        if self.freq == "D" and n >= 2 * 365:
            year = 365.25
            for k in range(1, int(self.yearly_harmonics) + 1):
                cols += [np.sin(2 * np.pi * k * t / year), np.cos(2 * np.pi * k * t / year)]
        flags = event_flags(dates, self.freq) if flags is None else flags
        cols += [flags[e] for e in events]
        return np.column_stack(cols) if cols else np.zeros((len(t), 0))

    def _fit_block(self, mat: np.ndarray, dates: pd.DatetimeIndex) -> dict:
        m, n = self.m, mat.shape[1]
        t = np.arange(n, dtype=float)
        flags = event_flags(dates, self.freq)
        events = recurring_events(flags, self.events)
        extra = self._terms(dates, t, n, events, flags)
        design = np.zeros((n, m + 1 + extra.shape[1]))
        design[np.arange(n), np.arange(n) % m] = 1.0
        design[:, m] = t - t.mean()
        design[:, m + 1:] = extra
        coef = np.linalg.lstsq(design, mat.T, rcond=None)[0]
        index = coef[:m].T - coef[:m].T.mean(axis=1, keepdims=True)
        smooth = self.smooth
        if smooth == "auto":
            smooth = cross_season_smoothing(mat, m, self.smooth_grid) if m >= self.smooth_min_season else 0.0
        index = _smooth(index, float(smooth))
        extra_coef = coef[m + 1:].T
        season = index[:, np.arange(n) % m] + extra_coef @ extra.T
        level, alpha, sigma, one_step = _ses(mat - season, np.asarray(self.alphas), int(self.warmup))
        return {"index": index, "extra_coef": extra_coef, "level": level, "alpha": alpha, "sigma": sigma,
                "fitted": one_step + season,
                "span": (dates[0], n, tuple(events))}

    # ------------------------------------------------------------------ forecasting
    def _predict(self, h: int, X_future, levels: tuple[int, ...]) -> pd.DataFrame:
        idx = self._future_index(h)
        steps = np.arange(1, h + 1)
        sids = list(self.last_ds_.index)
        out = {c: np.empty((len(sids), h)) for c in forecast_columns(levels)[2:]}
        blocks: dict = {}
        for row, sid in enumerate(sids):
            kind, st = self.states_[sid]
            if kind == "fallback":
                for c, v in naive_forecast(st, h, levels).items():
                    out[c][row] = v
            else:
                blocks.setdefault(st["span"], []).append(row)
        for (start, n, events), rows in blocks.items():  # series of one span share their future terms
            sts = [self.states_[sids[r]][1] for r in rows]
            t = np.arange(n, n + h, dtype=float)
            extra = self._terms(pd.DatetimeIndex(start + freq_step(self.freq) * t.astype(int)), t, n, list(events))
            level = np.array([st["level"] for st in sts])
            index = np.stack([st["index"] for st in sts])[:, np.arange(n, n + h) % self.m]
            coef = np.stack([st["extra_coef"] for st in sts])
            yhat = level[:, None] + index + coef @ extra.T
            alpha = np.array([st["alpha"] for st in sts])[:, None]
            sigma = np.array([st["sigma"] for st in sts])[:, None]
            seasons_seen = max(n / self.m, 1.0)
            sd = sigma * np.sqrt(1 + (steps[None, :] - 1) * alpha ** 2 + 1 / seasons_seen)
            for c, v in {"yhat": yhat, **normal_intervals(yhat, sd, levels)}.items():
                out[c][rows] = v
        return idx.assign(**{c: v.ravel() for c, v in out.items()})



def _smooth(index: np.ndarray, weight: float) -> np.ndarray:
    """Shrink each row of seasonal indices toward its circular 3-period moving average by ``weight``."""
    if not weight:
        return index
    neighbours = (np.roll(index, 1, axis=1) + index + np.roll(index, -1, axis=1)) / 3
    return (1 - weight) * index + weight * neighbours


def cross_season_smoothing(mat: np.ndarray, m: int, grid=SMOOTH_GRID) -> float:
    """The smoothing weight of ``grid`` whose indices best predict a held-out season.

    Leave-one-season-out over the last full seasons of every series of the block (pooled): each season's
    values minus their mean are predicted by the smoothed mean of the other seasons' demeaned values, and
    the weight with the smallest total absolute error wins. With fewer than two full seasons: 0. Chosen
    from the data because the right amount depends on how noisy and how sharp the seasonal shape is.
    """
    k = mat.shape[1] // m
    if k < 2:
        return 0.0
    seasons = [mat[:, mat.shape[1] - (j + 1) * m: mat.shape[1] - j * m] for j in range(k)]
    demeaned = [x - x.mean(axis=1, keepdims=True) for x in seasons]
    errors = []
    for w in grid:
        err = 0.0
        for j in range(k):
            others = np.mean([demeaned[i] for i in range(k) if i != j], axis=0)
            err += float(np.abs(demeaned[j] - _smooth(others, w)).sum())
        errors.append(err)
    return float(grid[int(np.argmin(errors))])


def _ses(z: np.ndarray, alphas: np.ndarray, warmup: int = 4) -> tuple[np.ndarray, ...]:
    """Simple exponential smoothing of every row of ``z``, each with its best smoothing weight of ``alphas``.

    Returns the final level, the chosen weight, the RMS one-step error and the one-step fits per row. The
    level starts at the mean of the first ``warmup`` points, which are not scored.
    """
    rows, n = z.shape
    warm = min(warmup, n - 1)

    def run(alpha: np.ndarray, keep: bool):
        level = z[:, :warm].mean(axis=1)
        sse = np.zeros(rows)
        fits = np.empty_like(z) if keep else None
        for k in range(n):
            err = z[:, k] - level
            if keep:
                fits[:, k] = level
            if k >= warm:
                sse += err * err
            level = level + alpha * err
        return level, sse, fits

    best_sse = np.full(rows, np.inf)
    best_alpha = np.full(rows, alphas[0], dtype=float)
    for a in alphas:
        _, sse, _ = run(np.full(rows, a), keep=False)
        better = sse < best_sse
        best_sse[better], best_alpha[better] = sse[better], a
    level, sse, fits = run(best_alpha, keep=True)
    fits[:, :warm] = np.nan
    sigma = np.sqrt(sse / max(n - warm, 1))
    return level, best_alpha, sigma, fits
