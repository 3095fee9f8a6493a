"""Benchmark: the drift monitor's detection delay on the demo with a planted +30% level shift, and its false
alarms on the unshifted demo, over 20 seeds.

    python bench/monitor_drift.py [--seeds 20] [--first-seed 0] [--shift 0.3] [--after 2022-09-30] [--days 14]
                                  [--stores 2] [--products 3] [--json]

For each seed: the demo (small: stores x products, two years from 2021-01-01) is generated twice into
temporary databases, once with ``shift_after=AFTER`` and once without; the data drift report
(``analytics.drift.drift_report`` with the configured thresholds, reference = the 182 days up to AFTER) is
computed as the data arrive day by day, AFTER+1 .. AFTER+DAYS. Delay = the first day with a drift flag on the
shifted data; a false alarm = any flag on the unshifted data over the same days.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def first_alarm(url: str, after: str, days: int, thresholds) -> int | None:
    """The first day after ``after`` on which the drift report flags (None: none within ``days``)."""
    import pandas as pd

    from analytics import drift
    from data import store
    from domain import LEVELS
    prepared = drift.prepare_levels({lv: store.level_frame(lv, url=url) for lv in LEVELS}, "D")
    for day in range(1, days + 1):
        report = drift.drift_report(prepared, after, asof=pd.Timestamp(after) + pd.Timedelta(days=day),
                                    window_days=days, thresholds=thresholds)
        if report["drift"]:
            return day
    return None


def run(seeds: int, first_seed: int, shift: float, after: str, days: int, stores: int, products: int) -> dict:
    from data import demo
    from monitoring import rules
    thresholds, _, _ = rules.drift_settings(rules.DEFAULT_RULES)
    delays, false_alarms, t0 = [], [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(first_seed, first_seed + seeds):
            found = {}
            for label, shift_after in (("shifted", after), ("unshifted", None)):
                url = f"sqlite:///{Path(tmp) / f'{label}-{seed}.db'}"
                demo.generate(seed=seed, n_stores=stores, n_products=products, years=2, url=url, progress=False,
                              start="2021-01-01", shift_after=shift_after, shift=shift)
                found[label] = first_alarm(url, after, days, thresholds)
            delays.append(found["shifted"])
            false_alarms.append(found["unshifted"])
            print(f"seed {seed}: shift found on day {found['shifted']}, unshifted alarm: {found['unshifted']}",
                  file=sys.stderr, flush=True)
    detected = [d for d in delays if d is not None]
    return {"seeds": seeds, "first_seed": first_seed, "shift": shift, "after": after, "days": days,
            "stores": stores, "products": products, "detected": len(detected),
            "delay_days_median": statistics.median(detected) if detected else None,
            "delay_days_max": max(detected) if detected else None, "delays": delays,
            "false_alarms": sum(a is not None for a in false_alarms), "false_alarm_days": false_alarms,
            "thresholds": thresholds.__dict__, "seconds": round(time.perf_counter() - t0, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--shift", type=float, default=0.3)
    p.add_argument("--after", default="2022-09-30")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--stores", type=int, default=2)
    p.add_argument("--products", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    out = run(a.seeds, a.first_seed, a.shift, a.after, a.days, a.stores, a.products)
    print(json.dumps(out, indent=2) if a.json else
          f"{out['detected']}/{out['seeds']} shifts detected, delay median {out['delay_days_median']} days "
          f"(max {out['delay_days_max']}); false alarms {out['false_alarms']}/{out['seeds']} "
          f"over {out['days']} days; {out['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
