"""``cli.py ingest orders FILE --map ...``: an order-line export (CSV, CSV.gz, Parquet or a workbook sheet) read,
mapped and handed to :func:`data.orders.load_order_lines`, which validates, matches the returns and writes."""
from __future__ import annotations

from pathlib import Path

from data.column_mapping import normalise
from data.ingest_csv import parse_mapping
from data.order_lines import ORDER_FIELDS, ORDER_REQUIRED
from data.orders import load_order_lines
from data.tabular import read_any


# Normalised column names (column_mapping.normalise) each order-line field is guessed from, in order.
ORDER_SYNONYMS = {
    "date": ("invoicedate", "orderdate", "date", "createdat", "timestamp", "datetime", "time", "orderedat"),
    "order": ("invoiceno", "invoice", "orderid", "order", "ordernumber", "orderno", "transactionid", "receipt"),
    "customer": ("customerid", "customer", "clientid", "client", "userid", "buyer", "email", "customeremail"),
    "product": ("stockcode", "productid", "product", "sku", "itemid", "item", "article", "lineitemsku"),
    "quantity": ("quantity", "qty", "units", "lineitemquantity", "amount"),
    "price": ("unitprice", "price", "lineitemprice", "itemprice"),
    "sales": ("revenue", "linetotal", "total", "sales", "netsales", "value"),
    "discount": ("discount", "discountamount", "lineitemdiscount", "discountrate", "rebate"),
    "store": ("store", "storeid", "shop", "branch", "location", "channel"),
    "category": ("category", "productcategory", "department", "dept"),
    "region": ("region", "country", "state"),
}


def guess_order_mapping(columns) -> dict[str, str]:
    """``{field: column}`` for an order-line file from its column names (a column is used for one field)."""
    norm = {normalise(c): c for c in columns}
    out, used = {}, set()
    for field, names in ORDER_SYNONYMS.items():
        col = next((norm[n] for n in names if n in norm and norm[n] not in used), None)
        if col is not None:
            out[field] = col
            used.add(col)
    return out


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
