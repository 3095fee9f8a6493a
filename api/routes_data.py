"""Read routes over the data: health (open), datasets, node search, a node's history, effects."""
from __future__ import annotations

import datetime as dt
from urllib.parse import unquote

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, Response

from api import csv, deps
from api.problems import NOT_FOUND, READ_ERRORS, bad_request, not_found
from api.schemas import Dataset, EffectsOut, Health, NodePage, SeriesOut
from data import api_views, store
from domain import LEVELS, Frames

router = APIRouter()
_CSV = {200: {"content": csv.CSV_CONTENT}}


@router.get("/health", tags=["ops"], response_model=Health,
            responses={503: {"model": Health, "description": "The database is unreachable"}},
            summary="Database reachable, current run and data freshness (open)")
def health(response: Response) -> dict:
    reachable, run, latest = True, None, None
    try:
        if store.db_exists():
            run, latest = store.current_run(), store.latest_dataset()
    except Exception:  # noqa: BLE001 - a load balancer needs an answer, not a traceback
        reachable = False
        response.status_code = 503
    return {"status": "ok" if reachable else "unavailable", "database": reachable,
            "run_id": None if run is None else run.get("run_id"),
            "run_finished_at": None if run is None else csv.cell(run.get("finished_at")),
            "dataset": None if latest is None else latest.get("name"),
            "data_end": None if latest is None else csv.cell(latest.get("end_date")),
            "imported_at": None if latest is None else csv.cell(latest.get("imported_at"))}


@router.get("/datasets", tags=["data"], response_model=list[Dataset], responses={**READ_ERRORS, **_CSV},
            summary="The import log, newest first", dependencies=[Depends(deps.viewer)])
def datasets(request: Request, format: str | None = None):
    cols = ["id", "name", "source", "frequency", "start_date", "end_date", "rows_read", "rows_written",
            "rows_rejected", "duplicates", "n_series", "n_stores", "n_products", "imported_at"]
    df = store.datasets() if store.db_exists() else pd.DataFrame(columns=cols)
    if csv.wants_csv(request, format):
        return csv.csv_response(df[[c for c in cols if c in df]], "datasets.csv")
    return csv.records(df, cols)


def _check_level(level: str | None, field: str = "query.level") -> None:
    if level is not None and level not in LEVELS:
        raise bad_request(f"unknown level {level!r}: use one of {', '.join(LEVELS)}", field)


@router.get("/nodes", tags=["data"], response_model=NodePage, responses={**READ_ERRORS, **_CSV},
            summary="Search the hierarchy: nodes of a level whose key or label contains q",
            dependencies=[Depends(deps.viewer)])
def nodes(request: Request, level: str | None = None, q: str | None = Query(None, max_length=200),
          limit: int = Query(100, ge=1, le=10000), offset: int = Query(0, ge=0), format: str | None = None):
    _check_level(level)
    df, total = api_views.find_nodes(level, q, limit, offset)
    if csv.wants_csv(request, format):
        return csv.csv_response(df, "nodes.csv")
    return {"total": total, "limit": limit, "offset": offset, "nodes": csv.records(df)}


def path_key(request: Request, key: str) -> str:
    """The ``{key:path}`` parameter decoded exactly once from the raw request path.

    A key whose id holds ``/`` or ``=`` carries them escaped (``store=1%2Fproduct%3DB``); a client sends the key
    URL-encoded (its ``%`` as ``%25``). Servers and test clients differ in how often they decode a path, so the key
    is taken from ``raw_path`` (the bytes on the wire) after the route's literal prefix.
    """
    raw, route = request.scope.get("raw_path"), request.scope.get("route")
    if not raw or route is None:
        return key
    prefix = route.path_format.split("{", 1)[0]
    text = raw.decode("latin-1").split("?", 1)[0]
    at = text.find(prefix)
    return key if at < 0 else unquote(text[at + len(prefix):])


def node_or_404(key: str) -> dict:
    """The node ``key`` or a 404 problem naming it."""
    row = api_views.node_row(key)
    if row is None:
        raise not_found(f"unknown series key {key!r}: list keys with GET /api/v1/nodes?q=...")
    return row


@router.get("/series/{key:path}", tags=["data"], response_model=SeriesOut,
            responses={**READ_ERRORS, **NOT_FOUND, **_CSV},
            summary="A node's history (ds, y and its covariates) between start and end",
            dependencies=[Depends(deps.viewer)])
def series(key: str, request: Request, start: dt.date | None = None, end: dt.date | None = None,
           format: str | None = None):
    key = path_key(request, key)
    node = node_or_404(key)
    if start and end and end < start:
        raise bad_request(f"end {end} is before start {start}", "query.end")
    df = store.series(key, start=start, end=end)
    if csv.wants_csv(request, format):
        return csv.csv_response(df.assign(key=key)[["key", *df.columns]], "series.csv")
    return {"key": key, "level": node["level"], "label": node["label"], "points": csv.records(df)}


@router.get("/effects", tags=["data"], response_model=EffectsOut, responses={**READ_ERRORS, **NOT_FOUND, **_CSV},
            summary="Promotion, holiday and weather effects with 95% intervals (from `cli.py effects`)",
            dependencies=[Depends(deps.viewer)])
def effects(request: Request, level: str = "category", format: str | None = None):
    _check_level(level)
    df = store.load_frame(Frames.EFFECTS, level, dtype={"group": str}) if store.db_exists() else None
    if df is None:
        raise not_found(f"no effects computed for level {level!r}: run `python cli.py effects --level {level}`")
    if csv.wants_csv(request, format):
        return csv.csv_response(df, f"effects-{level}.csv")
    return {"level": level, "effects": csv.records(df)}
