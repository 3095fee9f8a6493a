"""The database the report tests share: the API tests' small demo with its published run and effects (built once per
session), copied, with today's inventory plan computed on it."""
from __future__ import annotations

import shutil

import pytest

from tests.api_helpers import api_master  # noqa: F401  (the session fixture this one copies)
from tests.conftest import sqlite_url


@pytest.fixture(scope="module")
def report_db(api_master, tmp_path_factory) -> str:  # noqa: F811
    """URL of a private copy of the API demo (run + effects) with the inventory plan saved; set as SALES_DB."""
    from data import store
    from jobs import inventory_job
    store.get_engine(api_master["env"]["SALES_DB"]).dispose()
    path = tmp_path_factory.mktemp("report") / "report.db"
    shutil.copy(api_master["home"] / "api.db", path)
    url = sqlite_url(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SALES_DB", url)
        mp.setenv("SALES_MODELS_DIR", api_master["env"]["SALES_MODELS_DIR"])
        inventory_job.run_inventory(url=url)
        yield url
