"""The plan store: writes at any grain, field-by-field expansion to the bottom series, deletes, the change log."""
from __future__ import annotations

import pandas as pd
import pytest

from data import plans, store
from domain import ALL
from tests.conftest import clear_plan

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)


def _series():
    return pd.DataFrame({"store_id": ["1", "1", "2", "2"], "product_id": ["A", "B", "A", "B"],
                         "category": ["Food", "Toys", "Food", "Toys"]})


def _rows(*rows):
    cols = ["store_id", "product_id", "category", "date", *plans.PLAN_FIELDS]
    out = pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols)
    out["date"] = pd.to_datetime(out["date"])
    return out


def test_most_specific_grain_wins_field_by_field():
    rows = _rows(
        (ALL, ALL, ALL, "2024-01-01", None, None, None, 1, "Sale week", None),           # everything, open
        ("1", ALL, "Food", "2024-01-01", 1, 0.2, None, None, None, None),                 # store 1 x Food
        (ALL, "A", ALL, "2024-01-01", None, None, 9.5, None, None, 4.0),                  # product A everywhere
        ("1", "A", ALL, "2024-01-01", 1, 0.3, None, None, None, None),                    # store 1 x A
        ("2", ALL, ALL, "2024-01-01", None, None, None, 0, None, None),                   # store 2 closed
    )
    out = plans.expand(rows, _series()).set_index(["store_id", "product_id"])
    assert len(out) == 4
    a1 = out.loc[("1", "A")]
    assert (a1.promo, a1.promo_intensity, a1.price, a1.is_open, a1.event, a1.unit_cost) == (1, 0.3, 9.5, 1,
                                                                                           "Sale week", 4.0)
    b1 = out.loc[("1", "B")]  # Toys: the store x Food row does not apply
    assert pd.isna(b1.promo) and b1.is_open == 1
    assert out.loc[("2", "A")].is_open == 0 and out.loc[("2", "A")].price == 9.5  # store row beats all-stores row
    assert out.loc[("2", "B")].is_open == 0


def test_category_in_all_stores_and_empty_inputs():
    rows = _rows((ALL, ALL, "Toys", "2024-02-03", 1, 0.1, None, None, None, None))
    out = plans.expand(rows, _series())
    assert sorted(out["store_id"] + out["product_id"]) == ["1B", "2B"]
    assert plans.expand(rows.iloc[:0], _series()).empty
    assert list(plans.expand(rows.iloc[:0], _series()).columns) == ["store_id", "product_id", "date",
                                                                    *plans.PLAN_FIELDS]


def test_write_read_delete_and_log(small_demo_db):
    url = small_demo_db
    clear_plan(url)  # the demo plans its promotions: start from an empty plan and log
    version0 = store.data_version(url)
    sp = store.nodes(level="store_product", url=url).iloc[0]
    rows = pd.DataFrame({"store_id": sp.store_id, "product_id": sp.product_id,
                         "date": pd.date_range("2031-01-01", periods=3), "promo": 1, "promo_intensity": 0.2})
    assert store.write_plan(rows, source="manual", url=url) == 3
    assert store.data_version(url) != version0
    got = store.expanded_plan("2031-01-01", "2031-01-31", url=url)
    assert len(got) == 3 and (got["promo"] == 1).all() and got["date"].dt.year.eq(2031).all()
    # an upsert replaces the same scope and date, it does not duplicate
    store.write_plan(rows.assign(promo_intensity=0.3), url=url)
    assert store.plan_rows(url=url)["promo_intensity"].tolist() == [0.3, 0.3, 0.3]
    n = store.delete_plan(sp.store_id, sp.product_id, ALL, "2031-01-02", None, url=url)
    assert n == 2 and len(store.plan_rows(url=url)) == 1
    log = store.plan_changes(url=url)
    assert log["action"].tolist() == ["delete", "write", "write"]
    assert log.iloc[0]["store_id"] == sp.store_id and log.iloc[0]["rows"] == 2


def test_refuses_unknown_columns_and_repeats(tmp_db):
    with pytest.raises(ValueError, match="unknown columns"):
        plans.write_plan(pd.DataFrame({"store_id": ["1"], "date": ["2024-01-01"], "discount": [0.1]}), url=tmp_db)
    twice = pd.DataFrame({"store_id": ["1", "1"], "date": ["2024-01-01"] * 2, "promo": [1, 0]})
    with pytest.raises(ValueError, match="repeat"):
        plans.write_plan(twice, url=tmp_db)
    assert plans.plan_rows(url=tmp_db).empty
