"""The `lstm` model (models/lstm.py): it learns a planted weekly pattern with a promotion effect better than the
seasonal naive, it is deterministic per seed, a saved model forecasts exactly as the fitted one, and without
torch choosing it is refused with a message naming `make deep`.

The contract checks (columns, h rows per series, ordered intervals, determinism, any levels) run in
tests/test_model_contract.py when torch is installed."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from models import registry
from models.lstm import TORCH_MISSING, LSTMForecaster, quantile_at

MISSING = LSTMForecaster.missing_dependency()
needs_torch = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

PATTERN = np.array([0.8, 0.9, 1.0, 1.0, 1.1, 1.5, 0.7])  # Monday..Sunday
LIFT = 0.6  # +60% on promotion days
HOLDOUT = 14


def planted_panel(n_series: int = 8, n: int = 259, seed: int = 3) -> pd.DataFrame:
    """Daily series: level x weekly pattern x (1 + LIFT on promotion days) x log-normal noise (s.d. 5%);
    promotions on ~20% of days at random, so last week's value is a poor guide on and after promotion days."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-03", periods=n, freq="D")  # a Monday
    parts = []
    for i in range(n_series):
        promo = (rng.random(n) < 0.2).astype(float)
        y = rng.uniform(50, 150) * PATTERN[ds.dayofweek] * (1 + LIFT * promo) * np.exp(rng.normal(0, 0.05, n))
        parts.append(pd.DataFrame({"series_id": f"store={i % 2}/product={i}", "ds": ds, "y": y, "promo": promo,
                                   "is_holiday": 0.0, "temp_c": 15.0, "product_id": str(i)}))
    return pd.concat(parts, ignore_index=True)


def small_lstm(**overrides) -> LSTMForecaster:
    params = {"horizon": HOLDOUT, "hidden_size": 16, "max_epochs": 25, "patience": 6, "windows_per_epoch": 512,
              "batch_size": 64, "learning_rate": 0.01, "num_threads": 1} | overrides
    return registry.make_model("lstm", "D", **params)


def split(df: pd.DataFrame):
    cut = df["ds"].max() - pd.Timedelta(days=HOLDOUT)
    train, test = df[df["ds"] <= cut], df[df["ds"] > cut]
    return train, test, test.drop(columns="y")


@needs_torch
def test_learns_weekly_pattern_and_promotion_better_than_seasonal_naive():
    train, test, xf = split(planted_panel())
    fc = small_lstm().fit(train).predict(HOLDOUT, xf)
    naive = registry.make_model("seasonal_naive", "D").fit(train).predict(HOLDOUT)
    key = ["series_id", "ds"]
    mae_lstm = float((test.merge(fc, on=key).eval("y - yhat")).abs().mean())
    mae_naive = float((test.merge(naive, on=key).eval("y - yhat")).abs().mean())
    assert mae_lstm < 0.5 * mae_naive, (mae_lstm, mae_naive)  # measured: 6.1 against 27.9
    # the promotion effect itself: forecast / actual is about the same on promoted and other days (a model that
    # ignored the promotion would be ~0.6/1.6 lower on promoted days; the seasonal naive differs by ~0.4)
    j = test.merge(fc, on=key)
    ratio = (j["yhat"] / j["y"]).groupby(j["promo"]).mean()
    assert abs(ratio[1.0] - ratio[0.0]) < 0.15, ratio.to_dict()
    cover = ((j["y"] >= j["yhat_lo_95"]) & (j["y"] <= j["yhat_hi_95"])).mean()
    assert cover > 0.7, cover


@needs_torch
def test_seeded_and_deterministic():
    train, _, xf = split(planted_panel(n_series=3, n=120))
    a = small_lstm(max_epochs=2).fit(train).predict(HOLDOUT, xf)
    b = small_lstm(max_epochs=2).fit(train).predict(HOLDOUT, xf)
    c = small_lstm(max_epochs=2, seed=1).fit(train).predict(HOLDOUT, xf)
    assert_frame_equal(a, b)
    assert not np.allclose(a["yhat"], c["yhat"])


@needs_torch
def test_training_leaves_torch_settings_as_they_were():
    import torch
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    state = torch.random.get_rng_state()
    train, _, _ = split(planted_panel(n_series=2, n=80))
    small_lstm(max_epochs=1, num_threads=1).fit(train)
    assert torch.get_num_threads() == threads and torch.are_deterministic_algorithms_enabled() == det
    assert torch.equal(torch.random.get_rng_state(), state)


@needs_torch
def test_saved_with_the_run_artifacts_and_loaded_forecasts_identically(tmp_path, monkeypatch):
    from jobs import artifacts
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path))
    train, _, xf = split(planted_panel(n_series=3, n=120))
    model = small_lstm(max_epochs=2).fit(train)
    before = model.predict(HOLDOUT, xf, level=[50, 80, 95])
    sel = pd.DataFrame({"series_id": sorted(train["series_id"].unique()), "model": "lstm", "metric": "wape",
                        "score": 0.1})
    out = artifacts.save_run("run-1", {"models": ["lstm"]}, sel, models={"lstm__store_product": model})
    saved = (out / "lstm__store_product.joblib").read_bytes()
    assert b"torch" not in saved  # weights are stored as numpy arrays with the config and the scaler
    loaded = artifacts.load_model("run-1", "lstm__store_product")
    assert loaded is not model and getattr(loaded, "_net_cache", None) is None
    assert_frame_equal(before, loaded.predict(HOLDOUT, xf, level=[50, 80, 95]))
    assert set(loaded.net_state_) and loaded.scaler_.scale.equals(model.scaler_.scale)


@needs_torch
def test_plan_inputs_reach_the_decoder():
    """The future promotion flag changes the forecast of exactly the promoted day's window (decoder input)."""
    train, _, xf = split(planted_panel(n_series=4, n=150))
    model = small_lstm(max_epochs=4).fit(train)
    off = model.predict(HOLDOUT, xf.assign(promo=0.0))
    on = model.predict(HOLDOUT, xf.assign(promo=np.where(xf["ds"] == xf["ds"].max(), 1.0, 0.0)))
    changed = ~np.isclose(off["yhat"], on["yhat"])
    assert changed[(on["ds"] == on["ds"].max()).to_numpy()].all()
    assert not changed[(on["ds"] < on["ds"].max()).to_numpy()].any()  # the decoder is causal


@needs_torch
def test_too_short_history_and_horizon_errors():
    train, _, xf = split(planted_panel(n_series=2, n=40))
    with pytest.raises(ValueError, match="too little history"):
        small_lstm(horizon=28).fit(train.groupby("series_id").head(8))
    model = small_lstm(max_epochs=1).fit(train)
    with pytest.raises(ValueError, match="refit with horizon=15"):
        model.predict(15, pd.concat([xf, xf.assign(ds=xf["ds"] + pd.Timedelta(days=HOLDOUT))]))


def test_quantile_interpolation_on_the_normal_scale():
    qs = [0.025, 0.1, 0.5, 0.9, 0.975]
    from scipy import stats
    Q = np.array([stats.norm.ppf(qs)]) * 2 + 10  # a normal(10, 2) row
    for p in (0.005, 0.025, 0.25, 0.5, 0.75, 0.995):
        assert quantile_at(Q, qs, p)[0] == pytest.approx(10 + 2 * stats.norm.ppf(p))


class _NoTorch:
    """A meta-path finder that refuses torch, as in an environment where `make deep` never ran."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"No module named {name!r} (hidden by the test)")
        return None


@pytest.fixture
def no_torch(monkeypatch):
    """torch unimportable for the test (and absent from sys.modules, which other libraries consult)."""
    monkeypatch.setattr(sys, "meta_path", [_NoTorch(), *sys.meta_path])
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        monkeypatch.delitem(sys.modules, name)


def _file_hash(url: str) -> str:
    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


def test_without_torch_choosing_lstm_names_make_deep(no_torch, small_demo_db, capsys):
    """torch hidden (as if `make deep` had not run): registry, refresh parameters and the CLI refuse with the
    message; exit code 2, no traceback, the database unchanged."""
    import cli
    from jobs.params import RefreshParams
    assert registry.missing_dependency("lstm") == TORCH_MISSING and "make deep" in TORCH_MISSING
    assert registry.missing_dependency("lgbm") is None
    assert "lstm" not in registry.DEFAULT_MODELS
    with pytest.raises(ValueError, match="make deep"):
        registry.make_model("lstm", "D")
    with pytest.raises(ValueError, match="make deep"):
        RefreshParams(freq="D", horizon=7, models=("seasonal_naive", "lstm"))
    from data import store
    store.get_engine(small_demo_db).dispose()
    before = _file_hash(small_demo_db)
    assert cli.main(["refresh", "--models", "seasonal_naive,lstm", "--db", small_demo_db]) == 2
    err = capsys.readouterr().err
    assert "make deep" in err and "Traceback" not in err and err.count("\n") == 1
    store.get_engine(small_demo_db).dispose()
    assert _file_hash(small_demo_db) == before


def test_accuracy_bench_without_torch_has_no_lstm_row_and_says_why(no_torch, monkeypatch, small_demo_db):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "bench"))
    import accuracy
    out = accuracy.run("demo", small_demo_db, ["seasonal_naive", "lstm", "auto"], limit=2, jobs=1,
                       auto_models=["seasonal_naive", "lstm"])
    assert [r["model"] for r in out["results"]] == ["seasonal_naive", "auto"]
    assert out["skipped"] == {"lstm": TORCH_MISSING}
