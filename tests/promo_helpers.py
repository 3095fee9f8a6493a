"""Shared by the promotion optimizer's tests: a small demo with saved effects and store x product forecasts."""
from __future__ import annotations

import shutil
from pathlib import Path

from data import store
from tests.conftest import sqlite_url


def build_promo_db(source: Path, dest: Path, monkeypatch) -> Path:
    """Copy the demo at ``source`` to ``dest``, save its effects and run a fast store x product refresh."""
    from jobs import effects_job, runner
    store.get_engine(sqlite_url(source)).dispose()
    shutil.copy(source, dest)
    url = sqlite_url(dest)
    effects_job.run_effects(level="category", save=True, url=url, extras=False)
    monkeypatch.setenv("SALES_DB", url)
    runner.refresh(models="seasonal_naive", levels="store_product", jobs=1, progress=False, force=True)
    store.get_engine(url).dispose()
    return dest


def private_copy(master: Path, tmp_path: Path, monkeypatch) -> str:
    """A private copy of a prepared database, set as SALES_DB; returns its URL."""
    path = tmp_path / "promo.db"
    shutil.copy(master, path)
    url = sqlite_url(path)
    monkeypatch.setenv("SALES_DB", url)
    return url
