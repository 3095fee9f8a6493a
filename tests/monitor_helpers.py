"""Small sales files and a refreshed store for the monitoring tests (tests/test_monitor_*.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MAP = "date=date,sales=sales,store=store,product=product,promo=promo"


def sales_frame(start: str = "2023-01-02", days: int = 200, seed: int = 0, stores: int = 2,
                products: int = 2) -> pd.DataFrame:
    """Daily sales of ``stores x products`` series: a weekly pattern, a level per series, log-normal noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    weekly = np.log([1.0, 0.9, 0.95, 1.0, 1.1, 1.4, 1.3])[dates.dayofweek]
    rows = []
    for s in range(stores):
        for p in range(products):
            level = np.log(50 + 30 * s + 10 * p)
            y = np.exp(level + weekly + rng.normal(0, 0.15, days))
            rows.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "store": f"S{s + 1}",
                                      "product": f"P{p + 1}", "sales": np.round(y, 2),
                                      "promo": (rng.random(days) < 0.05).astype(int)}))
    return pd.concat(rows, ignore_index=True)


def write_parts(tmp: Path, frame: pd.DataFrame, cut: str) -> tuple[Path, Path]:
    """The rows up to ``cut`` and the rows after it, as two CSV files."""
    first, second = tmp / "part1.csv", tmp / "part2.csv"
    frame[frame["date"] <= cut].to_csv(first, index=False)
    frame[frame["date"] > cut].to_csv(second, index=False)
    return first, second


def refreshed_store(tmp: Path, days: int = 200, after: int = 10, horizon: int = 14, seed: int = 0):
    """A store holding ``days - after`` days, refreshed (seasonal naive, 14 days ahead); returns ``(url, second
    part's path, summary of the refresh)``. Importing the second part scores the run on ``after`` new days."""
    from data import ingest
    from jobs import runner
    url = f"sqlite:///{tmp / 'live.db'}"
    frame = sales_frame(days=days, seed=seed)
    cut = sorted(frame["date"].unique())[days - after - 1]
    first, second = write_parts(tmp, frame, cut)
    ingest.ingest_csv(first, MAP, url=url)
    run = runner.refresh(horizon=horizon, models="seasonal_naive,seasonal_ses", jobs=1, folds=2, progress=False, url=url,
                         selection="series")
    return url, second, run
