"""Local models: seasonal-naive values and interval widths by hand, short-series fallbacks, what ETS/ARIMA/Prophet learn."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models import registry
from models.naive import naive_forecast, naive_state
from tests.unit.model_data import future_exog, synth


def _frame(y, start="2022-01-03", sid="a"):
    return pd.DataFrame({"series_id": sid, "ds": pd.date_range(start, periods=len(y)), "y": np.asarray(y, float)})


def test_seasonal_naive_by_hand():
    y = [1, 2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7, 8]  # second week = first week + 1
    out = registry.make_model("seasonal_naive", "D").fit(_frame(y)).predict(9)
    assert out["yhat"].tolist() == [2, 3, 4, 5, 6, 7, 8, 2, 3]
    sigma = 1.0  # every residual y_t - y_{t-7} is exactly 1
    z95 = stats.norm.ppf(0.975)
    half = (out["yhat_hi_95"] - out["yhat"]).to_numpy()
    assert np.allclose(half[:7], z95 * sigma) and np.allclose(half[7:], z95 * sigma * np.sqrt(2))


def test_short_series_fall_back_to_naive_and_mean():
    st = naive_state(np.array([3.0, 5.0, 4.0]), 7)
    assert st["kind"] == "naive" and naive_forecast(st, 2)["yhat"].tolist() == [4.0, 4.0]
    st = naive_state(np.array([3.0, 5.0]), 7)
    assert st["kind"] == "mean" and naive_forecast(st, 1)["yhat"].tolist() == [4.0]
    df = pd.concat([_frame(np.arange(40.0) % 7, sid="long"), _frame([5.0, 6.0, 7.0], sid="short")])
    model = registry.make_model("ets", "D", **registry.test_params("ets")).fit(df)
    assert model.fallbacks_ == ["short"]
    out = model.predict(3)
    assert out.loc[out["series_id"] == "short", "yhat"].tolist() == [7.0, 7.0, 7.0]


def test_missing_values_must_be_filled_first():
    df = _frame([1.0, 2.0, 3.0]).drop(index=1)
    with pytest.raises(ValueError, match="fill gaps first"):
        registry.make_model("seasonal_naive", "D").fit(df.assign(y=[1.0, np.nan]))


def test_ets_recovers_a_clean_season():
    pattern = np.array([10, 12, 14, 20, 25, 18, 11], float)
    y = np.tile(pattern, 10) + np.random.default_rng(0).normal(0, 0.1, 70)
    out = registry.make_model("ets", "D").fit(_frame(y)).predict(7)
    assert np.allclose(out["yhat"], pattern, atol=0.5)
    assert ((out["yhat_hi_95"] - out["yhat_lo_95"]) < 2).all()


def test_ets_on_two_seasons_of_weekly_data_deseasonalises_instead_of_falling_back():
    """104 weeks cannot initialise 52 seasonal states; the deseasonalised ETS must still beat seasonal naive."""
    rng = np.random.default_rng(0)
    t = np.arange(104 + 20)
    clean = 100 + 20 * np.sin(2 * np.pi * t / 52) + 60 * (t % 52 == 46)
    y = clean[:104] + rng.normal(0, 3, 104)
    df = pd.DataFrame({"series_id": "a", "ds": pd.date_range("2010-02-05", periods=104, freq="W-FRI"), "y": y})
    model = registry.make_model("ets", "W").fit(df)
    out = model.predict(20)
    assert model.fallbacks_ == []
    ets_mae = np.abs(out["yhat"].to_numpy() - clean[104:]).mean()
    naive_mae = np.abs(y[t[104:] - 52] - clean[104:]).mean()
    assert ets_mae < 0.75 * naive_mae  # two seasons averaged: about half the noise of last year's value
    assert (out["yhat_lo_95"] <= out["yhat"]).all() and (out["yhat"] <= out["yhat_hi_95"]).all()


def test_arima_uses_the_promo_regressor():
    df = synth(n_series=1, n=120, seed=3)
    model = registry.make_model("arima", "D", **registry.test_params("arima")).fit(df)
    xf = future_exog(df, 10)
    xf["promo"] = [0, 1] * 5
    out = model.predict(10, xf)
    lift = out["yhat"].to_numpy()[1::2].mean() - out["yhat"].to_numpy()[0::2].mean()
    assert lift > 0.15 * df["y"].mean()  # the synthetic promo lift is 40% of the level


@pytest.mark.parametrize("freq", ["D", "W"])
def test_prophet_runs_daily_and_weekly(freq):
    df = synth(n_series=1, n=60, freq=freq, seed=4)
    model = registry.make_model("prophet", freq, **registry.test_params("prophet"))
    out = model.fit(df).predict(4, future_exog(df, 4, freq))
    assert len(out) == 4 and model.fallbacks_ == []
    assert (out["yhat_lo_95"] < out["yhat_lo_80"]).all()
