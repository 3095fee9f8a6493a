"""Data page in a real browser: a bad upload shows the importer's error, with no console errors."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_bad_upload_shows_the_error(dash_duo, small_demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    bad = tmp_path / "broken.csv"
    bad.write_bytes(bytes(range(256)) * 16)
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/data?tab=upload")
    dash_duo.wait_for_element("#data-upload input[type=file]", timeout=10).send_keys(str(bad))
    dash_duo.wait_for_contains_text("#data-upload-info", "not a CSV", timeout=15)
    assert "This file cannot be imported" in dash_duo.find_element("#data-upload-info").text
    assert dash_duo.find_element("#data-validate-button").get_attribute("disabled") is not None
    assert dash_duo.get_logs() == []
