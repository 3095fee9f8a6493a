"""Global tree models and their features: lags never shorter than the horizon, horizon guard, learned effects, SVD model."""
import numpy as np
import pandas as pd
import pytest

from models import registry
from models.features import build_features, lag_set, series_codes
from tests.unit.model_data import future_exog, synth


@pytest.mark.parametrize("h,m,freq", [(1, 7, "D"), (42, 7, "D"), (6, 52, "W"), (39, 52, "W")])
def test_lags_never_shorter_than_horizon(h, m, freq):
    lags = lag_set(h, m, freq)
    assert min(lags) == h and all(lag >= h for lag in lags)
    if freq == "W":
        assert 52 in lags


def test_features_use_only_values_at_least_h_back():
    df = synth(n_series=2, n=60)
    scale = df.groupby("series_id")["y"].mean()
    a = build_features(df, 7, 7, "D", scale)
    changed = df.copy()
    last = changed["ds"] > changed["ds"].max() - pd.Timedelta(days=7)
    changed.loc[last, "y"] *= 100  # the last 7 days must not move any feature of the last 7 days
    b = build_features(changed, 7, 7, "D", scale)
    cols = [c for c in a.columns if not c.startswith("key_") and c != "series_code"]
    pd.testing.assert_frame_equal(a.loc[last, cols], b.loc[last, cols])


def test_series_codes_parse_hierarchical_keys():
    codes = series_codes(pd.Series(["store=1/product=7", "store=2/product=7"]))
    assert codes["key_product"].tolist() == ["7", "7"] and codes["key_store"].tolist() == ["1", "2"]


def test_lgbm_horizon_guard_and_promo_effect():
    df = synth(n_series=4, n=150, seed=2)
    model = registry.make_model("lgbm", "D", horizon=7, **registry.test_params("lgbm")).fit(df)
    with pytest.raises(ValueError, match="refit with horizon=8"):
        model.predict(8, future_exog(df, 8))
    xf = future_exog(df, 7)
    on, off = model.predict(7, xf.assign(promo=1.0)), model.predict(7, xf.assign(promo=0.0))
    assert (on["yhat"].to_numpy() > off["yhat"].to_numpy()).mean() > 0.9


def test_conformal_intervals_cover_roughly():
    from models.backtest import rolling_origin
    df = synth(n_series=6, n=200, seed=5)
    metrics, _ = rolling_origin(df, "lgbm", "D", 14, folds=2, model_params=registry.test_params("lgbm"))
    assert 0.7 <= metrics["coverage_95"].mean() <= 1.0


def test_seasonal_svd_denoises_a_shared_pattern():
    rng = np.random.default_rng(0)
    pattern = np.array([5, 6, 9, 14, 20, 12, 7], float)
    rows = []
    for store in range(6):
        y = np.tile(pattern, 6) * (1 + store / 10) + rng.normal(0, 1.5, 42)
        rows.append(pd.DataFrame({"series_id": f"store={store}/product=1", "y": y,
                                  "ds": pd.date_range("2022-01-03", periods=42)}))
    df = pd.concat(rows, ignore_index=True)
    truth = np.concatenate([pattern * (1 + s / 10) for s in range(6)])
    svd = registry.make_model("seasonal_svd", "D", rank=1).fit(df).predict(7)
    naive = registry.make_model("seasonal_naive", "D").fit(df).predict(7)
    err_svd, err_naive = np.abs(svd["yhat"] - truth).mean(), np.abs(naive["yhat"] - truth).mean()
    assert err_svd < 0.6 * err_naive


def test_seasonal_svd_pools_by_the_group_column_not_by_the_series_keys():
    rng = np.random.default_rng(1)
    ds = pd.date_range("2022-01-03", periods=28)
    rows = []
    for product, pattern in enumerate(([5, 6, 9, 14, 20, 12, 7], [20, 3, 3, 3, 3, 3, 20])):
        for store in range(4):
            y = np.tile(pattern, 4) * (1 + store / 10) + rng.normal(0, 1.0, 28)
            rows.append(pd.DataFrame({"series_id": f"s{product}{store}", "ds": ds, "y": y, "product_id": str(product)}))
    df = pd.concat(rows, ignore_index=True)

    def fc(frame, **params):
        return registry.make_model("seasonal_svd", "D", rank=1, **params).fit(frame).predict(7)["yhat"].to_numpy()

    grouped, pooled = fc(df), fc(df, group_col=None)
    assert not np.allclose(grouped, pooled)  # one rank-1 shape cannot fit both products
    assert np.allclose(fc(df.drop(columns="product_id")), pooled)  # no group column: one group
    assert np.array_equal(fc(df.rename(columns={"product_id": "sku"}), group_col="sku"), grouped)
    keyed = df.assign(series_id="product=9" + df["series_id"].str[1] + "/store=" + df["series_id"].str[2])
    assert np.array_equal(fc(keyed.drop(columns="product_id")), pooled)  # the keys' product part is never read


def test_lgbm_in_sample_fits_follow_the_series_and_are_computed_only_on_demand():
    df = synth(n_series=3, n=120)
    model = registry.make_model("lgbm", "D", horizon=7, **registry.test_params("lgbm")).fit(df)
    assert model.fitted_values_ is None  # backtest folds never ask for them, so fitting does not predict them
    fv = model.fitted_values().dropna(subset=["yhat"])
    assert len(fv) > 0.8 * len(df)
    assert np.corrcoef(fv["y"], fv["yhat"])[0, 1] > 0.8
    assert fv.equals(model.fitted_values().dropna(subset=["yhat"]))  # computed once, then reused
