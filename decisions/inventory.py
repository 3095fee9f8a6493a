"""Stocking policies from demand distributions: (R, S) order-up-to, (s, Q) reorder point, newsvendor.

Pure (numpy/pandas/scipy): the job (:mod:`jobs.inventory_job`) reads forecasts and inputs and saves the result;
the replay benchmark (``bench/inventory.py``) drives the same order rule period by period.

Conventions: quantities are in the forecasts' units; lead time, its sd, the review period and shelf life are
in days and converted to forecast periods (``period_days``: 1 daily, 7 weekly); the protection interval of a
periodic review is lead time + review period. The service target of a row is, in this order, its fill rate
(``target_fill_rate``), its cycle service level (``target_csl``), or the cost ratio
``lost_sale_cost / (lost_sale_cost + holding cost of a unit over one review period)``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from decisions.demand import WindowDemand, fitted_window

POLICIES = ("periodic", "continuous")
# Per-row inputs and the rule each must satisfy (checked by :func:`validate_params`).
_NON_NEGATIVE = ("on_hand", "on_order", "lead_time_days", "lead_time_sd_days", "unit_cost", "holding_rate",
                 "lost_sale_cost", "backorder_cost", "moq")
_POSITIVE = ("review_period_days", "shelf_life_days")
_PROBABILITY = ("target_csl", "target_fill_rate")
ORDER_COLUMNS = ["series_id", "store_id", "product_id", "policy", "service_basis", "target_csl", "on_hand",
                 "on_order", "inventory_position", "lead_time_days", "review_period_days", "distribution",
                 "demand_mean", "demand_sd", "safety_stock", "reorder_point", "order_up_to", "order_qty",
                 "order_value", "expected_fill_rate", "stockout_prob", "lead_time_stockout_prob", "at_risk",
                 "days_of_cover", "daily_demand", "method"]
METHODS = {"normal": "normal (interval sds + residual ACF)",
           "negative_binomial": "negative binomial (interval sds + residual ACF)",
           "poisson": "Poisson (low volume, not over-dispersed)"}


def _where(params: pd.DataFrame, bad: pd.Series, column: str, rule: str) -> str:
    row = params[bad].iloc[0]
    return (f"inventory_params: store {row.get('store_id', '?')!r}, product {row.get('product_id', '?')!r}, "
            f"column '{column}': {rule}, got {row[column]!r}")


def validate_params(params: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the first bad row and column: a negative on-hand, lead time or cost, a case
    pack below 1, a review period or shelf life <= 0, a service level outside (0, 1)."""
    for col in _NON_NEGATIVE:
        if col in params:
            v = pd.to_numeric(params[col], errors="coerce")
            if (v < 0).any():
                raise ValueError(_where(params, v < 0, col, "must not be negative"))
    for col in _POSITIVE:
        if col in params:
            v = pd.to_numeric(params[col], errors="coerce")
            if (v <= 0).any():
                raise ValueError(_where(params, v <= 0, col, "must be positive"))
    if "case_pack" in params:
        v = pd.to_numeric(params["case_pack"], errors="coerce")
        bad = v.notna() & ((v < 1) | (v != np.floor(v)))
        if bad.any():
            raise ValueError(_where(params, bad, "case_pack", "must be a whole number of at least 1"))
    for col in _PROBABILITY:
        if col in params:
            v = pd.to_numeric(params[col], errors="coerce")
            bad = v.notna() & ((v <= 0) | (v >= 1))
            if bad.any():
                raise ValueError(_where(params, bad, col, "a service level must lie strictly between 0 and 1"))


def round_order(raw, case_pack=1, moq=0) -> np.ndarray:
    """Order quantities: 0 where ``raw <= 0``, else ``max(raw, moq)`` rounded up to whole case packs."""
    raw = np.asarray(raw, dtype=float)
    cp = np.nan_to_num(np.asarray(case_pack, dtype=float), nan=1.0)
    moq = np.nan_to_num(np.asarray(moq, dtype=float), nan=0.0)
    if np.any(cp < 1):
        raise ValueError("case_pack must be at least 1")
    need = np.maximum(raw, moq)
    # a hair of tolerance so 10.000000001 units do not become one more case
    return np.where(raw > 1e-9, np.ceil(need / cp - 1e-9) * cp, 0.0)


def cost_csl(lost_sale_cost, unit_cost, holding_rate, review_days) -> np.ndarray:
    """The cost-optimal cycle service level of a periodic review with lost sales: ``b / (b + h R)``."""
    b = np.asarray(lost_sale_cost, dtype=float)
    h = np.asarray(unit_cost, dtype=float) * np.asarray(holding_rate, dtype=float) * np.asarray(review_days) / 365
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(b / (b + h), 0.5, 0.999)


def period_shortage(protect: WindowDemand, lead: WindowDemand | None, level) -> np.ndarray:
    """Expected units short per review cycle of an order-up-to ``level``: ``E(D_{L+R} - S)+ - E(D_L - S)+``."""
    short = protect.expected_shortage(level)
    if lead is not None:
        short = short - lead.expected_shortage(level)
    return np.maximum(short, 0.0)


def fill_rate_level(protect: WindowDemand, lead: WindowDemand | None, review_mean: np.ndarray,
                    target) -> np.ndarray:
    """The smallest cycle service level whose order-up-to level reaches the fill rate ``target`` (bisection)."""
    target = np.broadcast_to(np.asarray(target, dtype=float), protect.mean.shape)
    lo, hi = np.full(target.shape, 0.5), np.full(target.shape, 0.9995)
    for _ in range(18):
        mid = (lo + hi) / 2
        fill = 1 - period_shortage(protect, lead, protect.quantile(mid)) / np.maximum(review_mean, 1e-12)
        ok = fill >= target
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    return hi


def _column(params: pd.DataFrame, name: str, default=np.nan) -> np.ndarray:
    return pd.to_numeric(params[name], errors="coerce").to_numpy(dtype=float) if name in params else \
        np.full(len(params), default, dtype=float)


def service_levels(params: pd.DataFrame, protect: WindowDemand, lead: WindowDemand | None,
                   review_mean: np.ndarray, default_csl: float) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cycle service level and what set it ("fill_rate", "csl", "cost" or "default")."""
    fill, csl = _column(params, "target_fill_rate"), _column(params, "target_csl")
    cost = cost_csl(_column(params, "lost_sale_cost"), _column(params, "unit_cost"),
                    _column(params, "holding_rate"), _column(params, "review_period_days"))
    basis = np.where(np.isfinite(fill), "fill_rate", np.where(np.isfinite(csl), "csl",
                                                              np.where(np.isfinite(cost), "cost", "default")))
    level = np.where(np.isfinite(csl), csl, np.where(np.isfinite(cost), cost, default_csl))
    if np.isfinite(fill).any():
        by_fill = fill_rate_level(protect, lead, review_mean, np.where(np.isfinite(fill), fill, 0.9))
        level = np.where(np.isfinite(fill), by_fill, level)
    return level, basis


def recommend(params: pd.DataFrame, yhat: np.ndarray, sigma: np.ndarray, acf: np.ndarray | None,
              period_days: float, policy: str = "periodic", default_csl: float = 0.95) -> pd.DataFrame:
    """Today's stocking decision per row of ``params`` (one store x product; :data:`ORDER_COLUMNS`).

    ``yhat`` and ``sigma`` (rows x steps) are the point forecasts and per-step sds from today on, ``acf``
    the residual autocorrelations (rows x lags). ``order_value`` is NaN where no unit cost is known. Short
    shelf life (``shelf_life_days`` <= lead time + review period) switches a row to the newsvendor critical
    ratio ``b / (b + c)``.

    Long because it is one pass over the policy's formulas, each a line, in the order a planner reads them.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    validate_params(params)
    lt, lt_sd = _column(params, "lead_time_days", 0.0), np.nan_to_num(_column(params, "lead_time_sd_days"))
    rv = _column(params, "review_period_days", period_days)
    yhat = np.atleast_2d(np.asarray(yhat, dtype=float))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=float))
    n = len(params)
    protect_w, lead_w, rev_w = (lt + rv) / period_days, lt / period_days, rv / period_days
    per_period = np.clip(yhat[:, :max(1, int(np.ceil(protect_w.max())))], 0, None).mean(axis=1)
    mean, sd, lmean, lsd, rmean = (np.zeros(n) for _ in range(5))
    for key in np.unique(np.stack([protect_w, lead_w, rev_w], axis=1), axis=0):  # rows sharing a window
        rows = np.all(np.stack([protect_w, lead_w, rev_w], axis=1) == key, axis=1)
        acf_r = None if acf is None else np.atleast_2d(acf)[rows]
        p = fitted_window(yhat[rows], sigma[rows], key[0], acf_r, per_day=per_period[rows],
                          lead_time_sd=lt_sd[rows] / period_days)
        mean[rows], sd[rows] = p.mean, p.sd
        if key[1] > 0:
            q = fitted_window(yhat[rows], sigma[rows], key[1], acf_r, per_day=per_period[rows],
                              lead_time_sd=lt_sd[rows] / period_days)
            lmean[rows], lsd[rows] = q.mean, q.sd
        rmean[rows] = fitted_window(yhat[rows], sigma[rows], key[2], acf_r).mean
    protect = WindowDemand(mean, sd)
    lead = WindowDemand(lmean, lsd) if (lt > 0).any() else None
    csl, basis = service_levels(params, protect, lead, rmean, default_csl)
    shelf = _column(params, "shelf_life_days")
    perishable = np.isfinite(shelf) & (shelf <= lt + rv)
    cu, co = _column(params, "lost_sale_cost"), _column(params, "unit_cost")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.clip(np.where(np.isfinite(cu) & np.isfinite(co) & (cu + co > 0), cu / (cu + co), csl),
                        0.01, 0.999)
    csl = np.where(perishable, ratio, csl)
    basis = np.where(perishable, "newsvendor", basis)
    order_up_to = protect.quantile(csl)
    reorder = lead.quantile(csl) if lead is not None else np.zeros(n)
    on_hand, on_order = _column(params, "on_hand", 0.0), np.nan_to_num(_column(params, "on_order", 0.0))
    position = np.nan_to_num(on_hand) + on_order
    cp, moq = _column(params, "case_pack", 1.0), _column(params, "moq", 0.0)
    if policy == "periodic":
        raw = order_up_to - position
    else:  # (s, Q): when the position is at or below s, order a review period's demand up past s
        raw = np.where(position <= reorder, np.maximum(rmean, reorder - position + 1e-9), 0.0)
    raw = np.where(perishable, order_up_to - position, raw)
    qty = round_order(raw, cp, moq)
    after = position + qty
    short = period_shortage(protect, lead, after)
    daily = mean / np.maximum(lt + rv, 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        fill = np.clip(1 - short / np.maximum(rmean, 1e-12), 0.0, 1.0)
        cover = np.where(daily > 0, after / daily, np.inf)
    out = pd.DataFrame({
        "series_id": params["series_id"].to_numpy(), "store_id": params["store_id"].to_numpy(),
        "product_id": params["product_id"].to_numpy(),
        "policy": np.where(perishable, "newsvendor", policy), "service_basis": basis, "target_csl": csl,
        "on_hand": on_hand, "on_order": on_order, "inventory_position": position, "lead_time_days": lt,
        "review_period_days": rv, "distribution": protect.kind, "demand_mean": mean, "demand_sd": sd,
        "safety_stock": order_up_to - mean, "reorder_point": reorder, "order_up_to": order_up_to,
        "order_qty": qty, "order_value": qty * co, "expected_fill_rate": fill,
        "stockout_prob": 1 - protect.cdf(after),
        # at risk before anything ordered today can arrive: lead-time demand above what is on hand and on order
        "lead_time_stockout_prob": 1 - lead.cdf(position) if lead is not None else np.zeros(n),
        "days_of_cover": cover, "daily_demand": daily,
        "method": [METHODS.get(k, k) for k in protect.kind]})
    out["at_risk"] = out["lead_time_stockout_prob"] > 1 - csl + 1e-9
    return out[ORDER_COLUMNS]
