"""Explore page callbacks: filter options, the filter store and URL, drill-down, and every Explore chart/table."""
from __future__ import annotations

import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx
from dash.exceptions import PreventUpdate

from analytics import decomposition
import callbacks._views as _views
from callbacks._cache import memo, peek
from callbacks._errors import guarded, short_error
from data import store
from layouts import components, figures, ids

NO_SELECTION = "Pick filters that match some data"
CHILD_NAMES = {"region": "region", "store": "store", "store_category": "category", "product": "product",
               "store_product": "product"}


def _options(values: list, selected) -> list[dict]:
    keep = [selected] if isinstance(selected, str) else list(selected or [])
    seen, out = set(), []
    for v in list(values) + keep:
        value, label = (v["value"], v["label"]) if isinstance(v, dict) else (v, v)
        if value not in seen:
            seen.add(value)
            out.append({"label": label, "value": value})
    return out


@guarded(lambda _msg: {"regions": [], "categories": [], "stores": [], "products": []})
def _filter_options() -> dict:
    """The store's filter choices; none when the store cannot be read (empty or missing)."""
    return memo(store.filter_options)


@callback(Output(ids.Explore.REGION, "options"), Output(ids.Explore.CATEGORY, "options"),
          Output(ids.Explore.STORES, "options"), Output(ids.Explore.PRODUCTS, "options"),
          Input(ids.Explore.REGION, "value"), Input(ids.Explore.CATEGORY, "value"),
          State(ids.Explore.STORES, "value"), State(ids.Explore.PRODUCTS, "value"))
def fill_explore_options(region, category, stores, products):
    """Load the filter choices; stores follow the region and products follow the category."""
    opts = _filter_options()
    st = [s for s in opts["stores"] if not region or s["region"] == region]
    pr = [p for p in opts["products"] if not category or p["category"] == category]
    return (_options(opts["regions"], region), _options(opts["categories"], category),
            _options(st, stores), _options(pr, products))


@callback(Output(ids.Explore.FILTERS, "data"), Output(ids.Explore.ERROR, "children"),
          inputs=dict(start=Input(ids.Explore.DATES, "start_date"), end=Input(ids.Explore.DATES, "end_date"),
                      region=Input(ids.Explore.REGION, "value"), stores=Input(ids.Explore.STORES, "value"),
                      category=Input(ids.Explore.CATEGORY, "value"), products=Input(ids.Explore.PRODUCTS, "value"),
                      gran=Input(ids.Explore.GRAN, "value")))
@guarded(lambda msg: (None, components.error_alert(msg, title="Cannot show this selection")))
def collect_explore_filters(start, end, region, stores, category, products, gran):
    """Resolve the filter controls into the selected nodes, their breakdown and the dates (one Store)."""
    filters = {"region": region or None, "stores": list(stores or []), "category": category or None,
               "products": list(products or []), "gran": gran if gran in ("D", "W", "M") else "D",
               "start": start, "end": end}
    sel = memo(_views.selection_nodes, filters["region"], tuple(filters["stores"]), filters["category"],
               tuple(filters["products"]))
    if not sel["nodes"]:
        message = "The store is empty: run `python cli.py demo`." if sel["last"] is None \
            else "No series matches these filters: clear one of them."
        return None, components.info_alert(message, color="warning")
    last = pd.Timestamp(sel["last"])
    filters["end_eff"] = end or sel["last"]
    filters["start_eff"] = start or max(pd.Timestamp(sel["first"]), last - pd.Timedelta(days=364)).date().isoformat()
    return {**filters, **sel}, None


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True),
          Output(ids.Shell.SESSION, "data", allow_duplicate=True),
          Input(ids.Explore.FILTERS, "data"), State(ids.Shell.SESSION, "data"), prevent_initial_call=True)
def sync_explore_url(f, session):
    """Write the filters into the URL (defaults left out) and remember the explored node for other pages."""
    if not f:
        raise PreventUpdate
    search = ids.to_search({"start": f["start"], "end": f["end"], "region": f["region"], "stores": f["stores"],
                            "category": f["category"], "products": f["products"],
                            "gran": None if f["gran"] == "D" else f["gran"]})
    node = f["nodes"][0] if len(f["nodes"]) == 1 else None
    return search, {**(session or {}), "node": node} if node else (session or {})


def drill_to(node_id: str, region, stores, category, products) -> tuple:
    """Filter values after clicking the bar of ``node_id`` in the breakdown (region, stores, category, products)."""
    info = store.parse_node_id(node_id)
    level = info["level"]
    if level == "region":
        return info["region"], [], None, []
    if level == "store":
        return region, [info["store_id"]], category, products
    if level == "store_category":
        return region, [info["store_id"]], info["category"], []
    if level == "category":
        return region, stores, info["category"], []
    if level == "product":
        return region, stores, category, [info["product_id"]]
    if level == "store_product":
        return region, [info["store_id"]], category, [info["product_id"]]
    return None, [], None, []


def climb_to(level: str, region, stores, category, products) -> tuple:
    """Filter values after clicking the breadcrumb of ``level``: everything below it is cleared."""
    order = ["total", "region", "store", "category", "product"]
    keep = order[: order.index(level) + 1] if level in order else ["total"]
    return (region if "region" in keep else None, stores if "store" in keep else [],
            category if "category" in keep else None, products if "product" in keep else [])


@callback(Output(ids.Explore.REGION, "value"), Output(ids.Explore.STORES, "value"),
          Output(ids.Explore.CATEGORY, "value"), Output(ids.Explore.PRODUCTS, "value"),
          Input(ids.Explore.BREAKDOWN, "clickData"), Input(ids.crumb(ALL), "n_clicks"),
          State(ids.Explore.REGION, "value"), State(ids.Explore.STORES, "value"),
          State(ids.Explore.CATEGORY, "value"), State(ids.Explore.PRODUCTS, "value"),
          prevent_initial_call=True)
def apply_drilldown(click, _crumbs, region, stores, category, products):
    """Drill into the clicked bar, or climb back up to the clicked breadcrumb."""
    trigger = ctx.triggered_id
    if isinstance(trigger, dict) and trigger.get("type") == ids.crumb("")["type"]:
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate
        return climb_to(trigger["level"], region, stores or [], category, products or [])
    if trigger == ids.Explore.BREAKDOWN and click and click.get("points"):
        node_id = click["points"][0].get("customdata")
        if node_id:
            return drill_to(node_id, region, stores or [], category, products or [])
    raise PreventUpdate


def crumbs_for(f: dict) -> list[tuple[str, str]]:
    """(level, text) of each breadcrumb of a filter, from Total down to the current selection."""
    out = [("total", "Total")]
    if f.get("region"):
        out.append(("region", f"Region {f['region']}"))
    if f.get("stores"):
        out.append(("store", "Store " + ", ".join(f["stores"][:3]) + ("…" if len(f["stores"]) > 3 else "")))
    if f.get("category"):
        out.append(("category", f"Category {f['category']}"))
    if f.get("products"):
        out.append(("product", "Product " + ", ".join(f["products"][:3]) + ("…" if len(f["products"]) > 3 else "")))
    return out


@callback(Output(ids.Explore.BREADCRUMB, "children"), Output(ids.Explore.TITLE, "children"),
          Output(ids.Explore.FORECAST_LINK, "href"), Input(ids.Explore.FILTERS, "data"))
def render_explore_breadcrumb(f):
    """Rebuild the breadcrumb, the title and the Forecast link when the filters change."""
    if not f:
        return [], "", "/forecast"
    crumbs = crumbs_for(f)
    n = len(f["nodes"])
    title = " › ".join(t for _, t in crumbs) + (f" (sum of {n} series)" if n > 1 else f" — {f['nodes'][0]}")
    href = "/forecast" + ids.to_search({"node": f["nodes"][0]}) if n == 1 else "/forecast"
    return components.breadcrumb(crumbs, ids.crumb), title, href


def _window(f: dict) -> tuple[str, str, str]:
    """(read start incl. one extra year for the YoY overlay, start, end) of a filter."""
    start = pd.Timestamp(f["start_eff"])
    return (start - pd.DateOffset(years=1)).date().isoformat(), start.date().isoformat(), f["end_eff"]


def _series_error(message: str):
    return figures.empty_figure(f"Could not read the series: {message}")


def _series(f: dict) -> pd.DataFrame:
    read_start, _, end = _window(f)
    return memo(store.nodes_series, tuple(f["nodes"]), read_start, end)


@callback(Output(ids.Explore.SERIES, "figure"), Input(ids.Explore.FILTERS, "data"))
@guarded(_series_error)
def render_explore_series(f):
    """Redraw the selected series with its year-over-year overlay when the filters change."""
    if not f:
        return figures.empty_figure(NO_SELECTION)
    df = _series(f)
    _, start, _ = _window(f)
    return figures.series_yoy(df, start, f["gran"])


@callback(Output(ids.Explore.HEATMAP, "figure"), Input(ids.Explore.FILTERS, "data"))
@guarded(_series_error)
def render_explore_heatmap(f):
    """Redraw the seasonal heatmap of the selection when the filters change."""
    if not f:
        return figures.empty_figure(NO_SELECTION)
    df = _series(f)
    _, start, _ = _window(f)
    return figures.seasonal_heatmap(df[df["ds"] >= pd.Timestamp(start)])


@callback(Output(ids.Explore.HIST, "figure"), Input(ids.Explore.FILTERS, "data"))
@guarded(_series_error)
def render_explore_histogram(f):
    """Redraw the distribution of the selection's values when the filters change."""
    if not f:
        return figures.empty_figure(NO_SELECTION)
    df = _series(f)
    _, start, _ = _window(f)
    return figures.value_histogram(df[df["ds"] >= pd.Timestamp(start)], f["gran"])


@callback(Output(ids.Explore.BREAKDOWN, "figure"), Output(ids.Explore.GRID, "rowData"),
          Input(ids.Explore.FILTERS, "data"))
@guarded(lambda msg: (figures.empty_figure(f"Could not read the breakdown: {msg}"), []))
def render_explore_breakdown(f):
    """Redraw the clickable breakdown bars and the summary table when the filters change."""
    if not f:
        return figures.empty_figure(NO_SELECTION), []
    _, start, end = _window(f)
    df = memo(store.nodes_totals, tuple(f["children"] or f["nodes"]), start, end)
    child = CHILD_NAMES.get(f.get("child_level"), "series")
    fig = figures.breakdown_bar(df if f["children"] else df.iloc[0:0], child)
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    return fig, rows


@callback(Output(ids.Explore.GRID, "exportDataAsCsv"), Input(ids.Explore.EXPORT, "n_clicks"),
          prevent_initial_call=True)
def export_explore_csv(n_clicks):
    """Download the summary table as CSV when the export button is clicked."""
    if not n_clicks:
        raise PreventUpdate
    return True


def decomposition_of(nodes: tuple) -> pd.DataFrame:
    """STL/MSTL components of the summed whole history of ``nodes`` (memoized by the caller)."""
    return decomposition.decompose_history(store.nodes_series(nodes))


def decomposition_is_slow(f: dict) -> bool:
    """True when the decomposition needs MSTL with a yearly period on daily data (slow enough to wait for a click)."""
    if f.get("freq", "D") != "D" or not f.get("first") or not f.get("last"):
        return False
    return (pd.Timestamp(f["last"]) - pd.Timestamp(f["first"])).days + 1 > 2 * 365


@callback(Output(ids.Explore.DECOMP, "figure"),
          Input(ids.Explore.FILTERS, "data"), Input(ids.Explore.DECOMP_BTN, "n_clicks"))
@guarded(lambda msg: figures.empty_figure(f"Could not decompose the series: {msg}"))
def render_explore_decomposition(f, _clicks):
    """Redraw the trend/seasonal/remainder panels: at once when cheap or cached, else on the Decompose click."""
    if not f:
        return figures.empty_figure(NO_SELECTION)
    nodes = tuple(f["nodes"])
    if ctx.triggered_id != ids.Explore.DECOMP_BTN and decomposition_is_slow(f):
        cached, comp = peek(decomposition_of, nodes)
        if not cached:
            return figures.empty_figure("Click “Decompose” to split this series into trend, weekly and yearly "
                                        "seasonality (about a second for three years of daily data)")
        return figures.decomposition_chart(comp)
    try:
        comp = memo(decomposition_of, nodes)
    except ValueError as exc:  # too little data to decompose: not an error of the page
        return figures.empty_figure(f"No decomposition: {short_error(exc)}")
    return figures.decomposition_chart(comp)
