"""Explore page, product demand: the ABC/XYZ x demand-class panel, its CSV export and the explored node's demand
class (all read from the classes the refresh stores, :mod:`data.demand`)."""
from __future__ import annotations

from dash import Input, Output, State, callback, dcc
from dash.exceptions import PreventUpdate

from analytics import demand as demand_rules
from callbacks._cache import memo
from callbacks._errors import guarded
from data import demand as demand_data
from data import store
from data.exports import csv_safe
from layouts import components, demand_panel, ids

NO_CLASSES = "No demand classes yet: they are computed by the forecast refresh (`python cli.py refresh`)."
EXPORT_COLUMNS = ["series_id", "label", "abc", "xyz", "demand_class", "revenue", "revenue_share", "margin", "adi",
                  "cv2", "n_periods", "n_demands", "zero_share", "monthly_cv"]


def _rows(df) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


@callback(Output(ids.Explore.DEMAND_MATRIX, "children"), Output(ids.Explore.DEMAND_TOP, "rowData"),
          Output(ids.Explore.DEMAND_UNDER, "rowData"), Output(ids.Explore.DEMAND_BASIS, "children"),
          Output(ids.Explore.DEMAND_NOTE, "children"), Input(ids.Explore.DEMAND_LEVEL, "value"))
@guarded(lambda msg: (None, [], [], "", components.error_alert(msg, title="Cannot show the demand classes")))
def render_explore_demand(level):
    """Show the level's class matrix and the two product lists when the level changes."""
    if level not in demand_panel.LEVELS:
        raise PreventUpdate
    table = memo(demand_data.demand_table, level)
    if table is None or table.empty:
        return None, [], [], "", components.info_alert(NO_CLASSES, color="secondary")
    view = demand_panel.matrix_view(demand_rules.class_matrix(table), demand_rules.class_counts(table))
    picks = demand_rules.highlights(table)
    basis = ("Class A ranked by gross margin (revenue − units × unit cost from the inventory inputs)."
             if picks["basis"] == "margin" else
             "Class A ranked by revenue: margin needs a unit cost (inventory inputs) and a price for every node, "
             "which this store lacks, so revenue stands in for it.")
    return view, _rows(picks["top"]), _rows(picks["under"]), basis, None


@callback(Output(ids.Explore.DEMAND_DOWNLOAD, "data"), Input(ids.Explore.DEMAND_EXPORT, "n_clicks"),
          State(ids.Explore.DEMAND_LEVEL, "value"), prevent_initial_call=True)
@guarded(lambda _msg: None)
def export_explore_demand(n_clicks, level):
    """Download the level's whole demand table as a formula-safe CSV when Export is clicked."""
    if not n_clicks or level not in demand_panel.LEVELS:
        raise PreventUpdate
    table = memo(demand_data.demand_table, level)
    if table is None or table.empty:
        raise PreventUpdate
    out = csv_safe(table[[c for c in EXPORT_COLUMNS if c in table.columns]])
    return dcc.send_data_frame(out.to_csv, f"demand_classes_{level}.csv", index=False)


@callback(Output(ids.Explore.DEMAND_BADGE, "children"), Input(ids.Explore.FILTERS, "data"))
@guarded(lambda _msg: None)
def render_explore_demand_class(f):
    """Show the explored node's demand class (one node selected) when the filters change."""
    if not f or len(f.get("nodes") or []) != 1:
        return None
    node = f["nodes"][0]
    level = store.parse_node_id(node)["level"]
    table = memo(demand_data.demand_table, level)
    if table is None:
        return None
    row = table[table["series_id"] == node]
    return demand_panel.demand_badge(row.iloc[0].to_dict() if len(row) else None)
