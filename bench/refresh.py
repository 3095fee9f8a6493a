"""Benchmark: wall time of a full forecast refresh vs fitting Prophet once per series, in the same run.

    python bench/refresh.py --dataset walmart|demo [--json] [--db PATH] [--jobs N] [--models LIST]

Without ``--db`` it prepares its own temporary database (the default demo, or the Walmart import). The
refresh is ``jobs.runner.refresh`` with its defaults (backtests included, ``--force``). The Prophet
baseline fits Prophet (with its holidays and regressors) on every series the refresh models and forecasts
the same horizon, once, without backtests, in a process pool with the same ``--jobs``.
JSON: ``{"refresh_s", "prophet_s", "series"}`` plus context fields.
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


def prophet_batch(task) -> int:
    """Fit Prophet on a batch of series and forecast ``h`` steps (module level, so the pool can pickle it)."""
    frame, future, freq, h = task
    import logging
    import warnings
    logging.getLogger("cmdstanpy").disabled = True
    from models.registry import make_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_model("prophet", freq).fit(frame).predict(h, future)
    return int(frame["series_id"].nunique())


def prepare_db(dataset: str, workdir: Path) -> str:
    from data import store
    url = f"sqlite:///{workdir / f'{dataset}.db'}"
    os.environ["SALES_DB"] = url
    store.init_db(url)
    if dataset == "demo":
        from data import demo
        demo.generate(seed=42, url=url, progress=False)
    else:
        from data import ingest
        from tests.conftest import shared_datasets_dir
        ingest.ingest_walmart(shared_datasets_dir() / "walmart", url=url)
    return url


def prophet_per_series(url: str, jobs: int, on_result=None) -> tuple[float, int]:
    """Seconds to fit+forecast Prophet once per series of every level (the refresh's series)."""
    import config
    import pandas as pd
    from data import store
    from jobs import refresh_inputs as ri
    from models import registry
    from jobs.executor import map_series
    from domain import LEVELS, freq_step
    t0 = time.perf_counter()
    freq = store.frequency(url)
    h = registry.default_horizon(freq)
    frames, end = ri.load_history(LEVELS, freq, url)
    bottom = store.nodes(level=store.BOTTOM_LEVEL, url=url)
    dates = pd.DatetimeIndex([end + freq_step(freq) * (k + 1) for k in range(h)])
    sfut = ri.store_future(store.stores(url=url), dates, freq, config.load().country, url=url)
    tasks = []
    for lv, frame in frames.items():
        fut = ri.node_future(sfut, bottom, lv)
        ids = sorted(frame["series_id"].unique())
        for i in range(0, len(ids), 25):
            batch = ids[i:i + 25]
            tasks.append((frame[frame["series_id"].isin(batch)], fut[fut["series_id"].isin(batch)], freq, h))
    n = sum(map_series(prophet_batch, tasks, jobs=jobs, chunksize=1, on_result=on_result))
    return time.perf_counter() - t0, n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=["walmart", "demo"], default="demo")
    p.add_argument("--db", help="use this database instead of preparing one")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: SALES_JOBS / cores)")
    p.add_argument("--models", default=None, help="refresh models (default: the registry's DEFAULT_MODELS)")
    p.add_argument("--skip-prophet", action="store_true", help="time only the refresh")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import config
    from data import store
    from jobs import runner
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SALES_MODELS_DIR", str(Path(tmp) / "models"))
        if args.db:
            url = config.database_url(args.db)
            os.environ["SALES_DB"] = url
        else:
            t = time.perf_counter()
            url = prepare_db(args.dataset, Path(tmp))
            print(f"prepared {args.dataset} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        jobs = args.jobs or config.load().jobs
        summary = runner.refresh(models=args.models, jobs=jobs, progress=not args.json, force=True, url=url)
        if summary["status"] != "success":
            print(f"refresh {summary['status']}: {summary.get('error')}", file=sys.stderr)
            return 1
        prophet_s, n_prophet = (None, 0) if args.skip_prophet else prophet_per_series(url, jobs)
        out = {"refresh_s": summary["duration_s"], "prophet_s": None if prophet_s is None else round(prophet_s, 2),
               "series": summary["n_modelled"], "dataset": args.dataset, "jobs": jobs,
               "models": summary["models"], "horizon": summary["horizon"], "folds": summary["folds"],
               "prophet_series": n_prophet, "nodes": summary["n_series"], "timings": summary["timings"],
               "selected": summary["selected"], "wape": {m: v.get("wape") for m, v in summary["metrics"].items()},
               "ratio": None if not prophet_s else round(summary["duration_s"] / prophet_s, 3)}
        store.get_engine(url).dispose()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(runner.format_summary(summary))
        print(f"refresh {out['refresh_s']} s vs Prophet once per series {out['prophet_s']} s "
              f"({out['series']} series, {jobs} jobs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
