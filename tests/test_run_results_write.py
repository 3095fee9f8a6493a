"""Writing a run's results in slices (data.results.write_run_results): every frame it writes (forecasts, metrics,
selections, diagnostics, trials) goes to the back end in slices of ``WRITE_ROWS`` rows, and the stored tables are
those of one whole write, on SQLite and on PostgreSQL."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import results, store
from data import writers

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _frames(n_series: int = 9, n_days: int = 5) -> dict:
    """A run's frames of every kind, with more rows than the test's slice (lists in the diagnostics)."""
    rng = np.random.default_rng(3)
    ids = [f"store={i}/product=1" for i in range(n_series)]
    dates = pd.date_range("2024-01-01", periods=n_days)
    yhat = rng.normal(10, 2, n_series * n_days)
    fc = pd.DataFrame({"series_id": np.repeat(ids, n_days), "model": "final", "ds": np.tile(dates, n_series),
                       "yhat": yhat, "yhat_lo_80": yhat - 1, "yhat_hi_80": yhat + 1, "yhat_lo_95": yhat - 2,
                       "yhat_hi_95": np.where(np.arange(len(yhat)) % 7 == 0, np.nan, yhat + 2)})
    metrics = pd.DataFrame({"series_id": np.repeat(ids, 3), "model": "ets", "fold": np.tile([1, 2, 3], n_series),
                            "wape": rng.random(3 * n_series), "mase": rng.random(3 * n_series)})
    sels = pd.DataFrame({"series_id": ids, "model": "ets", "metric": "wape", "score": rng.random(n_series)})
    diags = pd.DataFrame({"series_id": ids, "model": "ets", "ljung_box_p": rng.random(n_series), "bias": 0.1,
                          "resid_std": 1.0, "acf": [[1.0, float(i) / 10] for i in range(n_series)],
                          "residuals": [list(rng.normal(0, 1, 4)) for _ in range(n_series)]})
    trials = pd.DataFrame({"trial": range(n_series), "params": [{"model": "lgbm", "leaves": i} for i in range(n_series)],
                           "score": rng.random(n_series)})
    return {"forecasts": fc, "metrics": metrics, "selections": sels, "diagnostics": diags, "trials": trials}


def _stored(run_id: str, url: str) -> dict:
    """The run's stored rows of every results table, sorted by key (the run id left out)."""
    from sqlalchemy import text
    out = {}
    with store.get_engine(url).connect() as conn:
        for table, key in (("forecasts", "series_id, model, ds"), ("backtest_metrics", "series_id, model, fold"),
                           ("selections", "series_id"), ("diagnostics", "series_id, model"),
                           ("tuning_trials", "trial")):
            df = pd.read_sql(text(f"SELECT * FROM {table} WHERE run_id = :r ORDER BY {key}"), conn,
                             params={"r": run_id})
            out[table] = df.drop(columns="run_id")
    return out


def test_a_write_larger_than_a_slice_is_sliced_and_stores_the_same_tables(tmp_db, monkeypatch):
    store.init_db(tmp_db)
    frames = _frames()
    for rid in ("whole", "sliced"):
        store.create_run(rid, {}, "hash", "test", url=tmp_db)
    with store.session_scope(url=tmp_db) as s:
        whole = store.write_run_results(s, "whole", **frames)
    sizes = []
    real = writers.upsert_frame

    def spy(session, table, df, *a, **k):
        sizes.append((table.__tablename__, len(df)))
        return real(session, table, df, *a, **k)
    monkeypatch.setattr(results, "upsert_frame", spy)
    monkeypatch.setattr(results, "WRITE_ROWS", 4)
    with store.session_scope(url=tmp_db) as s:
        sliced = store.write_run_results(s, "sliced", **frames)
    assert sliced == whole == {"forecasts": 45, "backtest_metrics": 27, "selections": 9, "diagnostics": 9,
                               "tuning_trials": 9}
    assert max(n for _, n in sizes) == 4  # every frame went in slices of at most WRITE_ROWS
    assert {t for t, _ in sizes} == {"forecasts", "backtest_metrics", "selections", "diagnostics", "tuning_trials"}
    assert sum(n for t, n in sizes if t == "forecasts") == 45
    a, b = _stored("whole", tmp_db), _stored("sliced", tmp_db)
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], check_exact=True, obj=table)
    assert b["diagnostics"]["acf"].iloc[1] == "[1.0, 0.1]"


def test_a_key_repeated_across_slices_keeps_its_last_row(tmp_db, monkeypatch):
    store.init_db(tmp_db)
    store.create_run("r", {}, "hash", "test", url=tmp_db)
    sels = pd.DataFrame({"series_id": ["a", "b", "c", "a", "d"], "model": ["m1", "m1", "m1", "m2", "m1"],
                         "metric": "wape", "score": [0.1, 0.2, 0.3, 0.4, 0.5]})
    monkeypatch.setattr(results, "WRITE_ROWS", 2)
    with store.session_scope(url=tmp_db) as s:
        store.write_run_results(s, "r", selections=sels)
    got = _stored("r", tmp_db)["selections"]
    assert got.set_index("series_id")["model"].to_dict() == {"a": "m2", "b": "m1", "c": "m1", "d": "m1"}
