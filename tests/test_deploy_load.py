"""`bench/load.py` end to end on a small database: it starts `serve --prod`, replays page loads, filter changes,
drill-downs, forecast views and API calls from several threads, and prints the JSON the issue names."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"users", "seconds", "requests", "errors", "rps", "p50_ms", "p95_ms", "p99_ms", "by_endpoint"}


@pytest.mark.slow
def test_load_bench_json(small_demo_master, tmp_path):
    from data import store
    store.get_engine(f"sqlite:///{small_demo_master}").dispose()
    db = tmp_path / "small.db"
    shutil.copy(small_demo_master, db)
    # A real run with saved models: the bench's predict calls need them (a fake run's forecasts have no models).
    subprocess.run([sys.executable, "cli.py", "refresh", "--db", str(db), "--models", "seasonal_naive", "--folds", "1",
                    "--horizon", "14", "--jobs", "1", "--json"], cwd=ROOT, check=True, capture_output=True, timeout=600)
    result = subprocess.run([sys.executable, "bench/load.py", "--db", str(db), "--users", "3", "--seconds", "6",
                             "--workers", "1", "--skip-missing-api", "--json"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert KEYS <= set(out) and out["users"] == 3
    assert out["requests"] > 20 and out["errors"] == 0, out.get("error_samples")
    assert out["p50_ms"] <= out["p95_ms"] <= out["p99_ms"]
    endpoints = set(out["by_endpoint"])
    assert {"GET page", "GET /_dash-layout", "GET /api/v1/health"} <= endpoints
    assert any(e.startswith("callback pages_router") for e in endpoints)
    assert sum(1 for e in endpoints if e.startswith("callback ")) >= 10  # the pages' own callbacks
    assert sum(v["n"] for v in out["by_endpoint"].values()) == out["requests"]
