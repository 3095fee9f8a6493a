"""Bulk writers for importers, the demo generator and the refresh: upserts, plain inserts and the facts reset.

Each writer takes a ``session`` so the caller owns the transaction. SQLite gets a driver-level
``executemany`` fast path behind a dialect check; other back ends use the portable SQLAlchemy Core statements.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data import schema

# Every table an import rebuilds, children before parents (the ``datasets`` log, runs and results are kept).
FACT_TABLES = (schema.OrderLine, schema.Sale, schema.Covariate, schema.Weather, schema.CalendarEvent, schema.DemoTruth,
               schema.AggSales, schema.Node, schema.StoreDim, schema.ProductDim)


# Upserts of at least this many rows go through COPY on PostgreSQL; smaller ones are cheaper as one statement.
COPY_MIN_ROWS = 2_000


def dialect_insert(session_or_conn):
    """The ``insert`` construct with ``ON CONFLICT`` support of the session's (or connection's) dialect."""
    name = session_or_conn.get_bind().dialect.name if isinstance(session_or_conn, Session) \
        else session_or_conn.dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def driver_fast_path(session: Session) -> bool:
    """True when the writers hand tuples straight to the SQLite driver instead of using portable Core statements."""
    return session.get_bind().dialect.name == "sqlite"


# SQLite page cache of a bulk write (KiB): the pages of millions of facts and of their date index fit, where SQLite's default 2 MB spilled pages to disk on every batch (most of an import's wall time).
BULK_CACHE_KIB = 262_144


@contextmanager
def bulk_write_cache(session: Session):
    """Within the caller's transaction on SQLite, a large page cache for a bulk write; SQLite's default comes back
    before the transaction commits (the connection returns to the pool as it came). Other back ends: nothing
    to do."""
    if not driver_fast_path(session):
        yield
        return
    conn = session.connection()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA cache_size=-2000")


def copy_path(session: Session) -> bool:
    """True when bulk loads go through PostgreSQL's ``COPY`` (psycopg 3) instead of INSERT statements."""
    bind = session.get_bind()
    return bind.dialect.name == "postgresql" and bind.dialect.driver == "psycopg"


def _copy_column(col, values: pd.Series) -> list:
    """One column as Python values for ``COPY``: dates as ``date``, integers as ``int``, None for every NA
    (NaN too: PostgreSQL would store a float NaN, where the INSERT path stores NULL)."""
    kind = col.type
    if isinstance(kind, (schema.Date, schema.DateTime)):
        codes, uniques = pd.factorize(pd.to_datetime(values))  # convert each distinct date once
        objs = pd.DatetimeIndex(uniques).to_pydatetime()
        if isinstance(kind, schema.Date):
            objs = [d.date() for d in objs]
        return [objs[c] if c >= 0 else None for c in codes]
    return _plain_values(kind, values, bool_as=bool)


def _with_defaults(tbl, df: pd.DataFrame, cols: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """``df`` and ``cols`` with the Python-side scalar defaults of the absent columns added (as Core fills them)."""
    defaults = {c.name: c.default.arg for c in tbl.columns
                if c.name not in cols and c.default is not None and c.default.is_scalar}
    return (df.assign(**defaults), cols + list(defaults)) if defaults else (df, cols)


def _copy_upsert(session: Session, tbl, df: pd.DataFrame, cols: list[str], pk: list[str]) -> int:
    """Large upserts on PostgreSQL: ``COPY`` into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT
    DO UPDATE`` (the last row wins when the frame repeats a key, as with row-by-row upserts)."""
    update = [c for c in cols if c not in pk]  # defaults never overwrite on conflict, as in Core's set_
    if set(pk) <= set(cols):
        df = df.drop_duplicates(subset=pk, keep="last")
    df, cols = _with_defaults(tbl, df, cols)
    q = '"{}"'.format
    temp = f"_upsert_{tbl.name}"
    conn = session.connection()
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {q(temp)} (LIKE {q(tbl.name)}) ON COMMIT DROP")
    copy_frame(session, tbl, df, cols, target=temp)
    names = ", ".join(map(q, cols))
    if not set(pk) <= set(cols):  # e.g. an autoincrement id left out: plain insert
        conflict = ""
    elif update:
        conflict = (f"ON CONFLICT ({', '.join(map(q, pk))}) DO UPDATE SET "
                    + ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in update))
    else:
        conflict = f"ON CONFLICT ({', '.join(map(q, pk))}) DO NOTHING"
    conn.exec_driver_sql(f"INSERT INTO {q(tbl.name)} ({names}) SELECT {names} FROM {q(temp)} {conflict}")
    conn.exec_driver_sql(f"DROP TABLE {q(temp)}")
    return len(df)


def copy_frame(session: Session, tbl, df: pd.DataFrame, cols: list[str], target: str | None = None) -> int:
    """``COPY`` the rows of ``df`` into ``tbl`` (or the table named ``target``) on the session's own connection,
    so it joins the caller's transaction. Python-side scalar defaults fill absent columns, as a Core insert
    would. Returns rows written."""
    df, cols = _with_defaults(tbl, df, cols)
    quoted = ", ".join(f'"{c}"' for c in cols)
    sql = f'COPY "{target or tbl.name}" ({quoted}) FROM STDIN'
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for start in range(0, len(df), 100_000):  # bounded memory: one chunk of tuples at a time
                part = df.iloc[start:start + 100_000]
                for row in zip(*(_copy_column(tbl.columns[c], part[c]) for c in cols)):
                    copy.write_row(row)
    finally:
        cursor.close()
    return len(df)


def upsert_frame(session: Session, table: type[schema.Base], df: pd.DataFrame, chunk: int = 50_000) -> int:
    """Insert rows of ``df`` into ``table``, replacing rows with the same primary key. Returns rows written.

    Uses the dialect's ``ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL), so re-importing a file is idempotent.
    Large frames on PostgreSQL are loaded with ``COPY`` into a temporary table first (:func:`_copy_upsert`).
    """
    if df.empty:
        return 0
    tbl = table.__table__
    cols = [c.name for c in tbl.columns if c.name in df.columns]
    pk = [c.name for c in tbl.primary_key.columns]
    dialect = session.get_bind().dialect.name
    on_conflict_insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    scalar_defaults = not any(c.default is not None and not c.default.is_scalar for c in tbl.columns)
    if driver_fast_path(session) and scalar_defaults:
        return _sqlite_upsert(session, tbl, df, cols, pk, chunk)
    if copy_path(session) and scalar_defaults and len(df) >= COPY_MIN_ROWS:
        return _copy_upsert(session, tbl, df, cols, pk)
    frame = df[cols].astype(object).where(df[cols].notna(), None)
    for c in cols:  # SQLAlchemy's Date type wants date objects, not Timestamps
        if isinstance(tbl.columns[c].type, schema.Date) and len(frame):
            frame[c] = pd.to_datetime(frame[c]).dt.date.astype(object)
    records = frame.to_dict("records")
    written = 0
    for start in range(0, len(records), chunk):
        part = records[start:start + chunk]
        if on_conflict_insert is not None:
            stmt = on_conflict_insert(tbl)
            update_cols = {c: stmt.excluded[c] for c in cols if c not in pk}
            stmt = stmt.on_conflict_do_update(index_elements=pk, set_=update_cols) if update_cols \
                else stmt.on_conflict_do_nothing(index_elements=pk)
            session.execute(stmt, part)
        else:
            session.execute(insert(tbl), part)
        written += len(part)
    return written


def load_facts(session: Session, table: type[schema.Base], df: pd.DataFrame, fresh: bool) -> int:
    """:func:`upsert_frame` for a large load (an import's facts). On SQLite the rows go in primary-key order,
    which appends to the table's b-tree instead of splitting pages all over it, and into an empty table
    (``fresh``) the secondary indexes are dropped and built again after the load, in the same transaction: one
    sort instead of a random index insert per row. Other back ends: :func:`upsert_frame` as it is (dropping an
    index would lock PostgreSQL readers out until the import commits)."""
    if df.empty or not driver_fast_path(session):
        return upsert_frame(session, table, df)
    pk = [c.name for c in table.__table__.primary_key.columns]
    df = df.sort_values(pk, ignore_index=True)
    indexes = sorted(table.__table__.indexes, key=lambda ix: ix.name) if fresh else []
    conn = session.connection()
    for ix in indexes:
        ix.drop(conn)
    # Into an empty table the rows are all new (the importer has dropped or refused repeated keys), so a plain
    # INSERT does; a repeated key would still fail the transaction on the primary key, never overwrite a row.
    written = bulk_insert(session, table, df) if fresh else upsert_frame(session, table, df)
    for ix in indexes:
        ix.create(conn)
    return written


DATE_TEXT = "%Y-%m-%d"
DATETIME_TEXT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DateTime storage format


def iso_dates(values, fmt: str = DATE_TEXT):
    """Dates as text (a numpy object array, None for a missing one), each distinct value formatted once:
    millions of rows hold a few hundred dates, and ``strftime`` per row was a large share of a write."""
    codes, uniques = pd.factorize(pd.to_datetime(values))  # NaT gets code -1
    texts = np.append(pd.DatetimeIndex(uniques).strftime(fmt).to_numpy(dtype=object), None)
    return texts[codes]  # code -1: the None appended last


def _sqlite_column(col, values: pd.Series) -> list:
    """One column as DBAPI values in SQLAlchemy's SQLite storage format (ISO dates, ints, floats, None for NA)."""
    kind = col.type
    if isinstance(kind, (schema.DateTime, schema.Date)):
        return iso_dates(values, DATETIME_TEXT if isinstance(kind, schema.DateTime) else DATE_TEXT).tolist()
    return _plain_values(kind, values, bool_as="int64")  # SQLite stores booleans as 0/1


def _plain_values(kind, values: pd.Series, bool_as) -> list:
    """A non-date column as Python ints, floats or objects, None for every NA (NaN included); booleans as
    ``bool_as`` (``bool`` for COPY, ``"int64"`` for SQLite's 0/1)."""
    na = values.isna().to_numpy()
    if isinstance(kind, schema.Boolean):
        out = pd.to_numeric(values.where(~na, 0)).astype(bool_as).tolist()
    elif isinstance(kind, schema.Integer):
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

    Building SQLAlchemy parameter dicts dominates the time of a large import; the values written are the same
    (dates as ISO text, as SQLAlchemy's SQLite types store them).
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


def clear_facts(session: Session) -> None:
    """Delete all facts, dimensions, aggregates and demo truth (children before parents), inside the caller's
    transaction. The ``datasets`` log, runs, forecasts and analysis results are kept."""
    for table in FACT_TABLES:
        session.execute(delete(table.__table__))


def bulk_insert(session: Session, table: type[schema.Base], df: pd.DataFrame, chunk: int = 250_000) -> int:
    """Plain INSERT of every row of ``df`` into ``table`` (no upsert: the rows must be new). Returns rows written.

    For millions of rows into freshly emptied tables (the demo generator). On SQLite it hands tuples to the
    DBAPI's ``executemany`` on the session's own connection, so it joins the caller's transaction; dates are
    written as ISO strings, the format SQLAlchemy's ``Date`` uses on SQLite. On PostgreSQL (psycopg 3) it
    streams the rows with ``COPY`` (:func:`copy_frame`); other back ends use Core inserts.
    """
    if df.empty:
        return 0
    tbl = table.__table__
    cols = [c.name for c in tbl.columns if c.name in df.columns]
    if copy_path(session):
        return copy_frame(session, tbl, df, cols)
    if not driver_fast_path(session):
        frame = df[cols].astype(object).where(df[cols].notna(), None)
        for c in cols:
            if isinstance(tbl.columns[c].type, schema.Date):
                frame[c] = pd.to_datetime(frame[c]).dt.date.astype(object)
        records = frame.to_dict("records")
        for start in range(0, len(records), chunk):
            session.execute(insert(tbl), records[start:start + chunk])
        return len(records)
    df, cols = _with_defaults(tbl, df, cols)  # as the Core insert above fills them
    placeholders = ", ".join("?" for _ in cols)
    quoted = ", ".join(f'"{c}"' for c in cols)  # quoted: demo_truth has a column named "group"
    sql = f'INSERT INTO "{tbl.name}" ({quoted}) VALUES ({placeholders})'
    dates = {c: iso_dates(df[c]) for c in cols if isinstance(tbl.columns[c].type, schema.Date)}
    cursor = session.connection().connection.driver_connection.cursor()
    try:  # Python values for one chunk at a time: 10M rows of them at once would take gigabytes
        for start in range(0, len(df), chunk):
            part = df.iloc[start:start + chunk]
            columns = [dates[c][start:start + chunk].tolist() if c in dates
                       else (part[c].astype(object).where(part[c].notna(), None).tolist() if part[c].hasnans
                             else part[c].tolist()) for c in cols]
            cursor.executemany(sql, zip(*columns))
    finally:
        cursor.close()
    return len(df)
