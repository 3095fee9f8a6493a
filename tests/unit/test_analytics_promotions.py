"""Promotion lift, per-store lift and intensity response are recovered from hand-built panels."""
import numpy as np

from analytics import promotions
from analytics._synthetic import panel


def test_promotion_lift_recovered_inside_ci():
    df, ev = panel(seed=1, lift=0.3)
    rows = promotions.promotion_lift(df, "D", ev, post_promo=2)
    promo = rows[rows["name"] == "promotion"].iloc[0]
    assert promo["ci_low"] < 0.3 < promo["ci_high"]
    assert promo["unit"] == "relative" and promo["n"] == int((df["promo"] > 0).sum())
    dip = rows[rows["name"] == "post_promotion_dip"].iloc[0]  # none planted
    assert dip["ci_low"] < 0 < dip["ci_high"]


def test_no_promotion_effect_gives_interval_around_zero():
    df, ev = panel(seed=2, lift=0.0)
    promo = promotions.promotion_lift(df, "D", ev).iloc[0]
    assert promo["ci_low"] < 0 < promo["ci_high"]


def test_lift_per_store_recovered():
    df, ev = panel(seed=5, lift=0.2, n_series=12, n_stores=3)
    per_store = promotions.by_store(df, "D", ev)
    assert sorted(per_store["store_id"]) == ["0", "1", "2"]
    assert ((per_store["ci_low"] < 0.2) & (0.2 < per_store["ci_high"])).all()


def test_intensity_response_recovered():
    slope = 0.1  # log sales per unit of log1p(depth) on promotion days
    df, ev = panel(seed=6, lift=0.0, intensity_slope=slope)
    row = promotions.intensity_response(df, "D", ev).iloc[0]
    truth = 2 ** slope - 1
    assert row["unit"] == "relative_per_doubling"
    assert row["ci_low"] < truth < row["ci_high"]


def test_missing_promo_column_is_a_clear_error():
    df, ev = panel(seed=0, periods=60)
    try:
        promotions.promotion_lift(df.drop(columns="promo"), "D", ev)
    except ValueError as err:
        assert "promo" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected ValueError")
    assert np.isfinite(promotions.promotion_lift(df, "D", ev)["estimate"]).all()
