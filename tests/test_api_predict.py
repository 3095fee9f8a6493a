"""POST /api/v1/predict: a fresh forecast from the current run's stored models (no refit), with a plan."""
from __future__ import annotations

import numpy as np
import pytest

from tests.api_helpers import is_problem

URL = "/api/v1/predict"
BOTTOM = "store=01/product=P001"


@pytest.mark.parametrize("key", [BOTTOM, "store=02", "total"])
def test_predict_without_plan_reproduces_the_stored_base_forecast(client, key):
    from data import store
    body = client.post(URL, json={"key": key}).json()
    assert body["reconciled"] is False and body["plan_applied"] == {"promotion": 0, "price": 0, "closure": 0}
    stored = store.forecast(key, model=body["model"])  # the chosen model's base forecast written by the refresh
    got = np.array([[p[c] for c in ("yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95")]
                    for p in body["points"]])
    want = stored[["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_predict_with_a_promotion_a_price_and_a_closure(client):
    base = client.post(URL, json={"key": BOTTOM, "horizon": 10}).json()["points"]
    plan = {"promotions": [{"start": "2023-01-03", "end": "2023-01-05", "depth": 0.3}],
            "price": [{"start": "2023-01-03", "end": "2023-01-05", "price": 1.0}],
            "closures": [{"start": "2023-01-08", "end": "2023-01-08"}]}
    body = client.post(URL, json={"key": BOTTOM, "horizon": 10, "plan": plan}).json()
    pts = body["points"]
    assert len(pts) == 10 and body["plan_applied"] == {"promotion": 1, "price": 1, "closure": 1}
    assert pts[7]["ds"] == "2023-01-08" and pts[7]["yhat"] == 0 and pts[7]["yhat_hi_95"] == 0
    promo = slice(2, 5)
    assert sum(p["yhat"] for p in pts[promo]) > sum(p["yhat"] for p in base[promo])
    assert [p["yhat"] for p in pts[:2]] == [p["yhat"] for p in base[:2]]  # days before the plan: unchanged
    for p in pts:
        assert p["yhat_lo_95"] <= p["yhat_lo_80"] <= p["yhat"] <= p["yhat_hi_80"] <= p["yhat_hi_95"]


def test_a_store_closure_zeroes_an_aggregate(client):
    plan = {"closures": [{"start": "2023-01-02", "end": "2023-01-03"}]}
    pts = client.post(URL, json={"key": "store=03", "plan": plan}).json()["points"]
    assert [p["yhat"] for p in pts[1:3]] == [0, 0] and pts[0]["yhat"] > 0 and pts[3]["yhat"] > 0


def test_predict_refusals_name_the_field(client):
    body = is_problem(client.post(URL, json={"key": BOTTOM, "plan": {
        "promotions": [{"start": "2024-05-01", "end": "2024-05-02"}]}}), 422)
    assert body["errors"][0]["field"] == "body.plan.promotions.0" and "outside the forecast horizon" in body["detail"]
    body = is_problem(client.post(URL, json={"key": BOTTOM, "horizon": 99}), 422)
    assert body["errors"][0]["field"] == "body.horizon" and "14" in body["detail"]
    body = is_problem(client.post(URL, json={"key": BOTTOM, "plan": {
        "promotions": [{"start": "2023-01-02", "end": "2023-01-03", "depth": 1.5}]}}), 422)
    assert body["errors"][0]["field"].startswith("body.plan.promotions.0.depth")
    body = is_problem(client.post(URL, json={"key": BOTTOM, "plan": {
        "promotions": [{"start": "2023-01-02", "end": "2023-01-03"}],
        "closures": [{"start": "2023-01-03", "end": "2023-01-03"}]}}), 422)
    assert "overlaps" in body["detail"]
    is_problem(client.post(URL, json={"key": "store=01/product=P999"}), 404)
    is_problem(client.post(URL, json={"horizon": 3}), 422)


def test_predict_without_a_run_is_404(tmp_db):
    from fastapi.testclient import TestClient

    from api.app import create_api
    from data import demo
    demo.generate(seed=1, n_stores=1, n_products=1, years=1, url=tmp_db, progress=False)
    body = is_problem(TestClient(create_api(), base_url="http://127.0.0.1").post(URL, json={"key": "total"}), 404)
    assert "refresh" in body["detail"]
