"""Read routes over the plan and the inventory decisions (what exists from the Plan and Inventory work)."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request

from api import csv, deps
from api.problems import NOT_FOUND, READ_ERRORS, bad_request, not_found
from api.schemas import InventoryOrdersOut, PlanOut
from data import store
from domain import Frames

router = APIRouter()
_CSV = {200: {"content": csv.CSV_CONTENT}}


@router.get("/plan", tags=["data"], response_model=PlanOut, responses={**READ_ERRORS, **_CSV},
            summary="The plan as stored (promotions, prices, closures, events, unit costs) between start and end",
            dependencies=[Depends(deps.viewer)])
def plan(request: Request, start: dt.date | None = None, end: dt.date | None = None, format: str | None = None):
    if start and end and end < start:
        raise bad_request(f"end {end} is before start {start}", "query.end")
    df = store.plan_rows(start, end) if store.db_exists() else None
    if df is None:
        return {"rows": []}
    if csv.wants_csv(request, format):
        return csv.csv_response(df, "plan.csv")
    return {"rows": csv.records(df)}


@router.get("/inventory/orders", tags=["data"], response_model=InventoryOrdersOut,
            responses={**READ_ERRORS, **NOT_FOUND, **_CSV},
            summary="Today's recommended orders per store x product (from `cli.py inventory`)",
            dependencies=[Depends(deps.viewer)])
def inventory_orders(request: Request, format: str | None = None):
    ids = {"store_id": str, "product_id": str}
    df = store.load_frame(Frames.INVENTORY_ORDERS, "all", dtype=ids) if store.db_exists() else None
    if df is None:
        raise not_found("no inventory orders computed yet: run `python cli.py inventory`")
    if csv.wants_csv(request, format):
        return csv.csv_response(df, "inventory-orders.csv")
    return {"orders": csv.records(df)}
