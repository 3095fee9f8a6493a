"""`refresh --engine spark`: the same forecasts as the process pool on local[2], and clear refusals without Spark."""
from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

import cli
from data import store
from jobs import runner, spark_engine
from jobs.params import RefreshParams
from tests.test_refresh import FAST_LGBM, make_store

MODELS = "seasonal_naive,seasonal_ses,lgbm"  # a local model batched per series and a global one split in folds


@pytest.fixture(scope="module")
def spark():
    """One local[2] session for the module (a start costs about 4 s); the refresh reuses it."""
    try:
        spark_engine.require_spark()
    except ValueError as exc:
        pytest.skip(str(exc))
    session, _ = spark_engine.session("local[2]")
    yield session
    session.stop()


@pytest.fixture
def spark_db(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db)
    return tmp_db


def _stored(run_id: str) -> dict:
    """The run's stored forecasts of every node and model, backtest metrics and selections, sorted."""
    keys = ["series_id", "model", "ds"]
    fc = pd.concat([store.forecasts_for_level(lv, run_id=run_id, model=m).assign(model=m)
                    for lv in ("store_product", "store", "total") for m in ("final", "seasonal_naive", "lgbm")])
    return {"forecasts": fc.sort_values(keys).reset_index(drop=True),
            "metrics": store.backtest_metrics(run_id=run_id).sort_values(["series_id", "model", "fold"])
            .reset_index(drop=True),
            "selections": store.selections(run_id=run_id).sort_values("series_id").reset_index(drop=True)}


def test_spark_engine_gives_the_process_pool_forecasts(spark, spark_db, capsys):
    """The same refresh serially (batches of up to 40 series) and on Spark local[2] (batches for 2 slots): equal
    stored forecasts, metrics and selections; the CLI's flags reach the Spark engine."""
    local = runner.refresh(models=MODELS, horizon=7, folds=2, jobs=1, progress=False, model_params=FAST_LGBM)
    assert local["status"] == "success", local
    real_map = spark_engine.map_tasks
    calls = []

    def counted(tasks, *args, **kwargs):
        calls.append(len(list(tasks)))
        return real_map(tasks, *args, **kwargs)

    spark_engine.map_tasks = counted
    try:
        # the CLI has no --model-params: the Spark run goes through the runner with the CLI's engine arguments
        code = cli.main(["refresh", "--engine", "spark", "--spark-master", "local[2]", "--models", "seasonal_naive",
                         "--horizon", "7", "--folds", "1", "--force", "--json"])
        assert code == 0
        cli_run = json.loads(capsys.readouterr().out)
        assert cli_run["status"] == "success" and "engine" not in cli_run  # the engine never changes the params
        spark_run = runner.refresh(models=MODELS, horizon=7, folds=2, progress=False, model_params=FAST_LGBM,
                                   force=True, engine="spark", spark_master="local[2]")
    finally:
        spark_engine.map_tasks = real_map
    assert spark_run["status"] == "success", spark_run
    assert len(calls) == 2 and calls[1] > 2  # both refreshes mapped their tasks on Spark
    a, b = _stored(local["run_id"]), _stored(spark_run["run_id"])
    assert len(a["forecasts"]) > 0 and set(a["forecasts"]["model"]) == {"final", "seasonal_naive", "lgbm"}
    pd.testing.assert_frame_equal(a["forecasts"], b["forecasts"], check_exact=False, rtol=1e-9, atol=1e-9)
    pd.testing.assert_frame_equal(a["metrics"], b["metrics"], check_exact=False, rtol=1e-9, atol=1e-9)
    pd.testing.assert_frame_equal(a["selections"], b["selections"], check_exact=False, rtol=1e-9, atol=1e-9)
    assert local["selected"] == spark_run["selected"] and local["n_series"] == spark_run["n_series"]


def test_map_tasks_keeps_task_order_and_reports_each_result(spark):
    """Results come back in task order (the runner zips them with the tasks) and each one is reported."""
    from jobs.executor import SeriesTask
    days = pd.date_range("2024-01-01", periods=35)
    frames = [pd.DataFrame({"series_id": sid, "ds": days, "y": float(k + 1) + (days.dayofweek == 0)})
              for k, sid in enumerate("abcde")]
    tasks = [SeriesTask(series_ids=(f["series_id"].iloc[0],), frame=f,
                        future=pd.DataFrame({"series_id": f["series_id"].iloc[0],
                                             "ds": pd.date_range("2024-02-05", periods=7)}),
                        models=("seasonal_naive",), freq="D", h=7, folds=1) for f in frames]
    seen = []
    results = spark_engine.map_tasks(tasks, on_result=lambda r: seen.append(r.series_ids[0]))
    assert [r.series_ids for r in results] == [t.series_ids for t in tasks]
    assert sorted(seen) == list("abcde")
    # seasonal naive repeats the last week: series k forecasts k + 1, plus 1 on Mondays
    fc = results[3].forecasts
    assert fc["series_id"].eq("d").all() and sorted(fc["yhat"].unique()) == [4.0, 5.0]


def test_missing_pyspark_or_java_is_refused_before_anything_is_written(spark_db, monkeypatch, capsys):
    """Without pyspark (or java) the refresh stops with a message naming requirements-spark.txt and Java 17,
    exit code 2, and no run row."""
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError
        with pytest.raises(ValueError, match=r"pyspark is not installed.*requirements-spark\.txt.*Java 17"):
            RefreshParams.from_cli("D", engine="spark")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    code = cli.main(["refresh", "--engine", "spark", "--models", "seasonal_naive"])
    err = capsys.readouterr().err
    assert code == 2 and "no java" in err and "requirements-spark.txt" in err and "Java 17" in err
    assert "Traceback" not in err and store.runs().empty


def test_engine_is_validated_and_left_out_of_the_stored_params(monkeypatch):
    with pytest.raises(ValueError, match="unknown engine 'dask'"):
        RefreshParams.from_cli("D", engine="dask")
    local = RefreshParams.from_cli("D")
    assert local.engine == "local" and "engine" not in local.to_dict()
    monkeypatch.setenv("SALES_SPARK_MASTER", "spark://example:7077")
    assert spark_engine.master_url() == "spark://example:7077"
    assert spark_engine.master_url("local[2]") == "local[2]"
    monkeypatch.delenv("SALES_SPARK_MASTER")
    assert spark_engine.master_url() == "local[*]"


def test_frames_shared_by_several_tasks_are_sent_once():
    """A global model's folds carry one group's frames: they are replaced by one broadcast key; a batch's own
    frames stay in its task."""
    from jobs.executor import GlobalTask, SeriesTask
    days = pd.date_range("2024-01-01", periods=20)
    frame = pd.DataFrame({"series_id": "a", "ds": days, "y": 1.0})
    future = pd.DataFrame({"series_id": "a", "ds": pd.date_range("2024-01-21", periods=3)})
    folds = [GlobalTask(name="lgbm", group="g", frame=frame, future=future, freq="D", h=3, part=k) for k in range(3)]
    batch = SeriesTask(series_ids=("a",), frame=frame.copy(), future=future.copy(), models=("seasonal_naive",),
                       freq="D", h=3)
    slim, shared = spark_engine._share_frames([*folds, batch])
    assert set(shared) == {id(frame), id(future)} and shared[id(frame)] is frame
    for task, refs in slim[:3]:
        assert task.frame is None and task.future is None and refs == {"frame": id(frame), "future": id(future)}
    assert slim[3][1] == {} and slim[3][0].frame is batch.frame
    assert [t.part for t, _ in slim[:3]] == [0, 1, 2]
