"""The Forecast page's "What drives this forecast" callbacks on a real small run (lgbm artifacts)."""
from __future__ import annotations

import plotly.graph_objects as go
import pytest

from callbacks import explain as cb
from tests.explain_helpers import NODE, tree_run_env


@pytest.fixture(scope="module")
def run_db(tmp_path_factory):
    with tree_run_env(tmp_path_factory.mktemp("explain_cb")) as (url, _):
        yield url


def test_dates_are_the_horizon_and_the_first_is_selected(run_db):
    options, value = cb.fill_fcst_explain_dates(NODE)
    assert len(options) == 7 and value == options[0]["value"]


def test_panel_shows_importance_and_the_dates_contributions(run_db):
    _, first = cb.fill_fcst_explain_dates(NODE)
    overall, node_fig, info = cb.render_fcst_explain(NODE, first)
    bars = go.Figure(overall).data
    assert [t.name for t in bars] == ["gain share", "permutation"] and len(bars[0].y) > 0
    assert abs(sum(bars[0].x) - 1) < 0.5  # the top features hold most of the gain
    fig = go.Figure(node_fig)
    assert first in fig.layout.title.text and "forecast" in fig.layout.title.text
    assert len(fig.data[0].x) > 0 and "lgbm" in info and "TreeSHAP" in info
    # an aggregate node is explained by the aggregates' model
    _, agg_first = cb.fill_fcst_explain_dates("total")
    assert agg_first == first
    assert "lgbm" in cb.render_fcst_explain("total", agg_first)[2]


def test_node_the_run_cannot_explain_gets_a_message(run_db):
    assert cb.fill_fcst_explain_dates("store=9/product=zz") == ([], None)
    overall, node_fig, info = cb.render_fcst_explain("store=9/product=zz", None)
    assert "no lgbm forecast" in info.lower()
    assert "Nothing to explain" in str(go.Figure(overall).layout.annotations[0].text)


def test_no_node_does_not_update(run_db):
    from dash.exceptions import PreventUpdate
    with pytest.raises(PreventUpdate):
        cb.render_fcst_explain(None, None)
