"""Importers' common core: the error type, safe file reading, frequency detection and the all-or-nothing writer.

The two importers (:mod:`data.ingest_walmart`, :mod:`data.ingest_csv`) only *prepare* pandas frames and
validate them; :func:`commit` then checks the target database (frequency, content hash) and writes everything
in one ``store.session_scope()`` transaction. Nothing touches the database before validation has passed, so a
failed import leaves the database file byte-identical (and a new path is not even created).
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import config
from data import schema, store


class IngestError(ValueError):
    """Bad input the user can fix; the message names the file and, where it applies, the line and the column."""


ImportError_ = IngestError  # the name used in the design notes


def ingest_walmart(path, dry_run: bool = False, url: str | None = None) -> dict:
    """Import the Kaggle Walmart files (train, features, stores) from directory ``path``; see data/ingest_walmart.py."""
    from data import ingest_walmart as _w
    return commit(_w.prepare(path), url=url, dry_run=dry_run)


def ingest_csv(path, mapping, extra="", dayfirst: bool = False, stores_file=None, stores_map=None,
               dataset_name: str | None = None, frequency: str | None = None, dry_run: bool = False,
               url: str | None = None) -> dict:
    """Import a long-format CSV, CSV.gz or Parquet file with a column ``mapping``; see data/ingest_csv.py."""
    from data import ingest_csv as _c
    prep = _c.prepare(path, mapping, extra=extra, dayfirst=dayfirst, stores_file=stores_file,
                      stores_map=stores_map, dataset_name=dataset_name, frequency=frequency)
    return commit(prep, url=url, dry_run=dry_run)


# ----------------------------------------------------------------------------- prepared import

@dataclass
class Prepared:
    """Everything one import will write, validated, plus what the summary reports."""
    name: str
    source: str
    frequency: str
    content_hash: str
    stores: pd.DataFrame            # store_id, name, region, type, size, attrs
    products: pd.DataFrame          # product_id, name, category
    sales: pd.DataFrame             # store_id, product_id, date, sales, units, promo, promo_intensity, price, is_open
    covariates: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    weather: pd.DataFrame | None = None
    rows_read: int = 0
    rejected: dict = field(default_factory=dict)   # reason -> count
    duplicates: int = 0
    options: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    # Stores/products whose attributes this import does not know: keep what the database already has.
    weak_store_attrs: bool = False
    weak_product_attrs: bool = False


def file_hash(paths, extra: dict | None = None) -> str:
    """SHA-256 of the files' bytes and the import options, so the same file+options is recognised."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\x00")
    h.update(json.dumps(extra or {}, sort_keys=True, default=str).encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- file reading

def check_file(path) -> Path:
    """The file exists, is not empty and is under the configured size limit (``SALES_MAX_UPLOAD_MB``)."""
    p = Path(path)
    if not p.exists():
        raise IngestError(f"{p}: no such file")
    if p.is_dir():
        raise IngestError(f"{p}: is a directory, expected a CSV, CSV.gz or Parquet file")
    size = p.stat().st_size
    if size == 0:
        raise IngestError(f"{p}: the file is empty")
    limit = config.load().max_upload_mb
    if size > limit * 1024 * 1024:
        raise IngestError(f"{p}: the file is {size / 1024 / 1024:.1f} MB, over the limit of {limit} MB "
                          "(raise it with SALES_MAX_UPLOAD_MB)")
    return p


def _head_bytes(p: Path, n: int = 65536) -> bytes:
    with open(p, "rb") as fh:
        raw = fh.read(n)
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.open(p, "rb") as fh:
                return fh.read(n)
        except (OSError, EOFError) as exc:
            raise IngestError(f"{p}: not a readable gzip file ({exc})") from None
    if p.suffix == ".gz":
        raise IngestError(f"{p}: named .gz but not gzip-compressed")
    return raw


def read_table(path, dtype_str: bool = True) -> tuple[pd.DataFrame, bool]:
    """Read a CSV, CSV.gz or Parquet file. Returns ``(frame, is_csv)``.

    CSV cells are read as text (``dtype=str``) so that every value can be validated with its line number;
    blank lines are kept as all-NA rows so that ``index + 2`` is the line number a user sees in an editor.
    """
    p = check_file(path)
    if p.suffix.lower() == ".parquet" or p.name.lower().endswith(".parquet.gz"):
        try:
            df = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises several types for non-Parquet bytes
            raise IngestError(f"{p}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
        if df.empty:
            raise IngestError(f"{p}: the file has no data rows")
        return df.reset_index(drop=True), False
    head = _head_bytes(p)
    if not head.strip():
        raise IngestError(f"{p}: the file is empty")
    if b"\x00" in head or head[:4] in (b"PK\x03\x04", b"PAR1", b"%PDF") or _control_share(head) > 0.05:
        raise IngestError(f"{p}: not a CSV text file (binary content); expected comma- or semicolon-separated text "
                          "with a header line")
    first_line = head.replace(b"\r", b"\n").split(b"\n", 1)[0].decode("utf-8", "replace")
    sep = max([",", ";", "\t", "|"], key=first_line.count)
    if first_line.count(sep) == 0:
        sep = ","
    last_exc: Exception | None = None
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            df = pd.read_csv(p, sep=sep, dtype=str if dtype_str else None, keep_default_na=False,
                             na_values=["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"],
                             skip_blank_lines=False, encoding=encoding, compression="infer", low_memory=False)
            break
        except UnicodeDecodeError as exc:
            last_exc = exc
            continue
        except pd.errors.EmptyDataError:
            raise IngestError(f"{p}: the file is empty (no header line)") from None
        except pd.errors.ParserError as exc:
            raise IngestError(f"{p}: not a well-formed CSV file: {exc}") from None
        except (OSError, EOFError) as exc:
            raise IngestError(f"{p}: cannot be read ({exc})") from None
    else:  # pragma: no cover - latin-1 decodes any byte
        raise IngestError(f"{p}: cannot decode the text ({last_exc})")
    df.columns = [str(c).strip() for c in df.columns]
    if len(df.columns) == 1 and df.columns[0] == "":
        raise IngestError(f"{p}: no header line")
    if df.dropna(how="all").empty:
        raise IngestError(f"{p}: the file has a header line but no data rows")
    return df, True


def _control_share(raw: bytes) -> float:
    """Share of ASCII control bytes other than tab/newline/carriage return: text files have none."""
    if not raw:
        return 0.0
    bad = sum(1 for b in raw if b < 32 and b not in (9, 10, 13))
    return bad / len(raw)


def where(path, is_csv: bool, index, column: str | None = None) -> str:
    """``"file: line 7, column 'Sales'"`` (CSV: 1-based line with header = line 1) or ``row 6`` for Parquet."""
    pos = f"line {int(index) + 2}" if is_csv else f"row {int(index) + 1}"
    col = f", column '{column}'" if column else ""
    return f"{path}: {pos}{col}"


def bad_rows_error(path, is_csv: bool, mask: pd.Series, column: str, problem: str, values: pd.Series) -> IngestError:
    """An error naming the first offending line and value, and how many more lines have the same problem."""
    idx = mask[mask].index
    first = idx[0]
    more = len(idx) - 1
    tail = f" ({more} more line{'s' if more != 1 else ''} with the same problem)" if more else ""
    return IngestError(f"{where(path, is_csv, first, column)}: {problem}: {values.loc[first]!r}{tail}")


# ----------------------------------------------------------------------------- frequency

def detect_frequency(dates: pd.Series, source: str) -> str:
    """'D' or 'W' from the median spacing of the distinct dates; anything else is rejected with a hint."""
    uniq = pd.Series(pd.unique(dates.dropna())).sort_values()
    if len(uniq) < 2:
        return "D"
    days = float(uniq.diff().dropna().dt.days.median())
    if days <= 1.5:
        return "D"
    if 6 <= days <= 8:
        return "W"
    raise IngestError(f"{source}: the dates are {days:g} days apart (median); only daily (D) and weekly (W) "
                      "data are supported: aggregate the file first or pass --freq D|W")


# ----------------------------------------------------------------------------- commit

def _existing_state(url: str | None) -> dict | None:
    """What the target database already holds, read without creating anything; None for an empty store."""
    if not store.db_exists(url):
        return None
    ds = store.datasets(url)
    return {"frequency": store.frequency(url), "counts": store.counts(url),
            "last_hash": ds["content_hash"].iloc[0] if len(ds) else None,
            "last_name": ds["name"].iloc[0] if len(ds) else None,
            "stores": store.stores(url), "products": store.products(url)}


def summary_of(prep: Prepared) -> dict:
    s = prep.sales
    return {
        "dataset": prep.name, "source": prep.source, "frequency": prep.frequency,
        "rows_read": int(prep.rows_read), "rows_valid": int(len(s)),
        "rows_rejected": int(sum(prep.rejected.values())), "rejected_reasons": dict(prep.rejected),
        "duplicates": int(prep.duplicates),
        "start": str(s["date"].min().date()) if len(s) else None,
        "end": str(s["date"].max().date()) if len(s) else None,
        "dates": int(s["date"].nunique()),
        "series": int(len(s[["store_id", "product_id"]].drop_duplicates())),
        "stores": int(s["store_id"].nunique()), "products": int(s["product_id"].nunique()),
        "closed_rows": int((s["is_open"] == 0).sum()),
        "covariates": sorted(prep.covariates["name"].unique().tolist()) if prep.covariates is not None
        and len(prep.covariates) else [],
        "calendar_events": int(len(prep.events)) if prep.events is not None else 0,
        "weather_rows": int(len(prep.weather)) if prep.weather is not None else 0,
        "content_hash": prep.content_hash, "warnings": list(prep.warnings),
    }


def commit(prep: Prepared, url: str | None = None, dry_run: bool = False) -> dict:
    """Check the prepared import against the database and write it in one transaction (unless ``dry_run``).

    Returns the summary dict. Raises :class:`IngestError` on a frequency mismatch. Re-importing content whose
    hash equals the latest import's is reported as ``already_imported`` and writes nothing.
    """
    summary = summary_of(prep)
    summary.update(dry_run=bool(dry_run), already_imported=False, rows_written=0, rows_new=0,
                   database=store.resolve_url(url))
    state = _existing_state(url)
    if state and state["counts"]["rows"] > 0 and state["frequency"] != prep.frequency:
        names = {"D": "daily (D)", "W": "weekly (W)"}
        raise IngestError(
            f"{prep.source}: frequency mismatch: this data is {names[prep.frequency]} but the database already "
            f"holds {names.get(state['frequency'], state['frequency'])} data (dataset '{state['last_name']}'); "
            "import it into another database with --db PATH")
    if state and state["last_hash"] == prep.content_hash:
        summary["already_imported"] = True
        summary["message"] = "already imported (same content hash as the latest import): nothing changed"
        return summary
    if dry_run:
        summary["message"] = f"dry run: validated, nothing written ({len(prep.sales):,} rows would be written)"
        return summary
    before = state["counts"]["rows"] if state else 0
    stores_df, products_df = _merge_dims(prep, state)
    store.init_db(url)
    details = {"rejected": prep.rejected, "duplicates": int(prep.duplicates), "options": prep.options,
               "warnings": prep.warnings, "closed_rows": summary["closed_rows"]}
    dataset_row = pd.DataFrame([{
        "name": prep.name, "source": prep.source, "frequency": prep.frequency,
        "start_date": prep.sales["date"].min(), "end_date": prep.sales["date"].max(),
        "rows_read": int(prep.rows_read), "rows_written": int(len(prep.sales)),
        "rows_rejected": summary["rows_rejected"], "duplicates": int(prep.duplicates),
        "n_series": summary["series"], "n_stores": summary["stores"], "n_products": summary["products"],
        "content_hash": prep.content_hash, "imported_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        "details": json.dumps(details, default=str)}])
    with store.session_scope(url=url) as session:
        store.upsert_frame(session, schema.StoreDim, stores_df)
        store.upsert_frame(session, schema.ProductDim, products_df)
        written = store.upsert_frame(session, schema.Sale, prep.sales)
        for table, frame in ((schema.Covariate, prep.covariates), (schema.CalendarEvent, prep.events),
                             (schema.Weather, prep.weather)):
            if frame is not None and len(frame):
                store.upsert_frame(session, table, frame)
        store.upsert_frame(session, schema.Dataset, dataset_row)
        store.rebuild_aggregates(session)
    summary["rows_written"] = int(written)
    summary["rows_new"] = int(store.counts(url)["rows"] - before)
    summary["message"] = "imported"
    return summary


def _merge_dims(prep: Prepared, state: dict | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep attributes the database already has for stores/products this import knows nothing about."""
    stores_df, products_df = prep.stores, prep.products
    if state is not None:
        if prep.weak_store_attrs and len(state["stores"]):
            known = state["stores"].set_index("store_id")
            stores_df = stores_df[~stores_df["store_id"].isin(known.index)]
        if prep.weak_product_attrs and len(state["products"]):
            known = state["products"].set_index("product_id")
            products_df = products_df[~products_df["product_id"].isin(known.index)]
    return stores_df, products_df


# ----------------------------------------------------------------------------- summary text

def format_summary(summary: dict) -> str:
    """The import summary as a few human-readable lines."""
    lines = []
    head = "DRY RUN - nothing written. " if summary.get("dry_run") else ""
    if summary.get("already_imported"):
        head = "Already imported - nothing changed. "
    lines.append(f"{head}Dataset '{summary.get('dataset')}' from {summary.get('source')}")
    lines.append(f"  rows read     {summary.get('rows_read', 0):>12,}")
    lines.append(f"  rows valid    {summary.get('rows_valid', 0):>12,}")
    lines.append(f"  rows written  {summary.get('rows_written', 0):>12,}   (new facts: {summary.get('rows_new', 0):,})")
    lines.append(f"  rows rejected {summary.get('rows_rejected', 0):>12,}")
    for reason, n in (summary.get("rejected_reasons") or {}).items():
        lines.append(f"      {n:,} x {reason}")
    lines.append(f"  duplicates    {summary.get('duplicates', 0):>12,}   (identical rows dropped)")
    lines.append(f"  date range    {summary.get('start')} .. {summary.get('end')}  ({summary.get('dates', 0):,} dates, "
                 f"frequency {summary.get('frequency')})")
    lines.append(f"  series {summary.get('series', 0):,}   stores {summary.get('stores', 0):,}   "
                 f"products {summary.get('products', 0):,}   closed rows {summary.get('closed_rows', 0):,}")
    if summary.get("covariates"):
        lines.append(f"  covariates    {', '.join(summary['covariates'])}")
    lines.append(f"  calendar events {summary.get('calendar_events', 0):,}   weather rows {summary.get('weather_rows', 0):,}")
    for w in summary.get("warnings") or ():
        lines.append(f"  warning: {w}")
    if "seconds" in summary:
        lines.append(f"  took {summary['seconds']} s")
    return "\n".join(lines)

