"""Decomposition of one node's series: STL/MSTL components, strength of trend and seasonality, seasonal
period detection, day-of-week and month-of-year indices with CIs, and a year-over-year comparison.

Inputs are frames with ``ds, y`` (one series, daily ``"D"`` or weekly ``"W"``). Closed days (``y <= 0`` on a
day that should have sales) are treated as missing and interpolated before STL, because a closure is an
event, not part of the seasonal pattern.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tsa.seasonal import MSTL, STL

YEAR_DAYS = 365.25
CANDIDATES = {"D": {"weekly": 7.0, "monthly": YEAR_DAYS / 12, "yearly": YEAR_DAYS},
              "W": {"monthly": YEAR_DAYS / 12 / 7, "quarterly": YEAR_DAYS / 4 / 7, "yearly": YEAR_DAYS / 7}}
HARMONICS = {"weekly": 3, "monthly": 2, "quarterly": 2, "yearly": 6}
DOW = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _regular(frame: pd.DataFrame, freq: str) -> pd.Series:
    """The series on a complete date grid, closures/gaps interpolated, positive values logged."""
    if not {"ds", "y"} <= set(frame.columns):
        raise ValueError("need a frame with columns ds and y")
    s = frame.assign(ds=pd.to_datetime(frame["ds"])).groupby("ds")["y"].sum().sort_index()
    step = "D" if freq == "D" else pd.infer_freq(s.index[:10]) or "7D"
    s = s.reindex(pd.date_range(s.index.min(), s.index.max(), freq=step))
    s = s.where(s > 0).interpolate(limit_direction="both")
    if s.isna().all():
        raise ValueError("the series has no positive value")
    return s


def decompose(frame: pd.DataFrame, freq: str, periods: tuple[int, ...] | None = None) -> pd.DataFrame:
    """STL (one period) or MSTL (several) decomposition of the series' levels.

    Parameters
    ----------
    frame : DataFrame
        ``ds, y`` of one series.
    freq : {"D", "W"}
        Frequency; default periods are (7, 365) for daily data and (52,) for weekly data.
    periods : tuple of int, optional
        Seasonal periods; those without two full cycles of history are dropped.

    Returns
    -------
    DataFrame
        ``ds, observed, trend, seasonal_<p> ..., resid``; empty when no period has two full cycles.
    """
    s = _regular(frame, freq)
    periods = periods or ((7, 365) if freq == "D" else (52,))
    periods = tuple(p for p in periods if len(s) >= 2 * p)
    if not periods:
        return pd.DataFrame(columns=["ds", "observed", "trend", "resid"])
    if len(periods) == 1:
        res = STL(s.to_numpy(), period=periods[0], robust=True).fit()
        seasonal = {f"seasonal_{periods[0]}": res.seasonal}
    else:
        res = MSTL(s.to_numpy(), periods=periods).fit()
        seas = np.atleast_2d(res.seasonal.T if res.seasonal.ndim == 2 else res.seasonal)
        seasonal = {f"seasonal_{p}": seas[i] for i, p in enumerate(periods)}
    return pd.DataFrame({"ds": s.index, "observed": s.to_numpy(), "trend": res.trend, **seasonal,
                         "resid": res.resid})


def strength(components: pd.DataFrame) -> dict:
    """Hyndman's strength of trend and of each seasonal component (0 = none, 1 = all variation).

    ``F_T = max(0, 1 - var(R) / var(T + R))`` and ``F_S = max(0, 1 - var(R) / var(S + R))``
    (Wang, Smith & Hyndman 2006; *Forecasting: Principles and Practice*, section 4.3).
    """
    if components.empty:
        return {}
    r = components["resid"].to_numpy()
    out = {"trend_strength": max(0.0, 1 - np.var(r) / np.var(components["trend"].to_numpy() + r))}
    for col in components.columns:
        if col.startswith("seasonal_"):
            out[f"{col.replace('seasonal_', 'seasonal_strength_')}"] = max(
                0.0, 1 - np.var(r) / np.var(components[col].to_numpy() + r))
    return out


def ols_hac(y: np.ndarray, X: np.ndarray, lags: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS with Newey-West (Bartlett kernel) covariance: ``(beta, cov, resid)``.

    Written out with numpy because it runs once per node in the effects job and statsmodels' generic path
    (SVD pseudo-inverse plus the HAC helper) is an order of magnitude slower for these small designs.
    """
    n = len(y)
    lags = int(np.floor(4 * (n / 100) ** (2 / 9))) if lags is None else lags
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ (X.T @ y)
    resid = y - X @ beta
    u = X * resid[:, None]
    meat = u.T @ u
    for lag in range(1, lags + 1):
        w = 1 - lag / (lags + 1)
        g = u[lag:].T @ u[:-lag]
        meat += w * (g + g.T)
    return beta, xtx_inv @ meat @ xtx_inv, resid


def _holiday_window(frame: pd.DataFrame, index: pd.DatetimeIndex, freq: str) -> pd.DataFrame:
    """Dummies for the steps around holiday dates (pre-holiday ramps are events, not seasonality)."""
    out = pd.DataFrame(index=range(len(index)))
    if "is_holiday" not in frame:
        return out
    hol = frame.assign(ds=pd.to_datetime(frame["ds"])).groupby("ds")["is_holiday"].max()
    flag = hol.reindex(index).fillna(0).to_numpy(dtype=float) > 0
    lo, hi = (-7, 3) if freq == "D" else (-2, 1)
    for k in range(lo, hi + 1):  # column k marks rows k steps after a holiday
        shifted = np.roll(flag, k)
        if k > 0:
            shifted[:k] = False
        elif k < 0:
            shifted[k:] = False
        if shifted.any():
            out[f"holiday{k:+d}"] = shifted.astype(float)
    return out


def detect_periods(frame: pd.DataFrame, freq: str, alpha: float = 0.01, band: int = 8,
                   guard: int = 2) -> pd.DataFrame:
    """Test candidate seasonal periods against the local noise level of the periodogram.

    The log series is cleaned of a linear trend and of the steps around holidays, then its periodogram is
    computed. For a candidate period ``p`` (weekly/monthly/yearly for daily data; monthly/quarterly/yearly
    for weekly data) the power at its fundamental frequency and harmonics is compared with the mean power of
    the neighbouring frequencies (``band`` bins either side, skipping ``guard`` bins for leakage). Without a
    seasonal peak the ratio follows an F distribution with ``2H`` and ``2M`` degrees of freedom (``H``
    harmonics, ``M`` neighbours), whatever the smooth shape of the noise spectrum, so persistent noise
    (weather anomalies, autocorrelated errors) is not mistaken for seasonality. A period is *detected* when
    the p-value is below ``alpha`` after a Bonferroni correction over the candidates and the history covers
    two full cycles.

    Returns
    -------
    DataFrame
        ``period, name, strength, p_value, detected``; ``strength`` is the share of the cleaned series'
        variance at the candidate's frequencies.
    """
    s = np.log(_regular(frame, freq))
    n = len(s)
    t = np.arange(n, dtype=float)
    X = pd.concat([pd.DataFrame({"const": 1.0, "trend": t / n}), _holiday_window(frame, s.index, freq)], axis=1)
    Xn = X.to_numpy()
    resid = s.to_numpy() - Xn @ np.linalg.lstsq(Xn, s.to_numpy(), rcond=None)[0]
    power = np.abs(np.fft.rfft(resid)) ** 2
    power[0] = 0.0
    total = power[1:].sum()
    cands = {name: p for name, p in CANDIDATES[freq].items() if n >= 2 * p}
    rows = []
    for name, period in CANDIDATES[freq].items():
        if name not in cands:
            rows.append({"period": period, "name": name, "strength": np.nan, "p_value": np.nan, "detected": False})
            continue
        peak, noise, n_h, n_m = 0.0, 0.0, 0, 0
        for h in range(1, HARMONICS[name] + 1):
            j = n * h / period  # fractional bin of the h-th harmonic
            if j + guard + 1 >= len(power) or h * 2 > period:
                break
            own = [b for b in (int(np.floor(j)), int(np.ceil(j))) if 1 <= b < len(power)]
            near = [b for b in range(int(round(j)) - band - guard, int(round(j)) + band + guard + 1)
                    if 1 <= b < len(power) and abs(b - j) > guard]
            if not own or not near:
                continue
            peak += max(power[b] for b in own)
            noise += power[near].mean()
            n_h, n_m = n_h + 1, n_m + len(near)
        if n_h == 0:
            rows.append({"period": period, "name": name, "strength": np.nan, "p_value": np.nan, "detected": False})
            continue
        ratio = peak / noise if noise > 0 else np.inf
        # max of the two bins around a fractional frequency: P(max > x) = 1 - (1 - P)^2 under the null
        p_one = float(stats.f.sf(ratio, 2 * n_h, 2 * n_m))
        p_value = float(1 - (1 - p_one) ** 2)
        rows.append({"period": period, "name": name, "strength": float(peak / total) if total > 0 else np.nan,
                     "p_value": p_value, "detected": bool(p_value < alpha / len(cands))})
    return pd.DataFrame(rows)


def seasonal_profiles(frame: pd.DataFrame, freq: str, level: float = 0.95) -> pd.DataFrame:
    """Day-of-week (daily data) and month-of-year indices of the series with confidence intervals.

    ``log y`` is regressed on a linear trend and sum-to-zero coded day-of-week and month dummies with
    Newey-West standard errors; an index is ``exp`` of the effect (1.10 = 10% above the geometric average).

    Returns
    -------
    DataFrame
        ``profile, period, index, ci_low, ci_high, n`` (profiles ``day_of_week`` and ``month_of_year``).
    """
    s = np.log(_regular(frame, freq))
    ds = s.index
    blocks, specs = [], []
    if freq == "D":
        specs.append(("day_of_week", ds.dayofweek.to_numpy(), DOW))
    specs.append(("month_of_year", ds.month.to_numpy() - 1, MONTHS))
    cols = {"const": np.ones(len(s)), "trend": np.arange(len(s)) / len(s)}
    for name, codes, labels in specs:
        present = sorted(set(codes))
        for j in present[:-1]:  # sum-to-zero (deviation) coding; the last level is minus the sum
            cols[f"{name}_{j}"] = (codes == j).astype(float) - (codes == present[-1]).astype(float)
        blocks.append((name, codes, labels, present))
    X = pd.DataFrame(cols)
    crit = stats.norm.ppf(0.5 + level / 2)
    beta, cov, _ = ols_hac(s.to_numpy(), X.to_numpy())
    rows = []
    for name, codes, labels, present in blocks:
        for j in present:
            w = np.zeros(len(beta))
            if j == present[-1]:
                w[[X.columns.get_loc(f"{name}_{i}") for i in present[:-1]]] = -1.0
            else:
                w[X.columns.get_loc(f"{name}_{j}")] = 1.0
            b, se = float(w @ beta), float(np.sqrt(w @ cov @ w))
            rows.append({"profile": name, "period": labels[j], "index": float(np.exp(b)),
                         "ci_low": float(np.exp(b - crit * se)), "ci_high": float(np.exp(b + crit * se)),
                         "n": int((codes == j).sum())})
    return pd.DataFrame(rows, columns=["profile", "period", "index", "ci_low", "ci_high", "n"])


def year_over_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Monthly sales per year side by side with the growth over the same month a year earlier.

    Returns
    -------
    DataFrame
        ``year, month, y, days, yoy_growth``; ``y`` is scaled to a full month when days are missing and
        ``yoy_growth`` is relative (0.05 = +5%), NaN without a previous year.
    """
    d = frame.assign(ds=pd.to_datetime(frame["ds"]))
    g = d.groupby([d["ds"].dt.year.rename("year"), d["ds"].dt.month.rename("month")])
    out = g["y"].sum().to_frame("y").join(g["ds"].nunique().rename("days")).reset_index()
    full = pd.to_datetime(dict(year=out["year"], month=out["month"], day=1)).dt.days_in_month
    step = max(1, int(d["ds"].drop_duplicates().sort_values().diff().dt.days.median() or 1))
    out["y"] = out["y"] * (full / step) / out["days"].clip(lower=1)
    prev = out.assign(year=out["year"] + 1)[["year", "month", "y"]].rename(columns={"y": "y_prev"})
    out = out.merge(prev, on=["year", "month"], how="left")
    out["yoy_growth"] = out["y"] / out["y_prev"] - 1
    return out.drop(columns="y_prev")


def infer_freq(frame: pd.DataFrame) -> str:
    """``"D"`` or ``"W"`` from the median spacing of ``ds`` (daily when it cannot tell).

    Parameters
    ----------
    frame : DataFrame
        Has a ``ds`` column of dates.

    Returns
    -------
    str
        ``"D"`` when consecutive dates are at most a day apart (or there are fewer than two), else ``"W"``.
    """
    step = frame["ds"].sort_values().diff().median() if len(frame) > 1 else pd.Timedelta(days=1)
    return "D" if pd.isna(step) or step <= pd.Timedelta(days=1) else "W"


def decompose_history(frame: pd.DataFrame) -> pd.DataFrame:
    """STL/MSTL components of a whole history, its frequency inferred, with the periods MSTL would keep.

    statsmodels' MSTL silently drops a period unless the series is *more* than two cycles long, so only those
    periods are passed (one year of daily data needs 731+ days for the yearly period).

    Parameters
    ----------
    frame : DataFrame
        ``ds, y`` of one (summed) series, daily or weekly.

    Returns
    -------
    DataFrame
        As :func:`decompose`: ``ds, observed, trend, seasonal_<p> ..., resid``; ``frame`` itself when empty, and
        only ``ds, observed, trend, resid`` (no rows) when no period has more than two cycles.
    """
    if frame.empty:
        return frame
    freq = infer_freq(frame)
    periods = tuple(p for p in ((7, 365) if freq == "D" else (52,)) if len(frame) > 2 * p)
    if not periods:
        return pd.DataFrame(columns=["ds", "observed", "trend", "resid"])
    return decompose(frame, freq, periods)
