"""Data page callbacks: store summary, import log, quality report, and file upload (sales rows or order lines, CSV
or a workbook sheet) -> mapping -> validate -> import."""
from __future__ import annotations

import json

import pandas as pd
from dash import ALL, Input, Output, State, callback
from dash.exceptions import PreventUpdate

from callbacks._auth import audit, refusal, refused_alert
from data import store, uploads
from data.column_mapping import guess_mapping
from domain import Frames
from layouts import components, ids, upload_parts

QUALITY_NAME = Frames.QUALITY_REPORT  # analysis_results row (level "all") holding the report as JSON


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
    return components.store_summary(s, lambda k: ids.data_kpi(k, "value"), lambda k: ids.data_kpi(k, "detail"))


@callback(Output(ids.Data.DATASETS, "children"), Input(ids.Data.TAB, "active_tab"))
def render_import_log(tab):
    """Show the import log (one row per import, newest first) when the summary tab is open."""
    if tab != "summary":
        raise PreventUpdate
    ds = store.datasets()
    if ds.empty:
        return components.empty_state("Nothing imported yet.")
    return components.import_log(ds)


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
    if (denied := refusal("analyst")) is not None:
        return f"Not allowed: {denied}"
    from analytics import quality
    # the same inputs as `cli.py quality`: only the columns the report uses, read in chunks to bound memory
    report = quality.quality_report(store.sales_columns(), store.datasets(), frequency=store.frequency(),
                                    node_keys=store.node_keys)
    with store.session_scope() as session:
        store.save_frame(session, QUALITY_NAME, "all",
                         pd.DataFrame({"report": [json.dumps(report, default=str)]}))
    return f"Report computed from {report.get('rows', 'all'):,} rows." if isinstance(report.get("rows"), int) \
        else "Report computed."


@callback(Output(ids.Data.FILE, "data"), Output(ids.Data.UPLOAD_INFO, "children"),
          Output(ids.Data.MAPPING, "children"), Output(ids.Data.VALIDATE, "disabled"),
          Output(ids.Data.IMPORT, "disabled"), Output(ids.Data.REPORT, "children", allow_duplicate=True),
          Input(ids.Data.UPLOAD, "contents"), State(ids.Data.UPLOAD, "filename"), prevent_initial_call=True)
def save_uploaded_file(contents, filename):
    """After an upload, keep the file on the server under a random id; the page holds only that id and the name."""
    if not contents:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return None, denied, None, True, True, None
    try:
        upload = uploads.save_data_url(contents, filename)
    except ValueError as exc:
        return None, components.error_alert(str(exc), title="This file cannot be imported"), None, True, True, None
    return {"id": upload.id, "name": upload.name}, components.upload_reading(upload.name), None, True, True, None


@callback(Output(ids.Data.SHEET, "options"), Output(ids.Data.SHEET, "value"), Output(ids.Data.SHEET_BOX, "style"),
          Input(ids.Data.FILE, "data"), background=True, prevent_initial_call=True)
def render_sheet_choice(file):
    """When a workbook is uploaded, list its sheets (in a background process); hide the choice for other files."""
    hidden = ([], None, {"display": "none"})
    if not file or refused_alert("analyst") is not None:
        return hidden
    from data import tabular
    try:
        upload = uploads.resolve(file.get("id") if isinstance(file, dict) else None)
        if not tabular.is_spreadsheet(upload.path):
            return hidden
        names = tabular.sheet_names(upload.path)
    except ValueError:  # the mapping form shows why the file cannot be read
        return hidden
    return [{"label": n, "value": n} for n in names], None, {"display": "block"}


def _sheet(upload, sheet):
    """The chosen sheet when the upload is a workbook that has it (a choice left from another file is ignored)."""
    from data import tabular
    if not sheet or not tabular.is_spreadsheet(upload.path):
        return None
    return sheet if sheet in tabular.sheet_names(upload.path) else None


@callback(Output(ids.Data.UPLOAD_INFO, "children", allow_duplicate=True),
          Output(ids.Data.MAPPING, "children", allow_duplicate=True),
          Output(ids.Data.VALIDATE, "disabled", allow_duplicate=True),
          Output(ids.Data.IMPORT, "disabled", allow_duplicate=True),
          Input(ids.Data.FILE, "data"), Input(ids.Data.KIND, "value"), Input(ids.Data.SHEET, "value"),
          background=True, prevent_initial_call=True)
def render_mapping_form(file, kind="sales", sheet=None):
    """When an upload is saved (or the file kind or sheet changes), read its columns with the importer (in a
    background process) and show the mapping form of sales rows or of order lines."""
    if not file:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied, None, True, True
    from data import tabular
    try:
        upload = uploads.resolve(file.get("id") if isinstance(file, dict) else None)
    except uploads.UploadError as exc:
        return components.error_alert(str(exc), title="This file cannot be imported"), None, True, True
    try:
        frame, _is_csv = tabular.read_any(upload.path, _sheet(upload, sheet))
    except ValueError as exc:
        uploads.delete(upload.id)  # unreadable: nothing can be imported from it
        message = uploads.shown(str(exc), upload)
        return components.error_alert(message, title="This file cannot be imported"), None, True, True
    columns = [str(c) for c in frame.columns]
    info = components.upload_info(upload.name, len(frame), len(columns))
    if kind == "orders":
        from data.ingest_orders import guess_order_mapping
        form = upload_parts.orders_mapping_form(ids.data_map, ids.data_opt, ids.Data.EXTRA, ids.Data.DAYFIRST, columns,
                                                guess_order_mapping(columns))
    else:
        form = components.mapping_form(ids.data_map, ids.Data.EXTRA, ids.Data.DAYFIRST, columns,
                                       guess_mapping(columns))
    return info, form, False, False


def _mapping(field_ids, values) -> dict:
    return {fid["field"]: v for fid, v in zip(field_ids, values) if v}


_FORM = dict(file=State(ids.Data.FILE, "data"), values=State(ids.data_map(ALL), "value"),
             fields=State(ids.data_map(ALL), "id"), extra=State(ids.Data.EXTRA, "value"),
             dayfirst=State(ids.Data.DAYFIRST, "value"), kind=State(ids.Data.KIND, "value"),
             sheet=State(ids.Data.SHEET, "value"), opt_values=State(ids.data_opt(ALL), "value"),
             opt_ids=State(ids.data_opt(ALL), "id"))
_RUNNING = [(Output(ids.Data.IMPORT, "disabled"), True, False), (Output(ids.Data.VALIDATE, "disabled"), True, False),
            (Output(ids.Data.IMPORT_PROGRESS, "style"), {"height": "18px", "visibility": "visible"},
             {"height": "18px", "visibility": "hidden"})]
_PROGRESS = [Output(ids.Data.IMPORT_PROGRESS, "value"), Output(ids.Data.IMPORT_PROGRESS, "label")]


def _import(upload, mapping, extra, dayfirst, dry_run: bool, kind: str, sheet, options: dict) -> str:
    """Run the CLI's importer of ``kind`` on the saved upload; returns its summary text."""
    if kind == "orders":
        from data import ingest_orders, orders
        summary = ingest_orders.ingest_orders(upload.path, mapping, sheet=_sheet(upload, sheet),
                                              returns_prefix=options.get("returns_prefix") or None,
                                              timezone=options.get("timezone") or None,
                                              dayfirst="dayfirst" in (dayfirst or []), dataset_name=upload.name,
                                              dry_run=dry_run)
        return orders.format_order_summary(summary)
    from data import ingest
    summary = ingest.ingest_csv(upload.path, mapping, extra=",".join(extra or []),
                                dayfirst="dayfirst" in (dayfirst or []), dataset_name=upload.name,
                                dry_run=dry_run, sheet=_sheet(upload, sheet))
    return ingest.format_summary(summary)


def run_import(file, values, fields, extra, dayfirst, dry_run: bool, kind: str = "sales", sheet=None,
               opt_values=None, opt_ids=None) -> tuple[bool, object]:
    """``(ok, report)``: the CLI's importer (``data.ingest.ingest_csv``, or ``data.ingest_orders`` for order
    lines) on the upload the page's id names.

    The id is resolved on the server (a path from the client is never used); errors become alerts naming the
    user's file; a successful import deletes the upload.
    """
    if not file:
        return False, components.error_alert("upload a file first")
    title = "Validation failed" if dry_run else "Import failed"
    try:
        upload = uploads.resolve(file.get("id") if isinstance(file, dict) else None)
    except uploads.UploadError as exc:
        return False, components.error_alert(str(exc), title=title)
    options = {i["option"]: v for i, v in zip(opt_ids or [], opt_values or []) if isinstance(i, dict)}
    try:
        text = _import(upload, _mapping(fields, values), extra, dayfirst, dry_run, kind, sheet, options)
    except ValueError as exc:
        return False, components.error_alert(uploads.shown(str(exc), upload), title=title)
    if not dry_run:
        uploads.delete(upload.id)
    return True, components.import_summary(uploads.shown(text, upload), dry_run)


@callback(output=Output(ids.Data.REPORT, "children", allow_duplicate=True),
          inputs=dict(n=Input(ids.Data.VALIDATE, "n_clicks"), **_FORM), prevent_initial_call=True,
          background=True, running=_RUNNING, progress=_PROGRESS)
def render_validation_report(set_progress, n, file, values, fields, extra, dayfirst, kind="sales", sheet=None,
                             opt_values=None, opt_ids=None):
    """On "Validate", dry-run the importer in a background process and show its summary or its error."""
    if not n:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    set_progress((30, "validating…"))
    ok, report = run_import(file, values, fields, extra, dayfirst, True, kind, sheet, opt_values, opt_ids)
    set_progress((100, "valid" if ok else "failed"))
    return report


@callback(output=Output(ids.Data.REPORT, "children", allow_duplicate=True),
          inputs=dict(n=Input(ids.Data.IMPORT, "n_clicks"), **_FORM), prevent_initial_call=True,
          background=True, running=_RUNNING, progress=_PROGRESS)
def render_import_result(set_progress, n, file, values, fields, extra, dayfirst, kind="sales", sheet=None,
                         opt_values=None, opt_ids=None):
    """On "Import", run the importer in a background process (validate, then write) and show its summary."""
    if not n:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    form = (file, values, fields, extra, dayfirst)
    set_progress((30, "validating…"))
    ok, checked = run_import(*form, True, kind, sheet, opt_values, opt_ids)
    if not ok:
        set_progress((100, "failed"))
        return checked
    set_progress((60, "writing and rebuilding aggregates…"))
    ok, result = run_import(*form, False, kind, sheet, opt_values, opt_ids)
    if ok:
        audit("import.orders" if kind == "orders" else "import.csv",
              {"file": file.get("name") if isinstance(file, dict) else None, "source": "dashboard"})
    set_progress((100, "done"))
    return result
