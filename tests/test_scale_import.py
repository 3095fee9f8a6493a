"""Issue 18 §1 and issue 15 §4: the import's and the pages' fast paths give the same results as the slow ones.

The aggregates are rolled up from store x category x date sums (three scans of the facts instead of one per
level); a fresh import loads its facts in key order with the date index built after the load; the current run is
read as one row; the Forecast page's model table is averaged by the database. Each is checked here against the
straightforward computation on small, tricky data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect, select

import config
from data import engine, ingest, runs, schema, store
from data.keys import node_keys
from tests.dash_helpers import publish_fake_run

LEVEL_KEYS = {"total": [], "region": ["region"], "store": ["store_id"], "category": ["category"],
              "product": ["product_id"], "store_category": ["store_id", "category"]}
MAP = "date=date,store=store,product=product,category=category,region=region,sales=sales,promo=promo,units=units"


def _csv(path, rows: list[str]):
    path.write_text("date,store,product,category,region,sales,promo,units\n" + "\n".join(rows) + "\n")
    return path


def _tricky_rows() -> list[str]:
    """Unsorted keys (store "10" sorts before "9"), units missing on some facts and on every fact of one
    product, an identical duplicate line, negative sales."""
    rows = []
    for day in range(1, 9):
        d = f"2024-01-{day:02d}"
        rows += [f"{d},9,B,drinks,north,{day * 1.1:.2f},{day % 2},{day}",
                 f"{d},10,A,food,south,{-0.5 if day == 3 else day * 2.25:.2f},0,",
                 f"{d},10,B,drinks,south,{day * 0.3:.2f},1,{day if day % 3 else ''}",
                 f"{d},9,C,food,north,{day * 7.7:.2f},0,"]
    rows.insert(5, rows[4])  # identical duplicate: dropped and counted
    return rows


def _expected_aggregates(url: str) -> pd.DataFrame:
    """Every level summed straight from the facts, as the per-level SQL did."""
    facts = store.sales_facts(url=url)
    parts = []
    for level, keys in LEVEL_KEYS.items():
        g = facts.groupby([*keys, "date"], as_index=False).agg(
            sales=("sales", "sum"), units=("units", lambda v: v.sum(min_count=1)), promo_share=("promo", "mean"),
            open_share=("is_open", "mean"), n_rows=("sales", "size"))
        g.insert(0, "node_id", node_keys(level, g) if keys else "total")
        parts.append(g[["node_id", "date", "sales", "units", "promo_share", "open_share", "n_rows"]])
    return pd.concat(parts).sort_values(["node_id", "date"]).reset_index(drop=True)


def _stored_aggregates(url: str) -> pd.DataFrame:
    a = schema.AggSales.__table__.c
    df = engine.read_frame(select(a.node_id, a.date, a.sales, a.units, a.promo_share, a.open_share, a.n_rows),
                           url, parse_dates=["date"])
    return df.astype({"units": float}).sort_values(["node_id", "date"]).reset_index(drop=True)


@pytest.mark.backends("sqlite", "postgresql")
def test_fresh_import_matches_per_level_sums_and_keeps_the_date_index(tmp_path, tmp_db):
    s = ingest.ingest_csv(_csv(tmp_path / "s.csv", _tricky_rows()), MAP, url=tmp_db)
    assert (s["rows_read"], s["rows_written"], s["duplicates"], s["series"]) == (33, 32, 1, 4)
    facts = store.sales_facts(url=tmp_db)
    assert len(facts) == 32 and facts["sales"].min() == -0.5
    pd.testing.assert_frame_equal(_stored_aggregates(tmp_db), _expected_aggregates(tmp_db), check_dtype=False,
                                  rtol=1e-12)
    assert "ix_sales_date" in {ix["name"] for ix in inspect(engine.get_engine(tmp_db)).get_indexes("sales")}
    assert set(store.nodes(url=tmp_db)["level"]) == {*LEVEL_KEYS, "store_product"}


def test_import_over_existing_facts_gives_the_same_tables_as_a_fresh_one(tmp_path, tmp_db):
    rows = _tricky_rows()
    first, second = rows[:12], rows[12:]
    fresh_url = config.database_url(str(tmp_path / "fresh.db"))  # a SQLite file on either back end
    ingest.ingest_csv(_csv(tmp_path / "all.csv", rows), MAP, url=fresh_url)
    ingest.ingest_csv(_csv(tmp_path / "a.csv", first), MAP, url=tmp_db)
    ingest.ingest_csv(_csv(tmp_path / "b.csv", second), MAP, url=tmp_db)  # upsert into a non-empty table
    key = ["store_id", "product_id", "date"]
    pd.testing.assert_frame_equal(store.sales_facts(url=tmp_db).sort_values(key).reset_index(drop=True),
                                  store.sales_facts(url=fresh_url).sort_values(key).reset_index(drop=True),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(_stored_aggregates(tmp_db), _stored_aggregates(fresh_url), rtol=1e-12,
                                  check_dtype=False)


def test_conflicting_duplicate_still_names_both_lines_and_writes_nothing(tmp_path, tmp_db):
    rows = _tricky_rows()
    rows.append(rows[0].replace(",9,B,drinks,north,1.10,", ",9,B,drinks,north,1.20,"))
    with pytest.raises(ingest.IngestError) as err:
        ingest.ingest_csv(_csv(tmp_path / "c.csv", rows), MAP, url=tmp_db)
    message = str(err.value)
    assert "c.csv: line 35, column 'sales': conflicting duplicate of line 2 (store 9, product B, date 2024-01-01) " \
           "with a different value: 1.1 vs 1.2" in message
    assert message.endswith("`python cli.py ingest orders`, which sums them")  # the order-line hint (issue 17)
    assert not store.db_exists(tmp_db) or store.counts(tmp_db)["rows"] == 0


def _frame_current_run(url: str) -> dict | None:
    """The current run as the frame-based reader built it (the reference for the one-row reader)."""
    df = runs._run_records(engine.read_frame(select(schema.Run.__table__).where(schema.Run.is_current.is_(True)),
                                             url, parse_dates=["started_at", "finished_at"]))
    return df.iloc[0].to_dict() if len(df) else None


def _same(a, b) -> bool:
    return a == b or (pd.isna(a) and pd.isna(b)) if not isinstance(a, dict) else a == b


@pytest.mark.backends("sqlite", "postgresql")
def test_current_run_reads_the_same_record_as_a_frame(tmp_path, tmp_db):
    ingest.ingest_csv(_csv(tmp_path / "s.csv", _tricky_rows()), MAP, url=tmp_db)
    assert runs.current_run(tmp_db) is None and runs.run_or_current(None, tmp_db) is None
    publish_fake_run(tmp_db, run_id="run-a")
    runs.create_run("run-b", {"models": ["x"]}, None, None, url=tmp_db)  # running, never current, NULL fields
    got, want = runs.current_run(tmp_db), _frame_current_run(tmp_db)
    assert got.keys() == want.keys()
    assert all(_same(got[k], want[k]) and type(got[k]) is type(want[k]) for k in got), (got, want)
    assert runs.run_or_current(None, tmp_db) == "run-a" and runs.run_or_current("run-b", tmp_db) == "run-b"


def test_current_run_without_a_runs_table_is_none(tmp_path):
    url = config.database_url(str(tmp_path / "empty.db"))
    assert runs.current_run(url) is None and runs.run_or_current(None, url) is None


@pytest.mark.backends("sqlite", "postgresql")
def test_model_comparison_means_match_the_metrics(tmp_path, tmp_db):
    ingest.ingest_csv(_csv(tmp_path / "s.csv", _tricky_rows()), MAP, url=tmp_db)
    publish_fake_run(tmp_db, run_id="run-a")
    for key in ("total", store.nodes(url=tmp_db)["node_id"].iloc[-1]):
        got = store.model_comparison(key, url=tmp_db)
        bm = store.backtest_metrics(key, url=tmp_db)
        want = bm.groupby("model").agg(folds=("fold", "nunique"), wape=("wape", "mean"), bias=("bias", "mean"),
                                       coverage_95=("coverage_95", "mean"))
        chosen = store.selection(key, url=tmp_db)["model"].iloc[0]
        assert list(got["wape"]) == sorted(got["wape"])
        for r in got.itertuples():
            assert r.folds == want.loc[r.model, "folds"]
            assert np.allclose([r.wape, r.bias, r.coverage_95], want.loc[r.model, ["wape", "bias", "coverage_95"]])
            assert r.chosen == (r.model == chosen)
    assert store.model_comparison("no-such-node", url=tmp_db).empty


@pytest.mark.parametrize(("cell", "message"), [
    ("promo=maybe", "line 7, column 'promo': expected 0/1, true/false, yes/no or a number: 'maybe'"),
    ("promo=inf", "line 7, column 'promo': not a finite number within"),
    ("store=9\t", None),  # stripped like any blank around an id: the line stays a duplicate of line 6
    ("product=B\x01", "line 7, column 'product': product id holds a control character"),
    ("sales=1_000", "line 7, column 'sales': not a number: '1_000'"),
])
def test_per_distinct_checks_still_name_the_first_bad_line(tmp_path, tmp_db, cell, message):
    """The checks run once per distinct value (and numbers through Arrow), then row by row for the message."""
    field, value = cell.split("=")
    rows = _tricky_rows()[:8]
    cols = ["date", "store", "product", "category", "region", "sales", "promo", "units"]
    parts = rows[5].split(",")
    parts[cols.index(field)] = value
    rows[5] = ",".join(parts)
    path = _csv(tmp_path / "bad.csv", rows)
    if message is None:
        assert ingest.ingest_csv(path, MAP, dry_run=True, url=tmp_db)["duplicates"] == 1
        return
    with pytest.raises(ingest.IngestError) as err:
        ingest.ingest_csv(path, MAP, url=tmp_db)
    assert f"bad.csv: {message}" in str(err.value)


def test_numbers_with_blanks_still_parse(tmp_path, tmp_db):
    rows = [r.replace(",9,B,drinks,north,", ",9,B,drinks,north, ") for r in _tricky_rows()[:8]]
    s = ingest.ingest_csv(_csv(tmp_path / "s.csv", rows), MAP, url=tmp_db)
    assert (s["rows_written"], s["duplicates"]) == (7, 1)
    assert store.sales_facts(url=tmp_db).query("product_id == 'B' and store_id == '9'")["sales"].iloc[0] == 1.1
