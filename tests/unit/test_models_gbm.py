"""Global tree models and their features: lags never shorter than the horizon, horizon guard, learned effects, SVD model."""
import numpy as np
import pandas as pd
import pytest

from models import registry
from models.features import build_features, hierarchy_codes, lag_set, series_codes
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
    cols = [c for c in a.columns if not c.startswith("hier_") and c != "series_code"]
    pd.testing.assert_frame_equal(a.loc[last, cols], b.loc[last, cols])


def test_hierarchy_codes_come_from_the_columns_given_never_from_the_keys():
    df = pd.DataFrame({"series_id": ["b", "a", "c", "c"], "store_id": ["1", "2", None, None],
                       "product_id": ["7", "7", None, None], "region": None})
    hier = hierarchy_codes(df, ("product_id", "region", "store_id", "category"))
    assert list(hier.columns) == ["product_id", "store_id"]  # absent or all-missing columns are left out
    assert hier.loc[["a", "b", "c"]].to_numpy().tolist() == [["7", "2"], ["7", "1"], ["", ""]]
    codes = series_codes(pd.Series(["c", "a", "store=9/product=9"]), hier.reindex(["c", "a", "store=9/product=9"]))
    assert list(codes.columns) == ["series_code", "hier_product_id", "hier_store_id"]
    assert codes["hier_store_id"].tolist()[:2] == ["", "2"] and codes["hier_store_id"].isna().iloc[2]
    assert list(series_codes(pd.Series(["store=1/product=7"])).columns) == ["series_code"]  # keys are not parsed


@pytest.mark.parametrize("name", ["lgbm", "rf"])
def test_tree_models_never_read_the_series_keys(name):
    df = synth(n_series=4, n=120, seed=3)  # keys store=i%2/product=i
    members = df["series_id"].str.extract(r"store=(?P<store_id>\d+)/product=(?P<product_id>\d+)")
    df = pd.concat([df, members], axis=1)
    xf = future_exog(df, 7)

    def fc(frame, future, **params):
        model = registry.make_model(name, "D", horizon=7, **registry.test_params(name), **params).fit(frame)
        return model, model.predict(7, future)["yhat"].to_numpy()

    model, keyed = fc(df, xf)
    assert [c for c in model.feature_names_ if c.startswith("hier_")] == ["hier_product_id", "hier_store_id"]
    # the same members under opaque ids (same sort order): the very same forecasts
    opaque = {sid: f"s{i}" for i, sid in enumerate(sorted(df["series_id"].unique()))}
    _, renamed = fc(df.assign(series_id=df["series_id"].map(opaque)),
                    xf.assign(series_id=xf["series_id"].map(opaque)))
    assert np.array_equal(keyed, renamed)
    # without the hierarchy columns (or with none named) the keys' parts are not read: only the id is known
    bare, _ = fc(df.drop(columns=["store_id", "product_id"]), xf)
    named_none, without = fc(df, xf, hierarchy_cols=())
    assert bare.feature_names_ == named_none.feature_names_ and "series_code" in bare.feature_names_
    assert not any(c.startswith("hier_") for c in bare.feature_names_)
    assert np.array_equal(without, fc(df.drop(columns=["store_id", "product_id"]), xf)[1])


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
