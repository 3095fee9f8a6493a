"""`ingest plan`: every bad input refused with a line/column message and exit code 2 (database byte-identical),
dry runs write nothing, grains expand as intended; `ingest csv` keeps future rows without sales as plan rows."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

import cli
from data import ingest, ingest_plan, store
from domain import ALL
from tests.pg_cluster import content_digest


@pytest.fixture
def small_demo_db(small_demo_db):
    """The small demo without the plan it writes for its promotions: these tests start from an empty plan."""
    from tests.conftest import clear_plan
    clear_plan(small_demo_db)
    return small_demo_db


MAP = ("date=Date,store=Store,product=Product,category=Category,promo=Promo,promo_intensity=Depth,open=Open,"
       "event=Event,price=Price,cost=Cost")
HEADER = "Date,Store,Product,Category,Promo,Depth,Open,Event,Price,Cost\n"
GOOD = [
    "2023-01-02,01,P001,,1,0.2,,,,",          # line 2: store x product promotion
    "2023-01-03,01,P001,,1,0.2,,,,",          # line 3
    "2023-01-02,02,,Grocery,1,0.1,,,,",       # line 4: store x category
    "2023-01-05,03,,,,,0,,,",                 # line 5: store 03 closed
    "2023-01-06,,P003,,,,,Sale,9.5,4.5",      # line 6: a product in every store
    "2023-01-07,,,,,,,New year fair,,",       # line 7: everything
    "2023-01-02,01,P001,,1,0.2,,,,",          # line 8: identical repeat of line 2 (dropped)
]


def _file(tmp_path: Path, lines, name="plan.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


def _digest(url: str) -> str:
    if not url.startswith("sqlite:///"):
        return content_digest(url)  # PostgreSQL: every table's rows and every sequence
    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["ingest", "plan", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.backends("sqlite", "postgresql")
def test_plan_import_dry_run_then_write_and_expand(small_demo_db, tmp_path, capsys):
    path = _file(tmp_path, GOOD)
    before = _digest(small_demo_db)
    code, out, _ = _cli(capsys, path, "--map", MAP, "--dry-run", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["dry_run"] and summary["rows_written"] == 0
    assert _digest(small_demo_db) == before and store.plan_rows(url=small_demo_db).empty
    assert summary["rows"] == 6 and summary["duplicates"] == 1 and summary["scopes"] == 5
    assert summary["rows_per_grain"] == {"store_product": 2, "store_category": 1, "product": 1, "store": 1, "all": 1}
    assert (summary["start"], summary["end"]) == ("2023-01-02", "2023-01-07")
    code, out, _ = _cli(capsys, path, "--map", MAP)
    assert code == 0 and "plan rows" in out and "store_category 1" in out
    wide = store.expanded_plan(url=small_demo_db).set_index(["store_id", "product_id", "date"])
    assert wide.loc[("01", "P001", pd.Timestamp("2023-01-02")), "promo_intensity"] == 0.2
    grocery = wide.xs(pd.Timestamp("2023-01-02"), level="date")
    assert grocery.loc[("02", "P002"), "promo"] == 1 and ("02", "P001") not in grocery.index  # P002 is Grocery
    closed = wide.xs(pd.Timestamp("2023-01-05"), level="date")
    assert sorted(closed.index) == [("03", p) for p in ("P001", "P002", "P003", "P004")]
    assert (closed["is_open"] == 0).all()
    sale = wide.xs(pd.Timestamp("2023-01-06"), level="date")
    assert sorted(sale.index.get_level_values("store_id")) == ["01", "02", "03"]
    assert (sale["unit_cost"] == 4.5).all() and (sale["price"] == 9.5).all() and (sale["event"] == "Sale").all()
    assert len(wide.xs(pd.Timestamp("2023-01-07"), level="date")) == 12  # 3 stores x 4 products
    log = store.plan_changes(url=small_demo_db)
    assert len(log) == 1 and log.iloc[0]["source"] == "import" and log.iloc[0]["rows"] == 6


@pytest.mark.parametrize("lines, expected", [
    (["2023-01-02,09,P001,,1,0.2,,,,"], "line 2, column 'Store': unknown store"),
    (["2023-01-02,01,P999,,1,0.2,,,,"], "line 2, column 'Product': unknown product"),
    (["2023-01-02,,,Toys,1,0.2,,,,"], "line 2, column 'Category': unknown category"),
    (["2023-01-02,01,P001,Garden,1,0.2,,,,"], "line 2, column 'Category': product 'P001' is in category"),
    (["2023-01-02,01,P001,,1,1.0,,,,"], "line 2, column 'Depth': promotion depth outside [0, 1)"),
    (["2023-01-02,01,P001,,1,-0.1,,,,"], "line 2, column 'Depth': promotion depth outside [0, 1)"),
    (["2023-01-02,01,P001,,0,0.3,,,,"], "line 2, column 'Depth': a promotion depth on a row whose promo is 0"),
    (["2023-01-02,01,P001,,2,,,,,"], "line 2, column 'Promo': promo must be 0 or 1"),
    (["2023-01-02,01,,,,,3,,,"], "line 2, column 'Open': open must be 0 or 1"),
    (["2023-01-02,01,P001,,,,,,-1,"], "line 2, column 'Price': negative price"),
    (["2023-01-02,01,P001,,,,,,,-2"], "line 2, column 'Cost': negative unit cost"),
    (["2023-01-02,01,P001,,,,,,abc,"], "line 2, column 'Price': not a number"),
    (["2023-02-30,01,P001,,1,0.2,,,,"], "line 2, column 'Date': missing, unparseable or impossible date"),
    (["2023-01-02,01,P001,,1,0.2,0,,,"], "line 2, column 'Open': a closed day (open 0) with a promotion"),
    (["2023-01-02,01,,,,,0,,,", "2023-01-02,01,P002,,1,0.2,,,,"],
     "line 3, column 'Promo': a promotion (line 3) on a day the plan closes (line 2): store 01, product P002"),
    (["2023-01-02,01,P001,,1,0.2,,,,", "2023-01-03,01,P002,,1,,,,,", "2023-01-02,01,P001,,1,0.3,,,,"],
     "line 4, column 'Depth': conflicts with line 2 (store 01, product P001, category *, date 2023-01-02): "
     "0.2 vs 0.3"),
    (["2023-01-02,01,P001,,1,0.2,,,,", "2023-01-02,01,P001,,1,0.2,,X,,"], "line 3, column 'Event': conflicts "
     "with line 2"),
])
def test_bad_plan_rows_are_refused_and_nothing_changes(small_demo_db, tmp_path, capsys, lines, expected):
    before = _digest(small_demo_db)
    code, out, err = _cli(capsys, _file(tmp_path, lines), "--map", MAP)
    assert code == 2 and out == ""
    assert expected in err and "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"error: {tmp_path / 'plan.csv'}: ")
    assert _digest(small_demo_db) == before


@pytest.mark.backends("sqlite", "postgresql")
def test_a_promotion_on_a_day_the_stored_plan_closes_is_refused(small_demo_db, tmp_path, capsys):
    store.write_plan(pd.DataFrame({"store_id": ["02"], "date": ["2023-03-01"], "is_open": [0]}), url=small_demo_db)
    before = _digest(small_demo_db)
    code, _, err = _cli(capsys, _file(tmp_path, ["2023-03-01,,P001,,1,0.1,,,,"]), "--map", MAP)
    assert code == 2 and "line 2, column 'Promo': a promotion (line 2) on a day the plan closes (the stored plan)" \
        in err and "store 02, product P001, date 2023-03-01" in err
    assert _digest(small_demo_db) == before
    # the same file row replaces the stored closure when it names the same scope and date
    code, _, err = _cli(capsys, _file(tmp_path, ["2023-03-01,02,,,1,0.1,1,,,"]), "--map", MAP)
    assert code == 0, err
    assert store.expanded_plan(url=small_demo_db)["is_open"].eq(1).all()


def test_mapping_and_file_errors(small_demo_db, tmp_path, capsys):
    path = _file(tmp_path, GOOD[:1])
    before = _digest(small_demo_db)
    for args, expected in ((["--map", "date=Date"], "map at least one plan field"),
                           (["--map", "date=Date,sales=Promo"], "unknown field(s) ['sales']"),
                           (["--map", "store=Store,promo=Promo"], "the required field(s) date are not mapped"),
                           (["--map", "date=Date,promo=Promotion"], "column 'Promotion': mapped column not found")):
        code, _, err = _cli(capsys, path, *args)
        assert code == 2 and expected in err, err
    code, _, err = _cli(capsys, tmp_path / "missing.csv", "--map", MAP)
    assert code == 2 and "no such file" in err
    assert _digest(small_demo_db) == before


def test_an_empty_database_is_not_created(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("SALES_DB", url)
    code, _, err = _cli(capsys, _file(tmp_path, GOOD[:1]), "--map", MAP)
    assert code == 2 and "holds no sales data" in err and not (tmp_path / "new.db").exists()


def test_gzip_and_parquet_plan_files(small_demo_db, tmp_path):
    gz = tmp_path / "plan.csv.gz"
    gz.write_bytes(gzip.compress((HEADER + "\n".join(GOOD[:2]) + "\n").encode()))
    assert ingest_plan.ingest_plan(gz, MAP, dry_run=True, url=small_demo_db)["rows"] == 2
    frame = pd.DataFrame({"day": pd.to_datetime(["2023-02-01", "2023-02-02"]), "shop": ["01", "01"],
                          "discount": [0.25, 0.0], "promo": [1, 0]})
    pq = tmp_path / "plan.parquet"
    frame.to_parquet(pq)
    s = ingest_plan.ingest_plan(pq, "date=day,store=shop,promo=promo,promo_intensity=discount", url=small_demo_db)
    assert s["rows_written"] == 2 and s["rows_per_grain"] == {"store": 2}
    rows = store.plan_rows(url=small_demo_db)
    assert rows["store_id"].tolist() == ["01", "01"] and rows["product_id"].eq(ALL).all()
    bad = frame.assign(discount=[1.5, 0.0])
    bad.to_parquet(pq)
    with pytest.raises(ingest.IngestError, match=r"row 1, column 'discount': promotion depth outside"):
        ingest_plan.ingest_plan(pq, "date=day,store=shop,promo=promo,promo_intensity=discount", url=small_demo_db)


def _sales_file(tmp_path: Path, future: list[str], name="sales.csv") -> Path:
    """14 days of sales for stores A and B (product X), then ``future`` lines (Date,Store,Product,Sales,Promo,
    Depth,Price,Cost)."""
    lines = ["Date,Store,Product,Sales,Promo,Depth,Price,Cost"]
    for day in pd.date_range("2024-01-01", periods=14):
        for s in ("A", "B"):
            lines.append(f"{day.date()},{s},X,{10 + day.day},{int(day.day % 7 == 0)},,2.5,1.5")
    path = tmp_path / name
    path.write_text("\n".join(lines + future) + "\n")
    return path


SALES_MAP = "date=Date,store=Store,product=Product,sales=Sales,promo=Promo,promo_intensity=Depth,price=Price,cost=Cost"


def test_sales_import_keeps_future_rows_as_plan_rows(tmp_db, tmp_path):
    future = ["2024-01-15,A,X,,1,0.3,2.0,1.5", "2024-01-16,A,X,,0,,2.5,", "2024-01-15,B,X,,1,0.1,,"]
    summary = ingest.ingest_csv(_sales_file(tmp_path, future), SALES_MAP, url=tmp_db)
    assert summary["end"] == "2024-01-14" and summary["rows_valid"] == 28 and summary["rows_rejected"] == 0
    assert summary["plan_rows"] == 28 + 3  # a unit cost per sales row, and the three future rows
    assert "plan rows" in ingest.format_summary(summary)
    rows = store.plan_rows(url=tmp_db)
    assert set(rows["source"]) == {"sales-import"} and rows["category"].eq(ALL).all()
    fut = rows[rows["date"] >= "2024-01-15"].set_index(["store_id", "date"])
    a15 = fut.loc[("A", pd.Timestamp("2024-01-15"))]
    assert (a15.promo, a15.promo_intensity, a15.price, a15.unit_cost) == (1, 0.3, 2.0, 1.5)
    assert fut.loc[("A", pd.Timestamp("2024-01-16")), "promo"] == 0
    past = rows[rows["date"] < "2024-01-15"]
    assert past["unit_cost"].eq(1.5).all() and past["promo"].isna().all() and past["price"].isna().all()
    assert store.counts(tmp_db)["rows"] == 28  # the future rows are not sales facts


def test_sales_import_future_rows_without_plan_fields_stay_rejected(tmp_db, tmp_path):
    path = _sales_file(tmp_path, ["2024-01-15,A,X,,1,0.3,2.0,1.5"])
    summary = ingest.ingest_csv(path, "date=Date,store=Store,product=Product,sales=Sales", url=tmp_db)
    assert summary["plan_rows"] == 0 and summary["rejected_reasons"] == {"missing sales value": 1}


@pytest.mark.parametrize("future, expected", [
    (["2024-01-15,A,X,,1,1.2,,"], "line 30, column 'Depth': promotion depth outside [0, 1)"),
    (["2024-01-15,A,X,,,,-3,"], "line 30, column 'Price': negative price"),
    (["2024-01-15,C,X,,1,0.2,,"], "line 30, column 'Product': a future row (empty sales) for a store and product "
                                  "with no sales in this file"),
    (["2024-01-15,A,X,,1,0.2,,", "2024-01-15,A,X,,1,0.25,,"], "line 31, column 'Depth': conflicts with line 30"),
])
@pytest.mark.backends("sqlite", "postgresql")
def test_sales_import_bad_future_rows_write_nothing(small_demo_db, tmp_path, capsys, future, expected):
    before = _digest(small_demo_db)
    code = cli.main(["ingest", "csv", str(_sales_file(tmp_path, future)), "--map", SALES_MAP])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and err.count("\n") == 1, err
    assert _digest(small_demo_db) == before


@pytest.mark.backends("sqlite", "postgresql")
def test_keep_unset_keeps_the_stored_fields(small_demo_db):
    url = small_demo_db
    store.write_plan(pd.DataFrame({"store_id": ["01"], "product_id": ["P001"], "date": ["2030-01-01"],
                                   "price": [3.0], "promo": [0]}), url=url)
    store.write_plan(pd.DataFrame({"store_id": ["01"], "product_id": ["P001"], "date": ["2030-01-01"],
                                   "promo": [1], "promo_intensity": [0.2]}), url=url, keep_unset=True)
    row = store.plan_rows(url=url).iloc[0]
    assert (row.promo, row.promo_intensity, row.price) == (1, 0.2, 3.0)
    store.write_plan(pd.DataFrame({"store_id": ["01"], "product_id": ["P001"], "date": ["2030-01-01"],
                                   "promo": [1]}), url=url)
    assert pd.isna(store.plan_rows(url=url).iloc[0].price)  # the default replaces the row whole


def test_weekly_data_reads_the_plan_on_its_week_dates(tmp_db, tmp_path):
    lines = ["Date,Store,Sales"] + [f"{d.date()},A,{i + 10}" for i, d in
                                    enumerate(pd.date_range("2024-01-05", periods=20, freq="W-FRI"))]
    (tmp_path / "weekly.csv").write_text("\n".join(lines) + "\n")
    ingest.ingest_csv(tmp_path / "weekly.csv", "date=Date,store=Store,sales=Sales", url=tmp_db)
    path = tmp_path / "plan.csv"
    path.write_text("Date,Store,Promo\n2024-05-24,A,1\n2024-05-25,A,1\n")  # a Friday and a Saturday
    s = ingest_plan.ingest_plan(path, "date=Date,store=Store,promo=Promo", dry_run=True, url=tmp_db)
    assert s["warnings"] == ["the data is weekly (dates on Fridays) but 1 plan row(s) fall on other weekdays; "
                             "a forecast reads the plan on the data's dates only"]
    from data import plan_edit
    assert plan_edit.set_promotion("store", "A", None, None, "2024-05-20", "2024-06-02", 0.1, url=tmp_db) == 2
    assert store.plan_rows(url=tmp_db)["date"].dt.dayofweek.eq(4).all()
    with pytest.raises(ValueError, match="no such date lies between"):
        plan_edit.set_promotion("store", "A", None, None, "2024-05-25", "2024-05-27", 0.1, url=tmp_db)
