"""Benchmark: time to score a new week of Walmart actuals against the stored run.

    python bench/monitor_walmart.py [--models seasonal_naive,seasonal_svd,seasonal_ses] [--jobs 2] [--json]

Imports every week of the Walmart files but the last into a temporary database, refreshes (the given models),
then imports the last week and reports the import's live scoring (``data.monitoring.after_import``): points scored
and seconds; then scores the same week again on demand and runs a check with nothing new.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(models: str, jobs: int) -> dict:
    import pandas as pd
    from sqlalchemy import delete

    from data import ingest, monitoring, schema, store
    from jobs import runner
    from tests.conftest import shared_datasets_dir
    src = shared_datasets_dir() / "walmart"
    train = pd.read_csv(src / "train.csv.gz")
    last = train["Date"].max()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for name, part in (("head", train[train["Date"] < last]), ("tail", train[train["Date"] == last])):
            (base / name).mkdir()
            part.to_csv(base / name / "train.csv.gz", index=False)
            for extra in ("features.csv.gz", "stores.csv.gz"):
                shutil.copy(src / extra, base / name)
        url = f"sqlite:///{base / 'walmart.db'}"
        ingest.ingest_walmart(base / "head", url=url)
        t = time.perf_counter()
        refresh = runner.refresh(url=url, progress=False, jobs=jobs, models=models)
        refresh_s = time.perf_counter() - t
        t = time.perf_counter()
        tail = ingest.ingest_walmart(base / "tail", url=url)
        import_s = time.perf_counter() - t
        nothing_new = monitoring.score_new_actuals(url)
        with store.session_scope(url=url) as s:
            s.execute(delete(schema.LiveScore.__table__))
        again = monitoring.score_new_actuals(url)
        store.get_engine(url).dispose()
    return {"last_week": last, "rows": tail["rows_written"], "refresh_status": refresh["status"],
            "refresh_s": round(refresh_s, 1), "import_s": round(import_s, 2), "scoring": tail["live_scoring"],
            "rescoring": again, "nothing_new": nothing_new, "models": models}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="seasonal_naive,seasonal_svd,seasonal_ses")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    out = run(a.models, a.jobs)
    print(json.dumps(out, indent=2) if a.json else
          f"scored {out['scoring']['points']:,} points of week {out['last_week']} in {out['scoring']['seconds']} s "
          f"(import {out['import_s']} s; again on demand {out['rescoring']['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
