"""Inventory page callbacks: orders grid and status, at-risk list, trade-off curve, series pick and URL, projected
stock, input edits, CSV/Excel export."""
from __future__ import annotations

import numpy as np
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc
from dash.exceptions import PreventUpdate

from analytics.stock_projection import project_stock
from callbacks._auth import audit, refused_alert
from callbacks._cache import memo
from callbacks._errors import guarded
from data import store
from data.xlsx import to_xlsx
from domain import ALL as ANY_MEMBER
from domain import BOTTOM_LEVEL, INVENTORY_PARAM_FIELDS, Frames
from layouts import components, figures, ids
from layouts import inventory_figures as inv_fig

FILL_COMMAND = "python cli.py inventory"
ID_TYPES = {"store_id": str, "product_id": str, "policy": str, "method": str}
NO_ORDERS = (f"No recommended orders yet: run `{FILL_COMMAND}` to compute them from the published forecasts "
             "(it needs a forecast run: `python cli.py refresh` first).")
RISK_COLUMNS = {"store_id": "Store", "product_id": "Product", "on_hand": "On hand", "on_order": "On order",
                "demand_mean": "Demand (L+R)", "days_of_cover": "Days of cover", "stockout_prob": "Stockout prob.",
                "order_qty": "Order today"}
GRAIN_KEYS = {"series": lambda s, p: (s, p), "store": lambda s, p: (s, ANY_MEMBER),
              "product": lambda s, p: (ANY_MEMBER, p), "all": lambda s, p: (ANY_MEMBER, ANY_MEMBER)}


# ----------------------------------------------------------------------------- reads

def saved_frame(name: str) -> pd.DataFrame | None:
    """A saved frame by name: level "all" first, else whichever level it was saved under; None when absent.

    Store and product ids are read as text (JSON "01" would otherwise come back as the number 1).
    """
    if not memo(store.db_exists):
        return None
    df = memo(store.load_frame, name, "all", None, ID_TYPES)
    if df is not None:
        return df
    index = memo(store.analysis_index)
    levels = index.loc[index["name"] == name, "level"]
    return memo(store.load_frame, name, levels.iloc[0], None, ID_TYPES) if len(levels) else None


def orders_frame() -> pd.DataFrame | None:
    """The recommendations with a ``series`` key column, or None when ``cli.py inventory`` never ran (cached:
    building the keys of thousands of rows is not a per-request cost)."""
    return memo(_orders_frame)


def _orders_frame() -> pd.DataFrame | None:
    df = saved_frame(Frames.INVENTORY_ORDERS)
    if df is None or df.empty or not {"store_id", "product_id"} <= set(df.columns):
        return None
    df = df.astype({"store_id": str, "product_id": str})
    keys = [store.node_id(BOTTOM_LEVEL, store_id=s, product_id=p) for s, p in zip(df["store_id"], df["product_id"])]
    return df.assign(series=keys)


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON-safe dicts (NaN -> None, booleans as yes/no for the text filter)."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "yes", False: "no"})
    return out.astype(object).where(out.notna(), None).to_dict("records")


def _status(df: pd.DataFrame | None) -> tuple[list, str]:
    """Notices above the grid (what is missing, what is stale) and the one-line summary."""
    if df is None:
        empty = not memo(store.db_exists)
        return [components.info_alert(components.EMPTY_DATA if empty else NO_ORDERS, color="warning")], ""
    notes = []
    if "demand_mean" in df and df["demand_mean"].isna().any():
        missing = df.loc[df["demand_mean"].isna(), "series"].tolist()
        notes.append((f"{len(missing)} series have no forecast, so no recommendation (e.g. {missing[0]}): run "
                      f"`python cli.py refresh`, then `{FILL_COMMAND}`.", "warning"))
    index = memo(store.analysis_index)
    when = index.loc[index["name"] == Frames.INVENTORY_ORDERS, "computed_at"]
    computed = pd.Timestamp(when.iloc[0]) if len(when) else None
    changed = memo(store.inputs_updated_at)
    if computed is not None and changed is not None and changed > computed:
        notes.append((f"The inventory inputs changed after these recommendations were computed: run `{FILL_COMMAND}` "
                      "to update them.", "info"))
    qty = pd.to_numeric(df.get("order_qty", pd.Series(dtype=float)), errors="coerce")
    at_risk = int(df["at_risk"].fillna(False).astype(bool).sum()) if "at_risk" in df else 0
    summary = (f"{len(df):,} series · {int((qty > 0).sum()):,} to order today ({qty.sum():,.0f} units) · "
               f"{at_risk:,} at risk" + (f" · computed {computed:%Y-%m-%d %H:%M} UTC" if computed is not None else ""))
    return components.notices(notes), summary


# ----------------------------------------------------------------------------- grid, risk, trade-off

@callback(Output(ids.Inv.GRID, "rowData"), Output(ids.Inv.STATUS, "children"), Output(ids.Inv.SUMMARY, "children"),
          Output(ids.Inv.RISK, "children"), Input(ids.Inv.QUERY, "data"))
@guarded(lambda msg: ([], components.error_alert(msg), "", components.empty_state("Cannot read the orders")))
def render_inv_orders(_query):
    """Fill the orders grid, the notices and the at-risk list when the page opens."""
    df = orders_frame()
    notes, summary = _status(df)
    if df is None:
        return [], notes, summary, components.empty_state(NO_ORDERS)
    rows = df.sort_values("order_qty", ascending=False) if "order_qty" in df else df
    return _records(rows), notes, summary, at_risk_table(df)


def at_risk_table(df: pd.DataFrame):
    """The at-risk series, most likely stockout first (the 15 worst)."""
    if "at_risk" not in df or not df["at_risk"].fillna(False).astype(bool).any():
        return components.empty_state("No series is at risk of a stockout within its lead time.")
    risky = df[df["at_risk"].fillna(False).astype(bool)]
    if "stockout_prob" in risky:
        risky = risky.sort_values("stockout_prob", ascending=False)
    view = risky[[c for c in RISK_COLUMNS if c in risky]].head(15).copy()
    for col in view.columns:
        if col == "stockout_prob":
            view[col] = view[col].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
        elif col not in ("store_id", "product_id"):
            view[col] = view[col].map(lambda v: "" if pd.isna(v) else f"{v:,.1f}")
    return components.frame_table(view.rename(columns=RISK_COLUMNS))


@callback(Output(ids.Inv.TRADEOFF, "figure"), Input(ids.Inv.TRADEOFF_X, "value"))
@guarded(lambda msg: figures.empty_figure(f"Cannot read the trade-off curve: {msg}"))
def render_inv_tradeoff(axis):
    """Redraw the service-vs-inventory curve (units or value on the x axis)."""
    df = saved_frame(Frames.INVENTORY_TRADEOFF)
    if df is None or df.empty:
        return figures.empty_figure(f"No trade-off curve yet: run `{FILL_COMMAND}`")
    if axis not in df or df[axis].isna().all():
        return figures.empty_figure("No inventory value: set unit costs (python cli.py ingest inventory ... "
                                    "unit_cost=COLUMN) or show units")
    return inv_fig.tradeoff_chart(df, axis)


# ----------------------------------------------------------------------------- series and URL

def _series_keys() -> list[str]:
    """The bottom series the page offers: the recommendations' order, else every series (all have inputs, the
    settings' defaults at least)."""
    df = orders_frame()
    return df["series"].tolist() if df is not None else store.bottom_keys()


@callback(Output(ids.Inv.SERIES, "options"), Output(ids.Inv.SERIES, "value"),
          Input(ids.Inv.SERIES, "search_value"), Input(ids.Inv.QUERY, "data"), Input(ids.Inv.GRID, "selectedRows"),
          State(ids.Inv.SERIES, "value"))
def fill_inv_series(search, query, selected, value):
    """Offer the bottom series matching the typed text; a row picked in the grid becomes the series shown."""
    if ctx.triggered_id == ids.Inv.GRID and selected:
        value = selected[0].get("series") or value
    keys = memo(_series_keys)
    value = value or (query or {}).get("series") or (keys[0] if keys else None)
    text = (search or "").lower()
    shown = [k for k in keys if text in k.lower()][:50]
    if value and value not in shown:
        shown.insert(0, value)
    return [{"label": k, "value": k} for k in shown], value


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True),
          Input(ids.Inv.SERIES, "value"), Input(ids.Inv.TRADEOFF_X, "value"), prevent_initial_call=True)
def sync_inv_url(series, axis):
    """Write the series shown and the trade-off axis (when not units) into the URL."""
    if not series:
        raise PreventUpdate
    return ids.to_search({"series": series, "x": None if axis == "avg_inventory_units" else axis})


# ----------------------------------------------------------------------------- projection

@callback(Output(ids.Inv.PROJECTION, "figure"), Output(ids.Inv.FORECAST_LINK, "href"), Input(ids.Inv.SERIES, "value"))
@guarded(lambda msg: (figures.empty_figure(f"Cannot project this series: {msg}"), "/forecast"))
def render_inv_projection(series):
    """Redraw the projected stock of the series shown."""
    if not series:
        raise PreventUpdate
    link = "/forecast" + ids.to_search({"node": series})
    info = store.parse_node_id(series)
    if info.get("level") != BOTTOM_LEVEL:
        return figures.empty_figure("Pick a store x product"), link
    row = series_inputs(series)
    hist, fc = memo(store.history_and_forecast, series, 28, "final")
    orders = memo(_series_orders, series)
    if fc.empty:
        return figures.empty_figure("No forecast for this series: run `python cli.py refresh`, then "
                                    f"`{FILL_COMMAND}`"), link
    proj = project_stock(fc, row.get("on_hand", 0.0), orders, _num(row.get("order_qty")),
                         _num(row.get("lead_time_days")))
    levels = {"reorder point": row.get("reorder_point"), "order-up-to": row.get("order_up_to")}
    return inv_fig.projection_chart(hist, fc, proj, levels, orders), link


def _num(value) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


def series_inputs(series: str) -> dict:
    """The series' inputs in force, overlaid by its recommendation row when there is one (cached per series:
    a page request reads one small dict, not the tables of every series)."""
    return memo(_series_inputs, series)


def _params_row(series: str) -> dict:
    """The series' row of the inputs in force (``{}`` when it has none)."""
    info = store.parse_node_id(series)
    return store.series_params(info["store_id"], info["product_id"])


def _series_orders(series: str) -> pd.DataFrame:
    """The series' open orders (``store_id, product_id, arrival_date, quantity``)."""
    info = store.parse_node_id(series)
    orders = memo(store.on_order)
    return orders[(orders["store_id"] == info["store_id"]) & (orders["product_id"] == info["product_id"])]


def _series_inputs(series: str) -> dict:
    row = dict(memo(_params_row, series))
    df = orders_frame()
    if df is not None and series in set(df["series"]):
        rec = df[df["series"] == series].iloc[0].to_dict()
        row.update({k: v for k, v in rec.items() if not pd.isna(v)})  # the world the recommendation saw
    return row


# ----------------------------------------------------------------------------- inputs

@callback(Output(ids.inv_input(ALL), "value"), Output(ids.Inv.ORDERS_LIST, "children"),
          Input(ids.Inv.SERIES, "value"))
@guarded(lambda msg: ([None] * len(INVENTORY_PARAM_FIELDS), components.error_alert(msg)))
def fill_inv_inputs(series):
    """Show the inputs in force for the series (and its open orders)."""
    if not series or store.parse_node_id(series).get("level") != BOTTOM_LEVEL:
        raise PreventUpdate
    mine = memo(_params_row, series)
    values = [None if f not in mine or pd.isna(mine[f]) else float(mine[f]) for f in INVENTORY_PARAM_FIELDS]
    return values, open_orders_text(memo(_series_orders, series))


def open_orders_text(orders: pd.DataFrame) -> str:
    """``"Open orders: 6 on 2030-01-02, 1 on 2030-01-05."`` (or none)."""
    return "Open orders: none." if orders.empty else "Open orders: " + ", ".join(
        f"{q:,.0f} on {d:%Y-%m-%d}" for d, q in zip(orders["arrival_date"], orders["quantity"])) + "."


@callback(Output(ids.Inv.ORDERS_LIST, "children", allow_duplicate=True), Input(ids.Inv.ORDER_ADD, "n_clicks"),
          Input(ids.Inv.ORDER_CLEAR, "n_clicks"), State(ids.Inv.SERIES, "value"), State(ids.Inv.ORDER_DATE, "date"),
          State(ids.Inv.ORDER_QTY, "value"), prevent_initial_call=True)
def edit_inv_orders(add, clear, series, date, quantity):
    """Add one open order to the series (or clear its open orders); show the order book or why it was refused."""
    if not (add or clear) or not series or store.parse_node_id(series).get("level") != BOTTOM_LEVEL:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    info = store.parse_node_id(series)
    current = store.on_order()
    current = current[(current["store_id"] == info["store_id"]) & (current["product_id"] == info["product_id"])]
    try:
        if ctx.triggered_id == ids.Inv.ORDER_CLEAR:
            store.delete_on_order(info["store_id"], info["product_id"])
        else:
            new = pd.DataFrame([{"arrival_date": date, "quantity": quantity}])
            store.set_on_order(info["store_id"], info["product_id"],
                               pd.concat([current[["arrival_date", "quantity"]], new], ignore_index=True))
    except store.InventoryInputError as exc:
        return [open_orders_text(current), components.error_alert(str(exc), title="Not saved")]
    audit("inventory.edit", {"series": series, "open_orders": "cleared" if ctx.triggered_id == ids.Inv.ORDER_CLEAR
                             else {"arrival_date": date, "quantity": quantity}})
    mine = store.on_order()
    return open_orders_text(mine[(mine["store_id"] == info["store_id"]) & (mine["product_id"] == info["product_id"])])


def changed_inputs(current: dict, typed: list) -> dict:
    """field -> new value (None = cleared) for the boxes whose value differs from the one in force."""
    out = {}
    for field, value in zip(INVENTORY_PARAM_FIELDS, typed):
        old = current.get(field)
        old = None if old is None or pd.isna(old) else float(old)
        new = None if value is None or value == "" else value
        if new is None and old is None:
            continue
        try:
            same = new is not None and old is not None and np.isclose(float(new), old, rtol=0, atol=1e-12)
        except (TypeError, ValueError):
            same = False
        if not same:
            out[field] = new
    return out


@callback(Output(ids.Inv.EDIT_RESULT, "children"), Input(ids.Inv.SAVE, "n_clicks"),
          State(ids.Inv.SERIES, "value"), State(ids.Inv.GRAIN, "value"), State(ids.inv_input(ALL), "value"),
          prevent_initial_call=True)
def save_inv_inputs(n_clicks, series, grain, typed):
    """Validate and save the changed inputs at the chosen grain; say what was saved or why it was refused."""
    if not n_clicks or not series:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    info = store.parse_node_id(series)
    if info.get("level") != BOTTOM_LEVEL:
        return components.error_alert("pick a store x product first", title="Not saved")
    params = store.inventory_params()
    mine = params[(params["store_id"] == info["store_id"]) & (params["product_id"] == info["product_id"])]
    changes = changed_inputs(mine.iloc[0].to_dict() if len(mine) else {}, typed or [])
    if not changes:
        return components.info_alert("Nothing changed.", color="secondary")
    store_id, product_id = GRAIN_KEYS.get(grain, GRAIN_KEYS["series"])(info["store_id"], info["product_id"])
    try:
        store.upsert_inventory_params(store_id, product_id, changes)
    except store.InventoryInputError as exc:
        return components.error_alert(str(exc), title="Not saved")
    audit("inventory.edit", {"store": store_id, "product": product_id, "inputs": changes})
    what = ", ".join(f"{k} = {'(cleared)' if v is None else v}" for k, v in changes.items())
    return components.info_alert(f"Saved for store {store_id}, product {product_id}: {what}. Run `{FILL_COMMAND}` "
                                 "to update the recommendations.", color="success")


# ----------------------------------------------------------------------------- exports

@callback(Output(ids.Inv.GRID, "exportDataAsCsv"), Input(ids.Inv.EXPORT_CSV, "n_clicks"), prevent_initial_call=True)
def export_inv_csv(n_clicks):
    """Export the grid as shown (filters and sort applied) to CSV in the browser."""
    if not n_clicks:
        raise PreventUpdate
    return True


@callback(Output(ids.Inv.DOWNLOAD, "data"), Input(ids.Inv.EXPORT_XLSX, "n_clicks"),
          State(ids.Inv.GRID, "virtualRowData"), prevent_initial_call=True)
def download_inv_xlsx(n_clicks, shown):
    """Send the grid's rows as shown (filters and sort applied; all rows before the grid reports them) as .xlsx."""
    if not n_clicks:
        raise PreventUpdate
    df = pd.DataFrame(shown) if shown else orders_frame()
    if df is None or df.empty:
        raise PreventUpdate
    df = df.drop(columns=["series"], errors="ignore")
    return dcc.send_bytes(to_xlsx(df, "Orders"), "inventory_orders.xlsx")
