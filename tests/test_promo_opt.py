"""`cli.py optimize-promos` on a small demo with effects and forecasts: output, costs, --apply, refusals."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import store
from domain import BOTTOM_LEVEL
from jobs import promo_opt_job
from tests.conftest import ROOT, sqlite_url
from tests.promo_helpers import build_promo_db, private_copy


@pytest.fixture(scope="module")
def promo_master(small_demo_master, tmp_path_factory) -> Path:
    """The small demo with saved effects and a fast store x product refresh (42 days ahead)."""
    with pytest.MonkeyPatch.context() as mp:
        return build_promo_db(small_demo_master, tmp_path_factory.mktemp("promo") / "promo.db", mp)


@pytest.fixture
def promo_db(promo_master, tmp_path, monkeypatch) -> str:
    return private_copy(promo_master, tmp_path, monkeypatch)


def _start(url: str) -> str:
    return str(store.forecasts_for_level(BOTTOM_LEVEL, url=url)["ds"].min().date())


def _cli(*args: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "optimize-promos", "--db", db, *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_calendar_json_totals_and_default_cost(promo_db, monkeypatch):
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.6")  # high margins: some promotions pay
    before = store.plan_rows(url=promo_db)  # the demo's own plan
    res = promo_opt_job.optimize_promotions(_start(promo_db), 4, max_per_store_week=2, depths=(0.1, 0.2),
                                            url=promo_db, n_draws=300)
    assert res["cost_source"] == "default_margin_rate" and res["default_margin_rate"] == 0.6
    assert res["solver"].startswith("scipy.optimize.milp") and res["status"] == "optimal"
    assert 0 < res["promotions"] <= 3 * 4 * 2 and res["applied_rows"] is None
    lines = pd.DataFrame(res["lines"])
    assert (lines.groupby(["store_id", "week_start"]).size() <= 2).all()
    assert (lines["incr_margin"] > 0).all()
    t = res["totals"]
    assert t["incr_margin"] == pytest.approx(lines["incr_margin"].sum(), rel=1e-3)
    for name in ("incr_units", "incr_revenue", "incr_margin"):
        assert t[f"{name}_lo_95"] <= t[f"{name}_lo_80"] <= t[name] <= t[f"{name}_hi_80"] <= t[f"{name}_hi_95"]
    pd.testing.assert_frame_equal(store.plan_rows(url=promo_db), before)  # nothing written without --apply
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.1")  # thin margins: no discount pays
    assert promo_opt_job.optimize_promotions(_start(promo_db), 2, url=promo_db, n_draws=50)["promotions"] == 0


def test_plan_unit_costs_are_used_and_named(promo_db, monkeypatch):
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.1")
    products = store.products(url=promo_db)["product_id"]
    rows = pd.DataFrame({"store_id": "*", "product_id": products, "category": "*", "date": _start(promo_db),
                         "unit_cost": 0.01})  # nearly free goods: promoting pays
    store.write_plan(rows, source="test", url=promo_db)
    res = promo_opt_job.optimize_promotions(_start(promo_db), 2, max_per_store_week=1, url=promo_db, n_draws=50)
    full = len(promo_opt_job.prepare(_start(promo_db), 2, 1, (0.1, 0.2, 0.3), None, promo_db)["taken"])
    assert res["cost_source"] == "plan" and res["promotions"] == 3 * 2 - full  # the demo's plan fills some weeks
    assert {ln["unit_cost"] for ln in res["lines"]} == {0.01}
    # an older, more specific cost (store x product, a year back) beats the newer product-wide one; a later one
    # (after the window) does not count
    first = res["lines"][0]
    old = (pd.Timestamp(_start(promo_db)) - pd.Timedelta(days=365)).date()
    later = (pd.Timestamp(_start(promo_db)) + pd.Timedelta(days=30)).date()
    store.write_plan(pd.DataFrame({"store_id": first["store_id"], "product_id": first["product_id"],
                                   "category": "*", "date": [old, later], "unit_cost": [0.02, 99.0]}),
                     source="test", url=promo_db)
    res = promo_opt_job.optimize_promotions(_start(promo_db), 2, max_per_store_week=1, url=promo_db, n_draws=50)
    costs = {(ln["store_id"], ln["product_id"]): ln["unit_cost"] for ln in res["lines"]}
    assert costs[(first["store_id"], first["product_id"])] == 0.02 and set(costs.values()) == {0.01, 0.02}


def test_apply_writes_the_plan_and_a_second_run_counts_it(promo_db, monkeypatch):
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.6")
    start = _start(promo_db)
    out = _cli("--start", start, "--weeks", "2", "--max-per-store-week", "1", "--apply", "--json", db=promo_db)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["promotions"] > 0 and res["applied_rows"] == 7 * res["promotions"]
    plan = store.plan_rows(url=promo_db)
    plan = plan[plan["source"] == "optimizer"]  # beside the demo's own plan
    assert len(plan) == res["applied_rows"] and (plan["promo"] == 1).all()
    first = res["lines"][0]
    mine = plan[(plan["store_id"] == first["store_id"]) & (plan["product_id"] == first["product_id"])
                & (plan["date"] >= first["week_start"]) & (plan["date"] <= first["week_end"])]
    assert len(mine) == 7 and (mine["promo_intensity"] == first["depth"]).all()
    assert store.plan_changes(url=promo_db)["source"].iloc[0] == "optimizer"
    again = promo_opt_job.optimize_promotions(start, 2, max_per_store_week=1, url=promo_db, n_draws=50)
    assert again["already_planned"] == res["already_planned"] + res["promotions"]
    assert again["promotions"] == 0  # K is used up
    text = _cli("--start", start, "--weeks", "2", db=promo_db)
    assert text.returncode == 0 and "already in the plan" in text.stdout


def test_weeks_the_plan_closes_get_no_promotion(promo_db, monkeypatch):
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.6")
    start = _start(promo_db)
    day = (pd.Timestamp(start) + pd.Timedelta(days=3)).date()
    store.write_plan(pd.DataFrame({"store_id": [store.stores(url=promo_db)["store_id"].iloc[0]], "product_id": "*",
                                   "category": "*", "date": [day], "is_open": [0.0]}), source="test", url=promo_db)
    closed = store.stores(url=promo_db)["store_id"].iloc[0]
    res = promo_opt_job.optimize_promotions(start, 2, max_per_store_week=3, url=promo_db, n_draws=50)
    n_products = len(store.products(url=promo_db))
    assert res["closed_slots"] == n_products
    assert not [ln for ln in res["lines"] if ln["store_id"] == closed and ln["week_start"] == start]
    assert [ln for ln in res["lines"] if ln["store_id"] != closed and ln["week_start"] == start]


def _digest(url: str) -> str:
    store.get_engine(url).dispose()
    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


@pytest.mark.parametrize("args, fragment", [
    (("--weeks", "0"), "--weeks must be"),
    (("--weeks", "2", "--max-per-store-week", "-1"), "--max-per-store-week must be"),
    (("--weeks", "2", "--depths", "0.1,1.5"), "--depths must each lie strictly between 0 and 1"),
    (("--weeks", "2", "--depths", "0"), "--depths must each lie strictly between 0 and 1"),
    (("--weeks", "2", "--depths", "ten"), "--depths must be comma-separated numbers"),
    (("--weeks", "2", "--budget", "-10"), "--budget must be"),
    (("--weeks", "52"), "outside the forecast horizon"),
])
def test_bad_constraints_exit_2_and_write_nothing(promo_db, args, fragment):
    before = _digest(promo_db)
    out = _cli("--start", _start(promo_db), *args, "--apply", db=promo_db)
    assert out.returncode == 2 and fragment in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert _digest(promo_db) == before


def test_bad_start_and_missing_inputs(promo_db, tmp_path):
    out = _cli("--start", "2020-13-45", "--weeks", "1", db=promo_db)
    assert out.returncode == 2 and "is not a date" in out.stderr
    out = _cli("--start", "1999-01-01", "--weeks", "1", db=promo_db)
    assert out.returncode == 2 and "outside the forecast horizon" in out.stderr
    bare = tmp_path / "bare.db"
    shutil.copy(Path(promo_db.removeprefix("sqlite:///")), bare)
    url = sqlite_url(bare)
    with sqlite3.connect(bare) as conn:
        conn.execute("DELETE FROM analysis_results")
    out = _cli("--start", _start(url), "--weeks", "1", db=url)
    assert out.returncode == 2 and "run `python cli.py effects` first" in out.stderr
    with sqlite3.connect(bare) as conn:
        conn.execute("DELETE FROM forecasts")
    out = _cli("--start", "2023-01-01", "--weeks", "1", db=url)
    assert out.returncode == 2 and "run `python cli.py refresh` first" in out.stderr


def test_planned_weeks_are_depromoted_and_not_offered_again(promo_db, monkeypatch):
    """The demo's plan promotes into the horizon: V0 on a planned week is the forecast over the planned lift (for a
    plan-aware model; seasonal naive never saw the plan, so nothing is taken out), and that store x product x week
    is no candidate (its promotion counts toward K instead)."""
    start = pd.Timestamp(_start(promo_db))
    plan = store.expanded_plan(start.date(), (start + pd.Timedelta(days=13)).date(), url=promo_db)
    promoted = plan[plan["promo"] == 1]
    row = promoted.iloc[0]
    week = int((row["date"] - start).days // 7)
    nodes = store.nodes(BOTTOM_LEVEL, url=promo_db)
    node = nodes[(nodes["store_id"] == row["store_id"]) & (nodes["product_id"] == row["product_id"])].iloc[0]
    fc = store.forecast(node["node_id"], url=promo_db)
    fc = fc[(fc["ds"] >= start + pd.Timedelta(days=7 * week)) & (fc["ds"] < start + pd.Timedelta(days=7 * week + 7))]
    mine = promoted[(promoted["store_id"] == row["store_id"]) & (promoted["product_id"] == row["product_id"])]
    depth = fc["ds"].map(mine.set_index("date")["promo_intensity"]).fillna(0.0).to_numpy()
    key = (row["store_id"], row["product_id"], week)
    from jobs import plan_aware
    assert plan_aware.plan_carried_share([node["node_id"]], promo_db)[0] == 0.0  # seasonal naive
    prep = promo_opt_job.prepare(start, 2, 3, (0.1, 0.2), None, promo_db)
    assert prep["already_planned"] > 0
    raw = fc["yhat"].clip(lower=0).to_numpy()
    assert prep["weekly"].set_index(["store_id", "product_id", "week"])["baseline"][key] == pytest.approx(raw.sum())
    # as if the chosen models were plan-aware: the planned lift is taken out
    monkeypatch.setattr(promo_opt_job, "plan_carried_share", lambda ids, url=None: np.ones(len(ids)))
    prep = promo_opt_job.prepare(start, 2, 3, (0.1, 0.2), None, promo_db)
    par = prep["params"].set_index("category").loc[node["category"]]
    expected = (raw / np.exp(par["log_lift"] * depth / par["ref_depth"])).sum()
    weekly = prep["weekly"].set_index(["store_id", "product_id", "week"])["baseline"]
    assert weekly[key] == pytest.approx(expected) and expected < raw.sum()
    cands = prep["candidates"]
    assert not ((cands["store_id"] == row["store_id"]) & (cands["product_id"] == row["product_id"])
                & (cands["week"] == week)).any()
