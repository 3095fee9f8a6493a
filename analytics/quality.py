"""Data-quality report over the sales facts: gaps, duplicates, negatives, robust outliers, closed days, coverage.

Pure and vectorised (pandas/numpy only) so that it runs in seconds on millions of rows; the result is a plain
JSON-serialisable dict (``python cli.py quality --json``) and :func:`format_report` renders it as text.
"""
from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

MAD_TO_SD = 1.4826      # MAD of a normal sample times this estimates its standard deviation
MEANAD_TO_SD = 1.2533   # same for the mean absolute deviation (fallback when more than half the residuals are 0)
STEP_DAYS = {"D": 1, "W": 7}
MIN_SCALE_OBS = 30      # promoted days get their own outlier scale only with at least this many residuals


def _series_codes(df: pd.DataFrame, node_keys: Callable) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer code per (store, product) row and the key table indexed by code."""
    grouped = df.groupby(["store_id", "product_id"], sort=True, observed=True)
    codes = grouped.ngroup().to_numpy()
    keys = grouped.size().reset_index(name="rows")
    keys["series_id"] = node_keys("store_product", keys)
    return codes, keys


def _gaps(codes: np.ndarray, days: np.ndarray, step: int, keys: pd.DataFrame, top: int) -> dict:
    order = np.lexsort((days, codes))
    c, d = codes[order], days[order]
    same = np.r_[False, c[1:] == c[:-1]]
    diff = np.r_[0, np.diff(d)]
    missing = np.where(same & (diff > step), np.rint(diff / step).astype(np.int64) - 1, 0)
    dup = same & (diff == 0)
    per = pd.DataFrame({"code": c, "missing": missing})
    miss = per.groupby("code")["missing"].sum().reindex(keys.index, fill_value=0)
    first = pd.Series(d).groupby(c).min().reindex(keys.index)
    last = pd.Series(d).groupby(c).max().reindex(keys.index)
    expected = np.rint((last - first) / step).astype(np.int64) + 1
    total_missing, total_expected = int(miss.sum()), int(expected.sum())
    gap_rows = np.flatnonzero(missing > 0)
    worst = miss.sort_values(ascending=False, kind="stable")
    worst = worst[worst > 0].head(top)
    top_rows = []
    for code, n in worst.items():
        rows = gap_rows[c[gap_rows] == code][:3]
        examples = [{"from": _iso(d[i] - diff[i] + step), "missing": int(missing[i])} for i in rows]
        top_rows.append({"series_id": keys.at[code, "series_id"], "missing": int(n),
                         "share": round(float(n / expected[code]), 4), "gaps": examples})
    return {"missing": {"total": total_missing, "expected": total_expected,
                        "share": round(total_missing / total_expected, 6) if total_expected else 0.0,
                        "series_with_gaps": int((miss > 0).sum()), "top_series": top_rows},
            "duplicate_keys": int(dup.sum())}


def _iso(day_number) -> str:
    return str(np.datetime64(int(day_number), "D"))


def _rolling_median(y: np.ndarray, groups: np.ndarray, window: int, min_count: int,
                    chunk: int = 400_000) -> np.ndarray:
    """Centred rolling median of ``y`` within runs of equal ``groups`` (already sorted); NaN where too few values."""
    pad = window // 2
    yp = np.pad(y.astype(np.float64), pad, constant_values=np.nan)
    gp = np.pad(groups, pad, constant_values=-1)
    out = np.full(len(y), np.nan)
    for start in range(0, len(y), chunk):
        stop = min(start + chunk, len(y))
        win = sliding_window_view(yp[start:stop + 2 * pad], window)
        gw = sliding_window_view(gp[start:stop + 2 * pad], window)
        vals = np.where(gw == groups[start:stop, None], win, np.nan)
        vals.sort(axis=1)  # NaN sort last
        n = np.sum(~np.isnan(vals), axis=1)
        rows = np.arange(stop - start)
        lo = vals[rows, np.maximum((n - 1) // 2, 0)]
        hi = vals[rows, np.maximum(n // 2, 0)]
        out[start:stop] = np.where(n >= min_count, (lo + hi) / 2.0, np.nan)
    return out


def _robust_scale(key: np.ndarray, resid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row median and robust SD (1.4826 x MAD, else 1.2533 x mean absolute deviation) of ``resid`` by key."""
    frame = pd.DataFrame({"k": key, "r": resid})
    med = frame.groupby("k")["r"].transform("median")
    absdev = (frame["r"] - med).abs()
    mad = absdev.groupby(frame["k"]).transform("median") * MAD_TO_SD
    meanad = absdev.groupby(frame["k"]).transform("mean") * MEANAD_TO_SD
    return med.to_numpy(), mad.where(mad > 0, meanad).to_numpy()


def detect_outliers(codes: np.ndarray, days: np.ndarray, y: np.ndarray, frequency: str = "D", window: int = 7,
                    k: float = 5.0, promo: np.ndarray | None = None) -> pd.DataFrame:
    """Robust outliers: MAD rule on the residual from a seasonal rolling median, per series.

    Parameters
    ----------
    codes : ndarray of int
        Series code per observation.
    days : ndarray of int
        Date per observation as days since 1970-01-01.
    y : ndarray of float
        The values (pass open days only: closed days are expected to be 0).
    frequency : {"D", "W"}
        Daily data use a same-weekday baseline (the median of the ``window`` nearest same weekdays, so
        weekly seasonality is not flagged); weekly data use the median of the ``window`` nearest weeks.
    window : int
        Number of observations in the centred rolling median (odd; at least 3 must be present).
    k : float
        Threshold in robust standard deviations: ``|r - median(r)| > k * 1.4826 * MAD(r)`` per series
        (mean absolute deviation x 1.2533 when the MAD is 0).
    promo : ndarray of 0/1, optional
        Promotion flag; promoted and regular days get separate baselines so that a promotion's lift is not
        reported as an outlier.

    Returns
    -------
    DataFrame
        One row per flagged observation (index into the inputs): ``code, day, y, baseline, z``.
    """
    if window < 3 or window % 2 == 0:
        raise ValueError(f"window must be an odd number >= 3, got {window}")
    groups = codes.astype(np.int64) * 7 + (days + 3) % 7 if frequency == "D" else codes.astype(np.int64) * 7
    if promo is not None:
        groups = groups * 2 + (np.asarray(promo) > 0)
    order = np.lexsort((days, groups))
    base = np.full(len(y), np.nan)
    base[order] = _rolling_median(y[order], groups[order], window, min_count=3)
    resid = y - base
    # Robust centre and scale per series; promoted days get their own when there are enough of them to estimate
    # one (their residuals vary more, with the depth of the discount).
    med, scale = _robust_scale(codes, resid)
    if promo is not None:
        on = np.asarray(promo) > 0
        med_p, scale_p = _robust_scale(codes * 2 + on, resid)
        n_p = pd.Series(~np.isnan(resid)).groupby(codes * 2 + on).transform("sum").to_numpy()
        use = n_p >= MIN_SCALE_OBS
        med, scale = np.where(use, med_p, med), np.where(use, scale_p, scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(scale > 0, (resid - med) / scale, np.nan)
    flagged = np.flatnonzero(np.abs(np.nan_to_num(z)) > k)
    return pd.DataFrame({"idx": flagged, "code": codes[flagged], "day": days[flagged], "y": y[flagged],
                         "baseline": base[flagged], "z": z[flagged]})


def _top_counts(counts: pd.Series, label: str, top: int) -> list[dict]:
    counts = counts[counts > 0].sort_values(ascending=False, kind="stable").head(top)
    return [{label: str(k), "count": int(v)} for k, v in counts.items()]


def _datasets_part(datasets_df: pd.DataFrame | None) -> dict:
    if datasets_df is None or len(datasets_df) == 0:
        return {"total": 0, "by_dataset": []}
    rows = []
    for r in datasets_df.to_dict("records"):
        details = {}
        if isinstance(r.get("details"), str) and r["details"]:
            try:
                details = json.loads(r["details"])
            except ValueError:
                details = {}
        dups = r.get("duplicates")
        dups = int(dups) if dups is not None and not pd.isna(dups) else int(details.get("duplicates", 0) or 0)
        rows.append({"dataset": str(r.get("name")), "imported_at": str(r.get("imported_at")), "duplicates": dups,
                     "rows_rejected": int(r.get("rows_rejected") or 0),
                     "rejected_reasons": details.get("rejected", {}) or {}})
    return {"total": int(sum(x["duplicates"] for x in rows)), "by_dataset": rows}


def quality_report(facts_df: pd.DataFrame, datasets_df: pd.DataFrame | None = None, frequency: str = "D",
                   mad_k: float = 5.0, window: int = 7, top: int = 10, *, node_keys: Callable) -> dict:
    """Data-quality report of the fact table.

    Parameters
    ----------
    facts_df : DataFrame
        ``store.sales_facts()``: at least ``store_id, product_id, date, sales``; ``is_open`` when known.
    datasets_df : DataFrame, optional
        ``store.datasets()``: the import log, for the duplicates and rejections found at import.
    frequency : {"D", "W"}
        Spacing of the dates; gaps are counted in these steps.
    mad_k, window : float, int
        Outlier rule (see :func:`detect_outliers`).
    top : int
        How many worst series/examples to list.
    node_keys : callable
        ``data.keys.node_keys``: builds the series keys shown (passed in, so the key scheme has one home).

    Returns
    -------
    dict
        JSON-serialisable: ``rows, series, stores, products, start, end, frequency, missing_dates,
        duplicates, negative_sales, outliers, closed_days, coverage, issues``.
    """
    if frequency not in STEP_DAYS:
        raise ValueError(f"frequency must be 'D' or 'W', got {frequency!r}")
    step = STEP_DAYS[frequency]
    dup_part = _datasets_part(datasets_df)
    if facts_df is None or len(facts_df) == 0:
        return {"rows": 0, "series": 0, "stores": 0, "products": 0, "start": None, "end": None,
                "frequency": frequency, "missing_dates": {"total": 0, "expected": 0, "share": 0.0,
                                                          "series_with_gaps": 0, "top_series": []},
                "duplicates": {"at_import": dup_part["total"], "in_facts": 0, "by_dataset": dup_part["by_dataset"]},
                "negative_sales": {"count": 0, "share": 0.0, "series": 0, "top_series": [], "examples": []},
                "outliers": {"count": 0, "share": 0.0, "method": "", "top_series": [], "examples": []},
                "closed_days": {"count": 0, "share": 0.0, "closed_with_sales": 0, "by_store": []},
                "coverage": {"grid_dates": 0, "overall": 0.0, "stores": [], "products": []},
                "issues": ["no sales data"]}
    df = facts_df.reset_index(drop=True)
    codes, keys = _series_codes(df, node_keys)
    days = df["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    y = df["sales"].to_numpy(dtype=float)
    is_open = df["is_open"].fillna(1).to_numpy() if "is_open" in df else np.ones(len(df))
    n = len(df)
    gaps = _gaps(codes, days, step, keys, top)

    neg = y < 0
    neg_codes = pd.Series(codes[neg])
    neg_ex = np.flatnonzero(neg)[np.argsort(y[neg], kind="stable")][:top]
    negative = {"count": int(neg.sum()), "share": round(float(neg.mean()), 6), "series": int(neg_codes.nunique()),
                "top_series": _top_counts(neg_codes.value_counts().rename(index=keys["series_id"]), "series_id", top),
                "examples": [{"series_id": keys.at[codes[i], "series_id"], "date": _iso(days[i]),
                              "sales": float(y[i])} for i in neg_ex]}

    open_idx = np.flatnonzero(is_open != 0)
    promo = df["promo"].fillna(0).to_numpy()[open_idx] if "promo" in df else None
    out = detect_outliers(codes[open_idx], days[open_idx], y[open_idx], frequency, window, mad_k, promo)
    out_ex = out.reindex(out["z"].abs().sort_values(ascending=False, kind="stable").index).head(top)
    outliers = {"count": int(len(out)), "share": round(len(out) / max(len(open_idx), 1), 6),
                "method": (f"|residual - median| > {mad_k:g} x robust SD (1.4826 x MAD) per series; residual from a "
                           f"centred rolling median of {window} "
                           + ("same-weekday values" if frequency == "D" else "weeks")
                           + " (promoted and regular days separately); open days only"),
                "top_series": _top_counts(out["code"].value_counts().rename(index=keys["series_id"]), "series_id", top),
                "examples": [{"series_id": keys.at[r.code, "series_id"], "date": _iso(r.day), "sales": float(r.y),
                              "baseline": round(float(r.baseline), 4), "robust_z": round(float(r.z), 2)}
                             for r in out_ex.itertuples()]}

    closed = is_open == 0
    closed_days = {"count": int(closed.sum()), "share": round(float(closed.mean()), 6),
                   "closed_with_sales": int((closed & (y != 0)).sum()),
                   "by_store": _top_counts(df.loc[closed, "store_id"].value_counts(), "store_id", top)}

    first, last = int(days.min()), int(days.max())
    grid = (last - first) // step + 1
    by_store = df.assign(_d=days).groupby("store_id", sort=True).agg(
        rows=("_d", "size"), dates=("_d", "nunique"), products=("product_id", "nunique"))
    by_store["coverage"] = (by_store["dates"] / grid).round(4)
    n_stores = len(by_store)
    by_product = df.groupby("product_id", sort=True).agg(rows=("store_id", "size"), stores=("store_id", "nunique"))
    by_product["coverage"] = (by_product["rows"] / (n_stores * grid)).round(4)
    coverage = {"grid_dates": int(grid), "overall": round(n / (len(keys) * grid), 4),
                "stores": [{"store_id": str(k), **{c: _py(v) for c, v in r.items()}}
                           for k, r in by_store.sort_values("coverage", kind="stable").iterrows()],
                "products": [{"product_id": str(k), **{c: _py(v) for c, v in r.items()}}
                             for k, r in by_product.sort_values("coverage", kind="stable").iterrows()]}

    report = {"rows": n, "series": int(len(keys)), "stores": int(n_stores), "products": int(len(by_product)),
              "start": _iso(first), "end": _iso(last), "frequency": frequency, "missing_dates": gaps["missing"],
              "duplicates": {"at_import": dup_part["total"], "in_facts": gaps["duplicate_keys"],
                             "by_dataset": dup_part["by_dataset"]},
              "negative_sales": negative, "outliers": outliers, "closed_days": closed_days, "coverage": coverage}
    report["issues"] = _issues(report)
    return report


def _py(v):
    return v.item() if hasattr(v, "item") else v


def _issues(r: dict) -> list[str]:
    """One plain sentence per finding, worst first, for the report header and the Data page."""
    out = []
    m = r["missing_dates"]
    if m["total"]:
        out.append(f"{m['total']:,} missing dates ({m['share']:.2%} of expected) in {m['series_with_gaps']:,} series")
    if r["duplicates"]["at_import"] or r["duplicates"]["in_facts"]:
        out.append(f"{r['duplicates']['at_import']:,} duplicate rows dropped at import, "
                   f"{r['duplicates']['in_facts']:,} duplicate keys in the facts")
    if r["negative_sales"]["count"]:
        out.append(f"{r['negative_sales']['count']:,} negative sales values in {r['negative_sales']['series']:,} series")
    if r["outliers"]["count"]:
        out.append(f"{r['outliers']['count']:,} outliers ({r['outliers']['share']:.3%} of open days)")
    if r["closed_days"]["closed_with_sales"]:
        out.append(f"{r['closed_days']['closed_with_sales']:,} closed days with non-zero sales")
    low = [s for s in r["coverage"]["stores"] if s["coverage"] < 0.95]
    if low:
        out.append(f"{len(low)} store(s) with dates missing on more than 5% of the calendar")
    return out or ["no problems found"]


def format_report(report: dict) -> str:
    """The quality report as text for the terminal."""
    r = report
    lines = [f"Data quality: {r['rows']:,} rows, {r['series']:,} series, {r['stores']:,} stores, "
             f"{r['products']:,} products, {r['start']} .. {r['end']} (frequency {r['frequency']})", ""]
    lines += [f"  * {s}" for s in r["issues"]]
    m = r["missing_dates"]
    lines += ["", f"Missing dates: {m['total']:,} of {m['expected']:,} expected ({m['share']:.2%})"]
    lines += [f"  {t['series_id']:<32} {t['missing']:>6,} missing ({t['share']:.1%})" for t in m["top_series"]]
    d = r["duplicates"]
    lines += ["", f"Duplicates: {d['at_import']:,} dropped at import; {d['in_facts']:,} duplicate keys in the facts"]
    lines += [f"  {x['dataset']}: {x['duplicates']:,} duplicates, {x['rows_rejected']:,} rejected "
              f"{x['rejected_reasons'] or ''}" for x in d["by_dataset"]]
    ng = r["negative_sales"]
    lines += ["", f"Negative sales: {ng['count']:,} rows ({ng['share']:.3%}) in {ng['series']:,} series"]
    lines += [f"  {e['series_id']:<32} {e['date']}  {e['sales']:,.2f}" for e in ng["examples"][:5]]
    o = r["outliers"]
    lines += ["", f"Outliers: {o['count']:,} ({o['share']:.3%}); {o['method']}"]
    lines += [f"  {e['series_id']:<32} {e['date']}  {e['sales']:,.2f} vs baseline {e['baseline']:,.2f} "
              f"(z {e['robust_z']:+.1f})" for e in o["examples"][:5]]
    c = r["closed_days"]
    lines += ["", f"Closed days: {c['count']:,} ({c['share']:.2%}); closed with sales: {c['closed_with_sales']:,}"]
    cov = r["coverage"]
    lines += ["", f"Coverage: {cov['overall']:.1%} of series x {cov['grid_dates']:,} dates present"]
    lines += [f"  lowest stores:   " + ", ".join(f"{s['store_id']} {s['coverage']:.1%}" for s in cov["stores"][:5])]
    lines += [f"  lowest products: " + ", ".join(f"{p['product_id']} {p['coverage']:.1%}" for p in cov["products"][:5])]
    if "seconds" in r:
        lines += ["", f"took {r['seconds']} s"]
    return "\n".join(lines)
