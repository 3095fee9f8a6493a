"""Inputs of a refresh: regular history frames per hierarchy level and the exogenous values of the horizon.

Future exogenous values (what the models are given for the ``h`` forecast dates):

* ``is_holiday``: from the stored calendar (``calendar_events``, scope all/region/store) while it covers the
  horizon; dates beyond its last event come from the ``holidays`` package for ``SALES_COUNTRY``. Weekly data:
  a week ``ds`` is a holiday week when a holiday falls in ``[ds - 6 days, ds]`` (Walmart's convention).
* ``promo``/``promo_intensity``: planned promotions where the store knows them, i.e. future rows of a
  store-level covariate named ``promo`` (0/1) or ``markdown_total`` (> 0 means promotion, the value is the
  depth; the Walmart importer keeps the Kaggle test period's markdowns); otherwise 0. The plan overrides
  these per store x product (:mod:`jobs.plan_inputs`).
* ``is_open``: 0 on the stored calendar's closures (daily data), else 1; the plan overrides it.
* ``temp_c``/``precip_mm``: stored weather for future dates when present (store scope, else region), else
  the store's day-of-year (daily) or week-of-year (weekly) climatology from its history, smoothed over
  +-7 days / +-1 week.

Aggregate nodes average their stores' values (``is_holiday``: any store), like ``agg_sales`` does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data import store
from domain import HIERARCHY_COLS, freq_step

EXOG = ["promo", "promo_intensity", "price", "is_open", "is_holiday", "temp_c", "precip_mm"]
KEEP = ["series_id", "ds", "y", *EXOG]


def regularize(df: pd.DataFrame, freq: str, end: pd.Timestamp) -> pd.DataFrame:
    """Each series on a regular grid from its first date to ``end`` (a shared last date).

    Missing ``y`` becomes 0 (no recorded sale means no sale, also after a series stops); exogenous gaps are
    filled forward then backward within the series. Rows off the grid are dropped.

    The rows are placed on the grid by position (a series' first grid row plus its steps from its first date),
    the outcome of a left join of the grid with ``df`` on ``series_id, ds`` without hashing millions of keys;
    ``df`` with a repeated ``series_id, ds`` takes that join (it repeats the grid row).
    """
    step = freq_step(freq)
    df = df[[c for c in KEEP if c in df.columns]]
    values = [c for c in df.columns if c not in ("series_id", "ds")] + [c for c in EXOG if c not in df]
    sid = df["series_id"].astype(str)
    ds = pd.to_datetime(df["ds"])
    start = ds.groupby(sid).min()
    n = ((end - start) // step).astype(int) + 1
    grid = pd.DataFrame({"series_id": np.repeat(start.index.to_numpy(), n.to_numpy())})
    offsets = np.concatenate([np.arange(k) for k in n.to_numpy()]) if len(n) else np.array([], dtype=int)
    grid["ds"] = np.repeat(start.to_numpy(), n.to_numpy()) + offsets * step.to_timedelta64()
    code = start.index.get_indexer(sid)
    since = (ds.to_numpy() - start.to_numpy()[code]) if len(df) else np.array([], dtype="timedelta64[ns]")
    steps, rest = np.divmod(since, step.to_timedelta64())
    first_row = np.concatenate([[0], np.cumsum(n.to_numpy())[:-1]]) if len(n) else np.array([], dtype=int)
    on_grid = (rest == np.timedelta64(0)) & (steps.astype(np.int64) < n.to_numpy()[code])
    pos = first_row[code[on_grid]] + steps[on_grid].astype(np.int64)
    hit = np.zeros(len(grid), dtype=bool)
    hit[pos] = True
    if int(hit.sum()) < len(pos):  # a repeated row
        return _regularize_join(df, grid, values)
    out = grid
    for col in values:
        col_values = np.full(len(grid), np.nan)
        if col in df:
            col_values[pos] = df[col].astype(float).to_numpy()[on_grid]
        out[col] = col_values
    return _fill(out, np.repeat(np.arange(len(n)), n.to_numpy()))


def _regularize_join(df: pd.DataFrame, grid: pd.DataFrame, values: list[str]) -> pd.DataFrame:
    """:func:`regularize` by a join of the grid with ``df`` (a ``series_id, ds`` repeated in ``df``)."""
    df = df.assign(series_id=df["series_id"].astype(str), ds=pd.to_datetime(df["ds"]))
    out = grid.merge(df, on=["series_id", "ds"], how="left")
    for col in values:
        out[col] = out[col].astype(float) if col in out else np.nan
    return _fill(out, pd.factorize(out["series_id"])[0])


def _fill(out: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """Missing ``y`` as 0, the exogenous columns filled forward then backward within each series (``codes``)."""
    out["y"] = out["y"].fillna(0.0)
    for col in EXOG:  # one column at a time: a copy of one column, not of seven, at once
        out[col] = out[col].groupby(codes, sort=False).ffill().groupby(codes, sort=False).bfill()
    out["is_open"] = out["is_open"].fillna(1.0)  # no open flag: open
    return out


def load_history(levels, freq: str, url: str | None = None) -> tuple[dict[str, pd.DataFrame], pd.Timestamp]:
    """Regular long frames per level (the bottom level from the facts, the others from ``agg_sales``)."""
    frames = {lv: (store.bottom_frame(url=url) if lv == store.BOTTOM_LEVEL else store.level_frame(lv, url=url))
              for lv in levels}
    nonempty = [f["ds"].max() for f in frames.values() if len(f)]
    if not nonempty:
        raise ValueError("the store holds no sales: run `python cli.py demo` or `python cli.py ingest` first")
    end = max(nonempty)
    out = {}
    for lv in list(frames):  # each level's raw rows are dropped once it is regular
        raw = frames.pop(lv)
        raw = raw[[c for c in KEEP if c in raw.columns]]  # the bottom facts' store and product ids freed now
        if len(raw):
            out[lv] = regularize(raw, freq, end)
            del raw
            out[lv] = with_hierarchy(out[lv])
    return out, end


def with_hierarchy(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the hierarchy columns (``domain.HIERARCHY_COLS``) of each series, read from its key.

    ``"store=3/product=7"`` gets ``store_id`` 3 and ``product_id`` 7; a part the key lacks is missing (None),
    e.g. ``product_id`` above the product level. The models get these columns instead of parsing keys: the
    global tree models use them as categorical features, ``seasonal_svd`` pools series by ``product_id``.
    """
    codes, ids = pd.factorize(df["series_id"])  # parse each series once and spread its parts to its rows
    per_series = hierarchy_of(ids)
    return df.assign(**{col: per_series[col].iloc[codes].set_axis(df.index) for col in HIERARCHY_COLS})


def hierarchy_of(ids) -> pd.DataFrame:
    """``series_id`` and the hierarchy columns (``domain.HIERARCHY_COLS``) of each key of ``ids``, in their order:
    the values :func:`with_hierarchy` gives each series' rows (None where the key lacks a part), one row per
    series, for a stage that needs them per node rather than per row."""
    ids = pd.Series(list(ids))
    parts = [store.parse_node_id(sid) for sid in ids]
    return pd.DataFrame({"series_id": ids, **{col: ids.map(dict(zip(ids, (p.get(col) for p in parts))))
                                              for col in HIERARCHY_COLS}})


def _holiday_dates(events: pd.DataFrame, future: pd.DatetimeIndex, country: str) -> pd.DataFrame:
    """Holiday dates with their scope (``scope, scope_id, date``): the calendar, extended by the package."""
    ev = events[events["kind"].isin(["holiday", "closure"])][["scope", "scope_id", "date"]].copy()
    ev["date"] = pd.to_datetime(ev["date"])
    covered = ev["date"].max() if len(ev) else pd.Timestamp.min
    if len(future) and covered < future.max():
        try:
            import holidays
            years = range(future.min().year - 1, future.max().year + 1)
            extra = pd.to_datetime(sorted(holidays.country_holidays(country, years=years).keys()))
        except (ImportError, NotImplementedError, KeyError):
            extra = pd.DatetimeIndex([])
        extra = extra[extra > covered]
        ev = pd.concat([ev, pd.DataFrame({"scope": "all", "scope_id": "*", "date": extra})], ignore_index=True)
    return ev


def _climatology(hist: pd.DataFrame, col: str, dates: pd.DatetimeIndex, freq: str) -> pd.DataFrame:
    """Per store, the smoothed seasonal mean of ``col`` at each of ``dates`` (``store_id, ds, col``)."""
    period, half = (366, 7) if freq == "D" else (53, 1)
    key = (lambda d: d.dayofyear) if freq == "D" else (lambda d: d.isocalendar().week.astype(int))
    h = hist.dropna(subset=[col])
    if h.empty:
        return pd.DataFrame({"store_id": pd.Series(dtype=str), "ds": pd.Series(dtype="datetime64[ns]"),
                             col: pd.Series(dtype=float)})
    h = h.assign(k=np.asarray(key(pd.DatetimeIndex(h["date"]))) - 1)
    stores = sorted(h["store_id"].unique())
    sums = np.zeros((len(stores), period))
    cnts = np.zeros((len(stores), period))
    idx = pd.Index(stores).get_indexer(h["store_id"])
    np.add.at(sums, (idx, h["k"].to_numpy()), h[col].to_numpy(dtype=float))
    np.add.at(cnts, (idx, h["k"].to_numpy()), 1)
    kernel = np.ones(2 * half + 1)
    wrap = lambda a: np.concatenate([a[:, -half:], a, a[:, :half]], axis=1)  # noqa: E731 - circular year
    s = np.apply_along_axis(lambda r: np.convolve(r, kernel, "valid"), 1, wrap(sums))
    c = np.apply_along_axis(lambda r: np.convolve(r, kernel, "valid"), 1, wrap(cnts))
    fallback = (sums.sum(axis=1) / np.maximum(cnts.sum(axis=1), 1))[:, None]
    clim = np.where(c > 0, s / np.maximum(c, 1), fallback)
    fk = np.asarray(key(dates)) - 1
    return pd.DataFrame({"store_id": np.repeat(stores, len(dates)), "ds": np.tile(dates.to_numpy(), len(stores)),
                         col: clim[:, fk].ravel()})


def store_future(stores_df: pd.DataFrame, dates: pd.DatetimeIndex, freq: str, country: str,
                 url: str | None = None, stored_weather: bool = True) -> pd.DataFrame:
    """Future exogenous values per store: ``store_id, ds, promo, promo_intensity, is_open, is_holiday, temp_c,
    precip_mm`` (``is_open`` 0 on the calendar's closures; ``stored_weather=False``: climatology only)."""
    st = stores_df[["store_id", "region"]].astype(str).drop_duplicates("store_id")
    out = pd.DataFrame({"store_id": np.repeat(st["store_id"].to_numpy(), len(dates)),
                        "region": np.repeat(st["region"].to_numpy(), len(dates)),
                        "ds": np.tile(dates.to_numpy(), len(st))})
    # holidays
    ev_all = store.calendar_events(url=url)
    ev = _holiday_dates(ev_all, dates, country)
    window = 7 if freq == "W" else 1
    flags = np.zeros(len(out), dtype=int)
    for scope, col in (("all", None), ("region", "region"), ("store", "store_id")):
        part = ev[ev["scope"] == scope]
        for lag in range(window):  # weekly: any holiday in [ds - 6, ds]
            hit = part.assign(ds=part["date"] + pd.Timedelta(days=lag))
            keys = ["ds"] if col is None else [col, "ds"]
            hit = hit.rename(columns={"scope_id": col}) if col else hit
            m = out[keys].merge(hit[keys].drop_duplicates().assign(_h=1), on=keys, how="left")["_h"]
            flags |= m.fillna(0).to_numpy(dtype=int)
    out["is_holiday"] = flags
    out["is_open"] = 1 - _closures(ev_all, out) if freq == "D" else 1
    # planned promotions
    cov = store.covariates(url=url)
    cov = cov[cov["name"].isin(["promo", "markdown_total"]) & cov["date"].isin(dates)]
    if len(cov):
        value = cov["value"].astype(float)
        planned = cov.assign(p=(value > 0).astype(int), i=value.where(cov["name"] == "markdown_total", 0.0)).groupby(
            ["store_id", "date"], as_index=False)[["p", "i"]].max().rename(columns={"date": "ds"})
        out = out.merge(planned, on=["store_id", "ds"], how="left")
        out["promo"] = out.pop("p").fillna(0).astype(int)
        out["promo_intensity"] = out.pop("i").fillna(0.0)
    else:
        out["promo"], out["promo_intensity"] = 0, 0.0
    # weather: stored future values, else climatology
    wx = store.weather(url=url)
    wx["date"] = pd.to_datetime(wx["date"])
    # Numbers even when a column holds no value at all (NULL everywhere reads as object): the nodes' means of an
    # object column run in Python, minutes at 10M rows.
    wx = wx.astype({"temp_c": float, "precip_mm": float})
    by_store = wx[wx["scope"] == "store"].rename(columns={"scope_id": "store_id"})
    by_region = wx[wx["scope"] == "region"].rename(columns={"scope_id": "region"})
    hist = st.merge(by_region[["region", "date", "temp_c", "precip_mm"]], on="region", how="inner")
    hist = pd.concat([by_store[["store_id", "date", "temp_c", "precip_mm"]], hist.drop(columns="region")]) \
        .drop_duplicates(["store_id", "date"])
    for col in ("temp_c", "precip_mm"):
        known = hist[hist["date"].isin(dates) & stored_weather][["store_id", "date", col]].rename(
            columns={"date": "ds"})
        clim = _climatology(hist[hist["date"] < dates.min()], col, dates, freq)
        both = clim.merge(known.dropna(), on=["store_id", "ds"], how="outer", suffixes=("_clim", ""))
        both[col] = both[col].fillna(both[f"{col}_clim"])
        out = out.merge(both[["store_id", "ds", col]], on=["store_id", "ds"], how="left")
    return out.drop(columns="region")


def _closures(events: pd.DataFrame, out: pd.DataFrame) -> np.ndarray:
    """1 where the stored calendar has a closure (scope all, the store's region or the store) on ``out``'s row."""
    ev = events[events["kind"] == "closure"].assign(ds=lambda e: pd.to_datetime(e["date"]))
    flags = np.zeros(len(out), dtype=int)
    for scope, col in (("all", None), ("region", "region"), ("store", "store_id")):
        part = ev[ev["scope"] == scope].rename(columns={"scope_id": col} if col else {})
        keys = ["ds"] if col is None else [col, "ds"]
        m = out[keys].merge(part[keys].drop_duplicates().assign(_c=1), on=keys, how="left")["_c"]
        flags |= m.fillna(0).to_numpy(dtype=int)
    return flags


def node_stores(bottom: pd.DataFrame, level: str) -> pd.DataFrame:
    """Which stores make up each node of ``level``: ``series_id, store_id`` pairs."""
    b = bottom.astype({"store_id": str, "product_id": str, "region": str, "category": str})
    keys = store.node_keys(level, b)
    return pd.DataFrame({"series_id": keys, "store_id": b["store_id"]}).drop_duplicates()


def node_future(store_fut: pd.DataFrame, bottom: pd.DataFrame, level: str) -> pd.DataFrame:
    """``X_future`` for every node of ``level``: the mean over its stores (``is_holiday``: any)."""
    pairs = node_stores(bottom, level)
    pairs = pairs.assign(series_id=pd.Categorical(pairs["series_id"]))  # groups by codes, ordered as the keys
    merged = pairs.merge(store_fut, on="store_id", how="inner")
    out = merged.groupby(["series_id", "ds"], as_index=False, observed=True).agg(
        promo=("promo", "mean"), is_holiday=("is_holiday", "max"), temp_c=("temp_c", "mean"),
        precip_mm=("precip_mm", "mean"))
    return out.assign(series_id=out["series_id"].astype(str))
