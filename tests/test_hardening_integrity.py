"""Issue 12, items 5, 6 and 9: finite numbers, dates in a sane window, encodings and physical line numbers."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from data import ingest, store
from jobs import runner, stages
from tests.test_refresh import make_store

MAP = "date=Date,sales=Sales,store=Store"


# ----------------------------------------------------------------------------- item 5: a non-finite refresh fails

@pytest.fixture
def hand_db(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db)
    return tmp_db


def test_a_refresh_with_an_infinite_forecast_fails_and_keeps_the_previous_run(hand_db, monkeypatch):
    first = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    assert first["status"] == "success"
    before = store.forecast("total")
    real = stages.map_series

    def poisoned(*args, **kwargs):  # one model's forecast of one series overflows
        results = real(*args, **kwargs)
        fc = next(r.forecasts for r in results if not r.forecasts.empty)
        fc.loc[fc.index[0], "yhat"] = np.inf
        return results

    monkeypatch.setattr(stages, "map_series", poisoned)
    second = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False, force=True)
    assert second["status"] == "failed", second
    assert "non-finite forecast" in second["error"] and "seasonal_naive" in second["error"]
    assert "series '" in second["error"]
    assert store.current_run()["run_id"] == first["run_id"]
    assert store.run_info(second["run_id"])["status"] == "failed"
    pd.testing.assert_frame_equal(store.forecast("total"), before)
    assert store.forecast("total", run_id=second["run_id"]).empty
