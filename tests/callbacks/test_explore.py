"""Explore callbacks called directly on the small demo store: filters, drill-down, charts, table and URL state."""
from __future__ import annotations

import json
from contextvars import copy_context
from urllib.parse import parse_qsl

import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from callbacks import explore as cb
from data import store
from layouts import ids
from tests.dash_helpers import find_values, page_layout

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)


def filters(**kw):
    base = dict(start=None, end=None, region=None, stores=[], category=None, products=[], gran="D")
    data, error = cb.collect_explore_filters(**{**base, **kw})
    assert error is None, error
    return data


def run_with_trigger(prop_id: str, value, func, *args):
    """Call a callback that reads ``ctx`` as Dash would after ``prop_id`` changed to ``value``."""
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))
        return func(*args)
    return copy_context().run(run)


def test_default_selection_is_the_total_broken_down_by_region(small_demo_db):
    f = filters()
    _, last = store.date_bounds()
    assert f["nodes"] == ["total"] and f["child_level"] == "region" and len(f["children"]) == 3
    assert f["end_eff"] == last.date().isoformat()
    assert pd.Timestamp(f["start_eff"]) == last - pd.Timedelta(days=364)


def test_drill_path_region_store_category_product(small_demo_db):
    f = filters()
    region = store.parse_node_id(f["children"][0])["region"]
    click = {"points": [{"customdata": f"region={region}"}]}
    r, s, c, p = run_with_trigger(f"{ids.Explore.BREAKDOWN}.clickData", click, cb.apply_drilldown,
                                  click, [], None, [], None, [])
    assert (r, s, c, p) == (region, [], None, [])
    f = filters(region=r)
    assert f["nodes"] == [f"region={region}"] and f["child_level"] == "store"
    store_id = store.parse_node_id(f["children"][0])["store_id"]
    f = filters(region=r, stores=[store_id])
    assert f["child_level"] == "store_category"
    sc = store.parse_node_id(f["children"][0])
    r, s, c, p = cb.drill_to(f["children"][0], r, [store_id], None, [])
    f = filters(region=r, stores=s, category=c)
    assert f["nodes"] == [f"store={store_id}/category={sc['category']}"] and f["child_level"] == "store_product"
    r, s, c, p = cb.drill_to(f["children"][0], r, s, c, p)
    f = filters(region=r, stores=s, category=c, products=p)
    assert len(f["nodes"]) == 1 and store.parse_node_id(f["nodes"][0])["level"] == "store_product"


def test_breadcrumb_climbs_back_up():
    crumb_id = json.dumps(ids.crumb("region"), separators=(",", ":"), sort_keys=True)
    out = run_with_trigger(f"{crumb_id}.n_clicks", 1, cb.apply_drilldown,
                           None, [1], "North", ["01"], "Garden", ["P004"])
    assert out == ("North", [], None, [])
    assert cb.climb_to("total", "North", ["01"], "Garden", ["P004"]) == (None, [], None, [])
    assert cb.climb_to("category", "North", ["01"], "Garden", ["P004"]) == ("North", ["01"], "Garden", [])
    with pytest.raises(PreventUpdate):  # a freshly rendered crumb (n_clicks 0) must not navigate
        run_with_trigger(f"{crumb_id}.n_clicks", 0, cb.apply_drilldown, None, [0], "North", [], None, [])


def test_breakdown_totals_add_up_to_the_selected_series(small_demo_db):
    f = filters(stores=["01"])
    fig, rows = cb.render_explore_breakdown(f)
    fig = go.Figure(fig)
    series = store.nodes_series(tuple(f["nodes"]), f["start_eff"], f["end_eff"])
    assert sum(r["sales"] for r in rows) == pytest.approx(series["y"].sum(), rel=1e-9)
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert sorted(fig.data[0].customdata) == sorted(r["node_id"] for r in rows)


def test_series_chart_shows_this_period_and_last_year(small_demo_db):
    f = filters(category="Garden", gran="W")
    fig = go.Figure(cb.render_explore_series(f))
    names = {t.name: t for t in fig.data}
    assert set(names) == {"This period", "Last year"}
    daily = store.series("category=Garden", start=f["start_eff"], end=f["end_eff"])
    assert sum(names["This period"].y) == pytest.approx(daily["y"].sum())
    assert len(names["This period"].x) <= 54  # weekly points


def test_heatmap_histogram_and_decomposition_render(small_demo_db):
    f = filters(products=["P001"])
    assert go.Figure(cb.render_explore_heatmap(f)).data[0].type == "heatmap"
    assert go.Figure(cb.render_explore_histogram(f)).data[0].type == "histogram"
    dec = go.Figure(run_with_trigger(f"{ids.Explore.FILTERS}.data", f, cb.render_explore_decomposition, f, None))
    assert {t.name for t in dec.data} >= {"observed", "trend", "resid"}


def test_bad_filter_shows_a_message_not_an_error(small_demo_db):
    data, error = cb.collect_explore_filters(None, None, None, ["no-such-store"], None, [], "D")
    assert data is None and "No series matches" in str(error.children)
    assert go.Figure(cb.render_explore_series(None)).layout.annotations


def test_filters_round_trip_through_the_url(small_demo_db):
    f = filters(region="North", stores=["01"], gran="W", start="2022-01-01")
    search, session = cb.sync_explore_url(f, {})
    assert search == "?start=2022-01-01&region=North&stores=01&gran=W"
    assert session == {"node": "store=01"}
    query = dict(parse_qsl(search[1:]))
    page = page_layout("/explore")(**query)
    got = find_values(page, {ids.Explore.REGION, ids.Explore.STORES, ids.Explore.GRAN})
    assert got == {ids.Explore.REGION: "North", ids.Explore.STORES: ["01"], ids.Explore.GRAN: "W"}
    _, title, href = cb.render_explore_breadcrumb(f)
    assert href == "/forecast?node=store=01" and "Store 01" in title


def test_default_granularity_stays_out_of_the_url(small_demo_db):
    assert cb.sync_explore_url(filters(), None)[0] == ""


def test_slow_decomposition_waits_for_the_button(small_demo_db):
    f = filters(products=["P001"])
    assert not cb.decomposition_is_slow(f)  # two years of daily data: weekly STL only, computed at once
    slow = {**f, "first": "2021-01-01", "last": "2023-12-31"}
    assert cb.decomposition_is_slow(slow) and not cb.decomposition_is_slow({**slow, "freq": "W"})
    fig = go.Figure(run_with_trigger(f"{ids.Explore.FILTERS}.data", slow, cb.render_explore_decomposition, slow, None))
    assert "Decompose" in fig.layout.annotations[0].text
    fig = go.Figure(run_with_trigger(f"{ids.Explore.DECOMP_BTN}.n_clicks", 1, cb.render_explore_decomposition, slow, 1))
    assert {t.name for t in fig.data} >= {"observed", "trend", "resid"}
