"""The one data-access module: engine, sessions, writers for loaders/models and DataFrame readers for everyone.

Conventions: readers return pandas DataFrames (dates as tz-naive ``datetime64``), never ORM objects;
writers take a ``session`` so the caller owns the transaction; SQL always uses bound parameters.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import pandas as pd
from sqlalchemy import create_engine, delete, event, func, insert, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import config
from data import schema
from data.schema import ALL

BOTTOM_LEVEL = "store_product"
LEVELS = ("total", "region", "store", "category", "product", "store_category", BOTTOM_LEVEL)


# ----------------------------------------------------------------------------- engine and sessions

def resolve_url(url: str | None = None) -> str:
    """The database URL: an explicit URL or path, else ``SALES_DB``, else ``data/sales.db``."""
    return config.database_url(url) if url else config.load().db_url


@lru_cache(maxsize=16)
def _engine_for(url: str) -> Engine:
    kwargs = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    engine = create_engine(url, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001 - DBAPI callback
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # WAL lets the dashboard read while a refresh writes. Switching an existing WAL file is a no-op.
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return engine


def get_engine(url: str | None = None) -> Engine:
    """A lazily created, cached engine for ``url`` (see :func:`resolve_url`)."""
    return _engine_for(resolve_url(url))


@contextmanager
def session_scope(read_only: bool = False, url: str | None = None) -> Iterator[Session]:
    """A session that commits on success (unless read_only) and rolls back on any exception."""
    session = Session(get_engine(url), future=True)
    try:
        yield session
        if read_only:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def init_db(url: str | None = None) -> None:
    """Create any missing table (idempotent)."""
    schema.Base.metadata.create_all(get_engine(url))


def db_exists(url: str | None = None) -> bool:
    """True when the database has the sales table (without creating anything)."""
    resolved = resolve_url(url)
    if resolved.startswith("sqlite:///"):
        import os
        path = resolved[len("sqlite:///"):]
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return False
    return inspect(get_engine(url)).has_table("sales")


def _read(stmt, url: str | None = None, params: dict | None = None, parse_dates=None) -> pd.DataFrame:
    engine = get_engine(url)
    with engine.connect() as conn:
        plain = not any(isinstance(v, (list, tuple)) for v in (params or {}).values())  # no expanding IN lists
        if isinstance(stmt, str) and engine.dialect.name == "sqlite" and plain:
            # Large text queries go straight to the sqlite3 cursor (still with bound parameters): SQLAlchemy's
            # result rows cost ~0.5 s per 200k rows on top (1.7 s vs 1.1 s for the demo's fact table).
            # Dates are bound as sqlite3's own adapters would (deprecated in Python 3.12, hence explicit).
            bound = {k: v.isoformat(" ") if isinstance(v, dt.datetime) else
                     v.isoformat() if isinstance(v, dt.date) else v for k, v in (params or {}).items()}
            cursor = conn.connection.dbapi_connection.execute(stmt, bound)
            df = pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])
        else:
            result = conn.execute(stmt if not isinstance(stmt, str) else text(stmt), params or {})
            # Plain tuples: pandas builds a frame from SQLAlchemy Row objects ~6x slower (9 s vs 1.5 s at 420k rows).
            df = pd.DataFrame([tuple(r) for r in result.fetchall()], columns=list(result.keys()))
    for col in parse_dates or ():
        if col in df:
            df[col] = pd.to_datetime(df[col])
    return df


# ----------------------------------------------------------------------------- generic writers

def upsert_frame(session: Session, table: type[schema.Base], df: pd.DataFrame, chunk: int = 50_000) -> int:
    """Insert rows of ``df`` into ``table``, replacing rows with the same primary key. Returns rows written.

    Uses the dialect's ``ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL), so re-importing a file is idempotent.
    """
    if df.empty:
        return 0
    tbl = table.__table__
    cols = [c.name for c in tbl.columns if c.name in df.columns]
    pk = [c.name for c in tbl.primary_key.columns]
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # pragma: no cover - other back ends fall back to delete+insert
        dialect_insert = None
    if dialect == "sqlite" and not any(c.default is not None and not c.default.is_scalar for c in tbl.columns):
        return _sqlite_upsert(session, tbl, df, cols, pk, chunk)
    frame = df[cols].astype(object).where(df[cols].notna(), None)
    for c in cols:  # SQLAlchemy's Date type wants date objects, not Timestamps
        if isinstance(tbl.columns[c].type, schema.Date) and len(frame):
            frame[c] = pd.to_datetime(frame[c]).dt.date.astype(object)
    records = frame.to_dict("records")
    written = 0
    for start in range(0, len(records), chunk):
        part = records[start:start + chunk]
        if dialect_insert is not None:
            stmt = dialect_insert(tbl)
            update_cols = {c: stmt.excluded[c] for c in cols if c not in pk}
            stmt = stmt.on_conflict_do_update(index_elements=pk, set_=update_cols) if update_cols \
                else stmt.on_conflict_do_nothing(index_elements=pk)
            session.execute(stmt, part)
        else:
            session.execute(insert(tbl), part)
        written += len(part)
    return written


def _sqlite_column(col, values: pd.Series) -> list:
    """One column as DBAPI values in SQLAlchemy's SQLite storage format (ISO dates, ints, floats, None for NA)."""
    kind = col.type
    if isinstance(kind, schema.DateTime):
        ts = pd.to_datetime(values)
        return ts.dt.strftime("%Y-%m-%d %H:%M:%S.%f").where(ts.notna(), None).tolist()
    if isinstance(kind, schema.Date):
        ts = pd.to_datetime(values)
        return ts.dt.strftime("%Y-%m-%d").where(ts.notna(), None).tolist()
    na = values.isna().to_numpy()
    if isinstance(kind, (schema.Integer, schema.Boolean)):
        out = pd.to_numeric(values.where(~na, 0)).astype("int64").tolist()
    elif isinstance(kind, schema.Float):
        out = pd.to_numeric(values).astype("float64").tolist()
    else:
        out = values.astype(object).tolist()
    if na.any():
        out = [None if m else v for v, m in zip(out, na)]
    return out


def _sqlite_upsert(session: Session, tbl, df: pd.DataFrame, cols: list[str], pk: list[str], chunk: int) -> int:
    """Fast path of :func:`upsert_frame` for SQLite: one driver-level executemany of tuples per chunk.

    Building SQLAlchemy parameter dicts cost about 3/4 of an import (Walmart: 421k rows); the values written
    are the same (dates as ISO text, as SQLAlchemy's SQLite types store them).
    """
    # SQLAlchemy fills Python-side scalar defaults (e.g. region "all") for absent columns; so do we.
    defaults = {c.name: c.default.arg for c in tbl.columns
                if c.name not in cols and c.default is not None and c.default.is_scalar}
    update = [c for c in cols if c not in pk]  # as SQLAlchemy's set_: defaults never overwrite on conflict
    if defaults:
        df = df.assign(**defaults)
        cols = cols + list(defaults)
    q = '"{}"'.format
    conflict = (f"ON CONFLICT ({', '.join(map(q, pk))}) DO UPDATE SET "
                + ", ".join(f"{q(c)} = excluded.{q(c)}" for c in update)) if update \
        else f"ON CONFLICT ({', '.join(map(q, pk))}) DO NOTHING"
    if not set(pk) <= set(cols):  # e.g. an autoincrement id left out: plain insert
        conflict = ""
    sql = (f"INSERT INTO {q(tbl.name)} ({', '.join(map(q, cols))}) VALUES ({', '.join('?' * len(cols))}) "
           f"{conflict}")
    conn = session.connection()
    written = 0
    for start in range(0, len(df), chunk):
        part = df.iloc[start:start + chunk]
        rows = list(zip(*(_sqlite_column(tbl.columns[c], part[c]) for c in cols)))
        conn.exec_driver_sql(sql, rows)
        written += len(rows)
    return written


def replace_table(session: Session, table: type[schema.Base], df: pd.DataFrame) -> int:
    """Delete every row of ``table`` and insert ``df`` (for small derived tables like ``demo_truth``)."""
    session.execute(delete(table.__table__))
    return upsert_frame(session, table, df)


# --- demo data: fast bulk insert and reset of the facts (used by data/demo.py) ---

FACT_TABLES = (schema.Sale, schema.Covariate, schema.Weather, schema.CalendarEvent, schema.DemoTruth,
               schema.AggSales, schema.Node, schema.StoreDim, schema.ProductDim)


def clear_facts(session: Session) -> None:
    """Delete all facts, dimensions, aggregates and demo truth (children before parents), inside the caller's
    transaction. The ``datasets`` log, runs, forecasts and analysis results are kept."""
    for table in FACT_TABLES:
        session.execute(delete(table.__table__))


def bulk_insert(session: Session, table: type[schema.Base], df: pd.DataFrame, chunk: int = 250_000) -> int:
    """Plain INSERT of every row of ``df`` into ``table`` (no upsert: the rows must be new). Returns rows written.

    For millions of rows into freshly emptied tables (the demo generator). On SQLite it hands tuples to the
    DBAPI's ``executemany`` on the session's own connection, so it joins the caller's transaction; dates are
    written as ISO strings, the format SQLAlchemy's ``Date`` uses on SQLite. Other back ends use Core inserts.
    """
    if df.empty:
        return 0
    tbl = table.__table__
    cols = [c.name for c in tbl.columns if c.name in df.columns]
    if session.get_bind().dialect.name != "sqlite":
        frame = df[cols].astype(object).where(df[cols].notna(), None)
        for c in cols:
            if isinstance(tbl.columns[c].type, schema.Date):
                frame[c] = pd.to_datetime(frame[c]).dt.date.astype(object)
        records = frame.to_dict("records")
        for start in range(0, len(records), chunk):
            session.execute(insert(tbl), records[start:start + chunk])
        return len(records)
    columns = []
    for c in cols:
        col = df[c]
        if isinstance(tbl.columns[c].type, schema.Date):
            codes, uniques = pd.factorize(pd.to_datetime(col))  # format each distinct date once
            labels = pd.DatetimeIndex(uniques).strftime("%Y-%m-%d").to_numpy(dtype=object)
            values = labels[codes].tolist()
        elif col.hasnans:
            values = col.astype(object).where(col.notna(), None).tolist()
        else:
            values = col.tolist()
        columns.append(values)
    placeholders = ", ".join("?" for _ in cols)
    quoted = ", ".join(f'"{c}"' for c in cols)  # quoted: demo_truth has a column named "group"
    sql = f'INSERT INTO "{tbl.name}" ({quoted}) VALUES ({placeholders})'
    cursor = session.connection().connection.driver_connection.cursor()
    try:  # executemany consumes the row iterator lazily, so no list of millions of tuples is built
        cursor.executemany(sql, zip(*columns))
    finally:
        cursor.close()
    return len(df)


# ----------------------------------------------------------------------------- metadata readers

def datasets(url: str | None = None) -> pd.DataFrame:
    """The import log, newest first."""
    return _read(select(schema.Dataset).order_by(schema.Dataset.id.desc()), url,
                 parse_dates=["start_date", "end_date", "imported_at"])


def frequency(url: str | None = None) -> str:
    """'D' or 'W': the frequency of the stored data (from the latest import; 'D' when empty)."""
    with get_engine(url).connect() as conn:
        row = conn.execute(select(schema.Dataset.frequency).order_by(schema.Dataset.id.desc()).limit(1)).first()
    return row[0] if row else "D"


def dataset_name(url: str | None = None) -> str:
    with get_engine(url).connect() as conn:
        row = conn.execute(select(schema.Dataset.name).order_by(schema.Dataset.id.desc()).limit(1)).first()
    return row[0] if row else "empty"


def data_hash(url: str | None = None) -> str:
    """A fingerprint of the facts: changes whenever an import changes the data (used to skip refreshes)."""
    with get_engine(url).connect() as conn:
        hashes = conn.execute(select(schema.Dataset.content_hash).order_by(schema.Dataset.id)).scalars().all()
        n, total, last = conn.execute(select(func.count(), func.sum(schema.Sale.sales),
                                             func.max(schema.Sale.date))).one()
    payload = json.dumps([hashes, n, round(total or 0.0, 4), str(last)])
    return hashlib.sha256(payload.encode()).hexdigest()


def counts(url: str | None = None) -> dict:
    """Row counts and date range of the fact table."""
    with get_engine(url).connect() as conn:
        n, start, end = conn.execute(select(func.count(), func.min(schema.Sale.date),
                                            func.max(schema.Sale.date))).one()
        n_stores = conn.execute(select(func.count()).select_from(schema.StoreDim)).scalar_one()
        n_products = conn.execute(select(func.count()).select_from(schema.ProductDim)).scalar_one()
        n_series = conn.execute(text("SELECT COUNT(*) FROM (SELECT DISTINCT store_id, product_id FROM sales) s")
                                ).scalar_one()
    return {"rows": int(n), "start": str(start) if start else None, "end": str(end) if end else None,
            "stores": int(n_stores), "products": int(n_products), "series": int(n_series)}


def stores(url: str | None = None) -> pd.DataFrame:
    return _read(select(schema.StoreDim).order_by(schema.StoreDim.store_id), url)


def products(url: str | None = None) -> pd.DataFrame:
    return _read(select(schema.ProductDim).order_by(schema.ProductDim.product_id), url)


def nodes(level: str | None = None, url: str | None = None, **filters: str) -> pd.DataFrame:
    """Hierarchy nodes, optionally of one level and filtered by region/store_id/category/product_id."""
    stmt = select(schema.Node)
    if level:
        stmt = stmt.where(schema.Node.level == level)
    for col, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(schema.Node, col) == value)
    return _read(stmt.order_by(schema.Node.node_id), url)


def demo_truth(url: str | None = None) -> pd.DataFrame:
    """The planted effects of the demo data (empty for real data)."""
    return _read(select(schema.DemoTruth), url)


# ----------------------------------------------------------------------------- series keys

def node_id(level: str, **parts: str) -> str:
    """The series key of a node, e.g. ``node_id("store_product", store_id="3", product_id="7")``."""
    if level == "total":
        return "total"
    names = {"region": ["region"], "store": ["store_id"], "category": ["category"], "product": ["product_id"],
             "store_category": ["store_id", "category"], "store_product": ["store_id", "product_id"]}[level]
    return "/".join(f"{n.removesuffix('_id')}={parts[n]}" for n in names)


def parse_node_id(key: str) -> dict:
    """Inverse of :func:`node_id`: ``"store=3/product=7"`` -> ``{"level": "store_product", "store_id": "3", ...}``."""
    if key == "total":
        return {"level": "total"}
    out: dict = {}
    for part in key.split("/"):
        name, _, value = part.partition("=")
        if not value and name not in {"region", "store", "category", "product"}:
            raise ValueError(f"not a series key: {key!r}; expected e.g. 'store=1/product=2' or 'total'")
        out[name if name in ("region", "category") else f"{name}_id"] = value
    kinds = tuple(k for k in ("region", "store_id", "category", "product_id") if k in out)
    level = {("region",): "region", ("store_id",): "store", ("category",): "category",
             ("product_id",): "product", ("store_id", "category"): "store_category",
             ("store_id", "product_id"): BOTTOM_LEVEL}.get(kinds)
    if level is None:
        raise ValueError(f"not a series key: {key!r}")
    out["level"] = level
    return out


# ----------------------------------------------------------------------------- series readers

def series(key: str, start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """One node's history: columns ``ds, y, promo, is_open, is_holiday, temp_c, precip_mm``.

    Bottom-level keys read the fact table through its primary-key index; every other node reads
    the pre-aggregated ``agg_sales`` table, so no reader scans the facts.
    """
    info = parse_node_id(key)
    params = {"start": _as_date(start) or dt.date(1900, 1, 1), "end": _as_date(end) or dt.date(9999, 12, 31)}
    if info["level"] == BOTTOM_LEVEL:
        params.update(store_id=info["store_id"], product_id=info["product_id"])
        sql = """SELECT s.date AS ds, s.sales AS y, s.promo AS promo, s.promo_intensity AS promo_intensity,
                        s.is_open AS is_open, s.price AS price,
                        COALESCE(a.is_holiday, 0) AS is_holiday, a.temp_c AS temp_c, a.precip_mm AS precip_mm
                 FROM sales s
                 LEFT JOIN agg_sales a ON a.node_id = :store_key AND a.date = s.date
                 WHERE s.store_id = :store_id AND s.product_id = :product_id
                   AND s.date BETWEEN :start AND :end ORDER BY s.date"""
        params["store_key"] = node_id("store", store_id=info["store_id"])
    else:
        params["node"] = key
        sql = """SELECT date AS ds, sales AS y, promo_share AS promo, open_share AS is_open,
                        is_holiday, temp_c, precip_mm, n_rows
                 FROM agg_sales WHERE node_id = :node AND date BETWEEN :start AND :end ORDER BY date"""
    return _read(sql, url, params, parse_dates=["ds"])


def level_frame(level: str, start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """All series of one aggregate level in long format (``series_id, ds, y, ...``) from ``agg_sales``."""
    if level == BOTTOM_LEVEL:
        return bottom_frame(start, end, url)
    params = {"level": level, "start": _as_date(start) or dt.date(1900, 1, 1),
              "end": _as_date(end) or dt.date(9999, 12, 31)}
    sql = """SELECT node_id AS series_id, date AS ds, sales AS y, promo_share AS promo, open_share AS is_open,
                    is_holiday, temp_c, precip_mm, n_rows
             FROM agg_sales WHERE level = :level AND date BETWEEN :start AND :end ORDER BY node_id, date"""
    return _read(sql, url, params, parse_dates=["ds"])


def bottom_frame(start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """Every store x product series in long format with store-level weather and holidays attached."""
    params = {"start": _as_date(start) or dt.date(1900, 1, 1), "end": _as_date(end) or dt.date(9999, 12, 31)}
    # Two key-ordered scans joined in pandas: the SQL join (a primary-key lookup in agg_sales per fact row, and
    # the series key built per row in SQL) took ~3 s for the 218k-row demo, a third of the effects' time budget.
    facts = _read("""SELECT store_id, product_id, date AS ds, sales AS y, promo, promo_intensity, price, is_open
                     FROM sales WHERE date BETWEEN :start AND :end
                     ORDER BY store_id, product_id, date""", url, params)
    cols = ["series_id", "store_id", "product_id", "ds", "y", "promo", "promo_intensity", "price", "is_open",
            "is_holiday", "temp_c", "precip_mm"]
    if facts.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "ds" else object) for c in cols})
    by_store = _read("""SELECT substr(node_id, 7) AS store_id, date AS ds, is_holiday, temp_c, precip_mm
                        FROM agg_sales
                        WHERE node_id >= 'store=' AND node_id < 'store>' AND level = 'store'
                          AND date BETWEEN :start AND :end""", url, params)
    out = facts.merge(by_store, on=["store_id", "ds"], how="left", sort=False)
    out["is_holiday"] = out["is_holiday"].fillna(0).astype(int)
    out["ds"] = pd.to_datetime(out["ds"], format="ISO8601")
    out["series_id"] = "store=" + out["store_id"].astype(str) + "/product=" + out["product_id"].astype(str)
    return out[cols]


def sales_facts(url: str | None = None, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The raw fact table joined to its dimensions (for analytics and quality, not for callbacks)."""
    # The dimensions are joined in pandas: SQLite plans the SQL join as a scan of ix_sales_date plus a primary-key
    # lookup per row, about 4x slower than scanning the fact table in key order (11 s vs 2.7 s at 420k rows).
    facts = _read("""SELECT store_id, product_id, date, sales, units, promo, promo_intensity, price, is_open
                     FROM sales ORDER BY store_id, product_id, date""", url, parse_dates=["date"])
    st = _read("SELECT store_id, region, type AS store_type, size AS store_size FROM stores", url)
    pr = _read("SELECT product_id, category FROM products", url)
    df = facts.merge(st, on="store_id", how="inner").merge(pr, on="product_id", how="inner")
    df = df[["store_id", "product_id", "region", "store_type", "store_size", "category", "date", "sales", "units",
             "promo", "promo_intensity", "price", "is_open"]]
    return df[list(columns)] if columns else df


def calendar_events(url: str | None = None) -> pd.DataFrame:
    return _read(select(schema.CalendarEvent).order_by(schema.CalendarEvent.date), url, parse_dates=["date"])


def weather(url: str | None = None) -> pd.DataFrame:
    return _read(select(schema.Weather).order_by(schema.Weather.scope_id, schema.Weather.date), url,
                 parse_dates=["date"])


def covariates(url: str | None = None) -> pd.DataFrame:
    return _read(select(schema.Covariate), url, parse_dates=["date"])


def _as_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    return pd.Timestamp(value).date()


# ----------------------------------------------------------------------------- aggregates

_AGG_SQL = {
    "total": ("'total'", ""),
    "region": ("'region=' || st.region", "st.region"),
    "store": ("'store=' || s.store_id", "s.store_id"),
    "category": ("'category=' || p.category", "p.category"),
    "product": ("'product=' || s.product_id", "s.product_id"),
    "store_category": ("'store=' || s.store_id || '/category=' || p.category", "s.store_id, p.category"),
}


def rebuild_aggregates(session: Session) -> int:
    """Recompute ``nodes`` and ``agg_sales`` from the facts (call inside the importer's transaction).

    Weather per node is the mean over its stores (store weather, else the store's region weather);
    ``is_holiday`` marks dates with an event of scope "all" or one matching the node's region/store.
    """
    session.execute(delete(schema.AggSales.__table__))
    session.execute(delete(schema.Node.__table__))
    # Node list from dimensions actually present in the facts.
    dims = pd.DataFrame(session.execute(text(
        """SELECT DISTINCT s.store_id, s.product_id, st.region, p.category, st.name AS store_name,
                  p.name AS product_name
           FROM sales s JOIN stores st ON st.store_id = s.store_id
           JOIN products p ON p.product_id = s.product_id""")).fetchall(),
        columns=["store_id", "product_id", "region", "category", "store_name", "product_name"])
    if len(dims):
        session.execute(insert(schema.Node.__table__), _node_rows(dims))

    # Store-level weather and holidays as a small frame, then node-level means.
    store_daily = pd.DataFrame(session.execute(text(
        """SELECT s.store_id, st.region, s.date FROM sales s JOIN stores st ON st.store_id = s.store_id
           GROUP BY s.store_id, st.region, s.date""")).fetchall(), columns=["store_id", "region", "date"])
    wx = pd.DataFrame(session.execute(text("SELECT scope, scope_id, date, temp_c, precip_mm FROM weather")
                                      ).fetchall(), columns=["scope", "scope_id", "date", "temp_c", "precip_mm"])
    # NULLs arrive as None (object columns), which sends the groupby means below to a per-group Python path.
    wx[["temp_c", "precip_mm"]] = wx[["temp_c", "precip_mm"]].astype(float)
    ev = pd.DataFrame(session.execute(text(
        "SELECT DISTINCT date, scope, scope_id FROM calendar_events WHERE kind IN ('holiday', 'closure')")
    ).fetchall(), columns=["date", "scope", "scope_id"])
    store_daily = _attach_exog(store_daily, wx, ev)

    written = 0
    for level, (key_expr, group) in _AGG_SQL.items():
        group_by = f"{group}, s.date" if group else "s.date"
        rows = session.execute(text(
            f"""SELECT {key_expr} AS node_id, s.date AS date, SUM(s.sales) AS sales, SUM(s.units) AS units,
                       AVG(CAST(s.promo AS FLOAT)) AS promo_share, AVG(CAST(s.is_open AS FLOAT)) AS open_share,
                       COUNT(*) AS n_rows
                FROM sales s JOIN stores st ON st.store_id = s.store_id
                JOIN products p ON p.product_id = s.product_id
                GROUP BY {group_by}""")).fetchall()
        agg = pd.DataFrame(rows, columns=["node_id", "date", "sales", "units", "promo_share", "open_share",
                                          "n_rows"])
        agg["level"] = level
        agg = agg.merge(_node_exog(level, store_daily, dims), on=["node_id", "date"], how="left")
        agg["is_holiday"] = agg["is_holiday"].fillna(0).astype(int)
        written += bulk_insert(session, schema.AggSales, agg)  # agg_sales was emptied above: plain insert
    return written


def _node_rows(dims: pd.DataFrame) -> list[dict]:
    rows = [{"node_id": "total", "level": "total", "label": "Total", "region": None, "store_id": None,
             "category": None, "product_id": None}]
    seen = set()

    def add(level, label, **parts):
        key = node_id(level, **parts)
        if key not in seen:
            seen.add(key)
            rows.append({"node_id": key, "level": level, "label": label, "region": parts.get("region"),
                         "store_id": parts.get("store_id"), "category": parts.get("category"),
                         "product_id": parts.get("product_id")})

    for r in dims.itertuples(index=False):
        add("region", r.region, region=r.region)
        add("store", r.store_name, store_id=r.store_id, region=r.region)
        add("category", r.category, category=r.category)
        add("product", r.product_name, product_id=r.product_id, category=r.category)
        add("store_category", f"{r.store_name} / {r.category}", store_id=r.store_id, region=r.region,
            category=r.category)
        add(BOTTOM_LEVEL, f"{r.store_name} / {r.product_name}", store_id=r.store_id, region=r.region,
            category=r.category, product_id=r.product_id)
    return rows


def _attach_exog(store_daily: pd.DataFrame, wx: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    """Per store and date: temperature, precipitation and holiday flag."""
    out = store_daily.copy()
    for scope, key in (("store", "store_id"), ("region", "region")):
        part = wx[wx["scope"] == scope].rename(columns={"scope_id": key, "temp_c": f"t_{scope}",
                                                        "precip_mm": f"p_{scope}"})
        out = out.merge(part[[key, "date", f"t_{scope}", f"p_{scope}"]], on=[key, "date"], how="left")
    out["temp_c"] = out["t_store"].fillna(out["t_region"])
    out["precip_mm"] = out["p_store"].fillna(out["p_region"])
    hol = pd.Series(False, index=out.index)
    dates_all = set(ev.loc[ev["scope"] == "all", "date"])
    hol |= out["date"].isin(dates_all)
    for scope, key in (("region", "region"), ("store", "store_id")):
        pairs = set(map(tuple, ev.loc[ev["scope"] == scope, ["scope_id", "date"]].to_numpy()))
        if pairs:
            hol |= pd.Series([(k, d) in pairs for k, d in zip(out[key], out["date"])], index=out.index)
    out["is_holiday"] = hol.astype(int)
    return out[["store_id", "region", "date", "temp_c", "precip_mm", "is_holiday"]]


def _node_exog(level: str, store_daily: pd.DataFrame, dims: pd.DataFrame) -> pd.DataFrame:
    """Mean weather and any-holiday over the stores under each node of ``level``."""
    sd = store_daily
    if level == "total":
        sd = sd.assign(node_id="total")
    elif level == "region":
        sd = sd.assign(node_id="region=" + sd["region"].astype(str))
    elif level in ("store", "store_category"):
        sd = sd.assign(node_id="store=" + sd["store_id"].astype(str))
    else:  # category / product: the stores that sell it
        col = "category" if level == "category" else "product_id"
        pairs = dims[["store_id", col]].drop_duplicates()
        sd = sd.merge(pairs, on="store_id")
        sd = sd.assign(node_id=f"{level}=" + sd[col].astype(str))
    out = sd.groupby(["node_id", "date"], as_index=False).agg(
        temp_c=("temp_c", "mean"), precip_mm=("precip_mm", "mean"), is_holiday=("is_holiday", "max"))
    if level == "store_category":
        cats = dims[["store_id", "category"]].drop_duplicates()
        cats["store_key"] = "store=" + cats["store_id"].astype(str)
        cats["key"] = cats["store_key"] + "/category=" + cats["category"].astype(str)
        out = out.merge(cats[["store_key", "key"]], left_on="node_id", right_on="store_key")
        out = out.drop(columns=["node_id", "store_key"]).rename(columns={"key": "node_id"})
    return out


# ----------------------------------------------------------------------------- analytics results

def save_frame(session: Session, name: str, level: str, df: pd.DataFrame, data_hash_: str | None = None) -> None:
    """Store a small result frame (effects, curves, quality report...) under (name, level)."""
    payload = df.to_json(orient="split", date_format="iso", index=False)
    upsert_frame(session, schema.AnalysisResult, pd.DataFrame([{
        "name": name, "level": level, "computed_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        "data_hash": data_hash_, "payload": payload}]))


def load_frame(name: str, level: str = "all", url: str | None = None) -> pd.DataFrame | None:
    """A frame saved by :func:`save_frame`, or None when it was never computed."""
    with get_engine(url).connect() as conn:
        row = conn.execute(select(schema.AnalysisResult.payload).where(
            schema.AnalysisResult.name == name, schema.AnalysisResult.level == level)).first()
    if row is None:
        return None
    return pd.read_json(io.StringIO(row[0]), orient="split")


# --- dashboard readers (drivers/data/runs) ---
# Cheap readers for the Drivers, Data and Runs pages: they read small tables (nodes, datasets,
# analysis_results) or one primary-key range of agg_sales, never the fact table.

def data_summary(url: str | None = None) -> dict:
    """Rows, date range and node counts per level, from ``agg_sales``'s total node and ``nodes`` (no fact scan).

    Returns ``{"rows", "start", "end", "days", "levels": {level: n_nodes}}``; ``rows`` counts fact rows.
    """
    if not inspect(get_engine(url)).has_table("agg_sales"):
        return {"rows": 0, "start": None, "end": None, "days": 0, "levels": {}}
    with get_engine(url).connect() as conn:
        n, start, end, days = conn.execute(text(
            "SELECT SUM(n_rows), MIN(date), MAX(date), COUNT(*) FROM agg_sales WHERE node_id = 'total'")).one()
        levels = dict(conn.execute(text("SELECT level, COUNT(*) FROM nodes GROUP BY level")).fetchall())
    return {"rows": int(n or 0), "start": str(start) if start else None, "end": str(end) if end else None,
            "days": int(days or 0), "levels": {k: int(v) for k, v in levels.items()}}


def analysis_index(url: str | None = None) -> pd.DataFrame:
    """What ``analysis_results`` holds: ``name, level, computed_at, data_hash`` (no payloads)."""
    if not inspect(get_engine(url)).has_table("analysis_results"):
        return pd.DataFrame(columns=["name", "level", "computed_at", "data_hash"])
    t = schema.AnalysisResult
    return _read(select(t.name, t.level, t.computed_at, t.data_hash).order_by(t.name, t.level), url,
                 parse_dates=["computed_at"])


# --- importers and data quality (data/ingest*.py, analytics/quality.py) ---

QUALITY_COLUMNS = ("store_id", "product_id", "date", "sales", "promo", "is_open")


def sales_columns(columns: tuple[str, ...] = QUALITY_COLUMNS, url: str | None = None,
                  chunk: int = 250_000) -> pd.DataFrame:
    """Some columns of the whole fact table in key order, read in chunks to bound memory.

    For full-table analytics such as the quality report: at 3.3M rows, :func:`sales_facts` holds every cell as
    a Python object at once (about 2.5 GB); this keeps only one chunk of those plus the compact result.
    """
    known = {c.name for c in schema.Sale.__table__.columns}
    bad = [c for c in columns if c not in known]
    if bad:
        raise ValueError(f"unknown sales column(s) {bad}; known: {sorted(known)}")
    parts = []
    with get_engine(url).connect() as conn:
        result = conn.execute(text(f"SELECT {', '.join(columns)} FROM sales ORDER BY store_id, product_id, date"))
        while rows := result.fetchmany(chunk):
            part = pd.DataFrame([tuple(r) for r in rows], columns=list(columns))
            if "date" in part:
                part["date"] = pd.to_datetime(part["date"])
            parts.append(part)
    if not parts:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- forecasts and runs
# (readers and writers used by models/ and the dashboard; see models/runner.py)
# --- forecasts and runs ---
# Writers take a session (the runner owns the transaction) except the small status updates, which commit at
# once so the UI can follow a refresh. Readers default to the current run: a run becomes visible only when
# publish_run flips is_current in one transaction, so no reader ever sees a half-written run.

FORECAST_COLS = ["series_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
METRIC_COLS = ["rmse", "mae", "mape", "mape_excluded", "smape", "wape", "mase", "rmspe", "bias", "coverage_80",
               "coverage_95", "pinball"]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _dialect_insert(session_or_conn):
    name = session_or_conn.get_bind().dialect.name if isinstance(session_or_conn, Session) \
        else session_or_conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def create_run(run_id: str, params: dict, data_hash_: str | None, code_version: str | None,
               status: str = "running", url: str | None = None) -> None:
    """Insert a new run row (own transaction), not current; ``params`` is stored as JSON."""
    init_db(url)
    with session_scope(url=url) as s:
        s.execute(insert(schema.Run.__table__).values(
            run_id=run_id, started_at=_utcnow(), status=status, is_current=False, data_hash=data_hash_,
            params=json.dumps(params, sort_keys=True, default=str), code_version=code_version, progress=0.0,
            progress_msg=status))


def update_progress(run_id: str, fraction: float, message: str | None = None, url: str | None = None) -> None:
    """Record a running refresh's progress (0..1) and a short message in its own short transaction."""
    with session_scope(url=url) as s:
        s.execute(schema.Run.__table__.update().where(schema.Run.__table__.c.run_id == run_id).values(
            progress=float(min(max(fraction, 0.0), 1.0)), progress_msg=(message or "")[:300]))


def write_run_results(session: Session, run_id: str, forecasts: pd.DataFrame | None = None,
                      metrics: pd.DataFrame | None = None, selections: pd.DataFrame | None = None,
                      diagnostics: pd.DataFrame | None = None, trials: pd.DataFrame | None = None) -> dict:
    """Write a run's frames under ``run_id`` inside the caller's transaction; returns rows written per table.

    ``forecasts`` needs ``series_id, model, ds, yhat`` and the interval columns; ``metrics`` ``series_id,
    model, fold`` and metric columns; ``selections`` ``series_id, model, metric, score``; ``diagnostics``
    ``series_id, model, ljung_box_p, bias, resid_std, acf, residuals`` (lists are stored as JSON);
    ``trials`` ``trial, params, score``.
    """
    written = {}
    frames = (("forecasts", schema.Forecast, forecasts), ("backtest_metrics", schema.BacktestMetric, metrics),
              ("selections", schema.Selection, selections), ("diagnostics", schema.Diagnostic, diagnostics),
              ("tuning_trials", schema.TuningTrial, trials))
    for name, table, df in frames:
        if df is None or df.empty:
            written[name] = 0
            continue
        frame = df.assign(run_id=run_id)
        for col in ("acf", "residuals", "params"):
            if col in frame and frame[col].map(lambda v: not isinstance(v, str) and v is not None).any():
                frame[col] = frame[col].map(lambda v: v if isinstance(v, str) or v is None
                                            else json.dumps(list(v) if not isinstance(v, dict) else v,
                                                            default=float))
        written[name] = upsert_frame(session, table, frame)
    return written


def publish_run(run_id: str, n_series: int, duration_s: float, metrics: dict | None = None,
                url: str | None = None) -> None:
    """In one transaction: mark ``run_id`` successful and current, and the previous current run not current."""
    runs_t = schema.Run.__table__
    with session_scope(url=url) as s:
        status = s.execute(select(runs_t.c.status).where(runs_t.c.run_id == run_id)).scalar_one_or_none()
        if status != "running":
            raise ValueError(f"cannot publish run {run_id!r}: its status is {status!r}, expected 'running'")
        s.execute(runs_t.update().where(runs_t.c.is_current.is_(True)).values(is_current=False))
        s.execute(runs_t.update().where(runs_t.c.run_id == run_id).values(
            status="success", is_current=True, finished_at=_utcnow(), n_series=int(n_series),
            duration_s=float(duration_s), metrics=json.dumps(metrics or {}, default=float), progress=1.0,
            progress_msg="published"))


def mark_failed(run_id: str, error: str, status: str = "failed", duration_s: float | None = None,
                url: str | None = None) -> None:
    """End a run that will not be published (status failed, cancelled or skipped); it never becomes current."""
    runs_t = schema.Run.__table__
    with session_scope(url=url) as s:
        s.execute(runs_t.update().where(runs_t.c.run_id == run_id).values(
            status=status, is_current=False, finished_at=_utcnow(), error=(error or "")[:4000],
            duration_s=duration_s, progress_msg=status))


def abandon_running_runs(reason: str, url: str | None = None) -> list[str]:
    """Mark every run still ``running`` as failed with ``reason``; call only while holding the refresh lock,
    when no other refresh can be running (so these were left by a process that was killed or crashed)."""
    runs_t = schema.Run.__table__
    with session_scope(url=url) as s:
        ids = list(s.execute(select(runs_t.c.run_id).where(runs_t.c.status == "running")).scalars())
        if ids:
            s.execute(runs_t.update().where(runs_t.c.run_id.in_(ids)).values(
                status="failed", is_current=False, finished_at=_utcnow(), error=reason, progress_msg="failed"))
    return ids


def _run_records(df: pd.DataFrame) -> pd.DataFrame:
    for col in ("params", "metrics"):
        if col in df:
            df[col] = df[col].map(lambda v: json.loads(v) if isinstance(v, str) and v else {})
    if "is_current" in df:
        df["is_current"] = df["is_current"].astype(bool)
    return df


def runs(limit: int = 100, url: str | None = None) -> pd.DataFrame:
    """The refresh history, newest first (``params`` and ``metrics`` parsed from JSON into dicts)."""
    if not inspect(get_engine(url)).has_table("runs"):
        return pd.DataFrame(columns=[c.name for c in schema.Run.__table__.columns])
    stmt = select(schema.Run.__table__).order_by(schema.Run.started_at.desc()).limit(int(limit))
    return _run_records(_read(stmt, url, parse_dates=["started_at", "finished_at"]))


def run_info(run_id: str, url: str | None = None) -> dict | None:
    """One run as a dict (JSON fields parsed), or None."""
    df = _run_records(_read(select(schema.Run.__table__).where(schema.Run.run_id == run_id), url,
                            parse_dates=["started_at", "finished_at"]))
    return df.iloc[0].to_dict() if len(df) else None


def current_run(url: str | None = None) -> dict | None:
    """The published run the dashboard shows, as a dict, or None when there is none yet."""
    if not inspect(get_engine(url)).has_table("runs"):
        return None
    df = _run_records(_read(select(schema.Run.__table__).where(schema.Run.is_current.is_(True)), url,
                            parse_dates=["started_at", "finished_at"]))
    return df.iloc[0].to_dict() if len(df) else None


def _run_or_current(run_id: str | None, url: str | None) -> str | None:
    if run_id:
        return run_id
    cur = current_run(url)
    return cur["run_id"] if cur else None


def _empty(cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=cols)


def forecast(series_id: str, run_id: str | None = None, model: str = "final", url: str | None = None) -> pd.DataFrame:
    """One node's forecast (``series_id, ds, yhat`` and 80/95% bounds) from ``run_id`` or the current run."""
    rid = _run_or_current(run_id, url)
    if rid is None:
        return _empty(FORECAST_COLS)
    f = schema.Forecast
    stmt = select(*[getattr(f, c) for c in FORECAST_COLS]).where(
        f.run_id == rid, f.series_id == series_id, f.model == model).order_by(f.ds)
    return _read(stmt, url, parse_dates=["ds"])


def forecast_models(series_id: str, run_id: str | None = None, url: str | None = None) -> list[str]:
    """The model names with a stored forecast for ``series_id`` ("final" first)."""
    rid = _run_or_current(run_id, url)
    if rid is None:
        return []
    with get_engine(url).connect() as conn:
        names = conn.execute(select(schema.Forecast.model).where(
            schema.Forecast.run_id == rid, schema.Forecast.series_id == series_id).distinct()).scalars().all()
    return sorted(names, key=lambda n: (n != "final", n))


def forecasts_for_level(level: str, run_id: str | None = None, model: str = "final",
                        url: str | None = None) -> pd.DataFrame:
    """Forecasts of every node of ``level`` (e.g. "store") from one run, in long format."""
    rid = _run_or_current(run_id, url)
    if rid is None:
        return _empty(FORECAST_COLS)
    sql = f"""SELECT {', '.join('f.' + c for c in FORECAST_COLS)} FROM forecasts f
              JOIN nodes n ON n.node_id = f.series_id
              WHERE f.run_id = :rid AND f.model = :model AND n.level = :level ORDER BY f.series_id, f.ds"""
    return _read(sql, url, {"rid": rid, "model": model, "level": level}, parse_dates=["ds"])


def forecast_history(series_id: str, model: str = "final", n_runs: int = 5, url: str | None = None) -> pd.DataFrame:
    """Forecasts of ``series_id`` from the last ``n_runs`` successful runs, for forecast-vs-actual views.

    Columns: ``run_id, started_at`` and the forecast columns, oldest run first.
    """
    sql = f"""SELECT r.run_id, r.started_at, {', '.join('f.' + c for c in FORECAST_COLS)}
              FROM forecasts f JOIN (SELECT run_id, started_at FROM runs WHERE status = 'success'
                                     ORDER BY started_at DESC LIMIT :n) r ON r.run_id = f.run_id
              WHERE f.series_id = :sid AND f.model = :model ORDER BY r.started_at, f.ds"""
    return _read(sql, url, {"n": int(n_runs), "sid": series_id, "model": model}, parse_dates=["started_at", "ds"])


def backtest_metrics(series_id: str | None = None, run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Backtest metrics per model and fold (``series_id, model, fold`` + metrics) of one series or all."""
    rid = _run_or_current(run_id, url)
    cols = ["series_id", "model", "fold", *METRIC_COLS]
    if rid is None:
        return _empty(cols)
    b = schema.BacktestMetric
    stmt = select(*[getattr(b, c) for c in cols]).where(b.run_id == rid)
    if series_id is not None:
        stmt = stmt.where(b.series_id == series_id)
    return _read(stmt.order_by(b.series_id, b.model, b.fold), url)


def model_summary(run_id: str | None = None, level: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Per model: series backtested, times selected and mean metrics over series and folds (one run)."""
    rid = _run_or_current(run_id, url)
    cols = ["model", "n_series", "n_selected", "wape", "mase", "rmse", "mae", "smape", "bias", "coverage_80",
            "coverage_95", "pinball"]
    if rid is None:
        return _empty(cols)
    level_join = "JOIN nodes n ON n.node_id = b.series_id AND n.level = :level" if level else ""
    sel_join = "JOIN nodes n ON n.node_id = s.series_id AND n.level = :level" if level else ""
    sql = f"""SELECT b.model, COUNT(DISTINCT b.series_id) AS n_series,
                     {', '.join(f'AVG(b.{m}) AS {m}' for m in cols[3:])}
              FROM backtest_metrics b {level_join} WHERE b.run_id = :rid GROUP BY b.model"""
    params = {"rid": rid, "level": level} if level else {"rid": rid}
    df = _read(sql, url, params)
    sel = _read(f"""SELECT s.model, COUNT(*) AS n_selected FROM selections s {sel_join}
                    WHERE s.run_id = :rid GROUP BY s.model""", url, params)
    df = df.merge(sel, on="model", how="outer")
    df["n_selected"] = df["n_selected"].fillna(0).astype(int)
    df["n_series"] = df["n_series"].fillna(0).astype(int)
    return df[cols].sort_values("wape", na_position="last").reset_index(drop=True)


def selection(series_id: str, run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """The chosen model of one series (one row ``series_id, model, metric, score``; empty when none)."""
    return selections(run_id=run_id, url=url, series_id=series_id)


def selections(run_id: str | None = None, level: str | None = None, series_id: str | None = None,
               url: str | None = None) -> pd.DataFrame:
    """Chosen models per series of one run, optionally of one hierarchy level."""
    rid = _run_or_current(run_id, url)
    cols = ["series_id", "model", "metric", "score"]
    if rid is None:
        return _empty(cols)
    sql = "SELECT s.series_id, s.model, s.metric, s.score FROM selections s"
    params: dict = {"rid": rid}
    if level:
        sql += " JOIN nodes n ON n.node_id = s.series_id AND n.level = :level"
        params["level"] = level
    sql += " WHERE s.run_id = :rid"
    if series_id is not None:
        sql += " AND s.series_id = :sid"
        params["sid"] = series_id
    return _read(sql + " ORDER BY s.series_id", url, params)


def diagnostics(series_id: str, run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Residual diagnostics of the chosen model(s) of one series; ``acf`` and ``residuals`` as lists."""
    rid = _run_or_current(run_id, url)
    cols = ["series_id", "model", "ljung_box_p", "bias", "resid_std", "acf", "residuals"]
    if rid is None:
        return _empty(cols)
    d = schema.Diagnostic
    df = _read(select(*[getattr(d, c) for c in cols]).where(d.run_id == rid, d.series_id == series_id), url)
    for col in ("acf", "residuals"):
        df[col] = df[col].map(lambda v: json.loads(v) if isinstance(v, str) and v else [])
    return df


def tuning_trials(run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Hyperparameter trials logged by a ``--tune`` run (``params`` parsed into dicts)."""
    rid = _run_or_current(run_id, url)
    if rid is None:
        return _empty(["trial", "params", "score"])
    t = schema.TuningTrial
    df = _read(select(t.trial, t.params, t.score).where(t.run_id == rid).order_by(t.trial), url)
    df["params"] = df["params"].map(lambda v: json.loads(v) if isinstance(v, str) and v else {})
    return df


def prune_runs(keep: int = 5, url: str | None = None) -> int:
    """Delete forecasts, metrics and diagnostics of all but the newest ``keep`` successful runs (and the current
    one) and of every unpublished run; the run rows stay as history. Returns the number of runs pruned."""
    runs_t = schema.Run.__table__
    with session_scope(url=url) as s:
        keep_ids = set(s.execute(select(runs_t.c.run_id).where(runs_t.c.status == "success")
                                 .order_by(runs_t.c.started_at.desc()).limit(int(keep))).scalars().all())
        keep_ids |= set(s.execute(select(runs_t.c.run_id).where(
            (runs_t.c.is_current.is_(True)) | (runs_t.c.status == "running"))).scalars().all())
        drop = [r for r in s.execute(select(runs_t.c.run_id)).scalars().all() if r not in keep_ids]
        for table in (schema.Forecast, schema.BacktestMetric, schema.Selection, schema.Diagnostic,
                      schema.TuningTrial):
            for start in range(0, len(drop), 500):
                s.execute(delete(table.__table__).where(table.__table__.c.run_id.in_(drop[start:start + 500])))
    return len(drop)


def acquire_lock(name: str, owner: str, stale_after_s: float = 3600.0, steal_from: str | None = None,
                 url: str | None = None) -> bool:
    """Take the named lock for ``owner`` in one transaction; True when ``owner`` now holds it.

    A free lock is inserted; a lock whose holder has not refreshed it (:func:`refresh_lock`) for
    ``stale_after_s`` seconds is taken over, as is one held by ``steal_from`` (a holder known to be dead).
    Works across processes because the database serialises the writes.
    """
    init_db(url)
    locks_t = schema.Lock.__table__
    now = _utcnow()
    with session_scope(url=url) as s:
        ins = _dialect_insert(s)(locks_t).values(name=name, owner=owner, acquired_at=now)
        s.execute(ins.on_conflict_do_nothing(index_elements=["name"]))
        cutoff = now - dt.timedelta(seconds=float(stale_after_s))
        takeover = locks_t.c.acquired_at < cutoff
        if steal_from is not None:
            takeover = takeover | (locks_t.c.owner == steal_from)
        s.execute(locks_t.update().where(locks_t.c.name == name, locks_t.c.owner != owner, takeover)
                  .values(owner=owner, acquired_at=now))
        holder = s.execute(select(locks_t.c.owner).where(locks_t.c.name == name)).scalar_one()
    return holder == owner


def refresh_lock(name: str, owner: str, url: str | None = None) -> bool:
    """Heartbeat: renew ``owner``'s hold on the lock (so it does not go stale); False when it is not the holder."""
    locks_t = schema.Lock.__table__
    with session_scope(url=url) as s:
        n = s.execute(locks_t.update().where(locks_t.c.name == name, locks_t.c.owner == owner)
                      .values(acquired_at=_utcnow())).rowcount
    return n == 1


def release_lock(name: str, owner: str, url: str | None = None) -> bool:
    """Release the lock if ``owner`` holds it; True when released."""
    locks_t = schema.Lock.__table__
    with session_scope(url=url) as s:
        n = s.execute(delete(locks_t).where(locks_t.c.name == name, locks_t.c.owner == owner)).rowcount
    return n == 1


def lock_info(name: str, url: str | None = None) -> dict | None:
    """The holder of a named lock (``owner``, ``acquired_at``) or None when free."""
    if not inspect(get_engine(url)).has_table("locks"):
        return None
    df = _read(select(schema.Lock.__table__).where(schema.Lock.name == name), url, parse_dates=["acquired_at"])
    return df.iloc[0].to_dict() if len(df) else None


# --- dashboard readers ---
# Fast, indexed reads for the Overview, Explore and Forecast pages (engineer A). Aggregate nodes read
# ``agg_sales`` through its primary key (node_id, date) or its (level, date) index; bottom nodes read the fact
# table through its (store_id, product_id, date) primary key with explicit store lists, never a full scan.

_MAX_NODES = 2000  # selections larger than this are refused with a clear message


def data_version(url: str | None = None) -> str:
    """A cheap token that changes with every import, published refresh or effects run (for cache keys)."""
    eng = get_engine(url)
    tables = set(inspect(eng).get_table_names())
    parts = []
    with eng.connect() as conn:
        for table, expr in (("datasets", "MAX(id)"), ("runs", "MAX(started_at) || COUNT(*)"),
                            ("analysis_results", "MAX(computed_at)")):
            parts.append(str(conn.execute(text(f"SELECT {expr} FROM {table}")).scalar()) if table in tables
                         else "-")
        if "runs" in tables:
            parts.append(str(conn.execute(text(
                "SELECT run_id || status FROM runs WHERE is_current = 1")).scalar()))
    return "|".join(parts)


def date_bounds(url: str | None = None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last date of the data (from the ``total`` node of ``agg_sales``); (None, None) when empty."""
    if not inspect(get_engine(url)).has_table("agg_sales"):
        return None, None
    with get_engine(url).connect() as conn:
        lo, hi = conn.execute(text("SELECT MIN(date), MAX(date) FROM agg_sales WHERE node_id = 'total'")).one()
    return (pd.Timestamp(lo), pd.Timestamp(hi)) if lo else (None, None)


def _period_sum(conn, key: str, start: dt.date, end: dt.date) -> tuple[float | None, int]:
    total, n = conn.execute(text("SELECT SUM(sales), COUNT(*) FROM agg_sales WHERE node_id = :k "
                                 "AND date BETWEEN :s AND :e"), {"k": key, "s": start, "e": end}).one()
    return (float(total) if total is not None else None), int(n)


def overview_summary(period_days: int = 28, url: str | None = None) -> dict:
    """KPIs of the Overview page for the last ``period_days`` days of data.

    Keys: ``start, end, sales, prev_sales, ly_sales`` (the same dates 364 days earlier, so weekdays align),
    ``last_date, imported_at, dataset``, and from the current run (None without one): ``run_id,
    run_finished_at, horizon_start, horizon_end, fc_total, fc_lo_80, fc_hi_80, fc_lo_95, fc_hi_95`` (bounds
    summed over the horizon: conservative, as if daily errors were perfectly correlated), ``wape_total``
    (mean backtest WAPE of the chosen model of the ``total`` series) and ``wape_median`` (median over all
    series of their chosen model's mean WAPE); plus ``last_run_status`` and ``last_run_error``.
    """
    first, last = date_bounds(url)
    out: dict = {"last_date": last, "first_date": first}
    ds = datasets(url) if inspect(get_engine(url)).has_table("datasets") else pd.DataFrame()
    out["imported_at"] = ds["imported_at"].iloc[0] if len(ds) else None
    out["dataset"] = ds["name"].iloc[0] if len(ds) else None
    if last is not None:
        end = last.date()
        start = end - dt.timedelta(days=int(period_days) - 1)
        prev_end, prev_start = start - dt.timedelta(days=1), start - dt.timedelta(days=int(period_days))
        with get_engine(url).connect() as conn:
            out["sales"], out["n"] = _period_sum(conn, "total", start, end)
            out["prev_sales"], out["prev_n"] = _period_sum(conn, "total", prev_start, prev_end)
            out["ly_sales"], out["ly_n"] = _period_sum(conn, "total", start - dt.timedelta(days=364),
                                                       end - dt.timedelta(days=364))
        out["start"], out["end"] = pd.Timestamp(start), pd.Timestamp(end)
    run = current_run(url)
    out["run_id"] = run["run_id"] if run else None
    out["run_finished_at"] = run["finished_at"] if run else None
    if run:
        fc = forecast("total", run_id=run["run_id"], url=url)
        if len(fc):
            out["horizon_start"], out["horizon_end"] = fc["ds"].min(), fc["ds"].max()
            out["horizon_n"] = len(fc)
            for col, key in (("yhat", "fc_total"), ("yhat_lo_80", "fc_lo_80"), ("yhat_hi_80", "fc_hi_80"),
                             ("yhat_lo_95", "fc_lo_95"), ("yhat_hi_95", "fc_hi_95")):
                out[key] = float(fc[col].sum()) if fc[col].notna().all() else None
        sql = """SELECT b.series_id, AVG(b.wape) AS wape FROM backtest_metrics b
                 JOIN selections s ON s.run_id = b.run_id AND s.series_id = b.series_id AND s.model = b.model
                 WHERE b.run_id = :rid GROUP BY b.series_id"""
        w = _read(sql, url, {"rid": run["run_id"]})
        w = w.dropna()
        out["wape_total"] = float(w.loc[w["series_id"] == "total", "wape"].iloc[0]) \
            if (w["series_id"] == "total").any() else None
        out["wape_median"] = float(w["wape"].median()) if len(w) else None
        out["wape_n"] = int(len(w))
    hist = runs(limit=1, url=url)
    out["last_run_status"] = hist["status"].iloc[0] if len(hist) else None
    out["last_run_error"] = hist["error"].iloc[0] if len(hist) else None
    out["last_run_started_at"] = hist["started_at"].iloc[0] if len(hist) else None
    return out


def movers(level: str, period_days: int = 28, n: int = 5, url: str | None = None) -> pd.DataFrame:
    """Top and bottom ``n`` nodes of ``level`` by growth of the last ``period_days`` vs the period before.

    Columns ``node_id, label, category, sales, prev_sales, growth, rank`` ("top"/"bottom"); nodes with no
    sales in the previous period are left out (growth undefined).
    """
    _, last = date_bounds(url)
    if last is None:
        return pd.DataFrame(columns=["node_id", "label", "category", "sales", "prev_sales", "growth", "rank"])
    end = last.date()
    cur_start = end - dt.timedelta(days=int(period_days) - 1)
    prev_start = cur_start - dt.timedelta(days=int(period_days))
    # One correlated subquery per node and period range-scans agg_sales' primary key (node_id, date); this is
    # several times faster than a join + GROUP BY (temp b-tree) or the (level, date) index on this WITHOUT
    # ROWID table.
    sql = """SELECT n.node_id, n.label, n.category,
                    (SELECT SUM(a.sales) FROM agg_sales a WHERE a.node_id = n.node_id
                       AND a.date BETWEEN :cur AND :e) AS sales,
                    (SELECT SUM(a.sales) FROM agg_sales a WHERE a.node_id = n.node_id
                       AND a.date BETWEEN :ps AND :pe) AS prev_sales
             FROM nodes n WHERE n.level = :level"""
    df = _read(sql, url, {"cur": cur_start, "level": level, "ps": prev_start,
                          "pe": cur_start - dt.timedelta(days=1), "e": end})
    df = df[df["prev_sales"].fillna(0) > 0].copy()
    df["growth"] = df["sales"] / df["prev_sales"] - 1.0
    df = df.sort_values(["growth", "node_id"], ascending=[False, True])
    top = df.head(n).assign(rank="top")
    bottom = df[~df["node_id"].isin(top["node_id"])].tail(n).assign(rank="bottom")
    return pd.concat([top, bottom], ignore_index=True)


def filter_options(url: str | None = None) -> dict:
    """Values for the Explore filters from ``nodes``: ``regions``, ``categories`` (lists) and ``stores``,
    ``products`` (lists of ``{"value", "label", "region"/"category"}``)."""
    if not inspect(get_engine(url)).has_table("nodes"):
        return {"regions": [], "categories": [], "stores": [], "products": []}
    nd = _read("""SELECT node_id, level, label, region, store_id, category, product_id FROM nodes
                  WHERE level IN ('region', 'store', 'category', 'product') ORDER BY node_id""", url)
    by = {lvl: nd[nd["level"] == lvl] for lvl in ("region", "store", "category", "product")}
    return {"regions": sorted(by["region"]["region"].dropna().tolist()),
            "categories": sorted(by["category"]["category"].dropna().tolist()),
            "stores": [{"value": r.store_id, "label": r.label, "region": r.region}
                       for r in by["store"].itertuples()],
            "products": [{"value": r.product_id, "label": r.label, "category": r.category}
                         for r in by["product"].itertuples()]}


def _node_list(where: str, params: dict, url: str | None) -> list[str]:
    from sqlalchemy import bindparam
    stmt = text(f"SELECT node_id FROM nodes WHERE {where} ORDER BY node_id")
    params = {k: v for k, v in params.items() if f":{k}" in where}
    expanding = [k for k, v in params.items() if isinstance(v, (list, tuple))]
    if expanding:
        stmt = stmt.bindparams(*[bindparam(k, expanding=True) for k in expanding])
    return _read(stmt, url, params)["node_id"].tolist()


def selection_nodes(region: str | None = None, stores=(), category: str | None = None, products=(),
                    url: str | None = None) -> dict:
    """Which hierarchy nodes an Explore filter selects and which nodes break it down one level further.

    Returns ``{"nodes": [...], "children": [...], "child_level": str | None, "first", "last", "freq"}`` (the
    data's date range as ISO strings, for default date filters, and "D"/"W"): the selected series is the
    sum of ``nodes`` (a single node whenever the filter names one, e.g. ``store=3/category=Food``) and the
    breakdown shows ``children`` (total -> regions -> stores -> store x category -> store x product, or
    category -> products -> stores selling it).
    """
    if not inspect(get_engine(url)).has_table("nodes"):
        return {"nodes": [], "children": [], "child_level": None, "first": None, "last": None, "freq": "D"}
    stores, products = list(stores or []), list(products or [])
    p: dict = {"region": region, "stores": stores, "category": category, "products": products}
    reg = " AND region = :region" if region else ""
    sto = " AND store_id IN :stores" if stores else ""
    if products:
        if stores or region:
            nodes_ = _node_list(f"level = 'store_product' AND product_id IN :products{sto}{reg}", p, url)
            children = nodes_ if len(nodes_) > 1 else []
        else:
            nodes_ = _node_list("level = 'product' AND product_id IN :products", p, url)
            children = _node_list("level = 'store_product' AND product_id IN :products", p, url)
        child_level = "store_product"
    elif category:
        if stores or region:
            nodes_ = _node_list(f"level = 'store_category' AND category = :category{sto}{reg}", p, url)
            children = _node_list(f"level = 'store_product' AND category = :category{sto}{reg}", p, url)
            child_level = "store_product"
        else:
            nodes_ = _node_list("level = 'category' AND category = :category", p, url)
            children, child_level = _node_list("level = 'product' AND category = :category", p, url), "product"
    elif stores:
        nodes_ = _node_list(f"level = 'store'{sto}", p, url)
        children, child_level = _node_list(f"level = 'store_category'{sto}", p, url), "store_category"
        if len(children) <= len(stores):  # one category per store (e.g. Walmart): go straight to products
            children, child_level = _node_list(f"level = 'store_product'{sto}", p, url), "store_product"
    elif region:
        nodes_ = _node_list("level = 'region' AND region = :region", p, url)
        children, child_level = _node_list("level = 'store' AND region = :region", p, url), "store"
    else:
        nodes_ = ["total"]
        children = _node_list("level = 'region'", p, url)
        child_level = "region"
        if len(children) <= 1:  # one region only: go straight to the stores
            children, child_level = _node_list("level = 'store'", p, url), "store"
    if len(nodes_) > _MAX_NODES:
        raise ValueError(f"the selection covers {len(nodes_)} series; narrow it to at most {_MAX_NODES} "
                         "(pick a region, a category or fewer stores/products)")
    first, last = date_bounds(url)
    return {"nodes": nodes_, "children": children[:_MAX_NODES], "child_level": child_level if children else None,
            "first": first.date().isoformat() if first is not None else None,
            "last": last.date().isoformat() if last is not None else None, "freq": frequency(url)}


def _split_nodes(node_ids) -> tuple[list[str], list[str], list[str]]:
    agg, stores_, products_ = [], set(), set()
    for key in node_ids:
        info = parse_node_id(key)
        if info["level"] == BOTTOM_LEVEL:
            stores_.add(info["store_id"])
            products_.add(info["product_id"])
        else:
            agg.append(key)
    return agg, sorted(stores_), sorted(products_)


def nodes_series(node_ids, start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """The summed daily (or weekly) sales ``ds, y`` of a list of nodes between ``start`` and ``end``.

    Aggregate nodes sum ``agg_sales`` rows by primary key; bottom nodes sum the facts of exactly those
    store x product pairs (bottom selections are always a stores x products cross product).
    """
    from sqlalchemy import bindparam
    agg, stores_, products_ = _split_nodes(node_ids)
    bounds = {"s": _as_date(start) or dt.date(1900, 1, 1), "e": _as_date(end) or dt.date(9999, 12, 31)}
    frames = []
    if agg:
        stmt = text("""SELECT date AS ds, SUM(sales) AS y FROM agg_sales WHERE node_id IN :ids
                       AND date BETWEEN :s AND :e GROUP BY date""").bindparams(bindparam("ids", expanding=True))
        frames.append(_read(stmt, url, {"ids": agg, **bounds}, parse_dates=["ds"]))
    if stores_:
        stmt = text("""SELECT date AS ds, SUM(sales) AS y FROM sales WHERE store_id IN :st AND product_id IN :pr
                       AND date BETWEEN :s AND :e GROUP BY date""").bindparams(
            bindparam("st", expanding=True), bindparam("pr", expanding=True))
        frames.append(_read(stmt, url, {"st": stores_, "pr": products_, **bounds}, parse_dates=["ds"]))
    if not frames:
        return pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)})
    df = pd.concat(frames).groupby("ds", as_index=False)["y"].sum()
    return df.sort_values("ds").reset_index(drop=True)


def nodes_totals(node_ids, start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """Per node: total, mean and number of periods of sales between ``start`` and ``end``, the total of the
    equally long period just before, the change between them, and the node's label/level/category."""
    from sqlalchemy import bindparam
    agg, stores_, products_ = _split_nodes(node_ids)
    s, e = _as_date(start), _as_date(end)
    if s is None or e is None:
        first, last = date_bounds(url)
        s, e = s or (first.date() if first is not None else dt.date(1900, 1, 1)), \
            e or (last.date() if last is not None else dt.date(9999, 12, 31))
    ps = s - (e - s) - dt.timedelta(days=1)
    params = {"s": s, "e": e, "ps": ps}
    cols = """SUM(CASE WHEN date >= :s THEN sales END) AS sales, AVG(CASE WHEN date >= :s THEN sales END) AS mean,
              COUNT(CASE WHEN date >= :s THEN 1 END) AS periods, SUM(CASE WHEN date < :s THEN sales END) AS prev_sales"""
    frames = []
    if agg:
        # correlated subqueries range-scan the primary key per node (see :func:`movers`)
        sub = "FROM agg_sales a WHERE a.node_id = n.node_id AND a.date BETWEEN"
        stmt = text(f"""SELECT n.node_id, (SELECT SUM(a.sales) {sub} :s AND :e) AS sales,
                               (SELECT COUNT(*) {sub} :s AND :e) AS periods,
                               (SELECT SUM(a.sales) {sub} :ps AND :pe) AS prev_sales
                        FROM nodes n WHERE n.node_id IN :ids""").bindparams(bindparam("ids", expanding=True))
        part = _read(stmt, url, {"ids": agg, **params, "pe": s - dt.timedelta(days=1)})
        part["mean"] = part["sales"] / part["periods"].where(part["periods"] > 0)
        frames.append(part[part["periods"] > 0])
    if stores_:
        stmt = text(f"""SELECT 'store=' || store_id || '/product=' || product_id AS node_id, {cols} FROM sales
                        WHERE store_id IN :st AND product_id IN :pr AND date BETWEEN :ps AND :e
                        GROUP BY store_id, product_id""").bindparams(bindparam("st", expanding=True),
                                                                    bindparam("pr", expanding=True))
        frames.append(_read(stmt, url, {"st": stores_, "pr": products_, **params}))
    out_cols = ["node_id", "label", "level", "category", "sales", "mean", "periods", "prev_sales", "growth", "share"]
    if not frames:
        return pd.DataFrame(columns=out_cols)
    df = pd.concat(frames, ignore_index=True)
    df = df[df["node_id"].isin(set(node_ids))]
    stmt = text("SELECT node_id, label, level, category FROM nodes WHERE node_id IN :ids").bindparams(
        bindparam("ids", expanding=True))
    df = df.merge(_read(stmt, url, {"ids": list(df["node_id"])}), on="node_id", how="left")
    df["growth"] = df["sales"] / df["prev_sales"].where(df["prev_sales"] > 0) - 1.0
    total = df["sales"].sum()
    df["share"] = df["sales"] / total if total else float("nan")
    return df[out_cols].sort_values("sales", ascending=False).reset_index(drop=True)


def search_nodes(query: str | None = None, limit: int = 50, url: str | None = None) -> pd.DataFrame:
    """Nodes whose key or label contains ``query`` (case-insensitive), upper levels first (for pickers)."""
    order = """CASE level WHEN 'total' THEN 0 WHEN 'region' THEN 1 WHEN 'store' THEN 2 WHEN 'category' THEN 3
               WHEN 'product' THEN 4 WHEN 'store_category' THEN 5 ELSE 6 END, node_id"""
    if not inspect(get_engine(url)).has_table("nodes"):
        return pd.DataFrame(columns=["node_id", "label", "level"])
    q = f"%{(query or '').strip().lower()}%"
    return _read(f"""SELECT node_id, label, level FROM nodes
                     WHERE lower(node_id) LIKE :q OR lower(label) LIKE :q ORDER BY {order} LIMIT :n""",
                 url, {"q": q, "n": int(limit)})


def history_and_forecast(key: str, last_days: int | None = None, model: str = "final", run_id: str | None = None,
                         url: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A node's history (``ds, y``; only its last ``last_days`` days when given) and its forecast from the
    current (or given) run."""
    _, last = date_bounds(url)
    if last is None:
        return pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)}), \
            forecast(key, run_id=run_id, model=model, url=url)
    start = (last - pd.Timedelta(days=int(last_days))).date() if last_days is not None else None
    hist = series(key, start=start, url=url)[["ds", "y"]]
    return hist, forecast(key, run_id=run_id, model=model, url=url)


def model_comparison(key: str, run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Backtest metrics of every model for one node (means over folds), the chosen model flagged.

    Columns ``model, folds, wape, mase, rmse, mae, smape, bias, coverage_80, coverage_95, chosen``, best
    WAPE first; empty when the node has no backtest in the run.
    """
    bm = backtest_metrics(key, run_id=run_id, url=url)
    cols = ["model", "folds", "wape", "mase", "rmse", "mae", "smape", "bias", "coverage_80", "coverage_95", "chosen"]
    if bm.empty:
        return pd.DataFrame(columns=cols)
    num = ["wape", "mase", "rmse", "mae", "smape", "bias", "coverage_80", "coverage_95"]
    df = bm.groupby("model", as_index=False).agg(folds=("fold", "nunique"), **{m: (m, "mean") for m in num})
    sel = selection(key, run_id=run_id, url=url)
    chosen = sel["model"].iloc[0] if len(sel) else None
    df["chosen"] = df["model"] == chosen
    return df[cols].sort_values(["wape", "model"], na_position="last").reset_index(drop=True)


def past_forecasts(key: str, n_runs: int = 5, url: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Final forecasts of the last ``n_runs`` successful runs restricted to dates that now have actuals,
    and those actuals: ``(actuals[ds, y], past[run_id, started_at, ds, yhat, ...])``."""
    past = forecast_history(key, n_runs=n_runs, url=url)
    empty = pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)})
    if past.empty:
        return empty, past
    first, last = date_bounds(url)
    if last is None:
        return empty, past.iloc[0:0]
    past = past[past["ds"] <= last]
    if past.empty:
        return empty, past
    actuals = series(key, start=past["ds"].min() - pd.Timedelta(days=28), end=past["ds"].max(), url=url)
    return actuals[["ds", "y"]], past.reset_index(drop=True)
