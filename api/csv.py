"""JSON records and formula-safe CSV from frames: CSV when asked with ``Accept: text/csv`` or ``?format=csv``."""
from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from fastapi import Request
from fastapi.responses import Response

from api.problems import bad_request
from data.exports import csv_safe

CSV = "text/csv"
FORMATS = ("json", "csv")


def wants_csv(request: Request, fmt: str | None) -> bool:
    """``?format=csv`` (or ``json``) wins; else an ``Accept`` header naming text/csv before JSON."""
    if fmt:
        if fmt not in FORMATS:
            raise bad_request(f"format must be json or csv, got {fmt!r}", "query.format")
        return fmt == "csv"
    accept = request.headers.get("accept", "").lower()
    return CSV in accept and (accept.find(CSV) < accept.find("json") if "json" in accept else True)


def cell(value):
    """A JSON-safe scalar: NaN/NaT/inf -> None, timestamps -> ISO text (a date when there is no time part)."""
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return None
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (list, dict, str, int)):
        return value
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def records(df: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    """``df`` (or its ``columns``) as a list of JSON-safe dicts."""
    frame = df if columns is None else df[[c for c in columns if c in df.columns]]
    names = list(frame.columns)
    return [{k: cell(v) for k, v in zip(names, row)} for row in frame.itertuples(index=False, name=None)]


def csv_text(df: pd.DataFrame, header: bool = True) -> str:
    """``df`` as formula-safe CSV text (dates as ISO dates)."""
    out = csv_safe(df)
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            ts = out[col]
            out[col] = ts.dt.strftime("%Y-%m-%d") if (ts.dropna() == ts.dropna().dt.normalize()).all() \
                else ts.dt.strftime("%Y-%m-%dT%H:%M:%S")
    buf = io.StringIO()
    out.to_csv(buf, index=False, header=header, lineterminator="\n")
    return buf.getvalue()


def csv_response(df: pd.DataFrame, filename: str) -> Response:
    """A CSV download of ``df``."""
    return Response(csv_text(df), media_type=f"{CSV}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


CSV_CONTENT = {CSV: {"schema": {"type": "string", "description": "formula-safe CSV, one header row"}}}
