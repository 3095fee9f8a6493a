"""Plan-aware what-if and optimizer baselines: the stored forecast already holds the plan's promotions.

A what-if equal to the plan changes nothing, a deeper one adds only the difference, the reported lift is against
the level without promotion, and the optimizer's baseline on a planned day is the forecast over the planned lift
(one de-promotion rule, :func:`analytics.scenario.depromote`)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics import scenario
from analytics.scenario import Bottom, Estimate, Plan
from decisions import promotions

Z80 = 1.2815515655446004
DAYS = 14
B = math.log1p(0.25)  # log lift at the reference depth 0.2


def _forecast(yhat: float = 100.0, sd: float = 0.0) -> pd.DataFrame:
    ds = pd.date_range("2024-01-01", periods=DAYS, freq="D")
    return pd.DataFrame({"series_id": "x", "ds": ds, "yhat": yhat,
                         "yhat_lo_80": yhat - Z80 * sd, "yhat_hi_80": yhat + Z80 * sd,
                         "yhat_lo_95": yhat - scenario.Z95 * sd, "yhat_hi_95": yhat + scenario.Z95 * sd})


def _plan(depth=0.2, promo=(3, 9), price=None) -> Plan:
    p = np.zeros(DAYS, bool)
    p[promo[0]:promo[1]] = True
    return Plan(promo=p, post=np.zeros(DAYS, bool), closed=np.zeros(DAYS, bool), depth=depth, price=price)


def _bottom(planned=None, se: float = 0.0, elasticity=None) -> Bottom:
    depth = np.zeros((1, DAYS))
    if planned is not None:
        d0, (a, b) = planned
        depth[0, a:b] = d0
    return Bottom(categories=["A"], shares=np.ones((1, DAYS)), price=np.array([2.0]), unit_cost=np.array([1.0]),
                  lift={"A": Estimate(B, se)}, ref_depth={"A": 0.2}, elasticity=[elasticity],
                  planned_depth=depth)


def test_depromote_divides_by_the_planned_lift_only_where_planned():
    out = scenario.depromote(np.array([125.0, 100.0, 110.0]), B, np.array([0.2, 0.0, np.nan]), 0.2)
    np.testing.assert_allclose(out, [100.0, 100.0, 110.0])
    assert scenario.depromote(100.0, B, 0.1, 0.2) == pytest.approx(100.0 / math.exp(B / 2))
    assert scenario.depromote(125.0, B, 0.3, np.nan) == pytest.approx(100.0)  # unknown reference: lift as it is


@pytest.mark.parametrize("se,sd", [(0.0, 0.0), (0.1, 15.0)])
def test_whatif_equal_to_the_plan_changes_nothing(se, sd):
    out = scenario.simulate(_forecast(sd=sd), _bottom((0.2, (3, 9)), se=se), _plan(0.2), n_draws=500, seed=3)
    for m in ("revenue", "units", "margin"):
        d = out["totals"][m]["difference"]
        assert all(abs(d[k]) < 1e-6 for k in ("estimate", "lo_95", "lo_80", "hi_80", "hi_95")), (m, d)
    assert out["promo_lift"]["estimate"] == pytest.approx(0.25)  # against the level without promotion
    # units: the planned days already sell at the promotional price 2 * 0.8
    assert out["totals"]["units"]["baseline"]["estimate"] == pytest.approx(8 * 50 + 6 * 100 / 1.6)


def test_whatif_deeper_than_the_plan_adds_only_the_difference():
    out = scenario.simulate(_forecast(), _bottom((0.1, (3, 9))), _plan(0.3), n_draws=200)
    step = math.exp(B * (0.3 - 0.1) / 0.2)
    rev = out["totals"]["revenue"]
    assert rev["difference"]["estimate"] == pytest.approx(6 * 100 * (step - 1))
    units = out["totals"]["units"]["difference"]["estimate"]
    assert units == pytest.approx(6 * (100 * step / (2 * 0.7) - 100 / (2 * 0.9)))
    margin = out["totals"]["margin"]["difference"]["estimate"]
    assert margin == pytest.approx(rev["difference"]["estimate"] - units * 1.0)
    assert out["promo_lift"]["estimate"] == pytest.approx(math.exp(B * 0.3 / 0.2) - 1)
    # the same scenario without a plan adds the whole lift at 0.3
    none = scenario.simulate(_forecast(), _bottom(), _plan(0.3), n_draws=200)
    assert none["totals"]["revenue"]["difference"]["estimate"] == pytest.approx(6 * 100 * (math.exp(B * 1.5) - 1))
    assert none["promo_lift"]["estimate"] == pytest.approx(out["promo_lift"]["estimate"])


def test_plan_partly_inside_the_window_and_price_scenario_equal_to_the_plan():
    out = scenario.simulate(_forecast(), _bottom((0.2, (3, 5))), _plan(0.2), n_draws=200)
    assert out["totals"]["revenue"]["difference"]["estimate"] == pytest.approx(4 * 100 * 0.25)
    el = Estimate(-2.0, 0.05)
    same = scenario.simulate(_forecast(sd=10.0), _bottom((0.25, (3, 9)), elasticity=el), _plan(price=1.5),
                             n_draws=300)
    for m in ("revenue", "units"):
        d = same["totals"][m]["difference"]
        assert abs(d["estimate"]) < 1e-6 and abs(d["lo_95"]) < 1e-6 and abs(d["hi_95"]) < 1e-6
    assert same["promo_units_lift"]["estimate"] == pytest.approx(0.75 ** -2 - 1)


def test_optimizer_baseline_on_a_planned_week_is_forecast_over_the_planned_lift():
    start = pd.Timestamp("2024-01-01")
    ds = pd.date_range(start, periods=14, freq="D")
    fc = pd.DataFrame({"series_id": np.repeat(["s1", "s2"], 14), "ds": np.tile(ds, 2), "yhat": 100.0,
                       "yhat_lo_95": 80.0, "yhat_hi_95": 120.0})
    nodes = pd.DataFrame({"node_id": ["s1", "s2"], "store_id": "1", "product_id": ["P1", "P2"],
                          "category": ["A", "B"]})
    params = pd.DataFrame({"category": ["A", "B"], "log_lift": [B, math.log1p(0.5)], "ref_depth": [0.2, 0.2]})
    # s1 promoted at 0.1 on the first week's 7 days; s2 on two days of week 1 without a recorded depth
    planned = pd.DataFrame({"store_id": "1", "product_id": ["P1"] * 7 + ["P2"] * 2,
                            "date": list(ds[:7]) + list(ds[8:10]), "promo_intensity": [0.1] * 7 + [np.nan] * 2})
    out = promotions.depromote_forecasts(fc, nodes, planned, params)
    s1, s2 = out[out["series_id"] == "s1"], out[out["series_id"] == "s2"]
    np.testing.assert_allclose(s1["yhat"].iloc[:7], 100.0 / math.exp(B * 0.1 / 0.2))
    np.testing.assert_allclose(s1["yhat_hi_95"].iloc[:7], 120.0 / math.exp(B * 0.1 / 0.2))
    np.testing.assert_allclose(s1["yhat"].iloc[7:], 100.0)
    np.testing.assert_allclose(s2["yhat"].iloc[8:10], 100.0 / 1.5)  # no depth: the reference depth's lift
    assert (s2["yhat"].drop(s2.index[8:10]) == 100.0).all()
    weekly = promotions.weekly_baseline(out, nodes, start, 2, "D").set_index(["product_id", "week"])["baseline"]
    assert weekly[("P1", 0)] == pytest.approx(7 * 100.0 / math.exp(B / 2))
    assert weekly[("P1", 1)] == pytest.approx(700.0)
    assert weekly[("P2", 1)] == pytest.approx(500.0 + 200.0 / 1.5)


def test_a_forecast_that_never_saw_the_plan_keeps_its_level():
    """plan_share 0 (a model without exogenous inputs): nothing is taken out, the scenario adds its whole lift."""
    bottom = _bottom((0.2, (3, 9)))
    bottom.plan_share = np.array([0.0])
    out = scenario.simulate(_forecast(), bottom, _plan(0.2), n_draws=200)
    assert out["totals"]["revenue"]["difference"]["estimate"] == pytest.approx(6 * 100 * 0.25)
    bottom.plan_share = np.array([0.5])
    half = scenario.simulate(_forecast(), bottom, _plan(0.2), n_draws=200)
    assert half["totals"]["revenue"]["difference"]["estimate"] == pytest.approx(6 * 100 * (1.25 / 1.25 ** 0.5 - 1))


def test_plan_aware_share_of_models_and_combinations():
    from jobs.plan_aware import uses_plan
    assert uses_plan("seasonal_naive") == 0.0 and uses_plan("lgbm") == 1.0
    assert uses_plan("lgbm+seasonal_naive") == 0.5 and uses_plan("not_a_model") == 1.0


def test_the_dip_after_a_planned_promotion_is_not_counted_twice():
    dip = Estimate(math.log1p(-0.10), 0.0)
    p = _plan(0.2)
    p = Plan(promo=p.promo, post=np.isin(np.arange(DAYS), [9, 10]), closed=p.closed, depth=0.2)
    bottom = _bottom((0.2, (3, 9)))
    bottom.dip = {"A": dip}
    same = scenario.simulate(_forecast(), bottom, p, n_draws=100)
    assert same["totals"]["revenue"]["difference"]["estimate"] == pytest.approx(0.0, abs=1e-9)
    deeper = scenario.simulate(_forecast(), bottom, Plan(p.promo, p.post, p.closed, depth=0.4), n_draws=100)
    step, dip_step = math.exp(B * 0.2 / 0.2), math.exp(math.log(0.9) * 0.2 / 0.2)
    assert deeper["totals"]["revenue"]["difference"]["estimate"] == pytest.approx(
        6 * 100 * (step - 1) + 2 * 100 * (dip_step - 1))
