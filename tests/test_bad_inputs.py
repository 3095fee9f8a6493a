"""The bad-input corpus (issue 12): malformed and hostile files, generated from a table of cases, through the CLI.

Each case writes its file(s) into ``tmp_path`` and runs ``cli.main(["ingest", ...])`` in-process against a copy
of one seeded daily store (``tests/data/shop_daily.csv``). A refused case must exit with code 2, print one
``error:`` line naming the file (and line and column where one applies) and leave the database file
byte-identical; an accepted case must exit 0 and store exactly the value the file holds. No case may print a
traceback. A few cases also run as a subprocess.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

import cli
from data import ingest, keys, store

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "tests" / "data" / "shop_daily.csv"
MAP = "date=Date,sales=Sales,store=Store"
HEAD = "Store,Date,Sales"


def rows(*lines: str, head: str = HEAD, nl: str = "\n") -> bytes:
    """A CSV file's bytes: the header line and ``lines``, each ended by ``nl``."""
    return (nl.join([head, *lines]) + nl).encode()


def good(store_id: str = "9", *extra_lines: str) -> list[str]:
    """Three valid daily rows of one new store after the seeded week (2023-01-08..10)."""
    return [f"{store_id},{day},{10 + i}" for i, day in enumerate(("2023-01-08", "2023-01-09", "2023-01-10"))] + \
        list(extra_lines)


@dataclass(frozen=True)
class Case:
    """One corpus file. ``content``: bytes, or a function writing the input at the given path (returns the path
    to pass). ``expect``: "refuse" (``fragments`` must be in the message) or "accept" (``check(db)`` reads the
    stored values)."""

    content: bytes | Callable[[Path], Path]
    expect: str = "refuse"
    fragments: tuple = ()
    args: tuple = ("--map", MAP)
    suffix: str = ".csv"
    check: Callable[[Path], None] | None = None
    env: dict = field(default_factory=dict)
    source: str = "csv"


# ----------------------------------------------------------------------------- stored-value checks

def query(db: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def sales_of(store_id: str, product_id: str = "all") -> dict[str, float]:
    """check(): the stored sales of a series must equal ``expected`` (date -> value)."""
    def reader(db: Path) -> dict[str, float]:
        return dict(query(db, "SELECT date, sales FROM sales WHERE store_id = ? AND product_id = ? ORDER BY date",
                          store_id, product_id))
    return reader


def stored(store_id: str, expected: dict, product_id: str = "all") -> Callable[[Path], None]:
    def check(db: Path) -> None:
        assert sales_of(store_id, product_id)(db) == expected
    return check


def round_trip(column: str, value: str) -> Callable[[Path], None]:
    """The id is stored as written and its series key parses back to it (store or product)."""
    def check(db: Path) -> None:
        dim = "stores" if column == "store_id" else "products"
        assert query(db, f"SELECT {column} FROM {dim} WHERE {column} = ?", value) == [(value,)]
        found = query(db, f"SELECT node_id FROM nodes WHERE level = 'store_product' AND {column} = ?", value)
        assert found, f"no bottom node for {value!r}"
        assert keys.parse_node_id(found[0][0])[column] == value
    return check


NEW_WEEK = {"2023-01-08": 10.0, "2023-01-09": 11.0, "2023-01-10": 12.0}


# ----------------------------------------------------------------------------- file builders

def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def truncated_gzip(path: Path) -> Path:
    big = rows(*[f"9,2023-01-08,{i}" for i in range(50_000)])
    path.write_bytes(gz(big)[: len(gz(big)) // 2])
    return path


def parquet(frame: pd.DataFrame) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        frame.to_parquet(path)
        return path
    return write


def directory(path: Path) -> Path:
    path.mkdir()
    return path


def missing(path: Path) -> Path:
    return path.with_name("does-not-exist.csv")


def walmart(train: str, features_row: str = "1,2023-01-06,40,2.5,NA,NA,NA,NA,NA,211,8.1,FALSE") -> Callable:
    def write(path: Path) -> Path:
        path.mkdir()
        (path / "train.csv").write_text("Store,Dept,Date,Weekly_Sales,IsHoliday\n" + train)
        (path / "features.csv").write_text("Store,Date,Temperature,Fuel_Price,MarkDown1,MarkDown2,MarkDown3,"
                                           "MarkDown4,MarkDown5,CPI,Unemployment,IsHoliday\n" + features_row + "\n")
        (path / "stores.csv").write_text("Store,Type,Size\n1,A,151315\n")
        return path
    return write


def with_stores_file(content: str) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        path.write_bytes(rows(*good()))
        (path.parent / "stores_attrs.csv").write_text(content)
        return path
    return write


LONG_ID = "S" * 201
ID_200 = "S" * 200
TEN_MB = "9" * (10 * 1024 * 1024)
WIDE_HEAD = HEAD + "," + ",".join(f"c{i}" for i in range(10_000))
WIDE_ROW = ",".join(["{}"] + ["1"] * 10_000)

CASES: dict[str, Case] = {
    # --- not a CSV at all ------------------------------------------------------------------------------------
    "empty_file": Case(b"", fragments=("the file is empty",)),
    "whitespace_only": Case(b"\n \n\t\n", fragments=("the file is empty",)),
    "header_only": Case(rows(), fragments=("no data rows",)),
    "header_and_blank_lines": Case(rows("", "", ""), fragments=("no data rows",)),
    "binary_garbage": Case(bytes(range(256)) * 64, fragments=("not a CSV text file",)),
    "zip_archive": Case(b"PK\x03\x04" + bytes(200), fragments=("not a CSV text file",)),
    "pdf": Case(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", fragments=("binary content",)),
    "parquet_named_csv": Case(b"PAR1" + bytes(100) + b"PAR1", fragments=("binary content",)),
    "nul_bytes_in_text": Case(rows("9,2023-01-08,1\x00\x00\x00"), fragments=("binary content",)),
    "utf16_text": Case(rows(*good()).decode().encode("utf-16"), fragments=("not a CSV text file",)),
    "directory": Case(directory, fragments=("is a directory",)),
    "missing_file": Case(missing, fragments=("no such file",)),
    # --- compression -----------------------------------------------------------------------------------------
    "truncated_gzip_small": Case(gz(rows(*good()))[:25], suffix=".csv.gz", fragments=("not a readable gzip",)),
    "truncated_gzip_large": Case(truncated_gzip, suffix=".csv.gz", fragments=("cannot be read",)),
    "nested_gzip": Case(gz(gz(rows(*good()))), suffix=".csv.gz", fragments=("binary content",)),
    "plain_text_named_gz": Case(rows(*good()), suffix=".csv.gz", fragments=("not gzip-compressed",)),
    "gzip_named_csv": Case(gz(rows(*good())), expect="accept", check=stored("9", NEW_WEEK)),
    "gzip_bomb": Case(gz(rows(*["9,2023-01-08,10"] * 200_000)), suffix=".csv.gz", env={"SALES_MAX_UPLOAD_MB": "1"},
                      fragments=("MB",)),
    # --- shape -----------------------------------------------------------------------------------------------
    "no_header": Case(b"9,2023-01-08,10\n9,2023-01-09,11\n", fragments=("line 1 (header)", "column 'Date'")),
    "space_delimited": Case(b"Store Date Sales\n9 2023-01-08 10\n", fragments=("line 1 (header)", "not found")),
    "semicolon_decimal_comma": Case(rows("9;2023-01-08;10,5", head="Store;Date;Sales"),
                                    fragments=("line 2, column 'Sales'", "not a number", "'10,5'")),
    "tab_separated": Case(b"Store\tDate\tSales\n9\t2023-01-08\t10\n9\t2023-01-09\t11\n9\t2023-01-10\t12\n",
                          expect="accept", check=stored("9", NEW_WEEK)),
    "ragged_row": Case(rows("9,2023-01-08,10", "9,2023-01-09,11,extra,cells"), fragments=("not a well-formed CSV",)),
    "unterminated_quote": Case(rows("9,2023-01-08,10", '9,2023-01-09,"11'), fragments=("not a well-formed CSV",)),
    "wide_10000_columns": Case(rows(*[WIDE_ROW.format(r) for r in good()], head=WIDE_HEAD), expect="accept",
                               check=stored("9", NEW_WEEK)),
    "cell_10mb_in_sales": Case(rows("9,2023-01-08,10", f"9,2023-01-09,{TEN_MB}x"),
                               fragments=("line 3, column 'Sales'", "not a number", "characters)")),
    "cell_10mb_unmapped": Case(rows(*[r + f",{TEN_MB if i == 1 else 'n'}" for i, r in enumerate(good())],
                                    head=HEAD + ",Note"), expect="accept", check=stored("9", NEW_WEEK)),
    "multiline_cell_then_bad_value": Case(rows('9,2023-01-08,10,"a\nb\nc"', "9,2023-01-09,oops,d",
                                               head=HEAD + ",Note"),
                                          fragments=("line 5, column 'Sales'", "'oops'")),
    "crlf_line_endings": Case(rows(*good(), nl="\r\n"), expect="accept", check=stored("9", NEW_WEEK)),
    # --- encodings -------------------------------------------------------------------------------------------
    "utf8_bom": Case(b"\xef\xbb\xbf" + rows(*good()), expect="accept", check=stored("9", NEW_WEEK)),
    "stray_latin1_byte": Case(rows(*good("Zürich")).replace(b"Z\xc3\xbcrich,2023-01-09", b"Z\xfcrich,2023-01-09"),
                              expect="accept", check=stored("Zürich", NEW_WEEK)),
    "latin1_file": Case(rows(*good("Genève")).decode().encode("latin-1"), expect="accept",
                        check=stored("Genève", NEW_WEEK)),
    # --- dates -----------------------------------------------------------------------------------------------
    "impossible_date": Case(rows("9,2021-02-28,1", "9,2021-02-30,2"), fragments=("line 3, column 'Date'",
                                                                                 "impossible date", "2021-02-30")),
    "unparseable_date": Case(rows("9,2023-01-08,1", "9,yesterday,2"), fragments=("line 3, column 'Date'",)),
    "empty_date": Case(rows("9,2023-01-08,1", "9,,2"), fragments=("line 3, column 'Date'", "missing")),
    "date_1850": Case(rows("9,2023-01-08,1", "9,1850-01-09,2"), fragments=("line 3, column 'Date'",
                                                                           "outside 1900..2100")),
    "date_2150": Case(rows("9,2023-01-08,1", "9,2150-01-09,2"), fragments=("line 3, column 'Date'",
                                                                           "outside 1900..2100")),
    "date_year_1": Case(rows("9,2023-01-08,1", "9,0001-01-01,2"), fragments=("line 3, column 'Date'",)),
    "date_year_9999": Case(rows("9,2023-01-08,1", "9,9999-12-31,2"), fragments=("line 3, column 'Date'",
                                                                                "outside 1900..2100")),
    "date_detached_2099": Case(rows(*[f"9,{d:%Y-%m-%d},1" for d in pd.date_range("2021-01-01", "2023-12-31")],
                                    "9,2099-01-01,2"),
                               fragments=("line 1097, column 'Date'", "years after the other dates")),
    "date_time_of_day": Case(rows("9,2023-01-08,1", "9,2023-01-09 13:45,2"), fragments=("line 3, column 'Date'",
                                                                                       "time of day")),
    "date_midnight_timestamp": Case(rows("9,2023-01-08 00:00:00,10", "9,2023-01-09T00:00,11", "9,2023-01-10,12"),
                                    expect="accept", check=stored("9", NEW_WEEK)),
    "date_mixed_time_zones": Case(rows("9,2023-01-08,10", "9,2023-01-09T00:00:00+05:00,11",
                                       "9,2023-01-10T00:00:00-03:00,12"), expect="accept",
                                  check=stored("9", NEW_WEEK)),
    "date_day_first_without_flag": Case(rows("9,13/01/2023,1"), fragments=("line 2, column 'Date'", "--dayfirst")),
    "date_excel_serial": Case(rows("9,2023-01-08,1", "9,44927,2"), fragments=("line 3, column 'Date'",)),
    # --- numbers ---------------------------------------------------------------------------------------------
    "thousands_separator": Case(rows("9,2023-01-08,10", '9,2023-01-09,"1,234.5"'),
                                fragments=("line 3, column 'Sales'", "not a number", "1,234.5")),
    "percent_string": Case(rows("9,2023-01-08,10", "9,2023-01-09,12%"), fragments=("line 3, column 'Sales'",
                                                                                   "'12%'")),
    "percent_promo_intensity": Case(rows("9,2023-01-08,10,5", "9,2023-01-09,11,12%", head=HEAD + ",Depth"),
                                    args=("--map", MAP + ",promo_intensity=Depth"),
                                    fragments=("line 3, column 'Depth'", "not a number")),
    "currency_symbol": Case(rows("9,2023-01-08,10", "9,2023-01-09,$11"), fragments=("line 3, column 'Sales'",)),
    "hex_number": Case(rows("9,2023-01-08,10", "9,2023-01-09,0x1F"), fragments=("line 3, column 'Sales'",)),
    "sales_1e308": Case(rows("9,2023-01-08,1e308", "9,2023-01-09,1e308"),
                        fragments=("line 2, column 'Sales'", "not a finite number", "1 more line")),
    "sales_1e309_overflows": Case(rows("9,2023-01-08,10", "9,2023-01-09,1e309"),
                                  fragments=("line 3, column 'Sales'", "not a number")),
    "sales_inf_text": Case(rows("9,2023-01-08,10", "9,2023-01-09,inf"), fragments=("line 3, column 'Sales'",)),
    "sales_minus_infinity": Case(rows("9,2023-01-08,10", "9,2023-01-09,-Infinity"),
                                 fragments=("line 3, column 'Sales'",)),
    "sales_above_bound": Case(rows("9,2023-01-08,10", "9,2023-01-09,-1.5e15"),
                              fragments=("line 3, column 'Sales'", "within ±1e+15")),
    "sales_at_bound": Case(rows("9,2023-01-08,1e15", "9,2023-01-09,11", "9,2023-01-10,12"), expect="accept",
                           check=stored("9", {**NEW_WEEK, "2023-01-08": 1e15})),
    "sales_nan_text_is_a_missing_value": Case(rows(*good(), "9,2023-01-11,NaN"), expect="accept",
                                              check=stored("9", NEW_WEEK)),
    "sales_all_missing": Case(rows("9,2023-01-08,NaN", "9,2023-01-09,"), fragments=("no row has a sales value",
                                                                                   "column 'Sales'")),
    "sales_negative_returns": Case(rows("9,2023-01-08,-3.5", "9,2023-01-09,11", "9,2023-01-10,12"),
                                   expect="accept", check=stored("9", {**NEW_WEEK, "2023-01-08": -3.5})),
    "sales_padded_with_spaces": Case(rows("9,2023-01-08, 10 ", "9,2023-01-09,11", "9,2023-01-10,12"),
                                     expect="accept", check=stored("9", NEW_WEEK)),
    "price_1e20": Case(rows("9,2023-01-08,10,2", "9,2023-01-09,11,1e20", head=HEAD + ",Price"),
                       args=("--map", MAP + ",price=Price"), fragments=("line 3, column 'Price'", "finite")),
    "temperature_inf": Case(rows("9,2023-01-08,10,2", "9,2023-01-09,11,-inf", head=HEAD + ",Temp"),
                            args=("--map", MAP + ",temperature=Temp"), fragments=("line 3, column 'Temp'",)),
    "promo_flag_1e308": Case(rows("9,2023-01-08,10,0", "9,2023-01-09,11,1e308", head=HEAD + ",Promo"),
                             args=("--map", MAP + ",promo=Promo"), fragments=("line 3, column 'Promo'", "finite")),
    "extra_covariate_huge": Case(rows("9,2023-01-08,10,3", "9,2023-01-09,11,4e300", head=HEAD + ",Visitors"),
                                 args=("--map", MAP, "--extra", "Visitors"),
                                 fragments=("line 3, column 'Visitors'", "finite")),
    "store_file_size_inf": Case(with_stores_file("Store,Size\n9,inf\n"),
                                args=("--map", MAP, "--stores", "{dir}/stores_attrs.csv", "--stores-map",
                                      "store=Store,size=Size"),
                                fragments=("stores_attrs.csv: line 2, column 'Size'",)),
    "bad_open_flag": Case(rows("9,2023-01-08,10,1", "9,2023-01-09,11,maybe", head=HEAD + ",Open"),
                          args=("--map", MAP + ",open=Open"), fragments=("line 3, column 'Open'", "'maybe'")),
    # --- duplicates and ids ----------------------------------------------------------------------------------
    "conflicting_duplicate": Case(rows("9,2023-01-08,10", "9,2023-01-09,11", "9,2023-01-08,99"),
                                  fragments=("line 4, column 'Sales'", "conflicting duplicate of line 2")),
    "identical_duplicates": Case(rows(*good(), "9,2023-01-09,11"), expect="accept", check=stored("9", NEW_WEEK)),
    "missing_store_id": Case(rows("9,2023-01-08,10", ",2023-01-09,11"), fragments=("line 3, column 'Store'",
                                                                                   "missing store id")),
    "store_with_two_regions": Case(rows("9,2023-01-08,10,N", "9,2023-01-09,11,S", head=HEAD + ",Region"),
                                   args=("--map", MAP + ",region=Region"),
                                   fragments=("line 3, column 'Region'", "has two values")),
    "id_with_quotes": Case(rows(*good('"O\'Brien ""north"""')), expect="accept",
                           check=round_trip("store_id", 'O\'Brien "north"')),
    "id_with_sql": Case(rows(*good('"1\'); DROP TABLE sales;--"')), expect="accept",
                        check=round_trip("store_id", "1'); DROP TABLE sales;--")),
    "id_unicode": Case(rows(*good("Zürich-Ü")), expect="accept", check=round_trip("store_id", "Zürich-Ü")),
    "id_200_characters": Case(rows(*good(ID_200)), expect="accept", check=round_trip("store_id", ID_200)),
    "id_with_slash_and_equals": Case(rows(*good("1/product=B")), expect="accept",
                                     check=round_trip("store_id", "1/product=B")),
    "product_id_with_equals": Case(rows(*[r + ",a=b" for r in good()], head=HEAD + ",Item"),
                                   args=("--map", MAP + ",product=Item"), expect="accept",
                                   check=round_trip("product_id", "a=b")),
    "product_id_with_a_key_inside": Case(rows(*[r + ",x/store=1" for r in good()], head=HEAD + ",Item"),
                                         args=("--map", MAP + ",product=Item"), expect="accept",
                                         check=round_trip("product_id", "x/store=1")),
    "id_201_characters": Case(rows(*good(LONG_ID)), fragments=("line 2, column 'Store'", "200")),
    "id_10mb": Case(rows(f"{TEN_MB},2023-01-08,10"), fragments=("line 2, column 'Store'", "200")),
    # --- mapping and frequency -------------------------------------------------------------------------------
    "unknown_mapped_column": Case(rows(*good()), args=("--map", "date=Date,sales=Revenue"),
                                  fragments=("line 1 (header), column 'Revenue'", "not found")),
    "unknown_field": Case(rows(*good()), args=("--map", MAP + ",colour=Store"), fragments=("unknown field",)),
    "malformed_map": Case(rows(*good()), args=("--map", "date,sales=Sales"), fragments=("--map",)),
    "weekly_rows_into_daily_store": Case(rows("9,2023-01-08,10", "9,2023-01-15,11", "9,2023-01-22,12"),
                                         fragments=("frequency mismatch", "weekly (W)", "daily (D)")),
    "monthly_rows": Case(rows("9,2023-01-01,10", "9,2023-02-01,11", "9,2023-03-01,12"),
                         fragments=("days apart", "daily (D) and weekly (W)")),
    # --- Parquet ---------------------------------------------------------------------------------------------
    "parquet_sales_as_text": Case(parquet(pd.DataFrame({"Store": ["9", "9"], "Date": ["2023-01-08", "2023-01-09"],
                                                        "Sales": ["10", "lots"]})), suffix=".parquet",
                                  fragments=("row 2, column 'Sales'", "not a number")),
    "parquet_sales_as_lists": Case(parquet(pd.DataFrame({"Store": ["9", "9"], "Date": ["2023-01-08", "2023-01-09"],
                                                         "Sales": [[1.0], [2.0, 3.0]]})), suffix=".parquet",
                                   fragments=("row 1, column 'Sales'", "not a number")),
    "parquet_date_as_float": Case(parquet(pd.DataFrame({"Store": ["9"], "Date": [1.5], "Sales": [1.0]})),
                                  suffix=".parquet", fragments=("row 1, column 'Date'",)),
    "parquet_date_year_3000": Case(parquet(pd.DataFrame({
        "Store": ["9", "9"], "Date": pd.Series([pd.Timestamp("2023-01-08"), pd.Timestamp("3000-01-01")],
                                              dtype="datetime64[us]"), "Sales": [1.0, 2.0]})),
        suffix=".parquet", fragments=("row 2, column 'Date'", "outside 1900..2100")),
    "parquet_sales_inf": Case(parquet(pd.DataFrame({"Store": ["9", "9"], "Date": pd.to_datetime(
        ["2023-01-08", "2023-01-09"]), "Sales": [1.0, -np.inf]})), suffix=".parquet",
        fragments=("row 2, column 'Sales'",)),
    "parquet_empty": Case(parquet(pd.DataFrame({"Store": pd.Series([], dtype=str), "Date": pd.Series([], dtype=str),
                                                "Sales": pd.Series([], dtype=float)})), suffix=".parquet",
                          fragments=("no data rows",)),
    "parquet_truncated": Case(lambda p: (p.write_bytes(_parquet_bytes()[:-40]), p)[1], suffix=".parquet",
                              fragments=("not a readable Parquet file",)),
    "parquet_typed_ok": Case(parquet(pd.DataFrame({"Store": [9, 9, 9], "Date": pd.to_datetime(
        list(NEW_WEEK)), "Sales": [10, 11, 12]})), suffix=".parquet", expect="accept", check=stored("9", NEW_WEEK)),
    # --- the Walmart importer --------------------------------------------------------------------------------
    "walmart_sales_1e308": Case(walmart("1,1,2023-01-06,10,FALSE\n1,1,2023-01-13,1e308,FALSE\n"), source="walmart",
                                args=(), fragments=("train.csv: line 3, column 'Weekly_Sales'", "finite")),
    "walmart_date_2150": Case(walmart("1,1,2150-01-06,10,FALSE\n"), source="walmart", args=(),
                              fragments=("train.csv: line 2, column 'Date'", "outside 1900..2100")),
    "walmart_temperature_inf": Case(walmart("1,1,2023-01-06,10,FALSE\n",
                                            "1,2023-01-06,inf,2.5,NA,NA,NA,NA,NA,211,8.1,FALSE"),
                                    source="walmart", args=(),
                                    fragments=("features.csv: line 2, column 'Temperature'",)),
}


def _parquet_bytes() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"Store": ["9"] * 50, "Date": ["2023-01-08"] * 50, "Sales": np.arange(50.0)}).to_parquet(buf)
    return buf.getvalue()


# ----------------------------------------------------------------------------- the run

@pytest.fixture(scope="module")
def seeded_master(tmp_path_factory) -> Path:
    """One daily store (shop_daily.csv, stores 1 and 2, 2023-01-01..07), copied by each case."""
    path = tmp_path_factory.mktemp("corpus") / "seed.db"
    url = f"sqlite:///{path}"
    ingest.ingest_csv(SEED, "date=Date,sales=Sales,store=Store,open=Open", url=url)
    store.get_engine(url).dispose()  # checkpoint the WAL into the main file
    return path


def file_state(db: Path) -> tuple:
    """Hashes of the database and its WAL after closing the pooled connections (which checkpoints the WAL)."""
    store.get_engine(f"sqlite:///{db}").dispose()
    wal = db.with_name(db.name + "-wal")
    return (hashlib.sha256(db.read_bytes()).hexdigest(),
            hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() and wal.stat().st_size else None)


def write_input(case: Case, name: str, tmp_path: Path) -> Path:
    path = tmp_path / "in" / f"{name}{case.suffix}"
    path.parent.mkdir()
    if callable(case.content):
        return case.content(path)
    path.write_bytes(case.content)
    return path


def _param(name: str):
    case = CASES[name]
    return pytest.param(name, id=f"{case.expect}-{name}")


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 50
    assert sum(c.expect == "accept" for c in CASES.values()) >= 10


@pytest.mark.parametrize("name", [_param(n) for n in CASES])
def test_bad_input(name, seeded_master, tmp_path, capsys, monkeypatch):
    case = CASES[name]
    db = tmp_path / "store.db"
    shutil.copy(seeded_master, db)
    monkeypatch.setenv("SALES_DB", f"sqlite:///{db}")  # cli.main sets it: restore it after the test
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    path = write_input(case, name, tmp_path)
    args = [a.replace("{dir}", str(path.parent)) for a in case.args]
    before = file_state(db)

    code = cli.main(["ingest", case.source, str(path), *args, "--db", str(db)])
    out, err = capsys.readouterr()

    assert "Traceback" not in out + err
    if case.expect == "refuse":
        assert code == 2, (code, out[-500:], err[-500:])
        assert err.startswith("error: ") and err.count("\n") == 1, err[:500]
        assert len(err) < 1000, f"message too long: {len(err)} characters"
        assert str(path.parent) in err or "--map" in err, err  # the file (or the option) at fault
        for fragment in case.fragments:
            assert fragment in err, (fragment, err)
        assert file_state(db) == before, "a refused import changed the database"
    else:
        assert code == 0, err[-500:]
        store.get_engine(f"sqlite:///{db}").dispose()
        case.check(db)
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        assert query(db, "SELECT count(*) FROM sales WHERE store_id IN ('1', '2')") == [(14,)]  # seed kept


@pytest.mark.parametrize("name", ["binary_garbage", "sales_1e308", "date_mixed_time_zones"])
def test_bad_input_as_a_subprocess(name, seeded_master, tmp_path):
    """The real entry point, in its own process: exit code and no traceback."""
    case = CASES[name]
    db = tmp_path / "store.db"
    shutil.copy(seeded_master, db)
    path = write_input(case, name, tmp_path)
    before = file_state(db)
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "ingest", "csv", str(path), *case.args,
                           "--db", str(db)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == (2 if case.expect == "refuse" else 0), proc.stderr
    if case.expect == "refuse":
        assert file_state(db) == before


def test_concurrent_daily_and_weekly_imports_into_a_new_store(tmp_path):
    """Two imports started at once (threads) into one new database: one is refused with a message, no other
    exception, and never two frequencies stored."""
    import threading
    daily, weekly, db = tmp_path / "daily.csv", tmp_path / "weekly.csv", tmp_path / "new.db"
    daily.write_bytes(rows(*[f"{s},{d:%Y-%m-%d},1" for s in range(5)
                             for d in pd.date_range("2020-01-01", periods=60)]))
    weekly.write_bytes(rows(*[f"{s},{d:%Y-%m-%d},1" for s in range(5)
                              for d in pd.date_range("2020-01-03", periods=60, freq="7D")]))
    url, start, outcome = f"sqlite:///{db}", threading.Barrier(2), {}

    def run(path: Path) -> None:
        start.wait()
        try:
            ingest.ingest_csv(path, MAP, url=url)
            outcome[path.name] = "imported"
        except ingest.IngestError as exc:
            outcome[path.name] = str(exc)
        except Exception as exc:  # noqa: BLE001 - anything else would reach the user as a traceback
            outcome[path.name] = f"TRACEBACK {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=run, args=(path,)) for path in (daily, weekly)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    store.get_engine(url).dispose()
    assert not any(v.startswith("TRACEBACK") for v in outcome.values()), outcome
    assert sorted(v == "imported" for v in outcome.values()) == [False, True], outcome
    assert any("frequency mismatch" in v for v in outcome.values()), outcome
    assert len(query(db, "SELECT DISTINCT frequency FROM datasets")) == 1
