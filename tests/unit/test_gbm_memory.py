"""The global tree models' lean fitting path (one copy of the features per fit) gives exactly the old results.

``tests/data/lgbm_task.json`` holds the forecasts, fold forecasts and residuals of a small lgbm task computed by
the code before that change (commit 92f6fab); the other tests compare each new step with what it replaced.
"""
import gc
import json
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.executor import GlobalTask, run_global
from models.features import build_features
from models.registry import make_model
from tests.unit.model_data import future_exog, synth

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "lgbm_task.json"
H = 14


def _panel(n_series: int = 6, n: int = 220) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History with hierarchy columns (categorical features) and the horizon's inputs."""
    df = synth(n_series=n_series, n=n, seed=3)
    parts = df["series_id"].str.extract(r"store=(\d+)/product=(\d+)")
    df = df.assign(store_id=parts[0], product_id=parts[1])
    return df, future_exog(df, H)


def _task_outputs() -> dict:
    """Forecasts, fold forecasts and residuals of one lgbm task (2 folds and the final fit), as lists."""
    df, fut = _panel()
    res = run_global(GlobalTask(name="lgbm", group="g", frame=df, future=fut, freq="D", h=H, folds=2,
                                params={"horizon": H, "n_estimators": 30, "num_threads": 1}))
    assert not res.errors
    num = lambda frame, cols: frame.sort_values(["series_id", "ds"], kind="mergesort")[cols].to_numpy().tolist()
    return {"forecasts": num(res.forecasts, ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]),
            "backtests": num(res.backtests.sort_values("fold", kind="mergesort"), ["fold", "yhat", "yhat_lo_95"]),
            "residuals": num(res.residuals, ["resid"])}


def test_lgbm_task_results_equal_those_of_the_code_before_the_lean_fit():
    assert _task_outputs() == json.loads(FIXTURE.read_text())


def _fitted(n_series: int = 6, n: int = 220):
    df, _ = _panel(n_series, n)
    return make_model("lgbm", "D", horizon=H, n_estimators=5, num_threads=1).fit(df)


def test_design_matrix_equals_what_lightgbm_makes_of_the_feature_frame():
    from lightgbm.basic import _data_from_pandas
    model = _fitted()
    X = model._features(model.history_)
    X.loc[X.index[:5], "hier_store_id"] = np.nan  # a missing category is NaN for both
    expected = _data_from_pandas(X, "auto", "auto", None)[0]
    np.testing.assert_array_equal(model._design(X), expected)
    rows = np.flatnonzero(X["lag_14"].notna().to_numpy())
    np.testing.assert_array_equal(model._design(X, rows), expected[rows])
    np.testing.assert_array_equal(model._raw_predict(model.model_, X), model.model_.predict(X))  # frame path


def test_build_features_cut_rows_equal_those_rows_of_the_whole_matrix():
    df, _ = _panel()
    scale = df.groupby("series_id")["y"].mean()
    rows = (df["ds"] > df["ds"].max() - pd.Timedelta(days=20)).to_numpy()
    whole = build_features(df, H, 7, "D", scale)
    cut = build_features(df, H, 7, "D", scale, rows=rows)
    pd.testing.assert_frame_equal(cut, whole[rows])
    assert list(cut["series_code"].cat.categories) == list(whole["series_code"].cat.categories)


def test_keep_rows_moves_the_rows_to_the_front_in_place():
    model = _fitted()
    rng = np.random.default_rng(0)
    design = rng.normal(size=(1000, 6))
    design[rng.random(design.shape) < 0.1] = np.nan
    keep = rng.random(1000) < 0.8
    expected = design[keep].copy()
    got = model._keep_rows(design, keep, block=37)
    np.testing.assert_array_equal(got, expected)
    assert np.shares_memory(got, design) and got.flags.c_contiguous


def test_no_feature_frame_is_alive_while_lightgbm_trains(monkeypatch):
    """Before: the feature frame and a frame of its usable rows were held through both fits, and LightGBM made
    a third copy from the latter."""
    from models.gbm import LGBMForecaster
    train, alive = LGBMForecaster._train, []

    def spy(self, X, y, w):
        gc.collect()
        alive.append(sum(isinstance(o, pd.DataFrame) and "log_scale" in o.columns for o in gc.get_objects()))
        return train(self, X, y, w)

    monkeypatch.setattr(LGBMForecaster, "_train", spy)
    _fitted()
    assert alive == [0, 0]  # the final fit and the calibration fit


def test_a_final_fit_ships_no_in_sample_fits_and_makes_the_same_ones_on_demand():
    df, fut = _panel()
    res = run_global(GlobalTask(name="lgbm", group="g", frame=df, future=fut, freq="D", h=H, folds=2, part=0,
                                params={"horizon": H, "n_estimators": 5, "num_threads": 1}))
    model = res.models["lgbm__g"]
    assert model.fitted_values_ is None  # not pickled to the driver nor saved
    fv = model.fitted_values().dropna(subset=["yhat"])
    again = fv.groupby("series_id", sort=True).tail(730)
    np.testing.assert_array_equal((again["y"] - again["yhat"]).to_numpy(), res.residuals["resid"].to_numpy())
