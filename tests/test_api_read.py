"""The read endpoints of /api/v1 on the small demo with one run: JSON, CSV, problem details, keys with '/' and '='."""
from __future__ import annotations

import csv
import io

from tests.api_helpers import is_problem

V1 = "/api/v1"
BOTTOM = "store=01/product=P001"


def test_health_reports_database_run_and_freshness(client, api_env):
    body = client.get(f"{V1}/health").json()
    assert body["status"] == "ok" and body["database"] is True
    assert body["run_id"] == api_env["run_id"]
    assert body["dataset"] == "demo" and body["data_end"] == "2022-12-31"


def test_health_on_a_missing_database_still_answers(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from api.app import create_api
    monkeypatch.setenv("SALES_DB", f"sqlite:///{tmp_path / 'none.db'}")
    body = TestClient(create_api(), base_url="http://127.0.0.1").get(f"{V1}/health").json()
    assert body["run_id"] is None and body["dataset"] is None


def test_datasets_json_and_csv(client):
    rows = client.get(f"{V1}/datasets").json()
    assert rows[0]["name"] == "demo" and rows[0]["frequency"] == "D" and rows[0]["n_series"] == 12
    r = client.get(f"{V1}/datasets?format=csv")
    assert r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert table[0]["name"] == "demo" and table[0]["start_date"] == "2021-01-01"


def test_nodes_by_level_and_query(client):
    body = client.get(f"{V1}/nodes", params={"level": "store"}).json()
    assert body["total"] == 3 and [n["node_id"] for n in body["nodes"]] == ["store=01", "store=02", "store=03"]
    found = client.get(f"{V1}/nodes", params={"q": "p001", "level": "store_product"}).json()
    assert found["total"] == 3 and all("P001" in n["node_id"] for n in found["nodes"])
    page = client.get(f"{V1}/nodes", params={"limit": 2, "offset": 1}).json()
    assert len(page["nodes"]) == 2 and page["total"] > 2 and page["nodes"][0]["level"] == "region"


def test_nodes_bad_level_is_a_field_level_problem(client):
    body = is_problem(client.get(f"{V1}/nodes", params={"level": "planet"}), 422)
    assert body["errors"][0]["field"] == "query.level" and "planet" in body["errors"][0]["message"]
    body = is_problem(client.get(f"{V1}/nodes", params={"limit": "many"}), 422)
    assert body["errors"][0]["field"] == "query.limit"


def test_series_of_a_bottom_key_with_slash_and_equals(client):
    body = client.get(f"{V1}/series/{BOTTOM}", params={"start": "2022-12-01", "end": "2022-12-07"}).json()
    assert body["key"] == BOTTOM and body["level"] == "store_product"
    assert [p["ds"] for p in body["points"]] == [f"2022-12-0{d}" for d in range(1, 8)]
    assert all(isinstance(p["y"], float) for p in body["points"])
    total = client.get(f"{V1}/series/total", params={"start": "2022-12-31"}).json()
    assert len(total["points"]) == 1 and total["points"][0]["y"] > 0


def test_series_csv_by_accept_header(client):
    r = client.get(f"{V1}/series/store=02", params={"start": "2022-12-30"}, headers={"Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["ds"] for row in rows] == ["2022-12-30", "2022-12-31"] and rows[0]["key"] == "store=02"


def test_series_errors(client):
    assert "store=09" in is_problem(client.get(f"{V1}/series/store=09"), 404)["detail"]
    body = is_problem(client.get(f"{V1}/series/total", params={"start": "2022-02-01", "end": "2022-01-01"}), 422)
    assert body["errors"][0]["field"] == "query.end"
    body = is_problem(client.get(f"{V1}/series/total", params={"start": "yesterday"}), 422)
    assert body["errors"][0]["field"] == "query.start"
    assert is_problem(client.get(f"{V1}/series/total", params={"format": "xml"}), 422)


def test_forecast_has_80_and_95_bounds(client, api_env):
    body = client.get(f"{V1}/forecasts/{BOTTOM}").json()
    assert body["run_id"] == api_env["run_id"] and body["model"] == "final" and "final" in body["models"]
    assert len(body["points"]) == 14 and body["points"][0]["ds"] == "2023-01-01"
    for p in body["points"]:
        assert p["yhat_lo_95"] <= p["yhat_lo_80"] <= p["yhat"] <= p["yhat_hi_80"] <= p["yhat_hi_95"]
    base = client.get(f"{V1}/forecasts/total", params={"model": "lgbm", "run": api_env["run_id"]}).json()
    assert base["model"] == "lgbm" and len(base["points"]) == 14


def test_forecast_csv_and_errors(client):
    rows = list(csv.DictReader(io.StringIO(client.get(f"{V1}/forecasts/region=North?format=csv").text)))
    assert len(rows) == 14 and rows[0]["series_id"] == "region=North" and float(rows[0]["yhat_hi_95"]) > 0
    assert "nope" in is_problem(client.get(f"{V1}/forecasts/total", params={"run": "nope"}), 404)["detail"]
    assert "stored" in is_problem(client.get(f"{V1}/forecasts/total", params={"model": "prophet"}), 404)["detail"]
    is_problem(client.get(f"{V1}/forecasts/store=01/product=NOPE"), 404)


def test_runs_run_and_metrics(client, api_env):
    rid = api_env["run_id"]
    runs = client.get(f"{V1}/runs").json()["runs"]
    assert runs[0]["run_id"] == rid and runs[0]["status"] == "success" and runs[0]["is_current"] is True
    run = client.get(f"{V1}/runs/{rid}").json()
    assert run["params"]["horizon"] == 14 and run["progress"] == 1.0
    metrics = client.get(f"{V1}/runs/{rid}/metrics").json()
    assert {m["model"] for m in metrics["models"]} == {"lgbm", "seasonal_naive"}
    assert all(0 <= m["wape"] < 5 for m in metrics["models"])
    level = client.get(f"{V1}/runs/{rid}/metrics", params={"level": "store"}).json()
    assert sum(m["n_series"] for m in level["models"]) == 6  # 3 stores x 2 models
    assert client.get(f"{V1}/runs?format=csv").text.startswith("run_id,")
    is_problem(client.get(f"{V1}/runs/nope"), 404)
    is_problem(client.get(f"{V1}/runs/nope/metrics"), 404)


def test_effects_with_intervals(client):
    body = client.get(f"{V1}/effects", params={"level": "category"}).json()
    lifts = [e for e in body["effects"] if e["kind"] == "promo_lift" and e["name"] == "promotion"]
    assert lifts and all(e["ci_low"] <= e["estimate"] <= e["ci_high"] for e in lifts)
    assert "cli.py effects --level store" in is_problem(client.get(f"{V1}/effects?level=store"), 404)["detail"]
    is_problem(client.get(f"{V1}/effects?level=galaxy"), 422)


def test_health_is_503_when_the_database_is_unreachable(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from api.app import create_api
    (tmp_path / "broken.db").write_bytes(b"this is not a database file" * 100)
    monkeypatch.setenv("SALES_DB", f"sqlite:///{tmp_path / 'broken.db'}")
    r = TestClient(create_api(), base_url="http://127.0.0.1").get(f"{V1}/health")
    assert r.status_code == 503 and r.json()["status"] == "unavailable" and r.json()["database"] is False
