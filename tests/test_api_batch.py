"""POST /api/v1/forecasts:batch: keys or a level, a horizon slice, JSON or CSV, streamed; errors as problems."""
from __future__ import annotations

import csv
import io

from tests.api_helpers import is_problem

URL = "/api/v1/forecasts:batch"


def test_batch_of_a_level_matches_the_single_reads(client):
    r = client.post(URL, json={"level": "store_product"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert len(body["series"]) == 12 and body["start"] == "2023-01-01" and body["end"] == "2023-01-14"
    one = client.get("/api/v1/forecasts/store=02/product=P003").json()["points"]
    got = next(s for s in body["series"] if s["key"] == "store=02/product=P003")["points"]
    assert got == one


def test_batch_keys_keep_request_order_and_slice_the_horizon(client):
    keys = ["store=03", "total", "store=01/product=P002"]
    body = client.post(URL, json={"keys": keys, "start_step": 3, "horizon": 4}).json()
    assert [s["key"] for s in body["series"]] == keys
    assert body["start"] == "2023-01-03" and body["end"] == "2023-01-06"
    assert all([p["ds"] for p in s["points"]] == ["2023-01-03", "2023-01-04", "2023-01-05", "2023-01-06"]
               for s in body["series"])


def test_batch_csv_by_format_and_by_accept(client):
    for kwargs in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        r = client.post(URL, json={"level": "store", "horizon": 2}, **kwargs)
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == 6 and rows[0]["key"] == "store=01" and rows[0]["ds"] == "2023-01-01"
        assert set(rows[0]) == {"key", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"}
    body_format = client.post(URL, json={"keys": ["total"], "format": "csv"})
    assert body_format.text.count("\n") == 15  # header + 14 days


def test_batch_errors(client):
    assert "store=99" in is_problem(client.post(URL, json={"keys": ["total", "store=99"]}), 404)["detail"]
    body = is_problem(client.post(URL, json={"keys": ["total"], "level": "store"}), 422)
    assert body["errors"][0]["field"] == "body.keys"
    is_problem(client.post(URL, json={}), 422)
    body = is_problem(client.post(URL, json={"level": "store", "start_step": 0}), 422)
    assert body["errors"][0]["field"] == "body.start_step"
    assert "beyond" in is_problem(client.post(URL, json={"level": "store", "start_step": 15}), 422)["detail"]
    is_problem(client.post(URL, json={"level": "store", "run": "nope"}), 404)
    is_problem(client.post(URL, content=b"not json", headers={"Content-Type": "application/json"}), 422)
