"""The Plan page's figure and widgets: the plan calendar heatmap, the plan tables, the edit form, the import box.

A helper module (it never calls ``register_page``), kept apart from ``figures.py``/``components.py`` so the Plan
page's pieces stay in one place.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

import config
from layouts import components, figures, ids

GRAIN_LABELS = {"store_product": "One store x product", "store_category": "A store x category",
                "product": "A product in every store", "store": "A whole store",
                "category": "A category in every store", "all": "Every store and product"}
PLAN_FIELD_LABELS = {"date": "Date *", "store": "Store (empty = all)", "product": "Product (empty = all)",
                     "category": "Category (empty = all)", "promo": "Promotion flag (0/1)",
                     "promo_intensity": "Depth (0.2 = 20% off)", "price": "Price", "open": "Open flag (0/1)",
                     "event": "Event name", "cost": "Unit cost"}
MAX_CALENDAR_ROWS = 60
DEPTH_SCALE = [[0.0, "#fdd9b5"], [1.0, "#b03a2e"]]
CLOSED_SCALE = [[0.0, "#555555"], [1.0, "#555555"]]


def plan_calendar(wide: pd.DataFrame, n_series: int | None = -1) -> go.Figure:
    """Bottom series (rows) x dates (columns): promoted days coloured by depth, closed days dark grey.

    ``wide`` is :func:`data.plan_edit.plan_view`'s ``expanded`` frame; series without a promotion or a closure
    in the window are left out, at most :data:`MAX_CALENDAR_ROWS` are drawn. ``n_series`` is how many series have
    one (its ``n_series``: None = more than are drawn, not counted; -1 = count those of ``wide``).
    """
    marked = wide[(wide["promo"] == 1) | (wide["is_open"] == 0)] if len(wide) else wide
    if marked.empty:
        return figures.empty_figure("No planned promotion or closure in this selection")
    marked = marked.assign(series=marked["store_id"].astype(str) + " · " + marked["product_id"].astype(str))
    names = sorted(marked["series"].unique())
    shown = names[:MAX_CALENDAR_ROWS]
    marked = marked[marked["series"].isin(shown)]
    dates = pd.date_range(marked["date"].min(), marked["date"].max(), freq="D")
    grid = marked.pivot_table(index="series", columns="date", aggfunc="first",
                              values=["promo", "promo_intensity", "is_open"], dropna=False)
    depth = grid["promo_intensity"].reindex(index=shown, columns=dates) if "promo_intensity" in grid else None
    promo = grid["promo"].reindex(index=shown, columns=dates)
    closed = (grid["is_open"].reindex(index=shown, columns=dates) == 0 if "is_open" in grid
              else pd.DataFrame(False, index=shown, columns=dates))
    z = (depth.fillna(0.0) if depth is not None else promo * 0).where(promo == 1)
    x = [d.strftime("%Y-%m-%d") for d in dates]
    fig = go.Figure([
        go.Heatmap(z=z.to_numpy(), x=x, y=shown, colorscale=DEPTH_SCALE, zmin=0, zmax=0.5, xgap=1, ygap=1,
                   colorbar={"title": "depth", "tickformat": ".0%"}, name="promotion",
                   hovertemplate="%{y}<br>%{x}<br>promotion, depth %{z:.0%}<extra></extra>"),
        go.Heatmap(z=closed.where(closed).astype(float).to_numpy(), x=x, y=shown, colorscale=CLOSED_SCALE,
                   showscale=False, xgap=1, ygap=1, name="closed",
                   hovertemplate="%{y}<br>%{x}<br>closed<extra></extra>"),
    ])
    total = len(names) if n_series == -1 else n_series
    title = f"first {len(shown)} series (more not counted)" if total is None else \
        f"{len(shown)} of {total} series" if total > len(shown) else ""
    fig.update_layout(template="plotly_white", margin={"l": 10, "r": 10, "t": 30 if title else 10, "b": 10},
                      title=title or None, yaxis={"autorange": "reversed", "type": "category"},
                      xaxis={"type": "category", "nticks": 20})
    return fig


def plan_table(rows: pd.DataFrame, table_id: str | None = None, n_rows: int | None = None):
    """The stored plan rows (their own grain; "*" = all) as a small table, newest date last; ``n_rows`` is how
    many there are when ``rows`` holds only the first ones."""
    if rows.empty:
        return components.empty_state("No plan rows in this selection.")
    n_rows = len(rows) if n_rows is None else n_rows
    shown = rows.drop(columns=[c for c in ("updated_at",) if c in rows]).copy()
    shown["date"] = pd.to_datetime(shown["date"]).dt.strftime("%Y-%m-%d")
    shown = shown.rename(columns={"store_id": "store", "product_id": "product", "promo_intensity": "depth",
                                  "is_open": "open"}).astype(object).where(shown.notna().to_numpy(), "")
    more = f" (first 200 of {n_rows:,})" if n_rows > 200 else ""
    return html.Div([html.Div(f"{n_rows:,} plan rows{more}", className="small text-muted mb-1"),
                     components.frame_table(shown, table_id)])


def stale_view(run: dict | None, changes: pd.DataFrame) -> html.Div:
    """Which forecasts predate the plan: the changes since the current run started and the scopes they touch."""
    if run is None:
        return components.info_alert("No forecasts yet: run `python cli.py refresh` (or the Runs page) once the plan "
                                     "is in place.", color="secondary")
    started = pd.Timestamp(run["started_at"]).strftime("%Y-%m-%d %H:%M")
    if changes.empty:
        return components.info_alert(f"The forecasts of run {run['run_id']} (started {started} UTC) know the whole "
                                     "plan: it has not changed since.", color="success")
    scopes = changes.assign(scope=[_scope_text(r) for r in changes.itertuples()])
    table = scopes[["changed_at", "action", "source", "scope", "start", "end", "rows"]].copy()
    table["changed_at"] = pd.to_datetime(table["changed_at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    return html.Div([
        components.info_alert(f"{len(changes)} plan change(s) since run {run['run_id']} started ({started} UTC): the "
                              f"forecasts of {', '.join(sorted(set(scopes['scope'])))[:300]} do not know them. "
                              "Refresh the forecasts (`python cli.py refresh` or the Runs page).", color="warning"),
        components.frame_table(table.astype(object).where(table.notna().to_numpy(), "")),
    ])


def _scope_text(r) -> str:
    parts = [f"store {r.store_id}" if r.store_id != "*" else "", f"product {r.product_id}" if r.product_id != "*"
             else "", f"category {r.category}" if r.category != "*" else ""]
    return " x ".join(p for p in parts if p) or "all series"


def edit_form(next_day: str | None = None) -> dbc.Card:
    """The add/edit/delete form: grain, the scope's parts, a date range, a depth, promotion or closure."""
    def select(control_id, placeholder):
        return dcc.Dropdown(id=control_id, options=[], placeholder=placeholder, clearable=True)

    return dbc.Card(dbc.CardBody([
        html.H6("Add, edit or delete a planned promotion", className="card-title mb-1"),
        html.P("Choose the grain and its store/product/category, the dates and the depth, then Save. Saving the same "
               "scope and dates again edits them; Delete removes this scope's rows over the dates.",
               className="small text-muted mb-2"),
        dbc.Row([
            components.labeled("Grain", dcc.Dropdown(id=ids.Plan.GRAIN, value="store_product", clearable=False,
                                                     options=[{"label": v, "value": k}
                                                              for k, v in GRAIN_LABELS.items()]), width=4),
            components.labeled("Store", select(ids.Plan.FORM_STORE, "store"), width=2),
            components.labeled("Product", select(ids.Plan.FORM_PRODUCT, "product"), width=3),
            components.labeled("Category", select(ids.Plan.FORM_CATEGORY, "category"), width=3),
        ], className="g-2"),
        dbc.Row([
            components.labeled("From (YYYY-MM-DD)", dbc.Input(id=ids.Plan.FORM_START, value=next_day, type="text",
                                                              placeholder="2024-12-01"), width=3),
            components.labeled("To", dbc.Input(id=ids.Plan.FORM_END, value=next_day, type="text",
                                               placeholder="2024-12-07"), width=3),
            components.labeled("Depth (0.2 = 20% off)", dbc.Input(id=ids.Plan.DEPTH, value=0.2, type="number",
                                                                   min=0, max=0.99, step=0.05), width=2),
            components.labeled("What", dbc.RadioItems(id=ids.Plan.KIND, value="promo", inline=True, options=[
                {"label": "Promotion", "value": "promo"}, {"label": "Closed", "value": "closed"}]), width=4),
        ], className="g-2"),
        html.Div([dbc.Button("Save", id=ids.Plan.SAVE, color="primary", className="me-2"),
                  dbc.Button("Delete", id=ids.Plan.DELETE, color="danger", outline=True)], className="my-2"),
        html.Div(id=ids.Plan.RESULT),
    ]), className="h-100")


def import_box() -> dbc.Card:
    """Upload a plan file, map its columns, validate (dry run) and import: the same importer as the CLI."""
    settings = config.load()
    return dbc.Card(dbc.CardBody([
        html.H6("Import a plan file", className="card-title mb-1"),
        html.P("CSV, CSV.gz, Parquet or a workbook (.xlsx, .xls, .ods; its first sheet): one row per date and scope "
               "(an empty store/product/category = all). The "
               "same importer as `python cli.py ingest plan FILE --map ...`: validate first, then import.",
               className="small text-muted mb-2"),
        dcc.Upload(id=ids.Plan.UPLOAD, children=html.Div(["Drag and drop or ", html.A("choose a plan file")]),
                   multiple=False, max_size=settings.max_upload_bytes, className="upload-zone",
                   style={"borderWidth": "2px", "borderStyle": "dashed", "borderRadius": "8px", "padding": "16px",
                          "textAlign": "center", "cursor": "pointer"}),
        dcc.Store(id=ids.Plan.FILE),
        html.Div(id=ids.Plan.UPLOAD_INFO, className="mt-2"),
        html.Div(id=ids.Plan.MAPPING),
        html.Div([dbc.Button("Validate (dry run)", id=ids.Plan.VALIDATE, color="secondary", className="me-2",
                             disabled=True),
                  dbc.Button("Import", id=ids.Plan.IMPORT, color="primary", disabled=True)], className="my-2"),
        dcc.Loading(html.Div(id=ids.Plan.REPORT)),
    ]), className="h-100")


def mapping_form(columns: list[str], guesses: dict) -> html.Div:
    """One dropdown per plan-file field (ID ``ids.plan_map(field)``) pre-filled with ``guesses``, and day-first."""
    options = [{"label": c, "value": c} for c in columns]
    rows = [components.labeled(label, dcc.Dropdown(id=ids.plan_map(field), options=options,
                                                   value=guesses.get(field), placeholder="(none)"), width=3)
            for field, label in PLAN_FIELD_LABELS.items()]
    flags = dbc.Checklist(id=ids.Plan.DAYFIRST, value=[], switch=True,
                          options=[{"label": "Dates are day-first (31/12/2020)", "value": "dayfirst"}])
    return html.Div([dbc.Row(rows, className="g-2"), flags])
