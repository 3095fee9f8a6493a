"""Forecast callbacks called directly on the small demo store with a published (fake) run."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from callbacks import forecast as cb
from data import store
from layouts import ids
from tests.dash_helpers import find_values, page_layout, publish_fake_run

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)


def test_without_a_run_the_page_says_how_to_get_forecasts(small_demo_db):
    fig, info = cb.render_fcst_chart("total", "final")
    fig = go.Figure(fig)
    assert [t.name for t in fig.data] == ["Actual"]
    assert "python cli.py refresh" in info
    assert "refresh" in str(cb.render_fcst_models_table("total").children)
    acf, hist, text = cb.render_fcst_diagnostics("total")
    acf, hist = go.Figure(acf), go.Figure(hist)
    assert acf.layout.annotations and hist.layout.annotations
    assert cb.fill_fcst_models("total", "ets") == ([{"label": "final (published)", "value": "final"}], "final")


def test_chart_shows_the_chosen_models_forecast_and_bands(small_demo_db):
    run = publish_fake_run(small_demo_db, horizon=14)
    node = "store=01/product=P001"
    fig, info = cb.render_fcst_chart(node, "final")
    fig = go.Figure(fig)
    traces = {t.name: t for t in fig.data}
    fc = store.forecast(node)
    assert list(traces["Forecast (final)"].y) == pytest.approx(list(fc["yhat"]))
    assert {"80% interval", "95% interval", "Actual"} <= set(traces)
    assert "14 periods" in info
    options, value = cb.fill_fcst_models("total", "ets")
    assert [o["value"] for o in options] == ["final", "ets", "seasonal_naive"] and value == "ets"
    assert cb.fill_fcst_models("total", "prophet")[1] == "final"  # unknown model falls back
    assert run["run_id"] == store.current_run()["run_id"]


def test_model_table_highlights_the_chosen_model(small_demo_db):
    publish_fake_run(small_demo_db)
    table = cb.render_fcst_models_table("total")
    rows = table.children[1].children
    assert [r.className for r in rows] == ["chosen", None]
    assert "ets" in str(rows[0].children[0].children) and "11.0%" == rows[0].children[2].children


def test_diagnostics_read_the_stored_residuals(small_demo_db):
    publish_fake_run(small_demo_db)
    acf, hist, text = cb.render_fcst_diagnostics("category=Garden")
    acf, hist = go.Figure(acf), go.Figure(hist)
    diag = store.diagnostics("category=Garden").iloc[0]
    assert list(acf.data[0].y) == pytest.approx(diag["acf"][1:])  # lag 0 (always 1) is dropped
    assert list(hist.data[0].x) == pytest.approx(diag["residuals"])
    assert "0.420" in str(text) and "no evidence" in str(text)


def test_past_runs_are_compared_with_actuals(small_demo_db):
    publish_fake_run(small_demo_db, run_id="run-old", horizon=14, shift_days=14)  # entirely inside the history
    publish_fake_run(small_demo_db, run_id="run-new", horizon=14)
    fig = go.Figure(cb.render_fcst_past("total"))
    names = [t.name for t in fig.data]
    assert names == ["run run-old", "Actual"]


def test_node_search_and_default(small_demo_db):
    opts, value = cb.fill_fcst_node_options("garden", None, "total", None)
    values = [o["value"] for o in opts]
    assert value == "total" and values[0] == "total" and "category=Garden" in values
    assert cb.fill_fcst_node_options(None, {"node": None}, None, {"node": "store=02"})[1] == "store=02"
    assert cb.fill_fcst_node_options(None, {}, None, None)[1] == "total"
    opts, value = cb.fill_fcst_node_options(None, {"node": "store=01/product=P001"}, None, {"node": "store=02"})
    assert value == "store=01/product=P001" and value in [o["value"] for o in opts]


def test_download_is_the_shown_forecast(small_demo_db):
    publish_fake_run(small_demo_db, horizon=10)
    out = cb.download_fcst_csv(1, "region=North", "final")
    assert out["filename"] == "forecast_region-North_final.csv"
    from io import StringIO
    df = pd.read_csv(StringIO(out["content"]))
    assert len(df) == 10 and {"yhat", "yhat_lo_95", "yhat_hi_95", "model"} <= set(df.columns)


def test_node_and_model_round_trip_through_the_url(small_demo_db):
    search = cb.sync_fcst_url("store=01/product=P001", "ets")
    assert search == "?node=store=01/product=P001&model=ets"
    from urllib.parse import parse_qsl
    page = page_layout("/forecast")(**dict(parse_qsl(search[1:])))
    assert find_values(page, {ids.Fcst.NODE, ids.Fcst.MODEL}) == {ids.Fcst.NODE: "store=01/product=P001",
                                                                  ids.Fcst.MODEL: "ets"}
    assert cb.sync_fcst_url("total", "final") == "?node=total"
