"""The CSV importer: mapping, parsing rules, scoping of events/weather/covariates, dry run and idempotency."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data import ingest, store
from domain import ALL

DATA = Path(__file__).resolve().parents[1] / "data"
SHOP = DATA / "shop_daily.csv"
SHOP_MAP = "date=Date,sales=Sales,store=Store,promo=Promo,holiday=StateHoliday,open=Open"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_shop_file_without_product_column(tmp_db):
    s = ingest.ingest_csv(SHOP, SHOP_MAP, extra="Customers", url=tmp_db)
    assert (s["rows_read"], s["rows_valid"], s["duplicates"], s["rows_written"]) == (15, 14, 1, 14)
    assert (s["stores"], s["products"], s["series"], s["frequency"]) == (2, 1, 2, "D")
    assert (s["start"], s["end"], s["closed_rows"]) == ("2023-01-01", "2023-01-07", 2)
    facts = store.sales_facts(url=tmp_db)
    assert set(facts["product_id"]) == {"all"}
    closed = facts[facts["is_open"] == 0]
    assert sorted(closed["date"].dt.strftime("%Y-%m-%d")) == ["2023-01-01", "2023-01-01"]
    assert closed["sales"].tolist() == [0.0, 0.0]  # closed days are kept, marked closed
    assert facts.loc[(facts["store_id"] == "1") & (facts["date"] == "2023-01-02"), "promo"].item() == 1
    ev = store.calendar_events(url=tmp_db)
    # '0' means no holiday; 'a' on Jan 1 is shared by both stores -> scope all; 'b' only in store 1 -> scope store.
    assert ev[["scope", "scope_id", "name"]].values.tolist() == [["all", ALL, "StateHoliday a"],
                                                                  ["store", "1", "StateHoliday b"]]
    assert ev["date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-01-01", "2023-01-06"]
    cov = store.covariates(url=tmp_db)
    assert set(cov["name"]) == {"Customers"} and set(cov["product_id"]) == {ALL} and len(cov) == 14
    total = store.series("total", url=tmp_db)
    assert total["y"].sum() == pytest.approx(facts["sales"].sum())
    assert store.frequency(url=tmp_db) == "D"


def test_region_scope_for_holidays_and_weather(tmp_db):
    ingest.ingest_csv(SHOP, SHOP_MAP + ",region=Region,temperature=TempC", url=tmp_db)
    ev = store.calendar_events(url=tmp_db)
    assert ev.loc[ev["name"] == "StateHoliday b", ["scope", "scope_id"]].values.tolist() == [["region", "North"]]
    wx = store.weather(url=tmp_db)
    assert set(wx["scope"]) == {"region"} and len(wx) == 14
    assert store.stores(url=tmp_db)["region"].tolist() == ["North", "South"]
    assert store.series("region=South", url=tmp_db)["temp_c"].iloc[0] == pytest.approx(8.0)


def test_no_store_column_dayfirst_boolean_holiday_and_gz(tmp_path, tmp_db):
    csv = tmp_path / "chain.csv"
    pd.DataFrame({"Day": ["30/12/2022", "31/12/2022", "01/01/2023", "02/01/2023"],
                  "Item": ["x", "x", "x", "x"], "Revenue": ["10", "11.5", "12", "9"],
                  "Hol": ["FALSE", "false", "TRUE", "False"]}).to_csv(csv, index=False)
    gz = tmp_path / "chain.csv.gz"
    import gzip
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    s = ingest.ingest_csv(gz, "date=Day,sales=Revenue,product=Item,holiday=Hol", dayfirst=True, url=tmp_db)
    assert (s["rows_written"], s["stores"], s["products"], s["dataset"]) == (4, 1, 1, "chain")
    assert store.stores(url=tmp_db)["store_id"].tolist() == ["all"]
    ev = store.calendar_events(url=tmp_db)
    assert ev[["scope", "name"]].values.tolist() == [["all", "Hol"]]
    assert ev["date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-01-01"]


@pytest.mark.backends("sqlite", "postgresql")
def test_parquet_weekly_with_stores_file(tmp_path, tmp_db):
    pq = tmp_path / "weekly.parquet"
    dates = pd.date_range("2023-01-06", periods=5, freq="7D")
    pd.DataFrame({"week": list(dates) * 2, "shop": [1] * 5 + [2] * 5, "sku": ["A"] * 10,
                  "cat": ["Food"] * 10, "amount": range(10), "promo": [0, 0.2, 0, 0.1, 0] * 2}).to_parquet(pq)
    stores_csv = _write(tmp_path / "shops.csv", "Shop,Area,Format,SqFt,Opened\n1,East,Big,1000,2001\n2,West,Small,250,2010\n")
    s = ingest.ingest_csv(pq, "date=week,sales=amount,store=shop,product=sku,category=cat,promo=promo",
                          stores_file=stores_csv, stores_map="store=Shop,region=Area,type=Format,size=SqFt",
                          url=tmp_db)
    assert (s["frequency"], s["rows_written"], s["series"]) == ("W", 10, 2)
    st = store.stores(url=tmp_db)
    assert st[["store_id", "region", "type", "size"]].values.tolist() == [["1", "East", "Big", 1000.0],
                                                                        ["2", "West", "Small", 250.0]]
    assert '"Opened": "2001"' in st["attrs"].iloc[0]
    facts = store.sales_facts(url=tmp_db)
    assert facts["promo"].sum() == 4 and facts["promo_intensity"].max() == pytest.approx(0.2)
    assert store.products(url=tmp_db)["category"].tolist() == ["Food"]


def test_dry_run_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    s = ingest.ingest_csv(SHOP, SHOP_MAP, dry_run=True, url=url)
    assert s["dry_run"] and s["rows_written"] == 0 and s["rows_valid"] == 14
    assert not (tmp_path / "new.db").exists()


@pytest.mark.backends("sqlite", "postgresql")
def test_reimport_is_idempotent_and_overlaps_are_upserted(tmp_path, tmp_db):
    first = ingest.ingest_csv(SHOP, SHOP_MAP, url=tmp_db)
    before = (store.counts(url=tmp_db), store.data_hash(url=tmp_db))
    again = ingest.ingest_csv(SHOP, SHOP_MAP, url=tmp_db)
    assert again["already_imported"] and again["rows_written"] == 0
    assert (store.counts(url=tmp_db), store.data_hash(url=tmp_db)) == before
    assert len(store.datasets(url=tmp_db)) == 1
    # A corrected file for two overlapping dates plus one new date: overlaps are replaced, not added.
    fix = _write(tmp_path / "fix.csv", "Store,Date,Sales\n1,2023-01-07,155\n2,2023-01-07,91\n1,2023-01-08,160\n")
    s = ingest.ingest_csv(fix, "date=Date,sales=Sales,store=Store", url=tmp_db)
    assert (s["rows_written"], s["rows_new"]) == (3, 1)
    facts = store.sales_facts(url=tmp_db)
    assert len(facts) == first["rows_written"] + 1
    assert facts.loc[(facts["store_id"] == "1") & (facts["date"] == "2023-01-07"), "sales"].item() == 155.0
    assert len(store.datasets(url=tmp_db)) == 2


def test_mapping_errors():
    with pytest.raises(ingest.IngestError, match="required field"):
        ingest.ingest_csv(SHOP, "date=Date")
    with pytest.raises(ingest.IngestError, match="unknown field"):
        ingest.ingest_csv(SHOP, "date=Date,sales=Sales,colour=Red")
    with pytest.raises(ingest.IngestError, match="field=COLUMN"):
        ingest.ingest_csv(SHOP, "date=Date,sales")


def test_format_summary_mentions_the_counts(tmp_db):
    text = ingest.format_summary(ingest.ingest_csv(SHOP, SHOP_MAP, url=tmp_db))
    assert "rows read" in text and "15" in text and "frequency D" in text and "duplicates" in text


def test_quality_command_on_an_import(tmp_path, monkeypatch, capsys):
    import json

    import cli
    db = tmp_path / "q.db"
    monkeypatch.setenv("SALES_DB", str(db))  # cli.main sets SALES_DB; restore it afterwards
    assert cli.main(["ingest", "csv", str(SHOP), "--map", SHOP_MAP, "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows_written"] == 14
    cols = store.sales_columns(url=str(db))
    facts = store.sales_facts(url=str(db))
    pd.testing.assert_frame_equal(cols, facts[list(store.QUALITY_COLUMNS)].reset_index(drop=True),
                                  check_dtype=False)
    assert cli.main(["quality", "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["duplicates"]["at_import"], report["negative_sales"]["count"]) == (14, 1, 1)
    assert report["closed_days"]["count"] == 2
