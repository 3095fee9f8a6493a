"""The same checks on every registered model: output schema, h rows per series, ordered bounds, fit returns self, determinism."""
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from models.base import OUT_COLS
from models import registry
from models.registry import MODELS, make_model
from tests.unit.model_data import future_exog, synth

H = 7


@pytest.fixture(scope="module")
def frame():
    return synth(n_series=2, n=70)


def _fit(name, frame):
    model = make_model(name, "D", horizon=H, **registry.test_params(name))
    return model, model.fit(frame)


@pytest.mark.parametrize("name", sorted(MODELS))
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


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_before_fit_and_bad_input(name, frame):
    model = make_model(name, "D", horizon=H, **registry.test_params(name))
    with pytest.raises(ValueError, match="call fit first"):
        model.predict(H)
    with pytest.raises(ValueError, match="lacks column"):
        model.fit(frame.drop(columns=["y"]))


@pytest.mark.parametrize("name", [n for n in sorted(MODELS) if MODELS[n].uses_exog])
def test_exog_models_need_full_future(name, frame):
    model = make_model(name, "D", horizon=H, **registry.test_params(name)).fit(frame)
    with pytest.raises(ValueError, match="X_future"):
        model.predict(H)
    short = future_exog(frame, H - 2)
    with pytest.raises(ValueError, match="does not cover"):
        model.predict(H, short)
    leaky = future_exog(frame, H).assign(y=1.0)
    with pytest.raises(ValueError, match="must not contain y"):
        model.predict(H, leaky)
