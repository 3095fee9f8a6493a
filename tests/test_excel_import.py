"""Excel everywhere: the sales, stores, plan and inventory imports read .xlsx, .xls and .ods sheets (calamine), with
`--sheet NAME`, row numbers as the spreadsheet shows them, and clear refusals (missing sheet, merged header cells)
that leave the database byte-identical. Workbooks are written on the fly (tests/excel_helpers.py); the legacy .xls
is the one statsmodels ships (no .xls writer is installed)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

import cli
from data import store, tabular
from data.ingest_common import IngestError
from tests.excel_helpers import write_ods, write_xlsx


def _sales(n_days: int = 10) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D").strftime("%Y-%m-%d")
    rows = [{"Date": d, "Store": s, "Item": "A", "Sales": float(i + 10 * k), "Promo": i % 2}
            for k, s in enumerate(("1", "2")) for i, d in enumerate(dates)]
    return pd.DataFrame(rows)


def _run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _state(db: Path) -> str:
    store.get_engine(f"sqlite:///{db}").dispose()
    wal = db.with_name(db.name + "-wal")
    return hashlib.sha256(db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")).hexdigest()


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "x.db"
    monkeypatch.setenv("SALES_DB", f"sqlite:///{path}")
    return path


def test_sales_from_an_xlsx_sheet_and_an_ods_give_the_same_facts_as_the_csv(tmp_path, db, capsys):
    frame = _sales()
    book = tmp_path / "sales.xlsx"
    write_xlsx(book, frame, sheet="Sales")
    args = ["--map", "date=Date,sales=Sales,store=Store,product=Item,promo=Promo"]
    code, out, err = _run(capsys, "ingest", "csv", book, *args, "--sheet", "Sales", "--db", db)
    assert code == 0, err
    facts = store.sales_facts(f"sqlite:///{db}")
    assert len(facts) == 20 and facts["sales"].sum() == frame["Sales"].sum() and facts["promo"].sum() == 10
    other = tmp_path / "y.db"
    ods = write_ods(tmp_path / "sales.ods", {"Notes": pd.DataFrame({"x": ["read me"]}), "Sales": frame})
    code, _, err = _run(capsys, "ingest", "csv", ods, *args, "--sheet", "Sales", "--db", other)
    assert code == 0, err
    cols = ["store_id", "product_id", "date", "sales", "promo"]
    pd.testing.assert_frame_equal(store.sales_facts(f"sqlite:///{other}")[cols], facts[cols])
    code, _, err = _run(capsys, "ingest", "csv", ods, *args, "--db", other)  # the first sheet has no Date
    assert code == 2 and "column 'Date': mapped column not found" in err


def test_rows_are_numbered_as_the_spreadsheet_shows_them(tmp_path, db, capsys):
    frame = _sales().astype({"Sales": object})
    frame.loc[6, "Sales"] = "n/a?"  # the 7th record: spreadsheet row 8 (header in row 1)
    book = write_xlsx(tmp_path / "bad.xlsx", frame)
    code, _, err = _run(capsys, "ingest", "csv", book, "--map", "date=Date,sales=Sales,store=Store", "--db", db)
    assert code == 2 and err.strip() == f"error: {book}: line 8, column 'Sales': not a number: 'n/a?'"
    assert not db.exists()
    ods = write_ods(tmp_path / "bad.ods", {"S": frame})
    code, _, err = _run(capsys, "ingest", "csv", ods, "--map", "date=Date,sales=Sales,store=Store", "--db", db)
    assert code == 2 and f"{ods}: line 8, column 'Sales': not a number" in err


def test_a_missing_sheet_lists_the_sheets_and_sheet_on_a_csv_is_refused(tmp_path, db, capsys):
    book = write_xlsx(tmp_path / "s.xlsx", _sales(), sheet="Data")
    code, _, err = _run(capsys, "ingest", "csv", book, "--map", "date=Date,sales=Sales", "--sheet", "Sales",
                        "--db", db)
    assert code == 2 and err.strip() == f"error: {book}: no sheet named 'Sales'; the workbook has the sheets 'Data' " \
                                        "(--sheet NAME)"
    csv = tmp_path / "s.csv"
    _sales().to_csv(csv, index=False)
    code, _, err = _run(capsys, "ingest", "csv", csv, "--map", "date=Date,sales=Sales", "--sheet", "Data", "--db", db)
    assert code == 2 and "--sheet applies to workbooks" in err
    assert not db.exists()


def test_merged_header_cells_are_refused_and_nothing_is_written(tmp_path, db, capsys):
    csv = tmp_path / "seed.csv"
    _sales().to_csv(csv, index=False)
    assert _run(capsys, "ingest", "csv", csv, "--map", "date=Date,sales=Sales,store=Store", "--db", db)[0] == 0
    before = _state(db)
    merged = _sales().rename(columns={"Store": "Where", "Item": ""})
    book = write_xlsx(tmp_path / "merged.xlsx", merged, merge="B1:C1")
    code, _, err = _run(capsys, "ingest", "csv", book, "--map", "date=Date,sales=Sales", "--db", db)
    assert code == 2 and err.strip() == (f"error: {book}: line 1, columns B..C: merged header cells B1:C1 ('Where'); "
                                         "every column needs its own header cell in one row: unmerge them and name "
                                         "each column")
    ods = write_ods(tmp_path / "merged.ods", {"S": merged}, merge_header=(1, 2))
    code, _, err = _run(capsys, "ingest", "csv", ods, "--map", "date=Date,sales=Sales", "--db", db)
    assert code == 2 and f"{ods}: line 1, column C: no header above data (merged header cells?)" in err
    assert _state(db) == before


def test_stores_plan_and_inventory_files_as_workbooks(tmp_path, db, capsys):
    sales = tmp_path / "sales.xlsx"
    write_xlsx(sales, _sales())
    stores = write_ods(tmp_path / "stores.ods", {"Stores": pd.DataFrame({"Store": ["1", "2"],
                                                                         "Region": ["North", "South"]})})
    code, _, err = _run(capsys, "ingest", "csv", sales, "--map", "date=Date,sales=Sales,store=Store,product=Item",
                        "--stores", stores, "--stores-map", "store=Store,region=Region", "--db", db)
    assert code == 0, err
    assert store.stores(f"sqlite:///{db}").set_index("store_id")["region"].to_dict() == {"1": "North", "2": "South"}
    plan = write_xlsx(tmp_path / "plan.xlsx", pd.DataFrame({"Date": ["2024-01-12", "2024-01-13"],
                                                            "Store": ["1", "1"], "Promo": [1, 1]}), sheet="Plan")
    code, out, err = _run(capsys, "ingest", "plan", plan, "--map", "date=Date,store=Store,promo=Promo",
                          "--sheet", "Plan", "--db", db)
    assert code == 0, err
    inv = write_ods(tmp_path / "inv.ods", {"Stock": pd.DataFrame({"Store": ["1", "2"], "Item": ["A", "A"],
                                                                  "OnHand": [5, "many"]})})
    code, _, err = _run(capsys, "ingest", "inventory", inv, "--map", "store=Store,product=Item,on_hand=OnHand",
                        "--sheet", "Stock", "--db", db)
    assert code == 2 and f"{inv}: line 3, column 'OnHand'" in err


def test_a_real_legacy_xls_workbook_is_read():
    """The .xls (BIFF) reader on a real file: statsmodels ships one (no .xls writer is installed to make one)."""
    statsmodels = pytest.importorskip("statsmodels")
    path = Path(statsmodels.__file__).parent / "datasets" / "macrodata" / "src" / "macrodata.xls" / "macrodata.xls"
    if not path.exists():
        pytest.skip("statsmodels' macrodata.xls is not installed")
    assert tabular.sheet_names(path) == ["README", "Monthly", "Quarterly"]
    q, is_csv = tabular.read_any(path, "Quarterly")
    assert is_csv and q.columns[0] == "DATE" and len(q) == 251
    assert pd.api.types.is_datetime64_any_dtype(q["DATE"]) and q["DATE"].iloc[0] == pd.Timestamp("1947-01-01")
    assert q.index[0] == 0  # spreadsheet row 2 = index + 2
    with pytest.raises(IngestError, match=r"no sheet named 'Daily'; the workbook has the sheets 'README', "
                                          r"'Monthly', 'Quarterly'"):
        tabular.read_any(path, "Daily")


def test_a_title_row_above_the_header_keeps_spreadsheet_row_numbers(tmp_path, db, capsys):
    rows = [["Date", "Store", "Sales"], ["2024-01-01", "1", 1.5], ["2024-01-02", "1", "x"]]
    book = write_xlsx(tmp_path / "titled.xlsx", pd.DataFrame(rows, columns=["Weekly report", "", ""]))
    frame = tabular.read_workbook(book)  # row 1: a title; row 2: the header
    assert list(frame.columns) == ["Date", "Store", "Sales"] and list(frame.index + 2) == [3, 4]
    code, _, err = _run(capsys, "ingest", "csv", book, "--map", "date=Date,sales=Sales,store=Store", "--db", db)
    assert code == 2 and f"{book}: line 4, column 'Sales': not a number: 'x'" in err


def test_the_api_import_takes_a_workbook_sheet(tmp_path, db, monkeypatch):
    from fastapi.testclient import TestClient

    from api.app import create_api
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    book = Path(write_xlsx(tmp_path / "sales.xlsx", _sales(), sheet="Sales"))
    client = TestClient(create_api(), base_url="http://127.0.0.1")
    form = {"mapping": "date=Date,sales=Sales,store=Store", "sheet": "Daily"}
    r = client.post("/api/v1/imports", files={"file": ("sales.xlsx", book.read_bytes())}, data=form)
    assert r.status_code == 400 and "no sheet named 'Daily'" in r.json()["detail"]
    r = client.post("/api/v1/imports", files={"file": ("sales.xlsx", book.read_bytes())}, data={**form, "sheet": "Sales"})
    assert r.status_code == 201, r.text
    assert r.json()["rows_valid"] == 20
