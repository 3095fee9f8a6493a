"""Guards against silent data loss and racing writers.

- :func:`imported_data` says what ``cli.py demo`` would replace (the imports since the last demo generation),
  so the demo refuses to overwrite imported data without ``--force``.
- :func:`lock_for_import` takes the database's write lock at the start of an import's transaction, so the
  importer's checks (frequency, content hash) and its writes see the same state even when two imports start at
  once (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a self-conflicting lock on ``datasets``).
- :func:`changed_facts` counts the facts an import would change (stored values that differ), so a re-import
  that corrects values says so instead of only "new facts: 0".
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from data import schema
from data.engine import db_exists, frame_from, has_table, read_frame
from data.facts import counts

DEMO_NAME = "demo"             # data.demo writes its import-log row with this name ...
DEMO_SOURCE_PREFIX = "synthetic"  # ... and a source starting with this
_KEYS = ["store_id", "product_id", "date"]
_MAX_IN = 500  # most stores named in one IN (...) list


class WriteLockTimeout(RuntimeError):
    """Another writer held the database for longer than the busy timeout."""


def _is_demo(name, source) -> bool:
    return name == DEMO_NAME and str(source or "").startswith(DEMO_SOURCE_PREFIX)


def imported_data(url: str | None = None) -> dict | None:
    """The imported (non-demo) data the store holds, or None when it holds none (empty, or demo data only).

    Only imports newer than the latest demo generation count: the demo replaces every fact, so older imports are
    already gone. Returns ``{"datasets": [{"name", "source", "rows", "imported_at"}], "rows": fact rows,
    "series": n}``.
    """
    if not db_exists(url) or not has_table("datasets", url):
        return None
    n = counts(url)
    if n["rows"] == 0:
        return None
    log = read_frame(select(schema.Dataset.name, schema.Dataset.source, schema.Dataset.rows_written,
                            schema.Dataset.imported_at).order_by(schema.Dataset.id.desc()), url)
    lost = []
    for r in log.to_dict("records"):
        if _is_demo(r["name"], r["source"]):
            break
        lost.append({"name": r["name"], "source": r["source"], "rows": int(r["rows_written"] or 0),
                     "imported_at": str(r["imported_at"])[:19]})
    if not lost:
        return None
    return {"datasets": lost, "rows": n["rows"], "series": n["series"]}


def describe_loss(info: dict, where: str) -> str:
    """One line: what replacing the store at ``where`` would lose (from :func:`imported_data`)."""
    names = ", ".join(f"'{d['name']}' ({d['rows']:,} rows, imported {d['imported_at']})" for d in info["datasets"])
    return (f"{where} holds imported data that the demo would replace: {info['rows']:,} fact rows in "
            f"{info['series']:,} series from dataset(s) {names}. Use --force to replace it, or --db PATH to write "
            "the demo to another database")


def lock_for_import(session: Session) -> None:
    """Take the database's write lock for the rest of ``session``'s transaction (call it first).

    SQLite: ``BEGIN IMMEDIATE`` (waits up to the busy timeout, then raises :class:`WriteLockTimeout`); PostgreSQL:
    ``LOCK TABLE datasets IN SHARE ROW EXCLUSIVE MODE`` (conflicts with itself, not with readers). Reads made after
    it, on any connection, see the state the import's writes will apply to.
    """
    dialect = session.get_bind().dialect.name
    try:
        if dialect == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        elif dialect == "postgresql":
            session.connection().exec_driver_sql("LOCK TABLE datasets IN SHARE ROW EXCLUSIVE MODE")
    except OperationalError as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise WriteLockTimeout("the database is busy: another import or refresh is writing to it; "
                                   "try again when it has finished") from None
        raise


def changed_facts(session: Session, sales: pd.DataFrame) -> int:
    """How many rows of ``sales`` exist in the fact table with a different value in a column ``sales`` carries.

    Reads the stored facts of the import's date range on the session's own connection (inside the import's
    transaction) and compares them in pandas; NULL equals NULL. Columns the import does not carry are not
    written by the upsert, so they are not compared.
    """
    t = schema.Sale.__table__
    values = [c.name for c in t.columns if c.name in sales.columns and not c.primary_key]
    if sales.empty or not values:
        return 0
    dates = pd.to_datetime(sales["date"])
    stmt = select(*[t.c[c] for c in _KEYS + values]).where(t.c.date.between(dates.min().date(), dates.max().date()))
    stores = sales["store_id"].unique()
    if len(stores) <= _MAX_IN:  # a file of a few stores on top of many: read only those stores' facts
        stmt = stmt.where(t.c.store_id.in_([str(x) for x in stores]))
    old = frame_from(session.connection(), stmt)
    if old.empty:
        return 0
    old["date"] = pd.to_datetime(old["date"])
    new = sales[_KEYS + values].assign(date=dates)
    both = new.merge(old, on=_KEYS, how="inner", suffixes=("", "__old"))
    changed = pd.Series(False, index=both.index)
    for c in values:
        a, b = pd.to_numeric(both[c], errors="coerce"), pd.to_numeric(both[c + "__old"], errors="coerce")
        changed |= ~((a == b) | (a.isna() & b.isna()))
    return int(changed.sum())
