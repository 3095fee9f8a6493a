"""Sparse demand: Syntetos-Boylan classes, Croston SBA and TSB against hand computations, their intervals on
all-zero and single-demand series, RMSSE and pinball against hand computations, and the sparse selection rule."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import demand
from models import registry
from models.intermittent import croston_path, tsb_path
from models.metrics import compute_metrics, pinball_loss, rmsse_scale
from models.selection import select_sparse


def _long(series: dict[str, list[float]], start="2024-01-01") -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"series_id": sid, "ds": pd.date_range(start, periods=len(y)), "y": y})
                      for sid, y in series.items()], ignore_index=True).astype({"y": float})


def test_classes_match_hand_computations():
    frame = _long({"int": [0, 0, 3, 0, 0, 3, 0, 0, 3], "smooth": [5, 6, 5, 6], "erratic": [1, 10, 1, 10],
                   "lumpy": [0, 0, 0, 1, 0, 0, 20, 0], "none": [0, 0, 0], "single": [0, 0, 7, 0]})
    got = demand.classify_demand(frame).set_index("series_id")
    assert got.loc["int", "adi"] == 3 and got.loc["int", "cv2"] == 0
    assert got.loc["smooth", "cv2"] == pytest.approx((1 / 3) / 5.5 ** 2)  # sample variance of 5,6,5,6 is 1/3
    assert got.loc["erratic", "cv2"] == pytest.approx(27 / 5.5 ** 2)
    assert got.loc["lumpy", "adi"] == 4 and got.loc["lumpy", "cv2"] == pytest.approx(180.5 / 10.5 ** 2)
    assert got.loc["single", "adi"] == 4 and got.loc["single", "cv2"] == 0 and got.loc["single", "n_demands"] == 1
    assert np.isinf(got.loc["none", "adi"]) and np.isnan(got.loc["none", "cv2"])
    assert got["demand_class"].to_dict() == {"erratic": "erratic", "int": "intermittent", "lumpy": "lumpy",
                                             "none": "no_demand", "single": "intermittent", "smooth": "smooth"}
    assert demand.sparse_ids(got.reset_index()) == ["int", "lumpy", "single"]


def test_class_cut_offs_are_inclusive_above():
    """ADI = 1.32 exactly (33 periods, 25 demands) is at the cut-off: not smooth."""
    y = [4.0] * 25 + [0.0] * 8
    got = demand.classify_demand(_long({"a": y}))
    assert got["adi"].iloc[0] == pytest.approx(1.32) and got["demand_class"].iloc[0] == "intermittent"


def test_croston_sba_by_hand():
    """y = 0, 0, 4, 0, 2 with alpha 0.5: first demand z=4, p=3; then z=3, p=2.5; SBA factor 0.75."""
    fitted, last, _ = croston_path(np.array([[0, 0, 4, 0, 2.0]]), np.array([0.5]))
    np.testing.assert_allclose(fitted[0], [np.nan, np.nan, np.nan, 1.0, 1.0])
    assert last[0] == pytest.approx(0.75 * 3 / 2.5)
    model = registry.make_model("croston_sba", "D", alphas=(0.5,)).fit(_long({"a": [0, 0, 4, 0, 2]}))
    assert model.predict(3)["yhat"].tolist() == pytest.approx([0.9] * 3)


def test_tsb_by_hand():
    """y = 0, 3, 0, 0 with alpha = beta = 0.5: d starts at 1/4 and decays while no demand comes."""
    fitted, last, _ = tsb_path(np.array([[0, 3, 0, 0.0]]), np.array([0.5]), np.array([0.5]))
    np.testing.assert_allclose(fitted[0], [0.0, 0.0, 0.5625 * 3, 0.28125 * 3])
    assert last[0] == pytest.approx(0.140625 * 3)


def test_grid_search_picks_the_smaller_in_sample_error():
    """A series whose demand rate falls needs the faster weight; a stable one the slower."""
    rng = np.random.default_rng(0)
    stable = (rng.random(400) < 0.3) * 5.0
    falling = np.where(np.arange(400) < 200, (rng.random(400) < 0.6) * 5.0, (rng.random(400) < 0.05) * 5.0)
    model = registry.make_model("tsb", "D", alphas=(0.1,), betas=(0.01, 0.3)).fit(
        _long({"falling": falling, "stable": stable}))
    assert model.params_.loc["falling", "beta"] == 0.3 and model.params_.loc["stable", "beta"] == 0.01


@pytest.mark.parametrize("name", ["croston_sba", "tsb"])
def test_all_zero_and_single_demand_series(name):
    frame = _long({"zero": [0.0] * 30, "single": [0.0] * 10 + [6.0] + [0.0] * 19, "one_day": [2.0]})
    out = registry.make_model(name, "D").fit(frame).predict(5).set_index("series_id")
    cols = ["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]
    assert np.isfinite(out[cols].to_numpy()).all() and (out[cols].to_numpy() >= 0).all()
    assert (out.loc["zero", cols].to_numpy() == 0).all()
    single = out.loc["single"]
    assert (single["yhat"] > 0).all() and (single["yhat"] < 6 / 10).all()
    assert (single["yhat_lo_95"] <= single["yhat"]).all() and (single["yhat"] <= single["yhat_hi_95"]).all()


def test_intervals_cover_held_out_intermittent_demand():
    """Empirical residual quantiles: 80% and 95% intervals cover about that share of new periods."""
    from analytics._synthetic import intermittent_panel
    panel = intermittent_panel(seed=3, n_stores=4, n_products=10, periods=400)
    train, test = panel[panel["ds"] < panel["ds"].max() - pd.Timedelta(days=27)], panel
    test = test[test["ds"] >= test["ds"].max() - pd.Timedelta(days=27)]
    for name in ("croston_sba", "tsb"):
        fc = registry.make_model(name, "D").fit(train[["series_id", "ds", "y"]]).predict(28)
        j = test.merge(fc, on=["series_id", "ds"])
        m = compute_metrics(j["y"], j["yhat"], j["yhat_lo_80"], j["yhat_hi_80"], j["yhat_lo_95"], j["yhat_hi_95"])
        assert 0.72 <= m["coverage_80"] <= 0.9 and 0.9 <= m["coverage_95"] <= 0.99, (name, m)


def test_rmsse_and_pinball_by_hand():
    """RMSSE: training [1,3,2,4] has one-step naive MSE (4+1+4)/3 = 3; forecast errors 1 and -1 give MSE 1."""
    assert rmsse_scale([1, 3, 2, 4], 1) == pytest.approx(3.0)
    m = compute_metrics([2, 2], [3, 1], lo_80=[1, 1], hi_80=[4, 4], lo_95=[0, 0], hi_95=[5, 5],
                        y_train=[1, 3, 2, 4], season_length=1)
    assert m["rmsse"] == pytest.approx(np.sqrt(1 / 3))
    # pinball per point: q=0.1 at lo 1 -> 0.1; q=0.9 at hi 4 -> 0.2; q=0.025 at 0 -> 0.05; q=0.975 at 5 -> 0.075
    assert pinball_loss([2], [1], 0.1) == pytest.approx(0.1) and pinball_loss([2], [4], 0.9) == pytest.approx(0.2)
    assert m["pinball"] == pytest.approx((0.1 + 0.2 + 0.05 + 0.075) / 4)
    assert np.isnan(compute_metrics([1], [1], y_train=[0, 0, 0], season_length=1)["rmsse"])  # no scale


def test_select_sparse_uses_rmsse_among_models_with_forecasts():
    metrics = pd.DataFrame({"series_id": ["a"] * 6 + ["b"] * 4, "fold": [1, 2] * 5,
                            "model": ["seasonal_naive"] * 2 + ["croston_sba"] * 2 + ["tsb"] * 2
                            + ["seasonal_naive"] * 2 + ["croston_sba"] * 2,
                            "rmsse": [1.0, 1.0, 0.7, 0.9, 0.6, 0.8, 0.5, 0.5, 0.9, 0.9],
                            "wape": [0.1] * 10})
    have = pd.DataFrame({"series_id": ["a", "a", "a", "b", "b"],
                         "model": ["seasonal_naive", "croston_sba", "tsb", "seasonal_naive", "croston_sba"]})
    got = select_sparse(metrics, ["a", "b"], have)
    assert got[["series_id", "model", "metric"]].values.tolist() == [["a", "tsb", "rmsse"],
                                                                      ["b", "seasonal_naive", "rmsse"]]
    without_tsb = select_sparse(metrics, ["a"], have[have["model"] != "tsb"])
    assert without_tsb["model"].tolist() == ["croston_sba"]  # the best with a forecast
