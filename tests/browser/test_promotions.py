"""Promotions page in a real browser: the recommended calendar renders without console errors; Apply writes it."""
from __future__ import annotations

import pytest

from data import store
from tests.promo_helpers import build_promo_db, private_copy

pytestmark = pytest.mark.browser


@pytest.fixture
def promo_db(small_demo_master, tmp_path, monkeypatch):
    master = build_promo_db(small_demo_master, tmp_path / "master.db", monkeypatch)
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.6")
    return private_copy(master, tmp_path, monkeypatch)


def test_promotions_page_optimize_and_apply(dash_duo, promo_db):
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/promotions?weeks=2&k=1")
    dash_duo.wait_for_contains_text("#promo-summary", "Unit costs: default_margin_rate", timeout=30)
    dash_duo.wait_for_element("#promo-calendar-chart .heatmaplayer", timeout=20)
    dash_duo.wait_for_contains_text("#promo-calendar-table", "Margin 95%", timeout=10)
    assert "weeks=2" in dash_duo.driver.current_url and "start=" in dash_duo.driver.current_url
    dash_duo.wait_for_element("#promo-apply-button:not([disabled])", timeout=10).click()
    dash_duo.wait_for_contains_text("#promo-apply-result", "Applied", timeout=30)
    rows = store.plan_rows(url=promo_db)
    rows = rows[rows["source"] == "optimizer"]  # beside the demo's own plan
    assert len(rows) > 0 and (rows["promo"] == 1).all()
    assert dash_duo.get_logs() == []
