"""Per-node summaries: mean, median, coefficient of variation, zero share, year-over-year growth, and ABC
(share of revenue) / XYZ (variability) classes.

ABC uses the usual Pareto cut-offs on cumulative revenue share (A up to 80%, B up to 95%, C the rest); XYZ
uses the coefficient of variation of the series' monthly sales (X below 0.5, Y below 1.0, Z above), the
customary inventory-planning thresholds. Monthly sums are used so that day-of-week swings of a perfectly
regular series do not make it look erratic.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ABC_CUTS = (0.80, 0.95)
XYZ_CUTS = (0.5, 1.0)


def _yoy(d: pd.DataFrame, freq: str) -> float:
    """Growth of the last 12 months over the 12 before (NaN with less than two years of history)."""
    end = d["ds"].max()
    span = pd.Timedelta(days=364 if freq == "W" else 365)
    last = d.loc[d["ds"] > end - span, "y"].sum()
    prev = d.loc[(d["ds"] > end - 2 * span) & (d["ds"] <= end - span), "y"].sum()
    if d["ds"].min() > end - 2 * span + pd.Timedelta(days=7 if freq == "W" else 1) or prev <= 0:
        return np.nan
    return float(last / prev - 1)


def node_summary(frame: pd.DataFrame, freq: str = "D") -> pd.DataFrame:
    """Descriptive statistics and ABC/XYZ classes per series.

    Parameters
    ----------
    frame : DataFrame
        Long frame ``series_id, ds, y``.
    freq : {"D", "W"}
        Frequency (sets the year-over-year window).

    Returns
    -------
    DataFrame
        ``series_id, mean, median, cv, zero_share, yoy_growth, total, revenue_share, abc, monthly_cv, xyz``,
        sorted by total sales, largest first.
    """
    if not {"series_id", "ds", "y"} <= set(frame.columns):
        raise ValueError("node_summary needs series_id, ds and y")
    d = frame[["series_id", "ds", "y"]].assign(ds=lambda x: pd.to_datetime(x["ds"]))
    g = d.groupby("series_id")["y"]
    out = pd.DataFrame({"mean": g.mean(), "median": g.median(), "std": g.std(ddof=1),
                        "zero_share": g.apply(lambda v: float((v <= 0).mean())), "total": g.sum()})
    out["cv"] = out["std"] / out["mean"].where(out["mean"] != 0)
    out["yoy_growth"] = d.groupby("series_id")[["ds", "y"]].apply(lambda x: _yoy(x, freq))
    monthly = d.groupby(["series_id", d["ds"].dt.to_period("M")])["y"].sum()
    mg = monthly.groupby(level=0)
    out["monthly_cv"] = mg.std(ddof=1) / mg.mean().where(mg.mean() != 0)
    out = out.sort_values("total", ascending=False)
    positive = out["total"].clip(lower=0)
    out["revenue_share"] = positive / positive.sum() if positive.sum() > 0 else np.nan
    cum = out["revenue_share"].cumsum() - out["revenue_share"]  # share *before* this node: the top one is A
    out["abc"] = np.select([cum < ABC_CUTS[0], cum < ABC_CUTS[1]], ["A", "B"], "C")
    cv = out["monthly_cv"]
    out["xyz"] = np.select([cv < XYZ_CUTS[0], cv < XYZ_CUTS[1], cv.notna()], ["X", "Y", "Z"], "")
    cols = ["mean", "median", "cv", "zero_share", "yoy_growth", "total", "revenue_share", "abc", "monthly_cv",
            "xyz"]
    return out[cols].reset_index()

