"""The named stages of a refresh, composed in order by :func:`jobs.runner.refresh`.

``load`` -> (``tune``) -> ``cut_tasks`` and ``set_aside`` (the map's inputs to disk, :mod:`jobs.spill`; the panel
dropped) -> ``backtest_and_fit`` -> ``taken_back`` -> ``select`` -> ``reconcile`` -> ``write`` -> ``publish``.
Each stage is a function of the :class:`~jobs.params.RefreshParams` and the previous stages' outputs (small
frozen records) and reports through the run's :class:`~jobs.progress.Progress`. Backtests and final fits
share one map over the same tasks: a series' final fit depends on its own backtest ranking (the ``n_final``
best local models), and shipping every frame to the workers twice would cost more than the split buys.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import config
from data import store
from domain import BOTTOM_LEVEL, Frames, freq_step
from jobs import artifacts, selecting, sparse
from jobs import plan_inputs as pi
from jobs import refresh_inputs as ri
from jobs.executor import map_series, run_task
from jobs.memory import release_memory
from jobs.params import RefreshParams
from jobs.progress import Progress
from jobs.spill import OnDisk, Spill
from jobs.spill import read as read_spilled
from jobs.tasks import global_tasks, local_tasks
from models import combination, registry, tuning
from models.backtest import fold_cutoffs
from models.reconcile import Hierarchy, build_hierarchy, coherence_error
from models.reconcile import reconcile as reconcile_forecasts


@dataclass(frozen=True)
class Inputs:
    """The loaded history and future covariates (``load``)."""

    frames: dict           # {level: regular history frame}, levels with data only
    futures: dict          # {level: X_future of its nodes}
    bottom_nodes: pd.DataFrame
    dates: pd.DatetimeIndex  # the forecast dates
    knowns: dict | None = None  # {level: the backtest windows' inputs as known at the origin}; None = oracle
    classes: dict = field(default_factory=dict)  # {level: demand classes (analytics.demand)}


@dataclass(frozen=True)
class ModelPlan:
    """Which candidates run where, the fallback model and the hyperparameter overrides per model."""

    local: list
    glob: list
    fallback: str
    model_params: dict


@dataclass(frozen=True)
class Fitted:
    """Everything the model map returned (``backtest_and_fit``)."""

    metric_parts: list
    fc_parts: list         # every candidate's forecasts, one frame (in the tasks' order)
    resid_parts: list      # each task's residuals (compact) on disk: jobs.spill.OnDisk handles
    diag_rows: list
    errors: list
    backtests: pd.DataFrame | None  # every candidate's backtest forecasts (compact), read back from disk as one frame
    saved: dict = field(default_factory=dict)  # {artifact name: fitted model (or list of them)}
    importance: pd.DataFrame | None = None  # gain and last-fold permutation importance (models.explain)
    saved_files: tuple = ()  # artifact files of the models already written as they arrived (artifacts.save_model)


@dataclass(frozen=True)
class Chosen:
    """The selection (``select``): metrics and candidates (with any combinations) and each series' choice."""

    metrics: pd.DataFrame
    stored_cands: pd.DataFrame  # the aggregate nodes' candidates (with combinations): stored besides the choice
    sel: pd.DataFrame
    chosen: pd.DataFrame   # the chosen model's forecast of every series
    combos: dict
    resid_parts: list      # the in-sample residuals of each series' chosen model (``with_residuals``; [] before)
    diag_rows: list        # the candidates' and chosen combinations' diagnostics (``with_residuals``; [] before)


def load(params: RefreshParams, prog: Progress, url: str | None) -> Inputs:
    """History per level on a regular grid and the exogenous values of the horizon per node."""
    prog.stage(0.01, "loading data")
    frames, end = ri.load_history(params.levels, params.freq, url)
    release_memory()  # the fact rows' Python values are freed: hand their heap back before the map
    bottom_nodes = store.nodes(level=BOTTOM_LEVEL, url=url)
    frames = pi.history_plan_columns(frames, bottom_nodes, url)
    step, country = freq_step(params.freq), config.load().country
    dates = pd.DatetimeIndex([end + step * (k + 1) for k in range(params.horizon)])
    futures = pi.known_inputs(dates, list(frames), bottom_nodes, frames[BOTTOM_LEVEL], params.freq, country, url)
    knowns = None
    if params.backtest_inputs == "as_known":  # every fold's window, as known at the first fold's origin
        first = fold_cutoffs(end, params.freq, params.horizon, params.folds)[0]
        window = pd.date_range(first + step, end, freq=step)
        knowns = pi.known_inputs(window, list(frames), bottom_nodes, frames[BOTTOM_LEVEL], params.freq, country,
                                 url, stored_weather=False)
    classes = sparse.classify(frames)
    release_memory()
    return Inputs(frames, futures, bottom_nodes, dates, knowns, classes)


def plan_models(params: RefreshParams) -> ModelPlan:
    """Split the candidates into local and global models and set their hyperparameter overrides."""
    local = [m for m in params.models if not registry.model_class(m).is_global]
    glob = [m for m in params.models if registry.model_class(m).is_global]
    fallback = "seasonal_naive" if "seasonal_naive" in params.models else (local or list(params.models))[0]
    # One thread per global-model fit: on a shared machine LightGBM's OpenMP threads spin against the other
    # worker processes and a fit runs many times slower with two threads than with one.
    model_params: dict = {name: {"num_threads": 1} if registry.accepts(name, "num_threads") else {} for name in glob}
    for name, overrides in (params.model_params or {}).items():
        model_params.setdefault(name, {}).update(overrides)
    return ModelPlan(local, glob, fallback, model_params)


def tune(params: RefreshParams, inputs: Inputs, plan: ModelPlan, prog: Progress) -> tuple[dict, pd.DataFrame]:
    """Tune every candidate with a search space (``lgbm``, ``xgboost``) on the bottom series; returns the
    updated overrides and the trials (numbered on across models; ``params`` names the model)."""
    names = [n for n in plan.glob if n in tuning.SPACES]
    if not names:
        raise ValueError(f"--tune searches the hyperparameters of {sorted(tuning.SPACES)}; include one in "
                         f"--models (got {list(params.models)})")
    model_params = {k: dict(v) for k, v in plan.model_params.items()}
    parts = []
    for name in names:
        prog.stage(0.03, f"tuning {name}")
        best, trials = tuning.tune_model(inputs.frames[BOTTOM_LEVEL], name, freq=params.freq, h=params.horizon,
                                         metric=params.metric, base_params=dict(plan.model_params[name]))
        model_params[name].update(best)
        trials = trials.assign(trial=trials["trial"] + sum(len(p) for p in parts),
                               params=[json.dumps({"model": name, **json.loads(p)}, sort_keys=True)
                                       for p in trials["params"]])
        parts.append(trials[["trial", "params", "score"]])
    return model_params, pd.concat(parts, ignore_index=True)


def _map(params: RefreshParams, tasks, jobs: int, on_result) -> list:
    """``run_task`` over the tasks on ``params.engine``: the process pool (one task per worker in flight), or a
    Spark job (same results)."""
    if params.engine == "spark":
        from jobs import spark_engine
        return spark_engine.map_tasks(list(tasks), params.spark_master, on_result=on_result)
    return map_series(run_task, tasks, jobs=jobs, chunksize=1, on_result=on_result)


@dataclass(frozen=True)
class MapWork:
    """The model map's tasks (``cut_tasks``), their frames on disk (:mod:`jobs.spill`), and per task the artifact
    group of its local models (None for a global model's task, whose results name their own)."""

    tasks: list
    series_ids: list       # per task, the series it covers
    local_groups: list     # per task: "store_product", "aggregates" or None
    spill: Spill           # where the frames are, and where the map's residuals go until the selection


def cut_tasks(params: RefreshParams, inputs: Inputs, plan: ModelPlan, model_params: dict, jobs: int,
              spill: Spill, prog: Progress | None = None) -> MapWork:
    """Every task of the model map, with its frames cut from the panel and written to ``spill``: done before the
    map, so that the caller can drop the panel while the map runs (a worker reads its task's frames).

    The order: the intermittent models' tasks, then the global models' (the longest tasks: the pool starts them
    while the local batches fill in), then the local batches.
    """
    frames, futures, knowns = inputs.frames, inputs.futures, inputs.knowns
    if params.engine == "spark":  # batches sized for the cluster's task slots, not this machine's cores
        from jobs import spark_engine
        jobs = spark_engine.parallelism(params.spark_master)
    refs = sparse.tasks(inputs, params, model_params)
    refs += global_tasks(frames, futures, params, plan.glob, model_params, knowns)
    refs += local_tasks(frames, futures, params, plan.local, model_params, jobs, knowns) if plan.local else []
    if prog is not None:
        prog.stage(0.04, f"cutting the model map's inputs: {len(refs)} tasks")
    bottom = set(frames[BOTTOM_LEVEL]["series_id"].unique()) if BOTTOM_LEVEL in frames else set()
    groups = [None if r.is_global else "store_product" if r.series_ids[0] in bottom else "aggregates" for r in refs]
    return MapWork([spill.task(ref.build()) for ref in refs], [r.series_ids for r in refs], groups, spill)


def backtest_and_fit(params: RefreshParams, work: MapWork, jobs: int, prog: Progress,
                     run_id: str | None = None) -> Fitted:
    """Backtest every candidate and fit the final models: the map of ``work``'s tasks (``jobs`` processes).

    With ``run_id``, each global model (and its group's forecast inputs) is written to the run's artifacts as
    its task's result arrives and dropped from memory (``Fitted.saved_files``); without, all are kept in
    ``Fitted.saved``.
    """
    n_work = sum(len(ids) for ids in work.series_ids)
    prog.stage(0.05, f"backtesting and fitting: {len(work.tasks)} tasks, {n_work} series-models")
    prog.start_map(n_work, "backtests and fits")
    # {artifact name: (rank, file)}. A group's forecast inputs come with each of its models: the regular models'
    # are the group's and all the same; the intermittent models' (rank 0) are only its sparse series, and are
    # kept only when no regular model of the group has its own (as the tasks' order made it before).
    written: dict = {}
    extra = set(sparse.sparse_models(params))

    def arrived(r):  # every candidate's backtests and residuals on disk (compact) until the selection
        r.residuals = work.spill.put(selecting.compact_residuals(r.residuals)) if len(r.residuals) else None
        r.backtests = work.spill.put(selecting.compact_residuals(r.backtests)) if len(r.backtests) else None
        if run_id is not None and r.is_global and r.models:  # on disk now, not held until the write
            rank = 0 if any(k.split("__", 1)[0] in extra for k in r.models if not k.startswith("future__")) else 1
            for name, obj in r.models.items():
                if name not in written or rank > written[name][0]:
                    written[name] = (rank, artifacts.save_model(run_id, name, obj))
            r.models = {}
        prog.tick(0.05, 0.9, "backtests and fits", len(r.series_ids))

    results = _map(params, work.tasks, jobs, arrived)
    prog.close()

    errors = [e for r in results for e in r.errors]
    saved: dict = {}
    for group, r in zip(work.local_groups, results):
        if group is None:
            saved.update(r.models)
        elif r.models:
            saved.setdefault(f"local__{group}", []).append(r.models)
    fc_parts = [r.forecasts for r in results if not r.forecasts.empty]
    if not fc_parts:
        raise ValueError("every model failed on every series: " + "; ".join(errors[:3]))
    fc_parts = [pd.concat(fc_parts, ignore_index=True)]  # one frame while the results' parts are freed
    bt_parts = [r.backtests for r in results if r.backtests is not None]
    imp_parts = [r.importance for r in results if len(r.importance)]
    return Fitted(metric_parts=[r.metrics for r in results if not r.metrics.empty], fc_parts=fc_parts,
                  resid_parts=[r.residuals for r in results if r.residuals is not None],
                  diag_rows=[d for r in results for d in r.diagnostics], errors=errors,
                  backtests=selecting.union_compact(bt_parts), saved=saved,
                  importance=pd.concat(imp_parts, ignore_index=True) if imp_parts else None,
                  saved_files=tuple(f for _, f in written.values()))


# The history columns the stages after the model map read: the selection's pooled scores and MASE scales
# (``series_id, ds, y``) and the demand tables (those, and the bottom level's ``price`` for the margins).
AFTER_MAP_COLS = ("series_id", "ds", "y")


def after_map(inputs: Inputs) -> Inputs:
    """``inputs`` reduced to what the stages after the model map read: each level's :data:`AFTER_MAP_COLS` (and
    the bottom level's ``price``), no future or as-known inputs. The exogenous and hierarchy columns are the
    models' (their tasks carry them) and most of the panel's bytes."""
    frames = {}
    for lv, f in inputs.frames.items():
        keep = [c for c in (*AFTER_MAP_COLS, *(("price",) if lv == BOTTOM_LEVEL else ())) if c in f.columns]
        frames[lv] = f[keep].copy()  # a copy: a column selection alone is a view that keeps every block alive
    return dataclasses.replace(inputs, frames=frames, futures={}, knowns=None)


def set_aside(inputs: Inputs, spill: Spill) -> tuple[Inputs, OnDisk]:
    """``inputs`` without any frame, and the handle of its history as :func:`after_map` keeps it, written to
    ``spill``: after :func:`cut_tasks` the map needs no frame in the driver, and the caller drops its old record
    so that the panel is freed before the map (:func:`taken_back` reads the history again after it)."""
    return dataclasses.replace(inputs, frames={}, futures={}, knowns=None), spill.put(after_map(inputs).frames)


def taken_back(inputs: Inputs, history: OnDisk) -> Inputs:
    """``inputs`` with the history :func:`set_aside` wrote read back."""
    return dataclasses.replace(inputs, frames=read_spilled(history))


def select(params: RefreshParams, inputs: Inputs, fitted: Fitted, fallback: str) -> Chosen:
    """Each series' forecast: its level's best combination, or its own best model (``params.selection``)."""
    metrics = pd.concat(fitted.metric_parts, ignore_index=True) if fitted.metric_parts else pd.DataFrame(
        columns=["series_id", "model", "fold", params.metric])
    cands = pd.concat(fitted.fc_parts, ignore_index=True)  # one frame: no copy
    if not metrics.empty:  # a model whose final fit failed cannot be chosen, whatever its backtest said
        metrics = metrics.merge(cands[["series_id", "model"]].drop_duplicates(), on=["series_id", "model"])
    (metrics, regular, backtests), (x_metrics, x_cands) = sparse.split(metrics, cands, fitted.backtests, params)
    combos: dict = {}
    if params.combining and not metrics.empty and backtests is not None:
        metrics, fc_parts, sel, combos = selecting.combine(metrics, regular, backtests, params, fallback,
                                                           inputs.frames)
    else:
        if params.ensemble and not metrics.empty:
            metrics, regular = selecting.add_ensemble(metrics, regular, params.metric, inputs.frames)
        fc_parts = [regular]
        sel = selecting.select_per_series(metrics, regular, params.metric, fallback)
    # The candidates, the combinations' forecasts and the intermittent models' as one frame, made once: the
    # regular and intermittent rows are views of the map's forecasts where they are blocks of it (sparse.split).
    has_extra = len(x_cands) > 0
    cands = pd.concat([*fc_parts, *([x_cands] if has_extra else [])], ignore_index=True)
    del regular, fc_parts, x_cands, backtests
    if has_extra:  # the sparse series: every candidate, intermittent models included, by RMSSE
        metrics = pd.concat([metrics, x_metrics], ignore_index=True)
        sel = sparse.choose(sel, metrics, cands, inputs.classes, fallback, sparse.sparse_models(params),
                            regular_choice_only=params.combining)
    chosen = cands[selecting.rows_of(cands, sel)].reset_index(drop=True)  # no merge on the text keys
    bottom = inputs.frames[BOTTOM_LEVEL]["series_id"].unique() if BOTTOM_LEVEL in inputs.frames else []
    stored_cands = cands[~combination.isin(cands["series_id"], bottom)]
    del cands  # the bottom series' candidates are not stored: only their choice (``chosen``)
    return Chosen(metrics, stored_cands, sel, chosen, combos, resid_parts=[], diag_rows=[])


def with_residuals(chosen: Chosen, fitted: Fitted) -> Chosen:
    """``chosen`` with the in-sample residuals of each series' choice (read from the map's files:
    :func:`selecting.chosen_residuals`) and every diagnostics row (the candidates', and the chosen combinations').
    Run after :func:`consumed` freed the candidates' forecasts and backtests: the residuals are millions of rows."""
    resid_parts, combo_diag = selecting.chosen_residuals(fitted.resid_parts, chosen.sel)
    return dataclasses.replace(chosen, resid_parts=resid_parts, diag_rows=fitted.diag_rows + combo_diag)


def consumed(fitted: Fitted, residuals: bool = False) -> Fitted:
    """``fitted`` without what :func:`select` and the run summary consumed (every candidate's forecasts, metrics
    and backtest forecasts) and, with ``residuals``, without the candidates' residuals and diagnostics too (after
    :func:`with_residuals`): the caller drops its reference to the old record so that these, the largest frames of
    a run, are freed before the next stage."""
    return dataclasses.replace(fitted, metric_parts=[], fc_parts=[], backtests=None,
                               **({"resid_parts": [], "diag_rows": []} if residuals else {}))


def hierarchy(inputs: Inputs) -> Hierarchy:
    """The hierarchy of every node above the bottom series (summing matrix, levels, bottom ids)."""
    return build_hierarchy(inputs.bottom_nodes, key=store.node_id)


def reconcile(params: RefreshParams, chosen: Chosen, hier: Hierarchy) -> pd.DataFrame:
    """Coherent forecasts of every node of ``hier`` from the chosen ones (raises when the result does not add up)."""
    residuals = None
    if params.reconcile == "mint_shrink":
        residuals = pd.concat([p.astype({"series_id": str, "model": str}) for p in chosen.resid_parts],
                              ignore_index=True) if chosen.resid_parts else None
    final = reconcile_forecasts(chosen.chosen, hier, params.reconcile, residuals=residuals)
    gap = coherence_error(final, hier)
    scale = max(float(final["yhat"].abs().max()), 1.0)
    if gap > 1e-6 * scale:
        raise ValueError(f"reconciled forecasts are not coherent (largest gap {gap:.3g})")
    return final


def write(run_id: str, params: RefreshParams, chosen: Chosen, final: pd.DataFrame, hier: Hierarchy,
          trials: pd.DataFrame | None, model_params: dict, saved: dict, url: str | None,
          importance: pd.DataFrame | None = None, saved_files=()) -> tuple[int, str]:
    """Write the run's rows (not yet current) and its model artifacts; returns the forecast row count and dir.

    Stored forecasts (``forecasts.model``): ``final`` for every node; for aggregate nodes also every
    candidate's base forecast; for bottom series the chosen model's base forecast. The global tree models'
    feature importance is saved as the frame ``Frames.FEATURE_IMPORTANCE`` with the run id as its level.
    """
    bottom_ids = set(hier.bottom)
    parts = _stored_parts([final.assign(model="final"), chosen.stored_cands,
                           chosen.chosen[chosen.chosen["series_id"].isin(bottom_ids)]])
    _check_finite(parts)
    diag = selecting.diagnostics_frame(chosen.diag_rows, chosen.resid_parts, chosen.sel)
    with store.session_scope(url=url) as s:
        for part in parts:  # written in slices by write_run_results: never one concatenated frame
            store.write_run_results(s, run_id, forecasts=part)
        store.write_run_results(s, run_id, metrics=chosen.metrics, selections=chosen.sel, diagnostics=diag,
                                trials=trials)
        if importance is not None and not importance.empty:
            store.save_frame(s, Frames.FEATURE_IMPORTANCE, run_id, importance)
    artifact_dir = artifacts.save_run(run_id, params.to_dict(), chosen.sel, chosen.metrics, model_params, saved,
                                      saved=saved_files)
    return sum(len(p) for p in parts), str(artifact_dir)


def _stored_parts(parts: list) -> list:
    """The stored forecasts as parts without repeated ``(series_id, model, ds)`` rows, each with every part's
    columns (a column a part lacks is NaN there, as in their concatenation). The parts' keys are disjoint (the
    ``final`` model, the aggregate nodes' candidates, the bottom series' choices), so no part is concatenated
    with another and each is written and checked on its own."""
    cols = list(dict.fromkeys(c for p in parts for c in p.columns))
    out = []
    for part in parts:
        part = part if list(part.columns) == cols else part.reindex(columns=cols)
        dup = part.duplicated(["series_id", "model", "ds"])
        out.append(part[~dup.to_numpy()] if dup.any() else part)
    return out


def _check_finite(parts: list) -> None:
    """Raise (so the run fails and the previous one stays current) when any forecast value is NaN or infinite."""
    bad_rows = []
    for stored in parts:
        values = stored[[c for c in stored.columns if c.startswith("yhat")]].to_numpy(dtype=float)
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            bad_rows.append(stored[bad])
    if bad_rows:
        rows = pd.concat(bad_rows, ignore_index=True)
        rows = rows.sort_values("model", key=lambda m: m == "final", kind="stable")  # a base model first
        sid, model = rows["series_id"].iloc[0], rows["model"].iloc[0]
        raise ValueError(f"non-finite forecast (NaN or inf) for series {sid!r}, model {model!r} "
                         f"({len(rows)} rows, {rows['series_id'].nunique()} series): the run is not published")


def publish(run_id: str, summary: dict, duration: float, url: str | None) -> int:
    """Make the written run current in one transaction and prune old runs; returns how many were pruned."""
    store.publish_run(run_id, summary["n_series"], duration, {k: summary[k] for k in (
        "metrics", "selected", "n_bottom", "n_aggregate", "timings", "errors", "backtest_inputs")}, url=url)
    return store.prune_runs(keep=5, url=url)
