"""The model map's frames on disk (jobs.spill): exact round trips, a shared frame written once, and a refresh whose
driver hands the workers files, not frames, and leaves no file behind."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from data import store
from jobs import artifacts, runner, spill, stages
from jobs.executor import GlobalTask, SeriesTask
from jobs.spill import OnDisk, Spill
from tests.test_refresh import FAST_LGBM, make_store


@pytest.fixture
def hand_db(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db, days=90)
    return tmp_db


def _frame(n=50):
    """A history frame with every kind of column a task carries: strings, dates, floats with NaN, None."""
    return pd.DataFrame({"series_id": [f"store={k % 3}/product={k % 2}" for k in range(n)],
                         "ds": pd.date_range("2024-01-01", periods=n), "y": np.arange(n, dtype=float),
                         "price": np.where(np.arange(n) % 7 == 0, np.nan, 1.5),
                         "product_id": [None if k % 5 == 0 else str(k % 2) for k in range(n)]})


def test_frames_read_back_equal_and_a_shared_frame_is_written_once(tmp_path):
    frame, future = _frame(), _frame(10)
    tasks = [GlobalTask(name="lgbm", group="g", frame=frame, future=future, freq="D", h=7, part=k) for k in range(3)]
    with Spill(tmp_path) as sp:
        on_disk = [sp.task(t) for t in tasks]
        assert sp.files == 2  # the group's history and future, once for its three tasks
        assert all(isinstance(t.frame, OnDisk) and isinstance(t.future, OnDisk) and t.known is None for t in on_disk)
        assert {t.frame.path for t in on_disk} == {on_disk[0].frame.path}
        back = spill.resolve(on_disk[1])
        pd.testing.assert_frame_equal(back.frame, frame, check_exact=True)  # dtypes and values as cut
        pd.testing.assert_frame_equal(back.future, future, check_exact=True)
        assert back.part == 1
        cache: dict = {}
        a, b = (spill.resolve(t, cache) for t in on_disk[:2])
        assert a.frame is b.frame  # read once for the tasks that share it (Spark broadcasts it once)
        other = sp.task(SeriesTask(series_ids=("x",), frame=frame.copy(), future=future, models=("naive",),
                                   freq="D", h=7))
        assert sp.files == 3  # a copy (even equal) is written again; the future, the previous task's, is not
        assert other.future == on_disk[-1].future
        assert spill.resolve(spill.resolve(other)).frame.equals(frame)  # resolving twice is harmless
        directory = sp.dir
        assert directory.exists()
    assert not directory.exists()  # removed on exit


def test_a_refresh_maps_tasks_read_from_disk_and_removes_them(hand_db, monkeypatch):
    """The driver hands the map tasks whose frames are files (no frame), the pool's workers read them, and the
    files are gone after the run and after a failed one."""
    seen = {}
    real_map = stages._map

    def spy(params, tasks, jobs, on_result):
        tasks = list(tasks)
        seen["fields"] = {type(getattr(t, f)) for t in tasks for f in ("frame", "future")}
        seen["dirs"] = {os.path.dirname(t.frame.path) for t in tasks}
        return real_map(params, tasks, jobs, on_result)

    monkeypatch.setattr(stages, "_map", spy)
    summary = runner.refresh(models="seasonal_naive,lgbm", horizon=7, folds=1, jobs=2, progress=False,
                             model_params=FAST_LGBM)
    assert summary["status"] == "success", summary
    assert seen["fields"] == {OnDisk}
    (map_dir,) = seen["dirs"]
    assert os.path.dirname(map_dir) == str(artifacts.run_dir(summary["run_id"]))
    assert not os.path.exists(map_dir)  # removed after the map; the run's artifacts stay
    assert (artifacts.run_dir(summary["run_id"]) / "manifest.json").exists()
    fc = store.forecasts_for_level("store_product", run_id=summary["run_id"])
    assert fc["series_id"].nunique() == 9 and np.isfinite(fc["yhat"]).all()

    def failing(params, tasks, jobs, on_result):
        seen["dirs"] = {os.path.dirname(t.frame.path) for t in tasks}
        raise RuntimeError("worker lost")

    monkeypatch.setattr(stages, "_map", failing)
    failed = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False, force=True)
    assert failed["status"] == "failed" and "worker lost" in failed["error"]
    (map_dir,) = seen["dirs"]
    assert not os.path.exists(map_dir) and not artifacts.run_dir(failed["run_id"]).exists()
    assert store.current_run()["run_id"] == summary["run_id"]
