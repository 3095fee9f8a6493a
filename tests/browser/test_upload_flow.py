"""Data page upload in a real browser: the column read, Validate and Import run as background callbacks on an id."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_upload_validate_import_in_the_background(dash_duo, tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    good = tmp_path / "shop.csv"
    good.write_text("Date,Sales,Store\n" + "".join(f"2024-01-{d:02d},{d}.5,A\n" for d in range(1, 29)))
    from app import create_app
    from data import store
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/data?tab=upload")
    dash_duo.wait_for_element("#data-upload input[type=file]", timeout=10).send_keys(str(good))
    dash_duo.wait_for_contains_text("#data-upload-info", "28 rows, 3 columns", timeout=20)
    uploads_dir = tmp_path / "cache" / "uploads"
    assert len(list(uploads_dir.iterdir())) == 1
    dash_duo.wait_for_element("#data-validate-button:not([disabled])", timeout=10).click()
    dash_duo.wait_for_contains_text("#data-validation-report", "Validation passed", timeout=20)
    dash_duo.wait_for_element("#data-import-button:not([disabled])", timeout=10).click()
    dash_duo.wait_for_contains_text("#data-validation-report", "Import finished", timeout=30)
    assert "shop.csv" in dash_duo.find_element("#data-validation-report").text
    assert store.data_summary(tmp_db)["rows"] == 28 and not any(uploads_dir.iterdir())  # deleted after import
    assert dash_duo.get_logs() == []
