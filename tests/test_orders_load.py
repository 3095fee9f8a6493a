"""data.orders.load_order_lines: order lines from a frame summed into the facts, returns matched and netted, lines
kept, one transaction, idempotent re-import (SQLite and PostgreSQL)."""
from __future__ import annotations

import pandas as pd
import pytest

from data import orders, store
from data.ingest_common import IngestError


def _lines() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": ["1001", "1001", "1002", "C1001", "1003", "1004", "1005"],
        "customer": ["A", "A", "B", "A", "B", None, "A"],
        "date": ["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-01 12:00", "2024-01-02 09:00",
                 "2024-01-03 10:00", "2024-01-03", "2024-01-03 18:00"],
        "product": ["P1", "P2", "P1", "P1", "P1", "P2", "P2"],
        "store": ["S1", "S1", "S1", "S1", "S2", "S1", "S1"],
        "quantity": [2, 1, 1, -1, 3, -2, 4],
        "price": [10.0, 5.0, 10.0, 10.0, 10.0, 5.0, 5.0],
        "discount": [0.0, 0.2, 0.0, 0.0, 0.1, 0.0, 0.5],
    })


def _facts(url) -> pd.DataFrame:
    f = store.sales_facts(url)
    return f.set_index(["store_id", "product_id", f["date"].dt.strftime("%Y-%m-%d")]).sort_index()


@pytest.mark.backends("sqlite", "postgresql")
def test_lines_become_facts_with_returns_netted_and_are_kept(tmp_db):
    s = orders.load_order_lines(_lines(), dataset_name="shop", url=tmp_db, returns_prefix="C")
    assert s["message"] == "imported" and s["order_lines"] == 7 and s["orders"] == 6 and s["customers"] == 2
    r = s["returns"]
    # C1001 (1 unit of P1) is matched to order 1001; 1004's -2 of P2 has no sale of its own order and no customer
    assert (r["lines"], r["matched"], r["unmatched"], r["units"], r["unmatched_units"]) == (2, 1, 1, 3.0, 2.0)
    assert s["discount_kind"] == "rate"
    f = _facts(tmp_db)
    p1 = f.loc[("S1", "P1", "2024-01-01")]  # 2 x 10 + 1 x 10, less the returned unit of order 1001
    assert (p1["sales"], p1["units"], p1["promo"]) == (20.0, 2.0, 0)
    p2 = f.loc[("S1", "P2", "2024-01-03")]  # 4 x 5 at half price; 1004's unmatched return is not netted
    assert (p2["sales"], p2["units"], p2["promo"], p2["promo_intensity"]) == (10.0, 4.0, 1, 0.5)
    s2 = f.loc[("S2", "P1", "2024-01-03")]
    assert s2["sales"] == pytest.approx(27.0) and s2["promo_intensity"] == pytest.approx(0.1)
    kept = orders.read_order_lines(tmp_db)
    assert len(kept) == 7 and set(kept.columns) >= {"order_id", "customer", "date", "product", "store", "quantity",
                                                    "revenue", "discount"}
    ret = kept[kept["order_id"] == "C1001"].iloc[0]
    assert ret["is_return"] == 1 and ret["matched_order"] == "1001" and ret["quantity"] == -1
    assert kept.loc[kept["order_id"] == "1004", "customer"].isna().all()
    assert len(orders.read_order_lines(tmp_db, customer="A")) == 4
    again = orders.load_order_lines(_lines(), dataset_name="shop", url=tmp_db, returns_prefix="C")
    assert again["already_imported"] is True and len(orders.read_order_lines(tmp_db)) == 7


def test_a_later_export_matches_returns_to_stored_sales_and_overlaps_are_not_double_counted(tmp_db):
    lines = _lines()
    orders.load_order_lines(lines.iloc[:3], dataset_name="jan1", url=tmp_db, returns_prefix="C")
    later = orders.load_order_lines(lines.iloc[2:], dataset_name="jan2", url=tmp_db, returns_prefix="C")
    assert later["returns"]["matched"] == 1  # C1001's sale came with the first file
    f = _facts(tmp_db)
    assert f.loc[("S1", "P1", "2024-01-01"), "sales"] == 20.0  # order 1002 is in both files: counted once
    assert len(orders.read_order_lines(tmp_db)) == 7
    whole = orders.load_order_lines(lines, dataset_name="all", url=tmp_db, returns_prefix="C")
    assert whole["rows_changed"] == 0 and whole["order_lines"] == 7
    pd.testing.assert_frame_equal(_facts(tmp_db), f)


def test_dry_run_and_refusals_write_nothing(tmp_db):
    dry = orders.load_order_lines(_lines(), url=tmp_db, dry_run=True)
    assert dry["dry_run"] and dry["rows_written"] == 0 and not store.db_exists(tmp_db)
    bad = _lines().astype({"quantity": object})
    bad.loc[4, "quantity"] = "three"
    with pytest.raises(IngestError, match=r"line 6, column 'quantity': not a number: 'three'"):
        orders.load_order_lines(bad, url=tmp_db)
    no_product = _lines()
    no_product.loc[1, "product"] = None
    with pytest.raises(IngestError, match=r"line 3, column 'product': missing product id"):
        orders.load_order_lines(no_product, url=tmp_db)
    with pytest.raises(IngestError, match=r"--timezone: unknown time zone 'Mars/Olympus'"):
        orders.load_order_lines(_lines(), url=tmp_db, timezone="Mars/Olympus")
    with pytest.raises(IngestError, match=r"line 4, column 'discount': a discount rate of 100% or more: '150%'"):
        orders.load_order_lines(_lines().assign(discount=["0%", "20%", "150%", "0%", "10%", "0%", "50%"]), url=tmp_db)
    assert not store.db_exists(tmp_db)


def test_customer_column_empty_everywhere_turns_customers_off_with_a_note(tmp_db):
    lines = _lines().assign(customer=None)
    s = orders.load_order_lines(lines, url=tmp_db, returns_prefix="C", dry_run=True)
    assert s["customers"] is None and any("customer analytics are off" in n for n in s["notes"])
    assert s["returns"]["matched"] == 1  # C1001 still finds its order without a customer


def test_discount_amounts_are_detected_and_become_rates(tmp_db):
    lines = _lines().assign(discount=[0, 1.0, 0, 0, 3.0, 0, 10.0])
    s = orders.load_order_lines(lines, url=tmp_db, returns_prefix="C")
    assert s["discount_kind"] == "amount"
    f = _facts(tmp_db)
    assert f.loc[("S1", "P2", "2024-01-01"), "sales"] == 4.0  # 1 x 5 less 1.0 off
    assert f.loc[("S1", "P2", "2024-01-01"), "promo_intensity"] == pytest.approx(0.2)
    assert f.loc[("S2", "P1", "2024-01-03"), "sales"] == 27.0
