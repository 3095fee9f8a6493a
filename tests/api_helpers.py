"""Fixtures of the API tests: the small demo with one published run (saved models) and its effects, and a client.

tests/conftest.py imports the fixtures, so every test module shares them (and the session database is built once).
The run is small (seasonal naive and a 30-tree LightGBM, horizon 14, one fold) so the session pays it once.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import sqlite_url

# A server answering on a loopback address: with no user it runs open (auth.web.request_principal).
LOCAL = "http://127.0.0.1"

LGBM_SMALL = {"lgbm": {"n_estimators": 30, "num_leaves": 15, "min_child_samples": 5}}


@pytest.fixture(scope="session")
def api_master(small_demo_master, tmp_path_factory) -> dict:
    """A copy of the small demo with a published run (its models saved) and the category effects."""
    from data import store
    from jobs import effects_job, runner
    home = tmp_path_factory.mktemp("api")
    store.get_engine(sqlite_url(small_demo_master)).dispose()
    shutil.copy(small_demo_master, home / "api.db")
    env = {"SALES_DB": sqlite_url(home / "api.db"), "SALES_MODELS_DIR": str(home / "models"),
           "SALES_CACHE_DIR": str(home / "cache")}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        summary = runner.refresh(models="seasonal_naive,lgbm", horizon=14, folds=1, jobs=1, progress=False,
                                 model_params=LGBM_SMALL)
        assert summary["status"] == "success", summary
        effects_job.run_effects(level="category", save=True)
        store.get_engine(env["SALES_DB"]).dispose()
    return {"home": home, "env": env, "run_id": summary["run_id"]}


@pytest.fixture
def api_env(api_master, monkeypatch) -> dict:
    """The shared API database (read-only tests) set as SALES_DB, with its models and cache folders."""
    for k, v in api_master["env"].items():
        monkeypatch.setenv(k, v)
    return api_master


@pytest.fixture
def api_copy(api_master, tmp_path, monkeypatch) -> dict:
    """A private copy of the API database (tests that write: users, imports, refreshes)."""
    from data import store
    store.get_engine(api_master["env"]["SALES_DB"]).dispose()
    shutil.copy(Path(api_master["home"]) / "api.db", tmp_path / "api.db")
    env = {**api_master["env"], "SALES_DB": sqlite_url(tmp_path / "api.db"), "SALES_CACHE_DIR": str(tmp_path / "c")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return {**api_master, "env": env, "path": tmp_path / "api.db"}


@pytest.fixture
def client(api_env):
    from fastapi.testclient import TestClient

    from api.app import create_api
    return TestClient(create_api(), base_url=LOCAL)


def is_problem(response, status: int) -> dict:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    return body
