"""The forecaster interface every model implements: schema checks on fit, coverage checks and output enforcement on predict."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

# DEFAULT_SEASON, OPTIONAL_EXOG and freq_step are re-exported for callers that import them from here.
from domain import DEFAULT_LEVELS, DEFAULT_SEASON, EXOG_COLS, OPTIONAL_EXOG, freq_step  # noqa: F401
from models.intervals import as_levels, forecast_columns

DEFAULT_HORIZON = {"D": 42, "W": 6}  # six weeks: the refresh's default horizon and the tree models' default


def exog_columns(df: pd.DataFrame) -> list[str]:
    """The exogenous columns present in ``df``: the required ones plus the optional ones there (``precip_mm``,
    ``promo_intensity``, ``price``, ``is_open``)."""
    return list(EXOG_COLS) + [c for c in OPTIONAL_EXOG if c in df.columns]


def future_dates(last: pd.Timestamp, h: int, freq: str) -> pd.DatetimeIndex:
    """The ``h`` dates following ``last``."""
    step = freq_step(freq)
    return pd.DatetimeIndex([last + step * (k + 1) for k in range(h)])


def sort_by_series(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` sorted by ``series_id, ds`` (stable) with a fresh index; a frame already in that order (as the
    refresh's frames are) is not sorted, which would copy it whole for the same rows."""
    if pd.MultiIndex.from_arrays([df["series_id"], df["ds"]]).is_monotonic_increasing:
        return df.reset_index(drop=True)
    return df.sort_values(["series_id", "ds"], kind="mergesort").reset_index(drop=True)


class BaseForecaster(BaseEstimator):
    """Base class of every model: subclasses set ``name``, ``uses_exog``, ``is_global`` and write ``_fit``/``_predict``.

    Follows the scikit-learn estimator conventions: ``__init__`` takes every hyperparameter as an explicit
    keyword argument and stores it unchanged under the same name (no validation there), so ``get_params``,
    ``set_params`` and ``sklearn.base.clone`` work by introspection and a misspelt name is an error. Learned
    state ends in ``_``; fitting twice gives the same result as fitting once. ``fit`` validates the long
    frame (``series_id`` str, ``ds`` datetime, ``y`` float, exogenous columns when ``uses_exog``) and
    ``predict`` returns ``series_id, ds, yhat`` and the interval columns of the requested coverage levels,
    with ``lo_95 <= lo_80 <= yhat <= hi_80 <= hi_95`` (a model breaking that order raises).

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
        Spacing of the dates.
    season_length : int, optional
        Season length ``m``; default 7 for daily and 52 for weekly data (:data:`domain.DEFAULT_SEASON`).
    """

    name: str = "base"
    uses_exog: bool = False
    is_global: bool = False
    # fitted_values() recomputes the in-sample fits when fitted_values_ is None (else they are made by fit)
    fitted_on_demand: bool = False
    horizon_aware: bool = False  # True when hyperparameter ``horizon`` must cover the forecast horizon

    def __init__(self, freq: str = "D", season_length: int | None = None):
        self.freq = freq
        self.season_length = season_length

    # ------------------------------------------------------------------ helpers for subclasses
    @property
    def m(self) -> int:
        """The season length (default 7 for daily, 52 for weekly data)."""
        return int(self.season_length or DEFAULT_SEASON.get(self.freq, 1))

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
        out = df.copy(deep=False)  # copy-on-write: the caller's frame is never changed, nor copied whole
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
                             "fill gaps first (one row per series and date)")
        if out.duplicated(["series_id", "ds"]).any():
            raise ValueError(f"{self.name}: duplicate (series_id, ds) rows; aggregate them first")
        out = sort_by_series(out)
        if self.uses_exog:
            out = self._fill_exog(out)
        return out

    def _fill_exog(self, df: pd.DataFrame) -> pd.DataFrame:
        cols = exog_columns(df)
        df[cols] = df[cols].astype(float)
        df[cols] = df.groupby("series_id", sort=False)[cols].transform(lambda s: s.ffill().bfill())
        if "is_open" in cols:  # an unknown open flag means open
            df["is_open"] = df["is_open"].fillna(1.0)
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
            One row per series and date, regular spacing.

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

    def predict(self, h: int, X_future: pd.DataFrame | None = None, level=DEFAULT_LEVELS) -> pd.DataFrame:
        """Forecast ``h`` periods after each series' last training date.

        Parameters
        ----------
        h : int
            Number of periods ahead (>= 1).
        X_future : DataFrame, optional
            ``series_id, ds`` and the exogenous columns for those periods; required when ``uses_exog``.
            Must not contain ``y``.
        level : int or list of int, default (80, 95)
            Coverage levels in percent (like statsforecast's ``level=[80, 95]``), e.g. ``[50, 80, 99]``.

        Returns
        -------
        DataFrame
            ``series_id, ds, yhat`` and ``yhat_lo_<level>, yhat_hi_<level>`` for each level (ascending),
            ``h`` rows per series; the default levels give :data:`domain.FORECAST_COLS`.

        Raises
        ------
        ValueError
            When the model is not fitted, ``h`` or ``level`` is invalid, ``X_future`` does not cover the
            horizon, or the model returns intervals in the wrong order.
        """
        if not getattr(self, "is_fitted_", False):
            raise ValueError(f"{self.name}: this model is not fitted yet; call fit first")
        if not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"{self.name}: h must be a positive integer, got {h!r}")
        levels = as_levels(level)
        xf = self._check_future(int(h), X_future)
        out = self._predict(int(h), xf, levels)
        return self._enforce_output(out, int(h), levels)

    def fitted_values(self) -> pd.DataFrame:
        """In-sample one-step fits ``series_id, ds, y, yhat`` (NaN where undefined) for residual diagnostics."""
        if not getattr(self, "is_fitted_", False):
            raise ValueError(f"{self.name}: this model is not fitted yet; call fit first")
        if self.fitted_values_ is None:
            raise ValueError(f"{self.name} does not provide in-sample fitted values")
        return self.fitted_values_[["series_id", "ds", "y", "yhat"]].reset_index(drop=True)

    def _enforce_output(self, out: pd.DataFrame, h: int, levels: tuple[int, ...]) -> pd.DataFrame:
        cols = forecast_columns(levels)
        missing = [c for c in cols if c not in out.columns]
        if missing:
            raise ValueError(f"{self.name}._predict returned no column(s) {missing}")
        out = out[cols].copy()
        out["series_id"] = out["series_id"].astype(str)
        out["ds"] = pd.to_datetime(out["ds"])
        out[cols[2:]] = out[cols[2:]].astype(float)
        if out["yhat"].isna().any():
            raise ValueError(f"{self.name}: produced missing point forecasts")
        # A bound the model cannot give (NaN) collapses onto the next narrower one (the point for the narrowest).
        inner_lo = inner_hi = "yhat"
        for lv in levels:
            lo, hi = f"yhat_lo_{lv}", f"yhat_hi_{lv}"
            out[lo] = out[lo].fillna(out[inner_lo])
            out[hi] = out[hi].fillna(out[inner_hi])
            self._check_order(out, lo, inner_lo)
            self._check_order(out, inner_hi, hi)
            inner_lo, inner_hi = lo, hi
        expected = self._future_index(h)
        if len(out) != len(expected) or not expected.merge(out[["series_id", "ds"]], how="inner").shape[0] == len(out):
            raise ValueError(f"{self.name}._predict must return exactly {h} rows per fitted series "
                             f"({len(expected)} rows), got {len(out)}")
        return out.sort_values(["series_id", "ds"], kind="mergesort").reset_index(drop=True)

    def _check_order(self, out: pd.DataFrame, below: str, above: str) -> None:
        """Raise when column ``below`` exceeds column ``above`` anywhere (intervals must nest around yhat)."""
        bad = (out[below] > out[above]).to_numpy()
        if bad.any():
            row = out.loc[bad].iloc[0]
            raise ValueError(f"{self.name}: prediction intervals out of order for series {row['series_id']} at "
                             f"{row['ds'].date()}: {below}={row[below]:.6g} > {above}={row[above]:.6g} "
                             f"({int(bad.sum())} rows); every model must give lo_95 <= lo_80 <= yhat <= hi_80 <= hi_95")

    def _fit(self, df: pd.DataFrame) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, h: int, X_future: pd.DataFrame | None,
                 levels: tuple[int, ...]) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError
