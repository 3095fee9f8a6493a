"""Data page callbacks: store summary, import log, quality report, and CSV upload -> mapping -> validate -> import."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, html
from dash.exceptions import PreventUpdate

import config
from data import store
from domain import Frames
from layouts import components, ids

QUALITY_NAME = Frames.QUALITY_REPORT  # analysis_results row (level "all") holding the report as JSON
# Normalised column names that suggest each importer field (first match wins).
SYNONYMS = {
    "date": ["date", "ds", "day", "week", "weekdate", "orderdate", "period"],
    "sales": ["sales", "weeklysales", "y", "revenue", "amount", "turnover", "netsales", "value"],
    "store": ["store", "storeid", "storenbr", "shop", "location", "outlet"],
    "product": ["product", "productid", "item", "itemid", "sku", "dept", "department", "article"],
    "category": ["category", "family", "productcategory", "group", "categoryname"],
    "region": ["region", "state", "area", "storetype", "type"],
    "promo": ["promo", "promotion", "onpromotion", "promoflag", "ispromo"],
    "holiday": ["holiday", "isholiday", "stateholiday", "schoolholiday"],
    "open": ["open", "isopen", "storeopen"],
    "temperature": ["temperature", "temp", "tempc", "temperaturec"],
    "precipitation": ["precipitation", "precip", "precipmm", "rain", "rainfall"],
    "price": ["price", "unitprice", "sellprice"],
}


def guess_mapping(columns: list[str]) -> dict:
    """Pre-fill the mapping form: the first column whose normalised name matches each field's synonyms."""
    norm = {re.sub(r"[^a-z0-9]", "", c.lower()): c for c in columns}
    out, used = {}, set()
    for field, names in SYNONYMS.items():
        for name in names:
            col = norm.get(name)
            if col is not None and col not in used:
                out[field] = col
                used.add(col)
                break
    return out


def save_upload(contents: str, filename: str) -> Path:
    """Decode a ``dcc.Upload`` data URL into ``<cache_dir>/uploads/<hash>-<name>`` (content-addressed)."""
    try:
        raw = base64.b64decode(contents.split(",", 1)[1])
    except (IndexError, ValueError) as exc:
        raise ValueError(f"{filename}: the upload could not be decoded ({exc})") from None
    folder = config.load().cache_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename or "upload.csv").name)[-100:]
    path = folder / f"{hashlib.sha256(raw).hexdigest()[:16]}-{safe}"
    path.write_bytes(raw)
    return path


def summary_report(summary: dict, dry_run: bool) -> html.Div:
    """The importer's summary (the same text the CLI prints) under a success banner."""
    from data import ingest
    head = "Validation passed: nothing was written." if dry_run else "Import finished."
    return html.Div([dbc.Alert(head, color="success" if not dry_run else "info", className="mb-2"),
                     html.Pre(ingest.format_summary(summary), className="small bg-light p-2 border rounded")])


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True), Input(ids.Data.TAB, "active_tab"),
          prevent_initial_call=True)
def sync_data_url(tab):
    """Write the open tab into the URL so the view can be bookmarked."""
    return ids.to_search({"tab": None if tab == "summary" else tab})


@callback(Output(ids.Data.SUMMARY, "children"), Input(ids.Data.TAB, "active_tab"))
def render_store_summary(tab):
    """Show rows, date range and node counts per level when the summary tab is open."""
    if tab != "summary":
        raise PreventUpdate
    s = store.data_summary()
    if not s["rows"]:
        return components.info_alert(components.EMPTY_DATA)
    lv = s["levels"]
    cards = [("rows", "Rows", f"{s['rows']:,}", "store x product x date facts"),
             ("dates", "Dates", f"{s['start']} → {s['end']}", f"{s['days']:,} distinct dates"),
             ("stores", "Stores", f"{lv.get('store', 0):,}", f"in {lv.get('region', 0):,} regions"),
             ("products", "Products", f"{lv.get('product', 0):,}", f"in {lv.get('category', 0):,} categories"),
             ("series", "Series", f"{lv.get('store_product', 0):,}", f"{sum(lv.values()):,} nodes in the hierarchy")]
    return dbc.Row([dbc.Col(components.kpi_card(ids.data_kpi(k, "value"), ids.data_kpi(k, "detail"), t, v, d), md=True)
                    for k, t, v, d in cards], className="g-2")


@callback(Output(ids.Data.DATASETS, "children"), Input(ids.Data.TAB, "active_tab"))
def render_import_log(tab):
    """Show the import log (one row per import, newest first) when the summary tab is open."""
    if tab != "summary":
        raise PreventUpdate
    ds = store.datasets()
    if ds.empty:
        return components.empty_state("Nothing imported yet.")
    view = pd.DataFrame({
        "Dataset": ds["name"], "Source": ds["source"].astype(str).str.slice(0, 60), "Freq": ds["frequency"],
        "From": ds["start_date"].dt.strftime("%Y-%m-%d"), "To": ds["end_date"].dt.strftime("%Y-%m-%d"),
        "Rows read": ds["rows_read"].map("{:,}".format), "Written": ds["rows_written"].map("{:,}".format),
        "Rejected": ds["rows_rejected"].map("{:,}".format), "Duplicates": ds["duplicates"].map("{:,}".format),
        "Imported (UTC)": ds["imported_at"].dt.strftime("%Y-%m-%d %H:%M")})
    return components.frame_table(view)


@callback(Output(ids.Data.QUALITY, "children"), Input(ids.Data.TAB, "active_tab"),
          Input(ids.Data.QUALITY_STATUS, "children"))
def render_quality_report(tab, _status):
    """Show the stored data-quality report when the quality tab opens or after it is recomputed."""
    if tab != "quality":
        raise PreventUpdate
    frame = store.load_frame(QUALITY_NAME, "all")
    if frame is None or frame.empty:
        return components.empty_state("No quality report yet: press “Recompute the report” (it runs the same "
                                      "checks as `python cli.py quality` and keeps the result for this page).")
    return components.quality_view(json.loads(frame["report"].iloc[0]))


@callback(Output(ids.Data.QUALITY_STATUS, "children"), Input(ids.Data.QUALITY_RUN, "n_clicks"),
          background=True, prevent_initial_call=True,
          running=[(Output(ids.Data.QUALITY_RUN, "disabled"), True, False)])
def recompute_quality_report(n_clicks):
    """On click, compute the data-quality report in a background process and store it for the page."""
    if not n_clicks:
        raise PreventUpdate
    from analytics import quality
    # the same inputs as `cli.py quality`: only the columns the report uses, read in chunks to bound memory
    report = quality.quality_report(store.sales_columns(), store.datasets(), frequency=store.frequency())
    with store.session_scope() as session:
        store.save_frame(session, QUALITY_NAME, "all",
                         pd.DataFrame({"report": [json.dumps(report, default=str)]}))
    return f"Report computed from {report.get('rows', 'all'):,} rows." if isinstance(report.get("rows"), int) \
        else "Report computed."


@callback(Output(ids.Data.FILE, "data"), Output(ids.Data.UPLOAD_INFO, "children"),
          Output(ids.Data.MAPPING, "children"), Output(ids.Data.VALIDATE, "disabled"),
          Output(ids.Data.IMPORT, "disabled"), Output(ids.Data.REPORT, "children", allow_duplicate=True),
          Input(ids.Data.UPLOAD, "contents"), State(ids.Data.UPLOAD, "filename"), prevent_initial_call=True)
def render_mapping_form(contents, filename):
    """After an upload, save the file, read its columns with the importer and show the pre-filled mapping form."""
    if not contents:
        raise PreventUpdate
    from data import ingest
    try:
        path = save_upload(contents, filename)
        frame, _is_csv = ingest.read_table(path)
    except ValueError as exc:
        return None, components.error_alert(str(exc), title="This file cannot be imported"), None, True, True, None
    columns = [str(c) for c in frame.columns]
    info = html.P(f"{filename}: {len(frame):,} rows, {len(columns)} columns. Check the mapping, then validate.",
                  className="small mb-1")
    form = components.mapping_form(ids.data_map, ids.Data.EXTRA, ids.Data.DAYFIRST, columns,
                                   guess_mapping(columns))
    return {"path": str(path), "name": filename}, info, form, False, False, None


def _mapping(field_ids, values) -> dict:
    return {fid["field"]: v for fid, v in zip(field_ids, values) if v}


_FORM = dict(file=State(ids.Data.FILE, "data"), values=State(ids.data_map(ALL), "value"),
             fields=State(ids.data_map(ALL), "id"), extra=State(ids.Data.EXTRA, "value"),
             dayfirst=State(ids.Data.DAYFIRST, "value"))


def run_import(file, values, fields, extra, dayfirst, dry_run: bool):
    """Call the CLI's importer (``data.ingest.ingest_csv``) on the uploaded file; its errors become alerts."""
    from data import ingest
    if not file:
        return components.error_alert("upload a file first")
    mapping = _mapping(fields, values)
    try:
        summary = ingest.ingest_csv(file["path"], mapping, extra=",".join(extra or []),
                                    dayfirst="dayfirst" in (dayfirst or []), dataset_name=file.get("name"),
                                    dry_run=dry_run)
    except ValueError as exc:
        return components.error_alert(str(exc), title="Validation failed" if dry_run else "Import failed")
    return summary_report(summary, dry_run)


@callback(output=Output(ids.Data.REPORT, "children", allow_duplicate=True),
          inputs=dict(n=Input(ids.Data.VALIDATE, "n_clicks"), **_FORM), prevent_initial_call=True)
def render_validation_report(n, file, values, fields, extra, dayfirst):
    """On "Validate", dry-run the importer with the chosen mapping and show its summary or its error."""
    if not n:
        raise PreventUpdate
    return run_import(file, values, fields, extra, dayfirst, dry_run=True)


@callback(output=Output(ids.Data.REPORT, "children", allow_duplicate=True),
          inputs=dict(n=Input(ids.Data.IMPORT, "n_clicks"), **_FORM), prevent_initial_call=True,
          background=True,
          running=[(Output(ids.Data.IMPORT, "disabled"), True, False),
                   (Output(ids.Data.VALIDATE, "disabled"), True, False),
                   (Output(ids.Data.IMPORT_PROGRESS, "style"), {"height": "18px", "visibility": "visible"},
                    {"height": "18px", "visibility": "hidden"})],
          progress=[Output(ids.Data.IMPORT_PROGRESS, "value"), Output(ids.Data.IMPORT_PROGRESS, "label")])
def render_import_result(set_progress, n, file, values, fields, extra, dayfirst):
    """On "Import", run the importer in a background process (validate, then write) and show its summary."""
    if not n:
        raise PreventUpdate
    set_progress((30, "validating…"))
    checked = run_import(file, values, fields, extra, dayfirst, dry_run=True)
    if isinstance(checked, dbc.Alert) and checked.color == "danger":
        set_progress((100, "failed"))
        return checked
    set_progress((60, "writing and rebuilding aggregates…"))
    result = run_import(file, values, fields, extra, dayfirst, dry_run=False)
    set_progress((100, "done"))
    return result
