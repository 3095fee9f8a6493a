"""The inventory job and `cli.py inventory` on the small demo: saved frames, the inputs tables, refusals."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cli
from data import store
from domain import BOTTOM_LEVEL, Frames
from jobs import inventory_job


@pytest.fixture
def refreshed(small_demo_db):
    from jobs import runner
    summary = runner.refresh(models="seasonal_naive,seasonal_ses", levels=BOTTOM_LEVEL, jobs=1, folds=1,
                             progress=False, url=small_demo_db)
    assert summary["status"] == "success", summary
    return small_demo_db


def _digest(url: str) -> str:
    store.get_engine(url).dispose()
    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


def test_no_forecasts_is_a_clear_refusal(small_demo_db, capsys):
    before = _digest(small_demo_db)
    assert cli.main(["inventory", "--db", small_demo_db]) == 2
    assert "run `python cli.py refresh` first" in capsys.readouterr().err
    assert _digest(small_demo_db) == before


def test_job_saves_orders_and_tradeoff_with_config_defaults(refreshed, capsys, monkeypatch):
    monkeypatch.delattr(store, "inventory_params", raising=False)  # before INVUI's tables: config defaults
    assert cli.main(["inventory", "--db", refreshed, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["inputs"].startswith("config defaults")
    assert summary["series"] == len(store.nodes(BOTTOM_LEVEL, url=refreshed))
    orders = store.load_frame(Frames.INVENTORY_ORDERS, "all", url=refreshed)
    assert len(orders) == summary["series"]
    assert (orders["order_up_to"] >= orders["demand_mean"]).all()  # 95% > the mean
    assert (orders["order_qty"] >= 0).all() and np.allclose(orders["order_qty"], np.ceil(orders["order_qty"]))
    assert np.allclose(orders["target_csl"], 0.95)
    assert orders["stockout_prob"].between(0, 0.05 + 1e-6).all()  # nothing on hand: the order reaches S
    curve = store.load_frame(Frames.INVENTORY_TRADEOFF, "all", url=refreshed)
    assert list(curve.columns) == ["policy", "target_csl", "achieved_csl", "avg_inventory_units",
                                   "avg_inventory_value"]
    assert curve["avg_inventory_units"].is_monotonic_increasing


def _inputs(url: str, **over) -> pd.DataFrame:
    nodes = store.nodes(BOTTOM_LEVEL, url=url)
    params = inventory_job.default_params(nodes, __import__("config").load())
    for k, v in over.items():
        params[k] = v
    return params


def test_job_reads_the_inventory_tables_and_on_order(refreshed, monkeypatch):
    params = _inputs(refreshed, on_hand=1000.0, case_pack=6.0, moq=12.0)
    first = params.iloc[0]
    orders_in = pd.DataFrame({"store_id": [first["store_id"]], "product_id": [first["product_id"]],
                              "arrival_date": [pd.Timestamp("2100-01-01")], "quantity": [50.0]})
    monkeypatch.setattr(store, "inventory_params", lambda url=None: params, raising=False)
    monkeypatch.setattr(store, "on_order", lambda url=None: orders_in, raising=False)
    summary = inventory_job.run_inventory(url=refreshed, save=False)
    assert summary["inputs"] == "inventory_params"
    out = inventory_job.run_inventory  # the saved frame is not needed: recompute through recommend
    params2 = params.assign(on_hand=0.0)
    monkeypatch.setattr(store, "inventory_params", lambda url=None: params2, raising=False)
    s2 = out(url=refreshed, save=True)
    orders = store.load_frame(Frames.INVENTORY_ORDERS, "all", url=refreshed)
    # load_frame's JSON round trip may turn an id like "01" into 1: match on the series key
    key = store.node_id(BOTTOM_LEVEL, store_id=str(first["store_id"]), product_id=str(first["product_id"]))
    row = orders[orders["series_id"] == key].iloc[0]
    assert row["on_order"] == 50.0
    placed = orders[orders["order_qty"] > 0]
    assert (placed["order_qty"] % 6 == 0).all() and (placed["order_qty"] >= 12).all()
    assert s2["orders_to_place"] == len(placed)


@pytest.mark.parametrize("column,value,needle", [
    ("on_hand", -5.0, "column 'on_hand': must not be negative"),
    ("case_pack", 0.0, "column 'case_pack'"),
    ("target_csl", 1.5, "strictly between 0 and 1"),
    ("lead_time_days", -1.0, "column 'lead_time_days'"),
])
def test_bad_inputs_write_nothing(refreshed, monkeypatch, capsys, column, value, needle):
    params = _inputs(refreshed)
    params.loc[2, column] = value
    monkeypatch.setattr(store, "inventory_params", lambda url=None: params, raising=False)
    monkeypatch.setattr(store, "on_order", lambda url=None: pd.DataFrame(), raising=False)
    before = _digest(refreshed)
    assert cli.main(["inventory", "--db", refreshed]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert _digest(refreshed) == before


def test_a_product_without_forecasts_is_named(refreshed, monkeypatch, capsys):
    params = pd.concat([_inputs(refreshed), _inputs(refreshed).head(1).assign(product_id="NO-SUCH")],
                       ignore_index=True)
    monkeypatch.setattr(store, "inventory_params", lambda url=None: params, raising=False)
    monkeypatch.setattr(store, "on_order", lambda url=None: pd.DataFrame(), raising=False)
    before = _digest(refreshed)
    assert cli.main(["inventory", "--db", refreshed]) == 2
    err = capsys.readouterr().err
    assert "product 'NO-SUCH' has no forecast in the current run" in err
    assert _digest(refreshed) == before
