"""Explanations end to end: importance stored with a small refresh, contributions from the run's artifacts that add
up to the model's own forecast, and ``cli.py explain`` (text, --json fields, bad input)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import cli
from data import store
from domain import Frames
from jobs import artifacts, explain_job, runner
from models import explain as mx
from models.registry import make_model
from tests.explain_helpers import NODE, tree_run_env
from tests.test_refresh import make_store
from tests.unit.model_data import synth



@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One small refresh with the three global tree models (module-scoped: a refresh takes a few seconds)."""
    with tree_run_env(tmp_path_factory.mktemp("explain"), models="seasonal_naive,lgbm,xgboost,rf", folds=2) as r:
        yield r


def test_importance_is_stored_with_the_run(run):
    url, run_id = run
    imp = store.load_frame(Frames.FEATURE_IMPORTANCE, run_id, url=url, dtype={"feature": str})
    assert set(imp.columns) == set(mx.IMPORTANCE_COLS)
    assert set(imp["model"]) == {"lgbm", "xgboost", "rf"}
    assert set(imp["group"]) == {"store_product", "aggregates"}
    assert set(imp["kind"]) == {"gain", "permutation"}
    gain = imp[imp["kind"] == "gain"].groupby(["model", "group"])["value"].sum()
    assert np.allclose(gain.to_numpy(), 1.0)  # shares
    perm = imp[imp["kind"] == "permutation"]
    assert perm["sd"].notna().all() and np.isfinite(perm["value"]).all()
    # The hand-made sales swing with the weekday (5 sin(2 pi t / 7)); their promotions are not in the plan, so
    # the as-known backtest inputs hold no promotion and shuffling that flag changes nothing.
    bottom = perm[(perm["group"] == "store_product")].set_index(["model", "feature"])["value"]
    for model in ("lgbm", "xgboost", "rf"):
        assert bottom[model].idxmax() == "dow" and bottom[(model, "dow")] > 0.01
        assert bottom[(model, "promo")] == 0.0


@pytest.mark.parametrize("model", ["lgbm", "xgboost", "rf"])
def test_contributions_add_up_to_the_stored_forecast(run, model):
    url, run_id = run
    fitted = artifacts.load_model(run_id, f"{model}__store_product")
    future = artifacts.load_model(run_id, "future__store_product")
    xf = future[future["series_id"] == NODE]
    contrib, totals = mx.contributions(fitted, xf)
    sums = contrib.groupby("ds")["value"].sum().to_numpy()
    np.testing.assert_allclose(sums, totals["yhat"].to_numpy() - totals["base"].to_numpy(), rtol=1e-6, atol=1e-6)
    pred = fitted.predict(7, future)
    np.testing.assert_allclose(totals["yhat"].to_numpy(), pred.loc[pred["series_id"] == NODE, "yhat"].to_numpy(),
                               rtol=1e-4)
    # the bottom series store the chosen model's forecast only; aggregate nodes store every candidate's
    agg = artifacts.load_model(run_id, f"{model}__aggregates")
    afut = artifacts.load_model(run_id, "future__aggregates")
    stored = store.forecast("total", run_id=run_id, model=model, url=url)
    _, atot = mx.contributions(agg, afut[afut["series_id"] == "total"])
    np.testing.assert_allclose(atot["yhat"].to_numpy(), stored["yhat"].to_numpy(), rtol=1e-4)


def test_explain_job_fields_and_date(run):
    url, run_id = run
    out = explain_job.explain(NODE, date=None, top=5, url=url)
    assert out["run_id"] == run_id and out["node"] == NODE and out["group"] == "store_product"
    assert out["model"] in ("lgbm", "xgboost", "rf") and len(out["dates"]) == 7 == len(out["yhat"])
    assert 0 < len(out["overall"]) <= 5 and set(out["overall"][0]) == {"feature", "gain", "permutation",
                                                                        "permutation_sd"}
    assert [r["gain"] for r in out["overall"]] == sorted((r["gain"] for r in out["overall"]), reverse=True)
    assert set(out["node_features"][0]) == {"feature", "mean_abs_contribution", "mean_contribution"}
    day = out["dates"][3]
    one = explain_job.explain(NODE, date=day, url=url)
    assert one["date"] == day and one["date_yhat"] == pytest.approx(one["yhat"][3], rel=1e-6)
    assert {"feature", "value", "feature_value"} == set(one["date_features"][0])
    agg = explain_job.explain("total", url=url)
    assert agg["group"] == "aggregates"


def test_cli_explain_json_text_and_errors(run, capsys):
    url, run_id = run
    assert cli.main(["explain", "--db", url, "--node", NODE, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("run_id", "node", "model", "chosen_model", "group", "method", "overall", "node_features", "dates",
                "base", "yhat"):
        assert key in out
    assert cli.main(["explain", "--db", url, "--node", NODE, "--date", out["dates"][0]]) == 0
    text = capsys.readouterr().out
    assert "Top features overall" in text and f"On {out['dates'][0]}" in text
    assert cli.main(["explain", "--db", url, "--node", NODE, "--date", "1999-01-01"]) == 2
    assert "not in the forecast horizon" in capsys.readouterr().err
    assert cli.main(["explain", "--db", url, "--node", "store=9/product=zz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_explain_without_a_tree_model_says_what_to_run(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'sales.db'}"
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(url)
    with pytest.raises(ValueError, match="no forecasts yet"):
        explain_job.explain(NODE, url=url)
    assert runner.refresh(horizon=7, models="seasonal_naive", jobs=1, folds=1, progress=False,
                          url=url)["status"] == "success"
    with pytest.raises(ValueError, match="no global tree model"):
        explain_job.explain(NODE, url=url)


def test_permutation_importance_finds_the_planted_driver():
    """Promotions lift the synthetic sales by 40% and temperature does nothing: shuffling the promotion flag on
    a held-out window must hurt more than shuffling temperature (fails for a wrong sign or rows left aligned)."""
    df = synth(n_series=6, n=300)
    cut = df["ds"].max() - pd.Timedelta(days=14)
    model = make_model("xgboost", "D", horizon=14, n_estimators=60, num_threads=1).fit(df[df["ds"] <= cut])
    window = df[df["ds"] > cut]
    perm = mx.permutation_importance(model, window.drop(columns="y"), window[["series_id", "ds", "y"]],
                                     n_repeats=5).set_index("feature")
    assert perm.loc["promo", "value"] > 0.01
    assert perm.loc["promo", "value"] > perm.loc["temp_c", "value"] + 2 * perm.loc["promo", "sd"]
    few = mx.permutation_importance(model, window.drop(columns="y"), window[["series_id", "ds", "y"]],
                                    max_rows=40).set_index("feature")
    assert set(few.index) == set(perm.index) and np.isfinite(few["value"]).all()
    assert not np.allclose(few["value"], perm["value"].reindex(few.index))  # a subset scores differently
