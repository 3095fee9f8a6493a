"""``cli.py ingest orders FILE --map ...``: an order-line export (CSV, CSV.gz, Parquet or a workbook sheet) read,
mapped and handed to :func:`data.orders.load_order_lines`, which validates, matches the returns and writes."""
from __future__ import annotations

from pathlib import Path

from data.ingest_csv import parse_mapping
from data.order_lines import ORDER_FIELDS, ORDER_REQUIRED
from data.orders import load_order_lines
from data.tabular import read_any


def ingest_orders(path, mapping, *, sheet: str | None = None, returns_prefix: str | None = None,
                  timezone: str | None = None, dayfirst: bool = False, dataset_name: str | None = None,
                  dry_run: bool = False, url: str | None = None) -> dict:
    """Import an order-line file with a ``field=COLUMN`` mapping of :data:`data.order_lines.ORDER_FIELDS`.

    Returns the summary of :func:`data.orders.load_order_lines`; raises :class:`data.ingest_common.IngestError`
    naming the file, line and column of the first bad value (nothing is written then).
    """
    m = parse_mapping(mapping, allowed=ORDER_FIELDS, required=ORDER_REQUIRED)
    if returns_prefix is not None and not str(returns_prefix).strip():
        returns_prefix = None
    df, is_csv = read_any(path, sheet)
    p = Path(path)
    name = dataset_name or p.name.removesuffix(".gz").rsplit(".", 1)[0]
    summary = load_order_lines(df, mapping=m, source=str(p), dataset_name=name, returns_prefix=returns_prefix,
                               timezone=timezone, dayfirst=dayfirst, dry_run=dry_run, url=url, is_csv=is_csv,
                               options={"sheet": sheet} if sheet else None,
                               warnings=list(df.attrs.get("warnings", [])))
    if sheet:
        summary["sheet"] = sheet
    return summary
