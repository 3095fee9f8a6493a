"""The data-access module: schema round-trip, series keys, aggregates and frame storage on hand-made data."""
from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from data import schema, store
from domain import ALL

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)


def _load_tiny(url: str) -> None:
    """Two stores in two regions x two products in two categories x 4 days, one holiday, regional weather."""
    store.init_db(url)
    dates = pd.date_range("2022-03-01", periods=4)
    with store.session_scope(url=url) as s:
        store.upsert_frame(s, schema.StoreDim, pd.DataFrame(
            {"store_id": ["1", "2"], "name": ["One", "Two"], "region": ["N", "S"], "type": ["A", "B"],
             "size": [100.0, 50.0]}))
        store.upsert_frame(s, schema.ProductDim, pd.DataFrame(
            {"product_id": ["a", "b"], "name": ["Apple", "Bread"], "category": ["Fruit", "Bakery"]}))
        rows = [{"store_id": st, "product_id": p, "date": d, "sales": float(i + 1), "promo": int(p == "a"),
                 "is_open": 1}
                for i, (st, p, d) in enumerate((st, p, d) for st in "12" for p in "ab" for d in dates)]
        store.upsert_frame(s, schema.Sale, pd.DataFrame(rows))
        store.upsert_frame(s, schema.Weather, pd.DataFrame(
            {"scope": ["region"] * 8, "scope_id": ["N"] * 4 + ["S"] * 4, "date": list(dates) * 2,
             "temp_c": [10.0] * 4 + [20.0] * 4, "precip_mm": [0.0] * 8}))
        store.upsert_frame(s, schema.CalendarEvent, pd.DataFrame(
            {"date": [dates[1]], "scope": ["all"], "scope_id": [ALL], "name": ["Fest"], "kind": ["holiday"]}))
        store.rebuild_aggregates(s)


@pytest.fixture
def tiny(tmp_db):
    _load_tiny(tmp_db)
    return tmp_db


def test_schema_round_trip(tiny):
    sales = store.sales_facts(url=tiny)
    assert len(sales) == 16
    assert set(sales.columns) >= {"store_id", "product_id", "region", "category", "date", "sales", "promo"}
    assert sales["date"].dtype.kind == "M"
    assert store.stores(url=tiny)["region"].tolist() == ["N", "S"]


def test_upsert_is_idempotent_and_updates(tiny):
    before = store.data_hash(url=tiny)
    row = pd.DataFrame([{"store_id": "1", "product_id": "a", "date": pd.Timestamp("2022-03-01"), "sales": 1.0,
                         "promo": 1, "is_open": 1}])
    with store.session_scope(url=tiny) as s:
        store.upsert_frame(s, schema.Sale, row)
    assert store.data_hash(url=tiny) == before  # same values: nothing changed
    with store.session_scope(url=tiny) as s:
        store.upsert_frame(s, schema.Sale, row.assign(sales=99.0))
    assert store.counts(url=tiny)["rows"] == 16
    assert store.data_hash(url=tiny) != before


def test_failed_transaction_writes_nothing(tiny):
    with pytest.raises(RuntimeError):
        with store.session_scope(url=tiny) as s:
            store.upsert_frame(s, schema.StoreDim, pd.DataFrame({"store_id": ["9"], "name": ["Nine"]}))
            raise RuntimeError("boom")
    assert "9" not in store.stores(url=tiny)["store_id"].tolist()


@pytest.mark.parametrize("key, level", [
    ("total", "total"), ("region=N", "region"), ("store=1", "store"), ("category=Fruit", "category"),
    ("product=a", "product"), ("store=1/category=Fruit", "store_category"), ("store=1/product=a", "store_product")])
def test_series_keys_round_trip(key, level):
    info = store.parse_node_id(key)
    assert info["level"] == level
    parts = {k: v for k, v in info.items() if k != "level"}
    assert store.node_id(level, **parts) == key


def test_bad_series_key_is_rejected():
    with pytest.raises(ValueError, match="series key"):
        store.parse_node_id("aisle=3")


def test_aggregates_add_up(tiny):
    facts = store.sales_facts(url=tiny)
    total = store.series("total", url=tiny)
    expected = facts.groupby("date")["sales"].sum().to_numpy()
    assert total["y"].to_numpy() == pytest.approx(expected)
    regions = store.level_frame("region", url=tiny)
    assert regions.groupby("ds")["y"].sum().to_numpy() == pytest.approx(expected)
    sc = store.level_frame("store_category", url=tiny)
    assert sorted(sc["series_id"].unique()) == ["store=1/category=Bakery", "store=1/category=Fruit",
                                                "store=2/category=Bakery", "store=2/category=Fruit"]


def test_aggregates_carry_weather_and_holidays(tiny):
    total = store.series("total", url=tiny)
    assert total["temp_c"].tolist() == pytest.approx([15.0] * 4)  # mean of the two regions' stores
    assert total["is_holiday"].tolist() == [0, 1, 0, 0]
    north = store.series("region=N", url=tiny)
    assert north["temp_c"].tolist() == pytest.approx([10.0] * 4)
    bottom = store.series("store=2/product=b", url=tiny)
    assert bottom["temp_c"].tolist() == pytest.approx([20.0] * 4)
    assert bottom["promo"].tolist() == [0, 0, 0, 0]


def test_series_date_filter(tiny):
    df = store.series("store=1", start="2022-03-02", end="2022-03-03", url=tiny)
    assert df["ds"].dt.strftime("%Y-%m-%d").tolist() == ["2022-03-02", "2022-03-03"]


def test_nodes_cover_the_hierarchy(tiny):
    nodes = store.nodes(url=tiny)
    assert nodes["level"].value_counts().to_dict() == {
        "total": 1, "region": 2, "store": 2, "category": 2, "product": 2, "store_category": 4, "store_product": 4}
    assert store.nodes("store", url=tiny, region="S")["node_id"].tolist() == ["store=2"]


def test_save_and_load_frame(tiny):
    df = pd.DataFrame({"group": ["a", "b"], "estimate": [0.1, -0.2]})
    with store.session_scope(url=tiny) as s:
        store.save_frame(s, "effects", "category", df)
    assert_frame_equal(store.load_frame("effects", "category", url=tiny), df)
    assert store.load_frame("missing", "category", url=tiny) is None


def test_db_exists_does_not_create_a_file(tmp_path):
    path = tmp_path / "none.db"
    assert not store.db_exists(str(path))
    assert not path.exists()


def test_data_version_changes_with_imports_runs_and_effects(tiny):
    seen = [store.data_version(tiny)]

    def changed() -> None:
        seen.append(store.data_version(tiny))
        assert seen[-1] != seen[-2]
        assert store.data_version(tiny) == seen[-1]  # stable while nothing is written

    with store.session_scope(url=tiny) as s:
        store.upsert_frame(s, schema.Dataset, pd.DataFrame([{
            "name": "tiny", "source": "test", "frequency": "D", "content_hash": "x",
            "imported_at": pd.Timestamp("2022-03-05")}]))
    changed()  # an import
    store.create_run("r1", {}, None, "test", url=tiny)
    changed()  # a refresh starts
    store.publish_run("r1", 1, 1.0, url=tiny)
    changed()  # ... and is published
    store.create_run("r2", {}, None, "test", url=tiny)
    changed()
    store.mark_failed("r2", "boom", url=tiny)
    changed()  # a failed refresh
    with store.session_scope(url=tiny) as s:
        store.save_frame(s, "effects", "category", pd.DataFrame({"a": [1]}))
    changed()  # an effects run


def test_data_version_of_an_empty_database(tmp_path):
    url = str(tmp_path / "empty.db")
    before = store.data_version(url)
    store.init_db(url)
    assert store.data_version(url) != before


def test_resolve_url_follows_sales_db(tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_DB", str(tmp_path / "a.db"))
    assert store.resolve_url() == f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("SALES_DB", str(tmp_path / "b.db"))
    assert store.resolve_url() == f"sqlite:///{tmp_path / 'b.db'}"
    assert store.resolve_url("sqlite:///x.db") == "sqlite:///x.db"


def test_node_ids_filter_the_hierarchy(tiny):
    assert store.node_ids("store", url=tiny) == ["store=1", "store=2"]
    assert store.node_ids("store", region="S", url=tiny) == ["store=2"]
    assert store.node_ids("store_product", stores=["1"], products=["b"], url=tiny) == ["store=1/product=b"]
    assert store.node_ids("product", category="Fruit", url=tiny) == ["product=a"]


def test_portable_writers_store_what_the_sqlite_fast_path_stores(tmp_path, monkeypatch):
    from data import writers
    fast = str(tmp_path / "fast.db")
    _load_tiny(fast)
    monkeypatch.setattr(writers, "driver_fast_path", lambda session: False)
    portable = str(tmp_path / "portable.db")
    _load_tiny(portable)
    assert_frame_equal(store.sales_facts(url=portable), store.sales_facts(url=fast))
    for level in ("total", "region", "store_category"):
        assert_frame_equal(store.level_frame(level, url=portable), store.level_frame(level, url=fast))
    assert_frame_equal(store.bottom_frame(url=portable), store.bottom_frame(url=fast))
    assert_frame_equal(store.nodes(url=portable), store.nodes(url=fast))
