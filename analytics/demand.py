"""Demand classes of every series (Syntetos-Boylan: smooth, erratic, intermittent, lumpy) and the product-demand
table that combines them with ABC/XYZ classes and margin, vectorised over a long frame.

Classification (Syntetos, Boylan & Croston 2005, "On the categorization of demand patterns", JORS 56):

- ``adi``: average demand interval, the number of periods of the series divided by the number of periods with
  demand (``y > 0``), i.e. the mean interval between demands counted from the start of the series;
- ``cv2``: squared coefficient of variation of the non-zero demand sizes (sample variance over squared mean;
  0 with a single demand);
- ``adi < 1.32`` and ``cv2 < 0.49``: smooth; ``adi < 1.32``, ``cv2 >= 0.49``: erratic; ``adi >= 1.32``,
  ``cv2 < 0.49``: intermittent; both at or above: lumpy. A series without any demand is ``no_demand``.

Croston-type models (:mod:`models.intermittent`) are the candidates for the intermittent and lumpy classes
(:data:`SPARSE_CLASSES`): the cut-offs are where Syntetos and Boylan found Croston's SBA variant beats SES.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import summaries

ADI_CUT = 1.32
CV2_CUT = 0.49
CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "no_demand")
SPARSE_CLASSES = ("intermittent", "lumpy")
CLASS_COLUMNS = ["series_id", "n_periods", "n_demands", "zero_share", "adi", "cv2", "demand_class"]


def series_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, ids)``: each row's series as an integer code into the sorted series ids (-1: a missing id). The
    per-series sums group on the codes: the ids as Python strings per row would cost more than the panel itself,
    and the codes' sorted order is the ids' own, so the groups come out in the same order."""
    codes, ids = pd.factorize(frame["series_id"].astype(str), sort=True)
    return codes, np.asarray(ids, dtype=object)


def _rows(codes: np.ndarray):
    """The rows that belong to a series (an id not missing): every row (no copy) when none is missing."""
    have = codes >= 0
    return slice(None) if have.all() else have


def classify_demand(frame: pd.DataFrame, adi_cut: float = ADI_CUT, cv2_cut: float = CV2_CUT,
                    codes: tuple | None = None) -> pd.DataFrame:
    """The Syntetos-Boylan class of every series of a long frame.

    Parameters
    ----------
    frame : DataFrame
        ``series_id, y`` (one row per series and period, zeros included; order does not matter).
    adi_cut, cv2_cut : float
        The cut-offs (default 1.32 and 0.49).
    codes : tuple, optional
        ``frame``'s :func:`series_codes`, when the caller has them already.

    Returns
    -------
    DataFrame
        :data:`CLASS_COLUMNS`, one row per series sorted by ``series_id``; ``adi`` is infinite and ``cv2``
        NaN for a series without demand.
    """
    if not {"series_id", "y"} <= set(frame.columns):
        raise ValueError("classify_demand needs the columns series_id and y")
    y = frame["y"].to_numpy(dtype=float)
    pos = y > 0
    sizes = np.where(pos, y, np.nan)
    codes, ids = series_codes(frame) if codes is None else codes  # no Python string per row
    g = pd.DataFrame({"n": np.ones(len(y)), "d": pos.astype(float), "s": sizes, "s2": sizes ** 2}).groupby(
        codes, sort=True)
    tot = g.sum(min_count=1).drop(index=-1, errors="ignore")  # -1: a missing series id, left out
    tot.index = ids[tot.index.to_numpy()]
    n, k = tot["n"].to_numpy(), tot["d"].to_numpy()
    mean = tot["s"].to_numpy() / np.where(k > 0, k, np.nan)
    var = (tot["s2"].to_numpy() - k * mean ** 2) / np.where(k > 1, k - 1, np.nan)  # sample variance
    cv2 = np.where(k > 1, np.clip(var, 0, None) / mean ** 2, np.where(k == 1, 0.0, np.nan))
    adi = np.divide(n, k, out=np.full(len(n), np.inf), where=k > 0)
    cls = np.select([k == 0, (adi < adi_cut) & (cv2 < cv2_cut), adi < adi_cut, cv2 < cv2_cut],
                    ["no_demand", "smooth", "erratic", "intermittent"], "lumpy")
    return pd.DataFrame({"series_id": tot.index.to_numpy(), "n_periods": n.astype(int), "n_demands": k.astype(int),
                         "zero_share": 1 - k / n, "adi": adi, "cv2": cv2, "demand_class": cls})


def sparse_ids(classes: pd.DataFrame) -> list[str]:
    """The series of ``classes`` (:func:`classify_demand`) classed intermittent or lumpy, sorted."""
    return sorted(classes.loc[classes["demand_class"].isin(SPARSE_CLASSES), "series_id"])


def series_margin(frame: pd.DataFrame, unit_cost: pd.Series | None, codes: tuple | None = None) -> pd.DataFrame:
    """Revenue and gross margin per series: ``series_id, revenue, margin`` (sorted by ``series_id``).

    Margin is revenue minus cost of the units sold, units being revenue / price: defined only for a series with a
    unit cost (``unit_cost``, indexed by series_id) and a positive price on every day with sales; NaN otherwise.
    ``codes``: ``frame``'s :func:`series_codes`, when the caller has them already.
    """
    codes, ids = series_codes(frame) if codes is None else codes
    have = _rows(codes)
    revenue = pd.Series(frame["y"].to_numpy()[have]).groupby(codes[have], sort=True).sum()
    margin = np.full(len(revenue), np.nan)
    if unit_cost is not None and "price" in frame.columns:
        price = pd.to_numeric(frame["price"], errors="coerce").to_numpy(dtype=float)[have]
        cost = unit_cost.reindex(ids).to_numpy(dtype=float)[codes[have]]  # each series' cost, spread to its rows
        y = frame["y"].to_numpy(dtype=float)[have]
        units = np.divide(y, price, out=np.full(len(y), np.nan), where=price > 0)
        row_margin = np.where(y != 0, y - cost * units, 0.0)
        per_series = pd.DataFrame({"m": row_margin, "ok": np.isfinite(row_margin)}).groupby(codes[have], sort=True)
        sums, complete = per_series["m"].sum(min_count=1), per_series["ok"].all()
        margin = sums.where(complete).reindex(revenue.index).to_numpy(dtype=float)
    return pd.DataFrame({"series_id": ids[revenue.index.to_numpy()], "revenue": revenue.to_numpy(),
                         "margin": margin})


def rollup_margin(members: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """The margin of aggregate nodes: the sum of their bottom series' margins (NaN when one has none).

    Parameters
    ----------
    members : DataFrame
        Bottom series: ``margin`` and the hierarchy columns (``category, product_id, region, store_id``).
    keys : DataFrame
        The nodes: ``series_id`` and the same columns, missing where a node spans every member (e.g.
        ``product_id`` of a store node); a node's bottom series are those matching its present columns.

    Returns
    -------
    DataFrame
        ``series_id, margin``.
    """
    cols = [c for c in keys.columns if c != "series_id"]
    present = keys[cols].notna()
    m = members.assign(margin=members["margin"].astype(float))
    parts = []
    for pattern, nodes in keys.groupby([present[c] for c in cols], sort=False):
        on = [c for c, used in zip(cols, pattern) if used]
        if on:  # sum(min_count) would skip a NaN member: a node is NaN when any member is
            sums = m.assign(**{c: m[c].astype(str) for c in on}).groupby(on)["margin"].agg(
                lambda v: v.sum() if v.notna().all() else np.nan).rename("margin").reset_index()
            got = nodes[["series_id", *on]].astype({c: str for c in on}).merge(sums, on=on, how="left")
        else:
            got = nodes[["series_id"]].assign(margin=m["margin"].sum() if m["margin"].notna().all() else np.nan)
        parts.append(got[["series_id", "margin"]])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["series_id", "margin"])


def abc_xyz(frame: pd.DataFrame, codes: tuple | None = None) -> pd.DataFrame:
    """ABC and XYZ classes per series with the rules of :func:`analytics.summaries.node_summary` (same cut-offs:
    A/B/C at 80%/95% of cumulative revenue, X/Y/Z at monthly CV 0.5/1.0), vectorised (no per-series apply):
    ``series_id, revenue_share, abc, monthly_cv, xyz``. ``codes``: ``frame``'s :func:`series_codes`, when the
    caller has them already."""
    codes, ids = series_codes(frame) if codes is None else codes
    have = _rows(codes)
    sid = codes[have]
    ds = pd.DatetimeIndex(frame["ds"].to_numpy()[have])
    month = ds.year.to_numpy() * 12 + ds.month.to_numpy()
    del ds
    y = pd.Series(frame["y"].to_numpy()[have])
    monthly = y.groupby([sid, month], sort=False).sum()
    del month
    mg = monthly.groupby(level=0, sort=True)
    total = y.groupby(sid, sort=True).sum()
    out = pd.DataFrame({"total": total, "monthly_cv": mg.std(ddof=1) / mg.mean().where(mg.mean() != 0)})
    out.index = ids[out.index.to_numpy()]
    out = out.sort_values("total", ascending=False, kind="mergesort")
    positive = out["total"].clip(lower=0)
    out["revenue_share"] = positive / positive.sum() if positive.sum() > 0 else np.nan
    cum = out["revenue_share"].cumsum() - out["revenue_share"]  # share *before* this node: the top one is A
    out["abc"] = np.select([cum < summaries.ABC_CUTS[0], cum < summaries.ABC_CUTS[1]], ["A", "B"], "C")
    cv = out["monthly_cv"]
    out["xyz"] = np.select([cv < summaries.XYZ_CUTS[0], cv < summaries.XYZ_CUTS[1], cv.notna()], ["X", "Y", "Z"], "")
    return out.rename_axis("series_id").reset_index()[["series_id", "revenue_share", "abc", "monthly_cv", "xyz"]]


def demand_table(frame: pd.DataFrame, freq: str = "D", unit_cost: pd.Series | None = None,
                 classes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per series: the demand class, ABC/XYZ (:func:`abc_xyz`), revenue and margin.

    ``classes``: :func:`classify_demand` of ``frame`` when the caller has it already (the refresh classifies at
    its load).

    Returns
    -------
    DataFrame
        :data:`CLASS_COLUMNS` + ``revenue, revenue_share, abc, monthly_cv, xyz, margin``, sorted by revenue,
        largest first.
    """
    codes = series_codes(frame)  # once for the three per-series passes
    if classes is None:
        classes = classify_demand(frame, codes=codes)
    money = series_margin(frame, unit_cost, codes=codes)
    out = classes.merge(money, on="series_id").merge(abc_xyz(frame, codes=codes), on="series_id", how="left")
    return out.sort_values(["revenue", "series_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def class_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """Counts and revenue shares of each ABC x XYZ cell (rows A/B/C, a column per X/Y/Z): ``abc, xyz, n,
    revenue_share``, with every cell present (zeros where empty)."""
    cells = pd.MultiIndex.from_product([["A", "B", "C"], ["X", "Y", "Z"]], names=["abc", "xyz"])
    g = table[table["xyz"].isin(["X", "Y", "Z"])].groupby(["abc", "xyz"])
    out = pd.DataFrame({"n": g.size(), "revenue_share": g["revenue_share"].sum()}).reindex(cells, fill_value=0)
    return out.reset_index()


def highlights(table: pd.DataFrame, n: int = 10) -> dict:
    """The products to protect and the candidates for less inventory.

    ``top``: class A (high demand: the first 80% of revenue) ranked by margin where every row has one, else by
    revenue; ``under``: class C (the last 5% of revenue) whose demand is intermittent, lumpy, erratic or has
    none, or whose monthly sales vary a lot (Z), ranked by revenue ascending: little revenue from stock that
    turns unpredictably, the usual candidates for less inventory or make-to-order.
    """
    basis = "margin" if len(table) and table["margin"].notna().all() else "revenue"
    top = table[table["abc"] == "A"].sort_values([basis, "series_id"], ascending=[False, True], kind="mergesort")
    risky = table["demand_class"].isin(["intermittent", "lumpy", "erratic", "no_demand"]) | (table["xyz"] == "Z")
    under = table[(table["abc"] == "C") & risky].sort_values(["revenue", "series_id"], kind="mergesort")
    return {"top": top.head(n).reset_index(drop=True), "under": under.head(n).reset_index(drop=True),
            "basis": basis}


def class_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Nodes per ABC class (rows A/B/C) and demand class (a column per :data:`CLASSES`), zeros where none."""
    counts = pd.crosstab(table["abc"], table["demand_class"])
    return counts.reindex(index=["A", "B", "C"], columns=list(CLASSES), fill_value=0).rename_axis(
        index="abc", columns=None).reset_index()
