"""Test helpers for the dashboard: publish a small, deterministic forecast run through the store writers."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data import store


def publish_fake_run(url: str, run_id: str = "run-test-1", horizon: int = 14, shift_days: int = 0) -> dict:
    """Write a successful, current run for every node: a flat forecast at each node's last-28-day mean with
    widening 80/95% bands, backtest metrics for two models (``ets`` chosen), selections and diagnostics.

    ``shift_days`` moves the forecast start back into the history (to test forecast-vs-actuals views).
    """
    nodes = store.nodes(url=url)
    _, last = store.date_bounds(url)
    start = last + pd.Timedelta(days=1 - shift_days)
    dates = pd.date_range(start, periods=horizon, freq="D")
    rows, metrics, sels, diags = [], [], [], []
    rng = np.random.default_rng(0)
    for i, key in enumerate(nodes["node_id"]):
        hist = store.series(key, start=last - pd.Timedelta(days=27), url=url)
        level = float(hist["y"].mean()) if len(hist) else 0.0
        width = np.linspace(0.05, 0.15, horizon) * max(level, 1.0)
        for model, bump in (("final", 0.0), ("ets", 0.0), ("seasonal_naive", 0.02)):
            if model != "final" and key != "total" and i % 2:
                continue
            yhat = level * (1 + bump) * np.ones(horizon)
            rows.append(pd.DataFrame({"series_id": key, "model": model, "ds": dates, "yhat": yhat,
                                      "yhat_lo_80": yhat - width, "yhat_hi_80": yhat + width,
                                      "yhat_lo_95": yhat - 1.5 * width, "yhat_hi_95": yhat + 1.5 * width}))
        for fold in range(3):
            metrics.append({"series_id": key, "model": "ets", "fold": fold, "wape": 0.10 + 0.01 * fold,
                            "mase": 0.8, "rmse": 5.0, "mae": 4.0, "smape": 0.1, "bias": 0.5,
                            "coverage_80": 0.8, "coverage_95": 0.95})
            metrics.append({"series_id": key, "model": "seasonal_naive", "fold": fold, "wape": 0.20,
                            "mase": 1.0, "rmse": 8.0, "mae": 6.0, "smape": 0.2, "bias": -1.0,
                            "coverage_80": 0.7, "coverage_95": 0.9})
        sels.append({"series_id": key, "model": "ets", "metric": "wape", "score": 0.11})
        resid = rng.normal(0, 1, 60).round(6).tolist()
        acf = [1.0] + [float(x) for x in rng.normal(0, 0.1, 20).round(6)]
        diags.append({"series_id": key, "model": "ets", "ljung_box_p": 0.42, "bias": 0.01, "resid_std": 1.0,
                      "acf": acf, "residuals": resid})
    store.create_run(run_id, {"models": ["ets", "seasonal_naive"]}, "hash", "test", url=url)
    with store.session_scope(url=url) as s:
        store.write_run_results(s, run_id, forecasts=pd.concat(rows, ignore_index=True),
                                metrics=pd.DataFrame(metrics), selections=pd.DataFrame(sels),
                                diagnostics=pd.DataFrame(diags))
    store.publish_run(run_id, n_series=len(nodes), duration_s=1.0, metrics={"wape": 0.11}, url=url)
    return {"run_id": run_id, "start": dates[0], "end": dates[-1], "nodes": list(nodes["node_id"])}


def find_values(component, wanted: set) -> dict:
    """``{id: value}`` of the components with an ID in ``wanted`` anywhere under ``component``."""
    found = {}
    cid = getattr(component, "id", None)
    if isinstance(cid, str) and cid in wanted:
        found[component.id] = getattr(component, "value", None)
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            found.update(find_values(child, wanted))
    return found


def page_layout(path: str):
    """The ``layout(**query)`` function of the page at ``path`` (registering the pages through the app)."""
    import dash

    from app import create_app
    create_app()
    return next(p for p in dash.page_registry.values() if p["path"] == path)["layout"]


def wait_until(condition, timeout: float = 10.0, message: str = "condition not met"):
    """Poll ``condition()`` until it returns a truthy value (returned) or fail after ``timeout`` seconds."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # noqa: BLE001 - elements may be re-rendered while we poll
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s: {message}")
        time.sleep(0.1)
