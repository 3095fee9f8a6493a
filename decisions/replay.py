"""Replaying stocking policies on history: rolling no-peek forecasts and a lost-sales inventory simulation.

:func:`rolling_forecasts` calls a forecaster at each review origin with the history strictly before that
origin (a copy), and :func:`peeking_audit` catches a forecaster that reaches the future some other way (it
re-runs an origin after scrambling the future values in place and fails if the forecast moved).
:func:`simulate` runs a periodic-review order-up-to rule period by period, vectorised over series:

at the start of period t the order placed L periods earlier arrives; on a review period the order
``max(0, S_t - inventory position)`` is placed (it arrives at t + L; with L = 0 at once); then demand is met
from stock and what cannot be met is lost. The order placed at review t protects the periods t + L ..
t + L + R - 1 (its *cycle*); a cycle is a stockout when any of its periods lost a sale.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd


class PeekingError(AssertionError):
    """A forecaster's output depended on data at or after its origin."""


def _history(actuals: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    return actuals.loc[actuals["ds"] < origin].copy()


def _checked(out: pd.DataFrame, origin: pd.Timestamp, history: pd.DataFrame) -> pd.DataFrame:
    if out is None or len(out) == 0:
        raise ValueError(f"the forecaster returned nothing at origin {origin.date()}")
    missing = set(history["series_id"].unique()) - set(out["series_id"].unique())
    if missing:
        raise ValueError(f"the forecaster returned no forecast at origin {origin.date()} for {len(missing)} "
                         f"series (e.g. {sorted(missing)[0]!r})")
    if "ds" in out and (pd.to_datetime(out["ds"]) < origin).any():
        raise ValueError(f"the forecaster returned dates before its origin {origin.date()}")
    return out


def rolling_forecasts(actuals: pd.DataFrame, origins, forecaster: Callable, horizon: int) -> dict:
    """``{origin: forecaster(history, origin, horizon)}`` where ``history`` holds only rows with ``ds <
    origin``: whatever the forecaster computes, it computes from the past."""
    out = {}
    for origin in pd.DatetimeIndex(origins):
        history = _history(actuals, origin)
        out[origin] = _checked(forecaster(history, origin, horizon), origin, history)
    return out


def peeking_audit(actuals: pd.DataFrame, origin, forecaster: Callable, horizon: int, column: str = "y") -> None:
    """Raise :class:`PeekingError` when ``forecaster``'s output at ``origin`` changes after the values at and
    after ``origin`` are scrambled *in place* in ``actuals`` (restored afterwards): a forecaster that kept
    a reference to the full data and reads ahead is caught, one that uses its ``history`` argument is not."""
    origin = pd.Timestamp(origin)
    first = forecaster(_history(actuals, origin), origin, horizon)
    future = actuals["ds"] >= origin
    saved = actuals.loc[future, column].copy()
    try:
        actuals.loc[future, column] = saved.to_numpy() * 3.0 + 1000.0
        second = forecaster(_history(actuals, origin), origin, horizon)
    finally:
        actuals.loc[future, column] = saved
    a, b = (f.select_dtypes("number").to_numpy(dtype=float) for f in (first, second))
    if a.shape != b.shape or not np.allclose(a, b, equal_nan=True):
        raise PeekingError(f"the forecast at origin {origin.date()} changed when only data at or after the "
                           "origin changed: the forecaster reads the future")


def simulate(demand: np.ndarray, order_up_to: np.ndarray, lead: int, review: int = 1,
             initial_pipeline: np.ndarray | None = None) -> dict:
    """Run the lost-sales periodic-review policy; returns per-period arrays (series x periods).

    Parameters
    ----------
    demand : (n, T) array of non-negative demand per period.
    order_up_to : (n, T) array; ``S_t`` is read on review periods (t % review == 0).
    lead : lead time in periods (an order placed at t arrives at the start of t + lead).
    initial_pipeline : (n, lead) arrivals of orders placed before the replay (default none); give every
        policy the same one so they start from the same state.

    Returns
    -------
    dict with ``inventory`` (average of the stock after arrivals and at the period end), ``lost``,
    ``sales``, ``orders``, and ``cycle_stockout`` (n, n_cycles) booleans for the complete cycles.
    """
    demand = np.asarray(demand, dtype=float)
    n, T = demand.shape
    if lead < 0 or review < 1:
        raise ValueError("lead time must be >= 0 periods and the review period >= 1")
    arrivals = np.zeros((n, T + lead + 1))
    if initial_pipeline is not None and lead:
        arrivals[:, :lead] = np.asarray(initial_pipeline, dtype=float)[:, :lead]
    on_hand = np.zeros(n)
    inventory, lost, sales, orders = (np.zeros((n, T)) for _ in range(4))
    for t in range(T):
        on_hand += arrivals[:, t]
        if t % review == 0:
            position = on_hand + arrivals[:, t + 1:t + lead].sum(axis=1)
            q = np.maximum(np.nan_to_num(order_up_to[:, t]) - position, 0.0)
            orders[:, t] = q
            if lead == 0:
                on_hand += q
            else:
                arrivals[:, t + lead] += q
        start = on_hand.copy()
        sales[:, t] = np.minimum(on_hand, demand[:, t])
        lost[:, t] = demand[:, t] - sales[:, t]
        on_hand -= sales[:, t]
        inventory[:, t] = (start + on_hand) / 2
    cycles = [range(t + lead, t + lead + review) for t in range(0, T, review) if t + lead + review <= T]
    stockout = np.stack([(lost[:, list(c)] > 1e-9).any(axis=1) for c in cycles], axis=1) if cycles else \
        np.zeros((n, 0), dtype=bool)
    return {"inventory": inventory, "lost": lost, "sales": sales, "orders": orders, "cycle_stockout": stockout,
            "demand": demand, "first": lead}


def policy_metrics(sim: dict, unit_cost: float, holding_rate: float, lost_sale_cost: float,
                   period_days: float) -> dict:
    """The benchmark's metrics over the periods after the first lead time (when every policy's own orders
    drive the stock): network totals per period for inventory, sums for lost sales and costs."""
    k = sim["first"]
    inv, lost, dem = sim["inventory"][:, k:], sim["lost"][:, k:], sim["demand"][:, k:]
    avg_units = float(inv.sum(axis=0).mean()) if inv.size else 0.0
    holding = float(inv.sum() * unit_cost * holding_rate * period_days / 365.0)
    lost_units = float(lost.sum())
    lost_cost = lost_units * lost_sale_cost
    return {"achieved_csl": float(1 - sim["cycle_stockout"].mean()) if sim["cycle_stockout"].size else float("nan"),
            "fill_rate": float(1 - lost_units / dem.sum()) if dem.sum() > 0 else 1.0,
            "avg_inventory_units": avg_units, "avg_inventory_value": avg_units * unit_cost,
            "lost_sales_units": lost_units, "holding_cost": holding, "lost_sales_cost": lost_cost,
            "total_cost": holding + lost_cost}


def series_inventory(sim: dict) -> np.ndarray:
    """Each series' average inventory over the periods :func:`policy_metrics` scores (their sum is its
    ``avg_inventory_units``)."""
    return sim["inventory"][:, sim["first"]:].mean(axis=1)


def excess_ratio_interval(ours: np.ndarray, other: np.ndarray, floor: np.ndarray, level: float = 0.95,
                          n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval, resampling series, of the excess inventory ratio
    ``sum(ours - floor) / sum(other - floor)`` from per-series average inventories (:func:`series_inventory`).
    The policies' levels are held as given (a tuned safety factor is not re-tuned in each resample)."""
    a, b = np.asarray(ours, dtype=float) - floor, np.asarray(other, dtype=float) - floor
    idx = np.random.default_rng(seed).integers(0, len(a), (n_boot, len(a)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = a[idx].sum(axis=1) / b[idx].sum(axis=1)
    lo, hi = np.nanquantile(ratios, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def match_service(make_levels: Callable[[float], np.ndarray], run: Callable[[np.ndarray], float], target: float,
                  lo: float, hi: float, iters: int = 40) -> float:
    """The factor in [lo, hi] whose policy's achieved cycle service level is closest to ``target`` from above
    (bisection: service grows with the factor)."""
    if run(make_levels(hi)) < target:
        return hi
    for _ in range(iters):
        mid = (lo + hi) / 2
        if run(make_levels(mid)) >= target:
            hi = mid
        else:
            lo = mid
    return hi
