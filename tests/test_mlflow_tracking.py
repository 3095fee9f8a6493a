"""MLflow tracking of published refreshes (jobs/tracking.py): the run's params, metrics per level and model, the
selection, tuning trials as child runs, the model artifacts, and the registry alias ``production``; a tracking failure
never fails the refresh; ``SALES_MLFLOW=off`` logs nothing."""
from __future__ import annotations

import logging
import socket

import pytest

import config
from data import store
from jobs import runner, tracking
from jobs.params import RefreshParams
from models import tuning
from tests.test_refresh import make_store

LGBM = {"lgbm": {"n_estimators": 10, "num_leaves": 7, "min_child_samples": 5}}


@pytest.fixture
def tracked_db(tmp_db, tmp_path, monkeypatch):
    """A hand-made store (9 series, 120 days) with MLflow on against a SQLite store under ``tmp_path``."""
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("SALES_MLFLOW", "on")
    monkeypatch.setenv("SALES_MLFLOW_URI", f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")
    make_store(tmp_db, days=120)
    return tmp_db


def _few_trials(fn):
    def wrapped(*args, **kwargs):
        return fn(*args, **{**kwargs, "n_trials": 2, "folds": 1})
    return wrapped


def test_a_published_refresh_is_logged_with_trials_and_registered_as_production(tracked_db, tmp_path, monkeypatch):
    monkeypatch.setitem(tuning.SPACES, "lgbm", {"num_leaves": [3, 7], "n_estimators": [5, 10]})
    monkeypatch.setattr(tuning, "tune_model", _few_trials(tuning.tune_model))
    first = runner.refresh(models="seasonal_naive,lgbm", horizon=7, folds=1, jobs=1, progress=False, tune=True,
                           model_params=LGBM)
    assert first["status"] == "success", first
    info = first["mlflow"]
    assert info["status"] == "logged" and info["model_version"] == "1", info
    uri = config.load().mlflow_uri
    mlc = tracking.client(uri)
    run = mlc.get_run(info["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["sales.run_id"] == first["run_id"]
    assert run.data.params["models"] == "seasonal_naive,lgbm" and run.data.params["horizon"] == "7"
    assert run.data.params["tune"] == "True" and '"lgbm"' in run.data.params["model_params"]
    # metrics per level and model: the means over the level's series and folds of the stored backtest metrics
    bt = store.backtest_metrics(run_id=first["run_id"]).merge(
        store.nodes()[["node_id", "level"]].rename(columns={"node_id": "series_id"}), on="series_id")
    for level in ("store_product", "store", "total"):
        for model in ("seasonal_naive", "lgbm"):
            expected = bt[(bt["level"] == level) & (bt["model"] == model)]["wape"].mean()
            assert run.data.metrics[f"{level}/{model}/wape"] == pytest.approx(expected), (level, model)
    assert run.data.metrics["summary/lgbm/wape"] == pytest.approx(first["metrics"]["lgbm"]["wape"])
    sel = store.selections(run_id=first["run_id"], level="store_product")
    for model, n in sel["model"].value_counts().items():
        assert run.data.metrics[f"selected/store_product/{tracking._key(model)}"] == n
    chosen = first["combinations"]["store_product"]["chosen"]
    assert run.data.tags["selection/store_product"] == chosen
    # artifacts: the model directory (fitted models, manifest, selections), the selection and the summary
    files = {a.path for a in mlc.list_artifacts(run.info.run_id, "model")}
    assert {"model/manifest.json", "model/selections.csv"} <= files and any(f.endswith(".joblib") for f in files)
    assert {a.path for a in mlc.list_artifacts(run.info.run_id)} >= {"selection.json", "refresh_summary.json"}
    assert (tmp_path / "mlflow" / "mlruns").is_dir()  # artifacts beside the SQLite store
    # tuning trials as child runs
    trials = store.tuning_trials(first["run_id"])
    children = mlc.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert len(trials) == 2 and info["n_trials"] == 2 and len(children) == 2
    scores = sorted(c.data.metrics["wape"] for c in children)
    assert scores == pytest.approx(sorted(trials["score"]))
    assert all(c.data.params["model"] == "lgbm" for c in children)  # trial 0 is the defaults, then draws
    assert any("num_leaves" in c.data.params for c in children)
    prod = tracking.production_version(uri)
    assert prod["version"] == "1" and prod["sales_run_id"] == first["run_id"] and prod["run_id"] == run.info.run_id

    second = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    assert second["status"] == "success" and second["mlflow"]["model_version"] == "2", second["mlflow"]
    prod = tracking.production_version(uri)
    assert prod["version"] == "2" and prod["sales_run_id"] == second["run_id"] == store.current_run()["run_id"]
    assert prod["source"].endswith("/model")
    assert len(mlc.search_model_versions(f"name = '{tracking.REGISTERED_MODEL}'")) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_tracking_server_only_warns(tracked_db, monkeypatch, caplog):
    monkeypatch.setenv("SALES_MLFLOW_URI", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with caplog.at_level(logging.WARNING, logger="jobs.tracking"):
        out = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    assert out["status"] == "success" and store.current_run()["run_id"] == out["run_id"]
    assert out["mlflow"]["status"] == "failed" and out["mlflow"]["error"]
    assert any("MLflow tracking of run" in r.getMessage() and "the run is published" in r.getMessage()
               for r in caplog.records)


def test_tracking_off_logs_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MLFLOW", "off")
    monkeypatch.setenv("SALES_MLFLOW_URI", f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")
    params = RefreshParams.from_cli("D", horizon=7, models="seasonal_naive", folds=1)
    assert tracking.log_refresh("20260101T000000-abcdef", params, {"status": "success"}) is None
    assert not (tmp_path / "mlflow").exists()


def test_settings(monkeypatch):
    monkeypatch.delenv("SALES_MLFLOW", raising=False)
    monkeypatch.delenv("SALES_MLFLOW_URI", raising=False)
    s = config.load()
    assert s.mlflow is True and s.mlflow_uri == f"sqlite:///{config.ROOT / 'data' / 'mlflow.db'}"
    assert tracking.artifact_location(s.mlflow_uri) == (config.ROOT / "data" / "mlruns").as_uri()
    monkeypatch.setenv("SALES_MLFLOW", "off")
    monkeypatch.setenv("SALES_MLFLOW_URI", " http://mlflow:5000 ")
    s = config.load()
    assert s.mlflow is False and s.mlflow_uri == "http://mlflow:5000"
    assert tracking.artifact_location(s.mlflow_uri) is None
    assert tracking._redact("postgresql://u:secret@db/mlflow") == "postgresql://u:***@db/mlflow"
    monkeypatch.setenv("SALES_MLFLOW", "maybe")
    with pytest.raises(ValueError, match="boolean"):
        config.load()
