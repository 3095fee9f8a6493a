"""Series readers: one node's history, whole levels in long format, and sums or totals over a list of nodes.

Aggregate nodes read ``agg_sales`` through its primary key (node_id, date) or its (level, date) index; bottom
nodes read the fact table through its (store_id, product_id, date) primary key, so no reader scans the facts.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Date, and_, bindparam, case, func, select

from data import schema
from data.engine import FIRST_DATE, LAST_DATE, as_date, closed_range, read_frame
from data.facts import date_bounds
from data.keys import STORE_PREFIX, STORE_RANGE_END, node_id, node_keys, parse_node_id, split_nodes
from domain import BOTTOM_LEVEL

_SALES = schema.Sale.__table__
FACT_CHUNK_ROWS = 200_000  # fact rows fetched at a time by :func:`bottom_frame` (see ``read_frame``)
_AGG = schema.AggSales.__table__
_NODES = schema.Node.__table__


def _dates():
    """Named ``start`` and ``end`` date parameters (both ends included)."""
    return bindparam("start", type_=Date()), bindparam("end", type_=Date())


def _agg_columns():
    a = _AGG.c
    return (a.date.label("ds"), a.sales.label("y"), a.promo_share.label("promo"), a.open_share.label("is_open"),
            a.is_holiday, a.temp_c, a.precip_mm, a.n_rows)


def _bottom_series():
    """One store x product's facts with its store's weather and holidays (``agg_sales`` of the store node)."""
    s, a = _SALES.c, _AGG.c
    return (select(s.date.label("ds"), s.sales.label("y"), s.promo, s.promo_intensity, s.is_open, s.price,
                   func.coalesce(a.is_holiday, 0).label("is_holiday"), a.temp_c, a.precip_mm)
            .select_from(_SALES.outerjoin(_AGG, and_(a.node_id == bindparam("store_key"), a.date == s.date)))
            .where(s.store_id == bindparam("store_id"), s.product_id == bindparam("product_id"),
                   s.date.between(*_dates()))
            .order_by(s.date))


# The hot readers' statements, built once (see :func:`data.engine.read_frame`).
_BOTTOM_SERIES = _bottom_series()
_NODE_SERIES = (select(*_agg_columns()).where(_AGG.c.node_id == bindparam("node"), _AGG.c.date.between(*_dates()))
                .order_by(_AGG.c.date))
_LEVEL_FRAME = (select(_AGG.c.node_id.label("series_id"), *_agg_columns())
                .where(_AGG.c.level == bindparam("level"), _AGG.c.date.between(*_dates()))
                .order_by(_AGG.c.node_id, _AGG.c.date))
_ALL_FACTS = (select(_SALES.c.store_id, _SALES.c.product_id, _SALES.c.date.label("ds"), _SALES.c.sales.label("y"),
                     _SALES.c.promo, _SALES.c.promo_intensity, _SALES.c.price, _SALES.c.is_open)
              .order_by(_SALES.c.store_id, _SALES.c.product_id, _SALES.c.date))
# With a date range SQLite reads ix_sales_date and sorts every row in a temporary b-tree (3.3M rows: 30 s against
# 6 s for the primary-key scan), so the whole history is read by :data:`_ALL_FACTS`, without the range.
_FACTS = _ALL_FACTS.where(_SALES.c.date.between(*_dates()))
# Store nodes are one primary-key range; the store id is the key after its prefix.
_STORE_EXOG = (select(_AGG.c.node_id.label("store_id"), _AGG.c.date.label("ds"), _AGG.c.is_holiday, _AGG.c.temp_c,
                      _AGG.c.precip_mm)
               .where(_AGG.c.node_id >= STORE_PREFIX, _AGG.c.node_id < STORE_RANGE_END, _AGG.c.level == "store",
                      _AGG.c.date.between(*_dates())))


def series(key: str, start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """One node's history: columns ``ds, y, promo, is_open, is_holiday, temp_c, precip_mm``.

    Bottom-level keys read the fact table (with their store's weather and holidays); every other node reads
    the pre-aggregated ``agg_sales`` table.
    """
    info = parse_node_id(key)
    lo, hi = closed_range(start, end)
    if info["level"] == BOTTOM_LEVEL:
        params = {"store_key": node_id("store", store_id=info["store_id"]), "store_id": info["store_id"],
                  "product_id": info["product_id"], "start": lo, "end": hi}
        return read_frame(_BOTTOM_SERIES, url, parse_dates=["ds"], params=params)
    return read_frame(_NODE_SERIES, url, parse_dates=["ds"], params={"node": key, "start": lo, "end": hi})


def level_frame(level: str, start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """All series of one aggregate level in long format (``series_id, ds, y, ...``) from ``agg_sales``."""
    if level == BOTTOM_LEVEL:
        return bottom_frame(start, end, url)
    lo, hi = closed_range(start, end)
    return read_frame(_LEVEL_FRAME, url, parse_dates=["ds"], params={"level": level, "start": lo, "end": hi})


def bottom_frame(start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """Every store x product series in long format with store-level weather and holidays attached."""
    dates = dict(zip(("start", "end"), closed_range(start, end)))
    # Two key-ordered scans joined in pandas: the SQL join (an agg_sales lookup per fact row, and the series key
    # built per row in SQL) is several times slower.
    whole = start is None and end is None
    facts = read_frame(_ALL_FACTS if whole else _FACTS, url, params=None if whole else dates,
                       chunk_rows=FACT_CHUNK_ROWS)
    cols = ["series_id", "store_id", "product_id", "ds", "y", "promo", "promo_intensity", "price", "is_open",
            "is_holiday", "temp_c", "precip_mm"]
    if facts.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "ds" else object) for c in cols})
    by_store = read_frame(_STORE_EXOG, url, params=dates)
    by_store["store_id"] = by_store["store_id"].str.slice(len(STORE_PREFIX))
    out = facts.merge(by_store, on=["store_id", "ds"], how="left", sort=False)
    out["is_holiday"] = out["is_holiday"].fillna(0).astype(int)
    out["ds"] = pd.to_datetime(out["ds"], format="ISO8601")
    out["series_id"] = node_keys(BOTTOM_LEVEL, out)
    return out[cols]


def nodes_series(node_ids, start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """The summed daily (or weekly) sales ``ds, y`` of a list of nodes between ``start`` and ``end``.

    Aggregate nodes sum ``agg_sales`` rows by primary key; bottom nodes sum the facts of exactly those
    store x product pairs (bottom selections are always a stores x products cross product).
    """
    agg, stores_, products_ = split_nodes(node_ids)
    lo, hi = closed_range(start, end)
    s, a = _SALES.c, _AGG.c
    frames = []
    if agg:
        stmt = (select(a.date.label("ds"), func.sum(a.sales).label("y"))
                .where(a.node_id.in_(agg), a.date.between(lo, hi)).group_by(a.date))
        frames.append(read_frame(stmt, url, parse_dates=["ds"]))
    if stores_:
        stmt = (select(s.date.label("ds"), func.sum(s.sales).label("y"))
                .where(s.store_id.in_(stores_), s.product_id.in_(products_), s.date.between(lo, hi))
                .group_by(s.date))
        frames.append(read_frame(stmt, url, parse_dates=["ds"]))
    if not frames:
        return pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)})
    df = pd.concat(frames).groupby("ds", as_index=False)["y"].sum()
    return df.sort_values("ds").reset_index(drop=True)


def _agg_totals(agg: list[str], s: dt.date, e: dt.date, ps: dt.date, url: str | None) -> pd.DataFrame:
    """Sales, periods and previous-period sales of aggregate nodes, one correlated subquery per node and range.

    The subqueries range-scan ``agg_sales``' primary key per node, faster than a join and GROUP BY.
    """
    a, n = _AGG.c, _NODES.c

    def per_node(agg_fn, lo, hi):
        return select(agg_fn).where(a.node_id == n.node_id, a.date.between(lo, hi)).scalar_subquery()

    stmt = select(n.node_id, per_node(func.sum(a.sales), s, e).label("sales"),
                  per_node(func.count(), s, e).label("periods"),
                  per_node(func.sum(a.sales), ps, s - dt.timedelta(days=1)).label("prev_sales")
                  ).where(n.node_id.in_(agg))
    part = read_frame(stmt, url)
    part["mean"] = part["sales"] / part["periods"].where(part["periods"] > 0)
    return part[part["periods"] > 0]


def _bottom_totals(stores_: list[str], products_: list[str], s: dt.date, e: dt.date, ps: dt.date,
                   url: str | None) -> pd.DataFrame:
    """Sales, mean, periods and previous-period sales of store x product pairs, from the facts."""
    f = _SALES.c
    current = f.date >= s
    stmt = (select(f.store_id, f.product_id, func.sum(case((current, f.sales))).label("sales"),
                   func.avg(case((current, f.sales))).label("mean"),
                   func.count(case((current, 1))).label("periods"),
                   func.sum(case((f.date < s, f.sales))).label("prev_sales"))
            .where(f.store_id.in_(stores_), f.product_id.in_(products_), f.date.between(ps, e))
            .group_by(f.store_id, f.product_id))
    part = read_frame(stmt, url)
    part.insert(0, "node_id", node_keys(BOTTOM_LEVEL, part))
    return part.drop(columns=["store_id", "product_id"])


def nodes_totals(node_ids, start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """Per node: total, mean and number of periods of sales between ``start`` and ``end``, the total of the
    equally long period just before, the change between them, and the node's label/level/category."""
    agg, stores_, products_ = split_nodes(node_ids)
    s, e = as_date(start), as_date(end)
    if s is None or e is None:
        first, last = date_bounds(url)
        s, e = s or (first.date() if first is not None else FIRST_DATE), \
            e or (last.date() if last is not None else LAST_DATE)
    ps = s - (e - s) - dt.timedelta(days=1)
    frames = []
    if agg:
        frames.append(_agg_totals(agg, s, e, ps, url))
    if stores_:
        frames.append(_bottom_totals(stores_, products_, s, e, ps, url))
    out_cols = ["node_id", "label", "level", "category", "sales", "mean", "periods", "prev_sales", "growth", "share"]
    if not frames:
        return pd.DataFrame(columns=out_cols)
    df = pd.concat(frames, ignore_index=True)
    df = df[df["node_id"].isin(set(node_ids))]
    n = _NODES.c
    labels = read_frame(select(n.node_id, n.label, n.level, n.category).where(n.node_id.in_(list(df["node_id"]))),
                        url)
    df = df.merge(labels, on="node_id", how="left")
    df["growth"] = df["sales"] / df["prev_sales"].where(df["prev_sales"] > 0) - 1.0
    total = df["sales"].sum()
    df["share"] = df["sales"] / total if total else float("nan")
    return df[out_cols].sort_values("sales", ascending=False).reset_index(drop=True)
