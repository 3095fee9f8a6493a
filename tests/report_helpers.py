"""The database the report tests share: the API tests' small demo with its published run and effects (built once per
session), copied once, with today's inventory plan computed on it."""
from __future__ import annotations

import shutil

import pytest

from tests.api_helpers import api_master  # noqa: F401  (the session fixture this one copies)
from tests.conftest import sqlite_url


@pytest.fixture(scope="session")
def report_db(api_master, tmp_path_factory) -> str:  # noqa: F811
    """URL of a private copy of the API demo (run + effects) with the inventory plan saved (not set as SALES_DB:
    the reports are given the URL, so nothing falls back to the default database unnoticed)."""
    from data import store
    from jobs import inventory_job
    store.get_engine(api_master["env"]["SALES_DB"]).dispose()
    path = tmp_path_factory.mktemp("report") / "report.db"
    shutil.copy(api_master["home"] / "api.db", path)
    url = sqlite_url(path)
    inventory_job.run_inventory(url=url)
    store.get_engine(url).dispose()
    return url
