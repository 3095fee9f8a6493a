"""Inventory policy math (decisions/): order-up-to levels with known answers, rounding, intermittent demand,
bad inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from decisions import demand, inventory


def _params(**over) -> pd.DataFrame:
    row = {"series_id": "store=1/product=A", "store_id": "1", "product_id": "A", "on_hand": 0.0, "on_order": 0.0,
           "lead_time_days": 4.0, "lead_time_sd_days": 0.0, "review_period_days": 1.0, "unit_cost": 2.0,
           "holding_rate": 0.25, "lost_sale_cost": 1.0, "target_csl": 0.95, "target_fill_rate": np.nan,
           "moq": 0.0, "case_pack": 1.0, "shelf_life_days": np.nan}
    row.update(over)
    return pd.DataFrame([row])


def test_order_up_to_matches_the_textbook_normal_case():
    """Normal daily demand 100 +- 20, independent days, lead time 4 days, review 1 day, CSL 95%:
    S = 5 * 100 + z_0.95 * 20 * sqrt(5); safety stock = z * 20 * sqrt(5) = 73.56; reorder point over the
    lead time alone = 400 + z * 40."""
    yhat, sigma = np.full((1, 10), 100.0), np.full((1, 10), 20.0)
    out = inventory.recommend(_params(on_hand=120.0, on_order=200.0), yhat, sigma, None, period_days=1.0)
    z = stats.norm.ppf(0.95)
    assert out["order_up_to"].iloc[0] == pytest.approx(500 + z * 20 * np.sqrt(5), rel=1e-9)
    assert out["safety_stock"].iloc[0] == pytest.approx(z * 20 * np.sqrt(5), rel=1e-9)
    assert out["reorder_point"].iloc[0] == pytest.approx(400 + z * 40, rel=1e-9)
    assert out["order_qty"].iloc[0] == np.ceil(500 + z * 20 * np.sqrt(5) - 320)
    assert out["stockout_prob"].iloc[0] <= 0.05 + 1e-9
    assert out["distribution"].iloc[0] == "normal"
    # 320 on hand + on order against lead-time demand N(400, 40^2): at risk before today's order arrives
    assert out["lead_time_stockout_prob"].iloc[0] == pytest.approx(stats.norm.sf((320 - 400) / 40))
    assert bool(out["at_risk"].iloc[0])  # 98% > 1 - 0.95
    assert out["days_of_cover"].iloc[0] == pytest.approx((320 + out["order_qty"].iloc[0]) / 100)


def test_correlated_days_widen_the_window_not_the_sum_of_quantiles():
    """With lag-1 autocorrelation rho, var(sum of 2 days) = 2 s^2 (1 + rho); never the sum of daily quantiles."""
    var = demand.window_variance(np.array([[10.0, 10.0]]), np.array([1.0, 1.0]), np.array([[0.5]]))
    assert var[0] == pytest.approx(2 * 100 * 1.5)
    d = demand.fitted_window(np.array([[100.0, 100.0]]), np.array([[10.0, 10.0]]), 2.0, np.array([[0.0]]))
    q = d.quantile(0.95)[0]
    assert q == pytest.approx(200 + stats.norm.ppf(0.95) * 10 * np.sqrt(2))
    assert q < 2 * (100 + stats.norm.ppf(0.95) * 10)  # the sum of per-day quantiles overstates it


def test_lead_time_variability_adds_its_term():
    d = demand.fitted_window(np.full((1, 5), 10.0), np.zeros((1, 5)), 4.0, lead_time_sd=1.0)
    assert d.sd[0] == pytest.approx(10.0)  # (mean per day)^2 * lt_sd^2


@pytest.mark.parametrize("raw,case_pack,moq,expected", [
    (0.0, 12, 50, 0.0), (-5.0, 12, 0, 0.0), (1.0, 12, 0, 12.0), (12.0, 12, 0, 12.0), (13.0, 12, 0, 24.0),
    (13.0, 12, 50, 60.0), (3.2, 1, 0, 4.0), (3.0, 1, 10, 10.0), (48.0, 12, 50, 60.0)])
def test_rounding_to_case_packs_and_moq(raw, case_pack, moq, expected):
    assert inventory.round_order(raw, case_pack, moq) == expected


def test_recommended_order_respects_case_pack_and_moq():
    yhat, sigma = np.full((1, 10), 10.0), np.full((1, 10), 1.0)
    out = inventory.recommend(_params(case_pack=24.0, moq=100.0), yhat, sigma, None, 1.0)
    assert out["order_qty"].iloc[0] == 120.0  # need ~54, MOQ 100, 5 cases of 24
    assert out["order_value"].iloc[0] == 240.0


def test_intermittent_series_get_a_sane_safety_stock():
    """A series sold on 1 day in 5 (1-3 units): the window distribution is a negative binomial on 0, 1, 2..,
    its 95% level covers about 95% of real windows and stays far below the normal's absurd level."""
    rng = np.random.default_rng(0)
    days = 5000
    y = np.where(rng.random(days) < 0.2, rng.integers(1, 4, days), 0).astype(float)
    windows = np.convolve(y, np.ones(5), mode="valid")
    mean, sd = y.mean(), y.std()
    acf1 = np.corrcoef(y[:-1], y[1:])[0, 1]
    d = demand.fitted_window(np.full((1, 5), mean), np.full((1, 5), sd), 5.0, np.array([[acf1, 0, 0, 0]]))
    assert d.kind[0] in ("negative_binomial", "poisson")
    level = d.quantile(0.95)[0]
    assert level == np.floor(level)  # whole units
    coverage = (windows <= level).mean()
    assert 0.93 <= coverage <= 0.995
    assert level <= np.quantile(windows, 0.99)
    # a single rare sale does not blow the order up: a near-zero forecast gives a level of a few units
    tiny = demand.fitted_window(np.full((1, 5), 0.02), np.full((1, 5), 0.3), 5.0)
    assert tiny.quantile(0.95)[0] <= 2


def test_fill_rate_and_cost_targets():
    yhat, sigma = np.full((2, 10), 100.0), np.full((2, 10), 30.0)
    params = pd.concat([_params(target_fill_rate=0.99, target_csl=np.nan),
                        _params(target_csl=np.nan, lost_sale_cost=9.0, unit_cost=1.0, holding_rate=365.0)],
                       ignore_index=True)
    out = inventory.recommend(params, yhat, sigma, None, 1.0)
    assert list(out["service_basis"]) == ["fill_rate", "cost"]
    assert out["expected_fill_rate"].iloc[0] >= 0.99 - 1e-3
    assert out["target_csl"].iloc[1] == pytest.approx(0.9)  # b / (b + h R) = 9 / (9 + 1)


def test_short_shelf_life_uses_the_newsvendor_ratio():
    yhat, sigma = np.full((1, 10), 100.0), np.full((1, 10), 10.0)
    out = inventory.recommend(_params(shelf_life_days=2.0, lost_sale_cost=1.0, unit_cost=3.0), yhat, sigma, None, 1.0)
    assert out["policy"].iloc[0] == "newsvendor"
    assert out["target_csl"].iloc[0] == pytest.approx(0.25)


def test_continuous_review_orders_only_at_or_below_the_reorder_point():
    yhat, sigma = np.full((2, 10), 10.0), np.full((2, 10), 2.0)
    params = pd.concat([_params(on_hand=5.0), _params(on_hand=500.0)], ignore_index=True)
    out = inventory.recommend(params, yhat, sigma, None, 1.0, policy="continuous")
    assert out["order_qty"].iloc[0] > 0 and out["order_qty"].iloc[1] == 0


@pytest.mark.parametrize("column,value,needle", [
    ("on_hand", -1.0, "column 'on_hand': must not be negative"),
    ("lead_time_days", -2.0, "column 'lead_time_days': must not be negative"),
    ("case_pack", 0.0, "column 'case_pack': must be a whole number of at least 1"),
    ("target_csl", 1.0, "column 'target_csl': a service level must lie strictly between 0 and 1"),
    ("target_csl", 0.0, "strictly between 0 and 1"),
    ("target_fill_rate", 1.5, "column 'target_fill_rate'"),
    ("review_period_days", 0.0, "column 'review_period_days': must be positive"),
])
def test_bad_inputs_are_refused_with_the_row_and_column(column, value, needle):
    with pytest.raises(ValueError) as err:
        inventory.recommend(_params(**{column: value}), np.ones((1, 10)), np.ones((1, 10)), None, 1.0)
    assert needle in str(err.value)
    assert "store '1', product 'A'" in str(err.value)


def test_short_forecasts_and_bad_levels_say_what_to_do():
    with pytest.raises(ValueError, match="refresh --horizon 5"):
        inventory.recommend(_params(), np.ones((1, 3)), np.ones((1, 3)), None, 1.0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        demand.WindowDemand(np.array([10.0]), np.array([1.0])).quantile(1.0)
    with pytest.raises(ValueError, match="case_pack"):
        inventory.round_order(5.0, 0, 0)
