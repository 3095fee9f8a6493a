"""The forecast refresh: validate the parameters, take the lock, run the stages, publish the run.

A run is written under a new ``run_id`` and made current in one transaction (``store.publish_run``), so
readers never see a half-written run; an exception or Ctrl-C marks the run failed/cancelled and the previous
run stays current. A lock (:class:`jobs.lock.RefreshLock`) keeps two refreshes from running at once. The
work itself is the stages of :mod:`jobs.stages` (load, backtest and fit, select, reconcile, write, publish).
"""
from __future__ import annotations

import json
import time
import traceback
import uuid

import config
from data import store
from domain import BOTTOM_LEVEL
from jobs import artifacts, sparse, stages, tracking
from jobs.lock import RefreshLock, abandon_runs
from jobs.memory import release_memory
from jobs.params import RefreshParams
from jobs.progress import Progress
from jobs.spill import Spill
from jobs.summary import SUMMARY_METRICS, format_summary, metric_summary
from jobs.version import code_version

__all__ = ["refresh", "has_current_run", "format_summary", "SUMMARY_METRICS"]


def has_current_run(url: str | None = None) -> bool:
    """True when the store has a published forecast run (used by ``make run``)."""
    return store.db_exists(url) and store.current_run(url) is not None


def refresh(horizon=None, models=None, jobs=None, tune=False, folds=3, metric="wape", reconcile="bottom_up",
            levels=None, progress=True, force=False, url=None, ensemble=False, model_params=None,
            selection="combination", backtest_inputs="as_known", run_id=None, on_start=None, sparse_models=None,
            engine="local", spark_master=None) -> dict:
    """Run one forecast refresh and publish it as the current run.

    Parameters
    ----------
    horizon : int, optional
        Steps ahead (default 42 for daily data, 6 for weekly).
    models : str or list of str, optional
        Candidate models (comma-separated or a list; default ``models.registry.DEFAULT_MODELS``).
    jobs : int, optional
        Worker processes of the per-series map (default ``SALES_JOBS``, i.e. the cores).
    tune : bool
        Tune the hyperparameters of the lgbm and xgboost candidates first (trials are logged in ``tuning_trials``).
    folds : int
        Rolling-origin folds.
    metric : str
        Selection metric (lower is better; ``bias`` in absolute value).
    reconcile : {'bottom_up', 'ols', 'mint_shrink'}
    levels : str or list of str, optional
        Levels that get their own base models (default all; the bottom level always does). Nodes of other
        levels still get a bottom-up ``final`` forecast.
    progress : bool
        Show a tqdm bar.
    force : bool
        Refresh even when the data and parameters equal those of the current run.
    url : str, optional
        Database URL (default ``SALES_DB``).
    ensemble : bool
        With ``selection='series'``: also score the equal-weight ensemble of each series' best two models and
        select it when it wins.
    selection : {'combination', 'series'}
        ``combination`` (default): per hierarchy level, the equal-weight average of the subset of candidate
        models (or the single model) with the best backtest score pooled over the level's series
        (:mod:`models.combination`); with a metric that cannot be pooled (MASE) it falls back to ``series``.
        ``series``: per series, the model with the best mean backtest score.
    backtest_inputs : {'as_known', 'oracle'}
        The folds' exogenous inputs: as known at each origin (the plan, the calendar, climatology; default, used
        for selection, intervals and every accuracy shown) or the realised ones (for comparison).
    model_params : dict, optional
        ``{model: {hyperparameter: value}}`` overrides (e.g. small LightGBM settings in tests).
    sparse_models : str or list of str, optional
        Extra candidates of the series classed intermittent or lumpy (default Croston SBA and TSB; "" for none),
        chosen there by backtest RMSSE (:mod:`jobs.sparse`).
    run_id : str, optional
        The new run's id (default: :func:`new_run_id`); the API chooses it to return it before the run starts.
    engine : {'local', 'spark'}
        Where the model map runs: the process pool of ``jobs`` workers, or a Spark job on ``spark_master``
        (default ``SALES_SPARK_MASTER``, else ``local[*]``); the forecasts are the same.
    on_start : callable, optional
        Called with the checked parameters before anything is written (the CLI's audit entry): a refused refresh
        leaves the database as it was.

    Returns
    -------
    dict
        ``run_id, status`` (success, skipped, locked, failed), ``n_series, duration_s, data_hash, horizon,
        reconcile, metrics`` (mean backtest metrics per model), ``selected`` (counts per model) and more.
    """
    t0 = time.perf_counter()
    if not store.db_exists(url):
        raise ValueError(f"no sales data in {store.resolve_url(url)}: run `python cli.py demo` or "
                         "`python cli.py ingest` first")
    store.init_db(url)
    params = RefreshParams.from_cli(store.frequency(url), horizon=horizon, models=models, folds=folds, metric=metric,
                                    reconcile=reconcile, levels=levels, tune=tune, ensemble=ensemble,
                                    selection=selection, model_params=model_params,
                                    backtest_inputs=backtest_inputs, sparse_models=sparse_models, engine=engine,
                                    spark_master=spark_master)
    if on_start is not None:
        on_start(params)
    lock = RefreshLock(url=url)
    if not lock.acquire():
        holder = store.lock_info(lock.name, url=url) or {}
        return {"run_id": None, "status": "locked", "error": f"another refresh is running ({holder.get('owner')}, "
                f"since {holder.get('acquired_at')})", "duration_s": round(time.perf_counter() - t0, 2)}
    try:
        return _run_locked(params, jobs or config.load().jobs, progress, force, lock, t0, url, run_id)
    finally:
        lock.release()


def new_run_id() -> str:
    """A fresh run id: UTC timestamp and 6 random hex digits (sorts by start time)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def _run_locked(params: RefreshParams, jobs: int, progress: bool, force: bool, lock: RefreshLock, t0: float,
                url: str | None, run_id: str | None = None) -> dict:
    """Under the lock: mark abandoned runs (their artifacts removed), skip an unchanged refresh, else run the
    stages and publish."""
    abandon_runs(url)
    stored_params = params.to_dict()
    dhash = store.data_hash(url)
    cur = store.current_run(url)
    run_id = run_id or new_run_id()
    if not force and cur and cur["data_hash"] == dhash and cur["params"] == json.loads(json.dumps(stored_params)) \
            and not _plan_changed_since(cur, url):
        store.create_run(run_id, stored_params, dhash, code_version(), status="running", url=url)
        store.mark_failed(run_id, f"data and parameters unchanged since run {cur['run_id']}", status="skipped",
                          duration_s=time.perf_counter() - t0, url=url)
        return {"run_id": run_id, "status": "skipped", "current_run": cur["run_id"], "data_hash": dhash,
                "reason": "data and parameters unchanged since the current run (use --force to refresh)",
                "duration_s": round(time.perf_counter() - t0, 2)}
    store.create_run(run_id, stored_params, dhash, code_version(), url=url)
    prog = Progress(run_id, url, progress, lock)
    try:
        summary = _run_stages(run_id, params, jobs, prog, url)
    except KeyboardInterrupt:
        artifacts.discard_run(run_id)  # the models written while it ran
        store.mark_failed(run_id, "interrupted (Ctrl-C)", status="cancelled",
                          duration_s=time.perf_counter() - t0, url=url)
        raise
    except Exception as exc:  # noqa: BLE001 - any failure must mark the run and keep the old one current
        err = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc().splitlines(True)[-12:])
        artifacts.discard_run(run_id)
        store.mark_failed(run_id, err, status="failed", duration_s=time.perf_counter() - t0, url=url)
        return {"run_id": run_id, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                "data_hash": dhash, "duration_s": round(time.perf_counter() - t0, 2), **stored_params}
    finally:
        prog.close()
    duration = time.perf_counter() - t0
    summary.update(run_id=run_id, status="success", data_hash=dhash, duration_s=round(duration, 2), **stored_params)
    summary["pruned_runs"] = stages.publish(run_id, summary, duration, url)
    summary["mlflow"] = tracking.log_refresh(run_id, params, summary, url)  # never raises; None when off
    return summary


def _plan_changed_since(run: dict, url: str | None) -> bool:
    """Whether the plan changed after ``run`` started: forecasts read the plan, so an otherwise unchanged
    refresh must not be skipped then."""
    return not store.plan_changes(since=run.get("started_at"), url=url).empty


def _run_stages(run_id: str, params: RefreshParams, jobs: int, prog: Progress, url: str | None) -> dict:
    """Load, (tune,) backtest and fit, select, reconcile and write the run; returns its summary (not published)."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    inputs = stages.load(params, prog, url)
    timings["load_s"] = time.perf_counter() - t
    plan = stages.plan_models(params)
    model_params, trials = plan.model_params, None
    if params.tune and plan.glob:
        t = time.perf_counter()
        model_params, trials = stages.tune(params, inputs, plan, prog)
        timings["tune_s"] = time.perf_counter() - t
    t = time.perf_counter()
    # The map's inputs on disk while it runs (in the run's artifact directory, removed after the selection): each
    # task's frames, read by the worker that runs it, and the history the stages after the map read. The driver
    # drops the panel meanwhile; it holds the forecasts, and the candidates' backtests and residuals go to disk as
    # they arrive (the backtests are read back as one frame after the map, the residuals after the selection).
    with Spill(artifacts.run_dir(run_id)) as spill:
        work = stages.cut_tasks(params, inputs, plan, model_params, jobs, spill, prog)
        inputs, history = stages.set_aside(inputs, spill)
        release_memory()
        timings["cut_s"] = time.perf_counter() - t
        t = time.perf_counter()
        fitted = stages.backtest_and_fit(params, work, jobs, prog, run_id)
        del work
        release_memory()  # the results' parts and pickles, freed once they were joined
        inputs = stages.taken_back(inputs, history)
        timings["models_s"] = time.perf_counter() - t
        t = time.perf_counter()
        prog.stage(0.9, "selecting and reconciling")
        chosen = stages.select(params, inputs, fitted, plan.fallback)
        hier = stages.hierarchy(inputs)
        metrics = metric_summary(chosen.metrics, fitted.backtests, hier.bottom,
                                 chosen.combos.get(BOTTOM_LEVEL, {}).get("chosen"))
        fitted = stages.consumed(fitted)  # the candidates' forecasts, metrics and backtests can be freed
        release_memory()
        chosen = stages.with_residuals(chosen, fitted)  # reads the chosen models' residuals
    fitted = stages.consumed(fitted, residuals=True)
    release_memory()
    final = stages.reconcile(params, chosen, hier)
    timings["reconcile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    prog.stage(0.95, "writing the run")
    n_rows, artifact_dir = stages.write(run_id, params, chosen, final, hier, trials, model_params, fitted.saved, url,
                                         fitted.importance, fitted.saved_files)
    # Explore's demand classes, from the history kept after the map and the classes of the load
    sparse.save_tables(sparse.demand_tables(inputs.frames, params.freq, url, inputs.classes), url)
    timings["write_s"] = time.perf_counter() - t

    frames, sel, dates = inputs.frames, chosen.sel, inputs.dates
    n_agg = sum(len(f["series_id"].unique()) for lv, f in frames.items() if lv != BOTTOM_LEVEL)
    return {"n_series": int(len(hier.nodes)), "n_bottom": len(hier.bottom), "n_aggregate": int(n_agg),
            "n_modelled": int(sel["series_id"].nunique()),
            "metrics": metrics,
            "selected": {k: int(v) for k, v in sel["model"].value_counts().sort_index().items()},
            "combinations": chosen.combos,
            "errors": {"count": len(fitted.errors), "first": fitted.errors[:5]},
            "timings": {k: round(v, 2) for k, v in timings.items()}, "artifacts": artifact_dir,
            "forecast_start": str(dates[0].date()), "forecast_end": str(dates[-1].date()),
            "forecast_rows": n_rows, "backtest_inputs": params.backtest_inputs}
