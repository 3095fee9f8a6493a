"""The database the report tests share: the small demo with one published run (seasonal naive and a small LightGBM,
horizon 14, one fold), its category effects and today's inventory plan, built once per test process.

A session fixture imported into several test modules is set up once per module, so the build is cached here by
hand and :func:`report_db` only hands out its URL.
"""
from __future__ import annotations

import shutil

import pytest

from tests.api_helpers import LGBM_SMALL
from tests.conftest import sqlite_url

_BUILT: dict[str, str] = {}


def _build(small_demo_master, tmp_path_factory) -> str:
    from data import store
    from jobs import effects_job, inventory_job, runner
    home = tmp_path_factory.mktemp("report")
    store.get_engine(sqlite_url(small_demo_master)).dispose()
    shutil.copy(small_demo_master, home / "report.db")
    url = sqlite_url(home / "report.db")
    with pytest.MonkeyPatch.context() as mp:  # the run's model files and caches stay in the test's folder
        mp.setenv("SALES_MODELS_DIR", str(home / "models"))
        mp.setenv("SALES_CACHE_DIR", str(home / "cache"))
        summary = runner.refresh(models="seasonal_naive,lgbm", horizon=14, folds=1, jobs=1, progress=False, url=url,
                                 model_params=LGBM_SMALL)
        assert summary["status"] == "success", summary
        effects_job.run_effects(level="category", save=True, url=url)
        inventory_job.run_inventory(url=url)
    store.get_engine(url).dispose()
    return url


@pytest.fixture(scope="session")
def report_db(small_demo_master, tmp_path_factory) -> str:
    """URL of the shared report database (not set as SALES_DB: the reports are given the URL, so nothing falls back
    to the default database unnoticed). Tests may add to it (the executive report saves a promotion calendar)."""
    if "url" not in _BUILT:
        _BUILT["url"] = _build(small_demo_master, tmp_path_factory)
    return _BUILT["url"]
