"""The importers' one file reader: CSV, CSV.gz and Parquet (:func:`data.ingest_common.read_table`) and the
spreadsheet workbooks .xlsx, .xlsm, .xlsb, .xls and .ods (``pandas.read_excel(engine="calamine")``).

:func:`read_any` returns ``(frame, is_csv)`` like ``read_table``: for a workbook ``is_csv`` is True because its
frame's index is built so that ``index + 2`` is the row number the spreadsheet shows (header row = 1 when the
table starts in the first row), so every importer's ``FILE: line N, column 'C'`` message names the row to fix.
A workbook is read from its first sheet, or the sheet ``--sheet NAME`` names (a missing one lists the sheets);
the header is the first row filled at least half as wide as the table (a title line above it is skipped); cells
keep their types (numbers, dates, booleans, text). A header cell that is empty above data, as merged header cells
leave it, is refused: the message names the merged range when the workbook records it.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

import config
from data.ingest_common import IngestError, check_file, read_table, where
from data.xlsx import column_letter

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
FILE_TYPES = "CSV, CSV.gz, Parquet, .xlsx, .xls or .ods"


def is_spreadsheet(path) -> bool:
    """True for a workbook, by its suffix."""
    return Path(str(path)).suffix.lower() in SPREADSHEET_SUFFIXES


def read_any(path, sheet: str | None = None) -> tuple[pd.DataFrame, bool]:
    """Read any importable file; ``sheet`` picks a workbook's sheet (an error for other files)."""
    if is_spreadsheet(path):
        return read_workbook(path, sheet), True
    if sheet:
        raise IngestError(f"{path}: --sheet applies to workbooks (.xlsx, .xls, .ods) only; this is not one")
    return read_table(path)


def _check_zip(p: Path) -> None:
    """.xlsx and .ods are zip packages: refuse one that expands beyond the upload limit before opening it."""
    if not zipfile.is_zipfile(p):
        return
    limit = config.load().max_upload_mb
    try:
        with zipfile.ZipFile(p) as z:
            expanded = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(f"{p}: not a readable workbook ({exc})") from None
    if expanded > limit * 1024 * 1024:
        raise IngestError(f"{p}: the workbook expands to {expanded / 1024 / 1024:.1f} MB, over the limit of {limit} "
                          "MB (raise it with SALES_MAX_UPLOAD_MB)")


def sheet_names(path) -> list[str]:
    """The workbook's sheet names, in order."""
    p = check_file(path)
    _check_zip(p)
    with _open(p) as book:
        return list(book.sheet_names)


def _open(p: Path) -> pd.ExcelFile:
    try:
        return pd.ExcelFile(p, engine="calamine")
    except Exception as exc:  # calamine raises its own error types for bytes that are not a workbook
        raise IngestError(f"{p}: not a readable {p.suffix.lower()} workbook ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None


def read_workbook(path, sheet: str | None = None) -> pd.DataFrame:
    """One sheet as a frame whose ``index + 2`` is each record's spreadsheet row number (header: its own row)."""
    p = check_file(path)
    _check_zip(p)
    with _open(p) as book:
        names = list(book.sheet_names)
        if sheet is None:
            if not names:
                raise IngestError(f"{p}: the workbook has no sheets")
            sheet = names[0]
        elif sheet not in names:
            raise IngestError(f"{p}: no sheet named {sheet!r}; the workbook has the sheets "
                              f"{', '.join(repr(n) for n in names)} (--sheet NAME)")
        try:
            raw = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
        except Exception as exc:  # a damaged sheet
            raise IngestError(f"{p}: sheet {sheet!r} cannot be read ({type(exc).__name__}: {exc})") from None
        filled = raw.notna().any(axis=1)
        if raw.empty or not filled.any():
            raise IngestError(f"{p}: sheet {sheet!r} is empty")
        head = _header_row(raw)
        header = raw.iloc[head]
        body = raw.iloc[head + 1:]
        used = body.notna().any(axis=0)
        empty_head = header.isna() | (header.astype(str).str.strip() == "")
        nameless = empty_head & used
        if nameless.any():
            _refuse_nameless(p, book, sheet, head, header, int(nameless[nameless].index[0]))
    keep = ~empty_head
    frame = body.loc[:, keep].copy()
    frame.columns = _unique([str(v).strip() for v in header[keep]])
    if frame.dropna(how="all").empty:
        raise IngestError(f"{p}: sheet {sheet!r} has a header row but no data rows")
    frame.index = pd.Index(frame.index.to_numpy() - 1)  # sheet row r (0-based) is spreadsheet row r + 1 = index + 2
    frame = frame.infer_objects()
    frame.attrs["warnings"] = []
    frame.attrs["sheet"] = sheet
    return frame


def _header_row(raw: pd.DataFrame, scan: int = 50) -> int:
    """The header's 0-based sheet row: the first row filled at least half as wide as the widest of the first
    ``scan`` rows, so a title line above the table is skipped and a header with a merged (empty) cell is not."""
    counts = raw.head(scan).notna().sum(axis=1).to_numpy()
    return int((counts >= max(1, counts.max()) / 2).argmax())


def _unique(names: list[str]) -> list[str]:
    """Repeated header names made unique as pandas does for CSV files (``Qty``, ``Qty.1``)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        out.append(n if k == 0 else f"{n}.{k}")
        seen[n] = k + 1
    return out


def _refuse_nameless(p: Path, book: pd.ExcelFile, sheet: str, head: int, header: pd.Series, col: int) -> None:
    """A data column without a header cell: name the merged range that hides it when the workbook records one."""
    merged = []
    try:
        merged = book.book.get_sheet_by_name(sheet).merged_cell_ranges or []
    except Exception:  # noqa: BLE001 - merge information is optional (not every format records it)
        merged = []
    for (r0, c0), (r1, c1) in merged:
        if r0 <= head <= r1 and c0 <= col <= c1:
            label = header.iloc[c0] if c0 < len(header) else None
            raise IngestError(f"{where(p, True, head - 1)}, columns {column_letter(c0)}..{column_letter(c1)}: merged header "
                              f"cells {column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1} ({label!r}); every column needs its "
                              "own header cell in one row: unmerge them and name each column")
    raise IngestError(f"{where(p, True, head - 1)}, column {column_letter(col)}: no header above data (merged header "
                      "cells?); every column needs its own header cell in one row")
