"""Checks of plan values shared by the plan importer (:mod:`data.ingest_plan`) and the sales importer's future rows.

Each check raises :class:`data.ingest_common.IngestError` naming the file, the first offending line and the column
(the user's column name, from ``columns``: plan field -> file column), so a bad plan value never reaches the
database. Frames carry the plan columns (``promo``, ``promo_intensity``, ``price``, ``is_open``, ``unit_cost``;
NaN = not set) and are indexed like the file (``index + 2`` is the CSV line).
"""
from __future__ import annotations

import pandas as pd

from data.ingest_common import IngestError, bad_rows_error, where
from domain import ALL

STORED = -1  # the "line" of a row already in the database's plan


def _column(columns: dict, field: str) -> str:
    return columns.get(field, field)


def check_values(frame: pd.DataFrame, path, is_csv: bool, columns: dict) -> None:
    """Refuse promo/open other than 0/1, a depth outside [0, 1), a negative price or cost, a depth on a day whose
    promo is 0, and a closed day with a promotion on the same row."""
    def col(name):
        return frame[name] if name in frame else pd.Series(float("nan"), index=frame.index)

    promo, depth, is_open = col("promo"), col("promo_intensity"), col("is_open")
    rules = (
        ("promo", promo.notna() & ~promo.isin([0.0, 1.0]), "promo must be 0 or 1 (1 = promoted)"),
        ("is_open", is_open.notna() & ~is_open.isin([0.0, 1.0]), "open must be 0 or 1 (0 = closed)"),
        ("promo_intensity", depth.notna() & ~((depth >= 0) & (depth < 1)),
         "promotion depth outside [0, 1) (a share of the price: 0.2 = 20% off)"),
        ("price", col("price") < 0, "negative price"),
        ("unit_cost", col("unit_cost") < 0, "negative unit cost"),
        ("promo_intensity", (promo == 0) & (depth > 0), "a promotion depth on a row whose promo is 0"),
        ("is_open", (is_open == 0) & ((promo == 1) | (depth > 0)),
         "a closed day (open 0) with a promotion on the same row: drop the promotion or the closure"),
    )
    for field, mask, problem in rules:
        if mask.any():
            raise bad_rows_error(path, is_csv, mask, _column(columns, field), problem, col(field))


def drop_repeats(frame: pd.DataFrame, keys: list[str], values: list[str], path, is_csv: bool,
                 columns: dict) -> tuple[pd.DataFrame, int]:
    """Identical repeats of a scope and date dropped (and counted); two rows for one scope and date with different
    values raise, naming both lines and the first field that differs."""
    filled = frame[keys + values].astype(object).where(frame[keys + values].notna(), "<NA>")
    same = filled.duplicated()
    out = frame[~same]
    clash = out.duplicated(keys, keep=False)
    if clash.any():
        first = out[clash].iloc[0]
        rows = out[clash & (out[keys] == first[keys]).all(axis=1)]
        a, b = rows.iloc[0], rows.iloc[1]
        diff = next(c for c in values if not (a[c] == b[c] or (pd.isna(a[c]) and pd.isna(b[c]))))
        scope = ", ".join(f"{k.removesuffix('_id')} {a[k]}" for k in keys if k != "date")
        raise IngestError(f"{where(path, is_csv, rows.index[1], _column(columns, diff))}: conflicts with "
                          f"{where(path, is_csv, rows.index[0]).split(': ')[-1]} ({scope}, date "
                          f"{pd.Timestamp(a['date']).date()}): {_show(a[diff])} vs {_show(b[diff])}; give each scope "
                          "and date once")
    return out, int(same.sum())


def check_closed_promos(rows: pd.DataFrame, series: pd.DataFrame, path, is_csv: bool, columns: dict) -> None:
    """Refuse a promotion that falls on a closed day once the rows are expanded to the bottom series (a
    product promoted in store 3 on a day store 3 is closed), naming both lines (:data:`STORED` = the stored plan).

    ``rows`` holds the scope columns, ``date``, ``promo``, ``is_open`` and ``line`` (the file index, or STORED).
    """
    from data.plans import expand  # the plan's own precedence rules decide which row wins
    if rows.empty or series.empty or not ((rows["promo"] == 1).any() and (rows["is_open"] == 0).any()):
        return
    tagged = rows.assign(promo_line=rows["line"].where(rows["promo"].notna()),
                         open_line=rows["line"].where(rows["is_open"].notna()))
    wide = expand(tagged, series, fields=("promo", "is_open", "promo_line", "open_line"))
    bad = wide[(wide["promo"] == 1) & (wide["is_open"] == 0)]
    if bad.empty:
        return
    r = bad.iloc[0]
    lines = {"promotion": int(r["promo_line"]), "closure": int(r["open_line"])}
    named = {k: ("the stored plan" if v == STORED else where(path, is_csv, v).split(": ")[-1])
             for k, v in lines.items()}
    at, field = (lines["promotion"], "promo") if lines["promotion"] != STORED else (lines["closure"], "is_open")
    raise IngestError(f"{where(path, is_csv, at, _column(columns, field))}: a promotion ({named['promotion']}) on a "
                      f"day the plan closes ({named['closure']}): store {r['store_id']}, product {r['product_id']}, "
                      f"date {pd.Timestamp(r['date']).date()}; drop the promotion or the closure")


def _show(value) -> str:
    return repr(value.item() if hasattr(value, "item") else value)


def sales_plan_rows(out: pd.DataFrame, m: dict, path, is_csv: bool) -> tuple[pd.DataFrame | None, pd.Series]:
    """The plan rows a parsed sales file carries, and the mask of its plan-only rows (no sales).

    With a plan field mapped (promo, promo_intensity, price, open or cost), a row after the file's last sales
    date whose sales cell is empty is a plan row for its store x product and date (the mapped fields; an empty
    promo cell means no promotion, an empty open cell means open). A row with a ``cost`` value gives the unit
    cost of its store x product on its date (history rows carry only the cost). Validated like a plan file;
    a future row for a store x product with no sales in the file is refused.
    """
    fields = {"promo": "promo", "promo_intensity": "promo_intensity", "price": "price", "is_open": "open"}
    no_sales = out["sales"].isna()
    none = pd.Series(False, index=out.index)
    if not any(f in m for f in (*fields.values(), "cost")) or no_sales.all():
        return None, none
    future = no_sales & (out["date"] > out.loc[~no_sales, "date"].max())
    keep = future | (out["cost"].notna() & ~no_sales)
    if not keep.any():
        return None, future
    rows = out[keep]
    plan = pd.DataFrame({"store_id": rows["store_id"], "product_id": rows["product_id"], "category": ALL,
                         "date": rows["date"]}, index=rows.index)
    mapped = {col: fld in m or (col == "promo_intensity" and "promo" in m) for col, fld in fields.items()}
    for col in fields:
        plan[col] = (pd.to_numeric(rows[col]).astype(float) if mapped[col] else float("nan"))
        plan[col] = plan[col].where(future[keep])  # history rows carry the unit cost only
    plan["event"] = None
    plan["unit_cost"] = rows["cost"].astype(float)
    columns = {col: m[fld] for col, fld in (*fields.items(), ("unit_cost", "cost")) if fld in m}
    columns.setdefault("promo_intensity", m.get("promo", "promo_intensity"))
    check_values(plan, path, is_csv, columns)
    sold = pd.MultiIndex.from_frame(out.loc[~no_sales, ["store_id", "product_id"]].drop_duplicates())
    orphan = future[keep] & ~pd.MultiIndex.from_frame(plan[["store_id", "product_id"]]).isin(sold)
    if orphan.any():
        raise bad_rows_error(path, is_csv, orphan, m.get("product", m.get("store", m["sales"])),
                             "a future row (empty sales) for a store and product with no sales in this file; "
                             "give its plan with `python cli.py ingest plan`", plan["store_id"] + " x " +
                             plan["product_id"])
    keys = ["store_id", "product_id", "category", "date"]
    plan, _repeats = drop_repeats(plan, keys, [*fields, "unit_cost"], path, is_csv, columns)
    return plan, future
