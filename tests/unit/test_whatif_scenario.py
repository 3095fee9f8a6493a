"""The what-if engine's interval arithmetic (analytics.scenario) on hand-built forecasts and effects."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics import scenario
from analytics.scenario import Bottom, Estimate, Plan

Z80 = 1.2815515655446004


def _forecast(days: int = 14, yhat: float = 100.0, sd: float = 0.0) -> pd.DataFrame:
    """A flat forecast with symmetric normal bounds of standard deviation ``sd``."""
    ds = pd.date_range("2024-01-01", periods=days, freq="D")
    return pd.DataFrame({"series_id": "x", "ds": ds, "yhat": yhat,
                         "yhat_lo_80": yhat - Z80 * sd, "yhat_hi_80": yhat + Z80 * sd,
                         "yhat_lo_95": yhat - scenario.Z95 * sd, "yhat_hi_95": yhat + scenario.Z95 * sd})


def _plan(days: int = 14, promo=(3, 9), post: int = 0, closed=None, depth: float = 0.2, price=None) -> Plan:
    p = np.zeros(days, bool)
    p[promo[0]:promo[1]] = True
    after = np.zeros(days, bool)
    after[promo[1]:promo[1] + post] = True
    c = np.zeros(days, bool)
    if closed:
        c[closed[0]:closed[1]] = True
    return Plan(promo=p, post=after, closed=c, depth=depth, price=price)


def _bottom(days: int = 14, lift: float = 0.25, se: float = 0.0, price: float = 2.0, cost: float = np.nan,
            dip: Estimate | None = None, elasticity: Estimate | None = None) -> Bottom:
    return Bottom(categories=["A"], shares=np.ones((1, days)), price=np.array([price]),
                  unit_cost=np.array([cost]), lift={"A": Estimate(math.log1p(lift), se)},
                  dip={"A": dip} if dip else {}, ref_depth={"A": 0.2}, elasticity=[elasticity])


def test_quantile_paths_hit_the_stored_bounds_exactly():
    fc = _forecast(3, 100.0, 10.0)
    fc.loc[1, "yhat_hi_95"] = 150.0  # asymmetric upper tail
    z = np.array([[-scenario.Z95, -Z80, 0.0, Z80, scenario.Z95]]).T.repeat(3, axis=1)
    out = scenario.quantile_paths(fc, z)
    np.testing.assert_allclose(out[:, 0], [100 - scenario.Z95 * 10, 100 - Z80 * 10, 100, 100 + Z80 * 10,
                                           100 + scenario.Z95 * 10])
    assert out[4, 1] == pytest.approx(150.0)
    assert (scenario.quantile_paths(_forecast(2, 1.0, 10.0), np.full((1, 2), -5.0)) == 0).all()  # floored at 0


def test_ar1_normals_have_unit_variance_and_the_asked_correlation():
    z = scenario.ar1_normals(np.random.default_rng(1), 20000, 6, 0.6)
    assert z.std(axis=0) == pytest.approx(np.ones(6), abs=0.03)
    assert np.corrcoef(z[:, 2], z[:, 3])[0, 1] == pytest.approx(0.6, abs=0.03)
    assert np.corrcoef(z[:, 1], z[:, 4])[0, 1] == pytest.approx(0.6 ** 3, abs=0.03)


def test_known_effect_and_no_noise_give_exact_point_results():
    out = scenario.simulate(_forecast(), _bottom(cost=1.0), _plan(closed=(12, 14)), n_draws=200)
    rev, units, margin = (out["totals"][m] for m in ("revenue", "units", "margin"))
    base_rev, promo_days, closed_days = 14 * 100.0, 6, 2
    scen_rev = base_rev + promo_days * 100 * 0.25 - closed_days * 100
    assert rev["baseline"]["estimate"] == pytest.approx(base_rev)
    assert rev["scenario"]["estimate"] == pytest.approx(scen_rev)
    for k in ("lo_95", "lo_80", "hi_80", "hi_95"):  # nothing uncertain: intervals collapse to the point
        assert rev["difference"][k] == pytest.approx(scen_rev - base_rev)
    # units = revenue / price paid: promotion days sell at 2 * (1 - 0.2)
    scen_units = 6 * 100 / 2 + promo_days * 125 / 1.6
    assert units["scenario"]["estimate"] == pytest.approx(scen_units)
    assert margin["scenario"]["estimate"] == pytest.approx(scen_rev - scen_units * 1.0)
    assert out["promo_lift"]["estimate"] == pytest.approx(0.25)
    assert out["promo_units_lift"]["estimate"] == pytest.approx(1.25 / 0.8 - 1)


def test_lift_interval_is_the_effect_interval_scaled_by_depth():
    se = 0.05
    out = scenario.simulate(_forecast(sd=15.0), _bottom(lift=0.25, se=se), _plan(depth=0.3), rho=0.3,
                            n_draws=40000, seed=3)
    b = math.log1p(0.25) * 0.3 / 0.2
    lf = out["promo_lift"]
    assert lf["estimate"] == pytest.approx(math.expm1(b))
    assert lf["lo_95"] == pytest.approx(math.expm1(b - scenario.Z95 * se * 1.5), abs=0.005)
    assert lf["hi_95"] == pytest.approx(math.expm1(b + scenario.Z95 * se * 1.5), abs=0.005)
    assert lf["hi_80"] == pytest.approx(math.expm1(b + Z80 * se * 1.5), abs=0.005)


@pytest.mark.parametrize("rho", [0.0, 0.9])
def test_total_interval_follows_the_day_correlation(rho):
    days, sd = 20, 10.0
    out = scenario.simulate(_forecast(days, 100.0, sd), _bottom(days), _plan(days, (0, 0 + 1)), rho=rho,
                            n_draws=40000, seed=5)
    i = np.arange(days)
    var = (sd ** 2 * rho ** np.abs(i[:, None] - i[None, :])).sum()
    half = out["totals"]["revenue"]["baseline"]["hi_95"] - out["totals"]["revenue"]["baseline"]["lo_95"]
    assert half / 2 == pytest.approx(scenario.Z95 * math.sqrt(var), rel=0.04)


def test_difference_interval_includes_effect_and_forecast_uncertainty():
    noise_only = scenario.simulate(_forecast(sd=20.0), _bottom(se=0.0), _plan(), n_draws=20000, seed=2)
    both = scenario.simulate(_forecast(sd=20.0), _bottom(se=0.08), _plan(), n_draws=20000, seed=2)
    effect_only = scenario.simulate(_forecast(sd=0.0), _bottom(se=0.08), _plan(), n_draws=20000, seed=2)

    def width(out):
        d = out["totals"]["revenue"]["difference"]
        return d["hi_95"] - d["lo_95"]

    assert width(both) > width(noise_only) > 0
    assert width(both) > width(effect_only) > 0


def test_post_promotion_dip_and_price_scenario():
    dip = Estimate(math.log1p(-0.10), 0.0)
    out = scenario.simulate(_forecast(), _bottom(dip=dip), _plan(post=2), n_draws=100)
    assert out["totals"]["revenue"]["difference"]["estimate"] == pytest.approx(6 * 25 - 2 * 10)
    # price 1.5 instead of 2 with elasticity -2: units x (0.75 ** -2), revenue x that x 0.75
    el = Estimate(-2.0, 0.0)
    out = scenario.simulate(_forecast(), _bottom(elasticity=el), _plan(price=1.5), n_draws=100)
    assert out["promo_units_lift"]["estimate"] == pytest.approx(0.75 ** -2 - 1)
    assert out["promo_lift"]["estimate"] == pytest.approx(0.75 ** -1 - 1)


def test_aggregate_node_applies_each_category_its_own_lift():
    days = 10
    bottom = Bottom(categories=["A", "B"], shares=np.vstack([np.full(days, 0.25), np.full(days, 0.75)]),
                    price=np.array([1.0, 4.0]), unit_cost=np.array([np.nan, np.nan]),
                    lift={"A": Estimate(math.log1p(0.40), 0.0), "B": Estimate(math.log1p(0.20), 0.0)},
                    ref_depth={"A": 0.2, "B": 0.2})
    out = scenario.simulate(_forecast(days), bottom, _plan(days, (0, 5)), n_draws=100)
    assert out["promo_lift"]["estimate"] == pytest.approx(0.25 * 0.40 + 0.75 * 0.20)
    assert out["totals"]["units"]["baseline"]["estimate"] == pytest.approx(days * (25 / 1.0 + 75 / 4.0))
    assert out["totals"]["margin"] is None  # no unit cost known


def test_estimate_from_relative_round_trips_the_interval():
    est = Estimate.from_relative(0.25, 0.20, 0.30)
    assert est.log_mean == pytest.approx(math.log(1.25))
    assert est.log_se == pytest.approx((math.log(1.30) - math.log(1.20)) / (2 * scenario.Z95))


def test_day_correlation_recovers_an_ar1_residual():
    rng = np.random.default_rng(0)
    n, phi = 730, 0.5
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = phi * e[t - 1] + rng.normal(0, 0.1)
    ds = pd.date_range("2022-01-01", periods=n, freq="D")
    weekly = np.log([0.8, 0.9, 1.0, 1.0, 1.1, 1.3, 1.2])[ds.dayofweek]
    hist = pd.DataFrame({"ds": ds, "y": 100 * np.exp(weekly + e)})
    assert scenario.day_correlation(hist) == pytest.approx(phi, abs=0.12)
    assert scenario.day_correlation(hist.head(30)) == 0.0
