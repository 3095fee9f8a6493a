"""Rolling-origin backtests: fold placement, output frames, purity, and the leakage tests."""
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from models import registry
from models.backtest import backtest_series, fold_cutoffs, rolling_origin
from models.base import BaseForecaster
from models.metrics import METRIC_KEYS
from tests.unit.model_data import synth

H = 7


@pytest.fixture(scope="module")
def frame():
    return synth(n_series=3, n=90)


def test_fold_cutoffs_end_at_last_date():
    last = pd.Timestamp("2021-04-30")
    cuts = fold_cutoffs(last, "D", h=7, folds=3)
    assert cuts == [last - pd.Timedelta(days=21), last - pd.Timedelta(days=14), last - pd.Timedelta(days=7)]
    assert fold_cutoffs(last, "W", h=2, folds=2, step=1) == [last - pd.Timedelta(weeks=3), last - pd.Timedelta(weeks=2)]
    with pytest.raises(ValueError, match="folds and h"):
        fold_cutoffs(last, "D", h=0)


def test_rolling_origin_frames(frame):
    metrics, fc = rolling_origin(frame, "seasonal_naive", "D", H, folds=3)
    assert list(metrics.columns) == ["series_id", "model", "fold", *METRIC_KEYS]
    assert len(metrics) == 3 * 3 and sorted(metrics["fold"].unique()) == [1, 2, 3]
    assert {"cutoff", "y", "model", "fold"} <= set(fc.columns)
    assert (fc["ds"] > fc["cutoff"]).all() and (fc["ds"] <= fc["cutoff"] + pd.Timedelta(days=H)).all()
    assert fc["ds"].max() == frame["ds"].max()
    actual = fc.merge(frame[["series_id", "ds", "y"]], on=["series_id", "ds"], suffixes=("", "_true"))
    assert np.allclose(actual["y"], actual["y_true"])
    # seasonal naive with season 7 and h = 7 repeats the week before the cutoff exactly
    one = fc[(fc["fold"] == 2) & (fc["series_id"] == fc["series_id"].iloc[0])]
    hist = frame[(frame["series_id"] == one["series_id"].iloc[0]) & (frame["ds"] <= one["cutoff"].iloc[0])]
    assert np.allclose(one["yhat"].to_numpy(), hist["y"].to_numpy()[-7:])


def test_one_fold_alone_equals_that_fold_of_the_full_backtest(frame):
    """The refresh runs a global model's folds as separate tasks: each must match the full run's fold."""
    full, _ = rolling_origin(frame, "seasonal_naive", "D", H, folds=3)
    alone, _ = rolling_origin(frame, "seasonal_naive", "D", H, folds=3, only_folds=[2])
    assert sorted(alone["fold"].unique()) == [2]
    assert_frame_equal(alone.reset_index(drop=True), full[full["fold"] == 2].reset_index(drop=True))


def test_backtest_series_is_pure_and_per_series(frame):
    one = frame[frame["series_id"] == frame["series_id"].iloc[0]].copy()
    before = one.copy()
    out = backtest_series(one, ["seasonal_naive", "ets"], "D", H, folds=2, params=None)
    assert_frame_equal(one, before)  # input untouched
    assert sorted(out["model"].unique()) == ["ets", "seasonal_naive"] and len(out) == 4
    again = backtest_series(one, ["seasonal_naive", "ets"], "D", H, folds=2)
    assert_frame_equal(out, again)
    with pytest.raises(ValueError, match="one series"):
        backtest_series(frame, ["seasonal_naive"], "D", H)
    short = one.iloc[:5]
    assert backtest_series(short, ["seasonal_naive"], "D", H).empty


# ----------------------------------------------------------------------------- leakage

class Recorder(BaseForecaster):
    """Records what the backtest hands it; forecasts the last value."""
    name, uses_exog, is_global = "recorder", True, True
    calls: list = []

    def _fit(self, df):
        Recorder.calls.append(("fit", df["ds"].max(), sorted(df.columns)))
        self.last_y_ = df.groupby("series_id")["y"].last()

    def _predict(self, h, X_future, levels):
        Recorder.calls.append(("predict", X_future["ds"].min(), sorted(X_future.columns)))
        out = X_future[["series_id", "ds"]].copy()
        out["yhat"] = out["series_id"].map(self.last_y_)
        for c in ("yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"):
            out[c] = out["yhat"]
        return out


class Peeker(Recorder):
    """A cheat: forecasts the actual y at each future date if it can find it anywhere it was given."""
    name = "peeker"

    def _fit(self, df):
        self.seen_ = df[["series_id", "ds", "y"]].copy()
        super()._fit(df)

    def _predict(self, h, X_future, levels):
        out = super()._predict(h, X_future, levels)
        source = X_future if "y" in X_future.columns else self.seen_
        found = out[["series_id", "ds"]].merge(source[["series_id", "ds", "y"]], how="left")
        out["yhat"] = found["y"].fillna(out["yhat"]).to_numpy()  # no future y found: last value
        for c in ("yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"):
            out[c] = out["yhat"]
        return out


def test_backtest_hands_models_only_the_past(frame, monkeypatch):
    monkeypatch.setitem(registry.MODELS, "recorder", Recorder)
    Recorder.calls = []
    rolling_origin(frame, "recorder", "D", H, folds=3)
    cutoffs = fold_cutoffs(frame["ds"].max(), "D", H, 3)
    fits = [c for c in Recorder.calls if c[0] == "fit"]
    preds = [c for c in Recorder.calls if c[0] == "predict"]
    assert [f[1] for f in fits] == cutoffs  # training data never goes past the cutoff
    assert all("y" not in p[2] for p in preds)  # the horizon's exogenous values come without y
    assert [p[1] for p in preds] == [c + pd.Timedelta(days=1) for c in cutoffs]


def test_peeking_model_gets_no_future(frame, monkeypatch):
    monkeypatch.setitem(registry.MODELS, "peeker", Peeker)
    # Control: a leaky procedure (fit on the full frame, y in the horizon) makes the cheat perfect.
    cutoff = fold_cutoffs(frame["ds"].max(), "D", H, 1)[0]
    leaky = Peeker(freq="D")
    leaky.fit(frame[frame["ds"] <= cutoff])
    leaky.seen_ = frame  # what a leaky backtest would hand over
    cheat = leaky._predict(H, frame[frame["ds"] > cutoff][["series_id", "ds", "promo", "is_holiday", "temp_c"]],
                           (80, 95))
    truth = frame[frame["ds"] > cutoff]
    assert np.allclose(cheat["yhat"].to_numpy(), truth["y"].to_numpy())
    # The real backtest: the cheat finds nothing and scores exactly like the honest last-value model.
    monkeypatch.setitem(registry.MODELS, "recorder", Recorder)
    m_peek, _ = rolling_origin(frame, "peeker", "D", H, folds=3)
    m_honest, _ = rolling_origin(frame, "recorder", "D", H, folds=3)
    assert (m_peek["wape"] > 0.01).all()
    assert np.allclose(m_peek["wape"], m_honest["wape"])
    # And the model API itself refuses a horizon frame that carries y.
    with pytest.raises(ValueError, match="must not contain y"):
        Peeker(freq="D").fit(frame[frame["ds"] <= cutoff]).predict(H, truth)


@pytest.mark.parametrize("name", ["seasonal_naive", "ets", "lgbm"])
def test_future_values_do_not_change_backtest_forecasts(frame, name):
    """Scrambling every y after fold 1's cutoff must leave fold 1's forecasts unchanged."""
    params = registry.test_params(name)
    _, fc = rolling_origin(frame, name, "D", H, folds=2, model_params=params)
    cutoff = fc.loc[fc["fold"] == 1, "cutoff"].iloc[0]
    scrambled = frame.copy()
    after = scrambled["ds"] > cutoff
    scrambled.loc[after, "y"] = np.random.default_rng(1).permutation(scrambled.loc[after, "y"].to_numpy()) * 10
    _, fc2 = rolling_origin(scrambled, name, "D", H, folds=2, model_params=params)
    cols = ["series_id", "ds", "yhat", "yhat_lo_95", "yhat_hi_95"]
    assert_frame_equal(fc.loc[fc["fold"] == 1, cols].reset_index(drop=True),
                       fc2.loc[fc2["fold"] == 1, cols].reset_index(drop=True))
    assert not np.allclose(fc.loc[fc["fold"] == 2, "yhat"], fc2.loc[fc2["fold"] == 2, "yhat"])


def test_backdated_forecasts_are_rejected(frame, monkeypatch):
    class Backdater(Recorder):
        name = "backdater"

        def _predict(self, h, X_future, levels):
            out = super()._predict(h, X_future, levels)
            out["ds"] = out["ds"] - pd.Timedelta(days=h)  # "forecasts" of dates it has seen
            return out

    monkeypatch.setitem(registry.MODELS, "backdater", Backdater)
    with pytest.raises(ValueError, match="rows per fitted series"):
        rolling_origin(frame, "backdater", "D", H, folds=1)


def test_residual_diagnostics_match_statsmodels():
    """The numpy Ljung-Box test and autocorrelations equal statsmodels' (the textbook reference)."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf
    from models.diagnostics import residual_diagnostics
    rng = np.random.default_rng(0)
    e = rng.normal(size=120)
    r = e + 0.5 * np.roll(e, 1)  # autocorrelated: a small p-value
    got = residual_diagnostics(r, lags=10)
    assert got["lags"] == 10
    assert np.isclose(got["ljung_box_p"], acorr_ljungbox(r, lags=[10], return_df=True)["lb_pvalue"].iloc[-1])
    assert np.allclose(got["acf"], acf(r, nlags=10, fft=True)[1:])
    assert got["ljung_box_p"] < 0.01
