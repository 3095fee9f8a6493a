"""Importers' shared helpers: the error type, the prepared import, safe file reading and frequency detection.

Both importers (:mod:`data.ingest_walmart`, :mod:`data.ingest_csv`) and the dispatcher :mod:`data.ingest` import
this module, so the importers never import the dispatcher.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import config
from data import size_guard


class IngestError(ValueError):
    """Bad input the user can fix; the message names the file and, where it applies, the line and the column."""


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
    # Plan rows the sales file carries (future rows without sales, unit costs): store x product grain.
    plan: pd.DataFrame | None = None


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
    """The file exists, is not empty and is under ``SALES_MAX_UPLOAD_MB``, as stored and once decompressed."""
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
    size_guard.check_expanded_size(p, limit, IngestError)  # gzip bombs: counts the bytes as they decompress
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
    blank lines are kept as all-NA rows, and the frame's index is each record's physical line minus 2 (so
    ``index + 2`` is the line an editor shows, also after quoted cells that span several lines). A file that is
    not valid UTF-8 is decoded line by line: only the lines that are not UTF-8 are read as Windows-1252/Latin-1,
    and ``frame.attrs["warnings"]`` names them.
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
    options = dict(sep=sep, dtype=str if dtype_str else None, keep_default_na=False,
                   na_values=["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"], skip_blank_lines=False,
                   low_memory=False)
    text, warnings = None, []
    try:
        df = _parse_csv(p, p, encoding="utf-8-sig", compression="infer", **options)
    except UnicodeDecodeError:
        text, warnings = decode_lines(p)
        df = _parse_csv(p, io.StringIO(text), **options)
    df.columns = [str(c).strip() for c in df.columns]
    if len(df.columns) == 1 and df.columns[0] == "":
        raise IngestError(f"{p}: no header line")
    if df.dropna(how="all").empty:
        raise IngestError(f"{p}: the file has a header line but no data rows")
    lines = record_lines(p, text, sep, len(df))
    if lines is not None:
        df.index = pd.Index(lines - 2)
    df.attrs["warnings"] = warnings
    return df, True


def _parse_csv(p: Path, source, **options) -> pd.DataFrame:
    """``pd.read_csv`` with its errors as :class:`IngestError` (a UnicodeDecodeError passes: the caller decodes)."""
    try:
        return pd.read_csv(source, **options)
    except pd.errors.EmptyDataError:
        raise IngestError(f"{p}: the file is empty (no header line)") from None
    except pd.errors.ParserError as exc:
        raise IngestError(f"{p}: not a well-formed CSV file: {str(exc).strip()}") from None
    except UnicodeDecodeError:
        raise
    except (OSError, EOFError) as exc:
        raise IngestError(f"{p}: cannot be read ({exc})") from None


def _open_bytes(p: Path):
    """The file's bytes as a stream (decompressed when it is gzip)."""
    with open(p, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(p, "rb") if magic == b"\x1f\x8b" else open(p, "rb")


def decode_lines(p: Path) -> tuple[str, list[str]]:
    """The text of a file that is not valid UTF-8, decoded line by line, and a warning naming the other lines.

    Each line that is valid UTF-8 stays UTF-8 (a stray byte does not turn the whole file into mojibake); the
    others are read as Windows-1252 (Latin-1 for the bytes it leaves undefined).
    """
    try:
        with _open_bytes(p) as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise IngestError(f"{p}: cannot be read ({exc})") from None
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    parts, odd = [], []
    for number, line in enumerate(raw.splitlines(keepends=True), start=1):
        try:
            parts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                parts.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                parts.append(line.decode("latin-1"))
            odd.append(number)
    if not odd:
        return "".join(parts), []
    more = ""
    if len(odd) > 1:
        listed = ", ".join(map(str, odd[1:6])) + (", ..." if len(odd) > 6 else "")
        more = f" and {len(odd) - 1} more line{'s' if len(odd) > 2 else ''} ({listed})"
    warning = (f"{p}: line {odd[0]}{more}: not valid UTF-8, read as Windows-1252/Latin-1 (the other lines as "
               "UTF-8); check those values or save the file as UTF-8")
    return "".join(parts), [warning]


def record_lines(p: Path, text: str | None, sep: str, n_records: int) -> np.ndarray | None:
    """The physical line where each data record starts, or None when it is simply its position + 2.

    Counting newlines is enough to know that no quoted cell spans lines; only then are the records walked with
    the ``csv`` module, whose ``line_num`` counts physical lines. None also when ``csv`` and pandas disagree on
    the number of records (the caller then keeps position + 2).
    """
    if text is None:
        with _open_bytes(p) as fh:
            newlines, last = 0, b""
            for block in iter(lambda: fh.read(1 << 20), b""):
                newlines += block.count(b"\n")
                last = block[-1:]
    else:
        newlines, last = text.count("\n"), text[-1:].encode()
    physical = newlines + (1 if last not in (b"\n", b"") else 0)
    if physical == n_records + 1:
        return None
    stream = io.StringIO(text, newline="") if text is not None else io.TextIOWrapper(
        _open_bytes(p), encoding="utf-8-sig", newline="")
    starts = []
    with stream:
        reader = csv.reader(stream, delimiter=sep)
        previous = 0
        try:
            for _row in reader:
                starts.append(previous + 1)
                previous = reader.line_num
        except (csv.Error, UnicodeDecodeError):
            return None
    if len(starts) - 1 != n_records:
        return None
    return np.asarray(starts[1:], dtype=np.int64)


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
    return IngestError(f"{where(path, is_csv, first, column)}: {problem}: {_clip(values.loc[first])}{tail}")


def _clip(value, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters so that a 10 MB cell still gives a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value)):,} characters)"


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
