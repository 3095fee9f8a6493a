"""Selection (best mean score, ties and NaN -> fallback), best-two ensembles, residual diagnostics and tuning."""
import numpy as np
import pandas as pd
import pytest

from models.diagnostics import residual_diagnostics
from models.selection import combine_forecasts, ensemble_best_two, select_best
from tests.unit.model_data import synth


def _metrics(rows):
    return pd.DataFrame(rows, columns=["series_id", "model", "fold", "wape"])


def test_select_best_mean_over_folds_ties_and_nan():
    m = _metrics([
        ("a", "ets", 1, 0.10), ("a", "ets", 2, 0.30), ("a", "lgbm", 1, 0.15), ("a", "lgbm", 2, 0.16),
        ("b", "ets", 1, 0.20), ("b", "seasonal_naive", 1, 0.20), ("b", "lgbm", 1, 0.25),
        ("c", "ets", 1, np.nan), ("c", "lgbm", 1, np.inf),
        ("d", "ets", 1, 0.1), ("d", "ets", 2, np.nan), ("d", "lgbm", 1, 0.2), ("d", "lgbm", 2, 0.2),
    ])
    out = select_best(m, "wape").set_index("series_id")
    assert out.loc["a", "model"] == "lgbm" and out.loc["a", "score"] == pytest.approx(0.155)
    assert out.loc["b", "model"] == "seasonal_naive"  # tie with the fallback -> fallback
    assert out.loc["c", "model"] == "seasonal_naive" and np.isnan(out.loc["c", "score"])
    assert out.loc["d", "model"] == "lgbm"  # a model with a failed fold is not comparable
    assert list(out.reset_index().columns) == ["series_id", "model", "metric", "score"]
    with pytest.raises(ValueError, match="cannot select"):
        select_best(m, "coverage_95")


def test_ensemble_best_two_and_combine():
    m = _metrics([("a", "ets", 1, 0.3), ("a", "lgbm", 1, 0.1), ("a", "seasonal_naive", 1, 0.2), ("b", "ets", 1, 0.1)])
    pairs = ensemble_best_two(m)
    assert pairs.to_dict("records") == [{"series_id": "a", "model_1": "lgbm", "model_2": "seasonal_naive",
                                         "score_1": 0.1, "score_2": 0.2}]
    ds = pd.Timestamp("2022-01-01")
    fc = pd.DataFrame([("a", ds, "lgbm", 10.0), ("a", ds, "seasonal_naive", 20.0), ("a", ds, "ets", 99.0)],
                      columns=["series_id", "ds", "model", "yhat"])
    for c in ("yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"):
        fc[c] = fc["yhat"]
    out = combine_forecasts(fc, pairs)
    assert out["yhat"].tolist() == [15.0] and out["model"].tolist() == ["ensemble"]


def test_residual_diagnostics_detects_autocorrelation():
    rng = np.random.default_rng(0)
    white = residual_diagnostics(rng.normal(size=300), lags=10)
    assert white["ljung_box_p"] > 0.05 and len(white["acf"]) == 10
    assert white["bias_ci95"][0] < 0 < white["bias_ci95"][1]
    ar = np.zeros(300)
    noise = rng.normal(size=300)
    for i in range(1, 300):
        ar[i] = 0.8 * ar[i - 1] + noise[i]
    d = residual_diagnostics(ar + 5.0)
    assert d["ljung_box_p"] < 1e-6 and d["acf"][0] > 0.6 and d["bias"] > 3
    short = residual_diagnostics([1.0, np.nan, 2.0])
    assert short["n"] == 2 and np.isnan(short["ljung_box_p"]) and short["acf"] == []


def test_tuning_is_time_series_aware_and_logged():
    from models.tuning import tune_lgbm
    df = synth(n_series=3, n=120, seed=1)
    space = {"num_leaves": [7, 15], "n_estimators": [20, 40], "min_child_samples": [5], "num_threads": [1]}
    best, trials = tune_lgbm(df, "D", 7, n_trials=3, folds=1, space=space,
                             base_params={"n_estimators": 30, "num_threads": 1, "min_child_samples": 5})
    assert len(trials) == 3 and trials["trial"].tolist() == [0, 1, 2]
    assert trials.loc[0, "params"] == "{}" and np.isfinite(trials["score"]).all()
    assert trials["score"].min() == pytest.approx(trials.loc[trials["params"] == __import__("json").dumps(best, sort_keys=True), "score"].iloc[0])
    again, trials2 = tune_lgbm(df, "D", 7, n_trials=3, folds=1, space=space,
                               base_params={"n_estimators": 30, "num_threads": 1, "min_child_samples": 5})
    assert again == best and np.allclose(trials["score"], trials2["score"])


def _backtests(errors: dict, n_series=20, h=6, folds=3, seed=0):
    """Backtest forecasts where model k's error is errors[k] * noise_k (independent noise per model)."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, scale in errors.items():
        for s in range(n_series):
            for fold in range(1, folds + 1):
                y = 100 + 10 * rng.random(h)
                e = scale * rng.normal(size=h)
                rows.append(pd.DataFrame({"series_id": f"s{s}", "ds": pd.date_range("2024-01-01", periods=h) +
                                          pd.Timedelta(days=10 * fold), "fold": fold, "model": model, "y": y,
                                          "yhat": y + e, "yhat_lo_80": y + e - 5, "yhat_hi_80": y + e + 5,
                                          "yhat_lo_95": y + e - 9, "yhat_hi_95": y + e + 9}))
    bt = pd.concat(rows, ignore_index=True)
    # the same actuals for every model of a (series, fold, date)
    first = bt.groupby(["series_id", "fold", "ds"])["y"].transform("first")
    bt["yhat"] += first - bt["y"]
    for c in ("yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"):
        bt[c] += first - bt["y"]
    bt["y"] = first
    return bt


def test_combination_of_equally_good_models_beats_each_and_is_chosen():
    from models import combination
    bt = _backtests({"a": 5.0, "b": 5.0, "seasonal_naive": 8.0})
    members, scores = combination.choose(bt, ["seasonal_naive", "a", "b"], "seasonal_naive")
    assert members == ("a", "b")
    s = scores.set_index("model")["score"]
    assert s["a+b"] < min(s["a"], s["b"])
    assert not any("seasonal_naive+" in m or "+seasonal_naive" in m for m in s.index)  # the baseline stays alone


def test_a_much_better_model_is_chosen_alone():
    from models import combination
    bt = _backtests({"a": 1.0, "b": 10.0, "seasonal_naive": 12.0})
    members, _ = combination.choose(bt, ["seasonal_naive", "a", "b"], "seasonal_naive")
    assert members == ("a",)


def test_combination_average_and_metrics():
    from models import combination
    bt = _backtests({"a": 5.0, "b": 5.0}, n_series=3)
    avg = combination.average(bt, ("a", "b"), keys=("series_id", "fold", "ds"))
    one = bt[(bt["series_id"] == "s0") & (bt["fold"] == 1)].sort_values("ds")
    want = (one.loc[one["model"] == "a", "yhat"].to_numpy() + one.loc[one["model"] == "b", "yhat"].to_numpy()) / 2
    got = avg[(avg["series_id"] == "s0") & (avg["fold"] == 1)].sort_values("ds")["yhat"].to_numpy()
    assert np.allclose(got, want)
    history = pd.DataFrame({"series_id": "s0", "ds": pd.date_range("2023-06-01", periods=200), "y": np.arange(200.0)})
    met = combination.combination_metrics(bt, ("a", "b"), history, 7)
    assert set(met["model"]) == {"a+b"} and len(met) == 3 * 3
    assert met.loc[met["series_id"] == "s0", "mase"].notna().all()  # scaled by s0's history before each fold
    assert met.loc[met["series_id"] == "s1", "mase"].isna().all()   # no history given
