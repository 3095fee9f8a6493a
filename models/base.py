"""The forecaster interface every model implements: schema checks on fit, coverage checks and output enforcement on predict."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

EXOG_COLS = ("promo", "is_holiday", "temp_c")
OPTIONAL_EXOG = ("precip_mm",)
OUT_COLS = ["series_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
FREQ_STEP = {"D": pd.Timedelta(days=1), "W": pd.Timedelta(days=7)}
DEFAULT_SEASON = {"D": 7, "W": 52}
YEAR_LENGTH = {"D": 365, "W": 52}
Z80, Z95 = float(stats.norm.ppf(0.9)), float(stats.norm.ppf(0.975))  # once: ppf costs ~0.2 ms a call


def freq_step(freq: str) -> pd.Timedelta:
    """The time between two observations for ``freq`` ('D' or 'W')."""
    try:
        return FREQ_STEP[freq]
    except KeyError:
        raise ValueError(f"freq must be 'D' (daily) or 'W' (weekly), got {freq!r}") from None


def exog_columns(df: pd.DataFrame) -> list[str]:
    """The exogenous columns present in ``df``: the required ones plus ``precip_mm`` when there."""
    return list(EXOG_COLS) + [c for c in OPTIONAL_EXOG if c in df.columns]


def future_dates(last: pd.Timestamp, h: int, freq: str) -> pd.DatetimeIndex:
    """The ``h`` dates following ``last``."""
    step = freq_step(freq)
    return pd.DatetimeIndex([last + step * (k + 1) for k in range(h)])


def fill_gaps(df: pd.DataFrame, freq: str, fill_y: float = 0.0) -> pd.DataFrame:
    """Make every series regular: add missing dates between its first and last date.

    Parameters
    ----------
    df : DataFrame
        Long frame ``series_id, ds, y`` (+ exogenous columns).
    freq : {'D', 'W'}
        Spacing of the dates.
    fill_y : float, default 0.0
        Value for ``y`` on added dates (no recorded sale means no sale).

    Returns
    -------
    DataFrame
        The same columns, one row per series and date, sorted; exogenous gaps are forward/back filled.
    """
    step = freq_step(freq)
    parts = []
    for sid, g in df.sort_values(["series_id", "ds"]).groupby("series_id", sort=False):
        full = pd.date_range(g["ds"].iloc[0], g["ds"].iloc[-1], freq=step)
        if len(full) == len(g):
            parts.append(g)
            continue
        g2 = g.set_index("ds").reindex(full)
        g2.index.name = "ds"
        g2["series_id"] = sid
        g2["y"] = g2["y"].fillna(fill_y)
        other = [c for c in g2.columns if c not in ("series_id", "y")]
        g2[other] = g2[other].ffill().bfill()
        parts.append(g2.reset_index()[g.columns])
    return pd.concat(parts, ignore_index=True) if parts else df.copy()


def normal_intervals(yhat: np.ndarray, sigma: np.ndarray) -> dict[str, np.ndarray]:
    """80% and 95% Gaussian intervals around ``yhat`` with standard deviation ``sigma``."""
    z80, z95 = Z80, Z95
    sigma = np.nan_to_num(np.asarray(sigma, dtype=float), nan=0.0)
    return {"yhat_lo_80": yhat - z80 * sigma, "yhat_hi_80": yhat + z80 * sigma,
            "yhat_lo_95": yhat - z95 * sigma, "yhat_hi_95": yhat + z95 * sigma}


class BaseForecaster:
    """Base class: subclasses set ``name``, ``uses_exog``, ``is_global`` and write ``_fit``/``_predict``.

    ``__init__`` only stores hyperparameters; learned state ends in ``_``. ``fit`` validates the long
    frame (``series_id`` str, ``ds`` datetime, ``y`` float, exogenous columns when ``uses_exog``) and
    ``predict`` returns exactly :data:`OUT_COLS` with ``lo_95 <= lo_80 <= yhat <= hi_80 <= hi_95``.
    """

    name: str = "base"
    uses_exog: bool = False
    is_global: bool = False
    horizon_aware: bool = False  # True when hyperparameter ``horizon`` must cover the forecast horizon

    def __init__(self, freq: str = "D", season_length: int | None = None, **hyperparams):
        self.freq = freq
        self.season_length = season_length
        self.hyperparams = hyperparams

    # ------------------------------------------------------------------ helpers for subclasses
    @property
    def m(self) -> int:
        """The season length (default 7 for daily, 52 for weekly data)."""
        return int(self.season_length or DEFAULT_SEASON.get(self.freq, 1))

    def get_params(self) -> dict:
        return {"freq": self.freq, "season_length": self.season_length, **self.hyperparams}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    # ------------------------------------------------------------------ validation
    def _check_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"fit needs a pandas DataFrame with columns series_id, ds, y; got {type(df).__name__}")
        need = ["series_id", "ds", "y"] + (list(EXOG_COLS) if self.uses_exog else [])
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise ValueError(f"{self.name}: the training frame lacks column(s) {missing}; expected series_id, ds, y"
                             + (f" and exogenous {list(EXOG_COLS)}" if self.uses_exog else ""))
        if df.empty:
            raise ValueError(f"{self.name}: the training frame is empty")
        freq_step(self.freq)
        out = df.copy()
        out["series_id"] = out["series_id"].astype(str)
        if not pd.api.types.is_datetime64_any_dtype(out["ds"]):
            raise ValueError(f"{self.name}: column ds must be datetime64 (use pd.to_datetime), got {out['ds'].dtype}")
        if getattr(out["ds"].dt, "tz", None) is not None:
            raise ValueError(f"{self.name}: ds must be tz-naive; use ds.dt.tz_localize(None)")
        try:
            out["y"] = out["y"].astype(float)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: column y must be numeric") from None
        if out["y"].isna().any() or not np.isfinite(out["y"]).all():
            raise ValueError(f"{self.name}: y has {int((~np.isfinite(out['y'])).sum())} missing/infinite values; "
                             "fill gaps first (models.base.fill_gaps)")
        if out.duplicated(["series_id", "ds"]).any():
            raise ValueError(f"{self.name}: duplicate (series_id, ds) rows; aggregate them first")
        out = out.sort_values(["series_id", "ds"], kind="mergesort").reset_index(drop=True)
        if self.uses_exog:
            out = self._fill_exog(out)
        return out

    def _fill_exog(self, df: pd.DataFrame) -> pd.DataFrame:
        cols = exog_columns(df)
        df[cols] = df[cols].astype(float)
        df[cols] = df.groupby("series_id", sort=False)[cols].transform(lambda s: s.ffill().bfill())
        df[cols] = df[cols].fillna(0.0)
        return df

    def _check_future(self, h: int, X_future: pd.DataFrame | None) -> pd.DataFrame | None:
        if not self.uses_exog:
            return None
        if X_future is None:
            raise ValueError(f"{self.name} uses exogenous regressors: pass X_future with series_id, ds and "
                             f"{list(EXOG_COLS)} for the {h} periods after each series' last date")
        missing = [c for c in ["series_id", "ds", *EXOG_COLS] if c not in X_future.columns]
        if missing:
            raise ValueError(f"{self.name}: X_future lacks column(s) {missing}")
        if "y" in X_future.columns:
            raise ValueError(f"{self.name}: X_future must not contain y (that would leak the future)")
        xf = X_future.copy()
        xf["series_id"] = xf["series_id"].astype(str)
        xf["ds"] = pd.to_datetime(xf["ds"])
        need = self._future_index(h)
        got = need.merge(xf, on=["series_id", "ds"], how="left", indicator=True)
        absent = got[got["_merge"] == "left_only"]
        if len(absent):
            first = absent.iloc[0]
            raise ValueError(f"{self.name}: X_future does not cover {h} periods for every series: "
                             f"{len(absent)} (series, date) pairs missing, e.g. {first['series_id']} at "
                             f"{first['ds'].date()}")
        got = got.drop(columns="_merge")
        cols = [c for c in exog_columns(got) if c in got.columns]
        return self._fill_exog(got[["series_id", "ds", *cols]].copy())

    def _future_index(self, h: int) -> pd.DataFrame:
        step = freq_step(self.freq)
        last = self.last_ds_
        sids = np.repeat(last.index.to_numpy(), h)
        ds = np.repeat(last.to_numpy(), h) + np.tile(np.arange(1, h + 1), len(last)) * step.to_timedelta64()
        return pd.DataFrame({"series_id": sids, "ds": pd.to_datetime(ds)})

    # ------------------------------------------------------------------ public API
    def fit(self, df: pd.DataFrame) -> "BaseForecaster":
        """Fit on a long frame ``series_id, ds, y`` (+ exogenous columns when ``uses_exog``).

        Parameters
        ----------
        df : DataFrame
            One row per series and date, regular spacing (see :func:`fill_gaps`).

        Returns
        -------
        self
        """
        data = self._check_frame(df)
        self.last_ds_ = data.groupby("series_id", sort=True)["ds"].max()
        self.fitted_values_ = None
        self._fit(data)
        self.is_fitted_ = True
        return self

    def predict(self, h: int, X_future: pd.DataFrame | None = None, level=(80, 95)) -> pd.DataFrame:
        """Forecast ``h`` periods after each series' last training date.

        Parameters
        ----------
        h : int
            Number of periods ahead (>= 1).
        X_future : DataFrame, optional
            ``series_id, ds`` and the exogenous columns for those periods; required when ``uses_exog``.
            Must not contain ``y``.
        level : tuple, default (80, 95)
            Interval levels; the output always carries the 80% and 95% intervals.

        Returns
        -------
        DataFrame
            ``series_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95``, ``h`` rows per series.
        """
        if not getattr(self, "is_fitted_", False):
            raise ValueError(f"{self.name}: this model is not fitted yet; call fit first")
        if not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"{self.name}: h must be a positive integer, got {h!r}")
        if tuple(sorted(level)) != (80, 95):
            raise ValueError(f"{self.name}: level must be (80, 95); other levels are not stored")
        xf = self._check_future(int(h), X_future)
        out = self._predict(int(h), xf)
        return self._enforce_output(out, int(h))

    def fitted_values(self) -> pd.DataFrame:
        """In-sample one-step fits ``series_id, ds, y, yhat`` (NaN where undefined) for residual diagnostics."""
        if not getattr(self, "is_fitted_", False):
            raise ValueError(f"{self.name}: this model is not fitted yet; call fit first")
        if self.fitted_values_ is None:
            raise ValueError(f"{self.name} does not provide in-sample fitted values")
        return self.fitted_values_[["series_id", "ds", "y", "yhat"]].reset_index(drop=True)

    def _enforce_output(self, out: pd.DataFrame, h: int) -> pd.DataFrame:
        missing = [c for c in OUT_COLS if c not in out.columns]
        if missing:
            raise ValueError(f"{self.name}._predict returned no column(s) {missing}")
        out = out[OUT_COLS].copy()
        out["series_id"] = out["series_id"].astype(str)
        out["ds"] = pd.to_datetime(out["ds"])
        num = OUT_COLS[2:]
        out[num] = out[num].astype(float)
        if out["yhat"].isna().any():
            raise ValueError(f"{self.name}: produced missing point forecasts")
        y = out["yhat"].to_numpy()
        lo80 = np.fmin(out["yhat_lo_80"].fillna(out["yhat"]).to_numpy(), y)
        hi80 = np.fmax(out["yhat_hi_80"].fillna(out["yhat"]).to_numpy(), y)
        out["yhat_lo_80"], out["yhat_hi_80"] = lo80, hi80
        out["yhat_lo_95"] = np.fmin(out["yhat_lo_95"].fillna(out["yhat_lo_80"]).to_numpy(), lo80)
        out["yhat_hi_95"] = np.fmax(out["yhat_hi_95"].fillna(out["yhat_hi_80"]).to_numpy(), hi80)
        expected = self._future_index(h)
        if len(out) != len(expected) or not expected.merge(out[["series_id", "ds"]], how="inner").shape[0] == len(out):
            raise ValueError(f"{self.name}._predict must return exactly {h} rows per fitted series "
                             f"({len(expected)} rows), got {len(out)}")
        return out.sort_values(["series_id", "ds"], kind="mergesort").reset_index(drop=True)

    def _fit(self, df: pd.DataFrame) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, h: int, X_future: pd.DataFrame | None) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError


class LocalForecaster(BaseForecaster):
    """A model fitted independently per series; subclasses write ``_fit_one`` and ``_predict_one``.

    A series whose own fit fails or is too short (fewer than ``min_length()`` points) falls back to the
    seasonal-naive/naive/mean rules of :mod:`models.naive`; the series ids that fell back are in ``fallbacks_``.
    """

    def min_length(self) -> int:
        return 2 * self.m

    def _fit(self, df: pd.DataFrame) -> None:
        from models.naive import naive_state
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

    def _predict(self, h: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        from models.naive import naive_forecast
        cols = {c: [] for c in OUT_COLS}
        groups = dict(tuple(X_future.groupby("series_id", sort=False))) if X_future is not None else {}
        for sid, state in self.states_.items():
            xf = groups.get(sid)
            if isinstance(state, tuple) and state and state[0] == "fallback":
                res = naive_forecast(state[1], h)
            else:
                res = self._predict_one(state, h, None if xf is None else xf.sort_values("ds").reset_index(drop=True))
            cols["series_id"].append(np.full(h, sid, dtype=object))
            cols["ds"].append(future_dates(self.last_ds_[sid], h, self.freq).to_numpy())
            for c in OUT_COLS[2:]:
                cols[c].append(np.asarray(res[c], dtype=float))
        return pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})

    def _fitted_one(self, state, g: pd.DataFrame) -> np.ndarray:
        from models.naive import naive_fitted
        if isinstance(state, tuple) and state and state[0] == "fallback":
            return naive_fitted(state[1])
        return self._fitted_values_one(state, g)

    def _fitted_values_one(self, state, g: pd.DataFrame) -> np.ndarray:
        return np.full(len(g), np.nan)

    def _fit_one(self, g: pd.DataFrame):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_one(self, state, h: int, xf: pd.DataFrame | None) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError
