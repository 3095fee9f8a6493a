"""MLflow tracking of published refreshes: one MLflow run per run, its models registered with the alias ``production``.

:func:`log_refresh` is called once at the end of a successful publish (:mod:`jobs.runner`). It logs

- the refresh parameters (:class:`jobs.params.RefreshParams`) as MLflow params, the product's run id, data hash and
  code version as tags;
- the backtest metrics per level and model (``<level>/<model>/<metric>``: means over the level's series and folds,
  as on the Models page) and the refresh summary's headline metrics (``summary/<model>/<metric>``, WAPE pooled over
  the bottom series), the selection (``selected/<level>/<model>`` counts, ``selection/<level>`` tags with the chosen
  combination, and ``selection.json``);
- with ``--tune``, every tuning trial as a child run (its hyperparameters as params, its backtest score as a metric);
- the run's model directory (fitted models, ``manifest.json``, ``selections.csv``; :mod:`jobs.artifacts`) under the
  artifact path ``model``, and the refresh summary as ``refresh_summary.json``.

It then registers ``model`` as a new version of the registered model ``sales-forecast`` and points the alias
``production`` at it, so the registry's production model is always the published run's. The model files are logged
as plain artifacts, not as a pyfunc model: predicting needs the store (future calendar, weather and plan inputs;
:mod:`jobs.predict`), which a self-contained pyfunc could not reach.

Settings: ``SALES_MLFLOW`` (default on) and ``SALES_MLFLOW_URI`` (default ``sqlite:///data/mlflow.db``, artifacts
beside it in ``data/mlruns``). MLflow is imported here only when tracking runs (the import takes seconds). Any
failure is logged as a warning and returned in the result: tracking never fails a published refresh.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from pathlib import Path

import pandas as pd

import config
from data import store
from jobs.params import RefreshParams
from jobs.version import code_version

log = logging.getLogger(__name__)

EXPERIMENT = "sales-forecast"
REGISTERED_MODEL = "sales-forecast"
ALIAS = "production"
MODEL_PATH = "model"  # artifact path of the run's model directory
_KEY = re.compile(r"[^\w./\- :]")  # characters MLflow refuses in metric and param names
_BATCH = 1000  # MLflow's limit of metrics per log_batch call


def log_refresh(run_id: str, params: RefreshParams, summary: dict, url: str | None = None) -> dict | None:
    """Log the published refresh ``run_id`` to MLflow and register its models as ``production``.

    Parameters
    ----------
    run_id : str
        The published run.
    params : RefreshParams
        Its parameters.
    summary : dict
        The refresh summary (:func:`jobs.runner.refresh`; ``artifacts`` names the model directory).
    url : str, optional
        Database URL (default ``SALES_DB``), to read the run's backtest metrics, selections and tuning trials.

    Returns
    -------
    dict or None
        None when tracking is off (``SALES_MLFLOW=off``); else ``status`` ("logged" or "failed"), the tracking
        URI, the MLflow ``run_id``, ``experiment_id`` and registered ``model_version`` (or ``error``) and the
        seconds spent. Never raises.
    """
    settings = config.load()
    if not settings.mlflow:
        return None
    t0 = time.perf_counter()
    try:
        out = _log(settings.mlflow_uri, run_id, params, summary, url)
    except Exception as exc:  # noqa: BLE001 - tracking must never fail a published refresh
        log.warning("MLflow tracking of run %s failed (the run is published): %s: %s", run_id,
                    type(exc).__name__, exc)
        out = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    return {"tracking_uri": _redact(settings.mlflow_uri), **out, "seconds": round(time.perf_counter() - t0, 2)}


def _redact(uri: str) -> str:
    """The URI without a password (``user:secret@host`` -> ``user:***@host``)."""
    return re.sub(r"(//[^/:@]+):[^/@]+@", r"\1:***@", uri)


def artifact_location(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: ``mlruns`` beside a SQLite store; the server's choice else."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):]).expanduser().resolve()
        return (path.parent / "mlruns").as_uri()
    return None


def client(uri: str):
    """An ``MlflowClient`` for tracking and registry at ``uri`` (a remote server gets few retries and a timeout,
    so an unreachable one costs seconds, not minutes; explicit ``MLFLOW_HTTP_*`` variables win)."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).expanduser().parent.mkdir(parents=True, exist_ok=True)
    from mlflow import MlflowClient  # imported here: `import mlflow` takes seconds
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(mlc, uri: str) -> str:
    """The id of the ``sales-forecast`` experiment, created (artifacts per :func:`artifact_location`) if missing."""
    exp = mlc.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return exp.experiment_id
    return mlc.create_experiment(EXPERIMENT, artifact_location=artifact_location(uri))


def _log(uri: str, run_id: str, params: RefreshParams, summary: dict, url: str | None) -> dict:
    """Log the run, its trials and artifacts, then register the model; see :func:`log_refresh`."""
    from mlflow.entities import Metric, Param, RunTag
    mlc = client(uri)
    exp_id = experiment_id(mlc, uri)
    tags = {"sales.run_id": run_id, "sales.data_hash": str(summary.get("data_hash")),
            "sales.code_version": str(code_version()), "sales.freq": params.freq}
    combos = summary.get("combinations") or {}
    tags.update({f"selection/{lv}": str(c.get("chosen")) for lv, c in combos.items() if c.get("chosen")})
    run = mlc.create_run(exp_id, run_name=run_id, tags=tags)
    mid, now = run.info.run_id, int(time.time() * 1000)
    try:
        metrics = [Metric(k, v, now, 0) for k, v in run_metrics(run_id, summary, url).items()]
        mlc.log_batch(mid, params=[Param(k, v) for k, v in flat_params(params).items()])
        for i in range(0, len(metrics), _BATCH):
            mlc.log_batch(mid, metrics=metrics[i:i + _BATCH])
        mlc.log_dict(mid, {"selected": summary.get("selected"), "combinations": combos}, "selection.json")
        mlc.log_text(mid, json.dumps(summary, indent=2, default=str), "refresh_summary.json")
        if summary.get("artifacts") and Path(summary["artifacts"]).is_dir():
            mlc.log_artifacts(mid, summary["artifacts"], MODEL_PATH)
        n_trials = _log_trials(mlc, exp_id, mid, run_id, params.metric, url) if params.tune else 0
    except BaseException:
        mlc.set_terminated(mid, status="FAILED")
        raise
    mlc.set_terminated(mid, status="FINISHED")
    version = register(mlc, mid, run_id)
    return {"status": "logged", "run_id": mid, "experiment_id": exp_id, "model_version": version,
            "n_metrics": len(metrics), "n_trials": n_trials}


def flat_params(params: RefreshParams) -> dict[str, str]:
    """The refresh parameters as MLflow params: lists comma-joined, hyperparameter overrides as JSON."""
    out = {}
    for key, value in params.to_dict().items():
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        elif isinstance(value, dict):
            value = json.dumps(value, sort_keys=True, default=str)
        out[key] = str(value)
    return out


def _key(*parts) -> str:
    """A metric name from its parts, characters MLflow refuses (the ``+`` of a combination) replaced by ``-``."""
    return "/".join(_KEY.sub("-", str(p)) for p in parts)


def run_metrics(run_id: str, summary: dict, url: str | None = None) -> dict[str, float]:
    """The finite metrics of a run: per level and model (means over series and folds), the summary's and the
    selection counts per level and model."""
    out: dict[str, float] = {}
    for model, row in (summary.get("metrics") or {}).items():
        out.update({_key("summary", model, k): v for k, v in row.items() if k != "n_series"})
    nodes = store.nodes(url=url)[["node_id", "level"]].rename(columns={"node_id": "series_id"})
    bt = store.backtest_metrics(run_id=run_id, url=url).merge(nodes, on="series_id")
    cols = [c for c in store.METRIC_COLS if c in bt.columns]
    for (level, model), row in bt.groupby(["level", "model"])[cols].mean().iterrows():
        out.update({_key(level, model, c): v for c, v in row.items()})
    sel = store.selections(run_id=run_id, url=url).merge(nodes, on="series_id")
    for (level, model), n in sel.groupby(["level", "model"]).size().items():
        out[_key("selected", level, model)] = n
    return {k: float(v) for k, v in out.items() if v is not None and not pd.isna(v) and math.isfinite(float(v))}


def _log_trials(mlc, exp_id: str, parent: str, run_id: str, metric: str, url: str | None) -> int:
    """One child run per tuning trial of ``run_id``: its hyperparameters and its backtest ``metric``."""
    from mlflow.entities import Metric, Param
    trials = store.tuning_trials(run_id, url=url)
    for row in trials.itertuples(index=False):
        p = dict(row.params)
        child = mlc.create_run(exp_id, run_name=f"{run_id} trial {row.trial} {p.get('model', '')}".strip(),
                               tags={"mlflow.parentRunId": parent, "sales.run_id": run_id,
                                     "sales.trial": str(row.trial)})
        score = float(row.score)
        mlc.log_batch(child.info.run_id, params=[Param(_key(k), str(v)) for k, v in p.items()],
                      metrics=[Metric(_key(metric), score, int(time.time() * 1000), 0)] if math.isfinite(score)
                      else [])
        mlc.set_terminated(child.info.run_id, status="FINISHED")
    return int(len(trials))


def register(mlc, mlflow_run_id: str, run_id: str) -> str:
    """Register the run's ``model`` artifacts as a new version of ``sales-forecast`` and alias it ``production``."""
    from mlflow.exceptions import MlflowException
    try:
        mlc.create_registered_model(REGISTERED_MODEL, description="Published forecast runs of the sales "
                                    "dashboard: fitted models, manifest and selections (jobs/artifacts.py)")
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
            raise
    source = f"{mlc.get_run(mlflow_run_id).info.artifact_uri}/{MODEL_PATH}"
    mv = mlc.create_model_version(REGISTERED_MODEL, source=source, run_id=mlflow_run_id,
                                  tags={"sales.run_id": run_id}, description=f"published run {run_id}")
    mlc.set_registered_model_alias(REGISTERED_MODEL, ALIAS, mv.version)
    return str(mv.version)


def production_version(uri: str | None = None) -> dict | None:
    """The model version the alias ``production`` points at (``version``, ``run_id``, ``sales_run_id``,
    ``source``), or None when nothing is registered yet."""
    from mlflow.exceptions import MlflowException
    mlc = client(uri or config.load().mlflow_uri)
    try:
        mv = mlc.get_model_version_by_alias(REGISTERED_MODEL, ALIAS)
    except MlflowException:
        return None
    return {"version": str(mv.version), "run_id": mv.run_id, "sales_run_id": mv.tags.get("sales.run_id"),
            "source": mv.source}
