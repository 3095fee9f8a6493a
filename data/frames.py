"""Saved analysis frames: small result tables (effects, curves, quality report...) stored as JSON by name and level."""
from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from data import schema
from data.engine import get_engine, has_table, read_frame, utcnow
from data.writers import upsert_frame


def save_frame(session: Session, name: str, level: str, df: pd.DataFrame, data_hash_: str | None = None,
               digits: int = 10) -> None:
    """Store a small result frame (effects, curves, quality report...) under (name, level), numbers rounded to
    ``digits`` significant decimals (pandas' default; 15 keeps a float as computed)."""
    payload = df.to_json(orient="split", date_format="iso", index=False, double_precision=digits)
    upsert_frame(session, schema.AnalysisResult, pd.DataFrame([{
        "name": name, "level": level, "computed_at": utcnow(),
        "data_hash": data_hash_, "payload": payload}]))


def load_frame(name: str, level: str = "all", url: str | None = None, dtype: dict | None = None) -> pd.DataFrame | None:
    """A frame saved by :func:`save_frame`, or None when it was never computed.

    ``dtype`` (column -> type) keeps id columns as written: without it JSON text such as "01" is read as the number 1.
    """
    with get_engine(url).connect() as conn:
        row = conn.execute(select(schema.AnalysisResult.payload).where(
            schema.AnalysisResult.name == name, schema.AnalysisResult.level == level)).first()
    if row is None:
        return None
    return pd.read_json(io.StringIO(row[0]), orient="split", dtype=dtype if dtype is not None else True)


def analysis_index(url: str | None = None) -> pd.DataFrame:
    """What ``analysis_results`` holds: ``name, level, computed_at, data_hash`` (no payloads)."""
    if not has_table("analysis_results", url):
        return pd.DataFrame(columns=["name", "level", "computed_at", "data_hash"])
    t = schema.AnalysisResult
    return read_frame(select(t.name, t.level, t.computed_at, t.data_hash).order_by(t.name, t.level), url,
                      parse_dates=["computed_at"])
