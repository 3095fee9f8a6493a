"""Price elasticity (analytics.elasticity) on hand-built panels with a known constant elasticity."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import elasticity


def _panel(eps: float = -1.5, n_stores: int = 4, days: int = 500, seed: int = 0, fixed_price_product: bool = False):
    """Products A and B (category X) in ``n_stores`` stores: regular price steps every 50 days plus promotion
    runs at depths 0.1-0.3; ``log units = level + eps * log price + weekly + noise``, sales = units x price.
    With ``fixed_price_product`` a product C whose price never changes is added."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-01", periods=days, freq="D")
    rows = []
    products = ["A", "B"] + (["C"] if fixed_price_product else [])
    for s in range(n_stores):
        for p in products:
            base = {"A": 3.0, "B": 8.0, "C": 5.0}[p]
            steps = np.exp(rng.normal(0, 0.08, days // 50 + 1)).repeat(50)[:days] if p != "C" else np.ones(days)
            depth = np.zeros(days)
            if p != "C":
                for start in rng.integers(0, days - 7, 12):
                    depth[start:start + 5] = rng.choice([0.1, 0.2, 0.3])
            price = base * steps * (1 - depth)
            log_units = 3 + rng.normal(0, 0.3) + eps * np.log(price) + 0.1 * (ds.dayofweek >= 5) \
                + rng.normal(0, 0.1, days)
            units = np.exp(log_units)
            rows.append(pd.DataFrame({"series_id": f"store={s}/product={p}", "store_id": str(s), "product_id": p,
                                      "category": "X", "ds": ds, "y": units * price, "price": price,
                                      "promo": (depth > 0).astype(int), "promo_intensity": depth, "is_open": 1}))
    return pd.concat(rows, ignore_index=True)


def test_recovers_a_constant_elasticity_per_category_and_product():
    out = elasticity.price_elasticity(_panel(-1.5), "D")
    assert list(out["product_id"]) == ["*", "A", "B"]
    for r in out.itertuples():
        assert r.ci_low <= -1.5 <= r.ci_high, r
        assert r.ci_high - r.ci_low < 0.3
    assert out["unit"].eq(elasticity.UNIT).all()
    assert out.loc[0, "ref_depth"] == pytest.approx(0.2)


def test_product_without_price_changes_gets_no_row_but_the_category_does():
    out = elasticity.price_elasticity(_panel(-0.8, fixed_price_product=True), "D")
    assert "C" not in set(out["product_id"])
    cat = out[out["product_id"] == "*"].iloc[0]
    assert cat["ci_low"] <= -0.8 <= cat["ci_high"]


def test_no_price_variation_no_estimate():
    frame = _panel()
    frame["price"] = frame.groupby("series_id")["price"].transform("median")
    assert elasticity.price_elasticity(frame, "D").empty
    assert elasticity.price_elasticity(frame.drop(columns="price"), "D").empty


def test_reference_depth_is_the_median_depth_of_promoted_rows():
    frame = pd.DataFrame({"promo": [0, 1, 1, 1, 0], "promo_intensity": [0, 0.1, 0.3, 0.3, 0]})
    assert elasticity.reference_depth(frame) == pytest.approx(0.3)
    assert np.isnan(elasticity.reference_depth(frame.drop(columns="promo_intensity")))
    rows = elasticity.records(elasticity.price_elasticity(_panel(), "D"))
    assert rows[0]["product_id"] == "*" and isinstance(rows[0]["n"], int)
    assert any("Price elasticity" in line for line in elasticity.format_rows(rows))
