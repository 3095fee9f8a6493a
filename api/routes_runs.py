"""Run routes: the refresh history, one run (poll a refresh started with POST /refresh) and its metrics."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from api import csv, deps
from api.problems import NOT_FOUND, READ_ERRORS, not_found
from api.routes_data import _check_level
from api.schemas import Run, RunList, RunMetrics
from data import store

router = APIRouter()
RUN_COLS = ["run_id", "status", "is_current", "started_at", "finished_at", "progress", "progress_msg", "n_series",
            "duration_s", "error", "data_hash", "code_version", "params", "metrics"]


def _run(run_id: str) -> dict:
    info = store.run_info(run_id) if store.db_exists() else None
    if info is None:
        raise not_found(f"unknown run {run_id!r}: list runs with GET /api/v1/runs")
    return {k: csv.cell(info.get(k)) for k in RUN_COLS}


@router.get("/runs", tags=["runs"], response_model=RunList, responses={**READ_ERRORS, 200: {"content": csv.CSV_CONTENT}},
            summary="The refresh history, newest first", dependencies=[Depends(deps.viewer)])
def runs(request: Request, limit: int = Query(100, ge=1, le=1000), format: str | None = None):
    import pandas as pd
    df = store.runs(limit=limit) if store.db_exists() else pd.DataFrame(columns=RUN_COLS)
    if csv.wants_csv(request, format):
        return csv.csv_response(df[[c for c in RUN_COLS if c in df and c not in ("params", "metrics")]], "runs.csv")
    return {"runs": csv.records(df, RUN_COLS)}


@router.get("/runs/{run_id}", tags=["runs"], response_model=Run, responses={**READ_ERRORS, **NOT_FOUND},
            summary="One run: status, progress (poll a started refresh here), parameters and summary",
            dependencies=[Depends(deps.viewer)])
def run(run_id: str) -> dict:
    return _run(run_id)


@router.get("/runs/{run_id}/metrics", tags=["runs"], response_model=RunMetrics,
            responses={**READ_ERRORS, **NOT_FOUND, 200: {"content": csv.CSV_CONTENT}},
            summary="Backtest metrics of a run per model (optionally of one level), and its metric summary",
            dependencies=[Depends(deps.viewer)])
def run_metrics(run_id: str, request: Request, level: str | None = None, format: str | None = None):
    info = _run(run_id)
    _check_level(level)
    df = store.model_summary(run_id=run_id, level=level)
    if csv.wants_csv(request, format):
        return csv.csv_response(df.assign(run_id=run_id)[["run_id", *df.columns]], "metrics.csv")
    return {"run_id": run_id, "level": level, "models": csv.records(df),
            "summary": (info.get("metrics") or {}).get("metrics", {}) if isinstance(info.get("metrics"), dict) else {}}
