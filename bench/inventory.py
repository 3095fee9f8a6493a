"""Inventory replay benchmark: stocking policies re-planned every review period on the forecasting holdout.

    python bench/inventory.py --dataset walmart|demo [--json] [--db PATH] [--limit N] [--target 0.95]

Walmart: holdout 2012-02-03..2012-10-26 (train through 2012-01-27), weekly review, lead time 1 week; demo:
the last 42 days of the default demo (seed 42), daily review, lead time 3 days. Lost sales; negative
sales (returns) count as zero demand. At every review origin each policy orders up to its level ``S_t``
computed only from data before that origin (``decisions.replay.rolling_forecasts`` hands the forecaster the
history before the origin; ``peeking_audit`` checks one origin per model):

* ``ours``: the product's strongest affordable model - seasonal_ses on Walmart (the most accurate there,
  refitted at every origin in about 1.5 s), lgbm on the demo with the inputs a refresh gives it (the history
  read as a refresh reads it; over the horizon the plan's promotions, depths, prices and closures, the
  calendar and the weather's climatology, as known the day before: :func:`known_inputs`; refitted weekly,
  re-planned daily from the latest fit) - and the normalised conformal quantile of its own past
  out-of-sample errors of the lead-time + review sum (:func:`decisions.demand.conformal_window`);
* ``naive``: the same policy with seasonal-naive forecasts and their errors, its safety stock times a factor
  tuned so that its achieved CSL matches ``ours``'s;
* ``rule``: order up to N weeks of the average sales of the last 4 weeks, N tuned the same way;
* ``perfect``: perfect foresight (orders exactly the demand of its cycle): the cycle-stock floor.

The JSON's ``job_method`` (every other field as before) replays what ``python cli.py inventory`` and the
Inventory page use: ``ours_fitted``, the same ``ours`` forecasts turned into order-up-to levels by the job's
own ``decisions.inventory.recommend`` (interval sds widened by the past intervals' coverage, residual ACF,
:func:`decisions.demand.fitted_window`), with its achieved CSL, the uncalibrated variant and its curve.

Every policy starts from the same state: the orders placed before the holdout deliver exactly the demand of
the first lead time. Error histories start 26 weekly / 28 daily origins before the holdout; whether errors are
scaled absolutely or relative to the forecast is chosen per model by the pinball loss on those warm-up
origins (:func:`choose_scaling`), never on the holdout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
from decisions.demand import WindowDemand, conformal_window, coverage_factor  # noqa: E402
from decisions.inventory import recommend  # noqa: E402
from decisions.replay import (excess_ratio_interval, match_service, peeking_audit, policy_metrics,  # noqa: E402
                              rolling_forecasts, series_inventory, simulate)
from jobs.executor import RESID_KEEP  # noqa: E402
from jobs.inventory_job import forecast_matrices  # noqa: E402
from models.diagnostics import residual_diagnostics  # noqa: E402
from models.naive import SeasonalNaive  # noqa: E402
from models.ses import SeasonalSES  # noqa: E402

SETUPS = {"walmart": {"freq": "W", "lead": 1, "review": 1, "holdout": 39, "warmup": 26, "period_days": 7,
                      "memory": 26},
          "demo": {"freq": "D", "lead": 3, "review": 1, "holdout": 42, "warmup": 28, "period_days": 1,
                   "memory": 56}}
CURVE_TARGETS = (0.80, 0.85, 0.90, 0.95, 0.97, 0.99)
RULE_AVG_DAYS = 28
OURS_MODEL = {"walmart": "ses", "demo": "lgbm"}
LGBM_REFIT_DAYS = 7
LGBM_TRAIN_DAYS = 730
INTERVAL_COLS = ["yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
# The inputs of the demo's lgbm, as a refresh builds them: the history's realised values, and over the horizon
# what is known the day before (``jobs.plan_inputs.known_inputs``: the plan's promotion, depth, price and
# open flag, the calendar's holidays and closures, the weather's climatology: no weather oracle).
EXOG = ["promo", "promo_intensity", "price", "is_open", "is_holiday", "temp_c", "precip_mm"]


def load(dataset: str, db: str | None) -> tuple[pd.DataFrame, str | None]:
    """The long frame ``series_id, ds, y`` (+ inputs) on a regular grid (gaps are zero sales) and the store
    database's URL (None for the Walmart files). A store database (the demo) is read as a refresh reads it
    (:func:`plan_history`)."""
    from bench.accuracy import WALMART_TEST_END, load_walmart, prepare_walmart
    if dataset == "walmart" and not db:
        path = config.load().datasets_dir / "walmart"
        if not (path / "train.csv.gz").exists():
            raise FileNotFoundError(f"the Walmart files are not in {path}: set SALES_DATASETS")
        _, full, _ = prepare_walmart(load_walmart(path))
        full = full[full["ds"] <= WALMART_TEST_END]
        return full[["series_id", "ds", "y", "promo", "is_holiday", "temp_c"]].reset_index(drop=True), None
    if not db:
        from data import demo
        db = f"sqlite:///{tempfile.mkdtemp(prefix='bench-inv-')}/demo.db"
        demo.generate(seed=42, url=db, progress=False)
    url = db if "://" in db else f"sqlite:///{Path(db).resolve()}"
    return plan_history(url, SETUPS[dataset]["holdout"]), url


def plan_history(url: str, holdout: int) -> pd.DataFrame:
    """The bottom series of a store database as a refresh reads them (``jobs.refresh_inputs.load_history`` and
    ``jobs.plan_inputs.history_plan_columns``: :data:`EXOG` and the hierarchy columns), only the series with
    sales history on the last day before the holdout."""
    from data import store
    from domain import BOTTOM_LEVEL
    from jobs import plan_inputs as pi
    from jobs import refresh_inputs as ri
    freq = store.frequency(url)
    frames, end = ri.load_history([BOTTOM_LEVEL], freq, url)
    df = pi.history_plan_columns(frames, store.nodes(level=BOTTOM_LEVEL, url=url), url)[BOTTOM_LEVEL]
    cutoff = end - pd.Timedelta(days=1 if freq == "D" else 7) * holdout
    return df[df["series_id"].isin(set(df.loc[df["ds"] == cutoff, "series_id"]))].reset_index(drop=True)


def known_inputs(url: str, exog: pd.DataFrame):
    """``known(days) -> series_id, ds + EXOG`` for the series of ``exog``: what a refresh on the day before
    ``days[0]`` gives its models for ``days`` (``jobs.plan_inputs.known_inputs`` with ``stored_weather=False``:
    the plan read from the database, the regular price from the history before ``days[0]``, weather by
    climatology)."""
    from data import store
    from domain import BOTTOM_LEVEL
    from jobs import plan_inputs as pi
    nodes = store.nodes(level=BOTTOM_LEVEL, url=url)
    ids = set(exog["series_id"])
    nodes = nodes[store.node_keys(BOTTOM_LEVEL, nodes.astype({"store_id": str, "product_id": str})).isin(ids)
                  .to_numpy()]
    country = config.load().country

    def known(days: pd.DatetimeIndex) -> pd.DataFrame:
        hist = exog[exog["ds"] < days[0]]
        x = pi.known_inputs(days, [BOTTOM_LEVEL], nodes, hist, "D", country, url, stored_weather=False)
        return x[BOTTOM_LEVEL]
    return known


def residual_acf(model, lags: int) -> pd.DataFrame:
    """Per series, autocorrelations 1..``lags`` of the fitted model's in-sample residuals, computed exactly as a
    refresh stores them in the diagnostics the job reads (last ``RESID_KEEP`` residuals; 0 where unknown)."""
    fv = model.fitted_values().dropna(subset=["yhat"])
    fv = fv.assign(resid=fv["y"] - fv["yhat"])
    rows = {}
    for sid, g in fv.groupby("series_id", sort=True):
        acf = residual_diagnostics(g["resid"].tail(RESID_KEEP).to_numpy())["acf"][:lags]
        rows[sid] = list(acf) + [0.0] * (lags - len(acf))
    return pd.DataFrame.from_dict(rows, orient="index", columns=[f"acf_{k}" for k in range(1, lags + 1)])


def with_intervals(fc: pd.DataFrame, model, acf_lags: int) -> pd.DataFrame:
    """The forecast with its interval columns and the residual ACF of its model (what the job reads)."""
    acf = residual_acf(model, acf_lags)
    out = fc[["series_id", "ds", "yhat", *INTERVAL_COLS]]
    return out.join(acf, on="series_id").fillna({c: 0.0 for c in acf.columns})


def model_forecaster(kind: str, freq: str, exog: pd.DataFrame | None = None, anchor=None,
                     refit_days: int = LGBM_REFIT_DAYS, acf_lags: int = 1, known=None):
    """``forecaster(history, origin, h)``: fit on the history it is handed, forecast h periods.

    ``lgbm`` (the demo's ``ours``) is refitted once a week (at ``anchor`` + 7k) on the history before that
    day and re-planned daily from that fit: at origin ``o`` it uses steps ``o - fit day + 1 ..`` of the
    weekly fit, so it only ever saw data before ``o``. As in a refresh, it trains on the history's ``y`` with
    the other columns of ``exog`` (:data:`EXOG`, hierarchy), forecasts from ``known(days)`` (see
    :func:`known_inputs`) and forecasts 0 on closed days (``models.backtest.zero_closed``).

    Besides ``yhat`` the forecast carries the 80/95% intervals (lgbm's split-conformal ones, as in a refresh)
    and ``acf_1..acf_<acf_lags>``, the fit's residual autocorrelations: the inputs of the job's fitted method
    (``ours_fitted``). They do not change ``yhat``: lgbm's calibration model is separate from the one that
    forecasts."""
    cache: dict = {}

    def lgbm(history: pd.DataFrame, origin, h: int) -> pd.DataFrame:
        from models.backtest import zero_closed
        from models.gbm import LGBMForecaster
        fit_day = origin - pd.Timedelta(days=(origin - anchor).days % refit_days)
        if fit_day not in cache:
            train = history[(history["ds"] < fit_day) & (history["ds"] >= fit_day - pd.Timedelta(days=LGBM_TRAIN_DAYS))]
            train = train[["series_id", "ds", "y"]].merge(exog, on=["series_id", "ds"], how="left")
            horizon = refit_days + h - 1
            model = LGBMForecaster(freq="D", horizon=horizon, conformal=True, n_estimators=100,
                                   num_threads=1).fit(train)
            xf = known(pd.date_range(fit_day, periods=horizon, freq="D"))
            xf = xf[xf["series_id"].isin(set(train["series_id"]))]
            fc = zero_closed(model.predict(horizon, xf), xf)
            cache[fit_day] = with_intervals(fc, model, acf_lags)
        fc = cache[fit_day]
        return fc.loc[(fc["ds"] >= origin) & (fc["ds"] < origin + pd.Timedelta(days=h))].reset_index(drop=True)

    def local(history: pd.DataFrame, origin, h: int) -> pd.DataFrame:
        model = SeasonalSES(freq=freq) if kind == "ses" else SeasonalNaive(freq=freq)
        fc = model.fit(history[["series_id", "ds", "y"]]).predict(h)
        return with_intervals(fc, model, acf_lags) if kind == "ses" else fc[["series_id", "ds", "yhat"]]
    return lgbm if kind == "lgbm" else local


def window_sums(fcs: dict, ids: pd.Index, origins: pd.DatetimeIndex) -> np.ndarray:
    """Forecast sums over each origin's window (series x origins; NaN for a series not yet started)."""
    out = np.full((len(ids), len(origins)), np.nan)
    for j, origin in enumerate(origins):
        s = fcs[origin].assign(yhat=lambda f: f["yhat"].clip(lower=0)).groupby("series_id")["yhat"].sum()
        out[:, j] = s.reindex(ids).to_numpy()
    return out


def interval_hits(fcs: dict, origins, actual: pd.DataFrame) -> np.ndarray:
    """Per origin, (actuals inside the forecast's 95% interval, actuals known) over its forecast days;
    ``actual`` is the demand as series x dates."""
    stacked = actual.stack().rename("actual")
    out = np.zeros((len(origins), 2))
    for j, origin in enumerate(origins):
        fc = fcs[origin].join(stacked, on=["series_id", "ds"]).dropna(subset=["actual"])
        inside = (fc["actual"] >= fc["yhat_lo_95"]) & (fc["actual"] <= fc["yhat_hi_95"])
        out[j] = inside.sum(), len(fc)
    return out


def past_coverage(hits: np.ndarray, P: int, first: int, memory: int) -> np.ndarray:
    """For origins ``first..``: the pooled 95% interval coverage of the forecasts at earlier origins whose
    windows have ended (``k + P <= j``, the last ``memory``): the replay's stand-in for the run's backtest
    coverage that the job reads."""
    out = np.full(len(hits) - first, np.nan)
    for j in range(first, len(hits)):
        part = hits[max(0, j - P - memory + 1):j - P + 1]
        out[j - first] = part[:, 0].sum() / part[:, 1].sum() if part[:, 1].sum() else np.nan
    return out


def fitted_levels(fcs: dict, ids: pd.Index, origins, lead: int, review: int, period_days: float,
                  targets, coverage=None) -> dict:
    """``{target: series x origins}`` order-up-to levels built exactly as ``python cli.py inventory`` builds
    today's (``decisions.inventory.recommend``: per-step sds from each forecast's 95% interval via the job's
    ``forecast_matrices``, the fit's residual ACF, :func:`decisions.demand.fitted_window`, negative binomial
    below 30 units), with each origin's forecast standing in for the current run's. ``recommend`` sets the
    level at ``targets[0]``; the other targets are quantiles of the same window distribution (what
    ``recommend`` returns for them). ``coverage`` (per origin, default unknown) widens the sds by
    :func:`decisions.demand.coverage_factor` as the job does with the run's backtest coverage."""
    out = {q: np.zeros((len(ids), len(origins))) for q in targets}
    params = pd.DataFrame({"series_id": ids, "store_id": ids, "product_id": "", "on_hand": 0.0,
                           "lead_time_days": lead * period_days, "lead_time_sd_days": 0.0,
                           "review_period_days": review * period_days, "target_csl": targets[0]})
    for j, origin in enumerate(origins):
        fc = fcs[origin]
        yhat, sigma = forecast_matrices(fc, ids)
        sigma = sigma * (1.0 if coverage is None else coverage_factor(coverage[j]))
        acf_cols = [c for c in fc.columns if c.startswith("acf_")]
        acf = fc.groupby("series_id")[acf_cols].first().reindex(ids).fillna(0.0).to_numpy(dtype=float)
        rec = recommend(params, yhat, sigma, acf, period_days, "periodic", targets[0])
        out[targets[0]][:, j] = rec["order_up_to"].to_numpy()
        dist = WindowDemand(rec["demand_mean"].to_numpy(), rec["demand_sd"].to_numpy())
        for q in targets[1:]:
            out[q][:, j] = dist.quantile(q)
    return out


def conformal_levels(F: np.ndarray, A: np.ndarray, P: int, first: int, memory: int, targets,
                     relative: bool = False, last: int | None = None) -> dict:
    """``{target: (series x origins first..last-1) order-up-to levels}``; origin j uses only errors of
    origins k with ``k + P <= j`` (their windows have ended) among the last ``memory``."""
    last = F.shape[1] if last is None else last
    out = {q: np.zeros((F.shape[0], last - first)) for q in targets}
    for j in range(first, last):
        lo = max(0, j - P - memory + 1)
        qs = conformal_window(F[:, j], F[:, lo:j - P + 1], A[:, lo:j - P + 1], targets, relative=relative)
        for q in targets:
            out[q][:, j - first] = qs[q]
    return out


def choose_scaling(F: np.ndarray, A: np.ndarray, P: int, W: int, memory: int, target: float) -> tuple[bool, dict]:
    """Absolute or relative (to the forecast) error scaling, whichever has the lower pinball loss at the
    target on the warm-up origins whose windows end before the holdout (no holdout data is used)."""
    first, last = W // 2, W - P + 1
    losses = {}
    for relative in (False, True):
        level = conformal_levels(F, A, P, first, memory, [target], relative, last)[target]
        diff = A[:, first:last] - level
        pinball = np.maximum(target * diff, (target - 1) * diff)
        losses["relative" if relative else "absolute"] = float(np.nanmean(pinball))
    return losses["relative"] < losses["absolute"], losses


def fitted_report(fitted: dict, forecast: np.ndarray, run, target: float, ours_csl: float, floor: float,
                  ours_excess: float) -> dict:
    """The JSON's ``job_method``: the replayed metrics of ``ours_fitted`` (the job's method on ``ours``'s
    forecasts) at the target and over the curve, and the factor on its safety stock that would reach the
    target (``factor_to_reach_target``, 1 = as computed) or ``ours``'s achieved CSL (then its excess
    inventory over ``ours``'s: the two methods compared at equal service)."""
    def scaled(k):
        base = np.nan_to_num(forecast)
        return np.maximum(base + k * (fitted[target] - base), 0)

    def csl(S):
        return run(S)["achieved_csl"]

    m = run(fitted[target])
    row = {"name": "ours_fitted", **m, "excess_inventory_units": m["avg_inventory_units"] - floor}
    k_target = match_service(scaled, csl, target, 0.0, 6.0)
    k_ours = match_service(scaled, csl, ours_csl, 0.0, 6.0)
    matched = run(scaled(k_ours))
    curve = [{"policy": "ours_fitted", "target_csl": q, "achieved_csl": round(r["achieved_csl"], 4),
              "avg_inventory_units": round(r["avg_inventory_units"], 2)}
             for q, r in ((q, run(fitted[q])) for q in CURVE_TARGETS)]
    excess_matched = matched["avg_inventory_units"] - floor
    return {"method": "fitted_window (95% interval sds + residual ACF; negative binomial below 30 units), as in "
                      "`python cli.py inventory`",
            "policy": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()},
            "csl_gap_to_target": round(m["achieved_csl"] - target, 4),
            "factor_to_reach_target": round(k_target, 4), "factor_to_match_ours": round(k_ours, 4),
            "excess_ratio_vs_ours_at_equal_service": round(excess_matched / ours_excess, 4) if ours_excess > 0
            else None, "tradeoff": curve}


def replay(dataset: str, db: str | None = None, limit: int | None = None, target: float = 0.95,
           refit_days: int = LGBM_REFIT_DAYS) -> dict:
    """Run the benchmark; returns the JSON-ready result.

    Long because it is the benchmark's script: load, forecast at every origin, calibrate, simulate and tune
    each policy, then the trade-off curve, in order.
    """
    setup = SETUPS[dataset]
    L, R, P, pdays = setup["lead"], setup["review"], setup["lead"] + setup["review"], setup["period_days"]
    t0 = time.perf_counter()
    long, url = load(dataset, db)
    if limit:
        keep = sorted(long["series_id"].unique())[:limit]
        long = long[long["series_id"].isin(keep)].reset_index(drop=True)
    exog = long.drop(columns="y")
    known = known_inputs(url, exog) if url else None
    long = long[["series_id", "ds", "y"]]
    wide = long.pivot(index="series_id", columns="ds", values="y").sort_index()
    dates = pd.DatetimeIndex(wide.columns)
    demand = np.clip(np.nan_to_num(wide.to_numpy(dtype=float)), 0, None)
    T, W = setup["holdout"], setup["warmup"]
    hold = len(dates) - T
    active = np.isfinite(wide.to_numpy()[:, hold - 1])  # series with sales history at the holdout start
    wide, demand = wide[active], demand[active]
    long = long[long["series_id"].isin(wide.index)].reset_index(drop=True)
    ids = wide.index
    origins = dates[hold - W:]
    A = np.full((len(ids), len(origins)), np.nan)
    for j in range(len(origins)):
        start = hold - W + j
        if start + P <= len(dates):
            A[:, j] = demand[:, start:start + P].sum(axis=1)
    timings, F = {}, {}
    ours_kind = OURS_MODEL[dataset]
    cache = (Path(os.environ["INV_BENCH_CACHE"]) / f"{dataset}-{limit}-{ours_kind}-{refit_days}-{target}-v3.npz"
             if os.environ.get("INV_BENCH_CACHE") else None)  # a developer's shortcut: forecasts of an earlier run
    if cache is not None and cache.exists():
        F = dict(np.load(cache))
    targets = [target] + sorted(set(CURVE_TARGETS) - {target})
    for name, kind in (("ours", ours_kind), ("naive", "naive")):
        if name in F:
            continue
        t1 = time.perf_counter()

        def make():
            return model_forecaster(kind, setup["freq"], exog, origins[0], refit_days, max(1, P - 1), known)
        peeking_audit(long, origins[W], lambda hist, o, h: make()(hist, o, h), P)  # a fresh fit for each call
        fcs = rolling_forecasts(long, origins, make(), P)
        F[name] = window_sums(fcs, ids, origins)
        if name == "ours":  # the job's method on the same forecasts (holdout origins only)
            actual = pd.DataFrame(demand, index=ids, columns=dates)
            cover = past_coverage(interval_hits(fcs, origins, actual), P, W, setup["memory"])
            F["fitted_coverage"] = cover
            for key, cov in (("fitted", cover), ("uncalibrated", None)):
                fitted = fitted_levels(fcs, ids, origins[W:], L, R, pdays, targets, cov)
                F.update({f"{key}_{q}": v for q, v in fitted.items()})
        if cache is not None:
            np.savez(cache, **F)
        timings[name] = round(time.perf_counter() - t1, 1)
        print(f"  {name}: forecasts at {len(origins)} origins in {timings[name]} s", file=sys.stderr, flush=True)
    fitted = {q: F.pop(f"fitted_{q}") for q in targets}
    uncalibrated = {q: F.pop(f"uncalibrated_{q}") for q in targets}
    coverage = F.pop("fitted_coverage")
    targets = sorted(targets)
    scaling = {name: choose_scaling(F[name], A, P, W, setup["memory"], target) for name in F}
    levels = {name: conformal_levels(F[name], A, P, W, setup["memory"], targets, scaling[name][0]) for name in F}
    D = demand[:, hold:]
    init = D[:, :L]
    perfect = np.stack([D[:, t:t + P].sum(axis=1) for t in range(T)], axis=1)
    # the rule's average: sales of the last RULE_AVG_DAYS before each origin, per week
    n_avg = max(1, RULE_AVG_DAYS // pdays)
    avg_week = np.stack([demand[:, hold + t - n_avg:hold + t].mean(axis=1) for t in range(T)], axis=1) * (7 / pdays)
    s = config.load()
    cost = {"unit_cost": s.inventory_unit_cost, "holding_rate": s.inventory_holding_rate,
            "lost_sale_cost": s.inventory_lost_sale_cost, "period_days": pdays}

    def run(S):
        return policy_metrics(simulate(D, S, L, R, init), **cost)

    def csl(S):
        return run(S)["achieved_csl"]

    def naive_levels(q):
        base, safe = F["naive"][:, W:], levels["naive"][q] - np.nan_to_num(F["naive"][:, W:])
        return lambda k: np.maximum(np.nan_to_num(base) + k * safe, 0)

    def rule_levels(n_weeks):
        return avg_week * n_weeks

    ours = run(levels["ours"][target])
    k_naive = match_service(naive_levels(target), csl, ours["achieved_csl"], 0.0, 6.0)
    n_rule = match_service(rule_levels, lambda S: csl(S), ours["achieved_csl"], 0.0, 20.0)
    rows = {"ours": ours, "naive": run(naive_levels(target)(k_naive)), "rule": run(rule_levels(n_rule)),
            "perfect": run(perfect)}
    floor = rows["perfect"]["avg_inventory_units"]
    policies = []
    for name, m in rows.items():
        m = {"name": name, **m, "excess_inventory_units": m["avg_inventory_units"] - floor}
        policies.append({k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()})
    excess = {p["name"]: p["excess_inventory_units"] for p in policies}
    curve = []
    for q in CURVE_TARGETS:
        o = run(levels["ours"][q])
        nv = run(naive_levels(q)(1.0))
        nr = match_service(rule_levels, csl, o["achieved_csl"], 0.0, 20.0)
        for name, m in (("ours", o), ("naive", nv), ("rule", run(rule_levels(nr))), ("perfect", rows["perfect"])):
            curve.append({"policy": name, "target_csl": q, "achieved_csl": round(m["achieved_csl"], 4),
                          "avg_inventory_units": round(m["avg_inventory_units"], 2),
                          "avg_inventory_value": round(m["avg_inventory_value"], 2)})
    per = {name: series_inventory(simulate(D, S, L, R, init)) for name, S in (
        ("ours", levels["ours"][target]), ("naive", naive_levels(target)(k_naive)), ("rule", rule_levels(n_rule)),
        ("perfect", perfect))}
    ratio_ci = {f"vs_{o}": [round(v, 4) for v in excess_ratio_interval(per["ours"], per[o], per["perfect"])]
                for o in ("naive", "rule")}
    untuned = run(naive_levels(target)(1.0))
    job_method = fitted_report(fitted, F["ours"][:, W:], run, target, rows["ours"]["achieved_csl"], floor,
                               excess["ours"])
    raw = run(uncalibrated[target])
    job_method["uncalibrated"] = {"achieved_csl": round(raw["achieved_csl"], 4),
                                  "avg_inventory_units": round(raw["avg_inventory_units"], 2),
                                  "excess_inventory_units": round(raw["avg_inventory_units"] - floor, 2)}
    job_method["interval_coverage_95"] = {"min": round(float(np.nanmin(coverage)), 4),
                                          "mean": round(float(np.nanmean(coverage)), 4),
                                          "max": round(float(np.nanmax(coverage)), 4)}
    return {"dataset": dataset, "series": int(len(ids)), "target_csl": target, "policies": policies,
            "excess_ratio_vs_naive": round(excess["ours"] / excess["naive"], 4) if excess["naive"] > 0 else None,
            "excess_ratio_vs_rule": round(excess["ours"] / excess["rule"], 4) if excess["rule"] > 0 else None,
            "excess_ratio_ci95": {**ratio_ci, "method": "percentile bootstrap over series, factors held"},
            "safety_factors": {"naive_safety_stock_factor": round(k_naive, 4), "rule_weeks_of_average_sales":
                               round(n_rule, 4)},
            "naive_untuned": {"achieved_csl": round(untuned["achieved_csl"], 4),
                              "avg_inventory_units": round(untuned["avg_inventory_units"], 2)},
            "setup": {"lead_time_periods": L, "review_periods": R, "holdout_periods": T, "warmup_origins": W,
                      "error_memory_origins": setup["memory"],
                      "error_scaling": {name: {"chosen": "relative" if rel else "absolute", "warmup_pinball": {
                          k: round(v, 4) for k, v in loss.items()}} for name, (rel, loss) in scaling.items()},
                      "ours_model": {"ses": "seasonal_ses",
                                     "lgbm": f"lgbm with the plan as known (refit every {refit_days} days)"}[ours_kind],
                      "rule_average_days": RULE_AVG_DAYS, **{k: v for k, v in cost.items()}},
            "tradeoff": curve, "job_method": job_method,
            "seconds": {**timings, "total": round(time.perf_counter() - t0, 1)}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=["walmart", "demo"], required=True)
    p.add_argument("--json", action="store_true", help="print the JSON result only")
    p.add_argument("--db", default=None, help="replay this store database instead of preparing one")
    p.add_argument("--limit", type=int, default=None, help="only the first N series (a quick run)")
    p.add_argument("--target", type=float, default=0.95, help="target cycle service level (default 0.95)")
    p.add_argument("--refit-days", type=int, default=LGBM_REFIT_DAYS,
                   help=f"demo: refit lgbm every N days (default {LGBM_REFIT_DAYS}; 1 = at every origin)")
    args = p.parse_args(argv)
    if not 0 < args.target < 1:
        print("error: --target must lie strictly between 0 and 1", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.refit_days < 1:
        print("error: --refit-days must be at least 1", file=sys.stderr)
        return 2
    result = replay(args.dataset, args.db, args.limit, args.target, args.refit_days)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{'policy':8} {'CSL':>6} {'fill':>6} {'avg inv':>14} {'excess':>14} {'lost':>14} {'total cost':>14}")
        for r in result["policies"]:
            print(f"{r['name']:8} {r['achieved_csl']:6.3f} {r['fill_rate']:6.3f} {r['avg_inventory_units']:14.1f} "
                  f"{r['excess_inventory_units']:14.1f} {r['lost_sales_units']:14.1f} {r['total_cost']:14.1f}")
        print(f"excess ratio vs naive {result['excess_ratio_vs_naive']}, vs rule {result['excess_ratio_vs_rule']}; "
              f"factors {result['safety_factors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
