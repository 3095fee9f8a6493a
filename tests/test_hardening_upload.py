"""Issue 12, items 1-2: the browser never names a server file, and the upload limits hold.

The Data page's callbacks are called directly (background callbacks through their function, as Dash runs them):
a crafted store value (another file's path, a traversal, an unknown or expired id) is refused before anything is
read; a gzip bomb is refused after one limit's worth of decompression; Flask refuses an oversized request; uploads
are deleted after an import and swept when they expire.
"""
from __future__ import annotations

import base64
import gzip
import io
import os
import time
import tracemalloc

import pytest

import cli
import config
from callbacks import data as cb
from data import ingest, ingest_common, size_guard, store, uploads
from layouts import ids
from tests.dash_helpers import page_layout

FIELDS = [{"type": "data-map", "field": f} for f in ("date", "sales", "store")]
VALUES = ["Date", "Sales", "Store"]
CSV = "Date,Sales,Store\n" + "".join(f"2024-01-{d:02d},{d}.5,A\n" for d in range(1, 29))
MB = 1024 * 1024


def _data_url(raw: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(raw).decode()


def _bomb(expanded_mb: int) -> bytes:
    """A multi-member gzip of zeros: about 1 KB per 1 MB it expands to (built in milliseconds)."""
    return gzip.compress(b"\0" * (10 * MB), 9) * (expanded_mb // 10)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def no_reads(monkeypatch):
    """Fail the test if the importer is asked to read any file."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError(f"the importer was asked to read {args!r}")
    monkeypatch.setattr(ingest, "ingest_csv", refuse)
    monkeypatch.setattr(ingest, "read_table", refuse)
    return calls


# ----------------------------------------------------------------------------- item 1: ids, never paths

def _crafted(real_csv) -> list:
    return [{"path": "/etc/passwd", "name": "passwd"}, {"id": "/etc/passwd", "name": "x"},
            {"id": "../../x"}, {"id": "../../../../etc/passwd"}, {"id": str(real_csv)}, {"path": str(real_csv)},
            {"id": "A" * 32}, {"id": "A" * 31 + "/"}, {"id": "." * 32}, {"id": None}, {"id": 12345},
            {"id": ["x"]}, {"id": "A" * 33}, "/etc/passwd", ["/etc/passwd"]]


def test_a_crafted_store_value_is_refused_and_nothing_is_read(tmp_db, tmp_path, cache_dir, no_reads):
    real = tmp_path / "other.csv"
    real.write_text("Date,Sales,Store\n2024-01-01,1,SECRET-MARKER\n")
    cases = _crafted(real)
    for file in cases:
        for report in (cb.render_validation_report(lambda p: None, 1, file, VALUES, FIELDS, [], []),
                       cb.render_import_result(lambda p: None, 1, file, VALUES, FIELDS, [], []),
                       cb.render_mapping_form(file)[0]):
            text = str(report)
            assert "danger" in text and "upload the file again" in text, (file, text)
            assert "SECRET-MARKER" not in text and "root:" not in text
    assert no_reads == [] and not store.db_exists(tmp_db)
    assert len(cases) == 15


def test_a_path_planted_beside_a_valid_looking_id_is_not_followed(tmp_path, cache_dir, no_reads):
    """A folder named like an id but without the server's record (or with a record naming another file) is unknown."""
    uid = "B" * 32
    home = cache_dir / "uploads" / uid
    home.mkdir(parents=True)
    with pytest.raises(uploads.UploadError, match="unknown"):
        uploads.resolve(uid)
    (home / uploads.RECORD).write_text('{"name": "x", "file": "../../../etc/passwd", "created": %f}' % time.time())
    with pytest.raises(uploads.UploadError, match="unknown"):
        uploads.resolve(uid)
    assert "upload the file again" in str(cb.render_mapping_form({"id": uid})[0]) and no_reads == []


def test_the_page_gets_only_an_id_that_resolves_on_the_server(cache_dir):
    file = cb.save_uploaded_file(_data_url(CSV.encode()), "../../my sales.csv")[0]
    assert set(file) == {"id", "name"} and len(file["id"]) == 32 and "/" not in file["id"]
    upload = uploads.resolve(file["id"])
    assert upload.path.parent == cache_dir / "uploads" / file["id"] and upload.path.name == "my_sales.csv"
    assert upload.path.read_text() == CSV and upload.name == "../../my sales.csv"
    other = cb.save_uploaded_file(_data_url(CSV.encode()), "sales.csv")[0]
    assert other["id"] != file["id"]  # same content, a new random id


def test_errors_name_the_users_file_not_the_server_path(tmp_db, cache_dir):
    bad = CSV.replace("2024-01-03,3.5", "2024-01-03,three")
    file = cb.save_uploaded_file(_data_url(bad.encode()), "march.csv")[0]
    text = str(cb.render_validation_report(lambda p: None, 1, file, VALUES, FIELDS, [], []))
    assert "march.csv: line 4, column 'Sales'" in text and str(cache_dir) not in text


# ----------------------------------------------------------------------------- item 2: limits

def test_a_gzip_bomb_is_refused_early_by_every_import_path(tmp_db, tmp_path, cache_dir, monkeypatch, capsys):
    monkeypatch.setenv("SALES_MAX_UPLOAD_MB", "1")
    raw = _bomb(1000)  # about 1 MB of gzip expanding to 1,000 MB
    assert len(raw) < MB
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(raw)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ingest.IngestError) as err:
        ingest_common.check_file(bomb)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(err.value) == (f"{bomb}: the decompressed content is over the limit of 1 MB (raise it with "
                              "SALES_MAX_UPLOAD_MB)")
    assert seconds < 2 and peak < 8 * MB  # 1,000 MB were not decompressed nor held
    # CLI: exit code 2, one line, no traceback, no database
    code = cli.main(["ingest", "csv", str(bomb), "--map", "date=Date,sales=Sales", "--db", str(tmp_path / "c.db")])
    out = capsys.readouterr().err
    assert code == 2 and "over the limit of 1 MB" in out and "Traceback" not in out
    assert not (tmp_path / "c.db").exists()
    # UI: the upload is accepted (1 MB on the wire), reading it is refused and names the user's file
    file = cb.save_uploaded_file(_data_url(raw), "bomb.csv.gz")[0]
    text = str(cb.render_mapping_form(file)[0])
    assert "bomb.csv.gz: the decompressed content is over the limit of 1 MB" in text and str(cache_dir) not in text


def test_the_bomb_check_reads_one_limit_and_one_chunk(monkeypatch):
    raw = _bomb(1000)

    class Counting(io.BytesIO):
        consumed = 0

        def read(self, n=-1):
            data = super().read(n)
            Counting.consumed += len(data)
            return data
    expanded = size_guard.expanded_bytes(Counting(raw), stop_after=MB)
    assert MB < expanded <= MB + 2 * size_guard.CHUNK  # stopped just past the limit, not at 1,000 MB
    assert Counting.consumed < len(raw) / 50           # and read a small part of the compressed file


def test_nested_gzip_does_not_bypass_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MAX_UPLOAD_MB", "1")
    nested = tmp_path / "nested.csv.gz"
    nested.write_bytes(gzip.compress(_bomb(1000)))  # 2 KB: gz of a gz that expands to 1,000 MB
    assert nested.stat().st_size < 10_000
    with pytest.raises(ingest.IngestError, match="nested.csv.gz: the decompressed content is over the limit of 1 MB"):
        ingest_common.check_file(nested)
    deep = b"Date,Sales\n" + b"2024-01-01,1\n" * 200_000  # 2.6 MB of text, three gzip layers deep
    for _ in range(3):
        deep = gzip.compress(deep)
    (tmp_path / "deep.csv.gz").write_bytes(deep)
    with pytest.raises(ingest.IngestError, match="over the limit of 1 MB"):
        ingest_common.check_file(tmp_path / "deep.csv.gz")


def test_small_and_broken_gzip_files_pass_the_size_check_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MAX_UPLOAD_MB", "1")
    good = tmp_path / "good.csv.gz"
    good.write_bytes(gzip.compress(CSV.encode()))
    assert ingest_common.check_file(good) == good
    frame, is_csv = ingest.read_table(good)
    assert len(frame) == 28 and is_csv
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(CSV.encode() * 100)[:200])
    assert ingest_common.check_file(truncated) == truncated  # the reader reports it, with its own message


def test_flask_and_the_upload_control_refuse_oversized_requests(monkeypatch):
    from app import create_app
    server = create_app().server
    limit = server.config["MAX_CONTENT_LENGTH"]
    upload_bytes = config.load().max_upload_bytes
    assert limit == config.load().max_request_bytes and upload_bytes * 4 / 3 < limit <= upload_bytes * 4 / 3 + 2 * MB
    monkeypatch.setitem(server.config, "MAX_CONTENT_LENGTH", 1000)  # a body over the limit, without building 700 MB
    response = server.test_client().post("/_dash-update-component", data=b"{" + b" " * 2000 + b"}",
                                         content_type="application/json")
    assert response.status_code == 413
    monkeypatch.setenv("SALES_MAX_UPLOAD_MB", "3")
    tree = page_layout("/data")(tab="upload")
    control = next(c for c in tree._traverse() if getattr(c, "id", None) == ids.Data.UPLOAD)
    assert control.max_size == 3 * MB  # the browser refuses a larger file before sending it


def test_an_oversized_upload_is_refused_before_decoding(cache_dir, monkeypatch):
    monkeypatch.setenv("SALES_MAX_UPLOAD_MB", "1")
    monkeypatch.setattr(uploads.base64, "b64decode", lambda *_: pytest.fail("decoded an oversized upload"))
    file, info, *_ = cb.save_uploaded_file(_data_url(b"x" * (MB + 100)), "big.csv")
    assert file is None and "big.csv: the file is over the upload limit of 1 MB" in str(info)
    assert not (cache_dir / "uploads").exists() or not any((cache_dir / "uploads").iterdir())


# ----------------------------------------------------------------------------- deletion and expiry

def test_an_upload_is_deleted_after_a_successful_import_only(tmp_db, cache_dir):
    file = cb.save_uploaded_file(_data_url(CSV.encode()), "sales.csv")[0]
    home = cache_dir / "uploads" / file["id"]
    assert "Validation passed" in str(cb.render_validation_report(lambda p: None, 1, file, VALUES, FIELDS, [], []))
    assert home.is_dir()  # a dry run keeps it
    failed = str(cb.render_import_result(lambda p: None, 1, file, ["Date", "Store", "Store"], FIELDS, [], []))
    assert "danger" in failed and home.is_dir()  # a failed import keeps it: fix the mapping and retry
    assert "Import finished" in str(cb.render_import_result(lambda p: None, 1, file, VALUES, FIELDS, [], []))
    assert not home.exists() and store.data_summary(tmp_db)["rows"] == 28
    again = str(cb.render_import_result(lambda p: None, 1, file, VALUES, FIELDS, [], []))
    assert "unknown" in again and "upload the file again" in again


def test_expired_uploads_are_swept_when_a_new_one_arrives(cache_dir, monkeypatch):
    monkeypatch.setenv("SALES_UPLOAD_TTL_HOURS", "2")
    t0 = time.time()
    old = uploads.save(CSV.encode(), "old.csv", now=t0 - 3 * 3600)
    recent = uploads.save(CSV.encode(), "recent.csv", now=t0 - 3600)
    legacy = cache_dir / "uploads" / "0123456789abcdef-sales.csv"  # saved by the version before ids
    legacy.write_text(CSV)
    stale = t0 - 5 * 3600
    os.utime(legacy, (stale, stale))
    assert old.path.exists()  # saving "recent" swept nothing yet: "old" was 2 h old then, not over 2 h
    new = cb.save_uploaded_file(_data_url(CSV.encode()), "new.csv")[0]
    assert not old.path.parent.exists() and not legacy.exists()
    assert uploads.resolve(recent.id).path.exists() and uploads.resolve(new["id"]).name == "new.csv"


def test_an_expired_id_is_refused_and_removed(cache_dir, monkeypatch):
    monkeypatch.setenv("SALES_UPLOAD_TTL_HOURS", "1")
    up = uploads.save(CSV.encode(), "late.csv", now=time.time() - 2 * 3600)
    with pytest.raises(uploads.UploadError, match="expired"):
        uploads.resolve(up.id)
    assert not up.path.parent.exists()


def test_ttl_setting_is_parsed_explicitly(monkeypatch):
    assert config.load().upload_ttl_hours == 24
    monkeypatch.setenv("SALES_UPLOAD_TTL_HOURS", "6")
    assert config.load().upload_ttl_hours == 6
    for bad in ("0", "-1", "soon"):
        monkeypatch.setenv("SALES_UPLOAD_TTL_HOURS", bad)
        with pytest.raises(ValueError, match="SALES_UPLOAD_TTL_HOURS"):
            config.load()
