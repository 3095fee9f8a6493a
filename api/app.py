"""Builds the FastAPI application of the REST API: OpenAPI at /api/openapi.json, docs at /api/docs, routes /api/v1."""
from __future__ import annotations

from fastapi import APIRouter, FastAPI

API_PREFIX = "/api/v1"


def create_api() -> FastAPI:
    """A new FastAPI app with every /api/v1 route registered (no work at import time)."""
    api = FastAPI(title="Sales Forecasting API", version="1", openapi_url="/api/openapi.json",
                  docs_url="/api/docs", redoc_url=None)
    router = APIRouter(prefix=API_PREFIX)

    @router.get("/health", tags=["ops"], summary="Database reachable, current run and data freshness (open)")
    def health() -> dict:
        from data import store
        reachable = True
        try:
            run = store.current_run() if store.db_exists() else None
        except Exception:  # noqa: BLE001 - a load balancer needs an answer, not a traceback
            reachable, run = False, None
        return {"status": "ok" if reachable else "unavailable", "database": reachable,
                "run_id": None if run is None else run.get("id")}

    api.include_router(router)
    return api
