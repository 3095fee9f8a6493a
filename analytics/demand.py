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


def classify_demand(frame: pd.DataFrame, adi_cut: float = ADI_CUT, cv2_cut: float = CV2_CUT) -> pd.DataFrame:
    """The Syntetos-Boylan class of every series of a long frame.

    Parameters
    ----------
    frame : DataFrame
        ``series_id, y`` (one row per series and period, zeros included; order does not matter).
    adi_cut, cv2_cut : float
        The cut-offs (default 1.32 and 0.49).

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
    g = pd.DataFrame({"n": np.ones(len(y)), "d": pos.astype(float), "s": sizes, "s2": sizes ** 2}).groupby(
        frame["series_id"].astype(str).to_numpy(), sort=True)
    tot = g.sum(min_count=1)
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


def series_margin(frame: pd.DataFrame, unit_cost: pd.Series | None) -> pd.DataFrame:
    """Revenue and gross margin per series: ``series_id, revenue, margin``.

    Margin is revenue minus cost of the units sold, units being revenue / price: defined only for a series with a
    unit cost (``unit_cost``, indexed by series_id) and a positive price on every day with sales; NaN otherwise.
    """
    d = frame[["series_id", "y"]].assign(series_id=frame["series_id"].astype(str))
    revenue = d.groupby("series_id", sort=True)["y"].sum()
    margin = pd.Series(np.nan, index=revenue.index)
    if unit_cost is not None and "price" in frame.columns:
        price = pd.to_numeric(frame["price"], errors="coerce").to_numpy(dtype=float)
        cost = d["series_id"].map(unit_cost).to_numpy(dtype=float)
        sold = d["y"].to_numpy(dtype=float) != 0
        units = np.divide(d["y"].to_numpy(dtype=float), price, out=np.full(len(d), np.nan), where=price > 0)
        row_margin = np.where(sold, d["y"].to_numpy(dtype=float) - cost * units, 0.0)
        margin = pd.Series(row_margin, index=d.index).groupby(d["series_id"], sort=True).sum(min_count=1)
        complete = pd.Series(np.isfinite(row_margin), index=d.index).groupby(d["series_id"], sort=True).all()
        margin = margin.where(complete)
    return pd.DataFrame({"series_id": revenue.index, "revenue": revenue.to_numpy(),
                         "margin": margin.reindex(revenue.index).to_numpy(dtype=float)})


def demand_table(frame: pd.DataFrame, freq: str = "D", unit_cost: pd.Series | None = None) -> pd.DataFrame:
    """Per series: the demand class, ABC/XYZ (:func:`analytics.summaries.node_summary`), revenue and margin.

    Returns
    -------
    DataFrame
        :data:`CLASS_COLUMNS` + ``revenue, revenue_share, abc, monthly_cv, xyz, margin``, sorted by revenue,
        largest first.
    """
    classes = classify_demand(frame)
    summ = summaries.node_summary(frame[["series_id", "ds", "y"]], freq)[
        ["series_id", "revenue_share", "abc", "monthly_cv", "xyz"]]
    money = series_margin(frame, unit_cost)
    out = classes.merge(money, on="series_id").merge(summ.assign(series_id=summ["series_id"].astype(str)),
                                                      on="series_id", how="left")
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
