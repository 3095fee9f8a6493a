"""Refresh runs: create, follow, publish or fail a run, the run history, and pruning old runs' results.

Status updates commit at once in their own short transaction so the UI can follow a refresh. A run becomes
visible only when :func:`publish_run` flips ``is_current`` in one transaction, so no reader ever sees a
half-written run.
"""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Boolean, DateTime, delete, insert, select
from sqlalchemy.exc import DBAPIError

from data import schema
from data.engine import get_engine, has_table, init_db, read_frame, session_scope, utcnow
from data.run_accuracy import save_run_accuracy
from domain import Frames

# Saved frames whose level is a run id: pruned with their run.
_PER_RUN_FRAMES = (Frames.FEATURE_IMPORTANCE, Frames.RUN_ACCURACY, Frames.RUN_ACCURACY_FOLDS)

_RUNS = schema.Run.__table__
# Built once (see data.engine.read_frame): every page read of the current run goes through these two.
_CURRENT = select(_RUNS).where(_RUNS.c.is_current.is_(True))
_CURRENT_ID = select(_RUNS.c.run_id).where(_RUNS.c.is_current.is_(True))


def create_run(run_id: str, params: dict, data_hash_: str | None, code_version: str | None,
               status: str = "running", url: str | None = None) -> None:
    """Insert a new run row (own transaction), not current; ``params`` is stored as JSON."""
    init_db(url)
    with session_scope(url=url) as s:
        s.execute(insert(schema.Run.__table__).values(
            run_id=run_id, started_at=utcnow(), status=status, is_current=False, data_hash=data_hash_,
            params=json.dumps(params, sort_keys=True, default=str), code_version=code_version, progress=0.0,
            progress_msg=status))


def update_progress(run_id: str, fraction: float, message: str | None = None, url: str | None = None) -> None:
    """Record a running refresh's progress (0..1) and a short message in its own short transaction."""
    with session_scope(url=url) as s:
        s.execute(schema.Run.__table__.update().where(schema.Run.__table__.c.run_id == run_id).values(
            progress=float(min(max(fraction, 0.0), 1.0)), progress_msg=(message or "")[:300]))


def publish_run(run_id: str, n_series: int, duration_s: float, metrics: dict | None = None,
                url: str | None = None) -> None:
    """In one transaction: mark ``run_id`` successful and current, the previous current run not current, and store
    the run's accuracy summaries for the pages (:func:`data.run_accuracy.save_run_accuracy`)."""
    runs_t = schema.Run.__table__
    with session_scope(url=url) as s:
        status = s.execute(select(runs_t.c.status).where(runs_t.c.run_id == run_id)).scalar_one_or_none()
        if status != "running":
            raise ValueError(f"cannot publish run {run_id!r}: its status is {status!r}, expected 'running'")
        s.execute(runs_t.update().where(runs_t.c.is_current.is_(True)).values(is_current=False))
        s.execute(runs_t.update().where(runs_t.c.run_id == run_id).values(
            status="success", is_current=True, finished_at=utcnow(), n_series=int(n_series),
            duration_s=float(duration_s), metrics=json.dumps(metrics or {}, default=float), progress=1.0,
            progress_msg="published"))
        save_run_accuracy(s, run_id)


def mark_failed(run_id: str, error: str, status: str = "failed", duration_s: float | None = None,
                url: str | None = None) -> None:
    """End a run that will not be published (status failed, cancelled or skipped); it never becomes current."""
    runs_t = schema.Run.__table__
    with session_scope(url=url) as s:
        s.execute(runs_t.update().where(runs_t.c.run_id == run_id).values(
            status=status, is_current=False, finished_at=utcnow(), error=(error or "")[:4000],
            duration_s=duration_s, progress_msg=status))


def abandon_running_runs(reason: str, url: str | None = None) -> list[str]:
    """Mark every run still ``running`` as failed with ``reason``; call only while holding the refresh lock,
    when no other refresh can be running (so these were left by a process that was killed or crashed)."""
    runs_t = schema.Run.__table__
    with session_scope(url=url) as s:
        ids = list(s.execute(select(runs_t.c.run_id).where(runs_t.c.status == "running")).scalars())
        if ids:
            s.execute(runs_t.update().where(runs_t.c.run_id.in_(ids)).values(
                status="failed", is_current=False, finished_at=utcnow(), error=reason, progress_msg="failed"))
    return ids


def running_run_ids(url: str | None = None) -> list[str]:
    """The ids of the runs whose status is ``running`` (empty when there is no ``runs`` table)."""
    if not has_table("runs", url):
        return []
    stmt = select(_RUNS.c.run_id).where(_RUNS.c.status == "running")
    return read_frame(stmt, url)["run_id"].tolist()


def _run_records(df: pd.DataFrame) -> pd.DataFrame:
    for col in ("params", "metrics"):
        if col in df:
            df[col] = df[col].map(lambda v: json.loads(v) if isinstance(v, str) and v else {})
    if "is_current" in df:
        df["is_current"] = df["is_current"].astype(bool)
    return df


def runs(limit: int = 100, url: str | None = None) -> pd.DataFrame:
    """The refresh history, newest first (``params`` and ``metrics`` parsed from JSON into dicts)."""
    if not has_table("runs", url):
        return pd.DataFrame(columns=[c.name for c in schema.Run.__table__.columns])
    stmt = select(schema.Run.__table__).order_by(schema.Run.started_at.desc()).limit(int(limit))
    return _run_records(read_frame(stmt, url, parse_dates=["started_at", "finished_at"]))


def run_info(run_id: str, url: str | None = None) -> dict | None:
    """One run as a dict (JSON fields parsed), or None."""
    df = _run_records(read_frame(select(schema.Run.__table__).where(schema.Run.run_id == run_id), url,
                            parse_dates=["started_at", "finished_at"]))
    return df.iloc[0].to_dict() if len(df) else None


def _first_current(stmt, url: str | None):
    """The first row of ``stmt`` over ``runs`` (None when there is none, or no ``runs`` table yet)."""
    try:
        with get_engine(url).connect() as conn:
            return conn.execute(stmt).first()
    except DBAPIError:
        if has_table("runs", url):
            raise
        return None


def _record_value(column, value):
    """One run field as a one-row frame of :func:`runs` gives it: datetimes as timestamps (NaT when missing),
    JSON parsed, ``is_current`` a bool, anything else as stored (None when missing)."""
    if column.name in ("params", "metrics"):
        return json.loads(value) if isinstance(value, str) and value else {}
    if isinstance(column.type, DateTime):
        return pd.Timestamp(value) if value is not None else pd.NaT
    if isinstance(column.type, Boolean):
        return bool(value)
    return value


def current_run(url: str | None = None) -> dict | None:
    """The published run the dashboard shows, as a dict, or None when there is none yet.

    Every page read of the current run calls this (or :func:`run_or_current`): one indexed row, turned into a
    dict field by field rather than through a frame (which cost about 10 ms a call in date parsing)."""
    row = _first_current(_CURRENT, url)
    if row is None:
        return None
    return {c.name: _record_value(c, v) for c, v in zip(_RUNS.columns, row)}


def run_or_current(run_id: str | None, url: str | None = None) -> str | None:
    """``run_id`` itself, else the current run's id (None when there is no published run)."""
    if run_id:
        return run_id
    row = _first_current(_CURRENT_ID, url)
    return row[0] if row is not None else None


def prune_runs(keep: int = 5, url: str | None = None) -> int:
    """Delete forecasts, metrics and diagnostics of all but the newest ``keep`` successful runs (and the current
    one) and of every unpublished run, with their saved feature importance; the run rows stay as history.
    Returns the number of runs pruned."""
    runs_t = schema.Run.__table__
    with session_scope(url=url) as s:
        keep_ids = set(s.execute(select(runs_t.c.run_id).where(runs_t.c.status == "success")
                                 .order_by(runs_t.c.started_at.desc()).limit(int(keep))).scalars().all())
        keep_ids |= set(s.execute(select(runs_t.c.run_id).where(
            (runs_t.c.is_current.is_(True)) | (runs_t.c.status == "running"))).scalars().all())
        drop = [r for r in s.execute(select(runs_t.c.run_id)).scalars().all() if r not in keep_ids]
        for table in (schema.Forecast, schema.BacktestMetric, schema.Selection, schema.Diagnostic,
                      schema.TuningTrial):
            for start in range(0, len(drop), 500):
                s.execute(delete(table.__table__).where(table.__table__.c.run_id.in_(drop[start:start + 500])))
        results = schema.AnalysisResult.__table__  # frames saved per run (level = run id)
        for start in range(0, len(drop), 500):
            s.execute(delete(results).where(results.c.name.in_(_PER_RUN_FRAMES),
                                            results.c.level.in_(drop[start:start + 500])))
    return len(drop)
