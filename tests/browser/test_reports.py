"""Reports page in a real browser: a report button generates the report in the background and says so."""
from __future__ import annotations

import pytest

from tests.report_helpers import report_db  # noqa: F401

pytestmark = pytest.mark.browser


def test_reports_page_generates_a_report(dash_duo, report_db, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SALES_DB", report_db)
    from app import create_app
    from layouts import ids
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/reports")
    dash_duo.wait_for_contains_text("#react-entry-point", "Executive summary", timeout=30)
    button = '#\\{\\"fmt\\"\\:\\"html\\"\\,\\"kind\\"\\:\\"model\\"\\,\\"type\\"\\:\\"reports-generate\\"\\}'
    dash_duo.wait_for_element(button, timeout=10).click()
    dash_duo.wait_for_contains_text(f"#{ids.Reports.STATUS}", "Model report (HTML", timeout=60)
    assert dash_duo.get_logs() == []
