"""Customers page callbacks on a small analysed demo (and on stores without order lines or analyses)."""
from __future__ import annotations

from contextvars import copy_context

import plotly.graph_objects as go
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate
from sqlalchemy import delete

from analytics.rfm import SEGMENTS
from callbacks import customers as cb
from data import schema, store
from layouts import ids
from tests.customers_helpers import N_CUSTOMERS, customers_db


def _with_trigger(prop_id: str, func, *args):
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": None}]))
        return func(*args)
    return copy_context().run(run)


@pytest.fixture
def cust_db(tmp_path, monkeypatch):
    return customers_db(tmp_path, monkeypatch)


def test_page_fills_from_the_saved_analyses(cust_db):
    status, summary, options, rows, clv_fig, cohort_fig, top, model = cb.render_customers({})
    assert status == [] and f"{N_CUSTOMERS:,} customers" in summary and "churn AUC" in summary
    assert len(rows) == N_CUSTOMERS
    risk = [r["value_at_risk"] for r in rows]
    assert risk == sorted(risk, reverse=True) and all(0 <= r["churn_probability"] <= 1 for r in rows)
    assert {o["value"] for o in options} <= set(SEGMENTS)
    go.Figure(clv_fig), go.Figure(cohort_fig)  # valid figures
    assert cohort_fig["data"][0]["type"] == "heatmap" and clv_fig["data"][0]["type"] == "bar"
    text = str(model)
    assert "BG/NBD" in text and "Gamma-Gamma" in text and "Churn classifier AUC" in text and "0.243" in text
    assert "Churn calibration" in text and "Observed [95%]" in text
    assert "C0" in str(top)


def test_segment_drill_shows_the_segments_products(cust_db):
    options = cb.render_customers({})[2]
    first, last = options[0]["value"], options[-1]["value"]
    assert _with_trigger(f"{ids.Cust.SEGMENT}.options", cb.select_cust_segment, options, None, None) == first
    assert _with_trigger(f"{ids.Cust.SEGMENT}.options", cb.select_cust_segment, options, None, last) == last
    click = {"points": [{"x": last}]}
    assert _with_trigger(f"{ids.Cust.SEGMENTS}.clickData", cb.select_cust_segment, options, click, first) == last
    with pytest.raises(PreventUpdate):
        _with_trigger(f"{ids.Cust.SEGMENTS}.clickData", cb.select_cust_segment, options, {"points": [{"x": "?"}]},
                      first)
    seg_fig, prod_fig, table, seg_table = cb.render_cust_segment(last)
    go.Figure(seg_fig), go.Figure(prod_fig)
    assert "#2563eb" in seg_fig["data"][0]["marker"]["color"]  # the picked segment is highlighted
    products = set(prod_fig["data"][0]["y"])
    assert products and products <= {"P001", "P002", "P003", "P004"} and "Buyers" in str(table)
    assert "Customers" in str(seg_table)
    assert cb.sync_customers_url(last) == ids.to_search({"segment": last})


def test_without_order_lines_the_page_says_how_to_get_them(small_demo_db):
    status, summary, options, rows, clv_fig, *_ = cb.render_customers({})
    assert "ingest orders" in str(status) and "demo --orders" in str(status)
    assert rows == [] and options == [] and "demo --orders" in go.Figure(clv_fig).layout.annotations[0].text


def test_order_lines_without_analyses_name_the_command(cust_db):
    with store.session_scope() as s:
        s.execute(delete(schema.AnalysisResult.__table__))
    status = cb.render_customers({})[0]
    assert "python cli.py customers" in str(status) and "not analysed" in str(status)


def test_export_only_on_click():
    with pytest.raises(PreventUpdate):
        cb.export_cust_csv(None)
    assert cb.export_cust_csv(1) is True
