"""Latency of the API's batch and predict endpoints on a database with a current run (in-process ASGI client).

    python bench/api_latency.py --db PATH [--repeat 30] [--json]

* batch: ``POST /api/v1/forecasts:batch`` with ``{"level": "store_product"}`` (every bottom series, the whole
  horizon) as JSON and as CSV, plus every node of every level; the full streamed body is read.
* predict: ``POST /api/v1/predict`` for bottom series picked at random (seeded), each with a plan (a promotion
  on steps 2-3 and a closure on step 5); the first call per process loads the run's model files and is
  reported apart (``predict_cold_ms``); p50/p95 are over the warm calls.
Prints JSON with the 1-minute load average, since the machine may be shared, and the CPU time per predict call
(``predict_cpu_*``: the in-process server's and client's CPU, close to the wall time on an idle machine).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


CPU: list[float] = []  # CPU milliseconds of each timed call (this process: the in-process server and client)


def _timed(fn) -> tuple[float, object]:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    CPU.append((time.process_time() - c) * 1000)
    return (time.perf_counter() - t) * 1000, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import config
    os.environ["SALES_DB"] = config.database_url(args.db)
    from fastapi.testclient import TestClient

    from api.app import create_api
    from data import store
    c = TestClient(create_api(), base_url="http://127.0.0.1")
    run = store.current_run()
    if run is None:
        raise SystemExit("no current run: python cli.py refresh first")
    out = {"db": args.db, "run_id": run["run_id"], "load_avg_1m": round(os.getloadavg()[0], 2)}
    for name, body, params in (("batch_bottom_json", {"level": "store_product"}, {}),
                               ("batch_bottom_csv", {"level": "store_product"}, {"format": "csv"})):
        times = []
        for _ in range(5):
            ms, r = _timed(lambda: c.post("/api/v1/forecasts:batch", json=body, params=params))
            assert r.status_code == 200, r.text[:300]
            times.append(ms)
        out[name] = {"ms_median": round(float(np.median(times)), 1), "bytes": len(r.content),
                     "series": len(store.node_ids("store_product"))}
    keys = [k for lv in store.LEVELS for k in store.node_ids(lv)]
    ms, r = _timed(lambda: c.post("/api/v1/forecasts:batch", json={"keys": keys}))
    out["batch_all_nodes_json"] = {"ms": round(ms, 1), "series": len(keys), "bytes": len(r.content)}
    dates = [p["ds"] for p in c.get("/api/v1/forecasts/total").json()["points"]]
    plan = {"promotions": [{"start": dates[1], "end": dates[2], "depth": 0.2}],
            "closures": [{"start": dates[4], "end": dates[4]}]}
    bottom = store.node_ids("store_product")
    rng = np.random.default_rng(0)
    picks = [bottom[i] for i in rng.integers(0, len(bottom), args.repeat + 1)]
    cold, r = _timed(lambda: c.post("/api/v1/predict", json={"key": picks[0], "plan": plan}))
    assert r.status_code == 200, r.text[:300]
    warm = []
    CPU.clear()
    for key in picks[1:]:
        ms, r = _timed(lambda: c.post("/api/v1/predict", json={"key": key, "plan": plan}))
        assert r.status_code == 200, r.text[:300]
        warm.append(ms)
    out.update(predict_cold_ms=round(cold, 1), predict_n=len(warm),
               predict_p50_ms=round(float(np.percentile(warm, 50)), 1),
               predict_p95_ms=round(float(np.percentile(warm, 95)), 1),
               predict_cpu_p50_ms=round(float(np.percentile(CPU, 50)), 1),
               predict_cpu_p95_ms=round(float(np.percentile(CPU, 95)), 1),
               predict_model=r.json()["model"], load_avg_1m_end=round(os.getloadavg()[0], 2))
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
