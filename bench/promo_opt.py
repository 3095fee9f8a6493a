"""Benchmark: the promotion optimizer's calendar against the true optimum and random calendars, on the demo.

    python bench/promo_opt.py [--json] [--stores N] [--products N] [--years N] [--weeks N]
                              [--max-per-store-week K] [--budget AMOUNT] [--random-draws N]
                              [--without-future-plan]

It builds its own demo database in a temporary folder (planted category lifts, log lift proportional to the
discount depth), runs ``effects`` and a fast refresh (``seasonal_ses``, store x product level only), and gives
every product a unit cost in the plan (margin rates drawn from 35-70% of the regular price, so promotions pay in
some categories and products and lose in others). The demo's plan reaches 8 weeks past the history: the
slots it already promotes (or closes) are not candidates and its promotions count toward ``K`` in all three
calendars below; baselines are the stored forecasts with the planned lift taken out
(:func:`decisions.promotions.depromote_forecasts`; none here: ``seasonal_ses`` never sees the plan). With
``--without-future-plan`` the demo's planned promotions after the history are deleted first (closures stay), so
every store-week is open to the optimizer. Then, on the same candidates:

- ``optimizer_margin``: the TRUE incremental margin (planted lifts, reference depth 20%, no dip: what the
  generator planted) of the calendar the optimizer chose with the ESTIMATED effects;
- ``oracle_margin``: the same integer program solved with the planted effects;
- ``random_margin``: the mean true margin of ``--random-draws`` random calendars under the same constraints
  with as many promotions as the optimizer's (random store x product x week slots, random depths).

JSON: ``{"optimizer_margin", "oracle_margin", "random_margin", "ratio_to_oracle", "seconds"}`` plus context.
Targets: ``ratio_to_oracle >= 0.90`` and ``optimizer_margin >= 2 * random_margin``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MARGIN_RATES = (0.35, 0.70)


def build_db(workdir: Path, stores: int, products: int, years: int, seed: int) -> str:
    """Demo data, effects and a fast refresh in a fresh SQLite file; returns its URL."""
    from data import demo
    from jobs import effects_job, runner
    url = f"sqlite:///{workdir / 'promo_bench.db'}"
    os.environ["SALES_DB"] = url
    demo.generate(seed=seed, n_stores=stores, n_products=products, years=years, url=url, progress=False)
    effects_job.run_effects(level="category", save=True, url=url, extras=False)
    runner.refresh(models="seasonal_ses", levels="store_product", jobs=1, progress=False, force=True)
    return url


def plant_costs(url: str, start, seed: int) -> dict:
    """Unit costs per product in the plan (product grain, dated ``start``) from margin rates drawn uniformly."""
    import numpy as np
    import pandas as pd
    from data import store
    from jobs.promo_opt_job import regular_prices
    facts = store.sales_columns(("store_id", "product_id", "date", "promo", "promo_intensity", "price"), url=url)
    price = regular_prices(facts).groupby("product_id")["price"].median()
    rng = np.random.default_rng(seed)
    rate = rng.uniform(*MARGIN_RATES, len(price))
    rows = pd.DataFrame({"store_id": "*", "product_id": price.index, "category": "*", "date": start,
                         "unit_cost": np.round(price.to_numpy() * (1 - rate), 2)})
    store.write_plan(rows, source="bench", url=url)
    return {"products": int(len(rows)), "margin_rate_min": float(rate.min()), "margin_rate_max": float(rate.max())}


def clear_future_promotions(url: str, start) -> int:
    """Delete the demo's planned promotions from ``start`` on (its store x product rows; closures stay)."""
    from data import store
    rows = store.plan_rows(start=start, url=url)
    rows = rows[(rows["category"] == "*") & (rows["store_id"] != "*") & (rows["product_id"] != "*")]
    return sum(store.delete_plan(sid, pid, "*", start=start, source="bench", url=url)
               for sid, pid in rows[["store_id", "product_id"]].drop_duplicates().itertuples(index=False))


def true_params(url: str, params):
    """The planted effects in the shape of :func:`decisions.promotions.effect_params` (no dip, no uncertainty)."""
    import math
    from data import store
    truth = store.demo_truth(url)
    lift = truth[(truth["kind"] == "promo_lift") & (truth["name"] == "promotion")].set_index("group")["value"]
    ref = float(truth[(truth["kind"] == "promo_intensity") & (truth["name"] == "reference_depth")]["value"].iloc[0])
    out = params.copy()
    out["log_lift"] = [math.log1p(float(lift[c])) for c in out["category"]]
    out["lift"] = [float(lift[c]) for c in out["category"]]
    out["ref_depth"] = ref
    out[["log_lift_se", "dip", "dip_se"]] = 0.0
    out["dip_used"] = False
    return out


def run(args) -> dict:
    """Build the database, optimise with the estimated and the planted effects, draw random calendars."""
    import numpy as np
    from data import store
    from decisions import promo_milp, promotions
    from domain import BOTTOM_LEVEL
    from jobs import promo_opt_job
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="promo_bench_") as tmp:
        url = build_db(Path(tmp), args.stores, args.products, args.years, args.seed)
        start = store.forecasts_for_level(BOTTOM_LEVEL, url=url)["ds"].min()
        cleared = clear_future_promotions(url, start) if args.without_future_plan else 0
        costs = plant_costs(url, start, args.seed)
        t1 = time.perf_counter()
        prep = promo_opt_job.prepare(start, args.weeks, args.max_per_store_week, args.depths, args.budget, url)
        cands, params = prep["candidates"], prep["params"]
        taken = prep["taken"]  # the demo's plan reaches past the history: its promotions count toward K
        opt = promotions.optimize(cands, params, args.max_per_store_week, args.budget, n_draws=200, taken=taken)
        chosen = opt["chosen_mask"]
        seconds_opt = time.perf_counter() - t1
        truth = promotions.evaluate(cands, true_params(url, params))
        oracle, _ = promo_milp.choose(cands, truth["incr_margin"], args.max_per_store_week, args.budget,
                                      truth["discount_cost"], taken=taken)
        rng = np.random.default_rng(args.seed)
        point = promotions.evaluate(cands, params)
        randoms = [truth["incr_margin"][promo_milp.random_calendar(
            cands, int(chosen.sum()), args.max_per_store_week, rng, args.budget, point["discount_cost"],
            taken=taken)].sum()
            for _ in range(args.random_draws)]
    opt_m, orc_m = float(truth["incr_margin"][chosen].sum()), float(truth["incr_margin"][oracle].sum())
    rnd_m = float(np.mean(randoms))
    return {"optimizer_margin": round(opt_m, 2), "oracle_margin": round(orc_m, 2), "random_margin": round(rnd_m, 2),
            "ratio_to_oracle": round(opt_m / orc_m, 4) if orc_m > 0 else None,
            "seconds": round(time.perf_counter() - t0, 2), "seconds_optimize": round(seconds_opt, 2),
            "optimizer_expected_margin": round(opt["totals"]["incr_margin"], 2),
            "optimizer_expected_margin_95": [round(opt["totals"]["incr_margin_lo_95"], 2),
                                             round(opt["totals"]["incr_margin_hi_95"], 2)],
            "random_margin_sd": round(float(np.std(randoms)), 2),
            # the budget binds on the expected discount cost, which depends on the lift: the optimizer's calendar
            # costs this much under the planted lifts (it may exceed a --budget the oracle must respect)
            "optimizer_true_discount_cost": round(float(truth["discount_cost"][chosen].sum()), 2),
            "oracle_discount_cost": round(float(truth["discount_cost"][oracle].sum()), 2),
            "random_draws": args.random_draws,
            "promotions": int(chosen.sum()), "oracle_promotions": int(oracle.sum()),
            "same_choices": int((chosen & oracle).sum()), "candidates": int(len(cands)),
            "already_planned": prep["already_planned"], "closed_slots": prep["closed_slots"],
            "future_plan_rows_deleted": cleared,
            "stores": args.stores, "products": args.products, "years": args.years, "weeks": args.weeks,
            "max_per_store_week": args.max_per_store_week, "depths": list(args.depths), "budget": args.budget,
            "unit_costs": costs, "targets_met": bool(orc_m > 0 and opt_m / orc_m >= 0.90 and opt_m >= 2 * rnd_m)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--stores", type=int, default=10)
    p.add_argument("--products", type=int, default=20)
    p.add_argument("--years", type=int, default=2)
    p.add_argument("--weeks", type=int, default=6)
    p.add_argument("--max-per-store-week", type=int, default=3)
    p.add_argument("--depths", default="0.1,0.2,0.3")
    p.add_argument("--budget", type=float, default=None)
    p.add_argument("--random-draws", type=int, default=20)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--without-future-plan", action="store_true",
                   help="delete the demo's planned promotions after the history first")
    args = p.parse_args(argv)
    args.depths = tuple(float(d) for d in args.depths.split(","))
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
