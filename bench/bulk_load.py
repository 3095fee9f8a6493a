"""Bulk-load benchmark: rows per second of ``store.bulk_insert`` into the fact table on SQLite and PostgreSQL.

    python bench/bulk_load.py [--rows 1000000] [--pg-url URL] [--insert-rows 100000] [--upsert-rows 200000]
                              [--json]

Writes ``--rows`` synthetic sales rows (store x product x date, the demo's columns) into an empty ``sales`` table
in one transaction: on SQLite through the driver's ``executemany`` fast path, on PostgreSQL through ``COPY``
(psycopg 3). For comparison it also times the portable path on PostgreSQL (SQLAlchemy Core ``INSERT`` with
executemany) on ``--insert-rows`` rows, and an upsert of ``--upsert-rows`` stored rows with changed values (a
re-import: SQLite's executemany ``ON CONFLICT``, PostgreSQL's ``COPY`` into a temporary table). PostgreSQL
comes from ``--pg-url``, else ``SALES_TEST_PG_URL``, else a throwaway local cluster (tests/pg_cluster.py;
needs Debian's ``postgresql`` package). Prints one JSON object
``{"rows", "sqlite_rows_per_s", "pg_copy_rows_per_s", "pg_insert_rows_per_s", "sqlite_upsert_rows_per_s",
"pg_copy_upsert_rows_per_s", ...}`` with ``--json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import schema, store, writers  # noqa: E402
from tests import pg_cluster  # noqa: E402


def frames(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stores, products and ``rows`` sales rows (about 1,000 days per series)."""
    days = 1000
    n_series = max(1, rows // days)
    n_stores = max(1, int(np.sqrt(n_series / 4)))
    n_products = -(-n_series // n_stores)
    stores = pd.DataFrame({"store_id": [f"S{i:03d}" for i in range(n_stores)], "name": "s", "region": "R"})
    products = pd.DataFrame({"product_id": [f"P{i:04d}" for i in range(n_products)], "name": "p", "category": "C"})
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2020-01-01", periods=days)
    pairs = [(s, p) for s in stores["store_id"] for p in products["product_id"]][:n_series]
    n = len(pairs) * days
    sales = pd.DataFrame({
        "store_id": np.repeat([s for s, _ in pairs], days), "product_id": np.repeat([p for _, p in pairs], days),
        "date": np.tile(dates.to_numpy(), len(pairs)), "sales": rng.gamma(2.0, 20.0, n).round(2),
        "units": rng.gamma(2.0, 5.0, n).round(1), "promo": (rng.random(n) < 0.15).astype(int),
        "promo_intensity": np.where(rng.random(n) < 0.15, 0.2, np.nan), "price": 4.99, "is_open": 1,
    }).iloc[:rows]
    return stores, products, sales


def timed_load(url: str, data, portable: bool = False) -> float:
    """Seconds to write the sales rows (dimensions first, not timed) in one committed transaction."""
    stores, products, sales = data
    store.init_db(url)
    with store.session_scope(url=url) as session:
        store.clear_facts(session)
        store.bulk_insert(session, schema.StoreDim, stores)
        store.bulk_insert(session, schema.ProductDim, products)
    t0 = time.perf_counter()
    with store.session_scope(url=url) as session:
        if portable:
            saved = writers.copy_path
            writers.copy_path = lambda _s: False  # the Core INSERT path, for comparison
            try:
                store.bulk_insert(session, schema.Sale, sales)
            finally:
                writers.copy_path = saved
        else:
            store.bulk_insert(session, schema.Sale, sales)
    seconds = time.perf_counter() - t0
    assert store.counts(url=url)["rows"] == len(sales)
    return seconds


def timed_upsert(url: str, sales: pd.DataFrame) -> float:
    """Seconds to upsert ``sales`` (changed values, every key already stored: a re-import) in one transaction."""
    t0 = time.perf_counter()
    with store.session_scope(url=url) as session:
        store.upsert_frame(session, schema.Sale, sales.assign(sales=sales["sales"] + 1))
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--insert-rows", type=int, default=100_000)
    ap.add_argument("--upsert-rows", type=int, default=200_000)
    ap.add_argument("--pg-url", default=os.environ.get(pg_cluster.ENV))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    data = frames(args.rows)
    out = {"rows": len(data[2])}
    with tempfile.TemporaryDirectory() as tmp:
        sec = timed_load(f"sqlite:///{tmp}/bulk.db", data)
        out.update(sqlite_s=round(sec, 2), sqlite_rows_per_s=round(len(data[2]) / sec))
        part = data[2].iloc[:args.upsert_rows]
        sec = timed_upsert(f"sqlite:///{tmp}/bulk.db", part)
        out.update(upsert_rows=len(part), sqlite_upsert_rows_per_s=round(len(part) / sec))
    server, why = (pg_cluster.PgServer(args.pg_url), "") if args.pg_url else pg_cluster.pg_server()
    if server is None:
        out["pg_skipped"] = why
    else:
        try:
            url = server.create_database(prefix="sales_bench")
            sec = timed_load(url, data)
            out.update(pg_copy_s=round(sec, 2), pg_copy_rows_per_s=round(len(data[2]) / sec))
            sec = timed_upsert(url, data[2].iloc[:args.upsert_rows])
            out.update(pg_copy_upsert_rows_per_s=round(min(args.upsert_rows, len(data[2])) / sec))
            small = frames(args.insert_rows)
            sec = timed_load(url, small, portable=True)
            out.update(pg_insert_rows=len(small[2]), pg_insert_s=round(sec, 2),
                       pg_insert_rows_per_s=round(len(small[2]) / sec))
            store.get_engine(url).dispose()
            server.drop_database(url)
        finally:
            server.stop()
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
