"""Price elasticity of unit demand with a CI, per category and per product where its price varies enough.

Method: the log-sales panel regression of :mod:`analytics._design` (series fixed effects, per-group trend,
day-of-week and yearly Fourier terms, holiday windows, temperature and precipitation, two-way cluster-robust
covariance) with ``log(price)`` as a regressor. Sales are revenue, so ``log sales = log units + log price``
and the coefficient ``b`` of ``log price`` is ``1 + elasticity``: the elasticity of *units* is ``b - 1``,
with the same interval shifted by 1. Units are the quantity a price moves (the textbook demand elasticity);
the revenue response is the elasticity plus one. Regressing on log sales rather than log units keeps the
exact design, weights and sample of the promotion lift (no division by a rounded price).

Identification: series fixed effects remove each series' regular price level, so the estimate comes only
from price changes *within* a series. In data where price moves only in promotions (the demo: price =
regular price x (1 - depth)), a promotion dummy next to ``log price`` would leave only the variation of depth
among promoted days and the on/off jump would go to the dummy; the dummy is therefore left out and the
elasticity is the response to price cuts as they happened, including any display or advertising that came
with them. ``post_promotion`` days are not modelled here (their dip is in the effects frame).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._design import fit_log_sales, panel_groups, sorted_panel

COLUMNS = ["group", "product_id", "estimate", "ci_low", "ci_high", "n", "n_price_changes", "price_levels",
           "ref_depth", "unit"]
UNIT = "units_per_log_price"
ALL_PRODUCTS = "*"
MIN_CHANGED_SHARE = 0.02  # share of rows more than 1% away from the series' median price
MIN_PRICE_LEVELS = 3
MIN_ROWS = 100


def _priced(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a finite positive price, sorted by series and date, with ``log_price``."""
    price = pd.to_numeric(frame["price"], errors="coerce")
    ok = (np.isfinite(price) & (price > 0)).to_numpy()
    out = (frame if ok.all() else frame.loc[ok]).reset_index(drop=True)  # no copy of every row (copied on write)
    out["log_price"] = np.log(pd.to_numeric(out["price"]))
    return sorted_panel(out)  # sorted by series and date (stable); no copy when it already is


def price_variation(frame: pd.DataFrame) -> tuple[int, int]:
    """``(rows more than 1% from their series' median price, distinct price levels after rounding to 1%)``."""
    if frame.empty:
        return 0, 0
    med = frame.groupby("series_id", sort=False)["log_price"].transform("median")
    dev = (frame["log_price"] - med).to_numpy()
    return int((np.abs(dev) > 0.01).sum()), int(pd.unique(np.round(dev, 2)).size)


def reference_depth(frame: pd.DataFrame) -> float:
    """The median discount depth (``promo_intensity``) of promoted rows: the depth the effects job's
    ``promotion`` lift refers to (:func:`analytics._design.fit_log_sales` centres its depth term there); NaN
    when depth is not recorded."""
    if "promo_intensity" not in frame or "promo" not in frame:
        return float("nan")
    depth = pd.to_numeric(frame["promo_intensity"], errors="coerce").to_numpy(dtype=float)
    on = (pd.to_numeric(frame["promo"], errors="coerce").fillna(0).to_numpy() > 0) & np.isfinite(depth)
    on &= depth > 0
    return float(np.median(depth[on])) if on.any() else float("nan")


def _enough(part: pd.DataFrame) -> tuple[bool, int, int]:
    """Whether a panel's price varies enough to estimate from, with its changed rows and price levels."""
    changed, levels = price_variation(part)
    ok = len(part) >= MIN_ROWS and changed >= max(10, MIN_CHANGED_SHARE * len(part)) and levels >= MIN_PRICE_LEVELS
    return ok, changed, levels


def _fit_group(priced: pd.DataFrame, freq: str, events, by_product: bool, level: float) -> list[dict]:
    """One regression for a group: ``log price`` interacted with each product whose price varies enough (the
    other products share one column), so each of those products gets its own elasticity; the group's is the
    sales-weighted mean of the columns' elasticities, with its CI from their covariance."""
    ok, changed, levels = _enough(priced)
    if not ok:
        return []
    own = []
    if by_product and "product_id" in priced:
        for p, part in priced.groupby(priced["product_id"].astype(str), sort=True):
            if _enough(part.reset_index(drop=True))[0]:
                own.append(p)
    # product codes instead of a string per row; -1: no product has its own column
    codes, labels = pd.factorize(priced["product_id"].astype(str)) if own else (np.full(len(priced), -1), [])
    code_of = {p: i for i, p in enumerate(labels)}
    lp = priced["log_price"].to_numpy()
    # a product's column is zero off its rows: sparse (a dense column per product: 105 MB on a large-demo category)
    cols = {f"log_price@{p}": pd.arrays.SparseArray(np.where(codes == code_of[p], lp, 0.0), fill_value=0.0)
            for p in own}
    rest = ~np.isin(codes, [code_of[p] for p in own])
    if rest.any():
        cols["log_price@" + ALL_PRODUCTS] = np.where(rest, lp, 0.0)
    extra = pd.DataFrame(cols, copy=False)  # the arrays themselves, not a consolidated copy of them
    del cols
    fit, _ = fit_log_sales(priced, freq, events, promo=None, weather="linear", extra=extra)
    present = [c for c in extra.columns if fit.has(c)]
    if not present:
        return []
    sales = {c: float(priced.loc[extra[c].to_numpy() != 0, "y"].clip(lower=0).sum()) for c in present}
    total = sum(sales.values()) or 1.0
    b, lo, hi = fit.combination({c: sales[c] / total for c in present}, level)
    rows = [{"product_id": ALL_PRODUCTS, "estimate": b - 1.0, "ci_low": lo - 1.0, "ci_high": hi - 1.0,
             "n": int(fit.n), "n_price_changes": changed, "price_levels": levels, "ref_depth": reference_depth(priced)}]
    for p in own:
        name = f"log_price@{p}"
        if not fit.has(name):
            continue
        part = priced[codes == code_of[p]]
        b, lo, hi = fit.interval(name, level)
        _, ch, lv = _enough(part.reset_index(drop=True))
        rows.append({"product_id": p, "estimate": b - 1.0, "ci_low": lo - 1.0, "ci_high": hi - 1.0,
                     "n": int(len(part)), "n_price_changes": ch, "price_levels": lv, "ref_depth": reference_depth(part)})
    return rows


def price_elasticity(frame: pd.DataFrame, freq: str, events: pd.DataFrame | None = None,
                     group_col: str = "category", by_product: bool = True, level: float = 0.95) -> pd.DataFrame:
    """Elasticity of units with respect to price, per group and per product, with a CI.

    Parameters
    ----------
    frame : DataFrame
        Bottom-level long panel: ``series_id, ds, y, price`` (``y`` = sales revenue) and any controls of
        :func:`analytics._design.fit_log_sales`, plus ``group_col`` and ``product_id``.
    freq : {"D", "W"}
        Frequency of the data.
    events : DataFrame, optional
        Holiday events to control for.
    group_col : str
        Column whose groups get one estimate each (``product_id`` = ``"*"`` rows).
    by_product : bool
        Also estimate each product whose price varies enough (at least 2% of its rows more than 1% away from
        the series' median price, at least 3 price levels and 100 rows), in the group's one regression.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        ``group, product_id, estimate, ci_low, ci_high, n, n_price_changes, price_levels, ref_depth, unit``:
        ``estimate`` is d log units / d log price (-2 = a 1% price cut sells about 2% more units);
        ``ref_depth`` is the median promotion depth of the group or product (see :func:`reference_depth`).
        Groups or products whose price does not vary enough get no row.
    """
    if "price" not in frame or group_col not in frame:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for g, sub in panel_groups(frame, group_col):  # one group's rows at a time (no sorted copy of the panel)
        rows += group_elasticity(sub, str(g), freq, events, by_product, level)
        del sub
    return elasticity_frame(rows)


def group_elasticity(sub: pd.DataFrame, group: str, freq: str, events: pd.DataFrame | None = None,
                     by_product: bool = True, level: float = 0.95) -> list[dict]:
    """The rows of :func:`price_elasticity` for one group's rows (no row when its price does not vary enough);
    :func:`elasticity_frame` of every group's rows, in group order, is its frame."""
    if "price" not in sub:
        return []
    return [{"group": group, **r} for r in _fit_group(_priced(sub), freq, events, by_product, level)]


def elasticity_frame(rows: list[dict]) -> pd.DataFrame:
    """The :func:`price_elasticity` frame of :func:`group_elasticity` rows."""
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "unit"])
    out["unit"] = UNIT
    return out[COLUMNS]


def promo_reference_depths(frame: pd.DataFrame, group_col: str = "category") -> pd.DataFrame:
    """``group, ref_depth``: the median promotion depth of each group (NaN where depth is not recorded)."""
    if group_col not in frame:
        return pd.DataFrame(columns=["group", "ref_depth"])
    part = frame[[c for c in (group_col, "promo", "promo_intensity") if c in frame]]  # only what is read
    return pd.DataFrame([{"group": str(g), "ref_depth": reference_depth(sub)}
                         for g, sub in part.groupby(group_col, sort=True)], columns=["group", "ref_depth"])


def records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows of :func:`price_elasticity` (finite floats or None)."""
    out = []
    for r in frame.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and not np.isfinite(v) else
                        int(v) if isinstance(v, (np.integer,)) else float(v) if isinstance(v, np.floating) else v)
                    for k, v in r.items()})
    return out


def format_rows(rows: list[dict]) -> list[str]:
    """Text lines of the elasticity rows for ``cli.py effects`` (category rows, then products)."""
    if not rows:
        return []
    lines = ["", "Price elasticity of units (d log units / d log price; -2 = 1% cheaper sells 2% more)",
             f"  {'group':<18} {'product':<12} {'estimate':>9}  {'95% CI':<19} {'n':>7}"]
    for r in sorted(rows, key=lambda r: (r["group"], r["product_id"] != ALL_PRODUCTS, r["product_id"])):
        ci = f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
        lines.append(f"  {str(r['group'])[:18]:<18} {str(r['product_id'])[:12]:<12} {r['estimate']:>9.2f}  "
                     f"{ci:<19} {r['n']:>7}")
    return lines
