"""`ingest orders`: order-line exports (CSV, Parquet or a workbook sheet), and the `--sheet` option of every import.

The parser lives here so that cli.py's ingest block only calls :func:`add_orders_parser`; the handler imports the
importer when the command runs.
"""
from __future__ import annotations

import json
import time

ORDERS_MAP_HELP = ("field=COLUMN pairs: date, order, product, quantity (required), price or sales (revenue = sales, "
                   "else quantity x price less the discount), and any of customer, discount (a rate 0..1 or an amount: "
                   "detected), store, category, region; e.g. date=InvoiceDate,order=InvoiceNo,customer=CustomerID,"
                   "product=StockCode,quantity=Quantity,price=UnitPrice")


def add_sheet_option(parser) -> None:
    """``--sheet NAME``: which sheet of a workbook (.xlsx, .xls, .ods) to read."""
    parser.add_argument("--sheet", default=None, help="the sheet of a workbook (.xlsx, .xls, .ods) to read "
                        "(default: the first)")


def add_orders_parser(isub, common) -> None:
    """``ingest orders FILE --map ... [--returns-prefix C] [--timezone TZ] [--sheet NAME] [--dry-run] [--json]``."""
    o = isub.add_parser("orders", parents=[common], help="order lines (one row per product in an order): summed "
                        "into the daily facts, kept for customer analytics; CSV, CSV.gz, Parquet, .xlsx, .xls, .ods")
    o.add_argument("path")
    o.add_argument("--map", required=True, help=ORDERS_MAP_HELP)
    o.add_argument("--returns-prefix", default=None, metavar="C",
                   help="order ids starting with it are cancellations or returns (negative quantities always are)")
    o.add_argument("--timezone", default=None, metavar="TZ", help="IANA time zone (e.g. Europe/Berlin): times "
                   "with an offset are converted to it before lines are summed by calendar date")
    o.add_argument("--dayfirst", action="store_true", help="dates are day-first (31/12/2020 13:45)")
    o.add_argument("--name", default=None, help="dataset name (default: the file name)")
    add_sheet_option(o)
    o.add_argument("--dry-run", action="store_true", help="validate and summarise without writing")
    o.set_defaults(func=cmd_ingest_orders)


def cmd_ingest_orders(args) -> int:
    """Import the order lines; print the summary (or JSON); record the import in the audit log."""
    from data import ingest_orders, orders
    t0 = time.perf_counter()
    summary = ingest_orders.ingest_orders(args.path, args.map, sheet=args.sheet, returns_prefix=args.returns_prefix,
                                          timezone=args.timezone, dayfirst=args.dayfirst, dataset_name=args.name,
                                          dry_run=args.dry_run)
    if not args.dry_run and not summary.get("already_imported"):
        from auth import commands as auth_commands
        auth_commands.record("import.orders", {"path": str(args.path), "lines": summary.get("order_lines")})
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(orders.format_order_summary(summary))
    return 0
