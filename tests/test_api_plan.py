"""GET /api/v1/plan and GET /api/v1/inventory/orders: the plan and the inventory decisions through the API."""
from __future__ import annotations

import csv
import io

from tests.api_helpers import is_problem


def test_plan_rows_between_dates(client):
    from data import store
    body = client.get("/api/v1/plan", params={"start": "2023-01-01", "end": "2023-01-14"}).json()
    want = store.plan_rows("2023-01-01", "2023-01-14")
    assert len(body["rows"]) == len(want) > 0
    assert all("2023-01-01" <= r["date"] <= "2023-01-14" for r in body["rows"])
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/plan?start=2023-01-01&end=2023-01-14&format=csv").text)))
    assert len(rows) == len(want)
    assert is_problem(client.get("/api/v1/plan?start=2023-02-01&end=2023-01-01"), 422)["errors"][0]["field"] == \
        "query.end"


def test_inventory_orders_after_the_inventory_job(api_copy):
    from fastapi.testclient import TestClient

    from api.app import create_api
    from jobs import inventory_job
    c = TestClient(create_api(), base_url="http://127.0.0.1")
    assert "cli.py inventory" in is_problem(c.get("/api/v1/inventory/orders"), 404)["detail"]
    inventory_job.run_inventory(save=True)
    orders = c.get("/api/v1/inventory/orders").json()["orders"]
    assert len(orders) == 12 and orders[0]["store_id"] == "01"
    assert c.get("/api/v1/inventory/orders", headers={"Accept": "text/csv"}).text.startswith(
        ",".join(orders[0].keys())[:20])
