"""Ops endpoints: POST /api/v1/imports (the CLI's validation and messages, nothing written on error) and
POST /api/v1/refresh (a child process under a returned run id, polled with GET /api/v1/runs/{id}); both audited."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.api_helpers import is_problem

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "tests" / "data" / "shop_daily.csv"
MAP = "date=Date,sales=Sales,store=Store"


def _client():
    from fastapi.testclient import TestClient

    from api.app import create_api
    return TestClient(create_api(), base_url="http://127.0.0.1")


def _digest(url: str) -> tuple:
    db = Path(url.removeprefix("sqlite:///"))
    wal = db.with_name(db.name + "-wal")
    return (hashlib.sha256(db.read_bytes()).hexdigest(),
            hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() and wal.stat().st_size else None)


def test_import_a_csv_upload(tmp_db, tmp_path, monkeypatch):
    from data import accounts, store
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    r = _client().post("/api/v1/imports", files={"file": ("shop_daily.csv", SHOP.read_bytes(), "text/csv")},
                       data={"mapping": MAP, "name": "shop"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["dataset"] == "shop" and body["rows_valid"] > 0 and body["rows_rejected"] == 0
    assert store.datasets()["name"].tolist() == ["shop"]
    audit = accounts.audit_log()
    assert audit["action"].tolist() == ["import.csv"] and audit["actor"].tolist() == ["open"]
    assert not any((tmp_path / "cache" / "uploads").iterdir())  # the upload is deleted afterwards


def test_a_refused_import_gives_the_cli_message_and_writes_nothing(api_copy, tmp_path, capsys):
    import cli
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Store,Date,Sales\n1,2023-01-08,10\n1,2023-01-09,lots\n")
    before = _digest(api_copy["env"]["SALES_DB"])
    assert cli.main(["ingest", "csv", str(bad), "--map", MAP]) == 2
    cli_message = capsys.readouterr().err.strip().removeprefix("error: ")
    assert cli_message.startswith(str(bad))
    r = _client().post("/api/v1/imports", files={"file": ("bad.csv", bad.read_bytes(), "text/csv")},
                       data={"mapping": MAP})
    body = is_problem(r, 400)
    assert body["detail"] == cli_message.replace(str(bad), "bad.csv")
    assert "line 3" in body["detail"]
    assert _digest(api_copy["env"]["SALES_DB"]) == before


def test_import_form_errors_are_field_level(api_copy):
    c = _client()
    body = is_problem(c.post("/api/v1/imports", files={"file": ("s.csv", b"a,b\n", "text/csv")}), 422)
    assert body["errors"][0]["field"] == "body.mapping"
    body = is_problem(c.post("/api/v1/imports", files={"file": ("s.csv", SHOP.read_bytes(), "text/csv")},
                             data={"mapping": "date=Date,sales=Nope"}), 400)
    assert "s.csv: line 1 (header), column 'Nope'" in body["detail"]


def test_refresh_runs_in_a_child_process_and_is_polled(api_copy):
    from data import accounts
    c = _client()
    r = c.post("/api/v1/refresh", json={"models": "seasonal_naive", "horizon": 7})
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    assert r.headers["location"] == f"/api/v1/runs/{run_id}" and r.json()["poll"] == r.headers["location"]
    deadline = time.monotonic() + 600
    while (run := c.get(f"/api/v1/runs/{run_id}").json())["status"] == "running":
        assert time.monotonic() < deadline, run
        time.sleep(1)
    assert run["status"] == "success" and run["is_current"] is True and run["params"]["horizon"] == 7
    assert c.get("/api/v1/health").json()["run_id"] == run_id
    entry = accounts.audit_log().iloc[0]
    assert entry["action"] == "refresh.start" and run_id in entry["detail"]


def test_refresh_while_another_runs_is_a_conflict(api_copy):
    from jobs.lock import RefreshLock
    lock = RefreshLock()
    assert lock.acquire()
    try:
        body = is_problem(_client().post("/api/v1/refresh", json={"models": "seasonal_naive"}), 409)
        assert "another refresh is running" in body["detail"]
    finally:
        lock.release()


@pytest.mark.parametrize("payload", [{"models": "x; rm -rf /"}, {"horizon": 0}])
def test_refresh_rejects_bad_parameters(api_copy, payload):
    is_problem(_client().post("/api/v1/refresh", json=payload), 422)
