"""Customer transactions, RFM scores and named segments, cohort retention, and the BG/NBD summary per customer.

Input is order lines with the ``order_lines`` columns (``order_id, customer, date, product, store, quantity,
revenue``). A *transaction* is one customer's purchases on one calendar day (revenue summed), the usual unit of
the buy-till-you-die models: two orders on the same day are one purchase occasion.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

WEEK = 7.0

# R score then F score (1-5 each) -> segment; the widely used RFM segment grid, with R = 1 "lost" split off
# from "hibernating". First match wins.
SEGMENT_RULES = (
    (r"5[4-5]", "champions"),
    (r"[3-4][4-5]", "loyal"),
    (r"[4-5][2-3]", "potential loyalist"),
    (r"51", "new customers"),
    (r"41", "promising"),
    (r"33", "need attention"),
    (r"3[1-2]", "about to sleep"),
    (r"[1-2]5", "cannot lose them"),
    (r"[1-2][3-4]", "at risk"),
    (r"2[1-2]", "hibernating"),
    (r"1[1-2]", "lost"),
)
SEGMENTS = tuple(name for _rule, name in SEGMENT_RULES)


def transactions(lines: pd.DataFrame, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per customer and purchase day up to ``end`` (inclusive): ``customer, date, revenue, orders``.

    Lines without a customer, and days whose net revenue is not positive (fully returned), are left out.
    """
    df = lines[lines["customer"].notna() & (lines["customer"].astype(str) != "")]
    df = df.assign(date=pd.to_datetime(df["date"]).dt.normalize(), customer=df["customer"].astype(str))
    if end is not None:
        df = df[df["date"] <= pd.Timestamp(end)]
    tx = (df.groupby(["customer", "date"], sort=True)
          .agg(revenue=("revenue", "sum"), orders=("order_id", "nunique")).reset_index())
    return tx[tx["revenue"] > 0].reset_index(drop=True)


def summary(tx: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Per customer as of ``end``: RFM inputs and the BG/NBD/Gamma-Gamma statistics (times in weeks).

    Columns: ``customer, first, last, orders (purchase days), revenue, recency_days, tenure_days, x (repeat
    purchases), t_x, T, m_x`` (mean value of the repeat purchases, NaN when x = 0).
    """
    end = pd.Timestamp(end)
    tx = tx[tx["date"] <= end]
    g = tx.groupby("customer", sort=True)
    out = g.agg(first=("date", "min"), last=("date", "max"), orders=("date", "size"), revenue=("revenue", "sum"))
    first_rev = g["revenue"].first()
    out["recency_days"] = (end - out["last"]).dt.days.astype(float)
    out["tenure_days"] = (end - out["first"]).dt.days.astype(float)
    out["x"] = (out["orders"] - 1).astype(float)
    out["t_x"] = (out["last"] - out["first"]).dt.days / WEEK
    out["T"] = out["tenure_days"] / WEEK
    with np.errstate(invalid="ignore", divide="ignore"):
        out["m_x"] = np.where(out["x"] > 0, (out["revenue"] - first_rev) / out["x"].where(out["x"] > 0), np.nan)
    return out.reset_index()


def _score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Quintile score 1-5 from the percentile rank (ties share a score)."""
    pct = values.rank(pct=True, method="average", ascending=higher_is_better)
    return np.ceil(pct * 5).clip(1, 5).astype(int)


def rfm(summ: pd.DataFrame) -> pd.DataFrame:
    """RFM quintile scores and the named segment per customer.

    Parameters
    ----------
    summ : pandas.DataFrame
        :func:`summary`'s frame.

    Returns
    -------
    pandas.DataFrame
        ``customer, recency_days, frequency, monetary, r, f, m, rfm, segment``; ``monetary`` is the revenue to date.
    """
    out = pd.DataFrame({"customer": summ["customer"], "recency_days": summ["recency_days"],
                        "frequency": summ["orders"].astype(int), "monetary": summ["revenue"]})
    out["r"] = _score(-out["recency_days"])
    out["f"] = _score(out["frequency"].astype(float))
    out["m"] = _score(out["monetary"])
    out["rfm"] = out["r"].astype(str) + out["f"].astype(str) + out["m"].astype(str)
    rf = out["r"].astype(str) + out["f"].astype(str)
    seg = pd.Series("other", index=out.index, dtype=object)
    for rule, name in reversed(SEGMENT_RULES):  # reversed: the first rule wins
        seg[rf.str.fullmatch(rule)] = name
    out["segment"] = seg
    return out


def segment_table(scores: pd.DataFrame, value_col: str = "monetary") -> pd.DataFrame:
    """Customers and revenue per segment (``segment, customers, share, revenue, revenue_share, ...``)."""
    g = scores.groupby("segment")
    out = g.agg(customers=("customer", "size"), revenue=(value_col, "sum"),
                mean_recency_days=("recency_days", "mean"), mean_frequency=("frequency", "mean")).reset_index()
    for extra in ("clv", "p_alive", "value_at_risk"):
        if extra in scores:
            out = out.merge(g[extra].agg("sum" if extra != "p_alive" else "mean").rename(extra).reset_index(),
                            on="segment")
    out["share"] = out["customers"] / out["customers"].sum()
    out["revenue_share"] = out["revenue"] / out["revenue"].sum() if out["revenue"].sum() else 0.0
    order = {name: i for i, name in enumerate(SEGMENTS)}
    return out.sort_values("segment", key=lambda s: s.map(order).fillna(99)).reset_index(drop=True)


def cohorts(tx: pd.DataFrame, max_periods: int = 24) -> pd.DataFrame:
    """Monthly cohort retention, long format: ``cohort, period, customers, active, retention``.

    ``cohort`` is the first-purchase month (``YYYY-MM``); ``period`` the months since it; ``active`` the cohort's
    customers with a purchase in that month; ``retention = active / cohort size``.
    """
    if tx.empty:
        return pd.DataFrame(columns=["cohort", "period", "customers", "active", "retention"])
    month = tx["date"].dt.to_period("M")
    first = month.groupby(tx["customer"]).transform("min")
    period = (month - first).map(lambda d: d.n)
    df = pd.DataFrame({"customer": tx["customer"], "cohort": first.astype(str), "period": period.astype(int)})
    size = df.groupby("cohort")["customer"].nunique().rename("customers")
    active = df.drop_duplicates(["customer", "cohort", "period"]).groupby(["cohort", "period"]).size()
    out = active.rename("active").reset_index().merge(size.reset_index(), on="cohort")
    out = out[out["period"] <= max_periods]
    out["retention"] = out["active"] / out["customers"]
    return out[["cohort", "period", "customers", "active", "retention"]].sort_values(["cohort", "period"]) \
        .reset_index(drop=True)


def segment_products(lines: pd.DataFrame, scores: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Per segment, the products its customers buy: ``segment, product, revenue, quantity, customers, share``."""
    df = lines[["customer", "product", "revenue", "quantity"]].assign(customer=lines["customer"].astype(str))
    df = df.merge(scores[["customer", "segment"]], on="customer", how="inner")
    g = df.groupby(["segment", "product"])
    out = g.agg(revenue=("revenue", "sum"), quantity=("quantity", "sum"),
                customers=("customer", "nunique")).reset_index()
    out["share"] = out["revenue"] / out.groupby("segment")["revenue"].transform("sum")
    out = out.sort_values(["segment", "revenue"], ascending=[True, False])
    return out.groupby("segment").head(top).reset_index(drop=True)


def parse_horizon(text: str) -> float:
    """A horizon such as ``12m``, ``26w`` or ``90d`` in weeks (a month is 365.25 / 12 days)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dwmy])\s*", str(text).lower())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"horizon must be a positive number followed by d, w, m or y (e.g. 12m, 26w, 90d), "
                         f"got {text!r}")
    days = {"d": 1.0, "w": 7.0, "m": 365.25 / 12, "y": 365.25}[m.group(2)]
    return float(m.group(1)) * days / WEEK
