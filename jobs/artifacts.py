"""Serialized models of a run under ``<SALES_MODELS_DIR>/<run_id>/``: a JSON manifest and joblib files.

Layout: ``manifest.json`` (run id, UTC timestamp, parameters, code version, per-model selection counts and
hyperparameter overrides, file list), ``selections.csv`` (the chosen model per series) and one
``<name>.joblib`` per fitted final model object handed in (the global models per level, and the local
models of the aggregate nodes). Bottom-level local models are cheap, deterministic refits of their stored
parameters and are not pickled one by one, which keeps a large run's artifacts small.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import joblib
import pandas as pd

import config
from data.exports import csv_safe
from jobs.version import code_version

_SAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


def run_dir(run_id: str) -> Path:
    """The artifact directory of ``run_id``."""
    return config.load().models_dir / run_id


def save_run(run_id: str, params: dict, selections: pd.DataFrame, metrics: pd.DataFrame | None = None,
             model_params: dict | None = None, models: dict | None = None, saved=()) -> Path:
    """Write a run's manifest, selections and fitted model objects; returns the directory.

    Parameters
    ----------
    run_id : str
    params : dict
        The refresh parameters.
    selections : DataFrame
        ``series_id, model, metric, score``.
    metrics : DataFrame, optional
        Backtest metrics (only counted in the manifest).
    model_params : dict, optional
        Hyperparameter overrides used (e.g. tuned LightGBM parameters).
    models : dict, optional
        ``{artifact name: fitted model}``; each is written with joblib (compressed) as ``<name>.joblib``.
    saved : iterable of str, optional
        File names of models already written by :func:`save_model` (listed in the manifest).
    """
    out = run_dir(run_id)
    out.mkdir(parents=True, exist_ok=True)
    files = list(saved) + [save_model(run_id, name, obj) for name, obj in (models or {}).items()]
    csv_safe(selections).to_csv(out / "selections.csv", index=False)
    manifest = {"run_id": run_id, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "code_version": code_version(), "params": params, "model_params": model_params or {},
                "selected": selections["model"].value_counts().sort_index().to_dict(),
                "n_backtest_rows": 0 if metrics is None else int(len(metrics)), "files": sorted(files)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return out


def save_model(run_id: str, name: str, obj) -> str:
    """Write one fitted model object of a run as ``<name>.joblib`` (compressed); returns the file name. The
    refresh writes each global model as it arrives, so the driver need not hold them all until the end."""
    out = run_dir(run_id)
    out.mkdir(parents=True, exist_ok=True)
    fname = _SAFE.sub("_", name) + ".joblib"
    joblib.dump(obj, out / fname, compress=3)
    return fname


def discard_run(run_id: str) -> None:
    """Remove the artifact directory of a run that failed or was cancelled (models written while it ran)."""
    shutil.rmtree(run_dir(run_id), ignore_errors=True)


def load_manifest(run_id: str) -> dict:
    """The manifest of a saved run (FileNotFoundError names the missing path)."""
    path = run_dir(run_id) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"no saved models for run {run_id!r}: {path} does not exist")
    return json.loads(path.read_text())


def load_model(run_id: str, name: str):
    """A fitted model object saved by :func:`save_run` (e.g. ``"lgbm__store_product"``)."""
    path = run_dir(run_id) / (_SAFE.sub("_", name) + ".joblib")
    if not path.exists():
        available = load_manifest(run_id)["files"]
        raise FileNotFoundError(f"run {run_id!r} has no model {name!r}; saved: {available}")
    return joblib.load(path)


def group_names(run_id: str, level_group: str) -> list[str]:
    """The saved series groups of a level: ``level_group`` and, when the refresh trained its global models per
    group of series (:mod:`jobs.tasks`), ``level_group-2``, ``level_group-3``, ..., in that order."""
    prefix = f"__{level_group}-"
    extra = {f[f.index(prefix) + 2:-len(".joblib")] for f in load_manifest(run_id)["files"] if prefix in f}
    extra = {g for g in extra if g.rsplit("-", 1)[1].isdigit()}
    return [level_group, *sorted(extra, key=lambda g: int(g.rsplit("-", 1)[1]))]


def node_group(run_id: str, node: str, level_group: str) -> str:
    """The group of ``level_group`` whose global models forecast ``node``: the one whose saved forecast inputs
    (``future__<group>``) hold it (``level_group`` itself when there is one group, or none holds it)."""
    names = group_names(run_id, level_group)
    for name in names if len(names) > 1 else []:
        try:
            future = load_model(run_id, f"future__{name}")
        except FileNotFoundError:
            continue
        if (future["series_id"] == node).any():
            return name
    return level_group
