"""Overview callbacks called directly on the small demo store (with and without a published run)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

import callbacks._views as _views
from callbacks import overview as cb
from data import store
from layouts import ids
from tests.dash_helpers import find_values, page_layout, publish_fake_run

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)

NAMES = ("sales", "vs-prev", "vs-ly", "forecast", "accuracy", "freshness")


def _kpis(out):
    values, details, alerts = out[:6], out[6:12], out[12]
    return dict(zip(NAMES, values)), dict(zip(NAMES, details)), alerts


def test_empty_store_shows_empty_states(tmp_db):
    values, details, alerts = _kpis(cb.render_overview_kpis(28))
    assert set(values.values()) == {"–"}
    assert "empty" in alerts[0].children
    assert "empty" in go.Figure(cb.render_overview_fan(28)).layout.annotations[0].text
    assert go.Figure(cb.render_overview_movers(28, "store")).layout.annotations  # a message, not an error


def test_kpis_match_the_store(small_demo_db):
    values, details, alerts = _kpis(cb.render_overview_kpis(28))
    _, last = store.date_bounds()
    hist = store.series("total", start=last - pd.Timedelta(days=27))
    prev = store.series("total", start=last - pd.Timedelta(days=55), end=last - pd.Timedelta(days=28))
    assert len(hist) == 28
    assert values["sales"] == cb.fmt_money(hist["y"].sum())
    assert values["vs-prev"] == f"{(hist['y'].sum() / prev['y'].sum() - 1) * 100:+.1f}%"
    assert values["vs-ly"].endswith("%")  # two years of history: last year exists
    assert values["forecast"] == "–" and "refresh" in details["forecast"]
    assert any("No forecasts yet" in str(a.children) for a in alerts)


def test_kpis_read_the_current_run(small_demo_db):
    run = publish_fake_run(small_demo_db, horizon=14)
    values, details, alerts = _kpis(cb.render_overview_kpis(28))
    fc = store.forecast("total", run_id=run["run_id"])
    assert values["forecast"] == cb.fmt_money(fc["yhat"].sum())
    assert cb.fmt_money(fc["yhat_lo_80"].sum()) in details["forecast"]
    assert values["accuracy"] == "11.0%"  # mean WAPE of the chosen model (0.10, 0.11, 0.12)
    assert not any("No forecasts yet" in str(a.children) for a in alerts)
    fig = go.Figure(cb.render_overview_fan(28))
    names = [t.name for t in fig.data]
    assert "Actual" in names and "Forecast (final)" in names and "80% interval" in names


def test_failed_refresh_raises_an_alert(small_demo_db):
    store.create_run("run-broken", {}, None, "test")
    store.mark_failed("run-broken", "LinAlgError: singular matrix")
    *_, alerts = cb.render_overview_kpis(7)
    text = " ".join(str(a.children) for a in alerts)
    assert "failed" in text and "singular matrix" in text


def test_movers_are_sorted_by_growth(small_demo_db):
    df = _views.movers("product", 28, 2)
    assert list(df["rank"]) == ["top", "top", "bottom", "bottom"]
    assert df["growth"].is_monotonic_decreasing
    fig = go.Figure(cb.render_overview_movers(28, "product"))
    assert sorted(fig.data[0].customdata) == sorted(df["node_id"])


def test_period_and_level_go_to_the_url_and_back():
    assert cb.sync_overview_url(91, "product") == "?period=91&movers=product"
    layout = page_layout("/")
    wanted = {ids.Overview.PERIOD, ids.Overview.MOVERS_LEVEL}
    assert find_values(layout(period="91", movers="product"), wanted) == {
        ids.Overview.PERIOD: 91, ids.Overview.MOVERS_LEVEL: "product"}
    # unknown values fall back to the defaults instead of breaking the page
    assert find_values(layout(period="13", movers="planet"), wanted) == {
        ids.Overview.PERIOD: 28, ids.Overview.MOVERS_LEVEL: "store"}
