"""Benchmark: the demo holdout forecast with and without the true promotion calendar as the plan.

    python bench/plans.py --dataset demo [--json] [--seed 42] [--model lgbm]

Generates the demo (its plan holds the true promotion calendar), holds out the last 42 days, fits the model
once on the days before (history with its realised promotions, depths, prices and open flags) and forecasts
the holdout twice through the refresh's input builder (:func:`jobs.plan_inputs.known_inputs`, weather by
climatology in both): once with the stored plan, once with an empty plan (no promotion planned; the calendar's
closures still known). Closed days forecast 0 and are not scored. WAPE = sum |y - yhat| / sum |y| over the
bottom series, on the days the store x product was on promotion, the other open days, and all open days.
JSON: ``{"dataset", "series", "promo_days", "wape_promo_days_with_plan", "wape_promo_days_without_plan",
"wape_other_days_with_plan", "wape_all_with_plan", "wape_all_without_plan"}`` plus context fields.

``--backtests`` adds ``"backtests"``: three full refreshes of the demo (default models) and their bottom-level
backtest WAPE and 80/95 % interval coverage per model: ``as_known`` with the stored plan, ``oracle`` (the
folds fed the realised inputs), and ``as_known_empty_plan`` (the plan deleted: what an honest backtest
reports when promotions are not planned, while an oracle backtest would still report the ``oracle`` number).
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

HOLDOUT = 42


def wape(y, yhat) -> float:
    """sum |y - yhat| / sum |y| (NaN when the actuals sum to 0)."""
    import numpy as np
    denom = float(np.abs(y).sum())
    return float(np.abs(y - yhat).sum() / denom) if denom > 0 else float("nan")


def run(url: str, model_name: str = "lgbm") -> dict:
    """Fit once before the holdout, forecast it with and without the plan, score both (see the module)."""
    import numpy as np
    import pandas as pd

    import config
    from data import store
    from domain import BOTTOM_LEVEL
    from jobs import plan_inputs as pi
    from jobs import refresh_inputs as ri
    from models.backtest import zero_closed
    from models.registry import make_model

    t0 = time.perf_counter()
    frames, end = ri.load_history([BOTTOM_LEVEL], "D", url)
    nodes = store.nodes(level=BOTTOM_LEVEL, url=url)
    bottom = pi.history_plan_columns(frames, nodes, url)[BOTTOM_LEVEL]
    dates = pd.date_range(end - pd.Timedelta(days=HOLDOUT - 1), end, freq="D")
    train = bottom[bottom["ds"] < dates[0]].reset_index(drop=True)
    test = bottom[bottom["ds"] >= dates[0]]
    country = config.load().country
    plan = store.expanded_plan(dates[0], dates[-1], url=url)
    empty = plan.iloc[0:0]
    inputs = {name: pi.known_inputs(dates, [BOTTOM_LEVEL], nodes, train, "D", country, url, stored_weather=False,
                                    plan=p)[BOTTOM_LEVEL] for name, p in (("with", plan), ("without", empty))}
    model = make_model(model_name, "D", horizon=HOLDOUT).fit(train)
    scored = test[["series_id", "ds", "y", "promo", "is_open"]]
    out = {}
    for name, x in inputs.items():
        fc = zero_closed(model.predict(HOLDOUT, x), x)
        out[name] = scored.merge(fc[["series_id", "ds", "yhat"]], on=["series_id", "ds"], how="inner")
    res = {}
    for name, df in out.items():
        df = df[df["is_open"] > 0]
        promo = df["promo"] > 0
        res[name] = {"promo": wape(df.loc[promo, "y"], df.loc[promo, "yhat"]),
                     "other": wape(df.loc[~promo, "y"], df.loc[~promo, "yhat"]), "all": wape(df["y"], df["yhat"])}
    open_rows = out["with"][out["with"]["is_open"] > 0]
    r = lambda v: round(float(v), 4)  # noqa: E731
    return {"dataset": "demo", "series": int(test["series_id"].nunique()),
            "promo_days": int((open_rows["promo"] > 0).sum()),
            "wape_promo_days_with_plan": r(res["with"]["promo"]),
            "wape_promo_days_without_plan": r(res["without"]["promo"]),
            "wape_other_days_with_plan": r(res["with"]["other"]),
            "wape_all_with_plan": r(res["with"]["all"]), "wape_all_without_plan": r(res["without"]["all"]),
            "wape_other_days_without_plan": r(res["without"]["other"]),
            "promo_vs_other_ratio_with_plan": r(res["with"]["promo"] / res["with"]["other"]),
            "promo_days_improvement": r(1 - res["with"]["promo"] / res["without"]["promo"]),
            "scored_days": int(len(open_rows)), "holdout_start": str(dates[0].date()),
            "holdout_end": str(dates[-1].date()), "model": model_name,
            "promo_days_planned": int(np.sum(inputs["with"]["promo"] > 0)),
            "seconds": round(time.perf_counter() - t0, 2)}


def backtests(url: str, jobs: int | None = None) -> dict:
    """Backtest accuracy of three refreshes (see the module docstring)."""
    from data import store
    from jobs import runner

    def summary(kind: str) -> dict:
        t = time.perf_counter()
        s = runner.refresh(jobs=jobs, progress=False, force=True, url=url,
                           backtest_inputs="oracle" if kind == "oracle" else "as_known")
        if s["status"] != "success":
            raise RuntimeError(f"refresh {kind} {s['status']}: {s.get('error')}")
        return {"seconds": round(time.perf_counter() - t, 1), "backtest_inputs": s["backtest_inputs"],
                **{m: {k: v.get(k) for k in ("wape", "coverage_80", "coverage_95")} for m, v in s["metrics"].items()}}

    out = {"as_known": summary("as_known"), "oracle": summary("oracle")}
    rows = store.plan_rows(url=url)
    for scope, _ in rows.groupby(["store_id", "product_id", "category"]):
        store.delete_plan(*scope, source="bench", url=url)
    out["as_known_empty_plan"] = summary("as_known_empty_plan")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=["demo"], default="demo")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--model", default="lgbm", help="an exogenous-capable registry model (default lgbm)")
    p.add_argument("--backtests", action="store_true", help="also compare as-known and oracle refresh backtests")
    p.add_argument("--jobs", type=int, default=None, help="refresh worker processes (with --backtests)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from data import demo, store
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        os.environ["SALES_DB"] = url
        demo.generate(seed=args.seed, url=url, progress=False)
        os.environ.setdefault("SALES_MODELS_DIR", str(Path(tmp) / "models"))
        out = run(url, args.model)
        if args.backtests:
            out["backtests"] = backtests(url, args.jobs)
        store.get_engine(url).dispose()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:>32}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
