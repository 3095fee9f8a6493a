"""Design matrices for the log-sales effects regression: calendar controls, holiday windows, promotion, weather.

Seasonal controls are smooth on purpose: day-of-week dummies plus yearly Fourier terms and a linear trend,
optionally separate for each ``season_by`` group (e.g. category). Week-of-year dummies would be collinear with
fixed-date holidays and would swallow their effects, so they are not used. For the same reason the number of
Fourier harmonics is capped by the holiday calendar (:func:`seasonal_harmonics`): a holiday effect is whatever
the smooth seasonal curve cannot follow, so the curve's shortest half-wave must be longer than the longest
stretch of (nearly) back-to-back holiday windows. Without the cap, weekly Walmart data (Thanksgiving and
Christmas windows cover every week from mid-November to early January but one) let a 6-harmonic curve rise
through the whole holiday season, and Thanksgiving week came out at -7%.

Weights: the regression is on log sales of the bottom series, weighted by each series' mean sales
(``weights="sales"``), so a coefficient is the sales-weighted mean of the series' log changes, a first-order
approximation of the log change of the group's *total* sales. Unweighted, a tiny seasonal department counts as
much as grocery and the estimate is the typical series' change instead. When the effect is the same in every
series (the demo's planted effects) both estimate the same thing. When it differs a lot between series the
weighted log mean still falls short of the total's change (Jensen: the mean of logs is below the log of the
mean); Walmart's Thanksgiving week is +25% by this estimator and +45% in the raw weekly total.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import sparse

from analytics._panel import Design, PanelFit, fit_within

DAILY_WINDOW = (-7, 3)
WEEKLY_WINDOW = (-2, 1)
PRECIP_EDGES = (0.0, 0.1, 2.0, 5.0, 10.0, 20.0, np.inf)


def step_days(freq: str) -> int:
    if freq not in ("D", "W"):
        raise ValueError(f"frequency must be 'D' or 'W', got {freq!r}")
    return 1 if freq == "D" else 7


def default_window(freq: str) -> tuple[int, int]:
    return DAILY_WINDOW if step_days(freq) == 1 else WEEKLY_WINDOW


def holiday_column(name: str, offset: int) -> str:
    return f"hol|{name}|{offset:+d}"


def calendar_controls(ds: pd.Series, freq: str, fourier_k: int | None = None, group=None) -> pd.DataFrame:
    """Trend (years), day-of-week dummies (daily data) and yearly Fourier terms, optionally per group."""
    ds = pd.to_datetime(pd.Series(ds).reset_index(drop=True))
    t = (ds - ds.min()).dt.days.to_numpy(dtype=float)
    cols: dict[str, np.ndarray] = {"trend": t / 365.25}
    if step_days(freq) == 1:
        dow = ds.dt.dayofweek.to_numpy()
        for d in range(1, 7):
            cols[f"dow{d}"] = (dow == d).astype(float)
    k = fourier_k if fourier_k is not None else (4 if step_days(freq) == 1 else 6)
    doy = ds.dt.dayofyear.to_numpy(dtype=float)
    for h in range(1, k + 1):
        cols[f"sin{h}"] = np.sin(2 * np.pi * h * doy / 365.25)
        cols[f"cos{h}"] = np.cos(2 * np.pi * h * doy / 365.25)
    out = pd.DataFrame(cols)
    if group is None:
        return out
    group = np.asarray(group)
    parts = {}
    for g in pd.unique(group):
        mask = (group == g).astype(float)
        for c in out.columns:
            parts[f"{c}@{g}"] = out[c].to_numpy() * mask
    return pd.DataFrame(parts)


def seasonal_harmonics(ds: pd.Series, holiday_columns: pd.DataFrame, freq: str) -> int:
    """Yearly Fourier harmonics that cannot mimic the holiday windows: at most the default (4 daily, 6 weekly).

    Holiday effects and the seasonal curve are told apart only by smoothness (the holidays fall on the same
    weeks every year). Windows that lie at most one uncovered step apart form one stretch (a single free step
    pins nothing). The seasonal curve's shortest half-wave, ``365.25 / (2 k)`` days, must be at least as long as
    the longest stretch, or the curve can bend into it and absorb the holidays: ``k <= 365.25 / (2 * span)``.
    Weekly retail data with Thanksgiving and Christmas windows of weeks -2..+1 leave one free week between them
    (a 9-week stretch, k = 2); the demo's daily US calendar with windows of -7..+3 days keeps the default.
    """
    default = 4 if step_days(freq) == 1 else 6
    if holiday_columns.shape[1] == 0:
        return default
    step = step_days(freq)
    days = pd.to_datetime(pd.Series(ds).reset_index(drop=True))[_any_holiday(holiday_columns)]
    covered = np.unique(days.to_numpy().astype("datetime64[D]").astype(np.int64))
    if len(covered) == 0:
        return default
    breaks = np.flatnonzero(np.diff(covered) > 2 * step)
    starts = covered[np.r_[0, breaks + 1]]
    ends = covered[np.r_[breaks, len(covered) - 1]]
    span = float((ends - starts).max() + step)
    return int(min(default, max(1, np.floor(365.25 / (2 * span)))))


def _holiday_matrix(holiday_columns: pd.DataFrame) -> sparse.csr_matrix:
    """The 0/1 holiday columns as a sparse matrix (without a dense copy when they are sparse)."""
    if holiday_columns.shape[1] and all(isinstance(t, pd.SparseDtype) for t in holiday_columns.dtypes):
        return holiday_columns.sparse.to_coo().tocsr()
    return sparse.csr_matrix(holiday_columns.to_numpy())


def _any_holiday(holiday_columns: pd.DataFrame) -> np.ndarray:
    """Whether each row has a holiday column set."""
    return np.asarray((_holiday_matrix(holiday_columns) > 0).sum(axis=1)).ravel() > 0


def holiday_dummies(frame: pd.DataFrame, events: pd.DataFrame | None, freq: str,
                    window: tuple[int, int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One dummy per holiday name and offset (in steps of the frequency) around each event date.

    ``events`` has columns ``date, name`` and optionally ``scope`` ("all", "region", "store") and ``scope_id``;
    scoped events match the frame's ``region`` / ``store_id`` columns. Returns the dummies (aligned with
    ``frame``'s rows) and a meta frame ``column, name, offset``.
    """
    meta_cols = ["column", "name", "offset"]
    if events is None or events.empty:
        return pd.DataFrame(index=range(len(frame))), pd.DataFrame(columns=meta_cols)
    lo, hi = window or default_window(freq)
    step = step_days(freq)
    ev = events.copy()
    ev["date"] = pd.to_datetime(ev["date"])
    if "scope" not in ev:
        ev["scope"] = "all"
    if "scope_id" not in ev:
        ev["scope_id"] = "*"
    long = pd.concat([ev.assign(ds=ev["date"] + pd.Timedelta(days=k * step), offset=k)
                      for k in range(lo, hi + 1)], ignore_index=True)
    long["column"] = [holiday_column(n, k) for n, k in zip(long["name"], long["offset"])]
    columns = list(dict.fromkeys(long.sort_values(["name", "offset"])["column"]))
    col_index = {c: i for i, c in enumerate(columns)}
    long["ci"] = long["column"].map(col_index)
    long["ds"] = long["ds"].astype("datetime64[ns]")
    rows = pd.DataFrame({"_row": np.arange(len(frame)),
                         "ds": pd.to_datetime(frame["ds"]).astype("datetime64[ns]").to_numpy()})
    hits = []
    for scope, key in (("all", None), ("region", "region"), ("store", "store_id")):
        part = long[long["scope"] == scope]
        if part.empty or (key is not None and key not in frame):
            continue
        on = ["ds"] if key is None else ["ds", "scope_id"]
        left = rows if key is None else rows.assign(scope_id=frame[key].astype(str).to_numpy())
        right = part[on + ["ci"]].astype({"scope_id": str} if key else {}).drop_duplicates()
        hits.append(left.merge(right, on=on, how="inner")[["_row", "ci"]])
    hit = pd.concat(hits, ignore_index=True) if hits else pd.DataFrame({"_row": [], "ci": []}, dtype=int)
    used, compact = np.unique(hit["ci"].to_numpy(dtype=np.int64), return_inverse=True)
    # Sparse uint8 columns: a few hits per series and holiday (dense: 137 MB on a large demo category)
    mat = sparse.coo_matrix((np.ones(len(hit), dtype=np.uint8), (hit["_row"].to_numpy(dtype=np.int64), compact)),
                            shape=(len(frame), len(used))).tocsc()
    mat.sum_duplicates()
    mat.data[:] = 1  # overlapping windows of one holiday count once
    mat = pd.DataFrame.sparse.from_spmatrix(mat, columns=[columns[i] for i in used])
    meta = long.drop_duplicates("column")[meta_cols].reset_index(drop=True)
    return mat, meta[meta["column"].isin(mat.columns)].reset_index(drop=True)


def temperature_bins(temp: np.ndarray, width: float = 5.0, min_share: float = 0.01) -> np.ndarray:
    """Bin edges of ``width`` °C covering ``temp``; sparse outer bins are merged inwards."""
    t = temp[np.isfinite(temp)]
    edges = np.arange(np.floor(t.min() / width) * width, t.max() + width, width)
    counts = np.histogram(t, edges)[0]
    while len(edges) > 3 and counts[0] < min_share * len(t):
        edges, counts = np.delete(edges, 1), np.r_[counts[0] + counts[1], counts[2:]]
    while len(edges) > 3 and counts[-1] < min_share * len(t):
        edges, counts = np.delete(edges, -2), np.r_[counts[:-2], counts[-2] + counts[-1]]
    edges[0], edges[-1] = -np.inf, np.inf
    return edges


def bin_dummies(values: np.ndarray, edges, prefix: str, reference: int) -> pd.DataFrame:
    """Dummies for bins ``[edges[i], edges[i+1])`` except the reference bin."""
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    return pd.DataFrame({f"{prefix}|{i}": (idx == i).astype(float) for i in range(len(edges) - 1)
                         if i != reference})


def _centred_depth(df: pd.DataFrame, promo: np.ndarray) -> np.ndarray | None:
    """``promo * (intensity - median intensity on promoted rows)`` when intensity varies among them."""
    if "promo_intensity" not in df:
        return None
    inten = pd.to_numeric(df["promo_intensity"], errors="coerce").to_numpy(dtype=float)
    on = (promo > 0) & np.isfinite(inten)
    if on.sum() < 10 or len(np.unique(inten[on])) < 3:
        return None
    return np.where(on, inten - np.median(inten[on]), 0.0)


def usable(frame: pd.DataFrame, col: str, min_share: float = 0.5) -> bool:
    """A column is used as a regressor when at least ``min_share`` of it is present and it varies."""
    if col not in frame:
        return False
    v = pd.to_numeric(frame[col], errors="coerce")
    return v.notna().mean() >= min_share and v.nunique() > 1


def sorted_panel(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by ``series_id, ds`` with a fresh index; the frame itself (no copy) when it already is."""
    if len(frame) < 2:
        return frame.reset_index(drop=True)
    sid = pd.factorize(frame["series_id"], sort=True)[0]  # codes in sorted order, without a string per row
    ds = frame["ds"].to_numpy()
    later = (sid[1:] > sid[:-1]) | ((sid[1:] == sid[:-1]) & (ds[1:] >= ds[:-1]))
    if (sid >= 0).all() and later.all() and isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1:
        return frame
    return frame.sort_values(["series_id", "ds"], kind="stable").reset_index(drop=True)


def panel_groups(frame: pd.DataFrame, group_col: str | None):
    """``(label, rows)`` of every group of ``group_col`` in sorted order (rows keep their order, fresh index), made
    one at a time; the whole frame as ``"all"`` when ``group_col`` is None. Missing labels form no group."""
    if group_col is None:
        yield "all", frame
        return
    codes, labels = pd.factorize(frame[group_col], sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    for i, label in enumerate(labels):
        yield label, frame.take(order[bounds[i]:bounds[i + 1]]).reset_index(drop=True)


def _post_promo_flag(df: pd.DataFrame, post_promo: int) -> np.ndarray:
    """1.0 on the rows up to ``post_promo`` steps after a promotion of the same series, except promotion rows
    (``df`` sorted by series and date)."""
    p = df["promo"].fillna(0).to_numpy() > 0
    recent = np.zeros(len(df), dtype=bool)
    same = df["series_id"].to_numpy()
    for lag in range(1, post_promo + 1):
        shifted = np.r_[np.zeros(lag, dtype=bool), p[:-lag]]
        same_series = np.r_[np.zeros(lag, dtype=bool), same[lag:] == same[:-lag]]
        recent |= shifted & same_series
    return (recent & ~p).astype(float)


def _closed_share(hol: pd.DataFrame, closed: np.ndarray) -> dict:
    """The share of closed rows among each holiday column's rows."""
    hol_set = _holiday_matrix(hol) > 0  # 0/1 dummies; closed rows are few, so count on them instead of a product
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.asarray(hol_set[closed].sum(axis=0)).ravel() / np.asarray(hol_set.sum(axis=0)).ravel()
    return dict(zip(hol.columns, share.astype(float).tolist()))


def _stack(parts: list, valid: np.ndarray) -> Design:
    """The design of the fit's parts (frames, or lists of ``(name, column function)``) on the ``valid`` rows; each
    column is made as it is stacked."""
    return Design.stack([pair for p in parts for pair in (p if isinstance(p, list) else
                                                          ((c, p[c].to_numpy) for c in p.columns))], valid)


def _float_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """One column of ``frame`` as a float array."""
    return frame[column].to_numpy(dtype=float)


def _flag_column(values: np.ndarray, codes: np.ndarray, code: int) -> np.ndarray:
    """``values`` where ``codes == code``, else 0."""
    return values * (codes == code)


def _weather_parts(df: pd.DataFrame, weather: str | None, valid: np.ndarray, bins: dict) -> list[pd.DataFrame]:
    """Design columns of temperature and precipitation (linear, or dummies per bin against a reference bin).

    Rows without the variable are removed from ``valid`` (in place) and each binned variable's edges, reference
    bin and counts are recorded in ``bins``.
    """
    parts = []
    for col, unit_edges in (("temp_c", None), ("precip_mm", PRECIP_EDGES)):
        if not weather or not usable(df, col):
            continue
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        valid &= np.isfinite(v)
        if weather == "linear":
            parts.append(pd.DataFrame({col: np.nan_to_num(v)}))
            continue
        edges = np.array(unit_edges) if unit_edges is not None else temperature_bins(v[valid])
        idx = np.clip(np.searchsorted(edges, v[valid], side="right") - 1, 0, len(edges) - 2)
        ref = 0 if col == "precip_mm" else int(np.clip(np.searchsorted(edges, np.median(v[valid]),
                                                                       side="right") - 1, 0, len(edges) - 2))
        counts = np.bincount(idx, minlength=len(edges) - 1)
        bins[col] = {"edges": edges, "reference": ref, "counts": counts}
        parts.append(bin_dummies(np.nan_to_num(v), edges, col, ref))
    return parts


def fit_log_sales(frame: pd.DataFrame, freq: str, events: pd.DataFrame | None = None, *,
                  promo: str | None = "binary", weather: str | None = "linear", season_by: str | None = None,
                  window: tuple[int, int] | None = None, fourier_k: int | None = None,
                  post_promo: int = 0, holiday_design: tuple[pd.DataFrame, pd.DataFrame] | None = None,
                  weights: str | None = "sales", extra: pd.DataFrame | None = None) -> tuple[PanelFit, dict]:
    """Fit the log-sales effects regression on one panel.

    Parameters
    ----------
    frame : DataFrame
        Long panel with ``series_id, ds, y`` and any of ``is_open, promo, promo_intensity, temp_c,
        precip_mm, region, store_id`` and the ``season_by`` column.
    freq : {"D", "W"}
        Data frequency; sets the holiday window and the day-of-week controls.
    events : DataFrame, optional
        Holiday events (``date, name`` [, ``scope, scope_id``]).
    promo : {"binary", "intensity", "by_store", None}
        How the promotion enters: a 0/1 dummy (with a depth term centred at the median promotion
        intensity when intensity varies, so the dummy is the lift of a median-depth promotion), the dummy
        plus ``log1p(promo_intensity)`` (on dates from the first promotion on), a dummy per ``store_id``,
        or not at all.
    weather : {"linear", "binned", None}
        Temperature and precipitation as linear terms (per °C, per mm) or as bin dummies.
    season_by : str, optional
        Column whose groups get their own trend, day-of-week and yearly terms.
    window : (int, int), optional
        Holiday window in steps; default (-7, 3) days or (-2, 1) weeks.
    fourier_k : int, optional
        Yearly Fourier harmonics (default: :func:`seasonal_harmonics`, at most 4 daily and 6 weekly).
    post_promo : int
        When > 0, a dummy for the ``post_promo`` steps after a promotion (the post-promotion dip).
    holiday_design : (DataFrame, DataFrame), optional
        The output of :func:`holiday_dummies` for this frame sorted by ``series_id, ds`` (reused across fits).
    weights : {"sales", None}
        Weigh each series by its mean sales over the rows used (see the module docstring) or every row equally.
    extra : DataFrame, optional
        More regressors, row-aligned with ``frame`` sorted by ``series_id, ds`` (e.g. log price for the
        price elasticity of :mod:`analytics.elasticity`).

    Returns
    -------
    fit : PanelFit
    info : dict
        ``holidays`` (meta frame of holiday columns), ``closed_share`` (share of closed rows per holiday
        column), ``bins`` (edges and reference bin per binned variable), ``n_promo_rows``, ``fourier_k``.
    """
    need = {"series_id", "ds", "y"}
    if not need <= set(frame.columns):
        raise ValueError(f"frame needs columns {sorted(need)}; got {sorted(frame.columns)}")
    df = frame.reset_index(drop=True)  # pandas 3 copies on write: the columns set below leave ``frame`` as it was
    df["ds"] = pd.to_datetime(df["ds"])
    # sorted codes order the series as their strings do, without a Python string per row
    order = np.lexsort((df["ds"].to_numpy(), pd.factorize(df["series_id"].astype(str), sort=True)[0]))
    if (order != np.arange(len(df))).any():
        if holiday_design is not None:
            raise ValueError("holiday_design needs the frame sorted by series_id, ds")
        df = df.iloc[order].reset_index(drop=True)
    if promo == "binary" and post_promo > 0 and "promo" in df:
        df["post_promo"] = _post_promo_flag(df, post_promo)
    hol, hmeta = holiday_design if holiday_design is not None else holiday_dummies(df, events, freq, window)
    closed = (df["is_open"].fillna(1).to_numpy() == 0) if "is_open" in df else np.zeros(len(df), bool)
    closed_share = _closed_share(hol, closed)
    valid = (df["y"].to_numpy(dtype=float) > 0) & ~closed
    parts = [hol]
    info: dict = {"holidays": hmeta, "closed_share": closed_share, "bins": {}, "n_promo_rows": 0}

    if promo and usable(df, "promo", 0.0):
        pr = df["promo"].fillna(0).to_numpy(dtype=float)
        first = df.loc[pr > 0, "ds"].min()
        era = (df["ds"] >= first).to_numpy(dtype=float)
        if promo == "intensity":
            if not usable(df, "promo_intensity", 0.0):
                raise ValueError("promo='intensity' needs a varying promo_intensity column")
            inten = np.clip(pd.to_numeric(df["promo_intensity"], errors="coerce").fillna(0).to_numpy(), 0, None)
            valid &= era > 0
            # The dummy keeps the on/off jump apart from the response to depth (the intensive margin).
            parts.append(pd.DataFrame({"promo": pr, "promo_log_intensity": np.log1p(inten)}))
        elif promo == "by_store":
            # One column per store, each made when it is stacked (a frame of them all: 183 stores x 2.5M rows
            # = 3.7 GB at 10M rows), from store codes in order of appearance (not a string comparison per store).
            codes, labels = pd.factorize(df["store_id"].astype(str).to_numpy())
            parts.append([(f"promo@{s}", functools.partial(_flag_column, pr, codes, j)) for j, s in enumerate(labels)])
        else:
            parts.append(pd.DataFrame({"promo": pr}))
            depth = _centred_depth(df, pr)
            if depth is not None:
                # Promotions of different depth lift differently; centring the depth term at the median depth
                # of promoted rows makes `promo` the lift of a typical (median-depth) promotion.
                parts.append(pd.DataFrame({"promo_depth_c": depth}))
            if "post_promo" in df:
                parts.append(df[["post_promo"]].reset_index(drop=True))
        if promo != "intensity" and (1 - era).mean() >= 0.05:
            # Promotions only recorded from `first` on (e.g. Walmart markdowns): absorb that era's level.
            parts.append(pd.DataFrame({"promo_era": era}))
        info["n_promo_rows"] = int(((pr > 0) & valid).sum())

    parts += _weather_parts(df, weather, valid, info["bins"])
    if extra is not None:
        if len(extra) != len(df) or (order != np.arange(len(df))).any():
            raise ValueError("extra regressors need the frame sorted by series_id, ds and one row per frame row")
        extra = extra.reset_index(drop=True)  # columns as floats when stacked (sparse ones: one at a time)
        parts.append([(c, functools.partial(_float_column, extra, c)) for c in extra.columns])

    group = df[season_by].astype(str).to_numpy() if season_by and season_by in df else None
    if fourier_k is None:
        fourier_k = seasonal_harmonics(df["ds"], hol, freq)
    info["fourier_k"] = fourier_k
    parts.append(calendar_controls(df["ds"], freq, fourier_k, group))
    if not valid.any():
        raise ValueError("no open day with positive sales to estimate effects from")
    X = _stack(parts, valid)
    del parts
    sub = df.loc[valid, ["series_id", "ds", "y"]]  # only what is read below (not a copy of every column)
    w = None
    if weights == "sales":
        w = sub.groupby("series_id", sort=False)["y"].transform("mean").to_numpy(dtype=float)
    elif weights is not None:
        raise ValueError(f"weights must be 'sales' or None, got {weights!r}")
    fit = fit_within(np.log(sub["y"].to_numpy(dtype=float)), X, pd.factorize(sub["series_id"])[0],  # codes, not str
                     sub["ds"].to_numpy(), weights=w, overwrite_design=True)  # X is this fit's own
    return fit, info
