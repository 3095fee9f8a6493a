"""Engine and sessions: URL resolution, the cached engine with its SQLite PRAGMAs, sessions and the frame reader.

Every other ``data`` module reaches the database through :func:`get_engine`, :func:`session_scope` or
:func:`read_frame`; readers return pandas DataFrames (dates as tz-naive ``datetime64``), never ORM objects.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

import config
from data import schema

# Open date bounds for "no start" / "no end" filters, so every date filter is one BETWEEN on an index.
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(9999, 12, 31)


@lru_cache(maxsize=64)
def _url_for(value: str | None, _cwd: str) -> str:
    return config.database_url(value)


def resolve_url(url: str | None = None) -> str:
    """The database URL: an explicit URL or path, else ``SALES_DB``, else ``data/sales.db``.

    Only ``SALES_DB`` is read (not the whole configuration), and the conversion is memoized on its value: this
    runs on every memoized dashboard read. The working directory is part of the key because a relative path
    resolves against it.
    """
    value = url or os.environ.get("SALES_DB")
    relative = bool(value) and "://" not in value and not os.path.isabs(value)
    return _url_for(value, os.getcwd() if relative else "")


@lru_cache(maxsize=16)
def _engine_for(url: str) -> Engine:
    kwargs = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    if url.startswith(("postgresql://", "postgres://")):  # SQLAlchemy's default driver would be psycopg2
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = create_engine(url, future=True, **kwargs)
    _not_across_processes(engine)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001 - DBAPI callback
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # WAL lets the dashboard read while a refresh writes. Switching an existing WAL file is a no-op.
            try:
                if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    cur.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                # Two processes opening a new database at once race on the switch and SQLite answers "locked"
                # without waiting: the other process is switching it, so carry on.
                if "locked" not in str(exc):
                    raise
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return engine


def _not_across_processes(engine: Engine) -> None:
    """Never hand a pooled connection to a process other than the one that opened it.

    gunicorn's workers, Dash's background jobs and worker pools fork a process whose pool may already hold
    connections; two processes talking over one socket corrupt each other's results ("server closed the connection
    unexpectedly" on PostgreSQL under load). SQLAlchemy's recipe for pools and multiprocessing: remember the pid at
    connect and make a checkout in another process open its own connection.
    """
    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_conn, record):  # noqa: ANN001 - pool callback
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _refuse_foreign(_dbapi_conn, record, proxy):  # noqa: ANN001 - pool callback
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise DisconnectionError(f"connection opened by process {record.info.get('pid')}, not {os.getpid()}")


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
    """Create any missing table (idempotent, and safe when two processes create a new database at once: SQLite
    creates the schema in one ``BEGIN IMMEDIATE`` transaction, so the second process waits for the first and
    then finds every table; on PostgreSQL a table the other process created between the existence check and the
    CREATE is not an error (a ProgrammingError or, when both insert the table's row type, an IntegrityError on
    ``pg_type``), and the creation is tried again).

    A new database (no table yet) is stamped at the newest migration, so only a database made by an earlier
    release needs ``cli.py db upgrade``."""
    engine = get_engine(url)
    new = not inspect(engine).get_table_names()
    if engine.dialect.name == "sqlite":
        # One transaction under the write lock: a second process waits (busy timeout) and then finds every table.
        # Retrying instead lost under load: two processes creating ~50 tables in step collided 5 times running.
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            schema.Base.metadata.create_all(conn)
            conn.commit()
    else:
        for attempt in range(5):
            try:
                schema.Base.metadata.create_all(engine)
                break
            except (OperationalError, ProgrammingError, IntegrityError) as exc:
                if "already exists" not in str(exc) or attempt == 4:
                    raise
    if new:
        from data import migrate
        migrate.stamp_new(engine)


def db_exists(url: str | None = None) -> bool:
    """True when the database has the sales table (without creating anything)."""
    resolved = resolve_url(url)
    if resolved.startswith("sqlite:///"):
        path = resolved[len("sqlite:///"):]
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return False
    return has_table("sales", url)


def has_table(name: str, url: str | None = None) -> bool:
    """True when the database has table ``name`` (readers of optional tables return empty frames otherwise)."""
    return inspect(get_engine(url)).has_table(name)


def read_frame(stmt, url: str | None = None, parse_dates=None, typed: bool = False,
               params: dict | None = None, chunk_rows: int | None = None) -> pd.DataFrame:
    """Run a SQLAlchemy Core ``select`` (with ``params`` for its named ``bindparam``s) and return its rows as a
    DataFrame (``parse_dates`` columns as datetimes).

    Hot readers pass a statement built once at import with named parameters: SQLAlchemy then reuses its
    compiled form without rebuilding and re-keying the statement on every call.

    ``typed=True`` passes every value through SQLAlchemy's type processing even on SQLite (``Date`` columns as
    dates, so a parsed date column has pandas' day-based unit); the default takes SQLite's raw values.

    ``chunk_rows`` fetches that many rows at a time and turns each batch into columns before the next, so a
    large result never exists as one list of Python tuples (3.3M fact rows: about 1 GB); the frame is the same.
    """
    with get_engine(url).connect() as conn:
        df = frame_from(conn, stmt, typed, params, chunk_rows)
    for col in parse_dates or ():
        if col in df:
            df[col] = pd.to_datetime(df[col])
    return df


def frame_from(conn: Connection, stmt, typed: bool = False, params: dict | None = None,
               chunk_rows: int | None = None) -> pd.DataFrame:
    """The rows of ``stmt`` run on ``conn`` (a connection or ``session.connection()``) as a DataFrame.

    On SQLite the rows are taken from the DBAPI cursor as plain tuples: SQLAlchemy has already bound the
    parameters, and skipping its per-row result processing matters for frames of hundreds of thousands of rows
    (dates then arrive as ISO text, which callers parse). Other back ends go through the Core result.
    """
    result = conn.execute(stmt, params or {})
    columns = list(result.keys())
    if conn.dialect.name == "sqlite" and not typed:
        fetch = result.cursor.fetchmany if chunk_rows else result.cursor.fetchall
    else:  # plain tuples: pandas builds frames from Rows slowly
        def fetch(*size):
            return [tuple(r) for r in (result.fetchmany(*size) if size else result.fetchall())]
    if not chunk_rows:
        rows = fetch()
        result.close()
        return pd.DataFrame(rows, columns=columns)
    parts = []
    while rows := fetch(chunk_rows):
        parts.append(pd.DataFrame(rows, columns=columns))
    result.close()
    return _concat_batches(parts, columns)


def _concat_batches(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The batches of one result as one frame, with the dtypes one frame of all rows would have: a column whose
    batches disagree (ints in one, NULLs in another) is inferred again from all its values."""
    if not parts:
        return pd.DataFrame(columns=columns)
    if len(parts) == 1:
        return parts[0]
    out = {}
    for c in columns:
        if all(p[c].dtype == parts[0][c].dtype for p in parts):
            out[c] = pd.concat([p[c] for p in parts], ignore_index=True)
        else:
            out[c] = pd.Series(np.concatenate([p[c].to_numpy(dtype=object) for p in parts])).infer_objects()
    return pd.DataFrame(out, columns=columns)


def as_date(value) -> dt.date | None:
    """``value`` (str, date, Timestamp) as a ``date``; None for None or an empty string."""
    if value is None or value == "":
        return None
    return pd.Timestamp(value).date()


def closed_range(start, end) -> tuple[dt.date, dt.date]:
    """``(start, end)`` as dates, open ends replaced by :data:`FIRST_DATE` / :data:`LAST_DATE`."""
    return as_date(start) or FIRST_DATE, as_date(end) or LAST_DATE


def utcnow() -> dt.datetime:
    """Now in UTC as a naive datetime (the database stores naive UTC)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
