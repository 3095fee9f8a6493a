"""Promotions page callbacks called directly: the calendar for the form's constraints, refusals, applying it."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest
from dash.exceptions import PreventUpdate

from callbacks import promotions as cb
from data import store
from tests.promo_helpers import build_promo_db, private_copy


@pytest.fixture(scope="module")
def promo_master(small_demo_master, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return build_promo_db(small_demo_master, tmp_path_factory.mktemp("promo_cb") / "promo.db", mp)


@pytest.fixture
def promo_db(promo_master, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.6")
    return private_copy(promo_master, tmp_path, monkeypatch)


def test_page_opens_with_the_first_forecast_weeks(promo_db):
    summary, fig, table, params, disabled, start = cb.render_promo_calendar(None, None, None, 3, "0.1,0.2", None)
    first = store.forecasts_for_level("store_product", url=promo_db)["ds"].min()
    assert start == str(first.date()) == params["start"] and params["weeks"] == 4
    assert params["depths"] == [0.1, 0.2] and params["max_per_store_week"] == 3 and not disabled
    go.Figure(fig)  # a valid figure
    assert fig["data"][0]["type"] == "heatmap"
    text = str(summary)
    assert "Expected extra margin" in text and "default_margin_rate" in text and "95% interval" in text
    assert "Margin 95%" in str(table)


@pytest.mark.parametrize("form, fragment", [
    (("2020-01-06", 2, 3, "0.1", None), "outside the forecast horizon"),
    ((None, 2, 3, "0.1,1.5", None), "between 0 and 1"),
    ((None, 2, -1, "0.1", None), "--max-per-store-week"),
    ((None, 2, 3, "0.1", -5), "--budget"),
    ((None, 2.5, 3, "0.1", None), "whole numbers"),
    ((None, 2, None, "0.1", None), "give the number of weeks"),
])
def test_bad_constraints_show_a_message_and_disable_apply(promo_db, form, fragment):
    before = store.plan_rows(url=promo_db)  # the demo's own plan
    summary, fig, table, params, disabled, _ = cb.render_promo_calendar(1, *form)
    assert fragment in str(summary) and params is None and disabled is True
    pd.testing.assert_frame_equal(store.plan_rows(url=promo_db), before)


def test_apply_writes_the_calendar_shown(promo_db):
    _, _, _, params, _, _ = cb.render_promo_calendar(1, None, 2, 1, "0.1,0.2", None)
    with pytest.raises(PreventUpdate):
        cb.apply_promo_calendar(None, params)
    message, disabled = cb.apply_promo_calendar(1, params)
    plan = store.plan_rows(url=promo_db)
    plan = plan[plan["source"] == "optimizer"]  # beside the demo's own plan
    assert "Applied" in str(message) and disabled is True
    assert len(plan) > 0 and (plan["promo"] == 1).all() and set(plan["promo_intensity"]) <= {0.1, 0.2}
    assert cb.sync_promo_url(params).startswith("?start=")
