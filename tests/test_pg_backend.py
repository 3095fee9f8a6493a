"""PostgreSQL for real: the writers' COPY paths against the SQLite fast path, sequences, locks, the schema race,
refused writes that leave the database unchanged, accounts and audit, and the cross-back-end equality of the
demo. Every test here runs on PostgreSQL (tests/conftest.py: SALES_TEST_PG_URL or a throwaway cluster) and is
skipped with the reason when neither is available."""
from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from data import accounts, demo, ingest, schema, store, writers
from data.engine import has_table, read_frame
from tests.pg_cluster import content_digest

pytestmark = pytest.mark.backends("postgresql")


def _dims(url: str) -> None:
    store.init_db(url)
    with store.session_scope(url=url) as s:
        store.upsert_frame(s, schema.StoreDim, pd.DataFrame({"store_id": ["1", "2"], "name": ["A", ""],
                                                             "region": ["N", "S"]}))
        store.upsert_frame(s, schema.ProductDim, pd.DataFrame({"product_id": ["a", "b\\N"], "name": ["x", "y"],
                                                               "category": ["C", "C"]}))


def _sales(n_days: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=n_days)
    rows = [pd.DataFrame({"store_id": st, "product_id": p, "date": dates, "sales": rng.gamma(2, 9, n_days).round(3),
                          "units": np.where(rng.random(n_days) < 0.1, np.nan, 3.0),
                          "promo": (rng.random(n_days) < 0.2).astype(float),  # floats into an INTEGER column
                          "price": 2.5}) for st in ("1", "2") for p in ("a", "b\\N")]
    return pd.concat(rows, ignore_index=True)  # no is_open: its Python-side default (1) must be filled


def _facts(url: str) -> pd.DataFrame:
    df = read_frame(select(schema.Sale.__table__), url, typed=True)
    df["date"] = pd.to_datetime(df["date"])
    return df.sort_values(["store_id", "product_id", "date"], ignore_index=True)


def test_copy_bulk_insert_stores_what_the_sqlite_fast_path_stores(tmp_db, tmp_path):
    """COPY writes the same values as SQLite's executemany: NaN as NULL, float flags as integers, defaults filled,
    a backslash-N product id as text (not NULL), empty strings as empty strings."""
    lite = f"sqlite:///{tmp_path / 'lite.db'}"
    sales = _sales(30)
    for url in (tmp_db, lite):
        _dims(url)
        with store.session_scope(url=url) as s:
            assert store.bulk_insert(s, schema.Sale, sales) == len(sales)
    pg, sq = _facts(tmp_db), _facts(lite)
    assert pg["units"].isna().sum() == sales["units"].isna().sum() > 0
    assert set(pg["product_id"]) == {"a", "b\\N"} and (pg["is_open"] == 1).all()
    pd.testing.assert_frame_equal(pg, sq, check_dtype=False)
    assert store.stores(url=tmp_db)["name"].tolist() == ["A", ""]


def test_large_upserts_go_through_copy_and_match_the_row_path(tmp_db, tmp_path, monkeypatch):
    """An upsert over COPY_MIN_ROWS (temporary table + INSERT ... ON CONFLICT) replaces changed rows, keeps the
    last of repeated keys and leaves the same table as the row-by-row path."""
    lite = f"sqlite:///{tmp_path / 'lite.db'}"
    first = _sales(600)  # 2,400 rows, over COPY_MIN_ROWS
    second = first.assign(sales=first["sales"] + 1).iloc[:2100]
    second = pd.concat([second, second.tail(3).assign(sales=-1.0)], ignore_index=True)  # repeated keys: last wins
    assert len(first) >= writers.COPY_MIN_ROWS
    calls = []
    monkeypatch.setattr(writers, "_copy_upsert", lambda *a, _f=writers._copy_upsert: calls.append(1) or _f(*a))
    for url in (tmp_db, lite):
        _dims(url)
        for frame in (first, second):
            with store.session_scope(url=url) as s:
                store.upsert_frame(s, schema.Sale, frame)
    assert len(calls) == 2  # both PostgreSQL upserts; SQLite takes its own fast path
    pg, sq = _facts(tmp_db), _facts(lite)
    assert len(pg) == len(first) and (pg["sales"] == -1.0).sum() == 3
    pd.testing.assert_frame_equal(pg, sq, check_dtype=False)


def test_autoincrement_ids_and_sequences(tmp_db):
    """Ids come from PostgreSQL's sequences (the datasets log, users, tokens, audit): consecutive and never reused."""
    ids = [accounts.insert_user(f"u{i}", "viewer", "h", url=tmp_db) for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    accounts.delete_user("u2", url=tmp_db)
    assert accounts.insert_user("u3", "viewer", "h", url=tmp_db) > ids[-1]
    tok = accounts.insert_token(ids[0], "hash0", url=tmp_db)
    assert accounts.token_owner("hash0", url=tmp_db) == {"token_id": tok, "name": "u0", "role": "viewer"}
    assert accounts.tokens(url=tmp_db)["user"].tolist() == ["u0"]  # "user" is reserved in PostgreSQL
    assert accounts.revoke_token(tok, url=tmp_db) and not accounts.revoke_token(tok, url=tmp_db)
    accounts.record_audit("cli:test", "user.add", {"name": "u0"}, url=tmp_db)
    log = accounts.audit_log(10, url=tmp_db)
    assert log["action"].tolist() == ["user.add"] and log["at"].dtype.kind == "M"
    assert accounts.users(url=tmp_db)["tokens"].tolist() == [0, 0, 0]


def test_locks_are_exclusive_across_connections(tmp_db):
    """Eight threads race for one lock: exactly one wins; a stale lock is taken over; release frees it."""
    store.init_db(tmp_db)
    won = []
    barrier = threading.Barrier(8)

    def grab(i):
        barrier.wait()
        if store.acquire_lock("refresh", f"owner{i}", url=tmp_db):
            won.append(i)
    threads = [threading.Thread(target=grab, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    holder = f"owner{won[0]}"
    assert store.lock_info("refresh", url=tmp_db)["owner"] == holder
    assert not store.acquire_lock("refresh", "late", url=tmp_db)
    assert store.acquire_lock("refresh", "late", stale_after_s=-1, url=tmp_db)  # stale: taken over
    assert store.release_lock("refresh", "late", url=tmp_db) and store.lock_info("refresh", url=tmp_db) is None


def test_two_processes_creating_the_schema_at_once(tmp_db):
    """init_db from several connections at once: a table another one created meanwhile is not an error."""
    errors = []
    barrier = threading.Barrier(4)

    def create():
        barrier.wait()
        try:
            store.init_db(tmp_db)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and has_table("sales", tmp_db)


def test_refused_import_leaves_every_row_and_sequence_unchanged(tmp_db, tmp_path):
    """A CSV whose last line is bad is refused after its good lines were parsed: nothing written, ids unused."""
    good = tmp_path / "good.csv"
    good.write_text("Date,Store,Sales\n2023-01-01,1,5\n2023-01-02,1,6\n")
    ingest.ingest_csv(good, "date=Date,store=Store,sales=Sales", url=tmp_db)
    before = content_digest(tmp_db)
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Store,Sales\n2023-01-03,1,7\n2023-01-04,1,abc\n")
    with pytest.raises(ValueError, match="line 3, column 'Sales'"):
        ingest.ingest_csv(bad, "date=Date,store=Store,sales=Sales", url=tmp_db)
    assert content_digest(tmp_db) == before
    bad.write_text("Date,Store,Sales\n2023-01-03,1,7\n")
    ingest.ingest_csv(bad, "date=Date,store=Store,sales=Sales", url=tmp_db)
    assert content_digest(tmp_db) != before  # the digest does see a change


def test_the_demo_on_postgresql_equals_the_demo_on_sqlite(small_demo_db, small_demo_master):
    """The small demo written with COPY holds the same facts, aggregates and dataset log as SQLite's copy."""
    lite = f"sqlite:///{small_demo_master}"
    assert store.counts(url=small_demo_db) == store.counts(url=lite)
    a = read_frame(select(schema.AggSales.__table__), small_demo_db, typed=True)
    b = read_frame(select(schema.AggSales.__table__), lite, typed=True)
    key = ["node_id", "date"]
    pd.testing.assert_frame_equal(a.sort_values(key, ignore_index=True), b.sort_values(key, ignore_index=True),
                                  check_dtype=False)
    assert store.data_hash(url=small_demo_db) == store.data_hash(url=lite)
    assert store.data_version(small_demo_db)
    assert store.nodes(url=small_demo_db).sort_values("node_id", ignore_index=True).equals(
        store.nodes(url=lite).sort_values("node_id", ignore_index=True))


def test_demo_generation_replaces_the_data_in_one_transaction(tmp_db):
    """demo.generate twice on PostgreSQL: the second run replaces every fact (COPY into emptied tables)."""
    demo.generate(seed=3, n_stores=2, n_products=2, years=1, url=tmp_db, progress=False)
    first = store.counts(url=tmp_db)
    demo.generate(seed=3, n_stores=2, n_products=2, years=1, url=tmp_db, progress=False)
    assert store.counts(url=tmp_db) == first and first["series"] == 4
    assert dt.date.fromisoformat(first["end"]) > dt.date.fromisoformat(first["start"])


@pytest.mark.slow
def test_two_imports_into_a_new_database_at_once(tmp_db, tmp_path):
    """Two `cli.py ingest csv` processes into one new PostgreSQL database (both create the schema, then take
    the import's write lock, LOCK TABLE datasets): daily + weekly gives one success and one one-line frequency
    refusal; two daily files both succeed."""
    from sqlalchemy import func

    from tests.test_hardening_concurrent_import import _files, _race
    daily, daily2, weekly = _files(tmp_path)
    results = _race(tmp_db, daily, weekly)
    assert all("Traceback" not in err for _, err in results), results
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert refused.startswith("error: ") and "frequency mismatch" in refused and refused.count("\n") == 1, refused
    freqs = set(read_frame(select(schema.Dataset.frequency), tmp_db)["frequency"])
    n = int(read_frame(select(func.count().label("n")).select_from(schema.Sale), tmp_db)["n"].iloc[0])
    assert len(freqs) == 1 and n == (360 if freqs == {"D"} else 120), (freqs, n)


@pytest.mark.slow
def test_two_daily_imports_into_a_new_database_both_succeed(tmp_db, tmp_path):
    from tests.test_hardening_concurrent_import import _files, _race
    daily, daily2, _ = _files(tmp_path)
    results = _race(tmp_db, daily, daily2)
    assert [code for code, _ in results] == [0, 0], results
    assert store.counts(url=tmp_db)["rows"] == 720
