"""The same checks on every registered model: output schema, h rows per series, ordered bounds, fit returns self,
determinism, any coverage levels, and the scikit-learn parameter conventions (get/set_params, clone)."""
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.base import clone

from domain import FORECAST_COLS as OUT_COLS
from models import registry
from models.base import BaseForecaster
from models.registry import MODELS, make_model
from tests.unit.model_data import future_exog, synth

H = 7
# Models whose optional dependency is missing here (lstm without torch: `make deep`) are skipped with its message.
NAMES = [pytest.param(n, marks=pytest.mark.skipif(registry.missing_dependency(n) is not None,
                                                  reason=str(registry.missing_dependency(n))))
         for n in sorted(MODELS)]


@pytest.fixture(scope="module")
def frame():
    return synth(n_series=2, n=70)


def _make(name, freq="D"):
    """The model with its test parameters and, when it takes one, the horizon H."""
    return make_model(name, freq, **({"horizon": H} if registry.accepts(name, "horizon") else {}),
                      **registry.test_params(name))


def _fit(name, frame):
    model = _make(name)
    return model, model.fit(frame)


@pytest.mark.parametrize("name", NAMES)
def test_contract(name, frame):
    model, returned = _fit(name, frame)
    assert returned is model
    assert getattr(model, "fallbacks_", []) == []  # the real model ran, not the short-series fallback
    xf = future_exog(frame, H) if model.uses_exog else None
    out = model.predict(H, xf)
    assert list(out.columns) == OUT_COLS
    assert out.groupby("series_id").size().to_dict() == {s: H for s in frame["series_id"].unique()}
    assert (out.groupby("series_id")["ds"].min() > frame.groupby("series_id")["ds"].max()).all()
    v = out[OUT_COLS[2:]].to_numpy()
    assert np.isfinite(v).all()
    lo95, lo80, yhat, hi80, hi95 = (out[c].to_numpy() for c in
                                    ("yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"))
    assert (lo95 <= lo80).all() and (lo80 <= yhat).all() and (yhat <= hi80).all() and (hi80 <= hi95).all()
    assert (hi95 - lo95 > 0).mean() > 0.5  # real intervals, not points
    fv = model.fitted_values()
    assert list(fv.columns) == ["series_id", "ds", "y", "yhat"] and len(fv) == len(frame)
    # determinism: a second, fresh fit gives the same forecast; so does refitting the same object
    _, again = _fit(name, frame)
    assert_frame_equal(out, again.predict(H, xf))
    assert_frame_equal(out, model.fit(frame).predict(H, xf))


@pytest.mark.parametrize("name", NAMES)
def test_predict_before_fit_and_bad_input(name, frame):
    model = _make(name)
    with pytest.raises(ValueError, match="call fit first"):
        model.predict(H)
    with pytest.raises(ValueError, match="lacks column"):
        model.fit(frame.drop(columns=["y"]))


@pytest.mark.parametrize("name", [p for p in NAMES if MODELS[p.values[0]].uses_exog])
def test_exog_models_need_full_future(name, frame):
    model = _make(name).fit(frame)
    with pytest.raises(ValueError, match="X_future"):
        model.predict(H)
    short = future_exog(frame, H - 2)
    with pytest.raises(ValueError, match="does not cover"):
        model.predict(H, short)
    leaky = future_exog(frame, H).assign(y=1.0)
    with pytest.raises(ValueError, match="must not contain y"):
        model.predict(H, leaky)


@pytest.mark.parametrize("name", NAMES)
def test_any_coverage_levels(name, frame):
    model, _ = _fit(name, frame)
    xf = future_exog(frame, H) if model.uses_exog else None
    default = model.predict(H, xf)
    out = model.predict(H, xf, level=[99, 50, 80])
    assert list(out.columns) == ["series_id", "ds", "yhat", "yhat_lo_50", "yhat_hi_50", "yhat_lo_80", "yhat_hi_80",
                                 "yhat_lo_99", "yhat_hi_99"]
    assert_frame_equal(out[["series_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80"]], default[OUT_COLS[:5]])
    lo = out[["yhat_lo_99", "yhat_lo_50"]].to_numpy()
    hi = out[["yhat_hi_50", "yhat_hi_99"]].to_numpy()
    assert (lo[:, 0] <= lo[:, 1]).all() and (lo[:, 1] <= out["yhat"]).all()
    assert (out["yhat"] <= hi[:, 0]).all() and (hi[:, 0] <= hi[:, 1]).all()
    assert (out["yhat_hi_99"] - out["yhat_lo_99"] > out["yhat_hi_50"] - out["yhat_lo_50"]).mean() > 0.5
    for bad in ([], [0], [100], [80.5], ["80"]):
        with pytest.raises(ValueError, match="level"):
            model.predict(H, xf, level=bad)


@pytest.mark.parametrize("name", NAMES)
def test_sklearn_parameter_conventions(name):
    model = _make(name, "W")
    params = model.get_params()
    assert params["freq"] == "W" and params["season_length"] == 52
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    assert model.set_params(season_length=4) is model and model.season_length == 4
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(not_a_parameter=1)
    with pytest.raises(ValueError, match="no hyperparameter"):
        make_model(name, "W", not_a_parameter=1)
    assert "hyperparams" not in vars(model)  # every hyperparameter is an explicit __init__ argument


def test_misspelt_hyperparameter_is_an_error():
    with pytest.raises(ValueError, match="n_estimatorz"):
        make_model("lgbm", "D", n_estimatorz=5)
    # no silent drops: a run setting a model does not take is an error too; callers ask ``accepts`` first
    assert registry.accepts("lgbm", "num_threads") and not registry.accepts("seasonal_naive", "num_threads")
    assert registry.accepts("rf", "horizon") and not registry.accepts("seasonal_naive", "horizon")
    with pytest.raises(ValueError, match="no hyperparameter"):
        make_model("seasonal_naive", "D", horizon=7)


class CrossedIntervals(BaseForecaster):
    """A broken model: its 80% interval lies above its point forecast."""

    name, is_global = "crossed", True

    def _fit(self, df):
        self.last_y_ = df.groupby("series_id")["y"].last()

    def _predict(self, h, X_future, levels):
        out = self._future_index(h)
        out["yhat"] = out["series_id"].map(self.last_y_)
        for lv in levels:
            out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = out["yhat"] + 1.0, out["yhat"] + 2.0
        return out


class UnnestedIntervals(CrossedIntervals):
    """A broken model: its 95% interval is narrower than its 80% interval."""

    name = "unnested"

    def _predict(self, h, X_future, levels):
        out = super()._predict(h, X_future, levels)
        for lv in levels:
            out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = out["yhat"] - 100.0 / lv, out["yhat"] + 100.0 / lv
        return out


@pytest.mark.parametrize("cls, message", [(CrossedIntervals, "crossed: prediction intervals out of order for "
                                                              "series store=0/product=0 .* yhat_lo_80=.* > yhat="),
                                          (UnnestedIntervals, "unnested: .*yhat_lo_95=.* > yhat_lo_80=")])
def test_intervals_in_the_wrong_order_are_rejected(cls, message, frame):
    model = cls().fit(frame)
    with pytest.raises(ValueError, match=message):
        model.predict(H)
