"""The Explore page's "Product demand" panel: ABC/XYZ and demand-class matrix, the products to protect and the
candidates for less inventory, with its CSV export (read from the refresh's stored demand classes)."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from layouts import ids

LEVELS = {"product": "Products", "store": "Stores", "store_product": "Store × product"}
CLASS_LABELS = {"smooth": "Smooth", "erratic": "Erratic", "intermittent": "Intermittent", "lumpy": "Lumpy",
                "no_demand": "No demand"}
_NUM = "params.value == null ? '' : d3.format(',.0f')(params.value)"
GRID_COLUMNS = [
    {"field": "label", "headerName": "Node", "flex": 2, "filter": "agTextColumnFilter"},
    {"field": "abc", "headerName": "ABC", "width": 80},
    {"field": "xyz", "headerName": "XYZ", "width": 80},
    {"field": "demand_class", "headerName": "Demand", "flex": 1},
    {"field": "revenue", "headerName": "Revenue", "flex": 1, "valueFormatter": {"function": _NUM}},
    {"field": "revenue_share", "headerName": "Share", "flex": 1,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.2%')(params.value)"}},
    {"field": "margin", "headerName": "Margin", "flex": 1, "valueFormatter": {"function": _NUM}},
    {"field": "adi", "headerName": "ADI", "width": 90,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.2f')(params.value)"}},
    {"field": "cv2", "headerName": "CV²", "width": 90,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.2f')(params.value)"}},
]


def _grid(grid_id: str) -> dag.AgGrid:
    return dag.AgGrid(id=grid_id, columnDefs=GRID_COLUMNS, rowData=[], className="ag-theme-alpine",
                      defaultColDef={"sortable": True, "resizable": True},
                      dashGridOptions={"animateRows": False, "domLayout": "autoHeight"})


def demand_card(level: str = "product") -> dbc.Card:
    """The panel: level choice, export, class matrix, the two lists."""
    return dbc.Card(dbc.CardBody([
        dbc.Row([
            dbc.Col(html.H6("Product demand: ABC / XYZ and demand classes", className="card-title"), md=5),
            dbc.Col(dbc.RadioItems(id=ids.Explore.DEMAND_LEVEL, value=level if level in LEVELS else "product",
                                   inline=True, className="small",
                                   options=[{"label": v, "value": k} for k, v in LEVELS.items()]), md=5),
            dbc.Col([dbc.Button("Export CSV", id=ids.Explore.DEMAND_EXPORT, size="sm", color="secondary",
                                outline=True), dcc.Download(id=ids.Explore.DEMAND_DOWNLOAD)], md=2,
                    className="text-end"),
        ]),
        html.P("ABC: share of revenue (A = the first 80%, B the next 15%, C the last 5%). XYZ: variability of monthly "
               "sales (X: CV below 0.5, Y below 1, Z above). Demand class (Syntetos-Boylan): average interval "
               "between sales (ADI, cut-off 1.32) and variability of the sizes sold (CV², cut-off 0.49) — "
               "intermittent and lumpy series are forecast with Croston SBA / TSB where those win the backtest.",
               className="chart-explanation text-muted small"),
        html.Div(id=ids.Explore.DEMAND_NOTE),
        html.Div(id=ids.Explore.DEMAND_MATRIX, className="mb-3"),
        dbc.Row([
            dbc.Col([html.H6("High demand, high margin: protect availability", className="small fw-bold"),
                     html.P(id=ids.Explore.DEMAND_BASIS, className="text-muted small mb-1"),
                     _grid(ids.Explore.DEMAND_TOP)], lg=6),
            dbc.Col([html.H6("Underperformers: candidates for less inventory", className="small fw-bold"),
                     html.P("Class C (the last 5% of revenue) with intermittent, lumpy, erratic or no demand, or "
                            "very variable monthly sales (Z); least revenue first.", className="text-muted small mb-1"),
                     _grid(ids.Explore.DEMAND_UNDER)], lg=6),
        ]),
    ]), className="chart-card mb-3")


def matrix_view(matrix: pd.DataFrame, counts: pd.DataFrame) -> dbc.Table:
    """One row per ABC class: nodes and revenue share in each XYZ column, then nodes per demand class."""
    head = html.Thead(html.Tr([html.Th("ABC")] + [html.Th(f"{x}: nodes (revenue)") for x in "XYZ"]
                              + [html.Th(CLASS_LABELS[c]) for c in CLASS_LABELS]))
    rows = []
    for abc in "ABC":
        cells = [html.Td(html.B(abc))]
        for x in "XYZ":
            cell = matrix[(matrix["abc"] == abc) & (matrix["xyz"] == x)].iloc[0]
            cells.append(html.Td(f"{int(cell['n'])} ({cell['revenue_share']:.0%})"))
        crow = counts[counts["abc"] == abc].iloc[0]
        cells += [html.Td(int(crow[c])) for c in CLASS_LABELS]
        rows.append(html.Tr(cells))
    return dbc.Table([head, html.Tbody(rows)], bordered=False, hover=True, size="sm", responsive=True,
                     className="small", id=ids.Explore.DEMAND_TABLE)


def demand_badge(row: dict | None) -> html.Span:
    """The explored node's demand class, ABC/XYZ class, ADI and CV² (empty without one)."""
    if not row:
        return html.Span()
    cls = str(row.get("demand_class") or "")
    color = {"smooth": "success", "erratic": "warning", "intermittent": "info", "lumpy": "danger"}.get(cls, "secondary")
    adi, cv2 = row.get("adi"), row.get("cv2")
    detail = [f"ABC {row.get('abc') or '–'}", f"XYZ {row.get('xyz') or '–'}"]
    if adi is not None and pd.notna(adi):
        detail.append(f"ADI {adi:.2f}")
    if cv2 is not None and pd.notna(cv2):
        detail.append(f"CV² {cv2:.2f}")
    return html.Span([dbc.Badge(f"Demand: {CLASS_LABELS.get(cls, cls)}", color=color, className="me-2"),
                      html.Small(" · ".join(detail), className="text-muted")], id=ids.Explore.DEMAND_BADGE_TEXT)
