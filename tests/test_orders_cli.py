"""`cli.py ingest orders`: an order-line export imported through the CLI (CSV and .xlsx), the summary and its JSON,
returns matched, time zones, import log and audit entry, idempotent re-import, and bad input refused with a
one-line message while the database stays byte-identical."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

import cli
from data import orders, store
from tests.excel_helpers import write_xlsx

MAP = "date=InvoiceDate,order=InvoiceNo,customer=CustomerID,product=StockCode,quantity=Quantity,price=UnitPrice"
LINES = [
    "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
    "536365,85123A,6,2010-12-01T08:26:00Z,2.55,17850,United Kingdom",
    "536365,71053,6,2010-12-01T08:26:00Z,3.39,17850,United Kingdom",
    "536366,22633,6,2010-12-01T23:30:00Z,1.85,13047,United Kingdom",
    "C536379,85123A,-2,2010-12-02T09:41:00Z,2.55,17850,United Kingdom",
    "536380,22633,2,2010-12-02T10:00:00Z,1.85,,France",
    "536381,71053,-1,2010-12-03T10:00:00Z,3.39,12583,France",
]


def _csv(tmp_path, lines=LINES, name="orders.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _state(db: Path) -> str:
    store.get_engine(f"sqlite:///{db}").dispose()  # checkpoints the WAL into the file
    wal = db.with_name(db.name + "-wal")
    return hashlib.sha256(db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")).hexdigest()


def test_ingest_orders_json_summary_returns_time_zone_log_and_audit(tmp_path, capsys, monkeypatch):
    db = tmp_path / "o.db"
    monkeypatch.setenv("SALES_DB", f"sqlite:///{db}")
    code, out, err = _run(capsys, "ingest", "orders", str(_csv(tmp_path)), "--map", MAP,
                          "--returns-prefix", "C", "--timezone", "Europe/Berlin", "--json", "--db", str(db))
    assert code == 0, err
    s = json.loads(out)
    assert (s["order_lines"], s["orders"], s["customers"], s["lines_without_customer"]) == (6, 5, 3, 1)
    r = s["returns"]  # C536379 undoes 2 of 536365's 6 units; 536381's return has no sale in the file
    assert (r["lines"], r["matched"], r["unmatched"], r["units"], r["unmatched_units"]) == (2, 1, 1, 3.0, 1.0)
    assert s["timezone"] == "Europe/Berlin" and s["frequency"] == "D"
    facts = store.sales_facts(f"sqlite:///{db}")
    day = facts.set_index(["product_id", facts["date"].dt.strftime("%Y-%m-%d")])
    # 23:30 UTC on 1 December is 00:30 on 2 December in Berlin: summed into that day
    assert day.loc[("22633", "2010-12-02"), "units"] == 8.0 and ("22633", "2010-12-01") not in day.index
    assert day.loc[("85123A", "2010-12-01"), "units"] == 4.0
    assert day.loc[("85123A", "2010-12-01"), "sales"] == pytest.approx(4 * 2.55)
    lines = orders.read_order_lines(f"sqlite:///{db}")
    assert lines.loc[lines["order_id"] == "C536379", "matched_order"].iloc[0] == "536365"
    assert lines["ts"].dt.hour.tolist()[0] == 9  # 08:26 UTC kept as Berlin local time
    log = store.datasets(f"sqlite:///{db}")
    assert log["name"].iloc[0] == "orders" and json.loads(log["details"].iloc[0])["options"]["returns"]["lines"] == 2
    code, out, _ = _run(capsys, "audit", "--json", "--db", str(db))
    assert code == 0 and "import.orders" in out
    code, out, _ = _run(capsys, "ingest", "orders", str(_csv(tmp_path)), "--map", MAP,
                        "--returns-prefix", "C", "--timezone", "Europe/Berlin", "--db", str(db))
    assert code == 0 and "Already imported" in out


BAD_LINES = [
    ("536390,,1,2010-12-03T10:00:00Z,1.0,1,UK", ("line 8, column 'StockCode'", "missing product id")),
    ("536390,22633,1,,1.0,1,UK", ("line 8, column 'InvoiceDate'", "missing, unparseable or impossible date")),
    ("536390,22633,two,2010-12-03T10:00:00Z,1.0,1,UK", ("line 8, column 'Quantity'", "not a number: 'two'")),
]


def test_bad_order_lines_are_refused_and_the_database_is_byte_identical(tmp_path, capsys, monkeypatch):
    db = tmp_path / "o.db"
    monkeypatch.setenv("SALES_DB", f"sqlite:///{db}")
    assert _run(capsys, "ingest", "orders", str(_csv(tmp_path)), "--map", MAP, "--db", str(db))[0] == 0
    before = _state(db)
    for n, (bad_line, fragments) in enumerate(BAD_LINES):
        bad = _csv(tmp_path, LINES + [bad_line], name=f"bad{n}.csv")
        code, out, err = _run(capsys, "ingest", "orders", str(bad), "--map", MAP, "--db", str(db))
        assert code == 2 and err.startswith(f"error: {bad}: ") and err.count("\n") == 1 and "Traceback" not in err
        for fragment in fragments:
            assert fragment in err, err
        assert _state(db) == before


def test_orders_from_a_workbook_sheet_and_an_empty_customer_column(tmp_path, capsys, monkeypatch):
    db = tmp_path / "o.db"
    monkeypatch.setenv("SALES_DB", f"sqlite:///{db}")
    frame = pd.read_csv(_csv(tmp_path), dtype={"InvoiceNo": str, "CustomerID": str}).assign(CustomerID=None)
    book = write_xlsx(tmp_path / "orders.xlsx", frame, sheet="Lines")
    code, _out, err = _run(capsys, "ingest", "orders", book, "--map", MAP, "--sheet", "Nope", "--db", str(db))
    assert code == 2 and "no sheet named 'Nope'; the workbook has the sheets 'Lines'" in err
    assert not db.exists()
    code, out, err = _run(capsys, "ingest", "orders", book, "--map", MAP, "--sheet", "Lines", "--returns-prefix", "C",
                          "--dry-run", "--db", str(db))
    assert code == 0, err
    assert "DRY RUN" in out and "customers off" in out and "customer analytics are off" in out
    assert not db.exists()
    frame = frame.astype({"Quantity": object})
    frame.loc[3, "Quantity"] = "x"
    book = write_xlsx(tmp_path / "bad.xlsx", frame, sheet="Lines")
    code, _out, err = _run(capsys, "ingest", "orders", book, "--map", MAP, "--db", str(db))
    assert code == 2 and "bad.xlsx: line 5, column 'Quantity': not a number: 'x'" in err  # Excel's row 5


def test_a_mapping_without_price_or_sales_is_one_line_exit_2(tmp_path, capsys):
    code, _out, err = _run(capsys, "ingest", "orders", str(_csv(tmp_path)), "--map",
                           "date=InvoiceDate,order=InvoiceNo,product=StockCode,quantity=Quantity",
                           "--db", str(tmp_path / "o.db"))
    assert code == 2 and err == ("error: --map: map price=COLUMN (revenue = quantity x price) or sales=COLUMN "
                                 "(the line's revenue)\n")
    assert not (tmp_path / "o.db").exists()
