"""Each metric against values computed by hand."""
import math

import numpy as np
import pytest

from models.metrics import compute_metrics, holiday_weights, mase_scale, pinball_loss, wmae

Y = [10.0, 0.0, 20.0, 30.0]
F = [12.0, 1.0, 15.0, 30.0]
# errors yhat - y: [2, 1, -5, 0]; |e| = [2, 1, 5, 0]


def test_point_metrics_by_hand():
    m = compute_metrics(Y, F)
    assert m["mae"] == pytest.approx(8 / 4)
    assert m["rmse"] == pytest.approx(math.sqrt((4 + 1 + 25 + 0) / 4))
    # MAPE skips the zero actual: (2/10 + 5/20 + 0/30) / 3
    assert m["mape"] == pytest.approx((0.2 + 0.25 + 0.0) / 3)
    assert m["mape_excluded"] == 1
    # sMAPE: 2|e|/(|y|+|f|): 4/22, 2/1, 10/35, 0/60
    assert m["smape"] == pytest.approx((4 / 22 + 2 / 1 + 10 / 35 + 0) / 4)
    assert m["wape"] == pytest.approx(8 / 60)
    assert m["rmspe"] == pytest.approx(math.sqrt((0.2 ** 2 + 0.25 ** 2 + 0) / 3))
    assert m["bias"] == pytest.approx((2 + 1 - 5 + 0) / 4)
    assert math.isnan(m["mase"]) and math.isnan(m["coverage_80"]) and math.isnan(m["pinball"])


def test_mase_uses_seasonal_naive_scale():
    y_train = [1.0, 2.0, 4.0, 3.0, 7.0]
    # season 2: |4-1|, |3-2|, |7-4| -> mean 7/3
    assert mase_scale(y_train, 2) == pytest.approx(7 / 3)
    m = compute_metrics(Y, F, y_train=y_train, season_length=2)
    assert m["mase"] == pytest.approx(2.0 / (7 / 3))
    assert math.isnan(mase_scale([5.0, 5.0, 5.0], 1))  # constant history: undefined, not infinite
    assert math.isnan(mase_scale([1.0], 1))


def test_coverage_and_pinball_by_hand():
    y = [10.0, 20.0]
    f = [11.0, 18.0]
    lo80, hi80 = [9.0, 19.0], [12.0, 21.0]
    lo95, hi95 = [8.0, 15.0], [14.0, 20.0]
    m = compute_metrics(y, f, lo80, hi80, lo95, hi95)
    assert m["coverage_80"] == pytest.approx(1.0)
    assert m["coverage_95"] == pytest.approx(1.0)  # 20 sits on the upper bound: inside
    # pinball(q, y, p) = max(q*(y-p), (q-1)*(y-p))
    p10 = (0.1 * 1 + 0.1 * 1) / 2
    p90 = (0.1 * 2 + 0.1 * 1) / 2
    p025 = (0.025 * 2 + 0.025 * 5) / 2
    p975 = (0.025 * 4 + 0.0) / 2
    assert m["pinball"] == pytest.approx((p10 + p90 + p025 + p975) / 4)
    m2 = compute_metrics([10.0, 30.0], [11.0, 18.0], lo80, hi80, lo95, hi95)
    assert m2["coverage_80"] == pytest.approx(0.5) and m2["coverage_95"] == pytest.approx(0.5)


def test_pinball_loss_asymmetry():
    assert pinball_loss([10.0], [8.0], 0.9) == pytest.approx(0.9 * 2)
    assert pinball_loss([10.0], [12.0], 0.9) == pytest.approx(0.1 * 2)


def test_wmae_walmart_weights():
    y, f = [100.0, 200.0, 300.0], [110.0, 190.0, 330.0]
    w = holiday_weights([False, True, False])
    assert list(w) == [1.0, 5.0, 1.0]
    assert wmae(y, f, w) == pytest.approx((10 + 5 * 10 + 30) / 7)
    with pytest.raises(ValueError, match="lengths"):
        wmae(y, f, [1.0])


def test_errors_are_clear():
    with pytest.raises(ValueError, match="y_pred has"):
        compute_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        compute_metrics([1.0, np.nan], [1.0, 2.0])


def test_all_zero_actuals():
    m = compute_metrics([0.0, 0.0], [1.0, 0.0])
    assert math.isnan(m["mape"]) and m["mape_excluded"] == 2 and math.isnan(m["wape"])
    assert m["smape"] == pytest.approx((2.0 + 0.0) / 2)


def test_metrics_by_series_equals_compute_metrics_per_series():
    """The vectorised per-series metrics (used by every backtest) match the textbook one-series function."""
    import pandas as pd
    from models.metrics import compute_metrics, mase_scales, metrics_by_series, METRIC_KEYS
    rng = np.random.default_rng(3)
    rows, train = [], []
    for k, sid in enumerate(["a", "b", "c", "d"]):
        y = rng.gamma(2.0, 10.0, 12)
        y[rng.random(12) < 0.3] = 0.0  # zero actuals: MAPE/RMSPE exclude them
        if sid == "d":
            y[:] = 0.0  # all zero: WAPE, MAPE and RMSPE undefined
        f = y + rng.normal(0, 5, 12)
        sd = rng.uniform(1, 8, 12)
        rows.append(pd.DataFrame({"series_id": sid, "y": y, "yhat": f, "yhat_lo_80": f - sd, "yhat_hi_80": f + sd,
                                  "yhat_lo_95": f - 2 * sd, "yhat_hi_95": f + 2 * sd}))
        hist = rng.gamma(2.0, 10.0, 20) if sid != "c" else np.full(20, 5.0)  # constant history: MASE NaN
        train.append(pd.DataFrame({"series_id": sid, "ds": pd.date_range("2020-01-01", periods=20), "y": hist}))
    frame, train = pd.concat(rows, ignore_index=True), pd.concat(train, ignore_index=True)
    got = metrics_by_series(frame, mase_scales(train, 7)).set_index("series_id")
    for sid, g in frame.groupby("series_id"):
        want = compute_metrics(g["y"], g["yhat"], g["yhat_lo_80"], g["yhat_hi_80"], g["yhat_lo_95"], g["yhat_hi_95"],
                               y_train=train.loc[train["series_id"] == sid, "y"], season_length=7)
        for key in METRIC_KEYS:
            assert np.isclose(got.loc[sid, key], want[key], equal_nan=True), (sid, key, got.loc[sid, key], want[key])
