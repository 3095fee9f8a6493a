"""The xgboost model beyond the shared contract: seeded determinism, threads and histogram trees, lgbm's
features, and --tune over its search space (alone and in a refresh)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

from jobs import runner
from models import registry, tuning
from models.gbm import GlobalTreeForecaster
from models.registry import make_model
from tests.explain_helpers import tree_run_env
from tests.unit.model_data import future_exog, synth

H = 7


@pytest.fixture(scope="module")
def frame():
    return synth(n_series=4, n=160)


def _fit(frame, **kw):
    params = {**registry.test_params("xgboost"), "subsample": 0.7, **kw}
    return make_model("xgboost", "D", horizon=H, **params).fit(frame)


def test_same_seed_same_forecast_other_seed_other_forecast(frame):
    xf = future_exog(frame, H)
    a, b = _fit(frame, seed=3).predict(H, xf), _fit(frame, seed=3).predict(H, xf)
    assert_frame_equal(a, b)
    c = _fit(frame, seed=4).predict(H, xf)
    assert not np.allclose(a["yhat"], c["yhat"])  # the seed drives the row subsampling


def test_histogram_trees_on_the_cpu_with_the_given_threads(frame):
    model = _fit(frame, num_threads=1)
    config = json.loads(model.model_.save_config())
    assert config["learner"]["gradient_booster"]["gbtree_train_param"]["tree_method"] == "hist"
    assert config["learner"]["generic_param"]["nthread"] == "1" and config["learner"]["generic_param"]["device"] == "cpu"
    assert isinstance(model, GlobalTreeForecaster)


def test_same_features_as_lgbm_and_a_comparable_fit(frame):
    xf = future_exog(frame, H)
    xgb = _fit(frame)
    lgb = make_model("lgbm", "D", horizon=H, **registry.test_params("lgbm")).fit(frame)
    assert xgb.feature_names_ == lgb.feature_names_
    truth = frame.groupby("series_id")["y"].mean()
    fc = xgb.predict(H, xf).groupby("series_id")["yhat"].mean()
    assert ((fc / truth).between(0.6, 1.6)).all()  # the level of each series, not a pooled average


def test_refresh_sets_one_thread_per_worker():
    from jobs.params import RefreshParams
    from jobs.stages import plan_models
    params = RefreshParams.from_cli("D", models="seasonal_naive,xgboost")
    assert plan_models(params).model_params["xgboost"] == {"num_threads": 1}


def test_tune_model_searches_the_xgboost_space(frame):
    space = {"max_depth": [2, 3], "learning_rate": [0.1, 0.3], "n_estimators": [10, 20]}
    best, trials = tuning.tune_model(frame, "xgboost", "D", H, n_trials=3, folds=1, space=space,
                                     base_params={"num_threads": 1})
    assert list(trials["trial"]) == [0, 1, 2] and trials["score"].notna().all()
    assert set(best) <= set(space) and all(best[k] in space[k] for k in best)
    assert trials.loc[trials["score"].idxmin(), "params"] == json.dumps(best, sort_keys=True)
    again, _ = tuning.tune_model(frame, "xgboost", "D", H, n_trials=3, folds=1, space=space,
                                 base_params={"num_threads": 1})
    assert again == best
    assert set(tuning.XGB_SPACE) <= set(registry.model_class("xgboost")._get_param_names())
    with pytest.raises(ValueError, match="no search space"):
        tuning.tune_model(frame, "rf", "D", H)


def test_refresh_tune_tunes_xgboost(tmp_path, monkeypatch):
    small = {"max_depth": [2, 3], "n_estimators": [10, 20]}
    monkeypatch.setitem(tuning.SPACES, "xgboost", small)
    monkeypatch.setattr(tuning, "tune_model", _few_trials(tuning.tune_model))
    with tree_run_env(tmp_path, models="seasonal_naive,xgboost") as (url, _):
        out = runner.refresh(horizon=7, models="seasonal_naive,xgboost", jobs=1, folds=1, progress=False,
                             url=url, tune=True, force=True)
        assert out["status"] == "success", out
        from data import store
        trials = store.tuning_trials(out["run_id"], url=url)
        assert len(trials) == 2 and all(p["model"] == "xgboost" for p in trials["params"])


def test_refresh_tune_without_a_tunable_model_says_so(tmp_path, monkeypatch):
    with tree_run_env(tmp_path, models="seasonal_naive") as (url, _):
        out = runner.refresh(horizon=7, models="seasonal_naive,rf", jobs=1, folds=1, progress=False, url=url,
                             tune=True, model_params={"rf": {"n_estimators": 5}})
        assert out["status"] == "failed" and "include one in --models" in out["error"]


def _few_trials(fn):
    """``fn`` with two trials on one fold (the refresh's defaults are ten trials on two folds)."""
    def wrapped(*args, **kwargs):
        return fn(*args, **{**kwargs, "n_trials": 2, "folds": 1})
    return wrapped


def test_frame_is_untouched(frame):
    before = frame.copy()
    _fit(frame)
    assert_frame_equal(frame, before)
