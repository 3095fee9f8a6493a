"""Projected stock of one store x product over the forecast horizon (the Inventory page's projection chart).

Expected stock at the end of each day: what is on hand, plus the open orders that have arrived, plus today's
recommended order once its lead time has passed, minus the forecast demand, with lost sales (stock never goes
below zero: demand that finds an empty shelf is lost, not carried). It uses the mean forecast only: it shows
where the stock is heading, not its uncertainty (the page shows the demand bands beside it; the policy's safety
stock, computed from the whole lead-time demand distribution, is what covers that uncertainty).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def project_stock(forecast: pd.DataFrame, on_hand: float, orders: pd.DataFrame | None = None,
                  order_qty: float = 0.0, lead_time_days: float = 0.0) -> pd.DataFrame:
    """Period-by-period (daily or weekly) expected stock with and without today's recommended order.

    Parameters
    ----------
    forecast : DataFrame
        ``ds`` (the days after today, in order) and ``yhat`` (mean demand per day; negative values count as 0).
    on_hand : float
        Stock on hand today, before the first forecast day.
    orders : DataFrame, optional
        Open orders ``arrival_date, quantity``; an order arrives at the start of its day, one dated before the
        first forecast day arrives on the first day.
    order_qty, lead_time_days : float
        Today's recommended order and its lead time: it arrives in the first period that starts
        ``ceil(lead_time_days)`` days or more after today (today = one period before the first forecast day).

    Returns
    -------
    DataFrame
        ``ds, demand, arrivals, stock_without_order, stock_with_order`` (``arrivals`` are the open orders only).
    """
    if forecast.empty:
        return pd.DataFrame(columns=["ds", "demand", "arrivals", "stock_without_order", "stock_with_order"])
    days = pd.to_datetime(forecast["ds"]).reset_index(drop=True)
    demand = np.clip(pd.to_numeric(forecast["yhat"]).fillna(0).to_numpy(dtype=float), 0, None)
    arrivals = np.zeros(len(days))
    if orders is not None and len(orders):
        when = pd.to_datetime(orders["arrival_date"]).to_numpy()
        slot = np.searchsorted(days.to_numpy(), when, side="left")
        for i, qty in zip(slot, pd.to_numeric(orders["quantity"]).to_numpy(dtype=float)):
            if i < len(days):
                arrivals[i] += qty
    step = days.diff().min() if len(days) > 1 else pd.Timedelta(days=1)
    due = days.iloc[0] - step + pd.Timedelta(days=float(np.ceil(max(lead_time_days, 0.0))))
    recommended = np.zeros(len(days))
    slot = int(np.searchsorted(days.to_numpy(), np.datetime64(due), side="left"))
    if slot < len(days):
        recommended[slot] = float(order_qty or 0.0)
    return pd.DataFrame({"ds": days, "demand": demand, "arrivals": arrivals,
                         "stock_without_order": _lost_sales_path(on_hand, arrivals, demand),
                         "stock_with_order": _lost_sales_path(on_hand, arrivals + recommended, demand)})


def _lost_sales_path(on_hand: float, arrivals: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """End-of-day stock when arrivals come in the morning and unmet demand is lost."""
    stock = np.empty(len(demand))
    level = max(float(on_hand or 0.0), 0.0)
    for i in range(len(demand)):
        level = max(level + arrivals[i] - demand[i], 0.0)
        stock[i] = level
    return stock
