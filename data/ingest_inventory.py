"""`cli.py ingest inventory FILE --map store=COL,product=COL,on_hand=COL,...`: inventory inputs from a CSV, CSV.gz
or Parquet file, validated like every import, written all-or-nothing.

One line per store x product (``*`` at either id = a default for every store or product, see
:mod:`data.inventory`) with any of the fields of :data:`domain.INVENTORY_IMPORT_FIELDS`. Open orders ride in the
same file: a line with ``on_order_qty`` and ``arrival_date`` is one order; for every store x product the file
names, its stored open orders are replaced by the file's (lines with the same arrival date add up), so the file
is the current order book of the series it lists. A blank cell leaves the stored value as it is; several lines
of one series must agree on each input. The first bad value stops the import with a one-line message
``FILE: line N, column 'C': ...`` and nothing is written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from data import guards, inventory, schema
from data.engine import db_exists, frame_from, init_db, read_frame, resolve_url, session_scope
from data.ingest_common import IngestError, bad_rows_error, where
from data.tabular import read_any
from data.ingest_csv import _dates, _ids, _numbers, parse_mapping
from domain import ALL, INVENTORY_IMPORT_FIELDS, INVENTORY_PARAM_FIELDS

DURATIONS = ("lead_time_days", "lead_time_sd_days", "review_period_days", "shelf_life_days")
UNITS = {"days": 1.0, "weeks": 7.0}


@dataclass
class InventoryImport:
    """The validated rows one inventory import writes, and what its summary reports."""
    source: str
    params: pd.DataFrame            # store_id, product_id + the mapped fields (NaN = leave as stored)
    orders: pd.DataFrame | None     # store_id, product_id, arrival_date, quantity (None: orders not mapped)
    order_series: pd.DataFrame      # store_id, product_id whose open orders the file replaces
    rows_read: int = 0
    fields: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def _known(url, table, col) -> set[str]:
    return set(read_frame(select(getattr(table, col)), url)[col].astype(str))


def _check_known(ids: pd.Series, known: set[str], path, is_csv, col, what, allow_all=True) -> None:
    bad = ~ids.isin(known | ({ALL} if allow_all else set()))
    if bad.any():
        problem = f"unknown {what} (not in the sales data; import its sales first" + \
            (", or write * for every " + what + ")" if allow_all else ")")
        raise bad_rows_error(path, is_csv, bad, col, problem, ids)


def _parse(df, m, path, is_csv, unit, url) -> pd.DataFrame:
    """Every mapped column parsed and checked against :data:`data.inventory.RULES` (durations turned into days)."""
    out = pd.DataFrame(index=df.index)
    out["store_id"] = _ids(df, m["store"], path, is_csv, "store")
    out["product_id"] = _ids(df, m["product"], path, is_csv, "product")
    _check_known(out["store_id"], _known(url, schema.StoreDim, "store_id"), path, is_csv, m["store"], "store")
    _check_known(out["product_id"], _known(url, schema.ProductDim, "product_id"), path, is_csv, m["product"],
                 "product")
    for fld, target in INVENTORY_IMPORT_FIELDS.items():
        if fld not in m or fld in ("store", "product", "arrival_date"):
            continue
        values = _numbers(df, m[fld], path, is_csv)
        bad = inventory.violations(target, values)
        if bad.any():
            raise bad_rows_error(path, is_csv, bad, m[fld], inventory.rule_text(target), df[m[fld]])
        out[target] = values * UNITS[unit] if target in DURATIONS else values
    return out


def _orders(df, out, m, path, is_csv, dayfirst) -> pd.DataFrame:
    """The lines that carry an order: quantity and arrival date both given, at a real store and product."""
    qty, raw_date = out["quantity"], df[m["arrival_date"]]
    has_date = raw_date.notna() & (raw_date.astype("string").str.strip() != "")
    for mask, col, problem in ((qty.notna() & ~has_date, m["arrival_date"], "an on-order quantity needs its "
                                "arrival date"),
                               (has_date & qty.isna(), m["on_order_qty"], "an arrival date needs its on-order "
                                "quantity")):
        if mask.any():
            raise bad_rows_error(path, is_csv, mask, col, problem, df[col])
    lines = qty.notna()
    for key, what in (("store_id", "store"), ("product_id", "product")):
        star = lines & (out[key] == ALL)
        if star.any():
            raise bad_rows_error(path, is_csv, star, m[what], f"an open order belongs to one {what}, not *",
                                 df[m[what]])
    if not lines.any():
        return pd.DataFrame(columns=inventory.ORDER_COLS)
    dates = _dates(df.loc[lines], m["arrival_date"], path, is_csv, dayfirst)
    orders = out.loc[lines, ["store_id", "product_id", "quantity"]].assign(arrival_date=dates)
    return orders.groupby(["store_id", "product_id", "arrival_date"], as_index=False)["quantity"].sum()


def _one_per_series(out: pd.DataFrame, fields: list[str], m_by_target: dict, path, is_csv) -> pd.DataFrame:
    """One row per store x product: each input's single value over the series' lines (NaN when none gives it)."""
    keys = inventory.KEYS
    for f in fields:
        given = out.dropna(subset=[f])
        pairs = given.drop_duplicates(keys + [f])
        clash = pairs.duplicated(keys, keep=False)
        if clash.any():
            first = pairs[clash].iloc[0]
            same = pairs[clash & (pairs["store_id"] == first["store_id"]) & (pairs["product_id"] == first["product_id"])]
            a, b = same.index[0], same.index[1]
            raise IngestError(f"{where(path, is_csv, b, m_by_target[f])}: store {first['store_id']!r}, product "
                              f"{first['product_id']!r} has two values {same.loc[a, f]:g} "
                              f"({where(path, is_csv, a).split(': ')[-1]}) and {same.loc[b, f]:g}; it must have one")
    if not fields:
        return out[keys].drop_duplicates().reset_index(drop=True)
    return out.groupby(keys, as_index=False, sort=True)[fields].first()


def prepare(path, mapping, unit: str = "days", dayfirst: bool = False, url: str | None = None,
            sheet: str | None = None) -> InventoryImport:
    """Read, parse and validate an inventory file against the stores and products of the database at ``url``.

    Reads the database only (nothing is created); raises :class:`IngestError` naming the file, line and column.
    """
    allowed = tuple(INVENTORY_IMPORT_FIELDS)
    m = parse_mapping(mapping, allowed=allowed, required=("store", "product"))
    if ("on_order_qty" in m) != ("arrival_date" in m):
        raise IngestError("--map: on_order_qty and arrival_date go together (one open order per line)")
    if len(m) == 2:
        raise IngestError(f"--map: map at least one input besides store and product; fields: {', '.join(allowed[2:])}")
    if unit not in UNITS:
        raise IngestError(f"--unit: {unit!r} is not days or weeks")
    if not db_exists(url):
        raise IngestError(f"no sales data in {resolve_url(url)}: import the sales first (python cli.py ingest csv "
                          "...), then their inventory inputs")
    df, is_csv = read_any(path, sheet)
    path = Path(path)
    missing = [c for c in m.values() if c not in df.columns]
    if missing:
        fld = next(k for k, v in m.items() if v == missing[0])
        raise IngestError(f"{path}: line 1 (header), column {missing[0]!r}: mapped column not found (--map "
                          f"{fld}={missing[0]}); the file has columns {list(df.columns)}")
    df = df[~df.isna().all(axis=1)]
    out = _parse(df, m, path, is_csv, unit, url)
    orders, order_series = None, pd.DataFrame(columns=inventory.KEYS)
    if "on_order_qty" in m:
        orders = _orders(df, out, m, path, is_csv, dayfirst)
        real = out[(out["store_id"] != ALL) & (out["product_id"] != ALL)]
        order_series = real[inventory.KEYS].drop_duplicates().reset_index(drop=True)
    fields = [f for f in INVENTORY_PARAM_FIELDS if f in out.columns]
    m_by_target = {INVENTORY_IMPORT_FIELDS[k]: v for k, v in m.items()}
    params = _one_per_series(out, fields, m_by_target, path, is_csv) if fields else pd.DataFrame(columns=inventory.KEYS)
    if fields:
        params = params.dropna(subset=fields, how="all").reset_index(drop=True)
    return InventoryImport(source=str(path.resolve()), params=params, orders=orders, order_series=order_series,
                           rows_read=int(len(df)), fields=fields, warnings=list(df.attrs.get("warnings", [])))


def summary_of(prep: InventoryImport) -> dict:
    p = prep.params
    grains = {"series": int(((p["store_id"] != ALL) & (p["product_id"] != ALL)).sum()),
              "store_defaults": int(((p["store_id"] != ALL) & (p["product_id"] == ALL)).sum()),
              "product_defaults": int(((p["store_id"] == ALL) & (p["product_id"] != ALL)).sum()),
              "all_default": int(((p["store_id"] == ALL) & (p["product_id"] == ALL)).sum())}
    orders = prep.orders
    return {"source": prep.source, "rows_read": prep.rows_read, "fields": list(prep.fields),
            "param_rows": int(len(p)), "grains": grains,
            "orders": int(len(orders)) if orders is not None else 0,
            "order_units": float(orders["quantity"].sum()) if orders is not None and len(orders) else 0.0,
            "order_series_replaced": int(len(prep.order_series)), "warnings": list(prep.warnings)}


def commit(prep: InventoryImport, url: str | None = None, dry_run: bool = False) -> dict:
    """Write the prepared inputs in one transaction (unless ``dry_run``); blank inputs keep the stored values."""
    summary = summary_of(prep)
    summary.update(dry_run=bool(dry_run), rows_written=0, database=resolve_url(url))
    if dry_run:
        summary["message"] = (f"dry run: validated, nothing written ({summary['param_rows']:,} input rows and "
                              f"{summary['orders']:,} open orders would be written)")
        return summary
    init_db(url)
    with session_scope(url=url) as session:
        try:
            guards.lock_for_import(session)
        except guards.WriteLockTimeout as exc:
            raise IngestError(str(exc)) from None
        params = _keep_stored(session, prep.params, prep.fields)
        written = inventory.write_params(session, params)
        if prep.orders is not None:
            written += inventory.replace_orders(session, prep.order_series, prep.orders)
    summary["rows_written"] = int(written)
    summary["message"] = "imported"
    return summary


def _keep_stored(session, params: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """``params`` with its blank inputs filled from the stored rows (a blank cell never clears a value)."""
    if params.empty or not fields:
        return params
    t = inventory.PARAMS
    stored = frame_from(session.connection(), select(*[t.c[c] for c in inventory.KEYS + fields]))
    if stored.empty:
        return params
    merged = params.merge(stored, on=inventory.KEYS, how="left", suffixes=("", "__old"))
    for f in fields:
        merged[f] = merged[f].where(merged[f].notna(), pd.to_numeric(merged[f + "__old"]).astype(float))
    return merged[params.columns]


def ingest_inventory(path, mapping, unit: str = "days", dayfirst: bool = False, dry_run: bool = False,
                     url: str | None = None, sheet: str | None = None) -> dict:
    """Validate and import an inventory inputs file; see the module docstring."""
    return commit(prepare(path, mapping, unit=unit, dayfirst=dayfirst, url=url, sheet=sheet), url=url,
                  dry_run=dry_run)


def format_summary(s: dict) -> str:
    """The import summary as a few lines."""
    head = "DRY RUN - nothing written. " if s.get("dry_run") else ""
    g = s["grains"]
    lines = [f"{head}Inventory inputs from {s['source']}",
             f"  lines read      {s['rows_read']:>10,}",
             f"  input rows      {s['param_rows']:>10,}   ({g['series']:,} store x product, {g['store_defaults']:,} "
             f"store defaults, {g['product_defaults']:,} product defaults, {g['all_default']:,} for all)",
             f"  fields          {', '.join(s['fields']) or '-'}",
             f"  open orders     {s['orders']:>10,}   ({s['order_units']:,.0f} units; order book replaced for "
             f"{s['order_series_replaced']:,} series)",
             f"  rows written    {s['rows_written']:>10,}"]
    lines += [f"  warning: {w}" for w in s.get("warnings") or ()]
    if "seconds" in s:
        lines.append(f"  took {s['seconds']} s")
    return "\n".join(lines)


__all__ = ["InventoryImport", "commit", "format_summary", "ingest_inventory", "prepare", "summary_of"]
