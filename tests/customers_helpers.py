"""A small demo with order lines and its customer analyses, built once per test process and copied per test."""
from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

N_CUSTOMERS = 400


@functools.cache
def _master() -> Path:
    from data import demo, demo_orders, store
    from jobs import customers_job
    path = Path(tempfile.mkdtemp(prefix="customers_master_")) / "customers.db"
    url = f"sqlite:///{path}"
    demo.generate(seed=7, n_stores=3, n_products=4, years=2, url=url, progress=False)
    demo_orders.add_to_store(seed=7, n_customers=N_CUSTOMERS, url=url)
    customers_job.run_customers(url=url, horizon="12m")
    store.get_engine(url).dispose()
    return path


def customers_db(tmp_path: Path, monkeypatch) -> str:
    """A private copy of the analysed customers demo, set as SALES_DB."""
    path = tmp_path / "customers.db"
    shutil.copy(_master(), path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("SALES_DB", url)
    return url
