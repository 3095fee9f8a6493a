"""Import benchmark: a synthetic daily sales CSV of ``--rows`` rows through `cli.py ingest csv`'s importer, end to end.

    python bench/import_speed.py [--rows 3300000] [--db PATH|URL] [--keep-csv PATH] [--json]

Writes a CSV with the demo's structure (date, store, product, category, region, sales, promo, price, holiday,
temperature; about 1,095 days per store x product, stores x products chosen for ``--rows``), then imports it
into an empty database (a temporary SQLite file unless ``--db`` names one) with ``data.ingest.ingest_csv``:
reading, validation, the facts, the hierarchy's aggregates and the import log, in one transaction. Prints
``{"rows", "series", "seconds", "rows_per_s", "cpu_s", "prepare_s", "commit_s", "csv_mb", "database"}``;
``seconds`` and ``rows_per_s`` are wall time, ``cpu_s`` the process's CPU time (on a shared machine the wall
time also counts the other processes' share of the cores).
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

MAPPING = ("date=date,store=store,product=product,category=category,region=region,sales=sales,promo=promo,"
           "price=price,holiday=holiday,temperature=temperature")
DAYS = 1095


def write_csv(path: Path, rows: int, seed: int = 0) -> int:
    """A demo-shaped CSV of about ``rows`` rows (store x product x day, ``DAYS`` days); returns the row count."""
    n_series = max(1, round(rows / DAYS))
    n_stores = max(1, int(np.sqrt(n_series * 5 / 6)))
    n_products = max(1, round(n_series / n_stores))
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2021-01-01", periods=DAYS, freq="D").strftime("%Y-%m-%d").to_numpy()
    day = np.arange(DAYS)
    holiday = np.where(np.isin(day % 365, [0, 120, 358]), "1", "0")
    with open(path, "w", newline="") as fh:
        fh.write("date,store,product,category,region,sales,promo,price,holiday,temperature\n")
        for s in range(n_stores):  # one store at a time: bounded memory at any size
            temp = np.round(15 + 10 * np.sin(day / 58.0) + s % 4, 1)
            block = pd.DataFrame({
                "date": np.tile(dates, n_products), "store": str(s + 1),
                "product": np.repeat([f"P{p + 1}" for p in range(n_products)], DAYS),
                "category": np.repeat([f"cat{p % 6}" for p in range(n_products)], DAYS),
                "region": f"region{s % 4}",
                "sales": np.round(rng.gamma(2.0, 10.0, n_products * DAYS), 2),
                "promo": (rng.random(n_products * DAYS) < 0.1).astype(int),
                "price": np.round(5 + np.repeat(np.arange(n_products) % 10, DAYS)
                                  + rng.normal(0, 0.1, n_products * DAYS), 2),
                "holiday": np.tile(holiday, n_products), "temperature": np.tile(temp, n_products)})
            block.to_csv(fh, header=False, index=False)
    return n_stores * n_products * DAYS


def run(rows: int, db: str | None = None, keep_csv: str | None = None) -> dict:
    """Write the CSV, import it, and time the two halves (prepare: read and validate; commit: write)."""
    import config
    from data import ingest
    from data import ingest_csv as prepare_mod
    with tempfile.TemporaryDirectory(prefix="import-speed-") as tmp:
        csv = Path(keep_csv) if keep_csv else Path(tmp) / "sales.csv"
        n = write_csv(csv, rows) if not csv.exists() else sum(1 for _ in open(csv)) - 1
        url = config.database_url(db or str(Path(tmp) / "bench.db"))
        os.environ.setdefault("SALES_MAX_UPLOAD_MB", str(int(csv.stat().st_size / 2**20) + 100))
        wall, cpu = time.perf_counter(), time.process_time()
        prep = prepare_mod.prepare(csv, MAPPING)
        prepared = time.perf_counter()
        summary = ingest.commit(prep, url=url)
        end = time.perf_counter()
        return {"rows": n, "series": summary["series"], "seconds": round(end - wall, 1),
                "rows_per_s": round(n / (end - wall)), "cpu_s": round(time.process_time() - cpu, 1),
                "prepare_s": round(prepared - wall, 1), "commit_s": round(end - prepared, 1),
                "csv_mb": round(csv.stat().st_size / 2**20, 1), "database": url.split(":", 1)[0],
                "message": summary["message"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=3_300_000)
    p.add_argument("--db", default=None, help="an empty database to import into (default: a temporary SQLite file)")
    p.add_argument("--keep-csv", default=None, help="write the CSV here (reused when it exists)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = run(args.rows, args.db, args.keep_csv)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['rows']:,} rows ({result['series']:,} series, {result['csv_mb']} MB): {result['seconds']} s, "
              f"{result['rows_per_s']:,} rows/s (read and validate {result['prepare_s']} s, write "
              f"{result['commit_s']} s; CPU {result['cpu_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
