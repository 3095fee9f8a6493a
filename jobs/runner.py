"""The forecast refresh: backtest -> select -> fit -> forecast -> reconcile -> write a new run -> publish it.

A run is written under a new ``run_id`` and made current in one transaction (``store.publish_run``), so
readers never see a half-written run; an exception or Ctrl-C marks the run failed/cancelled and the previous
run stays current. A lock (``models.scheduler.RefreshLock``) keeps two refreshes from running at once.

Stored forecasts (``forecasts.model``): ``final`` (the reconciled forecast) for every node; for aggregate
nodes also every candidate model's base forecast; for bottom series the chosen model's base forecast.
"""
from __future__ import annotations

import json
import subprocess
import time
import traceback
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

import config
from data import store
from jobs import refresh_inputs as ri
from jobs.executor import GlobalTask, SeriesTask, map_series, run_task

AGG_LEVELS = ("total", "region", "store", "category", "product", "store_category")
ALL_LEVELS = (*AGG_LEVELS, store.BOTTOM_LEVEL)
SUMMARY_METRICS = ("wape", "mase", "rmse", "smape", "coverage_80", "coverage_95")


def code_version() -> str:
    """``git rev-parse HEAD`` of this checkout, or "unknown"."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parents[1],
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown" if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def has_current_run(url: str | None = None) -> bool:
    """True when the store has a published forecast run (used by ``make run``)."""
    return store.db_exists(url) and store.current_run(url) is not None


def _as_list(value, default) -> list[str]:
    if value is None or value == "":
        return list(default)
    items = value.split(",") if isinstance(value, str) else list(value)
    return [v.strip() for v in items if v and v.strip()]


SELECTIONS = ("combination", "series")


def resolve_params(horizon=None, models=None, folds=3, metric="wape", reconcile="bottom_up", levels=None,
                   tune=False, ensemble=False, url=None, selection="combination") -> dict:
    """Validated refresh parameters (the part of a run that determines its results)."""
    from models import registry
    freq = store.frequency(url)
    names = _as_list(models, registry.DEFAULT_MODELS)
    for name in names:
        registry.model_class(name)
    lv = _as_list(levels, ALL_LEVELS)
    bad = [x for x in lv if x not in ALL_LEVELS]
    if bad:
        raise ValueError(f"unknown level(s) {bad}; choose from {list(ALL_LEVELS)}")
    if store.BOTTOM_LEVEL not in lv:
        lv.append(store.BOTTOM_LEVEL)  # reconciliation is built on the bottom series
    if reconcile not in ("bottom_up", "ols", "mint_shrink"):
        raise ValueError(f"unknown reconcile method {reconcile!r}; choose bottom_up, ols or mint_shrink")
    if reconcile != "bottom_up" and set(lv) != set(ALL_LEVELS):
        raise ValueError(f"{reconcile} combines the base forecasts of every level: drop --levels or use bottom_up")
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}; choose from {list(SELECTIONS)}")
    h = int(horizon or registry.default_horizon(freq))
    if h < 1 or folds < 1:
        raise ValueError(f"horizon and folds must be >= 1 (got {h}, {folds})")
    return {"freq": freq, "horizon": h, "models": names, "folds": int(folds), "metric": metric,
            "reconcile": reconcile, "levels": [x for x in ALL_LEVELS if x in lv], "tune": bool(tune),
            "ensemble": bool(ensemble), "selection": selection}


class _Progress:
    """tqdm bar in the terminal plus throttled ``runs.progress`` updates and lock heartbeats."""

    def __init__(self, run_id: str, url: str | None, show: bool, lock=None):
        self.run_id, self.url, self.show, self.lock = run_id, url, show, lock
        self.bar, self.last = None, 0.0

    def stage(self, fraction: float, message: str, force: bool = True) -> None:
        now = time.monotonic()
        if force or now - self.last > 1.0:
            self.last = now
            store.update_progress(self.run_id, fraction, message, url=self.url)
            if self.lock is not None:
                self.lock.heartbeat()

    def start_map(self, total: int, desc: str):
        if self.show:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit="series", leave=False)
        self.done, self.total = 0, total

    def tick(self, lo: float, hi: float, desc: str, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        self.stage(lo + (hi - lo) * self.done / max(self.total, 1), f"{desc}: {self.done}/{self.total} series",
                   force=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def refresh(horizon=None, models=None, jobs=None, tune=False, folds=3, metric="wape", reconcile="bottom_up",
            levels=None, progress=True, force=False, url=None, ensemble=False, model_params=None,
            selection="combination") -> dict:
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
        Tune the LightGBM hyperparameters first (trials are logged in ``tuning_trials``).
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
    model_params : dict, optional
        ``{model: {hyperparameter: value}}`` overrides (e.g. small LightGBM settings in tests).

    Returns
    -------
    dict
        ``run_id, status`` (success, skipped, locked, failed), ``n_series, duration_s, data_hash, horizon,
        reconcile, metrics`` (mean backtest metrics per model), ``selected`` (counts per model) and more.
    """
    from jobs.scheduler import RefreshLock
    t0 = time.perf_counter()
    if not store.db_exists(url):
        raise ValueError(f"no sales data in {store.resolve_url(url)}: run `python cli.py demo` or "
                         "`python cli.py ingest` first")
    store.init_db(url)
    params = resolve_params(horizon, models, folds, metric, reconcile, levels, tune, ensemble, url, selection)
    if model_params:
        params["model_params"] = model_params
    lock = RefreshLock(url=url)
    if not lock.acquire():
        holder = store.lock_info(lock.name, url=url) or {}
        return {"run_id": None, "status": "locked", "error": f"another refresh is running ({holder.get('owner')}, "
                f"since {holder.get('acquired_at')})", "duration_s": round(time.perf_counter() - t0, 2)}
    try:
        store.abandon_running_runs("abandoned: its refresh process ended without finishing (killed or crashed); "
                                   "the previous run stayed current", url=url)
        dhash = store.data_hash(url)
        cur = store.current_run(url)
        run_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        if not force and cur and cur["data_hash"] == dhash and cur["params"] == json.loads(json.dumps(params)):
            store.create_run(run_id, params, dhash, code_version(), status="running", url=url)
            store.mark_failed(run_id, f"data and parameters unchanged since run {cur['run_id']}", status="skipped",
                              duration_s=time.perf_counter() - t0, url=url)
            return {"run_id": run_id, "status": "skipped", "current_run": cur["run_id"], "data_hash": dhash,
                    "reason": "data and parameters unchanged since the current run (use --force to refresh)",
                    "duration_s": round(time.perf_counter() - t0, 2)}
        store.create_run(run_id, params, dhash, code_version(), url=url)
        prog = _Progress(run_id, url, progress, lock)
        try:
            summary = _pipeline(run_id, params, jobs or config.load().jobs, prog, url)
        except KeyboardInterrupt:
            store.mark_failed(run_id, "interrupted (Ctrl-C)", status="cancelled",
                              duration_s=time.perf_counter() - t0, url=url)
            raise
        except Exception as exc:  # noqa: BLE001 - any failure must mark the run and keep the old one current
            err = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc().splitlines(True)[-12:])
            store.mark_failed(run_id, err, status="failed", duration_s=time.perf_counter() - t0, url=url)
            return {"run_id": run_id, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                    "data_hash": dhash, "duration_s": round(time.perf_counter() - t0, 2), **params}
        finally:
            prog.close()
        duration = time.perf_counter() - t0
        summary.update(run_id=run_id, status="success", data_hash=dhash, duration_s=round(duration, 2), **params)
        store.publish_run(run_id, summary["n_series"], duration, {k: summary[k] for k in (
            "metrics", "selected", "n_bottom", "n_aggregate", "timings", "errors")}, url=url)
        summary["pruned_runs"] = store.prune_runs(keep=5, url=url)
        return summary
    finally:
        lock.release()


def _batches(ids: list[str], jobs: int, max_size: int = 40) -> list[list[str]]:
    """Split series into batches: about 4 per worker for load balance (one process: as large as allowed)."""
    n = max_size if jobs <= 1 else max(1, min(max_size, -(-len(ids) // (4 * jobs))))
    return [ids[i:i + n] for i in range(0, len(ids), n)]


def _local_tasks(frames, futures, params, local_models, model_params, jobs) -> list[SeriesTask]:
    """Batches of the bottom series (best model refitted) and of all aggregate nodes (every candidate refitted)."""
    tasks = []
    groups = {True: [store.BOTTOM_LEVEL], False: [lv for lv in frames if lv != store.BOTTOM_LEVEL]}
    for bottom, levels in groups.items():
        levels = [lv for lv in levels if lv in frames]
        if not levels:
            continue
        frame = pd.concat([frames[lv] for lv in levels], ignore_index=True)
        future = pd.concat([futures[lv] for lv in levels], ignore_index=True)
        for batch in _batches(sorted(frame["series_id"].unique()), jobs):
            tasks.append(SeriesTask(
                series_ids=tuple(batch), frame=frame[frame["series_id"].isin(batch)].reset_index(drop=True),
                future=future[future["series_id"].isin(batch)].reset_index(drop=True),
                models=tuple(local_models), freq=params["freq"], h=params["horizon"], folds=params["folds"],
                metric=params["metric"], n_final=_n_final(params, bottom),
                params=model_params, keep_models=not bottom))
    return tasks


def _n_final(params: dict, bottom: bool) -> int | None:
    """How many local models each series fits on its full history (None: all; combinations may need any)."""
    if not bottom or _combining(params):
        return None
    return 2 if params["ensemble"] else 1


def _combining(params: dict) -> bool:
    from models.combination import POINT_METRICS
    return params.get("selection", "combination") == "combination" and params["metric"] in POINT_METRICS


def _global_tasks(frames, futures, params, glob, model_params) -> list[GlobalTask]:
    """One task per global model and group: the bottom level, and all aggregate levels together.

    Pooling the ~aggregate levels into one global model (targets are scaled per series) costs one set of
    fits instead of six and gives the small levels (total: one series) more data to learn from. Each group is
    split into one task per backtest fold plus one for the final fit: the bottom group's fits are the longest
    work of a refresh, and run back to back in one task they would leave the other workers idle at the end.
    """
    groups = {store.BOTTOM_LEVEL: [store.BOTTOM_LEVEL], "aggregates": [lv for lv in frames if lv != store.BOTTOM_LEVEL]}
    tasks = []
    for name in glob:
        for group, levels in groups.items():
            levels = [lv for lv in levels if lv in frames]
            if not levels:
                continue
            frame = pd.concat([frames[lv] for lv in levels], ignore_index=True)
            future = pd.concat([futures[lv] for lv in levels], ignore_index=True)
            for part in range(params["folds"] + 1):  # 0 = the final fit (the largest), then folds 1..K
                tasks.append(GlobalTask(name=name, group=group, frame=frame, future=future, freq=params["freq"],
                                        h=params["horizon"], folds=params["folds"], params=model_params.get(name, {}),
                                        part=part))
    return tasks


def _pipeline(run_id: str, params: dict, jobs: int, prog: _Progress, url: str | None) -> dict:
    from models import registry, selection
    from models.reconcile import build_hierarchy, coherence_error, reconcile
    timings: dict[str, float] = {}
    t = time.perf_counter()
    freq, h = params["freq"], params["horizon"]
    prog.stage(0.01, "loading data")
    frames, end = ri.load_history(params["levels"], freq, url)
    bottom_nodes = store.nodes(level=store.BOTTOM_LEVEL, url=url)
    dates = pd.DatetimeIndex([end + ri.freq_step(freq) * (k + 1) for k in range(h)])
    sfut = ri.store_future(store.stores(url=url), dates, freq, config.load().country, url=url)
    futures = {lv: ri.node_future(sfut, bottom_nodes, lv) for lv in frames}
    timings["load_s"] = time.perf_counter() - t

    local = [m for m in params["models"] if not registry.model_class(m).is_global]
    glob = [m for m in params["models"] if registry.model_class(m).is_global]
    fallback = "seasonal_naive" if "seasonal_naive" in params["models"] else (local or params["models"])[0]
    # One thread per global-model fit: on a shared 2-core machine LightGBM's OpenMP threads spin against other
    # processes and were measured ~18x slower with 2 threads than with 1 (53 s vs 2.9 s for one small fit).
    model_params: dict = {name: {"num_threads": 1} for name in glob}
    for name, overrides in (params.get("model_params") or {}).items():
        model_params.setdefault(name, {}).update(overrides)
    trials = None
    if params["tune"] and glob:
        t = time.perf_counter()
        prog.stage(0.03, f"tuning {glob[0]}")
        from models import tuning
        if glob[0] != "lgbm":
            raise ValueError(f"--tune searches LightGBM hyperparameters; include lgbm in --models (got {glob})")
        best, trials = tuning.tune_lgbm(frames[store.BOTTOM_LEVEL], freq=freq, h=h, metric=params["metric"],
                                        base_params=dict(model_params[glob[0]]))
        model_params[glob[0]].update(best)
        trials = trials[["trial", "params", "score"]]
        timings["tune_s"] = time.perf_counter() - t

    t = time.perf_counter()
    # Global-model groups first: they are the longest tasks, so the pool starts them while batches fill in.
    tasks = _global_tasks(frames, futures, params, glob, model_params)
    tasks += _local_tasks(frames, futures, params, local, model_params, jobs) if local else []
    n_work = sum(len(t.series_ids) if isinstance(t, SeriesTask) else t.frame["series_id"].nunique() for t in tasks)
    prog.stage(0.05, f"backtesting and fitting: {len(tasks)} tasks, {n_work} series-models")
    prog.start_map(n_work, "backtests and fits")
    results = map_series(run_task, tasks, jobs=jobs, chunksize=1,
                         on_result=lambda r: prog.tick(0.05, 0.9, "backtests and fits", len(r.series_ids)))
    prog.close()
    timings["models_s"] = time.perf_counter() - t

    metric_parts = [r.metrics for r in results if not r.metrics.empty]
    fc_parts = [r.forecasts for r in results if not r.forecasts.empty]
    resid_parts = [r.residuals for r in results if not r.residuals.empty]
    diag_rows = [d for r in results for d in r.diagnostics]
    errors = [e for r in results for e in r.errors]
    level_of = {sid: lv for lv, f in frames.items() for sid in f["series_id"].unique()}
    saved: dict = {}
    for task, r in zip(tasks, results):
        if isinstance(task, GlobalTask):
            saved.update(r.models)
        elif r.models:
            group = "store_product" if level_of[r.series_ids[0]] == store.BOTTOM_LEVEL else "aggregates"
            saved.setdefault(f"local__{group}", []).append(r.models)
    if not fc_parts:
        raise ValueError("every model failed on every series: " + "; ".join(errors[:3]))

    t = time.perf_counter()
    prog.stage(0.9, "selecting and reconciling")
    metrics = pd.concat(metric_parts, ignore_index=True) if metric_parts else pd.DataFrame(
        columns=["series_id", "model", "fold", params["metric"]])
    cands = pd.concat(fc_parts, ignore_index=True)
    if not metrics.empty:  # a model whose final fit failed cannot be chosen, whatever its backtest said
        metrics = metrics.merge(cands[["series_id", "model"]].drop_duplicates(), on=["series_id", "model"])
    combos: dict = {}
    bt_parts = [r.backtests for r in results if len(r.backtests)]
    backtests = pd.concat(bt_parts, ignore_index=True) if bt_parts else None
    if _combining(params) and not metrics.empty and backtests is not None:
        metrics, cands, sel, combos = _combine(metrics, cands, backtests, params, fallback, frames)
        combo_resid, combo_diag = _combination_residuals(resid_parts, sel)
        resid_parts, diag_rows = resid_parts + [combo_resid], diag_rows + combo_diag
    else:
        if params["ensemble"] and not metrics.empty:
            metrics, cands = _add_ensemble(metrics, cands, params["metric"], frames)
        sel = _select(metrics, cands, params["metric"], fallback, selection)
    chosen = cands.merge(sel[["series_id", "model"]], on=["series_id", "model"], how="inner")
    hier = build_hierarchy(bottom_nodes)
    residuals = None
    if params["reconcile"] == "mint_shrink":
        residuals = pd.concat(resid_parts, ignore_index=True).merge(sel[["series_id", "model"]],
                                                                   on=["series_id", "model"])
    final = reconcile(chosen, hier, params["reconcile"], residuals=residuals)
    gap = coherence_error(final, hier)
    scale = max(float(final["yhat"].abs().max()), 1.0)
    if gap > 1e-6 * scale:
        raise ValueError(f"reconciled forecasts are not coherent (largest gap {gap:.3g})")
    timings["reconcile_s"] = time.perf_counter() - t

    t = time.perf_counter()
    prog.stage(0.95, "writing the run")
    bottom_ids = set(hier.bottom)
    stored = pd.concat([final.assign(model="final"),
                        cands[~cands["series_id"].isin(bottom_ids)],
                        chosen[chosen["series_id"].isin(bottom_ids)]], ignore_index=True)
    stored = stored.drop_duplicates(["series_id", "model", "ds"])
    diag = _diagnostics_frame(diag_rows, resid_parts, sel)
    with store.session_scope(url=url) as s:
        store.write_run_results(s, run_id, forecasts=stored, metrics=metrics, selections=sel, diagnostics=diag,
                                trials=trials)
    from jobs import artifacts
    artifact_dir = artifacts.save_run(run_id, params, sel, metrics, model_params, saved)
    timings["write_s"] = time.perf_counter() - t

    n_agg = sum(len(f["series_id"].unique()) for lv, f in frames.items() if lv != store.BOTTOM_LEVEL)
    return {"n_series": int(len(hier.nodes)), "n_bottom": len(hier.bottom), "n_aggregate": int(n_agg),
            "n_modelled": int(sel["series_id"].nunique()), "metrics": _metric_summary(metrics, backtests, hier.bottom,
                                                                 combos.get(store.BOTTOM_LEVEL, {}).get("chosen")),
            "selected": {k: int(v) for k, v in sel["model"].value_counts().sort_index().items()},
            "combinations": combos,
            "errors": {"count": len(errors), "first": errors[:5]},
            "timings": {k: round(v, 2) for k, v in timings.items()}, "artifacts": str(artifact_dir),
            "forecast_start": str(dates[0].date()), "forecast_end": str(dates[-1].date()),
            "forecast_rows": int(len(stored))}


def _combine(metrics, cands, backtests, params, fallback, frames):
    """Per level, the best equal-weight combination of the candidates on pooled backtest error; every series
    of the level gets it (series without all members' forecasts average the members they have, and a
    series with none of them gets the fallback). Returns metrics and candidates with the combinations
    added, the selection and ``{level: {"chosen", "scores"}}`` for the run summary."""
    from models import combination
    from models.base import DEFAULT_SEASON
    metric = params["metric"]
    m = DEFAULT_SEASON[params["freq"]]
    sel_parts, met_parts, fc_parts, summary = [], [metrics], [cands], {}
    for level, frame in frames.items():
        ids = frame["series_id"].unique()
        bt = backtests[backtests["series_id"].isin(ids)]
        members, scores = combination.choose(bt, params["models"], fallback, metric)
        name = combination.name_of(members)
        summary[level] = {"chosen": name, "scores": {r["model"]: (round(float(r["score"]), 5)
                          if np.isfinite(r["score"]) else None) for _, r in scores.iterrows()}}
        level_fc = cands[cands["series_id"].isin(ids)]
        if len(members) > 1:
            fc_parts.append(combination.average(level_fc, members, name))
            met_parts.append(combination.combination_metrics(bt, members, frame, m))
        scored = met_parts[-1] if len(members) > 1 else metrics
        per_series = scored[scored["model"] == name].groupby("series_id")[metric].mean()
        got = sorted(set(level_fc.loc[level_fc["model"].isin(members), "series_id"]))
        sel_parts += [{"series_id": sid, "model": name, "metric": metric, "score": float(per_series.get(sid, np.nan))}
                      for sid in got]  # the others get the fallback in _complete_selection
    metrics = pd.concat([p for p in met_parts if len(p)], ignore_index=True)
    cands = pd.concat(fc_parts, ignore_index=True)
    sel = _complete_selection(pd.DataFrame(sel_parts, columns=["series_id", "model", "metric", "score"]), cands,
                              metric, fallback)
    return metrics, cands, sel, summary


def _combination_residuals(resid_parts, sel) -> tuple[pd.DataFrame, list[dict]]:
    """In-sample residuals and diagnostics of the chosen combinations (for the dashboard and MinT).

    The residual of an average of fits is the average of the members' residuals, taken on the dates where
    every member has one.
    """
    from models import combination
    from models.diagnostics import residual_diagnostics
    empty = pd.DataFrame(columns=["series_id", "ds", "model", "resid"])
    combos = sel[sel["model"].str.contains(combination.SEP, regex=False)]
    if combos.empty or not resid_parts:
        return empty, []
    resid = pd.concat(resid_parts, ignore_index=True)
    parts, diags = [], []
    for name, chosen in combos.groupby("model"):
        members = combination.members_of(name)
        part = resid[resid["series_id"].isin(chosen["series_id"]) & resid["model"].isin(members)]
        complete = part.groupby(["series_id", "ds"])["model"].transform("nunique") == len(members)
        avg = part[complete].groupby(["series_id", "ds"], as_index=False)["resid"].mean().assign(model=name)
        parts.append(avg)
        for sid, g in avg.groupby("series_id", sort=True):
            diags.append({"series_id": sid, "model": name, **residual_diagnostics(g["resid"].to_numpy())})
    return (pd.concat(parts, ignore_index=True) if parts else empty), diags


def _add_ensemble(metrics, cands, metric, frames):
    """Score the best-two ensemble on the backtest folds and add its forecasts (needs the backtest forecasts)."""
    from models import selection
    pairs = selection.ensemble_best_two(metrics, metric)
    if pairs.empty:
        return metrics, cands
    ens = selection.combine_forecasts(cands, pairs)
    # The ensemble's backtest score: mean of the two models' fold scores is an upper bound for WAPE/MAE-type
    # metrics (triangle inequality), so it is used as a conservative score.
    m = metrics.merge(pairs[["series_id", "model_1", "model_2"]], on="series_id")
    m = m[(m["model"] == m["model_1"]) | (m["model"] == m["model_2"])]
    num = [c for c in metrics.columns if c not in ("series_id", "model", "fold")]
    em = m.groupby(["series_id", "fold"], as_index=False)[num].mean().assign(model="ensemble")
    return pd.concat([metrics, em[metrics.columns]], ignore_index=True), pd.concat([cands, ens], ignore_index=True)


def _select(metrics, cands, metric, fallback, selection) -> pd.DataFrame:
    """Best model per series; series without a usable score or forecast fall back (seasonal naive)."""
    sel = selection.select_best(metrics, metric=metric, fallback=fallback) if not metrics.empty else \
        pd.DataFrame(columns=["series_id", "model", "metric", "score"])
    return _complete_selection(sel, cands, metric, fallback)


def _complete_selection(sel, cands, metric, fallback) -> pd.DataFrame:
    """Keep the choices that have a forecast; every other series with a forecast gets the fallback (or, when
    the fallback failed there too, its alphabetically first model)."""
    have = cands[["series_id", "model"]].drop_duplicates()
    ok = sel.merge(have, on=["series_id", "model"], how="inner")
    missing = sorted(set(have["series_id"]) - set(ok["series_id"]))
    rows = []
    for sid in missing:
        options = have.loc[have["series_id"] == sid, "model"].tolist()
        rows.append({"series_id": sid, "model": fallback if fallback in options else sorted(options)[0],
                     "metric": metric, "score": np.nan})
    return pd.concat([ok, pd.DataFrame(rows, columns=ok.columns)], ignore_index=True).sort_values(
        "series_id").reset_index(drop=True)


def _diagnostics_frame(diag_rows, resid_parts, sel) -> pd.DataFrame:
    """Diagnostics of each series' chosen model, with its residuals (for the histogram)."""
    cols = ["series_id", "model", "ljung_box_p", "bias", "resid_std", "acf", "residuals"]
    if not diag_rows:
        return pd.DataFrame(columns=cols)
    d = pd.DataFrame(diag_rows).merge(sel[["series_id", "model"]], on=["series_id", "model"])
    if resid_parts:
        r = pd.concat(resid_parts, ignore_index=True).merge(sel[["series_id", "model"]], on=["series_id", "model"])
        lists = r.groupby(["series_id", "model"])["resid"].agg(lambda s: [round(float(v), 4) for v in s])
        d = d.merge(lists.rename("residuals").reset_index(), on=["series_id", "model"], how="left")
    else:
        d["residuals"] = None
    return d[[c for c in cols if c in d.columns]]


def _metric_summary(metrics: pd.DataFrame, backtests: pd.DataFrame | None = None, bottom_ids=(),
                    bottom_choice: str | None = None) -> dict:
    """Backtest accuracy per model: means over series and folds, except ``wape``.

    ``wape`` is pooled over the bottom series and folds (sum |error| / sum |actual|), the business number and
    the one selection uses: a mean of per-series WAPEs is dominated by tiny series (a 2-unit series missed
    by 4 scores 200%) and ranked the seasonal naive first on Walmart. Combinations chosen only above the
    bottom level have no pooled bottom WAPE (``None``); their level scores are in the summary's
    ``combinations``.
    """
    if metrics.empty:
        return {}
    cols = [c for c in SUMMARY_METRICS if c in metrics.columns]
    agg = metrics.groupby("model")[cols].mean()
    n = metrics.groupby("model")["series_id"].nunique()
    out = {m: {"n_series": int(n[m]), **{c: (None if pd.isna(v) else round(float(v), 4)) for c, v in row.items()}}
           for m, row in agg.iterrows()}
    if backtests is None or backtests.empty or "wape" not in cols:
        return out
    from models import combination
    bt = backtests[backtests["series_id"].isin(set(bottom_ids))]
    pooled = {m: combination.pooled_score(g, "wape") for m, g in bt.groupby("model")}
    if bottom_choice and combination.SEP in bottom_choice:
        members = combination.members_of(bottom_choice)
        pooled[bottom_choice] = combination.pooled_score(
            combination.average(bt, members, keys=("series_id", "fold", "ds")), "wape")
    for m in out:
        value = pooled.get(m)
        out[m]["wape"] = None if value is None or not np.isfinite(value) else round(float(value), 4)
    return out


def format_summary(summary: dict) -> str:
    """A short human-readable report of a refresh summary."""
    status = summary.get("status")
    if status == "skipped":
        return f"Refresh skipped: {summary.get('reason')} (current run {summary.get('current_run')})."
    if status == "locked":
        return f"Refresh not started: {summary.get('error')}."
    if status == "failed":
        return f"Refresh FAILED (run {summary.get('run_id')}): {summary.get('error')}\nThe previous run stays current."
    lines = [f"Run {summary['run_id']}: {status} in {summary['duration_s']:.1f} s — {summary['n_series']} nodes "
             f"({summary['n_bottom']} bottom series), horizon {summary['horizon']} ({summary['freq']}), "
             f"{summary['forecast_start']} .. {summary['forecast_end']}, reconciliation {summary['reconcile']}",
             f"{'model':<16}{'series':>8}{'selected':>10}" + "".join(f"{c:>13}" for c in SUMMARY_METRICS)]
    for model, row in summary.get("metrics", {}).items():
        lines.append(f"{model:<16}{row['n_series']:>8}{summary['selected'].get(model, 0):>10}" + "".join(
            f"{'-' if row.get(c) is None else format(row[c], '.3f'):>13}" for c in SUMMARY_METRICS))
    t = summary.get("timings", {})
    lines.append("timings: " + ", ".join(f"{k[:-2]} {v:.1f}s" for k, v in t.items()))
    if summary.get("errors", {}).get("count"):
        lines.append(f"{summary['errors']['count']} model fits failed and fell back, e.g. "
                     f"{summary['errors']['first'][0]}")
    return "\n".join(lines)
