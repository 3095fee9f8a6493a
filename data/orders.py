"""Order lines into the store: validated, returns matched, summed into the store x product x day facts.

:func:`load_order_lines` is the one path for order lines, from a file (``cli.py ingest orders``, the Data page
upload, :mod:`data.ingest_orders`) or from a frame built in code (the demo's order lines): it validates every
line (:mod:`data.order_lines`), finds and matches the returns (:mod:`data.order_returns`), recomputes the facts of
the products it touches from all their stored order lines plus the new ones, and writes the facts, dimensions,
order lines and import log in one transaction through :func:`data.ingest.commit` (so the guarantees of every
import hold: validation first, database unchanged on an error, re-importing the same lines changes nothing).

A fact is: ``sales`` = net revenue, ``units`` = net quantity, ``promo`` = 1 when a line had a discount,
``promo_intensity`` = the discount depth weighted by the lines' list value, ``price`` = sales / units.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
from sqlalchemy import select

from data import schema, store
from data.engine import frame_from, has_table, read_frame
from data.ingest import commit, format_summary
from data.ingest_common import IngestError, Prepared
from data.ingest_csv import _consistent
from data.order_lines import ORDER_FIELDS, check_mapping, parse_lines, table_mapping, time_zone
from data.order_returns import mark_returns, match_returns, net_of_returns, report
from domain import DEFAULT_MEMBER

LINE_COLUMNS = ["order_id", "line", "customer", "date", "ts", "product", "store", "quantity", "revenue", "discount",
                "is_return", "matched_order", "matched_line", "dataset"]
__all__ = ["ORDER_FIELDS", "LINE_COLUMNS", "load_order_lines", "read_order_lines", "format_order_summary"]


def _content_hash(lines: pd.DataFrame, options: dict) -> str:
    h = hashlib.sha256(pd.util.hash_pandas_object(lines, index=False).to_numpy().tobytes())
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _stored_lines(url: str | None, products) -> pd.DataFrame:
    """The stored order lines of ``products`` (empty when the database or the table does not exist yet)."""
    if not store.db_exists(url) or not has_table("order_lines", url):
        return pd.DataFrame(columns=LINE_COLUMNS)
    t = schema.OrderLine.__table__
    products = [str(p) for p in products]
    parts = []
    for start in range(0, len(products), 500):
        stmt = select(*[t.c[c] for c in LINE_COLUMNS]).where(t.c.product.in_(products[start:start + 500]))
        with store.get_engine(url).connect() as conn:
            parts.append(frame_from(conn, stmt))
    old = pd.concat(parts, ignore_index=True)
    old["date"] = pd.to_datetime(old["date"])
    old["ts"] = pd.to_datetime(old["ts"]).fillna(old["date"])
    old["matched_order_stored"], old["matched_line_stored"] = old["matched_order"], old["matched_line"]
    return old


def _facts(sale_lines: pd.DataFrame, has_discount: bool) -> pd.DataFrame:
    """Sale lines (returns netted) summed per store x product x day."""
    d = sale_lines
    rate = d["discount"].fillna(0.0) if has_discount else pd.Series(0.0, index=d.index)
    gross = d["revenue"] / (1.0 - rate)
    g = pd.DataFrame({"store_id": d["store"], "product_id": d["product"], "date": d["date"],
                      "sales": d["revenue"], "units": d["quantity"], "gross": gross, "off": gross * rate,
                      "promo": ((rate > 0) & (d["quantity"] > 0)).astype(int)})
    f = g.groupby(["store_id", "product_id", "date"], as_index=False, sort=True).agg(
        sales=("sales", "sum"), units=("units", "sum"), gross=("gross", "sum"), off=("off", "sum"),
        promo=("promo", "max"))
    f["promo_intensity"] = (f["off"] / f["gross"].where(f["gross"] > 0)) if has_discount else np.nan
    f["price"] = f["sales"] / f["units"].where(f["units"] > 0)
    f["is_open"] = 1
    return f[["store_id", "product_id", "date", "sales", "units", "promo", "promo_intensity", "price", "is_open"]]


def _dimensions(new: pd.DataFrame, combined: pd.DataFrame, m: dict, path,
                is_csv: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stores and products of the lines, with region and category when mapped (one value each, else an error)."""
    new = new.set_index("src")  # messages name the file's lines
    regions = _consistent(new["store"], new["region"], path, is_csv, "store", m["region"]) if "region" in m else None
    cats = _consistent(new["product"], new["category"], path, is_csv, "product", m["category"]) \
        if "category" in m else None
    store_ids = sorted(combined["store"].unique())
    stores = pd.DataFrame({"store_id": store_ids,
                           "name": ["All stores" if s == DEFAULT_MEMBER else f"Store {s}" for s in store_ids],
                           "region": [regions.get(s, DEFAULT_MEMBER) if regions is not None else DEFAULT_MEMBER
                                      for s in store_ids],
                           "type": None, "size": np.nan, "attrs": None})
    product_ids = sorted(combined["product"].unique())
    products = pd.DataFrame({"product_id": product_ids, "name": [f"Product {p}" for p in product_ids],
                             "category": [cats.get(p, DEFAULT_MEMBER) if cats is not None else DEFAULT_MEMBER
                                          for p in product_ids]})
    return stores, products


def _number_lines(canon: pd.DataFrame, lines: pd.DataFrame, mapping_given: bool, path) -> pd.Series:
    """Each line's position within its order: a ``line`` column of a frame in table names, else file order."""
    if not mapping_given and "line" in lines.columns:
        given = pd.to_numeric(lines.loc[canon.index, "line"], errors="coerce")
        if given.isna().any() or (given % 1 != 0).any():
            raise IngestError(f"{path}: column 'line': every line needs a whole line number")
        dup = pd.DataFrame({"o": canon["order_id"], "l": given}).duplicated()
        if dup.any():
            raise IngestError(f"{path}: column 'line': order {canon.loc[dup[dup].index[0], 'order_id']!r} has "
                              "the same line number twice")
        return given.astype(int)
    return canon.groupby("order_id", sort=False).cumcount() + 1


def _combine(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """Stored lines of the same products, less the ones the new lines replace (same order and line), plus the
    new lines; a 0..n-1 index and a ``new`` flag."""
    if len(old):
        key_new = pd.MultiIndex.from_frame(new[["order_id", "line"]])
        replaced = pd.MultiIndex.from_frame(old[["order_id", "line"]].astype({"line": int})).isin(key_new)
        old = old[~replaced].assign(new=False)
    parts = [p for p in (old, new.assign(new=True)) if len(p)]
    return pd.concat(parts, ignore_index=True)


def load_order_lines(lines: pd.DataFrame, *, dataset_name: str = "orders", dry_run: bool = False,
                     url: str | None = None, mapping: dict[str, str] | None = None, source: str | None = None,
                     returns_prefix: str | None = None, timezone: str | None = None, dayfirst: bool = False,
                     is_csv: bool = True, options: dict | None = None, warnings: list[str] | None = None) -> dict:
    """Validate order lines, sum them into the facts and write facts and lines in one transaction.

    Parameters
    ----------
    lines : DataFrame
        One row per order line. Without ``mapping`` its columns are the order_lines table's names:
        ``order_id, date, product, quantity`` and ``revenue`` (or ``price``), optionally ``customer, store,
        discount, category, region, line``. Its index + 2 is the line number messages name (header = line 1).
    mapping : dict, optional
        ``{field: column}`` with the fields of ``cli.py ingest orders --map`` (:data:`ORDER_FIELDS`).
    returns_prefix : str, optional
        Order ids starting with it are cancellations/returns (negative quantities always are).
    timezone : str, optional
        IANA zone: times with an offset are converted to it before taking the calendar date.
    dry_run : bool
        Validate and summarise, write nothing.
    is_csv : bool
        Messages name lines (``index + 2``: CSV files, workbooks, frames) rather than Parquet rows.

    Returns
    -------
    dict
        The import summary of :func:`data.ingest.commit` plus ``order_lines``, ``orders``, ``customers``,
        ``returns`` (lines, units, revenue, matched, partly_matched, unmatched ...), ``discount_kind``, ``notes``.
    """
    path = source or f"<{dataset_name}>"
    m = dict(mapping) if mapping else table_mapping(lines.columns)
    check_mapping(m, lines.columns, path)
    tz = time_zone(timezone)
    blank = lines.isna().all(axis=1)
    body = lines[~blank]
    if body.empty:
        raise IngestError(f"{path}: no order lines")
    canon, info = parse_lines(body, m, path, is_csv, dayfirst, tz)
    canon["line"] = _number_lines(canon, lines, bool(mapping), path)
    canon = mark_returns(canon.assign(src=canon.index).reset_index(drop=True), returns_prefix).assign(
        dataset=dataset_name)
    opts = {"mapping": m, "returns_prefix": returns_prefix, "timezone": timezone, "dayfirst": bool(dayfirst),
            **(options or {})}
    content = _content_hash(canon[["order_id", "line", "customer", "ts", "product", "store", "quantity",
                                   "revenue", "discount", "category", "region"]], opts)
    combined = _combine(canon, _stored_lines(url, canon["product"].unique()))
    alloc = match_returns(combined, returns_prefix)
    combined, sale_lines, matched_units = net_of_returns(combined, alloc)
    returns = report(combined, (combined["is_return"] == 1) & combined["new"], matched_units)
    stores, products = _dimensions(canon, combined, m, path, is_csv)
    has_discount = "discount" in m or combined["discount"].notna().any()
    facts = _facts(sale_lines, has_discount)
    notes = list(info["notes"])
    if info["discount_kind"]:
        notes.append("discount read as a rate of the list value (every value within 0..1)"
                     if info["discount_kind"] == "rate" else
                     "discount read as an amount of money per line (values above 1)")
    if returns["unmatched"] or returns["partly_matched"]:
        notes.append(f"{returns['unmatched'] + returns['partly_matched']:,} return line(s) without (all of) their "
                     f"sale in the data: {returns['unmatched_units']:g} units, {returns['unmatched_revenue']:,.2f} "
                     "revenue kept in the order lines, not subtracted from any day")
    prep = Prepared(name=dataset_name, source=str(source or f"<{dataset_name}>"), frequency="D",
                    content_hash=content, stores=stores, products=products, sales=facts,
                    rows_read=int(len(lines)), rejected={"blank line": int(blank.sum())} if blank.any() else {},
                    options={**opts, "notes": notes, "returns": returns}, warnings=list(warnings or []),
                    weak_store_attrs="region" not in m, weak_product_attrs="category" not in m)
    changed_lines = combined[combined["new"] | _match_changed(combined)].copy()
    if not (canon["ts"] != canon["date"]).any():  # a file of dates: no time of day to keep
        changed_lines.loc[changed_lines["new"], "ts"] = pd.NaT

    def write_lines(session) -> None:
        store.upsert_frame(session, schema.OrderLine, changed_lines[LINE_COLUMNS])

    summary = commit(prep, url=url, dry_run=dry_run, also_write=write_lines)
    summary.update(order_lines=int(len(canon)), orders=int(canon["order_id"].nunique()),
                   customers=int(canon["customer"].dropna().nunique()) if info["customers"] else None,
                   lines_without_customer=int(canon["customer"].isna().sum()) if info["customers"] else None,
                   returns=returns, discount_kind=info["discount_kind"], timezone=timezone, notes=notes,
                   order_lines_written=0 if (dry_run or summary.get("already_imported")) else int(len(changed_lines)))
    return summary


def _match_changed(combined: pd.DataFrame) -> pd.Series:
    """Stored returns whose match this import changed (a newly imported sale, or a sale that was replaced)."""
    if "matched_order_stored" not in combined:
        return pd.Series(False, index=combined.index)
    before = combined["matched_order_stored"].astype(object).where(combined["matched_order_stored"].notna(), None)
    after = combined["matched_order"].astype(object).where(combined["matched_order"].notna(), None)
    line_before = pd.to_numeric(combined["matched_line_stored"], errors="coerce").astype(float).fillna(-1)
    line_after = pd.to_numeric(combined["matched_line"], errors="coerce").astype(float).fillna(-1)
    return (combined["is_return"] == 1) & ((before != after) | (line_before != line_after))


def read_order_lines(url: str | None = None, customer: str | None = None, start=None, end=None,
                     columns: list[str] | None = None) -> pd.DataFrame:
    """The stored order lines (all, or one customer's, or a date range), dates as datetimes, in date order."""
    cols = columns or LINE_COLUMNS
    if not store.db_exists(url) or not has_table("order_lines", url):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    t = schema.OrderLine.__table__
    stmt = select(*[t.c[c] for c in cols])
    if customer is not None:
        stmt = stmt.where(t.c.customer == str(customer))
    if start is not None:
        stmt = stmt.where(t.c.date >= pd.Timestamp(start).date())
    if end is not None:
        stmt = stmt.where(t.c.date <= pd.Timestamp(end).date())
    stmt = stmt.order_by(t.c.date, t.c.order_id, t.c.line)
    return read_frame(stmt, url, parse_dates=[c for c in ("date", "ts") if c in cols])


def format_order_summary(summary: dict) -> str:
    """The import summary plus the order lines' own counts (orders, customers, returns) as text."""
    lines = [format_summary({k: v for k, v in summary.items() if k != "seconds"})]
    r = summary.get("returns") or {}
    customers = summary.get("customers")
    lines.append(f"  order lines   {summary.get('order_lines', 0):>12,}   orders {summary.get('orders', 0):,}   "
                 f"customers {'off' if customers is None else format(customers, ',')}")
    lines.append(f"  returns       {r.get('lines', 0):>12,}   ({r.get('units', 0):g} units, {r.get('revenue', 0):,.2f} "
                 f"revenue): {r.get('matched', 0):,} matched to their sale, {r.get('partly_matched', 0):,} partly, "
                 f"{r.get('unmatched', 0):,} unmatched")
    for note in summary.get("notes") or ():
        lines.append(f"  note: {note}")
    if "seconds" in summary:
        lines.append(f"  took {summary['seconds']} s")
    return "\n".join(lines)
