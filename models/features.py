"""Leakage-free features for the global tree models: lags >= horizon, rolling statistics, calendar, exogenous, codes."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.events import event_flags

YEAR_LAGS = {"D": (364,), "W": (51, 52, 53)}
YEAR_AGO = {"D": pd.Timedelta(days=364), "W": pd.Timedelta(weeks=52)}  # the main year lag
ROLL_WINDOWS = {"D": (7, 28, 91), "W": (4, 13, 52)}
MAX_SERIES_CODES = 500
# Steps to/since the nearest holiday are capped: beyond about a month (daily) or two months (weekly) a holiday no
# longer moves sales, and a cap keeps the feature's range the same for every series.
HOLIDAY_DISTANCE_CAP = {"D": 30, "W": 8}


def lag_set(horizon: int, m: int, freq: str) -> list[int]:
    """The lags a direct model forecasting up to ``horizon`` steps ahead may use (all ``>= horizon``).

    Parameters
    ----------
    horizon : int
        The largest step ahead the model will be asked for.
    m : int
        Season length.
    freq : {'D', 'W'}

    Returns
    -------
    list of int
        A block of ``min(m, 7)`` consecutive lags starting at ``horizon``, the next three multiples of
        ``m`` (for daily data: same weekday), and the year-ago lags, all ``>= horizon``.
    """
    lags = set(range(horizon, horizon + min(m, 7)))
    first = math.ceil(horizon / m) * m
    lags |= {first + k * m for k in range(3)}
    lags |= {lag for lag in YEAR_LAGS.get(freq, ()) if lag >= horizon}
    return sorted(lags)


def _group_rolling(values: np.ndarray, starts: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling mean and std over ``window`` rows inside contiguous groups (NaN-aware), via cumulative sums."""
    v = np.nan_to_num(values, nan=0.0)
    ok = (~np.isnan(values)).astype(float)
    cs = np.concatenate([[0.0], np.cumsum(v)])
    cs2 = np.concatenate([[0.0], np.cumsum(v * v)])
    cn = np.concatenate([[0.0], np.cumsum(ok)])
    idx = np.arange(len(values))
    lo = np.maximum(starts, idx - window + 1)
    n = cn[idx + 1] - cn[lo]
    s = cs[idx + 1] - cs[lo]
    s2 = cs2[idx + 1] - cs2[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        var = np.where(n > 1, (s2 - n * mean ** 2) / np.maximum(n - 1, 1), np.nan)
    return mean, np.sqrt(np.clip(var, 0, None))


def _steps_to_event(flag: np.ndarray, starts: np.ndarray, forward: bool, cap: int) -> np.ndarray:
    """Steps until the next (forward) or since the last flagged row within each group, capped at ``cap``."""
    n = len(flag)
    out = np.full(n, cap, dtype=float)
    order = range(n - 1, -1, -1) if forward else range(n)
    group_start = np.zeros(n, dtype=bool)
    group_start[starts] = True
    group_end = np.roll(group_start, -1)
    group_end[-1] = True
    dist = cap
    for i in order:
        if (forward and group_end[i]) or (not forward and group_start[i]):
            dist = cap
        dist = 0 if flag[i] else min(dist + 1, cap)
        out[i] = dist
    return out


def price_ratio(df: pd.DataFrame) -> np.ndarray:
    """Each row's price over its series' median price (1 where unknown): a relative price one global model can
    read across cheap and dear products (the median of history and horizon rows; no y involved)."""
    price = df["price"].astype(float).where(lambda p: p > 0)
    med = price.groupby(df["series_id"].to_numpy(), sort=False).transform("median")
    return (price / med).fillna(1.0).to_numpy(dtype=float)


def hierarchy_codes(df: pd.DataFrame, cols) -> pd.DataFrame:
    """Each series' members (e.g. its store and product) from the hierarchy columns ``cols`` of ``df``.

    Parameters
    ----------
    df : DataFrame
        ``series_id`` and any of ``cols``; missing values mean the series has no such member (an aggregate).
    cols : iterable of str
        Hierarchy columns; a column absent from ``df`` or missing for every series is left out.

    Returns
    -------
    DataFrame
        Index ``series_id``, one string column per used hierarchy column in the order of ``cols``, ``""``
        where a series has no such member. The features of :func:`build_features` map series to these values,
        so the future rows of a forecast get them too.
    """
    used = [c for c in cols if c in df.columns and df[c].notna().any()]
    first = df.groupby(df["series_id"].astype(str), sort=False)[used].first()  # first non-missing value
    return first.apply(lambda col: col.map(lambda v: "" if pd.isna(v) else str(v))) if used else first


def series_codes(series_ids: pd.Series, hierarchy: pd.DataFrame | None = None) -> pd.DataFrame:
    """Categorical values for the series id and for each member of the series (``hier_<column>``).

    ``hierarchy`` (from :func:`hierarchy_codes`) gives e.g. columns ``hier_product_id`` and ``hier_store_id``
    (so a global model can learn what one product does across stores). ``series_code`` is added only up to
    ``MAX_SERIES_CODES`` series.
    """
    sid = series_ids.astype(str)
    # A categorical with thousands of levels is slow in LightGBM and overfits; hierarchy members suffice then.
    out = pd.DataFrame({"series_code": sid} if sid.nunique() <= MAX_SERIES_CODES else {}, index=series_ids.index)
    for col in ([] if hierarchy is None else hierarchy.columns):
        out[f"hier_{col}"] = sid.map(hierarchy[col])
    return out


def calendar_event_features(ds: pd.Series, freq: str) -> dict[str, np.ndarray]:
    """Moving-event flags (:mod:`models.events`) on each row's date and one year earlier.

    The year-ago flag tells the model that ``lag_52`` (``lag_364``) was an event week, so it does not
    copy last year's Easter peak onto this year's ordinary week. Calendar only: no y, no leakage.
    """
    dates = pd.DatetimeIndex(ds.unique())
    year_ago = YEAR_AGO.get(freq, pd.Timedelta(days=364))
    now, before = event_flags(dates, freq), event_flags(dates - year_ago, freq)
    pos = dates.get_indexer(pd.DatetimeIndex(ds))
    out = {}
    for event in now:
        out[f"event_{event}"] = now[event][pos]
        out[f"event_{event}_year_ago"] = before[event][pos]
    return out


def build_features(df: pd.DataFrame, horizon: int, m: int, freq: str, scale: pd.Series,
                   hierarchy: pd.DataFrame | None = None, rows: np.ndarray | None = None) -> pd.DataFrame:
    """The feature matrix for every row of ``df`` (history rows and future rows with ``y`` NaN).

    Parameters
    ----------
    df : DataFrame
        ``series_id, ds, y`` and exogenous columns, sorted by series and date, regular spacing.
    horizon : int
        Every y-derived feature uses lags ``>= horizon``, so a row ``horizon`` steps past the last
        observation only sees observed values (direct strategy: no recursion, no leakage).
    m : int
        Season length.
    freq : {'D', 'W'}
    scale : Series
        Per-series scale (index series_id); y is divided by it so one model fits big and small series.
    hierarchy : DataFrame, optional
        Each series' members (index series_id, from :func:`hierarchy_codes`), one categorical feature each.
    rows : ndarray, optional
        Only these rows (a boolean mask or positions) of the result: each feature is still computed over all
        of ``df`` (lags and rolling windows read the earlier rows) and cut as it is made, so a forecast that
        needs a few rows past a long history never holds the whole history's matrix. The values are those of
        the same rows of the full matrix (categoricals keep the categories of all rows).

    Returns
    -------
    DataFrame
        Numeric and categorical features, same index as ``df`` (``rows``: those rows of it).
    """
    def cut(values):
        return values if rows is None else values[rows]

    sid = df["series_id"].to_numpy()
    starts_mask = np.r_[True, sid[1:] != sid[:-1]]
    starts = np.maximum.accumulate(np.where(starts_mask, np.arange(len(df)), 0))
    sc = df["series_id"].map(scale).to_numpy(dtype=float)
    ys = pd.Series(df["y"].to_numpy(dtype=float) / sc, index=df.index)
    g = ys.groupby(df["series_id"].to_numpy(), sort=False)
    feats = {}
    lags = lag_set(horizon, m, freq)
    for lag in lags:
        feats[f"lag_{lag}"] = cut(g.shift(lag).to_numpy())
    seasonal = [lag for lag in lags if lag % m == 0 and lag < 4 * m + horizon][:3]
    if seasonal:  # row by row: the same on the cut rows
        stack = np.column_stack([feats[f"lag_{s}"] for s in seasonal])
        cnt = np.isfinite(stack).sum(axis=1)
        feats["seasonal_mean"] = np.where(cnt > 0, np.nansum(stack, axis=1) / np.maximum(cnt, 1), np.nan)
    promo_col = next((c for c in ("promo_intensity", "promo") if c in df.columns), None)
    if promo_col is not None and seasonal:  # was each seasonal lag a promotion day? (planned inputs, no y)
        pg = pd.Series(df[promo_col].to_numpy(dtype=float), index=df.index).groupby(sid, sort=False)
        for lag in seasonal:
            feats[f"promo_lag_{lag}"] = cut(pg.shift(lag).to_numpy())
    base = g.shift(horizon).to_numpy()
    for w in ROLL_WINDOWS.get(freq, (m,)):
        mean, std = _group_rolling(base, starts, w)
        feats[f"roll_mean_{w}"] = cut(mean)
        if w == ROLL_WINDOWS.get(freq, (m,))[1]:
            feats[f"roll_std_{w}"] = cut(std)
    del base
    ds = df["ds"]
    feats["week_of_year"] = cut(ds.dt.isocalendar().week.to_numpy(dtype=float))
    feats["month"] = cut(ds.dt.month.to_numpy(dtype=float))
    feats["day_of_year"] = cut(ds.dt.dayofyear.to_numpy(dtype=float))
    if freq == "D":
        feats["dow"] = cut(ds.dt.dayofweek.to_numpy(dtype=float))
        feats["day_of_month"] = cut(ds.dt.day.to_numpy(dtype=float))
    for col in ("promo", "promo_intensity", "is_open", "is_holiday", "temp_c", "precip_mm"):
        if col in df.columns:
            feats[col] = cut(df[col].to_numpy(dtype=float, copy=True))  # owned: the frame below shares it
    if "price" in df.columns:
        feats["price_ratio"] = cut(price_ratio(df))
    if "is_holiday" in df.columns:
        flag = df["is_holiday"].fillna(0).to_numpy() > 0
        cap = HOLIDAY_DISTANCE_CAP.get(freq, HOLIDAY_DISTANCE_CAP["W"])
        feats["steps_to_holiday"] = cut(_steps_to_event(flag, np.flatnonzero(starts_mask), True, cap))
        feats["steps_since_holiday"] = cut(_steps_to_event(flag, np.flatnonzero(starts_mask), False, cap))
    feats.update({k: cut(v) for k, v in calendar_event_features(ds, freq).items()})
    feats["log_scale"] = cut(np.log1p(np.abs(sc)))
    # copy=False: the columns are this function's own arrays; a copy into one block would double the matrix
    out = pd.DataFrame(feats, index=cut(df.index), copy=False)
    del feats
    codes = series_codes(df["series_id"], hierarchy)
    for c in codes.columns:
        out[c] = codes[c].astype("category") if rows is None else codes[c].astype("category").array[rows]
    return out
