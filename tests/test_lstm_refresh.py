"""The `lstm` model inside a real refresh (`--models seasonal_naive,lstm`): backtested and scored like the other
candidates (its backtest metrics stored per fold), its fitted model saved with the run's artifacts and loadable
for prediction without retraining."""
from __future__ import annotations

import json

import numpy as np
import pytest

from domain import EXOG_COLS
from models.lstm import LSTMForecaster

pytestmark = pytest.mark.skipif(LSTMForecaster.missing_dependency() is not None,
                                reason=LSTMForecaster.missing_dependency() or "")
TINY = {"lstm": {"hidden_size": 8, "max_epochs": 2, "windows_per_epoch": 256, "batch_size": 64}}


def test_refresh_backtests_and_saves_the_lstm(small_demo_db, tmp_path, monkeypatch):
    from data import store
    from jobs import artifacts, runner
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    summary = runner.refresh(models="seasonal_naive,lstm", horizon=14, folds=2, jobs=1, progress=False,
                             levels="store_product", model_params=TINY)
    assert summary["status"] == "success", summary
    assert not [e for e in summary.get("errors", []) if "lstm" in e]
    node = store.nodes(level="store_product")["node_id"].iloc[0]
    bm = store.backtest_metrics(node)
    assert set(bm["model"]) >= {"seasonal_naive", "lstm"} and set(bm["fold"]) == {1, 2}
    manifest = json.loads((tmp_path / "models" / summary["run_id"] / "manifest.json").read_text())
    assert "lstm__store_product.joblib" in manifest["files"]
    assert manifest["params"]["models"] == ["seasonal_naive", "lstm"]
    model = artifacts.load_model(summary["run_id"], "lstm__store_product")
    assert model.num_threads == 1  # the refresh's per-worker thread budget
    xf = model._future_index(14).assign(**{c: 0.0 for c in EXOG_COLS})
    fc = model.predict(14, xf)
    assert fc.groupby("series_id").size().eq(14).all() and len(fc) == 14 * model.last_ds_.size
    assert np.isfinite(fc.drop(columns=["series_id", "ds"]).to_numpy()).all()
