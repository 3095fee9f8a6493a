"""Inventory replay benchmark: stocking policies re-planned every review period on the forecasting holdout.

    python bench/inventory.py --dataset walmart|demo [--json] [--db PATH] [--limit N] [--target 0.95]

Walmart: holdout 2012-02-03..2012-10-26 (train through 2012-01-27), weekly review, lead time 1 week; demo:
the last 42 days of the default demo (seed 42), daily review, lead time 3 days. Lost sales; negative
sales (returns) count as zero demand. At every review origin each policy orders up to its level ``S_t``
computed only from data before that origin (``decisions.replay.rolling_forecasts`` hands the forecaster the
history before the origin; ``peeking_audit`` checks one origin per model):

* ``ours``: the product's strongest affordable model - seasonal_ses on Walmart (the most accurate there,
  refitted at every origin in about 1.5 s), lgbm with the promotion plan on the demo (refitted weekly,
  re-planned daily from the latest fit) - and the normalised conformal quantile of its own past
  out-of-sample errors of the lead-time + review sum (:func:`decisions.demand.conformal_window`);
* ``naive``: the same policy with seasonal-naive forecasts and their errors, its safety stock times a factor
  tuned so that its achieved CSL matches ``ours``'s;
* ``rule``: order up to N weeks of the average sales of the last 4 weeks, N tuned the same way;
* ``perfect``: perfect foresight (orders exactly the demand of its cycle): the cycle-stock floor.

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
from decisions.demand import conformal_window  # noqa: E402
from decisions.replay import match_service, peeking_audit, policy_metrics, rolling_forecasts, simulate  # noqa: E402
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


def load(dataset: str, db: str | None) -> pd.DataFrame:
    """The long frame ``series_id, ds, y`` (+ ``promo, is_holiday, temp_c``) on a regular grid (gaps are zero
    sales)."""
    from bench.accuracy import WALMART_TEST_END, load_walmart, prepare_db, prepare_walmart
    if dataset == "walmart" and not db:
        path = config.load().datasets_dir / "walmart"
        if not (path / "train.csv.gz").exists():
            raise FileNotFoundError(f"the Walmart files are not in {path}: set SALES_DATASETS")
        _, full, _ = prepare_walmart(load_walmart(path))
        full = full[full["ds"] <= WALMART_TEST_END]
    else:
        if not db:
            from data import demo
            db = f"sqlite:///{tempfile.mkdtemp(prefix='bench-inv-')}/demo.db"
            demo.generate(seed=42, url=db, progress=False)
        _, full, _, _ = prepare_db(db if "://" in db else f"sqlite:///{Path(db).resolve()}",
                                   SETUPS[dataset]["holdout"])
    return full[["series_id", "ds", "y", "promo", "is_holiday", "temp_c"]].reset_index(drop=True)


def model_forecaster(kind: str, freq: str, exog: pd.DataFrame | None = None, anchor=None,
                     refit_days: int = LGBM_REFIT_DAYS):
    """``forecaster(history, origin, h)``: fit on the history it is handed, forecast h periods.

    ``lgbm`` (the demo's ``ours``) is refitted once a week (at ``anchor`` + 7k) on the history before that
    day and re-planned daily from that fit: at origin ``o`` it uses steps ``o - fit day + 1 ..`` of the
    weekly fit, so it only ever saw data before ``o``. Its promotion and holiday flags over the horizon are
    the known plan (``exog``); temperature over the horizon is the last week's mean (no weather oracle)."""
    cache: dict = {}

    def lgbm(history: pd.DataFrame, origin, h: int) -> pd.DataFrame:
        from models.gbm import LGBMForecaster
        fit_day = origin - pd.Timedelta(days=(origin - anchor).days % refit_days)
        if fit_day not in cache:
            train = history[(history["ds"] < fit_day) & (history["ds"] >= fit_day - pd.Timedelta(days=LGBM_TRAIN_DAYS))]
            train = train.merge(exog, on=["series_id", "ds"], how="left")
            horizon = refit_days + h - 1
            cols = ["series_id", "ds", "y", "promo", "is_holiday", "temp_c"]
            model = LGBMForecaster(freq="D", horizon=horizon, conformal=False, n_estimators=100,
                                   num_threads=1).fit(train[cols])
            days = pd.date_range(fit_day, periods=horizon, freq="D")
            grid = pd.MultiIndex.from_product([sorted(train["series_id"].unique()), days], names=["series_id", "ds"])
            # past the data's end (the last origins' windows) nothing is planned: no promotion, no holiday
            xf = (grid.to_frame(index=False).merge(exog[exog["ds"].isin(days)], on=["series_id", "ds"], how="left")
                  .fillna({"promo": 0.0, "is_holiday": 0.0}))
            temp = train[train["ds"] >= fit_day - pd.Timedelta(days=7)].groupby("series_id")["temp_c"].mean()
            xf = xf.assign(temp_c=xf["series_id"].map(temp).fillna(0.0))
            cache[fit_day] = model.predict(horizon, xf[["series_id", "ds", "promo", "is_holiday", "temp_c"]])
        fc = cache[fit_day]
        return fc.loc[(fc["ds"] >= origin) & (fc["ds"] < origin + pd.Timedelta(days=h)), ["series_id", "ds", "yhat"]]

    def local(history: pd.DataFrame, origin, h: int) -> pd.DataFrame:
        model = SeasonalSES(freq=freq) if kind == "ses" else SeasonalNaive(freq=freq)
        fc = model.fit(history[["series_id", "ds", "y"]]).predict(h)
        return fc[["series_id", "ds", "yhat"]]
    return lgbm if kind == "lgbm" else local


def window_sums(fcs: dict, ids: pd.Index, origins: pd.DatetimeIndex) -> np.ndarray:
    """Forecast sums over each origin's window (series x origins; NaN for a series not yet started)."""
    out = np.full((len(ids), len(origins)), np.nan)
    for j, origin in enumerate(origins):
        s = fcs[origin].assign(yhat=lambda f: f["yhat"].clip(lower=0)).groupby("series_id")["yhat"].sum()
        out[:, j] = s.reindex(ids).to_numpy()
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


def replay(dataset: str, db: str | None = None, limit: int | None = None, target: float = 0.95,
           refit_days: int = LGBM_REFIT_DAYS) -> dict:
    """Run the benchmark; returns the JSON-ready result.

    Long because it is the benchmark's script: load, forecast at every origin, calibrate, simulate and tune
    each policy, then the trade-off curve, in order.
    """
    setup = SETUPS[dataset]
    L, R, P, pdays = setup["lead"], setup["review"], setup["lead"] + setup["review"], setup["period_days"]
    t0 = time.perf_counter()
    long = load(dataset, db)
    exog = long[["series_id", "ds", "promo", "is_holiday", "temp_c"]]
    long = long[["series_id", "ds", "y"]]
    if limit:
        keep = sorted(long["series_id"].unique())[:limit]
        long = long[long["series_id"].isin(keep)].reset_index(drop=True)
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
    cache = (Path(os.environ["INV_BENCH_CACHE"]) / f"{dataset}-{limit}-{ours_kind}-{refit_days}.npz"
             if os.environ.get("INV_BENCH_CACHE") else None)  # a developer's shortcut: forecasts of an earlier run
    if cache is not None and cache.exists():
        F = dict(np.load(cache))
    for name, kind in (("ours", ours_kind), ("naive", "naive")):
        if name in F:
            continue
        t1 = time.perf_counter()

        def make():
            return model_forecaster(kind, setup["freq"], exog, origins[0], refit_days)
        peeking_audit(long, origins[W], lambda hist, o, h: make()(hist, o, h), P)  # a fresh fit for each call
        F[name] = window_sums(rolling_forecasts(long, origins, make(), P), ids, origins)
        if cache is not None:
            np.savez(cache, **F)
        timings[name] = round(time.perf_counter() - t1, 1)
        print(f"  {name}: forecasts at {len(origins)} origins in {timings[name]} s", file=sys.stderr, flush=True)
    targets = sorted(set(CURVE_TARGETS) | {target})
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
    untuned = run(naive_levels(target)(1.0))
    return {"dataset": dataset, "series": int(len(ids)), "target_csl": target, "policies": policies,
            "excess_ratio_vs_naive": round(excess["ours"] / excess["naive"], 4) if excess["naive"] > 0 else None,
            "excess_ratio_vs_rule": round(excess["ours"] / excess["rule"], 4) if excess["rule"] > 0 else None,
            "safety_factors": {"naive_safety_stock_factor": round(k_naive, 4), "rule_weeks_of_average_sales":
                               round(n_rule, 4)},
            "naive_untuned": {"achieved_csl": round(untuned["achieved_csl"], 4),
                              "avg_inventory_units": round(untuned["avg_inventory_units"], 2)},
            "setup": {"lead_time_periods": L, "review_periods": R, "holdout_periods": T, "warmup_origins": W,
                      "error_memory_origins": setup["memory"],
                      "error_scaling": {name: {"chosen": "relative" if rel else "absolute", "warmup_pinball": {
                          k: round(v, 4) for k, v in loss.items()}} for name, (rel, loss) in scaling.items()},
                      "ours_model": {"ses": "seasonal_ses", "lgbm": f"lgbm (refit every {refit_days} days)"}[ours_kind],
                      "rule_average_days": RULE_AVG_DAYS, **{k: v for k, v in cost.items()}},
            "tradeoff": curve, "seconds": {**timings, "total": round(time.perf_counter() - t0, 1)}}


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
