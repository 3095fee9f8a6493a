"""Order lines parsed and validated column by column, from a file's columns (``--map``) or a frame's own names.

:func:`parse_lines` turns a raw frame (text cells from a CSV, typed cells from a workbook, or a frame built in
code) into the canonical order-line frame: ``order_id, line, customer, ts, date, product, store, quantity,
revenue, discount, category, region``. The first bad value raises :class:`data.ingest_common.IngestError` naming
the file, the line (header = line 1, as a spreadsheet numbers its rows) and the column, through the sales
importer's own helpers. Rules (README "Order lines and Excel"):

- ``date`` may hold a time of day: lines are summed by their local calendar date. With a time zone, times that
  carry an offset (``2024-03-01T23:30:00Z``) are converted to it first and times without one are taken as local;
  without a time zone every time is taken at its own wall clock.
- revenue is ``sales`` when mapped, else ``quantity x price`` less the discount.
- ``discount`` is a rate when every value is within 0..1 (or written with ``%``), else an amount of money per
  line; the summary says which. It becomes a rate of the line's list value (``discount_kind``).
- an empty customer cell is a guest line (no customer); a customer column empty in every row turns the customer
  analytics off for the import, with a note.
"""
from __future__ import annotations

import zoneinfo

import numpy as np
import pandas as pd

from data.ingest_common import IngestError, bad_rows_error
from data.ingest_csv import _check_ids, _ids, _names, _numbers
from data.validate import check_date_window, check_detached_dates, parse_datetimes
from domain import DEFAULT_MEMBER

ORDER_FIELDS = ("date", "order", "customer", "product", "quantity", "price", "sales", "discount", "store",
                "category", "region")
ORDER_REQUIRED = ("date", "order", "product", "quantity")
# A frame built in code (the demo, tests) names its columns after the order_lines table.
TABLE_NAMES = {"date": "date", "order": "order_id", "customer": "customer", "product": "product",
               "quantity": "quantity", "price": "price", "sales": "revenue", "discount": "discount",
               "store": "store", "category": "category", "region": "region"}


def table_mapping(columns) -> dict[str, str]:
    """The mapping of a frame that uses the order_lines table's column names (``revenue`` is the ``sales`` field)."""
    return {field: col for field, col in TABLE_NAMES.items() if col in columns}


def check_mapping(m: dict[str, str], columns, path) -> None:
    """Required fields mapped, revenue derivable, every mapped column present in the file."""
    missing = [f for f in ORDER_REQUIRED if f not in m]
    if missing:
        raise IngestError(f"--map: the required field(s) {', '.join(missing)} are not mapped (e.g. --map "
                          "date=COL,order=COL,customer=COL,product=COL,quantity=COL,price=COL)")
    if "sales" not in m and "price" not in m:
        raise IngestError("--map: map price=COLUMN (revenue = quantity x price) or sales=COLUMN (the line's revenue)")
    absent = [c for c in m.values() if c not in columns]
    if absent:
        fld = next(k for k, v in m.items() if v == absent[0])
        raise IngestError(f"{path}: line 1 (header), column {absent[0]!r}: mapped column not found (--map "
                          f"{fld}={absent[0]}); the file has columns {list(columns)}")


def time_zone(name: str | None):
    """``--timezone NAME`` as a ZoneInfo (None when not given); an unknown name is an IngestError."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise IngestError(f"--timezone: unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC") \
            from None


def timestamps(df, col, path, is_csv, dayfirst=False, tz=None) -> pd.Series:
    """The date column as naive local timestamps (time of day kept); missing or unreadable cells raise."""
    raw = df[col]
    parsed = parse_datetimes(raw, dayfirst, tz)
    bad = parsed.isna()
    if bad.any():
        hint = "day-first dates like 31/12/2020 13:45" if dayfirst else \
            "ISO dates or times like 2020-12-31 or 2020-12-31T13:45 (or pass --dayfirst)"
        raise bad_rows_error(path, is_csv, bad, col, f"missing, unparseable or impossible date; expected {hint}", raw)
    day = parsed.dt.normalize()
    check_date_window(day, raw, path, is_csv, col)
    check_detached_dates(day, raw, path, is_csv, col)
    return parsed.astype("datetime64[ns]")


def _customers(df, col, path, is_csv) -> tuple[pd.Series, str | None]:
    """Customer ids (None for a guest line) and a note when the column is empty in every row."""
    s = df[col]
    if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
        s = s.astype("Int64")
    text = s.astype("string").str.strip()
    text = text.where(text != "")
    if text.isna().all():
        return pd.Series(None, index=df.index, dtype=object), (
            f"column {col!r} (customer) is empty in every row: customer analytics are off for this import")
    _check_ids(text, path, is_csv, col, "customer")
    return text.astype(object).where(text.notna(), None), None


def _discounts(df, col, path, is_csv) -> tuple[pd.Series, str]:
    """The discount column as numbers and its kind: 'rate' (every value within 0..1, or written with %) or
    'amount' (money taken off the line). Missing cells are no discount."""
    raw = df[col]
    percent = pd.Series(False, index=df.index)
    if not pd.api.types.is_numeric_dtype(raw):
        text = raw.astype("string").str.strip()
        percent = text.str.endswith("%").fillna(False).astype(bool)
        if percent.any():
            frame = pd.DataFrame({col: text.str.rstrip("%").str.strip()}, index=df.index)
            values = _numbers(frame, col, path, is_csv)
            values = values.where(~percent, values / 100.0)
        else:
            values = _numbers(df, col, path, is_csv)
    else:
        values = _numbers(df, col, path, is_csv)
    negative = values < 0
    if negative.any():
        raise bad_rows_error(path, is_csv, negative, col, "negative discount", raw)
    given = values.dropna()
    kind = "rate" if percent.any() or given.le(1).all() else "amount"
    if percent.any() and not percent[values.notna()].all():
        mixed = values.notna() & ~percent
        raise bad_rows_error(path, is_csv, mixed, col, "discount without % in a column of percentages", raw)
    if kind == "rate":
        over = values >= 1
        if over.any():
            raise bad_rows_error(path, is_csv, over, col, "a discount rate of 100% or more", raw)
    return values.fillna(0.0), kind


def parse_lines(df: pd.DataFrame, m: dict[str, str], path, is_csv: bool = True, dayfirst: bool = False,
                tz=None) -> tuple[pd.DataFrame, dict]:
    """Every mapped column parsed and checked; returns the canonical lines and what the summary reports
    (``discount_kind``, ``customers``, ``notes``). Lines keep the frame's index (its line numbers)."""
    out = pd.DataFrame(index=df.index)
    info: dict = {"discount_kind": None, "customers": "customer" in m, "notes": []}
    out["order_id"] = _ids(df, m["order"], path, is_csv, "order")
    out["product"] = _ids(df, m["product"], path, is_csv, "product")
    out["ts"] = timestamps(df, m["date"], path, is_csv, dayfirst, tz)
    out["date"] = out["ts"].dt.normalize()
    out["store"] = _ids(df, m["store"], path, is_csv, "store") if "store" in m else DEFAULT_MEMBER
    out["quantity"] = _numbers(df, m["quantity"], path, is_csv)
    missing_qty = out["quantity"].isna()
    if missing_qty.any():
        raise bad_rows_error(path, is_csv, missing_qty, m["quantity"], "missing quantity", df[m["quantity"]])
    if "customer" in m:
        out["customer"], note = _customers(df, m["customer"], path, is_csv)
        if note:
            info["customers"] = False
            info["notes"].append(note)
    else:
        out["customer"] = None
    rate = pd.Series(0.0, index=df.index)
    amount = None
    if "discount" in m:
        values, kind = _discounts(df, m["discount"], path, is_csv)
        info["discount_kind"] = kind
        if kind == "rate":
            rate = values
        else:
            amount = values
    if "sales" in m:
        revenue = _numbers(df, m["sales"], path, is_csv)
        bad = revenue.isna()
        if bad.any():
            raise bad_rows_error(path, is_csv, bad, m["sales"], "missing sales value", df[m["sales"]])
        if amount is not None:  # the list value is what was paid plus the money taken off
            gross = revenue.abs() + amount
            rate = (amount / gross.where(gross > 0)).fillna(0.0)
    else:
        price = _numbers(df, m["price"], path, is_csv)
        bad = price.isna()
        if bad.any():
            raise bad_rows_error(path, is_csv, bad, m["price"], "missing price", df[m["price"]])
        gross = out["quantity"] * price
        if amount is not None:
            too_much = amount > gross.abs() + 1e-9
            if too_much.any():
                raise bad_rows_error(path, is_csv, too_much, m["discount"],
                                     "discount amount larger than quantity x price", df[m["discount"]])
            rate = (amount / gross.abs().where(gross.abs() > 0)).fillna(0.0)
            revenue = gross - np.sign(gross) * amount
        else:
            revenue = gross * (1.0 - rate)
    out["revenue"] = revenue.astype(float)
    out["discount"] = rate.astype(float) if "discount" in m else np.nan
    for fld in ("category", "region"):
        out[fld] = _names(df, m[fld], path, is_csv, fld) if fld in m else np.nan
    return out, info
