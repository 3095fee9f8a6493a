"""Reusable widget factories (KPI cards, chart cards, empty states, alerts); every factory takes its ID."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from domain import FIELD_LABELS
from layouts import figures

EMPTY_DATA = "The store is empty: run `python cli.py demo` or `python cli.py ingest walmart DIR`."
EMPTY_FORECASTS = "No forecasts yet: run `python cli.py refresh`."


def kpi_card(value_id, detail_id, title: str, value: str = "–", detail: str = "") -> dbc.Card:
    """A small card with a title, a big value and a one-line detail; callbacks fill ``value_id``/``detail_id``."""
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="kpi-title"),
        html.Div(value, id=value_id, className="kpi-value"),
        html.Div(detail, id=detail_id, className="kpi-detail text-muted"),
    ]), className="kpi-card h-100")


def chart_card(graph_id: str, title: str, explanation: str, height: int = 360, extra=None) -> dbc.Card:
    """A card holding one ``dcc.Graph`` (wrapped in ``dcc.Loading``) with a title and a how-to-read sentence."""
    graph = dcc.Graph(id=graph_id, figure=figures.empty_figure("Loading…"), style={"height": f"{height}px"},
                      config={"displaylogo": False, "responsive": True})
    body = [html.H6(title, className="card-title mb-1"),
            html.P(explanation, className="chart-explanation text-muted small mb-2"),
            dcc.Loading(graph, type="circle", delay_show=300)]
    if extra is not None:
        body.insert(2, extra)
    return dbc.Card(dbc.CardBody(body), className="chart-card h-100")


def empty_state(message: str, element_id: str | None = None) -> html.Div:
    """A friendly, centred message shown instead of content that does not exist yet."""
    kwargs = {"id": element_id} if element_id else {}
    return html.Div([html.Div("∅", className="empty-icon"), html.P(message, className="mb-0")],
                    className="empty-state", **kwargs)


def error_alert(message: str, element_id: str | None = None, title: str = "Something went wrong") -> dbc.Alert:
    """A red alert with a short explanation (never a traceback)."""
    kwargs = {"id": element_id} if element_id else {}
    return dbc.Alert([html.Strong(f"{title}: "), message], color="danger", className="mb-2", **kwargs)


def info_alert(message, color: str = "info", element_id: str | None = None) -> dbc.Alert:
    """A coloured Bootstrap alert for notices (stale data, failed refresh, empty store)."""
    kwargs = {"id": element_id} if element_id else {}
    return dbc.Alert(message, color=color, className="mb-2", **kwargs)


def labeled(label: str, control, width: int | None = None) -> dbc.Col:
    """A filter control with a small label above it, as a grid column."""
    return dbc.Col([dbc.Label(label, className="small text-muted mb-0"), control],
                   width=width, className="mb-2")


def page_header(title: str, subtitle: str) -> html.Div:
    """The title line of a page with one sentence on what the page is for."""
    return html.Div([html.H3(title, className="mb-0"), html.P(subtitle, className="text-muted")],
                    className="page-header mb-2")


def notices(items: list[tuple[str, str]]) -> list[dbc.Alert]:
    """One Bootstrap alert per ``(message, colour)``: the notices above a page."""
    return [dbc.Alert(message, color=color) for message, color in items]


def kpi_row(cards: list[tuple], value_id, detail_id) -> dbc.Row:
    """A row of KPI cards from ``(key, title, value, detail)``; the IDs are ``value_id(key)``/``detail_id(key)``."""
    return dbc.Row([dbc.Col(kpi_card(value_id(k), detail_id(k), t, v, d), md=True) for k, t, v, d in cards],
                   className="g-2")


# --- data page ---
def mapping_form(field_id, extra_id: str, dayfirst_id: str, columns: list[str], guesses: dict) -> html.Div:
    """The column-mapping form of an uploaded file: one dropdown per importer field (ID ``field_id(field)``),
    pre-filled with ``guesses``, plus the extra-covariates picker and the day-first switch."""
    options = [{"label": c, "value": c} for c in columns]
    rows = [labeled(label, dcc.Dropdown(id=field_id(field), options=options, value=guesses.get(field),
                                        placeholder="(none)"), width=3)
            for field, label in FIELD_LABELS.items()]
    used = set(guesses.values())
    extras = labeled("Extra numeric columns kept as covariates", dcc.Dropdown(
        id=extra_id, options=[o for o in options if o["value"] not in used], multi=True, value=[]), width=6)
    flags = dbc.Col(dbc.Checklist(id=dayfirst_id, value=[], switch=True,
                                  options=[{"label": "Dates are day-first (31/12/2020)", "value": "dayfirst"}]),
                    width=6, className="pt-4")
    return html.Div([dbc.Row(rows), dbc.Row([extras, flags])])


def frame_table(df, table_id: str | None = None, max_rows: int = 200) -> dbc.Table:
    """A compact striped table of a small DataFrame (at most ``max_rows`` rows)."""
    kwargs = {"id": table_id} if table_id else {}
    return dbc.Table.from_dataframe(df.head(max_rows), striped=True, bordered=False, hover=True, size="sm",
                                    responsive=True, className="small", **kwargs)


def upload_info(filename: str, n_rows: int, n_columns: int) -> html.P:
    """One line on the uploaded file under the upload box."""
    return html.P(f"{filename}: {n_rows:,} rows, {n_columns} columns. Check the mapping, then validate.",
                  className="small mb-1")


def upload_reading(filename: str) -> html.P:
    """The line under the upload box while the saved file's columns are read."""
    return html.P(f"{filename}: received, reading its columns…", className="small mb-1 text-muted")


def import_summary(text: str, dry_run: bool) -> html.Div:
    """The importer's summary (the same text the CLI prints) under a success banner."""
    head = "Validation passed: nothing was written." if dry_run else "Import finished."
    return html.Div([dbc.Alert(head, color="success" if not dry_run else "info", className="mb-2"),
                     html.Pre(text, className="small bg-light p-2 border rounded")])


def store_summary(s: dict, value_id, detail_id) -> dbc.Row:
    """KPI cards of ``store.data_summary()``: rows, dates, stores, products and series."""
    lv = s["levels"]
    cards = [("rows", "Rows", f"{s['rows']:,}", "store x product x date facts"),
             ("dates", "Dates", f"{s['start']} → {s['end']}", f"{s['days']:,} distinct dates"),
             ("stores", "Stores", f"{lv.get('store', 0):,}", f"in {lv.get('region', 0):,} regions"),
             ("products", "Products", f"{lv.get('product', 0):,}", f"in {lv.get('category', 0):,} categories"),
             ("series", "Series", f"{lv.get('store_product', 0):,}", f"{sum(lv.values()):,} nodes in the hierarchy")]
    return kpi_row(cards, value_id, detail_id)


def import_log(ds: pd.DataFrame) -> dbc.Table:
    """The import log (``store.datasets()``, one row per import) as a table."""
    view = pd.DataFrame({
        "Dataset": ds["name"], "Source": ds["source"].astype(str).str.slice(0, 60), "Freq": ds["frequency"],
        "From": ds["start_date"].dt.strftime("%Y-%m-%d"), "To": ds["end_date"].dt.strftime("%Y-%m-%d"),
        "Rows read": ds["rows_read"].map("{:,}".format), "Written": ds["rows_written"].map("{:,}".format),
        "Rejected": ds["rows_rejected"].map("{:,}".format), "Duplicates": ds["duplicates"].map("{:,}".format),
        "Imported (UTC)": ds["imported_at"].dt.strftime("%Y-%m-%d %H:%M")})
    return frame_table(view)


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.1%}" if 0 < abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, (dict, list)):
        import json
        return json.dumps(value, default=str)[:120]
    return str(value)


def quality_view(report: dict) -> html.Div:
    """The data-quality report (``analytics.quality.quality_report``): headline numbers, the issues found, then
    one accordion item per check with its figures and its worst series/stores as tables."""
    scalars = {k: v for k, v in report.items() if not isinstance(v, (dict, list))}
    head = html.P(" · ".join(f"{k.replace('_', ' ')}: {_cell(v)}" for k, v in scalars.items()),
                  className="small text-muted mb-2")
    issues = report.get("issues") or []
    alerts = [dbc.Alert(i, color="warning", className="py-1 px-2 mb-1 small") for i in issues] or \
        [dbc.Alert("No data-quality issue found.", color="success", className="py-1 px-2 small")]
    items = []
    for key, section in report.items():
        if not isinstance(section, dict):
            continue
        facts = {k: v for k, v in section.items() if not isinstance(v, (dict, list))}
        body = [html.P(" · ".join(f"{k.replace('_', ' ')}: {_cell(v)}" for k, v in facts.items()),
                       className="small mb-2")] if facts else []
        for name, value in section.items():
            if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
                table = pd.DataFrame([{k: _cell(v) for k, v in row.items()} for row in value[:20]])
                body += [html.Div(name.replace("_", " ").capitalize() + (f" (first 20 of {len(value)})"
                                                                         if len(value) > 20 else ""),
                                  className="small fw-semibold"), frame_table(table)]
            elif isinstance(value, dict) and value:
                body.append(html.P(f"{name.replace('_', ' ')}: " + ", ".join(f"{k} {_cell(v)}"
                                                                             for k, v in value.items()),
                                   className="small"))
        items.append(dbc.AccordionItem(body or html.P("Nothing to report.", className="small"),
                                       title=key.replace("_", " ").capitalize()))
    return html.Div([head, *alerts, dbc.Accordion(items, start_collapsed=True, always_open=True,
                                                  className="mt-2")])


# --- explore page ---
def breadcrumb(crumbs: list[tuple[str, str]], crumb_id) -> list:
    """``Total › Region N › ...`` from ``(level, text)``: every crumb but the last is a button ``crumb_id(level)``."""
    items = []
    for i, (level, text) in enumerate(crumbs):
        if i:
            items.append(html.Span("›", className="sep"))
        last = i == len(crumbs) - 1
        items.append(html.Span(text, className="fw-semibold") if last else
                     html.Button(text, id=crumb_id(level), n_clicks=0, className="btn btn-link btn-sm"))
    return items


# --- forecast page ---
METRIC_LABELS = {"wape": "WAPE", "mase": "MASE", "rmse": "RMSE", "smape": "sMAPE", "bias": "Bias",
                 "coverage_80": "Cover 80", "coverage_95": "Cover 95"}
PERCENT_METRICS = {"wape", "smape", "coverage_80", "coverage_95"}


def _metric(name: str, value) -> str:
    if value is None or pd.isna(value):
        return "–"
    if name in PERCENT_METRICS:
        return f"{value * 100:.1f}%"
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def models_table(df: pd.DataFrame) -> html.Div | dbc.Table:
    """The backtest comparison (``store.model_comparison``) with the chosen model's row highlighted."""
    if df.empty:
        return empty_state("No backtest for this series yet: run `python cli.py refresh`.")
    head = html.Thead(html.Tr([html.Th("Model"), html.Th("Folds")] + [html.Th(v) for v in METRIC_LABELS.values()]))
    rows = []
    for r in df.to_dict("records"):
        cells = [html.Td([html.Span("●", style={"color": figures.model_color(r["model"])}), f" {r['model']}"]
                         + ([" ", dbc.Badge("chosen", color="primary")] if r["chosen"] else [])),
                 html.Td(int(r["folds"]))]
        cells += [html.Td(_metric(m, r.get(m))) for m in METRIC_LABELS]
        rows.append(html.Tr(cells, className="chosen" if r["chosen"] else None))
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0")


def ljung_box_summary(diag: pd.DataFrame):
    """A sentence reading the Ljung-Box p-value, bias and residual spread of the chosen model."""
    if diag.empty or diag["ljung_box_p"].isna().all():
        return empty_state("No diagnostics for this series yet: run `python cli.py refresh`.")
    r = diag.iloc[0]
    p = float(r["ljung_box_p"])
    verdict = ("the residuals are autocorrelated (p < 0.05): the model leaves structure unexplained and its "
               "intervals may be too narrow" if p < 0.05 else
               "no evidence of leftover autocorrelation (p ≥ 0.05): the residuals look like noise")
    return html.Div([
        html.Div([html.Span("p = ", className="text-muted"), html.Span(f"{p:.3f}", className="kpi-value")]),
        html.P(f"Model {r['model']}: {verdict}.", className="small mb-1"),
        html.P(f"Mean residual (bias) {r['bias']:,.2f}; residual standard deviation {r['resid_std']:,.2f}.",
               className="small text-muted mb-0") if pd.notna(r["bias"]) and pd.notna(r["resid_std"]) else None,
    ])


# --- runs page ---
def facts(items: list[tuple[str, object]]) -> html.Dl:
    """A two-column list of ``(label, value)`` facts (the current run's card)."""
    return html.Dl([x for k, v in items for x in (html.Dt(k, className="col-4"), html.Dd(str(v), className="col-8"))],
                   className="row small mb-0")


def schedule_view(cron: str, upcoming: list, numeric_weekdays: bool) -> html.Div:
    """The refresh schedule: the crontab line, the command that runs it, and the next fire times."""
    notes = []
    if numeric_weekdays:  # APScheduler 3 numbers weekdays from Monday = 0, unlike crontab (Sunday = 0)
        notes.append(info_alert("The day-of-week field is numeric: APScheduler counts Monday as 0, crontab counts "
                                "Sunday as 0. Use names (mon-fri) to be sure; the times below are what the "
                                "scheduler will do.", color="warning"))
    return html.Div([
        html.P([html.Code(cron), " — `python cli.py schedule --cron \"", cron, "\"` refreshes on this schedule "
                "and skips when the data has not changed."], className="small mb-1"),
        *notes,
        html.Ul([html.Li(f"{t:%a %Y-%m-%d %H:%M %Z}") for t in upcoming], className="small mb-0"),
    ])


def status_badge(text: str, color: str) -> dbc.Badge:
    """A coloured badge with the outcome of an action started from the page."""
    return dbc.Badge(text, color=color, className="p-2")
