"""The per-series map of a refresh: a pure function of series frames, and executors that map it over batches.

:func:`run_series` backtests the local models on a batch of series (each one independently), fits the best
of them (plus the fallback) on the full history, forecasts ``h`` steps and computes residual diagnostics. It
reads no database and no global state: everything arrives in a picklable :class:`SeriesTask` and leaves in a
:class:`SeriesResult`. So the same map runs serially, in a process pool (:func:`map_series`, the default) or
on Spark::

    results = spark.sparkContext.parallelize(tasks, n).map(run_series).collect()
"""
from __future__ import annotations

import functools
import itertools
import multiprocessing as mp
import os
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from jobs.memory import release_memory, return_large_frees
from jobs.spill import resolve
from models.backtest import backtest_series, rolling_origin, zero_closed
from models.diagnostics import residual_diagnostics
from models.explain import IMPORTANCE_COLS, gain_importance, is_explainable, permutation_importance
from models.metrics import LOWER_IS_BETTER
from models.registry import accepts, make_model

BACKTEST_COLS = ["series_id", "ds", "fold", "model", "y", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95",
                 "yhat_hi_95"]
RESID_KEEP = 730  # in-sample residuals kept per series for the dashboard histogram and MinT (two daily years)


@dataclass(frozen=True)
class SeriesTask:
    """Everything :func:`run_series` needs for a batch of series (picklable; no connections, no models).

    A batch is one or more series of the same level; each series is treated independently, batching only
    amortizes the per-call overhead of fitting (a few tens of milliseconds per fit call).
    """

    series_ids: tuple[str, ...]
    frame: pd.DataFrame          # history: series_id, ds, y + exogenous columns, regular spacing
    future: pd.DataFrame         # X_future: series_id, ds + exogenous columns for the h forecast dates
    models: tuple[str, ...]      # local candidate models to backtest
    freq: str
    h: int
    folds: int = 3
    metric: str = "wape"
    fallback: str = "seasonal_naive"
    n_final: int | None = 1      # best local models per series to fit on the full history (None: every one)
    params: dict = field(default_factory=dict)  # {model: hyperparameter overrides}
    keep_models: bool = False    # return the fitted final models (for serialization)
    known: pd.DataFrame | None = None  # backtest windows' inputs as known at the origin (None: realised, oracle)


@dataclass
class SeriesResult:
    """Backtest metrics, forecasts (with ``model``), residuals and diagnostics of a batch of series."""

    series_ids: tuple[str, ...]
    metrics: pd.DataFrame
    forecasts: pd.DataFrame
    residuals: pd.DataFrame      # series_id, ds, model, resid (last RESID_KEEP in-sample one-step residuals)
    diagnostics: list[dict]
    errors: list[str]
    models: dict = field(default_factory=dict)  # {model name: fitted model} when task.keep_models
    backtests: pd.DataFrame = field(default_factory=pd.DataFrame)  # out-of-sample fold forecasts (BACKTEST_COLS)
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)  # global tree models: models.explain.IMPORTANCE_COLS
    is_global: bool = False  # from a global-model task (its ``models`` are artifacts named by model and group)


def _horizon(name: str, h: int) -> dict:
    """``{"horizon": h}`` for a model that takes a horizon (the tree models fit their lags to it), else ``{}``."""
    return {"horizon": h} if accepts(name, "horizon") else {}


def rank_models(metrics: pd.DataFrame, metric: str = "wape") -> list[str]:
    """Models ordered best first by their mean ``metric`` over folds (``bias``: by absolute value).

    Parameters
    ----------
    metrics : DataFrame
        ``model, fold`` and the metric column, as returned by :func:`models.backtest.rolling_origin`.
    metric : str
        A lower-is-better metric, ``bias`` (closest to 0) or ``coverage_80``/``coverage_95`` (closest to nominal).

    Returns
    -------
    list of str
        Models with a finite score, best first; ties keep alphabetical order.
    """
    if metrics.empty or metric not in metrics.columns:
        return []
    score = metrics.groupby("model")[metric].mean()
    if metric == "bias":
        score = score.abs()
    elif metric.startswith("coverage_"):
        score = (score - int(metric.split("_")[1]) / 100).abs()
    elif metric not in LOWER_IS_BETTER:
        raise ValueError(f"cannot rank models by {metric!r}; use one of {list(LOWER_IS_BETTER)}, bias or coverage_*")
    score = score[np.isfinite(score)]
    return list(score.sort_index().sort_values(kind="mergesort").index)


def _backtest(task: SeriesTask, errors: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rolling-origin metrics and fold forecasts of every local model on the batch; a model failing on the
    batch is retried series by series (metrics only) so one bad series cannot cost the others their scores."""
    parts, fcsts = [], []
    for name in task.models:
        try:
            metrics, fc = rolling_origin(task.frame, name, task.freq, task.h, task.folds,
                                         model_params=task.params.get(name), known_future=task.known)
            parts.append(metrics)
            fcsts.append(fc[BACKTEST_COLS])
        except (ValueError, np.linalg.LinAlgError, ArithmeticError) as exc:
            errors.append(f"backtest {name} on a batch of {len(task.series_ids)}: {exc}; retrying per series")
            for _, g in task.frame.groupby("series_id", sort=True):
                parts.append(backtest_series(g, [name], task.freq, task.h, task.folds, task.params,
                                             known_future=task.known))
    parts = [p for p in parts if not p.empty]
    fcsts = [f for f in fcsts if not f.empty]
    return (pd.concat(parts, ignore_index=True) if parts else
            pd.DataFrame(columns=["series_id", "model", "fold", task.metric]),
            pd.concat(fcsts, ignore_index=True) if fcsts else pd.DataFrame(columns=BACKTEST_COLS))


def run_series(task: SeriesTask) -> SeriesResult:
    """Backtest, select among local models, fit on the full history and forecast a batch of series (pure).

    Parameters
    ----------
    task : SeriesTask

    Returns
    -------
    SeriesResult
        ``metrics``: per series, model and fold; ``forecasts``: per series its ``n_final`` best local models
        and the fallback over the ``h`` dates of ``task.future``; ``residuals`` and ``diagnostics`` for
        those. A model that fails is skipped for the series concerned and listed in ``errors``.
    """

    errors: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels convergence chatter; failures are reported in errors
        metrics, backtests = _backtest(task, errors) if task.models else \
            (pd.DataFrame(columns=["series_id", "model", "fold", task.metric]), pd.DataFrame(columns=BACKTEST_COLS))
    wanted: dict[str, list[str]] = {name: [] for name in task.models}
    by_series = dict(tuple(metrics.groupby("series_id", sort=False))) if len(metrics) else {}
    for sid in task.series_ids:
        ranked = rank_models(by_series[sid], task.metric) if sid in by_series else []
        chosen = list(task.models) if task.n_final is None else ranked[: task.n_final]
        if task.fallback in task.models and task.fallback not in chosen:
            chosen.append(task.fallback)
        for name in chosen:
            wanted[name].append(sid)
    fcs, resids, diags, fitted = [], [], [], {}
    for name, sids in wanted.items():
        if not sids:
            continue
        train = task.frame[task.frame["series_id"].isin(sids)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params = {**_horizon(name, task.h), **task.params.get(name, {})}
                model = make_model(name, task.freq, **params).fit(train)
                fut = task.future[task.future["series_id"].isin(sids)]
                fc = zero_closed(model.predict(task.h, fut if model.uses_exog else None), fut)
        except (ValueError, np.linalg.LinAlgError, ArithmeticError) as exc:
            errors.append(f"{name} on {len(sids)} series (e.g. {sids[0]}): {exc}")
            continue
        fcs.append(fc.assign(model=name))
        if task.keep_models:
            fitted[name] = model
        try:
            fv = model.fitted_values()
        except ValueError:
            continue
        fv = fv.assign(resid=fv["y"] - fv["yhat"]).dropna(subset=["resid"])
        for sid, g in fv.groupby("series_id", sort=True):
            g = g.tail(RESID_KEEP)
            resids.append(g[["series_id", "ds"]].assign(model=name, resid=g["resid"].to_numpy()))
            diags.append({"series_id": sid, "model": name, **residual_diagnostics(g["resid"].to_numpy())})
    empty_fc = pd.DataFrame(columns=["series_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95",
                                     "yhat_hi_95", "model"])
    return SeriesResult(
        series_ids=task.series_ids, metrics=metrics,
        forecasts=pd.concat(fcs, ignore_index=True) if fcs else empty_fc,
        residuals=pd.concat(resids, ignore_index=True) if resids
        else pd.DataFrame(columns=["series_id", "ds", "model", "resid"]),
        diagnostics=diags, errors=errors, models=fitted, backtests=backtests)


@dataclass(frozen=True)
class GlobalTask:
    """One global model (e.g. LightGBM) over every series of ``frame``: backtest folds and the final fit."""

    name: str
    group: str                   # label of the series group (a level, or "aggregates")
    frame: pd.DataFrame
    future: pd.DataFrame
    freq: str
    h: int
    folds: int = 3
    params: dict = field(default_factory=dict)  # hyperparameter overrides of this model
    keep_models: bool = True
    part: int | None = None      # None: every fold and the final fit; k >= 1: backtest fold k only; 0: final fit only
    known: pd.DataFrame | None = None  # backtest windows' inputs as known at the origin (None: realised, oracle)


def _importance(task: GlobalTask, parts: list):
    """A backtest fold hook that adds the last fold's permutation importance to ``parts`` (tree models only).

    An explanation that fails is left out; it never costs the fold its forecasts and metrics."""
    def hook(fold, model, inputs, actuals):
        if fold == task.folds and is_explainable(model):
            try:
                parts.append(permutation_importance(model, inputs, actuals).assign(kind="permutation"))
            except (ValueError, KeyError, ArithmeticError):
                pass
    return hook


def _importance_frame(task: GlobalTask, parts: list) -> pd.DataFrame:
    """``parts`` as one frame of :data:`models.explain.IMPORTANCE_COLS` (empty when there are none)."""
    if not parts:
        return pd.DataFrame(columns=IMPORTANCE_COLS)
    return pd.concat(parts, ignore_index=True).assign(model=task.name, group=task.group).reindex(
        columns=IMPORTANCE_COLS)


def run_global(task: GlobalTask) -> SeriesResult:
    """Backtest and fit one global model on a group of series (pure; one fit per fold plus the final one).

    With ``task.part`` set, only that fold (metrics only) or only the final fit (forecasts, residuals,
    diagnostics, model) runs: the runner splits the longest task of a refresh this way over the pool.

    Returns
    -------
    SeriesResult
        Metrics per series and fold, the final forecasts, residuals and diagnostics per series; on failure
        empty frames and the error in ``errors``.
    """
    ids = tuple(sorted(task.frame["series_id"].unique()))
    mp = {**_horizon(task.name, task.h), **task.params}
    empty = SeriesResult(ids, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], [])
    imp: list = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metrics, backtests = pd.DataFrame(), pd.DataFrame(columns=BACKTEST_COLS)
            if task.part != 0:
                only = None if task.part is None else [task.part]
                metrics, backtests = rolling_origin(task.frame, task.name, task.freq, task.h, task.folds,
                                                    model_params=mp, only_folds=only, known_future=task.known,
                                                    on_fold=_importance(task, imp))
                backtests = backtests[BACKTEST_COLS]
            if task.part not in (None, 0):
                return SeriesResult(ids, metrics, pd.DataFrame(), pd.DataFrame(), [], [], backtests=backtests,
                                    importance=_importance_frame(task, imp))
            model = make_model(task.name, task.freq, **mp).fit(task.frame)
            fc = zero_closed(model.predict(task.h, task.future), task.future).assign(model=task.name)
            if is_explainable(model):
                imp.append(gain_importance(model).assign(kind="gain", sd=np.nan))
    except (ValueError, np.linalg.LinAlgError, ArithmeticError) as exc:
        empty.errors.append(f"{task.name} on {task.group}{'' if task.part is None else f' (part {task.part})'}: {exc}")
        return empty
    resids, diags = [], []
    try:
        fv = model.fitted_values().dropna(subset=["yhat"])
    except ValueError:
        fv = pd.DataFrame(columns=["series_id", "ds", "y", "yhat"])
    if getattr(model, "fitted_on_demand", False):  # made again (the same) on demand: not shipped nor saved
        model.fitted_values_ = None
    fv = fv.assign(resid=fv["y"] - fv["yhat"])
    for sid, g in fv.groupby("series_id", sort=True):
        g = g.tail(RESID_KEEP)
        resids.append(g[["series_id", "ds"]].assign(model=task.name, resid=g["resid"].to_numpy()))
        diags.append({"series_id": sid, "model": task.name, **residual_diagnostics(g["resid"].to_numpy())})
    return SeriesResult(ids, metrics, fc, pd.concat(resids, ignore_index=True) if resids else
                        pd.DataFrame(columns=["series_id", "ds", "model", "resid"]), diags, [],
                        _kept(task, model), backtests=backtests, importance=_importance_frame(task, imp),
                        is_global=True)


def _kept(task: GlobalTask, model) -> dict:
    """The artifacts of a final fit: the model and, for explanations without a refit, the inputs it forecast
    from (the same for every global model of a group, so saved once per group)."""
    if not task.keep_models:
        return {}
    return {f"{task.name}__{task.group}": model, f"future__{task.group}": task.future}


def run_task(task) -> SeriesResult:
    """Dispatch one task of the refresh map (a batch of local series or a global-model group), its frames read
    first when the driver wrote them to disk (:mod:`jobs.spill`)."""
    task = resolve(task)
    return run_global(task) if isinstance(task, GlobalTask) else run_series(task)


def _run_and_release(fn: Callable, task):
    """``fn(task)`` in a pool worker, then the freed heap handed back to the OS: glibc keeps the pages of a large
    global-model task otherwise, and the worker would hold that peak through every later (small) task."""
    try:
        return fn(task)
    finally:
        release_memory()


def _init_worker(driver: tuple[int, str | None] | None = None) -> None:
    """One BLAS/OpenMP thread per worker process (the pool already uses every core), large blocks handed back
    to the OS as soon as they are freed (:func:`jobs.memory.return_large_frees`), and a watchdog that ends the
    worker when the driver (``(pid, start time)``) is gone."""
    return_large_frees()
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    if driver is not None:
        threading.Thread(target=_exit_with_driver, args=driver, name="driver-watchdog", daemon=True).start()


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first, start time at 19); ``None`` when
    it cannot be read (no such process, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _start_time(pid: int) -> str | None:
    """A process's start time (Linux), to tell it from a later process given the same pid; ``None`` where there
    is no /proc."""
    stat = _proc_stat(pid)
    return stat[19] if stat else None


def _driver_alive(pid: int, started: str | None) -> bool:
    """Whether the driver still runs (a zombie, or a new process with its pid, does not count)."""
    if started is None:  # no /proc: only whether the pid exists
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X") and stat[19] == started


def _exit_with_driver(pid: int, started: str | None, every_s: float = 1.0) -> None:
    """End this worker once the driver is gone. A driver killed outright (the OOM killer, SIGKILL) runs no
    clean-up, and the pool's workers, children of the forkserver, would otherwise wait forever on a task queue
    that no one writes to, holding their memory."""
    while _driver_alive(pid, started):
        time.sleep(every_s)
    os._exit(1)


def map_series(fn: Callable, tasks: Iterable, jobs: int = 1, on_result: Callable | None = None,
               chunksize: int | None = None, in_flight: int | None = None,
               preload: tuple[str, ...] = ("jobs.executor", "models.backtest", "models.registry",
                                          "lightgbm")) -> list:
    """Apply ``fn`` to every task, in order, serially (``jobs <= 1``) or in a process pool of ``jobs`` workers.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) pure function of one task.
    tasks : iterable
        Picklable task objects; a generator is consumed lazily, so a task (and the frames it carries) exists only
        from shortly before it runs until its result is back.
    jobs : int
        Worker processes; 1 runs in this process.
    on_result : callable, optional
        Called with each result as it arrives (progress reporting).
    chunksize : int, optional
        Tasks per inter-process message; 1 (or None) sends each task when a worker is free, which bounds the
        tasks pickled and waiting in the pool's queue (each may carry a large frame). Larger: ``pool.map`` over
        the whole list, for many tiny tasks.
    in_flight : int, optional
        With ``chunksize`` 1: tasks submitted and not yet finished (default ``jobs``: one per worker).
    preload : tuple of str
        Modules the forkserver imports once for all workers (default: the refresh's models, and LightGBM, which
        they import on their first fit: preloaded, its pages are shared, about 15 MB less per worker). A module
        that is not installed is skipped.

    Returns
    -------
    list
        ``fn(task)`` for every task, in the order of ``tasks``.
    """
    it = iter(tasks)
    head = list(itertools.islice(it, 2))
    if jobs <= 1 or len(head) <= 1:
        results = []
        for task in itertools.chain(head, it):
            results.append(fn(task))
            if on_result:
                on_result(results[-1])
        return results
    # forkserver: workers start from a clean process, not a fork of one that may hold OpenMP threads
    # (LightGBM) or database connections.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    driver = (os.getpid(), _start_time(os.getpid()))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(driver,)) as pool:
        if chunksize and chunksize > 1:
            results = []
            for res in pool.map(fn, itertools.chain(head, it), chunksize=chunksize):
                results.append(res)
                if on_result:
                    on_result(res)
            return results
        return _bounded_map(pool, functools.partial(_run_and_release, fn), itertools.chain(head, it),
                            max(1, in_flight or jobs), on_result)


def _bounded_map(pool, fn: Callable, tasks, limit: int, on_result: Callable | None) -> list:
    """``fn`` over ``tasks`` with at most ``limit`` submitted and unfinished; results in task order."""
    results: dict[int, object] = {}
    pending: dict = {}
    index = 0
    for task in tasks:
        while len(pending) >= limit:
            _collect(pending, results, on_result)
        pending[pool.submit(fn, task)] = index
        index += 1
        del task  # the pool's pickled copy is what runs; this process need not keep the frames
    while pending:
        _collect(pending, results, on_result)
    return [results.pop(i) for i in range(index)]


def _collect(pending: dict, results: dict, on_result: Callable | None) -> None:
    """Wait for at least one pending future; move the finished ones' results into ``results``."""
    done, _ = wait(pending, return_when=FIRST_COMPLETED)
    for fut in done:
        results[pending.pop(fut)] = res = fut.result()
        if on_result:
            on_result(res)
