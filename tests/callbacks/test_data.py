"""Data page callbacks called directly: summary, import log, quality report, and the upload -> validate -> import flow."""
from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest

from callbacks import data as cb
from data.column_mapping import guess_mapping
from data import store, uploads

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)

FIELDS = [{"type": "data-map", "field": f} for f in ("date", "sales", "store", "product", "promo")]


def _csv(tmp_path, bad_row: int | None = None) -> str:
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    rows = [{"Date": d.strftime("%Y-%m-%d"), "Shop": s, "Item": i, "Revenue": round(float(rng.uniform(10, 50)), 2),
             "Promo": int(rng.random() < 0.2)} for s in ("A", "B") for i in ("x", "y") for d in days]
    df = pd.DataFrame(rows)
    if bad_row is not None:
        df["Revenue"] = df["Revenue"].astype(object)
        df.loc[bad_row, "Revenue"] = "twelve"
    path = tmp_path / "sales.csv"
    df.to_csv(path, index=False)
    return path.read_text()


def _upload(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_guess_mapping_recognises_common_names():
    got = guess_mapping(["Store", "Dept", "Date", "Weekly_Sales", "IsHoliday", "Temperature"])
    assert got == {"date": "Date", "sales": "Weekly_Sales", "store": "Store", "product": "Dept",
                   "holiday": "IsHoliday", "temperature": "Temperature"}
    assert guess_mapping(["a", "b"]) == {}


def test_empty_store_summary(tmp_db):
    store.init_db(tmp_db)
    assert "The store is empty" in str(cb.render_store_summary("summary"))
    assert "Nothing imported yet" in str(cb.render_import_log("summary"))
    with pytest.raises(cb.PreventUpdate):
        cb.render_store_summary("upload")


def _saved(contents: str, filename: str) -> dict:
    """The upload callback's store value: the server-side id and the display name only."""
    file = cb.save_uploaded_file(contents, filename)[0]
    assert set(file) == {"id", "name"}
    return file


def test_upload_validate_import_flow(tmp_db, tmp_path, cache_dir):
    file = _saved(_upload(_csv(tmp_path)), "sales.csv")
    assert file["name"] == "sales.csv" and str(cache_dir) not in json.dumps(file)  # no server path in the page
    text, form, validate_disabled, import_disabled = cb.render_mapping_form(file)
    assert not validate_disabled and not import_disabled
    assert "240 rows, 5 columns" in str(text)
    assert "'value': 'Revenue'" in str(form) or "value='Revenue'" in str(form)  # sales guessed from "Revenue"
    values = ["Date", "Revenue", "Shop", "Item", "Promo"]
    report = cb.render_validation_report(lambda p: None, 1, file, values, FIELDS, [], [])
    assert "Validation passed" in str(report) and "240" in str(report)
    assert not store.db_exists(tmp_db)  # a dry run writes nothing
    progress = []
    result = cb.render_import_result(progress.append, 1, file, values, FIELDS, [], [])
    assert "Import finished" in str(result) and progress[-1] == (100, "done")
    summary = store.data_summary(tmp_db)
    assert summary["rows"] == 240 and summary["levels"]["store"] == 2
    assert "240" in str(cb.render_store_summary("summary"))
    assert "sales.csv" in str(cb.render_import_log("summary"))


def test_bad_values_show_the_importers_error_and_write_nothing(tmp_db, tmp_path, cache_dir):
    file = _saved(_upload(_csv(tmp_path, bad_row=7)), "sales.csv")
    values = ["Date", "Revenue", "Shop", "Item", "Promo"]
    alert = cb.render_validation_report(lambda p: None, 1, file, values, FIELDS, [], [])
    text = str(alert)
    assert "Validation failed" in text and "Revenue" in text and "9" in text  # row 7 = line 9 (header is line 1)
    result = cb.render_import_result(lambda p: None, 1, file, values, FIELDS, [], [])
    assert "danger" in str(result) and not store.db_exists(tmp_db)


def test_binary_upload_is_refused_with_the_importers_message(tmp_db, cache_dir):
    garbage = "data:application/octet-stream;base64," + base64.b64encode(bytes(range(256)) * 8).decode()
    file = _saved(garbage, "x.csv")
    text, form, validate_disabled, import_disabled = cb.render_mapping_form(file)
    assert form is None and validate_disabled and import_disabled
    with pytest.raises(uploads.UploadError):  # the unreadable upload is gone from the server
        uploads.resolve(file["id"])
    assert "not a CSV" in str(text)


def test_missing_mapped_column_is_reported(tmp_db, tmp_path, cache_dir):
    file = _saved(_upload(_csv(tmp_path)), "sales.csv")
    alert = str(cb.render_validation_report(lambda p: None, 1, file, ["Date", None, "Shop", "Item", None], FIELDS,
                                            [], []))
    assert "Validation failed" in alert and "sales" in alert


def test_quality_report_round_trip(small_demo_db):
    assert "No quality report yet" in str(cb.render_quality_report("quality", None))
    status = cb.recompute_quality_report(1)
    assert status.startswith("Report computed")
    view = str(cb.render_quality_report("quality", status))
    frame = store.load_frame(cb.QUALITY_NAME, "all")
    report = json.loads(frame["report"].iloc[0])
    sections = [k for k, v in report.items() if isinstance(v, dict)]
    assert sections and all(k.replace("_", " ").capitalize() in view for k in sections)
    assert all(issue in view for issue in report.get("issues", []))
    assert f"rows: {report['rows']:,}" in view


def test_tab_goes_to_the_url():
    assert cb.sync_data_url("upload") == "?tab=upload"
    assert cb.sync_data_url("summary") == ""
