"""Reads behind the REST API (/api/v1): node lookup and search, a run's forecast dates, and the batch forecast stream.

Portable SQLAlchemy Core with bound parameters (SQLite and PostgreSQL alike); the batch reader streams rows in
chunks so a response over every node of a large hierarchy never holds the whole result as Python objects.
"""
from __future__ import annotations

from typing import Iterator

import pandas as pd
from sqlalchemy import and_, case, func, select

from data import schema
from data.engine import get_engine, has_table, read_frame
from domain import FORECAST_COLS

_NODES = schema.Node.__table__
_FORECASTS = schema.Forecast.__table__
_LEVEL_ORDER = {"total": 0, "region": 1, "store": 2, "category": 3, "product": 4, "store_category": 5}
NODE_COLS = ["node_id", "level", "label", "region", "store_id", "category", "product_id"]
IN_CHUNK = 500  # keys per IN (...) list: well under every back end's bound-parameter limit


def node_row(key: str, url: str | None = None) -> dict | None:
    """The hierarchy node ``key`` (``node_id, level, label, region, store_id, category, product_id``) or None."""
    if not has_table("nodes", url):
        return None
    n = _NODES.c
    with get_engine(url).connect() as conn:
        row = conn.execute(select(*[n[c] for c in NODE_COLS]).where(n.node_id == key)).mappings().first()
    return dict(row) if row else None


def find_nodes(level: str | None = None, query: str | None = None, limit: int = 100, offset: int = 0,
               url: str | None = None) -> tuple[pd.DataFrame, int]:
    """Nodes of ``level`` (any when None) whose key or label contains ``query`` (case-insensitive), upper levels
    first, one page of ``limit`` rows from ``offset``; and the total number of matches."""
    if not has_table("nodes", url):
        return pd.DataFrame(columns=NODE_COLS), 0
    n = _NODES.c
    cond = []
    if level:
        cond.append(n.level == level)
    if query and query.strip():
        q = f"%{query.strip().lower()}%"
        cond.append(func.lower(n.node_id).like(q) | func.lower(n.label).like(q))
    where = and_(True, *cond)
    stmt = (select(*[n[c] for c in NODE_COLS]).where(where)
            .order_by(case(_LEVEL_ORDER, value=n.level, else_=6), n.node_id).limit(int(limit)).offset(int(offset)))
    with get_engine(url).connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(_NODES).where(where)).scalar_one())
    return read_frame(stmt, url), total


def missing_nodes(keys: list[str], url: str | None = None) -> list[str]:
    """The keys of ``keys`` that are not hierarchy nodes, in the given order."""
    if not has_table("nodes", url):
        return list(keys)
    found: set[str] = set()
    n = _NODES.c
    with get_engine(url).connect() as conn:
        for i in range(0, len(keys), IN_CHUNK):
            found.update(conn.execute(select(n.node_id).where(n.node_id.in_(keys[i:i + IN_CHUNK]))).scalars())
    return [k for k in keys if k not in found]


def level_keys(level: str, url: str | None = None) -> list[str]:
    """Every node key of ``level``, sorted."""
    n = _NODES.c
    return read_frame(select(n.node_id).where(n.level == level).order_by(n.node_id), url)["node_id"].tolist()


def forecast_dates(run_id: str, model: str = "final", url: str | None = None) -> list[pd.Timestamp]:
    """The forecast dates of ``run_id`` (the horizon, in order), read from its ``total`` node when it has one."""
    f = _FORECASTS.c
    stmt = select(f.ds).where(f.run_id == run_id, f.model == model, f.series_id == "total").order_by(f.ds)
    dates = read_frame(stmt, url, parse_dates=["ds"])["ds"]
    if dates.empty:
        dates = read_frame(select(f.ds).where(f.run_id == run_id, f.model == model).distinct().order_by(f.ds),
                           url, parse_dates=["ds"])["ds"]
    return list(dates)


def stream_forecasts(run_id: str, keys: list[str], model: str = "final", start=None, end=None,
                     url: str | None = None, chunk: int = IN_CHUNK) -> Iterator[pd.DataFrame]:
    """The forecasts (:data:`domain.FORECAST_COLS`) of ``keys`` from ``run_id``, between the dates ``start`` and
    ``end`` (both included, None = open), one frame per chunk of keys, in the order of ``keys``."""
    f = _FORECASTS.c
    cols = [f[c] for c in FORECAST_COLS]
    with get_engine(url).connect() as conn:
        for i in range(0, len(keys), chunk):
            part = keys[i:i + chunk]
            stmt = select(*cols).where(f.run_id == run_id, f.model == model, f.series_id.in_(part))
            if start is not None:
                stmt = stmt.where(f.ds >= pd.Timestamp(start).date())
            if end is not None:
                stmt = stmt.where(f.ds <= pd.Timestamp(end).date())
            rows = conn.execute(stmt.order_by(f.series_id, f.ds)).fetchall()
            frame = pd.DataFrame([tuple(r) for r in rows], columns=FORECAST_COLS)
            if len(frame):
                order = {k: j for j, k in enumerate(part)}
                frame = frame.sort_values("series_id", key=lambda s: s.map(order), kind="stable")
            yield frame
