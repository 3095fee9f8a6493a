"""Readers of the facts and dimensions: the import log, counts, dimensions, nodes, covariates and the fact table."""
from __future__ import annotations

import hashlib
import json

import pandas as pd
from sqlalchemy import func, select

from data import schema
from data.engine import get_engine, has_table, read_frame

# The fact columns the data-quality report needs.
QUALITY_COLUMNS = ("store_id", "product_id", "date", "sales", "promo", "is_open")

_SALES = schema.Sale.__table__
_AGG = schema.AggSales.__table__
_NODES = schema.Node.__table__
_DATE_BOUNDS = select(func.min(_AGG.c.date), func.max(_AGG.c.date)).where(_AGG.c.node_id == "total")


def datasets(url: str | None = None) -> pd.DataFrame:
    """The import log, newest first."""
    return read_frame(select(schema.Dataset).order_by(schema.Dataset.id.desc()), url,
                      parse_dates=["start_date", "end_date", "imported_at"], typed=True)


def frequency(url: str | None = None) -> str:
    """'D' or 'W': the frequency of the stored data (from the latest import; 'D' when empty)."""
    with get_engine(url).connect() as conn:
        row = conn.execute(select(schema.Dataset.frequency).order_by(schema.Dataset.id.desc()).limit(1)).first()
    return row[0] if row else "D"


def dataset_name(url: str | None = None) -> str:
    """The name of the latest import ("empty" when there is none)."""
    with get_engine(url).connect() as conn:
        row = conn.execute(select(schema.Dataset.name).order_by(schema.Dataset.id.desc()).limit(1)).first()
    return row[0] if row else "empty"


def data_hash(url: str | None = None) -> str:
    """A fingerprint of the facts: changes whenever an import changes the data (used to skip refreshes)."""
    with get_engine(url).connect() as conn:
        hashes = conn.execute(select(schema.Dataset.content_hash).order_by(schema.Dataset.id)).scalars().all()
        n, total, last = conn.execute(select(func.count(), func.sum(_SALES.c.sales), func.max(_SALES.c.date))).one()
    payload = json.dumps([hashes, n, round(total or 0.0, 4), str(last)])
    return hashlib.sha256(payload.encode()).hexdigest()


def counts(url: str | None = None) -> dict:
    """Row counts and date range of the fact table."""
    pairs = select(_SALES.c.store_id, _SALES.c.product_id).distinct().subquery()
    with get_engine(url).connect() as conn:
        n, start, end = conn.execute(select(func.count(), func.min(_SALES.c.date), func.max(_SALES.c.date))).one()
        n_stores = conn.execute(select(func.count()).select_from(schema.StoreDim)).scalar_one()
        n_products = conn.execute(select(func.count()).select_from(schema.ProductDim)).scalar_one()
        n_series = conn.execute(select(func.count()).select_from(pairs)).scalar_one()
    return {"rows": int(n), "start": str(start) if start else None, "end": str(end) if end else None,
            "stores": int(n_stores), "products": int(n_products), "series": int(n_series)}


def stores(url: str | None = None) -> pd.DataFrame:
    """The store dimension, by store id."""
    return read_frame(select(schema.StoreDim).order_by(schema.StoreDim.store_id), url)


def products(url: str | None = None) -> pd.DataFrame:
    """The product dimension, by product id."""
    return read_frame(select(schema.ProductDim).order_by(schema.ProductDim.product_id), url)


def nodes(level: str | None = None, url: str | None = None, **filters: str) -> pd.DataFrame:
    """Hierarchy nodes, optionally of one level and filtered by region/store_id/category/product_id."""
    stmt = select(schema.Node)
    if level:
        stmt = stmt.where(schema.Node.level == level)
    for col, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(schema.Node, col) == value)
    return read_frame(stmt.order_by(schema.Node.node_id), url)


def demo_truth(url: str | None = None) -> pd.DataFrame:
    """The planted effects of the demo data (empty for real data)."""
    return read_frame(select(schema.DemoTruth), url)


def calendar_events(url: str | None = None) -> pd.DataFrame:
    """Holidays and events, by date."""
    return read_frame(select(schema.CalendarEvent).order_by(schema.CalendarEvent.date), url, parse_dates=["date"],
                      typed=True)


def weather(url: str | None = None) -> pd.DataFrame:
    """Weather rows by scope and date."""
    return read_frame(select(schema.Weather).order_by(schema.Weather.scope_id, schema.Weather.date), url,
                      parse_dates=["date"], typed=True)


def covariates(url: str | None = None) -> pd.DataFrame:
    """Extra covariates in long form."""
    return read_frame(select(schema.Covariate), url, parse_dates=["date"], typed=True)


def sales_facts(url: str | None = None, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The raw fact table joined to its dimensions (for analytics and quality, not for callbacks)."""
    # The dimensions are joined in pandas: SQLite plans the SQL join as a scan of ix_sales_date plus a primary-key
    # lookup per row, several times slower than scanning the fact table in key order.
    s = _SALES.c
    facts = read_frame(select(s.store_id, s.product_id, s.date, s.sales, s.units, s.promo, s.promo_intensity,
                              s.price, s.is_open).order_by(s.store_id, s.product_id, s.date), url,
                       parse_dates=["date"])
    st_t = schema.StoreDim.__table__
    st = read_frame(select(st_t.c.store_id, st_t.c.region, st_t.c.type.label("store_type"),
                           st_t.c.size.label("store_size")), url)
    pr_t = schema.ProductDim.__table__
    pr = read_frame(select(pr_t.c.product_id, pr_t.c.category), url)
    df = facts.merge(st, on="store_id", how="inner").merge(pr, on="product_id", how="inner")
    df = df[["store_id", "product_id", "region", "store_type", "store_size", "category", "date", "sales", "units",
             "promo", "promo_intensity", "price", "is_open"]]
    return df[list(columns)] if columns else df


def sales_columns(columns: tuple[str, ...] = QUALITY_COLUMNS, url: str | None = None,
                  chunk: int = 250_000) -> pd.DataFrame:
    """Some columns of the whole fact table in key order, read in chunks to bound memory.

    For full-table analytics such as the quality report on millions of rows: :func:`sales_facts` holds every
    cell as a Python object at once; this keeps only one chunk of those plus the compact result.
    """
    known = {c.name for c in _SALES.columns}
    bad = [c for c in columns if c not in known]
    if bad:
        raise ValueError(f"unknown sales column(s) {bad}; known: {sorted(known)}")
    s = _SALES.c
    stmt = select(*[_SALES.c[c] for c in columns]).order_by(s.store_id, s.product_id, s.date)
    parts = []
    engine = get_engine(url)
    with engine.connect() as conn:
        result = conn.execute(stmt)
        # SQLite: plain DBAPI tuples (dates as ISO text, parsed below) skip SQLAlchemy's per-row processing.
        fetch = result.cursor.fetchmany if engine.dialect.name == "sqlite" else result.fetchmany
        while rows := fetch(chunk):
            part = pd.DataFrame([tuple(r) for r in rows], columns=list(columns))
            if "date" in part:
                part["date"] = pd.to_datetime(part["date"])
            parts.append(part)
        result.close()
    if not parts:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(parts, ignore_index=True)


def date_bounds(url: str | None = None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last date of the data (from the ``total`` node of ``agg_sales``); (None, None) when empty."""
    if not has_table("agg_sales", url):
        return None, None
    with get_engine(url).connect() as conn:
        lo, hi = conn.execute(_DATE_BOUNDS).one()
    return (pd.Timestamp(lo), pd.Timestamp(hi)) if lo else (None, None)


def data_summary(url: str | None = None) -> dict:
    """Rows, date range and node counts per level, from ``agg_sales``'s total node and ``nodes`` (no fact scan).

    Returns ``{"rows", "start", "end", "days", "levels": {level: n_nodes}}``; ``rows`` counts fact rows.
    """
    if not has_table("agg_sales", url):
        return {"rows": 0, "start": None, "end": None, "days": 0, "levels": {}}
    a = _AGG.c
    with get_engine(url).connect() as conn:
        n, start, end, days = conn.execute(select(func.sum(a.n_rows), func.min(a.date), func.max(a.date),
                                                  func.count()).where(a.node_id == "total")).one()
        levels = dict(conn.execute(select(_NODES.c.level, func.count()).group_by(_NODES.c.level)).fetchall())
    return {"rows": int(n or 0), "start": str(start) if start else None, "end": str(end) if end else None,
            "days": int(days or 0), "levels": {k: int(v) for k, v in levels.items()}}


def latest_dataset(url: str | None = None) -> dict | None:
    """The newest row of the import log as a dict (dates as Timestamps), or None before the first import."""
    if not has_table("datasets", url):
        return None
    df = read_frame(select(schema.Dataset).order_by(schema.Dataset.id.desc()).limit(1), url,
                    parse_dates=["start_date", "end_date", "imported_at"], typed=True)
    return df.iloc[0].to_dict() if len(df) else None
