"""Explore's product-demand panel called directly on the small demo: the class matrix and the two lists from the
stored demand classes, the CSV export, the explored node's class badge, and the empty state before a refresh."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from callbacks import explore_demand as cb
from layouts import ids


def _text(component) -> str:
    """Every text of a component tree, space-separated."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def _save_classes(url):
    """What the refresh stores (jobs.sparse), without fitting any model."""
    from data import store
    from jobs import sparse
    from jobs.refresh_inputs import load_history
    frames, _ = load_history(("product", "store", "store_product"), store.frequency(url), url)
    sparse.save_tables(sparse.demand_tables(frames, store.frequency(url), url), url)


def test_panel_says_when_no_refresh_stored_the_classes(small_demo_db):
    matrix, top, under, _basis, note = cb.render_explore_demand("product")
    assert matrix is None and top == [] and under == []
    assert "cli.py refresh" in str(note)
    with pytest.raises(PreventUpdate):
        cb.render_explore_demand("nonsense")


def test_matrix_lists_export_and_badge(small_demo_db):
    from data import demand as demand_data
    from data import store
    _save_classes(small_demo_db)
    matrix, top, under, basis, note = cb.render_explore_demand("product")
    assert note is None
    table = demand_data.demand_table("product")
    text = _text(matrix)
    assert matrix.id == ids.Explore.DEMAND_TABLE and "Intermittent" in text and "Lumpy" in text
    a_row = _text(matrix.children[1].children[0])  # the A row: nodes (revenue share) per XYZ, then class counts
    assert a_row.startswith("A ") and "%" in a_row
    # every node is counted once in the ABC x XYZ cells and once in the demand-class columns
    from analytics import demand as rules
    assert rules.class_matrix(table)["n"].sum() == (table["xyz"] != "").sum()
    assert rules.class_counts(table).drop(columns="abc").to_numpy().sum() == len(table)
    assert top and all(r["abc"] == "A" for r in top)
    assert all(r["abc"] == "C" for r in under)
    basis_col = "margin" if table["margin"].notna().all() else "revenue"
    assert basis_col in basis
    assert [r[basis_col] for r in top] == sorted((r[basis_col] for r in top), reverse=True)

    sent = cb.export_explore_demand(1, "store")
    assert sent["filename"] == "demand_classes_store.csv"
    got = pd.read_csv(io.StringIO(sent["content"]))
    want = demand_data.demand_table("store")
    assert len(got) == len(want) and {"abc", "xyz", "demand_class", "adi", "cv2", "margin"} <= set(got.columns)

    node = store.nodes("store_product")["node_id"].iloc[0]
    badge = cb.render_explore_demand_class({"nodes": [node]})
    row = demand_data.node_demand(node, "store_product")
    assert f"Demand: {row['demand_class'].replace('_', ' ')}".lower() in _text(badge).lower()
    assert cb.render_explore_demand_class({"nodes": [node, node + "x"]}) is None
