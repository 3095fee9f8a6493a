"""The inventory job: today's stocking recommendation per store x product from the current forecasts.

``run_inventory()`` is what ``python cli.py inventory`` runs. It reads the current run's bottom-level
forecasts (``data.results``), each series' residual autocorrelation (the run's diagnostics), the inputs
(``data.store.inventory_params()`` / ``on_order()``, or the ``SALES_INVENTORY_*`` defaults of ``config.py``
when those tables do not exist), computes the policy with :func:`decisions.inventory.recommend` and saves, at
level "all":

``inventory_orders`` (``domain.Frames.INVENTORY_ORDERS``)
    one row per store x product: :data:`decisions.inventory.ORDER_COLUMNS` (order-up-to level, reorder
    point, safety stock, recommended order rounded to case packs and at least the MOQ, expected fill rate,
    stockout probability in the cycle, the risk of a stockout within the lead time and ``at_risk`` when it
    exceeds 1 - target, projected days of cover, the demand ``method``) plus ``forecast_start`` (today).
``inventory_tradeoff`` (``domain.Frames.INVENTORY_TRADEOFF``)
    ``policy, target_csl, achieved_csl, avg_inventory_units, avg_inventory_value``: the expected
    service-vs-stock curve of today's network (policy "ours (expected)"); ``bench/inventory.py`` measures
    the replayed one.

Per-step sds come from the stored 95% intervals, widened (or narrowed) by
:func:`decisions.demand.coverage_factor` of the run's out-of-sample backtest coverage of those intervals
(:func:`backtest_coverage`), so the sd of the lead-time + review sum is ``sqrt(w' (sigma sigma' * R) w)`` with
the residual ACF ``R`` (see :mod:`decisions.demand`). ``bench/inventory.py`` replays exactly this construction
(``job_method`` in its JSON) and ``tests/test_inventory_honest.py`` keeps the two identical.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

import config
from data import store
from decisions import inventory
from decisions.demand import WindowDemand, coverage_factor
from domain import BOTTOM_LEVEL, Frames

TRADEOFF_TARGETS = (0.80, 0.85, 0.90, 0.925, 0.95, 0.97, 0.98, 0.99)
Z95 = 1.959963984540054


def default_params(nodes: pd.DataFrame, settings: config.Settings) -> pd.DataFrame:
    """Every bottom series with the ``SALES_INVENTORY_*`` defaults (no on-hand known: 0)."""
    return pd.DataFrame({
        "store_id": nodes["store_id"].astype(str).to_numpy(), "product_id": nodes["product_id"].astype(str).to_numpy(),
        "on_hand": 0.0, "lead_time_days": settings.inventory_lead_time_days, "lead_time_sd_days": 0.0,
        "review_period_days": settings.inventory_review_days, "unit_cost": settings.inventory_unit_cost,
        "holding_rate": settings.inventory_holding_rate, "lost_sale_cost": settings.inventory_lost_sale_cost,
        "target_csl": settings.inventory_target_csl, "target_fill_rate": np.nan, "moq": 0.0, "case_pack": 1.0,
        "shelf_life_days": np.nan})


def read_inputs(url: str | None, settings: config.Settings) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """``(params, on_order, source)``: the inventory inputs tables when the store has them, else the defaults."""
    if hasattr(store, "inventory_params") and hasattr(store, "on_order"):
        return store.inventory_params(url=url), store.on_order(url=url), "inventory_params"
    nodes = store.nodes(BOTTOM_LEVEL, url=url)
    empty = pd.DataFrame(columns=["store_id", "product_id", "arrival_date", "quantity"])
    return default_params(nodes, settings), empty, "config defaults (no inventory_params table in this database)"


def _on_order(params: pd.DataFrame, orders: pd.DataFrame, today: pd.Timestamp) -> np.ndarray:
    """Outstanding quantity per params row: orders arriving today or later (earlier ones are in on-hand)."""
    if orders is None or orders.empty:
        return np.zeros(len(params))
    o = orders.assign(arrival_date=pd.to_datetime(orders["arrival_date"]), store_id=orders["store_id"].astype(str),
                      product_id=orders["product_id"].astype(str))
    due = o[o["arrival_date"] >= today].groupby(["store_id", "product_id"])["quantity"].sum()
    key = pd.MultiIndex.from_arrays([params["store_id"].astype(str), params["product_id"].astype(str)])
    return due.reindex(key).fillna(0.0).to_numpy(dtype=float)


def _acf(series_ids, lags: int, url: str | None) -> np.ndarray:
    """Residual autocorrelations (series x lags) of each series' chosen model; 0 where none were stored."""
    out = np.zeros((len(series_ids), lags))
    for i, sid in enumerate(series_ids):
        diag = store.diagnostics(sid, url=url)
        if len(diag) and len(diag["acf"].iloc[0]):
            values = np.asarray(diag["acf"].iloc[0], dtype=float)
            values = values[1:] if np.isclose(values[0], 1.0) else values  # some stores keep lag 0
            out[i, :min(lags, len(values))] = values[:lags]
    return np.nan_to_num(out)


def forecast_matrices(forecasts: pd.DataFrame, series_ids) -> tuple[np.ndarray, np.ndarray]:
    """(yhat, sigma) as series x steps arrays in ``series_ids`` order; sigma from the 95% (else 80%) interval."""
    fc = forecasts.sort_values(["series_id", "ds"])
    fc = fc.assign(step=fc.groupby("series_id").cumcount())
    width = (fc["yhat_hi_95"] - fc["yhat_lo_95"]) / (2 * Z95)
    alt = (fc["yhat_hi_80"] - fc["yhat_lo_80"]) / (2 * 1.2815515655446004)
    fc = fc.assign(sigma=width.fillna(alt).clip(lower=0).fillna(0.0))
    yhat = fc.pivot(index="series_id", columns="step", values="yhat").reindex(series_ids)
    sigma = fc.pivot(index="series_id", columns="step", values="sigma").reindex(series_ids)
    return yhat.fillna(0.0).to_numpy(dtype=float), sigma.fillna(0.0).to_numpy(dtype=float)


def backtest_coverage(series_ids, url: str | None) -> float:
    """The pooled out-of-sample coverage of the 95% intervals of each series' chosen model in the current run's
    backtests (NaN when the run has none): what :func:`decisions.demand.coverage_factor` calibrates on."""
    bt = store.backtest_metrics(url=url)
    if bt.empty or "coverage_95" not in bt:
        return float("nan")
    bt = bt[bt["series_id"].isin(set(series_ids))]
    chosen = bt.merge(store.selections(url=url)[["series_id", "model"]], on=["series_id", "model"])
    values = pd.to_numeric((chosen if len(chosen) else bt)["coverage_95"], errors="coerce")
    return float(values.mean()) if values.notna().any() else float("nan")


def _column_or_nan(params: pd.DataFrame, name: str) -> np.ndarray:
    if name not in params:
        return np.full(len(params), np.nan)
    return pd.to_numeric(params[name], errors="coerce").to_numpy(dtype=float)


def tradeoff(orders: pd.DataFrame, unit_cost: np.ndarray) -> pd.DataFrame:
    """The expected curve: for each target CSL, the network's expected CSL and average on-hand (safety stock
    plus half a review period's demand)."""
    protect = WindowDemand(orders["demand_mean"].to_numpy(), orders["demand_sd"].to_numpy())
    review = orders["daily_demand"].to_numpy() * orders["review_period_days"].to_numpy()
    rows = []
    for q in TRADEOFF_TARGETS:
        level = protect.quantile(q)
        units = np.maximum(level - protect.mean, 0.0) + review / 2
        known = np.isfinite(unit_cost)  # value only where unit costs are known (NaN when none is)
        rows.append({"policy": "ours (expected)", "target_csl": q, "achieved_csl": float(protect.cdf(level).mean()),
                     "avg_inventory_units": float(units.sum()),
                     "avg_inventory_value": float((units * unit_cost)[known].sum()) if known.any() else np.nan})
    return pd.DataFrame(rows)


def run_inventory(url: str | None = None, policy: str | None = None, save: bool = True) -> dict:
    """Compute (and with ``save`` store) today's recommendations; returns a summary for the CLI."""
    settings = config.load()
    policy = policy or settings.inventory_policy
    forecasts = store.forecasts_for_level(BOTTOM_LEVEL, url=url)
    if forecasts.empty:
        raise ValueError("there are no forecasts: run `python cli.py refresh` first")
    params, orders, source = read_inputs(url, settings)
    if params.empty:
        raise ValueError("there are no store x product rows to plan: import sales and run `python cli.py refresh`")
    params = params.copy()
    params["series_id"] = [store.node_id(BOTTOM_LEVEL, store_id=str(s), product_id=str(p))
                           for s, p in zip(params["store_id"], params["product_id"])]
    missing = ~params["series_id"].isin(set(forecasts["series_id"]))
    if missing.any():
        row = params[missing].iloc[0]
        raise ValueError(f"inventory_params: store {row['store_id']!r}, product {row['product_id']!r} has no "
                         f"forecast in the current run ({int(missing.sum())} row(s) without one): run "
                         "`python cli.py refresh` or remove the row")
    today = pd.Timestamp(forecasts["ds"].min())
    params["on_order"] = _on_order(params, orders, today)
    freq = store.frequency(url)
    period_days = 7.0 if freq == "W" else 1.0
    yhat, sigma = forecast_matrices(forecasts, params["series_id"])
    coverage = backtest_coverage(params["series_id"], url)
    sigma = sigma * coverage_factor(coverage)  # intervals that covered 90% instead of 95% are widened
    acf = _acf(params["series_id"], max(1, yhat.shape[1] - 1), url)
    result = inventory.recommend(params, yhat, sigma, acf, period_days, policy, settings.inventory_target_csl)
    result["forecast_start"] = today.date().isoformat()
    cost = _column_or_nan(params, "unit_cost")
    curve = tradeoff(result, cost)
    if save:
        with store.session_scope(url=url) as session:
            store.save_frame(session, Frames.INVENTORY_ORDERS, "all", result)
            store.save_frame(session, Frames.INVENTORY_TRADEOFF, "all", curve)
    placing = result[result["order_qty"] > 0]
    at_risk = result[result["at_risk"]]
    return {"series": int(len(result)), "policy": policy, "inputs": source, "forecast_start": str(today.date()),
            "orders_to_place": int(len(placing)), "order_units": float(placing["order_qty"].sum()),
            "order_value": float(placing["order_value"].sum(min_count=1)), "at_risk_in_lead_time": int(len(at_risk)),
            "distributions": result["distribution"].value_counts().to_dict(), "saved": save,
            "interval_coverage_95": None if np.isnan(coverage) else round(coverage, 4),
            "sd_factor": round(float(coverage_factor(coverage)), 4),
            "top_orders": placing.sort_values("order_value", ascending=False).head(10)[
                ["store_id", "product_id", "order_qty", "order_up_to", "safety_stock", "stockout_prob"]
            ].round(3).to_dict("records")}


def format_summary(summary: dict) -> str:
    """The CLI's text output."""
    cov = summary["interval_coverage_95"]
    covered = "an unknown share" if cov is None else f"{cov:.1%}"
    lines = [f"Inventory plan from {summary['forecast_start']} ({summary['policy']} review, "
             f"inputs: {summary['inputs']})",
             f"  {summary['series']} store x product rows; {summary['orders_to_place']} orders to place today, "
             f"{summary['order_units']:.0f} units, value {summary['order_value']:.2f}",
             f"  {summary['at_risk_in_lead_time']} rows at risk of a stockout before today's order can arrive",
             f"  demand sds x {summary['sd_factor']:.3f} (the run's backtest 95% intervals covered {covered})",
             "  saved: inventory_orders, inventory_tradeoff" if summary["saved"] else "  not saved (--no-save)"]
    return "\n".join(lines)
