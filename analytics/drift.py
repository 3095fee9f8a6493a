"""Drift statistics, pure: data drift between a reference (training) window and a recent window, sequential
tests on forecast errors, and structural changes of the set of selling series.

Data drift compares *year-over-year log ratios* ``log(y_t) - log(y_{t-L})`` (L = 364 days or 52 weeks, so the
weekday and the season cancel and a trend is a constant) of the recent window with those of the reference
window: the population stability index (PSI, reference-quantile bins) measures how far the distribution moved,
the two-sample Kolmogorov-Smirnov test whether the move is beyond chance, and the difference of means (with a
Welch 95% interval) says by how much (exp of it - 1 is the level change). A level drifts when PSI and KS both
pass their thresholds. Shares (zero days, promotion days) are compared with a two-proportion z-test.
Forecast-error drift is a two-sided CUSUM (Page's test) on standardized errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

SEASON_LAG = {"D": 364, "W": 52}  # 52 weeks: the same weekday a year earlier


@dataclass(frozen=True)
class DriftThresholds:
    """When a test flags drift: PSI at least ``psi`` and KS p-value below ``alpha`` (both; for sales also a level
    change of at least ``min_shift``), a share change with
    p-value below ``alpha``, a CUSUM beyond ``cusum_h`` (slack ``cusum_k``, in standard deviations), and at least
    ``min_points`` recent values."""
    psi: float = 0.25
    alpha: float = 0.001
    min_shift: float = 0.10  # sales: |exp(mean shift of the log ratios) - 1| at least this (a 10% level change)
    cusum_k: float = 0.5
    cusum_h: float = 5.0
    min_points: int = 7


def psi(reference, recent, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``recent`` against ``reference`` over ``bins`` reference-quantile bins.

    PSI = sum (p_rec - p_ref) * ln(p_rec / p_ref); shares are floored at ``eps``. Rule of thumb: < 0.1 stable,
    0.1-0.25 moderate, > 0.25 a major shift. NaN when either sample is empty.
    """
    ref, rec = _finite(reference), _finite(recent)
    if len(ref) == 0 or len(rec) == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    p_ref = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    p_rec = np.bincount(np.searchsorted(edges, rec, side="right"), minlength=len(edges) + 1) / len(rec)
    p_ref, p_rec = np.maximum(p_ref, eps), np.maximum(p_rec, eps)
    return float(np.sum((p_rec - p_ref) * np.log(p_rec / p_ref)))


def ks_test(reference, recent) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (NaN, NaN when a sample is empty)."""
    ref, rec = _finite(reference), _finite(recent)
    if len(ref) == 0 or len(rec) == 0:
        return float("nan"), float("nan")
    res = stats.ks_2samp(ref, rec)
    return float(res.statistic), float(res.pvalue)


def mean_shift(reference, recent, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of means (recent - reference) with its Welch ``level`` interval: ``(diff, lo, hi)``."""
    ref, rec = _finite(reference), _finite(recent)
    if len(ref) < 2 or len(rec) < 2:
        return float("nan"), float("nan"), float("nan")
    diff = rec.mean() - ref.mean()
    va, vb = ref.var(ddof=1) / len(ref), rec.var(ddof=1) / len(rec)
    se = np.sqrt(va + vb)
    if se == 0:
        return float(diff), float(diff), float(diff)
    df = (va + vb) ** 2 / (va ** 2 / (len(ref) - 1) + vb ** 2 / (len(rec) - 1))
    t = stats.t.ppf(0.5 + level / 2, df)
    return float(diff), float(diff - t * se), float(diff + t * se)


def share_test(ref_hits: int, ref_n: int, rec_hits: int, rec_n: int, level: float = 0.95) -> dict:
    """Two-proportion z-test of a share (e.g. zero-sales days): shares, difference with its Wald interval, p."""
    out = {"ref_share": float("nan"), "recent_share": float("nan"), "diff": float("nan"), "lo": float("nan"),
           "hi": float("nan"), "p_value": float("nan")}
    if ref_n == 0 or rec_n == 0:
        return out
    p1, p2 = ref_hits / ref_n, rec_hits / rec_n
    pooled = (ref_hits + rec_hits) / (ref_n + rec_n)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / ref_n + 1 / rec_n))
    se = np.sqrt(p1 * (1 - p1) / ref_n + p2 * (1 - p2) / rec_n)
    z = stats.norm.ppf(0.5 + level / 2)
    p_value = 1.0 if se0 == 0 else float(2 * stats.norm.sf(abs(p2 - p1) / se0))
    out.update(ref_share=float(p1), recent_share=float(p2), diff=float(p2 - p1), lo=float(p2 - p1 - z * se),
               hi=float(p2 - p1 + z * se), p_value=p_value)
    return out


def cusum(x, k: float = 0.5, h: float = 5.0, mean: float = 0.0, sd: float = 1.0) -> dict:
    """Two-sided tabular CUSUM (Page) of ``(x - mean) / sd``: the first index where the upper or lower sum passes
    ``h`` (None if never), its direction, and the final sums."""
    z = (np.asarray(x, dtype=float) - mean) / (sd if sd > 0 else 1.0)
    hi = lo = 0.0
    for i, v in enumerate(z):
        if not np.isfinite(v):
            continue
        hi, lo = max(0.0, hi + v - k), min(0.0, lo + v + k)
        if hi > h or lo < -h:
            return {"alarm_at": i, "direction": "up" if hi > h else "down", "upper": hi, "lower": lo}
    return {"alarm_at": None, "direction": None, "upper": hi, "lower": lo}


def page_hinkley(x, delta: float = 0.1, threshold: float = 5.0) -> dict:
    """Page-Hinkley test for an increase of the mean of ``x``: first index where m_t - min m passes ``threshold``
    (m_t = cumulative sum of x - running mean - delta); None if never."""
    arr = np.asarray(x, dtype=float)
    m = mn = 0.0
    total = 0.0
    for i, v in enumerate(arr):
        total += v
        m += v - total / (i + 1) - delta
        mn = min(mn, m)
        if m - mn > threshold:
            return {"alarm_at": i, "statistic": m - mn}
    return {"alarm_at": None, "statistic": m - mn}


def yoy_log_ratio(frame: pd.DataFrame, freq: str = "D", value: str = "y") -> pd.DataFrame:
    """``series_id, ds, z`` with z = log(v_t) - log(v_{t-lag}) where both are positive (lag: a year, same weekday)."""
    lag = pd.Timedelta(days=SEASON_LAG[freq] * (7 if freq == "W" else 1))
    cur = frame.loc[frame[value] > 0, ["series_id", "ds", value]]
    past = cur.assign(ds=cur["ds"] + lag).rename(columns={value: "past"})
    both = cur.merge(past, on=["series_id", "ds"], how="inner")
    return both.assign(z=np.log(both[value]) - np.log(both["past"]))[["series_id", "ds", "z"]]


def level_drift(values: pd.DataFrame, cutoff, ref_days: int, window_days: int,
                thresholds: DriftThresholds = DriftThresholds(), column: str = "z", log_shift: bool = False,
                asof=None) -> dict:
    """Drift of one level: ``values`` (``series_id, ds`` and ``column``) before ``cutoff`` (the last ``ref_days``)
    against after it (at most ``window_days``, none after ``asof``): PSI, KS, mean shift with its interval, and
    the flag (with ``log_shift``: the values are log ratios and the level change must reach ``min_shift``)."""
    arrays = _arrays(values, column)
    return _level_drift(arrays, *_bounds(cutoff, ref_days, window_days, asof), thresholds, log_shift)


def _arrays(values: pd.DataFrame, column: str = "z") -> tuple[np.ndarray, np.ndarray]:
    return values["ds"].to_numpy(dtype="datetime64[ns]"), values[column].to_numpy(dtype=float)


def _bounds(cutoff, ref_days: int, window_days: int, asof=None) -> tuple:
    cutoff = pd.Timestamp(cutoff)
    end = cutoff + pd.Timedelta(days=window_days)
    end = min(end, pd.Timestamp(asof)) if asof is not None else end
    return (np.datetime64(cutoff - pd.Timedelta(days=ref_days), "ns"), np.datetime64(cutoff, "ns"),
            np.datetime64(end, "ns"))


def _level_drift(arrays, start, cutoff, end, thresholds: DriftThresholds, log_shift: bool) -> dict:
    ds, z = arrays
    in_ref = (ds > start) & (ds <= cutoff)
    in_rec = (ds > cutoff) & (ds <= end)
    ref, rec = z[in_ref], z[in_rec]
    n_days = int(np.unique(ds[in_rec]).size)
    p = psi(ref, rec)
    stat, p_value = ks_test(ref, rec)
    diff, lo, hi = mean_shift(ref, rec)
    drift = bool(n_days >= thresholds.min_points and p >= thresholds.psi and p_value < thresholds.alpha)
    if log_shift:
        drift = drift and bool(abs(np.expm1(diff)) >= thresholds.min_shift)
    return {"psi": p, "ks": stat, "p_value": p_value, "shift": diff, "shift_lo": lo, "shift_hi": hi,
            "n_reference": int(len(ref)), "n_recent": int(len(rec)), "recent_periods": n_days, "drift": drift}


def structural_changes(frame: pd.DataFrame, cutoff, stopped_days: int = 28) -> dict:
    """New series (first positive sale after ``cutoff``) and series that stopped selling (a positive sale before
    ``cutoff`` and none in the last ``stopped_days`` up to the data's end, which must lie that far past cutoff)."""
    cutoff = pd.Timestamp(cutoff)
    sold = frame[frame["y"] > 0]
    if sold.empty:
        return {"new": [], "stopped": []}
    first = sold.groupby("series_id")["ds"].min()
    last = sold.groupby("series_id")["ds"].max()
    end = frame["ds"].max()
    new = sorted(first[first > cutoff].index)
    stopped = []
    if end - cutoff >= pd.Timedelta(days=stopped_days):
        stopped = sorted(last[(first <= cutoff) & (last <= end - pd.Timedelta(days=stopped_days))].index)
    return {"new": new, "stopped": stopped}


def _finite(x) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    return arr[np.isfinite(arr)]


def _yoy_difference(frame: pd.DataFrame, column: str, freq: str) -> pd.DataFrame:
    """``series_id, ds, z`` with z = v_t - v_{t-lag} (for inputs that may be zero or negative, e.g. temperature)."""
    lag = pd.Timedelta(days=SEASON_LAG[freq] * (7 if freq == "W" else 1))
    cur = frame.loc[frame[column].notna(), ["series_id", "ds", column]]
    past = cur.assign(ds=cur["ds"] + lag).rename(columns={column: "past"})
    both = cur.merge(past, on=["series_id", "ds"], how="inner")
    return both.assign(z=both[column] - both["past"])[["series_id", "ds", "z"]]


def _zero_share(arrays, start, cutoff, end, alpha: float) -> dict:
    """Share of zero-sales days on open days, reference against recent (two-proportion test)."""
    ds, y = arrays
    ref, rec = y[(ds > start) & (ds <= cutoff)], y[(ds > cutoff) & (ds <= end)]
    out = share_test(int((ref <= 0).sum()), len(ref), int((rec <= 0).sum()), len(rec))
    out["drift"] = bool(np.isfinite(out["p_value"]) and out["p_value"] < alpha and abs(out["diff"]) >= 0.05)
    return out


def prepare_levels(levels: dict, freq: str = "D") -> dict:
    """Per level the transformed inputs of :func:`drift_report` (computed once, reused for any cutoff/asof):
    ``sales`` (year-over-year log ratios), ``open`` (open days' sales), ``promo``, ``temp_c`` (its year-over-year
    difference) and, for the bottom level, ``raw`` (for the structural changes)."""
    out = {}
    for level, frame in levels.items():
        if frame is None or frame.empty:
            continue
        open_ = frame[frame["is_open"].fillna(1) > 0] if "is_open" in frame else frame
        part = {"sales": _arrays(yoy_log_ratio(frame, freq)), "open": _arrays(open_, "y")}
        if "promo" in frame and frame["promo"].notna().any():
            part["promo"] = _arrays(frame[frame["promo"].notna()], "promo")
        if "temp_c" in frame and frame["temp_c"].notna().any():
            part["temp_c"] = _arrays(_yoy_difference(frame, "temp_c", freq))
        if level == "store_product":
            part["raw"] = frame[["series_id", "ds", "y"]]
        out[level] = part
    return out


def drift_report(prepared: dict, cutoff, asof=None, ref_days: int = 182, window_days: int = 14,
                 thresholds: DriftThresholds = DriftThresholds(), stopped_days: int = 28) -> dict:
    """Data drift of every level: sales (year-over-year log ratios), the share of zero days, and the
    exogenous inputs (promotion share as is, temperature as its year-over-year difference), plus the structural
    changes of the bottom level.

    Parameters
    ----------
    prepared : dict
        :func:`prepare_levels` of the per-level long frames ``series_id, ds, y`` (+ ``is_open``, ``promo``,
        ``temp_c`` when known).
    cutoff : date-like
        The last date of the reference (training) data; recent = the ``window_days`` after it, up to ``asof``.

    Returns
    -------
    dict
        ``cutoff``, ``levels`` (per level ``sales``, ``zero_share``, ``promo``, ``temp_c`` results, each with its
        ``drift`` flag), ``structural`` (``new``, ``stopped`` series ids) and ``drift`` (any sales, zero-share or
        structural flag; input drift is reported, as an explanation, but does not raise the flag).
    """
    bounds = _bounds(cutoff, ref_days, window_days, asof)
    end = pd.Timestamp(bounds[2])
    out = {"cutoff": str(pd.Timestamp(cutoff).date()), "end": str(end.date()), "levels": {},
           "structural": {"new": [], "stopped": []}, "drift": False}
    for level, part in prepared.items():
        res = {"sales": _level_drift(part["sales"], *bounds, thresholds, True),
               "zero_share": _zero_share(part["open"], *bounds, thresholds.alpha)}
        for name in ("promo", "temp_c"):
            if name in part:
                res[name] = _level_drift(part[name], *bounds, thresholds, False)
        out["levels"][level] = res
        out["drift"] |= res["sales"]["drift"] or res["zero_share"]["drift"]
        if "raw" in part:
            out["structural"] = structural_changes(part["raw"][part["raw"]["ds"] <= end], cutoff, stopped_days)
            out["drift"] |= bool(out["structural"]["new"] or out["structural"]["stopped"])
    return out
