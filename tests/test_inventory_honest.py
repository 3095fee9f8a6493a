"""The service level the Inventory page promises is the one the replay benchmark measured.

``python cli.py inventory`` sets today's order-up-to levels with the fitted window distribution (interval sds
+ residual ACF); ``bench/inventory.py`` replays that same construction as ``ours_fitted`` (JSON key
``job_method``). The first test fails when the two drift apart (the job changes its method, the bench replays
another one); the slow one, when the replayed method misses its target on a small demo.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import store
from domain import BOTTOM_LEVEL, Frames
from jobs import inventory_job

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@pytest.fixture
def refreshed(small_demo_db):
    from jobs import runner
    summary = runner.refresh(models="seasonal_naive,seasonal_ses", levels=BOTTOM_LEVEL, jobs=1, folds=1,
                             progress=False, url=small_demo_db)
    assert summary["status"] == "success", summary
    return small_demo_db


def test_the_bench_replays_exactly_the_jobs_order_up_to_levels(refreshed, monkeypatch):
    from bench import inventory as bench
    monkeypatch.delattr(store, "inventory_params", raising=False)  # config defaults: lead 7 d, review 7 d
    inventory_job.run_inventory(url=refreshed, save=True)
    orders = store.load_frame(Frames.INVENTORY_ORDERS, "all", url=refreshed)
    settings = __import__("config").load()
    lead, review = settings.inventory_lead_time_days, settings.inventory_review_days
    assert lead == int(lead) and review == int(review)
    fc = store.forecasts_for_level(BOTTOM_LEVEL, url=refreshed)
    ids = pd.Index(sorted(fc["series_id"].unique()))
    lags = int(lead + review) - 1
    acf = pd.DataFrame(inventory_job._acf(ids, lags, refreshed), index=ids,
                       columns=[f"acf_{k}" for k in range(1, lags + 1)])
    origin = pd.Timestamp(fc["ds"].min())
    coverage = inventory_job.backtest_coverage(ids, refreshed)
    assert 0.5 < coverage <= 1.0  # the run's backtests measured its intervals
    levels = bench.fitted_levels({origin: fc.join(acf, on="series_id")}, ids, [origin], int(lead), int(review),
                                 1.0, [settings.inventory_target_csl, 0.8], coverage=[coverage])
    job = orders.set_index("series_id")["order_up_to"].reindex(ids).to_numpy(dtype=float)
    assert np.isfinite(job).all()
    np.testing.assert_allclose(levels[settings.inventory_target_csl][:, 0], job, rtol=1e-9, atol=1e-6)
    assert (levels[0.8][:, 0] <= job + 1e-9).all() and (levels[0.8][:, 0] < job).any()
    # what the job labels its method is what the bench says it replays as ours_fitted
    assert set(orders["method"]) <= {m for m in __import__("decisions.inventory").inventory.METHODS.values()}
    assert any("interval sds + residual ACF" in m for m in orders["method"])
    # without the coverage calibration the levels differ (unless the intervals covered exactly 95%)
    raw = bench.fitted_levels({origin: fc.join(acf, on="series_id")}, ids, [origin], int(lead), int(review),
                              1.0, [settings.inventory_target_csl])
    assert np.allclose(raw[settings.inventory_target_csl][:, 0], job) == bool(abs(coverage - 0.95) < 1e-9)


def test_coverage_factor():
    from decisions.demand import coverage_factor
    assert coverage_factor(0.95) == pytest.approx(1.0)
    assert coverage_factor(0.90) == pytest.approx(1.959964 / 1.644854, rel=1e-5)
    assert coverage_factor(0.99) < 1.0
    assert coverage_factor(float("nan")) == 1.0
    assert coverage_factor(0.0) == pytest.approx(1.959964 / 0.674490, rel=1e-5)  # clipped at 50%


@pytest.mark.slow
def test_the_jobs_method_reaches_its_target_in_the_replay(tmp_path):
    env = {**os.environ, "SALES_DATASETS": os.environ.get("SALES_DATASETS", str(ROOT.parent / "shared" / "datasets"))}
    proc = subprocess.run([sys.executable, "bench/inventory.py", "--dataset", "demo", "--limit", "12", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert [p["name"] for p in out["policies"]] == ["ours", "naive", "rule", "perfect"]  # unchanged
    job = out["job_method"]
    assert job["policy"]["name"] == "ours_fitted"
    # the tolerance (2 points) plus two binomial standard errors of a CSL measured on only
    # 12 series x 39 replayed cycles (the full demo's 200 series are in the README: 93.1% for 95%)
    n_cycles = out["series"] * (out["setup"]["holdout_periods"] - out["setup"]["lead_time_periods"])
    q = out["target_csl"]
    tolerance = 0.02 + 2 * (q * (1 - q) / n_cycles) ** 0.5
    assert abs(job["policy"]["achieved_csl"] - q) <= tolerance, job
    assert job["csl_gap_to_target"] == pytest.approx(job["policy"]["achieved_csl"] - out["target_csl"], abs=1e-3)
    curve = [r["achieved_csl"] for r in job["tradeoff"]]
    assert curve == sorted(curve)
