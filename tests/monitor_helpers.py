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


def scored_store(tmp: Path, url: str, days: int = 60, after: int = 10, run_id: str = "r-test") -> str:
    """A store with a published run written directly (forecasts = the series' training mean, +-20%/+-40%
    intervals, backtest rows of two folds) and ``after`` days imported after it, so they are scored; no model is
    fitted. Returns the run id."""
    from data import ingest, store
    frame = sales_frame(days=days)
    cut = sorted(frame["date"].unique())[days - after - 1]
    first, second = write_parts(tmp, frame, cut)
    ingest.ingest_csv(first, MAP, url=url)
    nodes = store.nodes(url=url)["node_id"].tolist()
    dates = pd.date_range(pd.Timestamp(cut) + pd.Timedelta(days=1), periods=14, freq="D")
    rows = []
    for node in nodes:
        mean = float(store.nodes_series([node], url=url)["y"].mean())
        rows.append(pd.DataFrame({"series_id": node, "model": "final", "ds": dates, "yhat": mean,
                                  "yhat_lo_80": 0.8 * mean, "yhat_hi_80": 1.2 * mean, "yhat_lo_95": 0.6 * mean,
                                  "yhat_hi_95": 1.4 * mean}))
    forecasts = pd.concat(rows, ignore_index=True)
    metrics = pd.DataFrame([{"series_id": n, "model": "final", "fold": f, "wape": 0.1 + 0.05 * f, "mae": 5.0,
                             "coverage_80": 0.8, "coverage_95": 0.95} for n in nodes for f in (0, 1)])
    selections = pd.DataFrame({"series_id": nodes, "model": "final", "metric": "wape", "score": 0.12})
    store.create_run(run_id, {"freq": "D", "horizon": 14, "models": ["final"]}, "hash", "test", url=url)
    with store.session_scope(url=url) as s:
        store.write_run_results(s, run_id, forecasts=forecasts, metrics=metrics, selections=selections)
    store.publish_run(run_id, n_series=len(nodes), duration_s=1.0, metrics={}, url=url)
    ingest.ingest_csv(second, MAP, url=url)
    return run_id
