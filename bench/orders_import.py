"""Order-line import benchmark: lines per second of ``cli.py ingest orders`` on a generated export (CSV and .xlsx).

    python bench/orders_import.py [--lines 100000] [--xlsx] [--json]

Generates ``--lines`` order lines shaped like a shop export (invoice number, stock code, quantity, timestamp, unit
price, customer id, discount; about 3% returns with a ``C`` prefix, of which most undo an earlier sale of the
same customer), writes them as CSV (and with ``--xlsx`` as a workbook through data/xlsx.py), and times the whole
import into a new SQLite database: reading, validation, returns matching, the facts, the order lines and the
aggregates, in one transaction. Prints the summary's counts and the seconds; ``--json`` prints one object.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import ingest_orders, store, xlsx  # noqa: E402

MAP = ("date=InvoiceDate,order=InvoiceNo,customer=CustomerID,product=StockCode,quantity=Quantity,price=UnitPrice,"
       "discount=Discount,store=Shop")


def order_lines(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` order lines over a year: 4 shops, 500 products, 5,000 customers, 1-6 lines per order, ~3% returns."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, size=n)
    orders = np.repeat(np.arange(len(sizes)), sizes)[:n]
    n_orders = int(orders.max()) + 1
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 365 * 86400, n_orders)), unit="s")
    customer = rng.integers(10000, 15000, n_orders)
    shop = rng.integers(1, 5, n_orders)
    product = rng.integers(0, 500, n)
    df = pd.DataFrame({"InvoiceNo": (500000 + orders).astype(str), "StockCode": [f"SKU{p:04d}" for p in product],
                       "Quantity": rng.integers(1, 12, n), "InvoiceDate": when[orders].strftime("%Y-%m-%d %H:%M:%S"),
                       "UnitPrice": np.round(1.0 + product % 50 * 0.37, 2), "CustomerID": customer[orders].astype(str),
                       "Discount": np.where(rng.random(n) < 0.1, 0.2, 0.0), "Shop": shop[orders].astype(str)})
    ret = rng.random(n) < 0.03  # a return of part of the line, a few days later, under a C-prefixed invoice
    back = df[ret].copy()
    back["InvoiceNo"] = "C" + back["InvoiceNo"]
    back["Quantity"] = -np.minimum(back["Quantity"], rng.integers(1, 4, len(back)))
    back["InvoiceDate"] = (pd.to_datetime(back["InvoiceDate"]) + pd.Timedelta(days=2)).dt.strftime("%Y-%m-%d %H:%M:%S")
    return pd.concat([df.iloc[: n - len(back)], back.iloc[: n]], ignore_index=True).iloc[:n]


def timed_import(path: Path, db: Path) -> dict:
    t0 = time.perf_counter()
    summary = ingest_orders.ingest_orders(path, MAP, returns_prefix="C", url=f"sqlite:///{db}")
    seconds = time.perf_counter() - t0
    store.get_engine(f"sqlite:///{db}").dispose()
    return {"seconds": round(seconds, 2), "lines_per_s": round(summary["order_lines"] / seconds),
            "order_lines": summary["order_lines"], "facts": summary["rows_written"], "returns": summary["returns"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--xlsx", action="store_true", help="also time the same lines as an .xlsx workbook")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    lines = order_lines(args.lines)
    out = {"lines": len(lines)}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "orders.csv"
        lines.to_csv(csv, index=False)
        out["csv"] = timed_import(csv, Path(tmp) / "csv.db")
        if args.xlsx:
            book = Path(tmp) / "orders.xlsx"
            book.write_bytes(xlsx.to_xlsx(lines, "Orders"))
            out["xlsx"] = timed_import(book, Path(tmp) / "xlsx.db")
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
