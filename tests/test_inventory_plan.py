"""The replay benchmark's demo forecaster reads the plan as known ahead, the way a refresh does.

``bench/inventory.py``'s ``ours`` on the demo is lgbm trained on the history's realised inputs and forecasting
from what a refresh knows the day before: the plan's promotions, depths, prices and open flags, the calendar,
and the weather's climatology (``jobs.plan_inputs.known_inputs``). These tests pin that: the plan reaches the
forecast, realised future inputs do not (neither the weather nor anything else after the origin), and
closed days forecast 0.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import store
from decisions import replay

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@pytest.fixture
def demo_frame(small_demo_db):
    from bench import inventory as bench
    long, url = bench.load("demo", small_demo_db)
    return bench, long, url


def test_known_inputs_are_the_plan_not_the_realised_future(demo_frame):
    bench, long, url = demo_frame
    exog = long.drop(columns="y")
    days = pd.date_range(long["ds"].max() - pd.Timedelta(days=29), periods=30, freq="D")
    known = bench.known_inputs(url, exog)
    x = known(days).sort_values(["series_id", "ds"]).reset_index(drop=True)
    assert len(x) == long["series_id"].nunique() * len(days)
    assert set(bench.EXOG) <= set(x.columns)
    # the demo's plan is its true promotion calendar: the known depths are the realised ones, from the plan
    real = x[["series_id", "ds"]].merge(long, on=["series_id", "ds"], how="left")
    assert (x["promo"] > 0).sum() > 10
    np.testing.assert_allclose(x["promo_intensity"], real["promo_intensity"].fillna(0.0), atol=1e-9)
    plan = store.expanded_plan(days[0], days[-1], url=url)
    assert len(plan.dropna(subset=["promo"])) == int((x["promo"] > 0).sum())
    # closures (Christmas) are known, and the weather is climatology, not the realised weather
    xmas = x["ds"] == pd.Timestamp(f"{days[-1].year}-12-25")
    assert xmas.any() and (x.loc[xmas, "is_open"] == 0).all() and (x.loc[~xmas, "is_open"] == 1).all()
    assert not np.allclose(x["temp_c"], real["temp_c"])
    # scrambling everything realised on and after the first day changes nothing the forecaster is given
    future = exog["ds"] >= days[0]
    scrambled = exog.copy()
    for col in ("promo", "promo_intensity", "price", "temp_c", "precip_mm", "is_open"):
        scrambled.loc[future, col] = scrambled.loc[future, col].to_numpy()[::-1] * 2 + 1
    again = bench.known_inputs(url, scrambled)(days).sort_values(["series_id", "ds"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(x, again)


def test_demo_lgbm_forecasts_closures_as_zero_and_does_not_peek(demo_frame):
    bench, long, url = demo_frame
    exog = long.drop(columns="y")
    known = bench.known_inputs(url, exog)
    y = long[["series_id", "ds", "y"]]
    origin = pd.Timestamp(f"{long['ds'].max().year}-12-23")
    anchor = origin - pd.Timedelta(days=14)

    def make():
        return bench.model_forecaster("lgbm", "D", exog, anchor, 7, 3, known)
    fc = make()(y[y["ds"] < origin].copy(), origin, 4)
    assert sorted(fc["ds"].unique()) == list(pd.date_range(origin, periods=4, freq="D"))
    closed = fc["ds"] == pd.Timestamp(f"{origin.year}-12-25")
    assert (fc.loc[closed, "yhat"] == 0).all() and (fc.loc[~closed, "yhat"] > 0).all()
    # every forecast row has its known inputs, and carries what the job's fitted method reads
    j = fc.merge(known(pd.date_range(origin, periods=4, freq="D")), on=["series_id", "ds"])
    assert {"acf_1", "acf_2", "yhat_lo_95", "yhat_hi_95"} <= set(fc.columns)
    assert len(j) == len(fc)
    replay.peeking_audit(y.copy(), origin, lambda hist, o, h: make()(hist, o, h), 4)
