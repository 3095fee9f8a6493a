"""Import a plan file (CSV, CSV.gz, Parquet): planned promotions, depths, prices, closures, events and unit costs.

``python cli.py ingest plan FILE --map date=COL,store=COL,product=COL,category=COL,promo=COL,...``. Each row sets
the mapped fields for one scope and date; an empty (or unmapped) store, product or category cell means "all", so
one file can mix grains: store x product, store x category, a product in every store, a store, a category in every
store, everything. Validation (all before anything is written; messages ``FILE: line N, column 'C': ...``):
dates as in the sales importer; stores, products and categories must exist in the database; promo and open are
0/1; the depth is in [0, 1); price and cost are not negative; a closed day carries no promotion (on the row, and
after expanding the file and the stored plan to the bottom series); one scope and date is given once (identical
repeats are dropped and counted). The rows are then written in one transaction under the import write lock
(:func:`data.guards.lock_for_import`) with :func:`data.plans.write_plan` (source ``"import"``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from data import guards, plan_checks, schema
from data.engine import db_exists, has_table, read_frame, resolve_url, session_scope
from data.facts import date_bounds, frequency, nodes, products, stores
from data.ingest_common import IngestError, bad_rows_error
from data.tabular import read_any
from data.ingest_csv import _check_ids, _dates, _flags, _numbers, parse_mapping
from data.plans import PLAN_FIELDS, SCOPE, _ensure_tables, write_plan
from domain import ALL, BOTTOM_LEVEL

PLAN_IMPORT_FIELDS = ("date", "store", "product", "category", "promo", "promo_intensity", "price", "open", "event",
                      "cost")
VALUE_FIELDS = PLAN_IMPORT_FIELDS[4:]
TARGET = {"open": "is_open", "cost": "unit_cost"}  # import field -> plan column (the others keep their name)
# Plan scopes, most specific first (the order in which the expansion lets a row win; see data/plans.py).
GRAINS = ("store_product", "store_category", "product", "store", "category", "all")
MAX_EVENT_LENGTH = 200
# Column names (normalised as in data.column_mapping) that suggest the plan-only fields; the others use the
# sales importer's synonyms.
PLAN_SYNONYMS = {"promo_intensity": ("depth", "discount", "promointensity", "promodepth", "discountdepth"),
                 "event": ("event", "eventname", "events")}


@dataclass
class PlanPrepared:
    """A validated plan file: the rows to write and what the summary reports."""
    source: str
    rows: pd.DataFrame              # store_id, product_id, category, date + PLAN_FIELDS (NaN = not set)
    rows_read: int = 0
    duplicates: int = 0
    blank: int = 0
    fields: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    is_csv: bool = True
    columns: dict = field(default_factory=dict)  # plan column -> the file's column (for messages)


def grain_of(rows: pd.DataFrame) -> pd.Series:
    """The grain name of each row's scope (one of :data:`GRAINS`)."""
    s, p, c = (rows[col].to_numpy() != ALL for col in SCOPE)
    return pd.Series(np.select([s & p, s & c, p, s, c], list(GRAINS[:5]), default="all"), index=rows.index)


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """``{field: column}`` for a plan file's columns (pre-fills the Plan page's upload form)."""
    from data.column_mapping import guess_mapping as guess_sales, normalise
    out = {k: v for k, v in guess_sales(columns).items() if k in PLAN_IMPORT_FIELDS}
    for fld, names in PLAN_SYNONYMS.items():
        col = next((c for n in names for c in columns if normalise(c) == n and c not in out.values()), None)
        if col is not None:
            out[fld] = col
    return out


def _scope_column(df, m, fld, path, is_csv) -> pd.Series:
    """A store, product or category column: text ids, ALL where the cell is empty or "*" or the field unmapped."""
    if fld not in m:
        return pd.Series(ALL, index=df.index, dtype=object)
    raw = df[m[fld]]
    if pd.api.types.is_float_dtype(raw) and (raw.dropna() % 1 == 0).all():
        raw = raw.astype("Int64")
    text = raw.astype("string").str.strip()
    _check_ids(text, path, is_csv, m[fld], fld)
    return text.where(text.notna() & (text != ""), ALL).astype(object)


def _known(values: pd.Series, known, path, is_csv, col, what) -> None:
    bad = (values != ALL) & ~values.isin(list(known))
    if bad.any():
        shown = sorted(map(str, known))[:8]
        raise bad_rows_error(path, is_csv, bad, col, f"unknown {what} (the database has {len(known)}: "
                             f"{', '.join(shown)}{', ...' if len(known) > 8 else ''})", values)


def _values(df, m, path, is_csv) -> pd.DataFrame:
    """The mapped value columns parsed: flags and numbers as floats (NaN = empty cell = not set), events as text."""
    out = pd.DataFrame(index=df.index)
    for fld in ("promo", "open"):
        if fld in m:
            _flag, num = _flags(df, m[fld], path, is_csv)
            out[TARGET.get(fld, fld)] = num.astype(float)
    for fld in ("promo_intensity", "price", "cost"):
        if fld in m:
            out[TARGET.get(fld, fld)] = _numbers(df, m[fld], path, is_csv)
    if "event" in m:
        text = df[m["event"]].astype("string").str.strip()
        text = text.where(text != "")
        long_ = text.str.len().fillna(0) > MAX_EVENT_LENGTH
        if long_.any():
            raise bad_rows_error(path, is_csv, long_, m["event"], f"event name longer than {MAX_EVENT_LENGTH} "
                                 "characters", text.str.slice(0, 40))
        out["event"] = text.astype(object).where(text.notna(), None)
    for col in PLAN_FIELDS:
        if col not in out:
            out[col] = np.nan if col != "event" else None
    # a depth without a promo flag means a promotion
    implied = out["promo"].isna() & (out["promo_intensity"] > 0)
    out.loc[implied, "promo"] = 1.0
    return out


def _dimensions(url) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not db_exists(url):
        raise IngestError(f"{resolve_url(url)}: holds no sales data; import the sales first (`python cli.py ingest "
                          "csv ...`): a plan names stores and products that must exist")
    return stores(url), products(url)


def _categories(out, m, prods, path, is_csv) -> pd.Series:
    """Category ALL where a product is named (the product's category is implied); a named category must match."""
    cat_of = prods.set_index("product_id")["category"]
    named = (out["product_id"] != ALL) & (out["category"] != ALL)
    wrong = named & (out["product_id"].map(cat_of) != out["category"])
    if wrong.any():
        i = wrong[wrong].index[0]
        raise bad_rows_error(path, is_csv, wrong, m["category"], f"product {out.loc[i, 'product_id']!r} is in "
                             f"category {cat_of[out.loc[i, 'product_id']]!r}, not", out["category"])
    return out["category"].where(out["product_id"] == ALL, ALL)


def _stored_rows(start, end, url) -> pd.DataFrame:
    """The stored plan rows between ``start`` and ``end`` (without creating the table when it is missing)."""
    if not has_table("plans", url):
        return pd.DataFrame(columns=[*SCOPE, "date", *PLAN_FIELDS])
    t = schema.PlanEntry.__table__
    out = read_frame(select(t).where(t.c.date.between(start.date(), end.date())), url=url, typed=True)
    out["date"] = pd.to_datetime(out["date"])
    return out


def _check_against_stored(rows, path, is_csv, columns, url) -> None:
    """A promotion on a closed day, counting the stored plan (which a file row replaces for its scope and date)."""
    stored = _stored_rows(rows["date"].min(), rows["date"].max(), url)
    keys = [*SCOPE, "date"]
    stored = stored.assign(line=plan_checks.STORED)
    if len(stored):
        replaced = stored.merge(rows[keys], on=keys, how="left", indicator=True)["_merge"] == "both"
        stored = stored[~replaced.to_numpy()]
    both = pd.concat([rows.assign(line=rows.index), stored[[*keys, "promo", "is_open", "line"]]], ignore_index=True)
    series = nodes(level=BOTTOM_LEVEL, url=url)[["store_id", "product_id", "category"]]
    plan_checks.check_closed_promos(both[[*keys, "promo", "is_open", "line"]], series, path, is_csv, columns)


def prepare(path, mapping, dayfirst: bool = False, url: str | None = None, sheet: str | None = None) -> PlanPrepared:
    """Read, parse and validate a plan file against the database's stores, products and stored plan.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.csv.gz`` or ``.parquet``; one row per scope and date.
    mapping : str or dict
        ``field=COLUMN`` pairs of :data:`PLAN_IMPORT_FIELDS`; ``date`` and at least one value field are required.
    dayfirst : bool
        Dates are day-first (31/12/2020) instead of ISO.

    Returns
    -------
    PlanPrepared
        The rows to write (``store_id, product_id, category, date`` + :data:`data.plans.PLAN_FIELDS`).
    """
    m = parse_mapping(mapping, allowed=PLAN_IMPORT_FIELDS, required=("date",))
    if not any(f in m for f in VALUE_FIELDS):
        raise IngestError(f"--map: map at least one plan field ({', '.join(VALUE_FIELDS)}), e.g. "
                          "--map date=Date,store=Store,promo=Promo")
    df, is_csv = read_any(path, sheet)
    path = Path(path)
    missing = [c for c in m.values() if c not in df.columns]
    if missing:
        fld = next(k for k, v in m.items() if v == missing[0])
        raise IngestError(f"{path}: line 1 (header), column {missing[0]!r}: mapped column not found (--map "
                          f"{fld}={missing[0]}); the file has columns {list(df.columns)}")
    blank = df.isna().all(axis=1)
    df = df[~blank]
    columns = {TARGET.get(k, k): v for k, v in m.items()}
    out = pd.DataFrame(index=df.index)
    out["date"] = _dates(df, m["date"], path, is_csv, dayfirst)
    for fld, col in (("store", "store_id"), ("product", "product_id"), ("category", "category")):
        out[col] = _scope_column(df, m, fld, path, is_csv)
    out = out.join(_values(df, m, path, is_csv))
    plan_checks.check_values(out, path, is_csv, columns)
    store_dim, prod_dim = _dimensions(url)
    _known(out["store_id"], set(store_dim["store_id"]), path, is_csv, m.get("store"), "store")
    _known(out["product_id"], set(prod_dim["product_id"]), path, is_csv, m.get("product"), "product")
    _known(out["category"], set(prod_dim["category"].dropna()), path, is_csv, m.get("category"), "category")
    if "category" in m:
        out["category"] = _categories(out, m, prod_dim, path, is_csv)
    out = out[[*SCOPE, "date", *PLAN_FIELDS]]
    out, duplicates = plan_checks.drop_repeats(out, [*SCOPE, "date"], list(PLAN_FIELDS), path, is_csv, columns)
    _check_against_stored(out, path, is_csv, columns, url)
    warnings = list(df.attrs.get("warnings", [])) + _week_warning(out, url)
    if duplicates:
        warnings.append(f"{duplicates} identical repeated row(s) dropped")
    return PlanPrepared(source=str(path), rows=out, rows_read=int(len(df)), duplicates=duplicates,
                        blank=int(blank.sum()), fields=[TARGET.get(f, f) for f in VALUE_FIELDS if f in m],
                        warnings=warnings, is_csv=is_csv, columns=columns)


def week_day(url) -> int | None:
    """The weekday (0 = Monday) of weekly data's dates; None for daily data or an empty store."""
    if frequency(url) != "W":
        return None
    _first, last = date_bounds(url)
    return None if last is None else int(last.dayofweek)


def _week_warning(rows: pd.DataFrame, url) -> list[str]:
    """For weekly data, a warning when plan dates fall on other weekdays than the data's (they are not read)."""
    day = week_day(url)
    off = int((rows["date"].dt.dayofweek != day).sum()) if day is not None else 0
    if not off:
        return []
    name = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)  # 2024-01-01 is a Monday
    return [f"the data is weekly (dates on {name.day_name()}s) but {off} plan row(s) fall on other weekdays; "
            "a forecast reads the plan on the data's dates only"]


def summary_of(prep: PlanPrepared) -> dict:
    """Rows, scopes, date range, rows per grain, fields and warnings of a prepared plan file."""
    r = prep.rows
    grains = grain_of(r).value_counts()
    return {"source": prep.source, "rows_read": prep.rows_read, "rows": int(len(r)),
            "scopes": int(len(r[list(SCOPE)].drop_duplicates())),
            "start": str(r["date"].min().date()) if len(r) else None,
            "end": str(r["date"].max().date()) if len(r) else None,
            "dates": int(r["date"].nunique()),
            "rows_per_grain": {g: int(grains.get(g, 0)) for g in GRAINS if grains.get(g, 0)},
            "fields": list(prep.fields), "promo_rows": int((r["promo"] == 1).sum()),
            "closed_rows": int((r["is_open"] == 0).sum()), "duplicates": prep.duplicates,
            "blank_lines": prep.blank, "warnings": list(prep.warnings)}


def ingest_plan(path, mapping, dayfirst: bool = False, dry_run: bool = False, url: str | None = None,
                sheet: str | None = None) -> dict:
    """Validate a plan file and (unless ``dry_run``) write it in one transaction; returns the summary dict."""
    prep = prepare(path, mapping, dayfirst=dayfirst, url=url, sheet=sheet)
    summary = summary_of(prep)
    summary.update(dry_run=bool(dry_run), rows_written=0, database=resolve_url(url))
    if dry_run:
        summary["message"] = f"dry run: validated, nothing written ({len(prep.rows):,} plan rows would be written)"
        return summary
    _ensure_tables(url)
    with session_scope(url=url) as session:
        try:
            guards.lock_for_import(session)
        except guards.WriteLockTimeout as exc:
            raise IngestError(str(exc)) from None
        # under the lock, again against the stored plan: an edit may have landed since the check above
        _check_against_stored(prep.rows, Path(prep.source), prep.is_csv, prep.columns, url)
        written = write_plan(prep.rows, source="import", session=session)
    summary["rows_written"] = int(written)
    summary["message"] = "imported"
    return summary


def format_summary(summary: dict) -> str:
    """The plan import summary as a few lines (what the CLI prints without --json)."""
    head = "DRY RUN - nothing written. " if summary.get("dry_run") else ""
    grains = ", ".join(f"{g} {n:,}" for g, n in (summary.get("rows_per_grain") or {}).items()) or "none"
    lines = [f"{head}Plan from {summary.get('source')}",
             f"  rows read     {summary.get('rows_read', 0):>10,}",
             f"  plan rows     {summary.get('rows', 0):>10,}   (written: {summary.get('rows_written', 0):,})",
             f"  scopes        {summary.get('scopes', 0):>10,}   rows per grain: {grains}",
             f"  date range    {summary.get('start')} .. {summary.get('end')}  ({summary.get('dates', 0):,} dates)",
             f"  fields        {', '.join(summary.get('fields') or [])}",
             f"  promoted rows {summary.get('promo_rows', 0):,}   closed rows {summary.get('closed_rows', 0):,}"]
    lines += [f"  warning: {w}" for w in summary.get("warnings") or ()]
    if "seconds" in summary:
        lines.append(f"  took {summary['seconds']} s")
    return "\n".join(lines)
