"""Forecast routes: one key's stored forecast, the streamed batch over many keys, and the real-time predict."""
from __future__ import annotations

import json
from typing import Iterator

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api import csv, deps
from api.problems import NOT_FOUND, READ_ERRORS, bad_request, not_found
from api.routes_data import _check_level, node_or_404, path_key
from api.schemas import BatchOut, BatchRequest, ForecastOut
from data import api_views, store
from domain import FORECAST_COLS

router = APIRouter()
POINT_COLS = [c for c in FORECAST_COLS if c != "series_id"]
MAX_KEYS = 20000


def run_or_404(run: str | None) -> str:
    """``run`` when it exists, else the current run's id; 404 problems otherwise."""
    if run:
        if not store.db_exists() or store.run_info(run) is None:
            raise not_found(f"unknown run {run!r}: list runs with GET /api/v1/runs")
        return run
    cur = store.current_run() if store.db_exists() else None
    if cur is None:
        raise not_found("no published run yet: start one with POST /api/v1/refresh or `python cli.py refresh`")
    return cur["run_id"]


@router.get("/forecasts/{key:path}", tags=["forecasts"], response_model=ForecastOut,
            responses={**READ_ERRORS, **NOT_FOUND, 200: {"content": csv.CSV_CONTENT}},
            summary="A node's stored forecast with 80% and 95% bounds (current run unless run= is given)",
            dependencies=[Depends(deps.viewer)])
def forecast(key: str, request: Request, run: str | None = None, model: str = Query("final", max_length=120),
             format: str | None = None):
    key = path_key(request, key)
    node_or_404(key)
    rid = run_or_404(run)
    df = store.forecast(key, run_id=rid, model=model)
    if df.empty:
        models = store.forecast_models(key, run_id=rid)
        if not models:
            raise not_found(f"run {rid} has no forecast for {key!r} (its level was not forecast)")
        raise not_found(f"run {rid} has no {model!r} forecast for {key!r}; stored: {', '.join(models)}")
    if csv.wants_csv(request, format):
        return csv.csv_response(df.assign(series_id=key, run_id=rid, model=model)
                                [["run_id", "series_id", "model", *POINT_COLS]], "forecast.csv")
    return {"key": key, "run_id": rid, "model": model, "models": store.forecast_models(key, run_id=rid),
            "points": csv.records(df, POINT_COLS)}


def _batch_keys(body: BatchRequest) -> list[str]:
    if (body.keys is None) == (body.level is None):
        raise bad_request("give either keys (a list of series keys) or level, not both and not neither", "body.keys")
    if body.level is not None:
        _check_level(body.level, "body.level")
        return api_views.level_keys(body.level)
    keys = list(dict.fromkeys(body.keys))
    if not keys:
        raise bad_request("keys is empty", "body.keys")
    missing = api_views.missing_nodes(keys)
    if missing:
        shown = ", ".join(repr(k) for k in missing[:5])
        raise not_found(f"{len(missing)} unknown series key(s): {shown}")
    return keys


def _points(frame) -> Iterator[tuple[str, list[dict]]]:
    """``(key, points)`` per series of a key-ordered chunk, built from plain arrays (one pass, no groupby)."""
    keys = frame["series_id"].to_numpy()
    days = [d.isoformat() if hasattr(d, "isoformat") else str(d) for d in frame["ds"].to_numpy()]
    values = frame[POINT_COLS[1:]].to_numpy(dtype=float)
    finite = np.isfinite(values)
    names = POINT_COLS[1:]
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            yield keys[start], [{"ds": days[j], **{n: (float(v) if ok else None) for n, v, ok in
                                                   zip(names, values[j], finite[j])}} for j in range(start, i)]
            start = i


def _json_chunks(rid: str, model: str, start, end, parts) -> Iterator[bytes]:
    head = {"run_id": rid, "model": model, "start": csv.cell(start), "end": csv.cell(end)}
    yield (json.dumps(head)[:-1] + ', "series": [').encode()
    sep = " "
    for frame in parts:
        if frame.empty:
            continue
        text = ", ".join(json.dumps({"key": key, "points": pts}) for key, pts in _points(frame))
        yield (sep + text).encode()
        sep = ", "
    yield b"]}"


def _csv_chunks(parts) -> Iterator[bytes]:
    header = True
    for frame in parts:
        if len(frame) or header:
            yield csv.csv_text(frame.rename(columns={"series_id": "key"}), header=header).encode()
            header = False


@router.post("/forecasts:batch", tags=["forecasts"], response_model=BatchOut,
             responses={**READ_ERRORS, **NOT_FOUND, 200: {"content": csv.CSV_CONTENT}},
             summary="Stored forecasts of many keys (or a whole level) over a horizon slice, streamed as JSON or CSV",
             dependencies=[Depends(deps.viewer)])
def forecasts_batch(body: BatchRequest, request: Request, format: str | None = None):
    as_csv = csv.wants_csv(request, format or body.format)
    rid = run_or_404(body.run)
    keys = _batch_keys(body)
    dates = api_views.forecast_dates(rid, body.model)
    if not dates:
        raise not_found(f"run {rid} has no {body.model!r} forecasts")
    first = body.start_step - 1
    if first >= len(dates):
        raise bad_request(f"start_step {body.start_step} is beyond the run's horizon of {len(dates)} steps",
                          "body.start_step")
    last = len(dates) - 1 if body.horizon is None else min(len(dates) - 1, first + body.horizon - 1)
    start, end = dates[first], dates[last]
    parts = api_views.stream_forecasts(rid, keys, body.model, start, end)
    if as_csv:
        return StreamingResponse(_csv_chunks(parts), media_type=f"{csv.CSV}; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="forecasts.csv"'})
    return StreamingResponse(_json_chunks(rid, body.model, start, end, parts), media_type="application/json")
