"""decisions/: the promotion economics checked by hand, the integer program's constraints, effect parameters."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from decisions import promo_milp, promo_value, promotions


def test_promotion_value_matches_the_hand_computation():
    # V0 = 1000 at P = 10 (100 units), C = 6, depth 0.2, lift 25% at the reference depth 0.2.
    out = promo_value.promotion_value(1000.0, 10.0, 6.0, 0.2, math.log(1.25), 0.2)
    units1 = 1250.0 / 8.0  # the promoted value at the promoted price
    assert out["incr_units"] == pytest.approx(units1 - 100.0)
    assert out["incr_revenue"] == pytest.approx(250.0)
    # margin with the promotion minus margin without it
    assert out["incr_margin"] == pytest.approx(units1 * (8.0 - 6.0) - 100.0 * (10.0 - 6.0))
    assert out["discount_cost"] == pytest.approx(units1 * 2.0)


def test_log_lift_is_proportional_to_depth_and_the_dip_costs_margin():
    half = promo_value.lift_at_depth(math.log(1.25), 0.1, 0.2)
    assert half == pytest.approx(math.sqrt(1.25) - 1)
    base = promo_value.promotion_value(700.0, 7.0, 3.5, 0.1, math.log(1.25), 0.2)
    dip = promo_value.promotion_value(700.0, 7.0, 3.5, 0.1, math.log(1.25), 0.2, dip=-0.1, post_share=3 / 7)
    lost_value = 0.1 * 3 / 7 * 700.0
    assert base["incr_margin"] - dip["incr_margin"] == pytest.approx(lost_value * 0.5)
    assert base["incr_revenue"] - dip["incr_revenue"] == pytest.approx(lost_value)


def _cands(n_stores=2, n_products=3, weeks=3, depths=(0.1, 0.2)):
    rows = [{"store_id": f"S{s}", "product_id": f"P{p}", "week": w, "depth": d}
            for s in range(n_stores) for p in range(n_products) for w in range(weeks) for d in depths]
    return pd.DataFrame(rows)


def test_milp_respects_one_depth_k_per_store_week_and_back_to_back():
    cands = _cands()
    value = np.where(cands["depth"] == 0.2, 2.0, 1.0) + cands["product_id"].str[1:].astype(int).to_numpy()
    chosen, status = promo_milp.choose(cands, value, max_per_store_week=2)
    picked = cands[chosen]
    assert status == "optimal"
    assert (picked.groupby(["store_id", "product_id", "week"]).size() == 1).all()
    assert (picked.groupby(["store_id", "week"]).size() == 2).all()
    assert set(picked["product_id"]) == {"P1", "P2"} and (picked["depth"] == 0.2).all()  # the two best products
    chosen, _ = promo_milp.choose(cands, value, max_per_store_week=2, no_back_to_back=True)
    weeks = cands[chosen].groupby(["store_id", "product_id"])["week"].apply(sorted)
    assert all(np.diff(w).min() >= 2 for w in weeks if len(w) > 1)


def test_milp_budget_taken_slots_and_negative_values():
    cands = _cands()
    value = np.ones(len(cands))
    cost = np.full(len(cands), 10.0)
    chosen, _ = promo_milp.choose(cands, value, max_per_store_week=3, budget=35.0, cost=cost)
    assert chosen.sum() == 3
    chosen, _ = promo_milp.choose(cands, value, max_per_store_week=2, taken={("S0", 0): 2, ("S1", 1): 1})
    per = cands[chosen].groupby(["store_id", "week"]).size()
    assert ("S0", 0) not in per.index and per[("S1", 1)] == 1
    chosen, _ = promo_milp.choose(cands, -value, max_per_store_week=3)
    assert not chosen.any()  # nothing pays: an empty calendar, not an error
    assert not promo_milp.choose(cands, value, max_per_store_week=0)[0].any()


def test_random_calendar_is_feasible():
    cands = _cands(weeks=4)
    rng = np.random.default_rng(0)
    for _ in range(20):
        chosen = promo_milp.random_calendar(cands, 10, 2, rng, no_back_to_back=True)
        picked = cands[chosen]
        assert len(picked) == 10
        assert (picked.groupby(["store_id", "week"]).size() <= 2).all()
        assert (picked.groupby(["store_id", "product_id", "week"]).size() == 1).all()
        for _, weeks in picked.groupby(["store_id", "product_id"])["week"]:
            assert len(weeks) < 2 or np.diff(sorted(weeks)).min() >= 2


def _effects(dip_ci=(-0.08, -0.02)):
    return pd.DataFrame([
        {"kind": "promo_lift", "group": "A", "name": "promotion", "estimate": 0.3, "ci_low": 0.2, "ci_high": 0.4},
        {"kind": "promo_lift", "group": "A", "name": "post_promotion_dip", "estimate": sum(dip_ci) / 2,
         "ci_low": dip_ci[0], "ci_high": dip_ci[1]},
        {"kind": "promo_lift", "group": "all", "name": "promotion", "estimate": 0.1, "ci_low": 0.05,
         "ci_high": 0.15},
    ])


def test_effect_params_dip_rules_fallback_and_reference_depth():
    p = promotions.effect_params(_effects(), ["A", "B"], {"A": 0.25}, "D", (0.1, 0.2, 0.3)).set_index("category")
    assert p.loc["A", "dip_used"] and p.loc["A", "dip"] < 0 and p.loc["A", "ref_depth"] == 0.25
    assert p.loc["B", "lift"] == pytest.approx(0.1) and p.loc["B", "ref_source"] == "assumed"
    assert p.loc["B", "ref_depth"] == 0.2
    se = (math.log(1.4) - math.log(1.2)) / (2 * promotions.Z95)
    assert p.loc["A", "log_lift_se"] == pytest.approx(se)
    for ci in ((-0.03, 0.01), (0.01, 0.05)):  # no dip, or a rise: not banked on
        q = promotions.effect_params(_effects(ci), ["A"], {}, "D", (0.2,))
        assert not q["dip_used"].iloc[0] and q["dip"].iloc[0] == 0.0
    assert not promotions.effect_params(_effects(), ["A"], {}, "W", (0.2,))["dip_used"].iloc[0]
    with pytest.raises(ValueError, match="no promotion lift"):
        promotions.effect_params(_effects().iloc[:2], ["B"], {}, "D", (0.2,))


def _forecasts(days=21, start="2024-01-01"):
    ds = pd.date_range(start, periods=days, freq="D")
    rows = [{"series_id": sid, "ds": d, "yhat": 10.0 * (i + 1)} for i, sid in enumerate(["s1", "s2"]) for d in ds]
    nodes = pd.DataFrame({"node_id": ["s1", "s2"], "store_id": ["1", "1"], "product_id": ["a", "b"],
                          "category": ["A", "A"]})
    return pd.DataFrame(rows), nodes


def test_weekly_baseline_sums_days_and_refuses_weeks_outside_the_horizon():
    fc, nodes = _forecasts()
    weekly = promotions.weekly_baseline(fc, nodes, pd.Timestamp("2024-01-08"), 2, "D")
    assert weekly["baseline"].tolist() == [70.0, 70.0, 140.0, 140.0]
    assert len(weekly["dates"].iloc[0]) == 7 and weekly["week_start"].iloc[1] == pd.Timestamp("2024-01-15")
    for start, weeks in (("2024-01-09", 2), ("2023-12-31", 1)):
        with pytest.raises(ValueError, match="outside the forecast horizon"):
            promotions.weekly_baseline(fc, nodes, pd.Timestamp(start), weeks, "D")
    with pytest.raises(ValueError, match="refresh"):
        promotions.weekly_baseline(fc.iloc[:0], nodes, pd.Timestamp("2024-01-01"), 1, "D")


def test_optimize_intervals_contain_the_point_and_cover_effect_uncertainty():
    fc, nodes = _forecasts()
    weekly = promotions.weekly_baseline(fc, nodes, pd.Timestamp("2024-01-01"), 3, "D")
    prices = pd.DataFrame({"store_id": ["1", "1"], "product_id": ["a", "b"], "price": [1.0, 1.0],
                           "unit_cost": [0.3, 0.3], "price_source": "sales", "cost_source": "plan"})
    cands = promotions.candidate_frame(weekly, prices, (0.1, 0.2))
    params = promotions.effect_params(_effects((-0.01, 0.01)), ["A"], {"A": 0.2}, "D", (0.1, 0.2))
    res = promotions.optimize(cands, params, max_per_store_week=1, n_draws=500)
    t = res["totals"]
    assert t["promotions"] == 3 and (res["lines"]["product_id"] == "b").all()  # the larger baseline wins
    assert t["incr_margin_lo_95"] < t["incr_margin_lo_80"] < t["incr_margin"] < t["incr_margin_hi_80"] \
        < t["incr_margin_hi_95"]
    assert t["incr_margin"] == pytest.approx(res["lines"]["incr_margin"].sum())


def test_weekly_data_takes_one_forecast_date_per_week():
    ds = pd.date_range("2024-01-05", periods=4, freq="7D")
    fc = pd.DataFrame({"series_id": "s1", "ds": ds, "yhat": [5.0, 6.0, 7.0, 8.0]})
    nodes = pd.DataFrame({"node_id": ["s1"], "store_id": ["1"], "product_id": ["a"], "category": ["A"]})
    weekly = promotions.weekly_baseline(fc, nodes, pd.Timestamp("2024-01-10"), 3, "W")
    assert weekly["baseline"].tolist() == [6.0, 7.0, 8.0] and [len(d) for d in weekly["dates"]] == [1, 1, 1]
    with pytest.raises(ValueError, match="outside the forecast horizon"):
        promotions.weekly_baseline(fc, nodes, pd.Timestamp("2024-01-10"), 4, "W")


def test_default_margin_rate_setting(monkeypatch):
    import config
    monkeypatch.delenv("SALES_DEFAULT_MARGIN_RATE", raising=False)
    assert config.load().default_margin_rate == 0.30
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.45")
    assert config.load().default_margin_rate == 0.45
    for bad in ("1.2", "-0.1", "abc"):
        monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", bad)
        with pytest.raises(ValueError, match="SALES_DEFAULT_MARGIN_RATE"):
            config.load()
