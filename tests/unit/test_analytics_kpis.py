"""Overview KPI rules and Explore drill-down rules on hand-built inputs (no database)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics import drilldown, kpis


def test_comparison_periods_align_weekdays():
    p = kpis.comparison_periods(pd.Timestamp("2024-03-28"), 28)
    assert p["current"] == (dt.date(2024, 3, 1), dt.date(2024, 3, 28))
    assert p["previous"] == (dt.date(2024, 2, 2), dt.date(2024, 2, 29))
    assert p["last_year"] == (dt.date(2023, 3, 3), dt.date(2023, 3, 30))
    assert p["last_year"][0].weekday() == p["current"][0].weekday()


def test_forecast_and_accuracy_kpis():
    fc = pd.DataFrame({"ds": pd.to_datetime(["2024-01-01", "2024-01-02"]), "yhat": [1.0, 2.0],
                       "yhat_lo_80": [0.5, 1.5], "yhat_hi_80": [1.5, 2.5], "yhat_lo_95": [0.0, None],
                       "yhat_hi_95": [2.0, 3.0]})
    out = kpis.forecast_kpis(fc)
    assert out["fc_total"] == 3.0 and out["fc_lo_80"] == 2.0 and out["fc_lo_95"] is None
    assert out["horizon_n"] == 2 and kpis.forecast_kpis(fc.iloc[0:0]) == {}
    w = pd.DataFrame({"series_id": ["total", "a", "b"], "wape": [0.1, 0.3, None]})
    assert kpis.accuracy_kpis(w) == {"wape_total": 0.1, "wape_median": pytest.approx(0.2), "wape_n": 2}


def test_rank_movers_leaves_out_undefined_growth_and_never_repeats_a_node():
    sales = pd.DataFrame({"node_id": list("abcd"), "label": list("ABCD"), "category": ["x"] * 4,
                          "sales": [20.0, 5.0, 10.0, 1.0], "prev_sales": [10.0, 10.0, 10.0, 0.0]})
    out = kpis.rank_movers(sales, 2)
    assert list(out["node_id"]) == ["a", "c", "b"]
    assert list(out["rank"]) == ["top", "top", "bottom"]
    assert_frame_equal(out[["growth"]], pd.DataFrame({"growth": [1.0, 0.0, -0.5]}))


NODES = {"region": ["region=N"], "store": ["store=1", "store=2"], "store_category": ["store=1/category=F"],
         "store_product": ["store=1/product=a", "store=1/product=b"], "category": ["category=F"],
         "product": ["product=a", "product=b"]}


def _fake_node_ids(level, region=None, stores=(), category=None, products=()):
    return list(NODES[level])


def test_drilldown_skips_single_region_and_single_category_levels():
    assert drilldown.select_nodes(None, (), None, (), _fake_node_ids) == {
        "nodes": ["total"], "children": ["store=1", "store=2"], "child_level": "store"}
    assert drilldown.select_nodes(None, ["1"], None, (), _fake_node_ids) == {
        "nodes": ["store=1", "store=2"], "children": ["store=1/product=a", "store=1/product=b"],
        "child_level": "store_product"}
    assert drilldown.select_nodes(None, (), "F", (), _fake_node_ids)["child_level"] == "product"


def test_drilldown_refuses_huge_selections():
    def many(level, **_):
        return [f"n{i}" for i in range(drilldown.MAX_NODES + 1)]
    with pytest.raises(ValueError, match="narrow it"):
        drilldown.select_nodes(None, (), None, ["p"], many)
