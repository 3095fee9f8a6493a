"""Ops routes (analyst): start a background refresh, import a sales file; both are audited."""
from __future__ import annotations

import json
import re

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse

import auth
import config
from api import deps
from api.problems import CONFLICT, READ_ERRORS, Problem, bad_request
from api.schemas import ImportOut, RefreshOut, RefreshRequest
from data import accounts, store

router = APIRouter()
_RUN_URL = "/api/v1/runs/{}"
_MODELS = re.compile(r"[A-Za-z0-9_,+ ]{1,200}")


def _actor(who: auth.Principal) -> str:
    return "open" if who.via == "open" else who.name


@router.post("/refresh", tags=["ops"], status_code=202, response_model=RefreshOut,
             responses={**READ_ERRORS, **CONFLICT},
             summary="Start a forecast refresh in a background process (analyst); poll GET /api/v1/runs/{id}")
def refresh(body: RefreshRequest | None = None, who: auth.Principal = Depends(deps.analyst)):
    from jobs import refresh_process, runner
    body = body or RefreshRequest()
    if body.models is not None and not _MODELS.fullmatch(body.models):
        raise bad_request("models: comma-separated model names (letters, digits, _)", "body.models")
    if not store.db_exists():
        raise Problem(409, f"no sales data in {store.resolve_url()}: import data first", kind="no-data")
    run_id = runner.new_run_id()
    proc = refresh_process.start(run_id, force=body.force, horizon=body.horizon, models=body.models)
    state = refresh_process.wait_started(run_id, proc)
    if state == "ended":
        holder = store.lock_info("refresh") or {}
        raise Problem(409, "the refresh did not start: another refresh is running"
                      + (f" ({holder.get('owner')})" if holder else "") + "; see GET /api/v1/runs", kind="locked")
    accounts.record_audit(_actor(who), "refresh.start", {"run_id": run_id, "force": body.force,
                                                         "horizon": body.horizon, "models": body.models})
    info = store.run_info(run_id)
    status = info["status"] if info else "starting"
    return JSONResponse({"run_id": run_id, "status": status, "poll": _RUN_URL.format(run_id)}, status_code=202,
                        headers={"Location": _RUN_URL.format(run_id)})


@router.post("/imports", tags=["ops"], status_code=201, response_model=ImportOut,
             responses={**READ_ERRORS, 400: READ_ERRORS[422] | {"description": "The file was refused (nothing written)"}},
             summary="Import a long-format sales file (multipart upload with a field=COLUMN mapping) (analyst)")
def imports(file: UploadFile = File(..., description=".csv, .csv.gz, .parquet or a workbook (.xlsx, .xls, .ods), "
                                                     "one row per store, product, date"),
            mapping: str = Form(..., description="field=COLUMN pairs, e.g. date=Date,sales=Units,store=Store"),
            extra: str = Form("", description="extra numeric columns kept as covariates"),
            dayfirst: bool = Form(False), name: str | None = Form(None, max_length=200),
            freq: str | None = Form(None, description="D or W (default: detected)"),
            sheet: str | None = Form(None, max_length=200, description="the sheet of a workbook (default: the first)"),
            dry_run: bool = Form(False), who: auth.Principal = Depends(deps.analyst)):
    from data import ingest, uploads
    limit = config.load().max_upload_bytes
    raw = file.file.read(limit + 1)
    label = file.filename or "upload.csv"
    if len(raw) > limit:
        raise Problem(413, f"{label}: the file is over the upload limit of {limit // (1024 * 1024)} MB "
                      "(raise it with SALES_MAX_UPLOAD_MB)", kind="too-large")
    upload = uploads.save(raw, label)
    try:
        summary = ingest.ingest_csv(upload.path, mapping=mapping, extra=extra, dayfirst=dayfirst,
                                    dataset_name=name or None, frequency=freq or None, dry_run=dry_run,
                                    sheet=sheet or None)
    except (ValueError, FileNotFoundError) as exc:
        raise Problem(400, uploads.shown(str(exc), upload), kind="import-refused",
                      title="Import refused") from None
    finally:
        uploads.delete(upload.id)
    if not dry_run:
        accounts.record_audit(_actor(who), "import.csv", {"file": upload.name, "dataset": summary.get("dataset"),
                                                          "rows_valid": summary.get("rows_valid")})
    return JSONResponse(json.loads(json.dumps(summary, default=str)), status_code=200 if dry_run else 201)
