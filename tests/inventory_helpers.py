"""Test helper: the frames `python cli.py inventory` saves (its columns, per the issue 14 contract), written by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data import store
from domain import Frames


def write_inventory_frames(url: str, tradeoff: bool = True) -> pd.DataFrame:
    """Save a recommendation row for every bottom series (every third one at risk) and a trade-off curve."""
    params = store.inventory_params(url)
    n = len(params)
    i = np.arange(n)
    mean, sd = 20.0 + i, 4.0 + 0.1 * i
    safety = 1.645 * sd
    orders = pd.DataFrame({
        "store_id": params["store_id"], "product_id": params["product_id"], "on_hand": 5.0 + i,
        "on_order": np.where(i % 2 == 0, 3.0, 0.0), "lead_time_days": 3.0, "review_period_days": 1.0,
        "demand_mean": mean, "demand_sd": sd, "safety_stock": safety, "reorder_point": 15.0 + i,
        "order_up_to": mean + safety, "order_qty": np.where(i % 4 == 3, 0.0, 6.0 * (i % 5 + 1)),
        "expected_fill_rate": 0.97, "stockout_prob": 0.05 + 0.02 * (i % 3 == 0) + 0.001 * i,
        "days_of_cover": 2.0 + 0.5 * i, "at_risk": i % 3 == 0, "policy": "RS", "method": "bootstrap"})
    with store.session_scope(url=url) as s:
        store.save_frame(s, Frames.INVENTORY_ORDERS, "all", orders)
        if tradeoff:
            rows = [{"policy": p, "target_csl": t, "achieved_csl": t - d, "avg_inventory_units": base + 40 * t,
                     "avg_inventory_value": (base + 40 * t) * 2.5}
                    for p, d, base in (("ours", 0.01, 10), ("naive", 0.02, 14), ("rule", 0.0, 20),
                                       ("perfect", 0.0, 5))
                    for t in (0.8, 0.9, 0.95, 0.99)]
            store.save_frame(s, Frames.INVENTORY_TRADEOFF, "all", pd.DataFrame(rows))
    return orders
