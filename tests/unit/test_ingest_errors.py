"""Bad input: a clear message naming file, line and column, exit code 2, and a byte-identical database."""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

import cli
from data import ingest, store
from tests.pg_cluster import content_digest

DATA = Path(__file__).resolve().parents[1] / "data"
MAP = "date=Date,sales=Sales,store=Store"


def _file_state(url: str) -> tuple:
    """Bytes of the database and its WAL after closing every pooled connection (which checkpoints the WAL)."""
    if not url.startswith("sqlite:///"):
        return (content_digest(url),)  # PostgreSQL: every table's rows and every sequence
    store.get_engine(url).dispose()
    path = Path(url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return (hashlib.sha256(path.read_bytes()).hexdigest(),
            hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() else None)


@pytest.fixture
def loaded_db(tmp_db):
    ingest.ingest_csv(DATA / "shop_daily.csv", "date=Date,sales=Sales,store=Store,open=Open", url=tmp_db)
    return tmp_db


BAD_CASES = {
    # name: (file content (str or bytes), mapping, expected fragments of the message)
    "missing_column": ("Store,Day,Sales\n1,2023-01-01,5\n", MAP, ["line 1", "column 'Date'", "not found"]),
    "impossible_date": ("Store,Date,Sales\n1,2023-01-01,5\n1,2023-02-30,6\n", MAP,
                        ["line 3", "column 'Date'", "2023-02-30"]),
    "unparseable_date": ("Store,Date,Sales\n1,2023-01-01,5\n1,2023-01-02,6\n1,yesterday,7\n", MAP,
                         ["line 4", "column 'Date'", "yesterday"]),
    "non_numeric_sales": ("Store,Date,Sales\n1,2023-01-01,5\n1,2023-01-02,lots\n1,2023-01-03,x\n", MAP,
                          ["line 3", "column 'Sales'", "not a number", "'lots'", "1 more line"]),
    "conflicting_duplicate": ("Store,Date,Sales\n1,2023-01-01,5\n1,2023-01-02,6\n1,2023-01-01,7\n", MAP,
                              ["line 4", "column 'Sales'", "line 2", "5.0 vs 7.0"]),
    "binary_garbage": (bytes(range(256)) * 8, MAP, ["not a CSV"]),
    "empty_file": ("", MAP, ["empty"]),
    "header_only": ("Store,Date,Sales\n", MAP, ["no data rows"]),
    "bad_open_flag": ("Store,Date,Sales,Open\n1,2023-01-01,5,1\n1,2023-01-02,6,maybe\n", MAP + ",open=Open",
                      ["line 3", "column 'Open'", "maybe"]),
    "non_numeric_extra": ("Store,Date,Sales,Visitors\n1,2023-01-01,5,3\n1,2023-01-02,6,many\n", MAP,
                          ["line 3", "column 'Visitors'"]),
    "weekly_into_daily": ("Store,Date,Sales\n1,2023-01-06,5\n1,2023-01-13,6\n1,2023-01-20,7\n", MAP,
                          ["frequency mismatch", "weekly (W)", "daily (D)"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_names_the_problem_and_writes_nothing(case, loaded_db, tmp_path):
    content, mapping, fragments = BAD_CASES[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    extra = "Visitors" if case == "non_numeric_extra" else ""
    before = _file_state(loaded_db)
    with pytest.raises(ingest.IngestError) as err:
        ingest.ingest_csv(path, mapping, extra=extra, url=loaded_db)
    message = str(err.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert _file_state(loaded_db) == before


def test_file_over_the_size_limit(loaded_db, tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text("Store,Date,Sales\n" + "1,2023-01-01,5\n" * 100_000)  # about 1.5 MB
    monkeypatch.setenv("SALES_MAX_UPLOAD_MB", "1")
    before = _file_state(loaded_db)
    with pytest.raises(ingest.IngestError, match=r"over the limit of 1 MB"):
        ingest.ingest_csv(path, MAP, url=loaded_db)
    assert _file_state(loaded_db) == before


def test_fake_gzip_is_rejected(tmp_path, tmp_db):
    path = tmp_path / "sales.csv.gz"
    path.write_text("Store,Date,Sales\n1,2023-01-01,5\n")
    with pytest.raises(ingest.IngestError, match="not gzip"):
        ingest.ingest_csv(path, MAP, url=tmp_db)
    path.write_bytes(gzip.compress(b"Store,Date,Sales\n1,2023-01-01,5\n")[:20])  # truncated
    with pytest.raises(ingest.IngestError, match="sales.csv.gz"):
        ingest.ingest_csv(path, MAP, url=tmp_db)


def test_failed_import_does_not_create_a_new_database(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Store,Date,Sales\n1,2023-01-01,five\n")
    db = tmp_path / "fresh.db"
    with pytest.raises(ingest.IngestError):
        ingest.ingest_csv(bad, MAP, url=f"sqlite:///{db}")
    assert not db.exists() and not Path(str(db) + "-wal").exists()


def test_cli_exits_2_with_the_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SALES_DB", str(tmp_path / "cli.db"))  # cli.main sets SALES_DB; restore it afterwards
    bad = tmp_path / "bad.csv"
    bad.write_text("Store,Date,Sales\n1,2023-01-01,5\n1,2023-01-02,abc\n")
    db = tmp_path / "cli.db"
    code = cli.main(["ingest", "csv", str(bad), "--map", MAP, "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "line 3, column 'Sales'" in err
    assert not db.exists()


def test_walmart_directory_problems(tmp_path):
    with pytest.raises(ingest.IngestError, match="not a directory"):
        ingest.ingest_walmart(tmp_path / "nowhere")
    (tmp_path / "train.csv").write_text("Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2010-02-05,10,FALSE\n")
    with pytest.raises(ingest.IngestError, match="features.csv"):
        ingest.ingest_walmart(tmp_path)
