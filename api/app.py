"""Builds the FastAPI application of the REST API: OpenAPI at /api/openapi.json, docs at /api/docs, routes /api/v1.

Routes live in small modules (``routes_data``, ``routes_plan``, ``routes_forecasts``, ``routes_predict``, ``routes_runs``,
``routes_ops``); errors are RFC 9457 problem documents (:mod:`api.problems`); callers are identified and
their role checked by :mod:`api.deps`.
"""
from __future__ import annotations

from fastapi import FastAPI

from api import problems

API_PREFIX = "/api/v1"
TAGS = [{"name": "ops", "description": "Health (open), refresh and imports (analyst)"},
        {"name": "data", "description": "Datasets, hierarchy nodes, history, effects (viewer)"},
        {"name": "forecasts", "description": "Stored forecasts, batch, real-time predict (viewer)"},
        {"name": "runs", "description": "Refresh runs and their metrics (viewer)"}]


def create_api() -> FastAPI:
    """A new FastAPI app with every /api/v1 route registered (no work at import time)."""
    from api import routes_data, routes_forecasts, routes_ops, routes_plan, routes_predict, routes_runs
    api = FastAPI(title="Sales Forecasting API", version="1", openapi_url="/api/openapi.json",
                  docs_url="/api/docs", redoc_url=None, openapi_tags=TAGS,
                  description="Forecasts, history and runs of the sales-forecasting product. Send "
                              "`Authorization: Bearer <token>` (`python cli.py token create NAME`); errors are "
                              "RFC 9457 problem details; add `?format=csv` or `Accept: text/csv` for CSV.")
    problems.install(api)
    for module in (routes_data, routes_plan, routes_forecasts, routes_predict, routes_runs, routes_ops):
        api.include_router(module.router, prefix=API_PREFIX)
    return api
