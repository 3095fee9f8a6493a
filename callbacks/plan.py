"""Plan page callbacks: filter choices and URL, the plan calendar and table, the edit form, plan-file import, and
the plan changes the current forecasts do not know."""
from __future__ import annotations

from dash import ALL, Input, Output, State, callback, no_update
from dash.exceptions import PreventUpdate

from callbacks._auth import audit, refused_alert
from callbacks._cache import memo
from callbacks._errors import guarded
from data import plan_edit, uploads
from layouts import components, figures, ids, plan_parts


def _options(values) -> list[dict]:
    return [v if isinstance(v, dict) else {"label": str(v), "value": v} for v in values]


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True),
          inputs=dict(store=Input(ids.Plan.STORE, "value"), category=Input(ids.Plan.CATEGORY, "value"),
                      product=Input(ids.Plan.PRODUCT, "value"), start=Input(ids.Plan.DATES, "start_date"),
                      end=Input(ids.Plan.DATES, "end_date")), prevent_initial_call=True)
def sync_plan_url(store, category, product, start, end):
    """Write the calendar's filters and window into the URL so the view can be bookmarked."""
    return ids.to_search({"store": store, "category": category, "product": product, "start": start, "end": end})


@callback(Output(ids.Plan.STORE, "options"), Output(ids.Plan.CATEGORY, "options"),
          Output(ids.Plan.PRODUCT, "options"), Output(ids.Plan.FORM_STORE, "options"),
          Output(ids.Plan.FORM_CATEGORY, "options"), Output(ids.Plan.FORM_PRODUCT, "options"),
          Output(ids.Plan.FORM_START, "value"), Output(ids.Plan.FORM_END, "value"),
          Input(ids.Plan.GRAIN, "id"), State(ids.Plan.FORM_START, "value"))
@guarded(lambda msg: ([],) * 6 + (no_update, no_update))
def fill_plan_choices(_loaded, start):
    """On load, fill the stores, categories and products, and start the form on the day after the data."""
    ch = memo(plan_edit.choices)
    stores, cats, prods = _options(ch["stores"]), _options(ch["categories"]), _options(ch["products"])
    day = start or ch["next_day"]
    return stores, cats, prods, stores, cats, prods, day, day


@callback(Output(ids.Plan.CALENDAR, "figure"), Output(ids.Plan.TABLE, "children"),
          inputs=dict(store=Input(ids.Plan.STORE, "value"), category=Input(ids.Plan.CATEGORY, "value"),
                      product=Input(ids.Plan.PRODUCT, "value"), start=Input(ids.Plan.DATES, "start_date"),
                      end=Input(ids.Plan.DATES, "end_date"), saved=Input(ids.Plan.RESULT, "children"),
                      imported=Input(ids.Plan.REPORT, "children")))
@guarded(lambda msg: (figures.empty_figure(f"Could not read the plan: {msg}"), components.error_alert(msg)))
def render_plan_calendar(store, category, product, start, end, saved=None, imported=None):
    """Redraw the calendar and the table of stored rows when a filter changes or the plan was edited/imported."""
    view = memo(plan_edit.plan_view, start, end, store, category, product, None, plan_parts.MAX_CALENDAR_ROWS)
    return (plan_parts.plan_calendar(view["expanded"], view["n_series"]),
            plan_parts.plan_table(view["rows"], n_rows=view["n_rows"]))


_FORM = dict(grain=State(ids.Plan.GRAIN, "value"), store=State(ids.Plan.FORM_STORE, "value"),
             product=State(ids.Plan.FORM_PRODUCT, "value"), category=State(ids.Plan.FORM_CATEGORY, "value"),
             start=State(ids.Plan.FORM_START, "value"), end=State(ids.Plan.FORM_END, "value"),
             depth=State(ids.Plan.DEPTH, "value"), kind=State(ids.Plan.KIND, "value"))


@callback(Output(ids.Plan.RESULT, "children", allow_duplicate=True),
          inputs=dict(n=Input(ids.Plan.SAVE, "n_clicks"), **_FORM), prevent_initial_call=True)
def save_planned_promotion(n, grain, store, product, category, start, end, depth, kind):
    """On "Save", write the promotion (or closure) over the dates at the chosen grain; say what was written."""
    if not n:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    try:
        written = plan_edit.set_promotion(grain, store, product, category, start, end, depth,
                                          closed=kind == "closed")
    except ValueError as exc:
        return components.error_alert(str(exc), title="Not saved")
    audit("plan.edit", {"op": "set", "grain": grain, "store": store, "product": product, "category": category,
                        "start": start, "end": end, "depth": depth, "kind": kind, "rows": written})
    what = "closure" if kind == "closed" else f"promotion at depth {float(depth or 0):.0%}"
    return components.info_alert(f"Saved: {what}, {written} day(s) from {start} to {end}.", color="success")


@callback(Output(ids.Plan.RESULT, "children", allow_duplicate=True),
          inputs=dict(n=Input(ids.Plan.DELETE, "n_clicks"), **_FORM), prevent_initial_call=True)
def delete_planned_promotion(n, grain, store, product, category, start, end, depth, kind):
    """On "Delete", remove this grain's scope from the plan over the dates; say how many rows went."""
    if not n:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    try:
        removed = plan_edit.remove(grain, store, product, category, start, end)
    except ValueError as exc:
        return components.error_alert(str(exc), title="Not deleted")
    audit("plan.edit", {"op": "delete", "grain": grain, "store": store, "product": product, "category": category,
                        "start": start, "end": end, "rows": removed})
    return components.info_alert(f"Deleted {removed} plan row(s) from {start} to {end}.",
                                 color="success" if removed else "secondary")


@callback(Output(ids.Plan.FILE, "data"), Output(ids.Plan.UPLOAD_INFO, "children"),
          Output(ids.Plan.MAPPING, "children"), Output(ids.Plan.VALIDATE, "disabled"),
          Output(ids.Plan.IMPORT, "disabled"), Output(ids.Plan.REPORT, "children", allow_duplicate=True),
          Input(ids.Plan.UPLOAD, "contents"), State(ids.Plan.UPLOAD, "filename"), prevent_initial_call=True)
def read_plan_upload(contents, filename):
    """After an upload, keep the file on the server under a random id and show the column-mapping form."""
    from data import ingest_plan
    if not contents:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return None, denied, None, True, True, None
    title = "This file cannot be imported"
    try:
        upload = uploads.save_data_url(contents, filename)
    except ValueError as exc:
        return None, components.error_alert(str(exc), title=title), None, True, True, None
    try:
        frame, _is_csv = ingest_plan.read_any(upload.path)
    except ValueError as exc:
        uploads.delete(upload.id)  # unreadable: nothing can be imported from it
        return None, components.error_alert(uploads.shown(str(exc), upload), title=title), None, True, True, None
    columns = [str(col) for col in frame.columns]
    return ({"id": upload.id, "name": upload.name}, components.upload_info(upload.name, len(frame), len(columns)),
            plan_parts.mapping_form(columns, ingest_plan.guess_mapping(columns)), False, False, None)


def run_plan_import(file, fields, values, dayfirst, dry_run: bool) -> tuple[bool, object]:
    """``(ok, report)``: the CLI's plan importer on the upload the page's id names (never a client path)."""
    from data import ingest_plan
    title = "Validation failed" if dry_run else "Import failed"
    try:
        upload = uploads.resolve(file.get("id") if isinstance(file, dict) else None)
        mapping = {fid["field"]: v for fid, v in zip(fields or [], values or []) if v}
        summary = ingest_plan.ingest_plan(upload.path, mapping, dayfirst="dayfirst" in (dayfirst or []),
                                          dry_run=dry_run)
    except ValueError as exc:
        message = uploads.shown(str(exc), upload) if "upload" in locals() else str(exc)
        return False, components.error_alert(message, title=title)
    summary["source"] = upload.name
    if not dry_run:
        uploads.delete(upload.id)
    return True, components.import_summary(ingest_plan.format_summary(summary), dry_run)


_IMPORT_FORM = dict(file=State(ids.Plan.FILE, "data"), fields=State(ids.plan_map(ALL), "id"),
                    values=State(ids.plan_map(ALL), "value"), dayfirst=State(ids.Plan.DAYFIRST, "value"))
_RUNNING = [(Output(ids.Plan.IMPORT, "disabled"), True, False), (Output(ids.Plan.VALIDATE, "disabled"), True, False)]


@callback(Output(ids.Plan.REPORT, "children", allow_duplicate=True),
          inputs=dict(n=Input(ids.Plan.VALIDATE, "n_clicks"), **_IMPORT_FORM), prevent_initial_call=True,
          background=True, running=_RUNNING)
def render_plan_validation(n, file, fields, values, dayfirst):
    """On "Validate", dry-run the plan importer in a background process and show its summary or its error."""
    if not n:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    return run_plan_import(file, fields, values, dayfirst, dry_run=True)[1]


@callback(Output(ids.Plan.REPORT, "children", allow_duplicate=True),
          inputs=dict(n=Input(ids.Plan.IMPORT, "n_clicks"), **_IMPORT_FORM), prevent_initial_call=True,
          background=True, running=_RUNNING)
def render_plan_import(n, file, fields, values, dayfirst):
    """On "Import", validate (dry run) then write the plan file in a background process; show the summary."""
    if not n:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied
    ok, report = run_plan_import(file, fields, values, dayfirst, dry_run=True)
    if not ok:
        return report
    ok, report = run_plan_import(file, fields, values, dayfirst, dry_run=False)
    if ok:
        audit("plan.import", {"file": file.get("name") if isinstance(file, dict) else None, "source": "dashboard"})
    return report


@callback(Output(ids.Plan.STALE, "children"), Input(ids.Plan.RESULT, "children"),
          Input(ids.Plan.REPORT, "children"))
@guarded(lambda msg: components.error_alert(msg, title="Could not read the plan changes"))
def render_stale_forecasts(_saved, _imported):
    """List the plan changes made since the current run started (its forecasts do not know them)."""
    run, changes = memo(plan_edit.stale_changes)
    return plan_parts.stale_view(run, changes)
