"""Reusable widget factories (KPI cards, chart cards, empty states, alerts); every factory takes its ID."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

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


# --- drivers/data/runs ---
# The importer's mapping fields (`cli.py ingest csv --map field=COLUMN,...`); date and sales are required.
MAP_FIELDS = {"date": "Date *", "sales": "Sales *", "store": "Store", "product": "Product", "category": "Category",
              "region": "Region", "promo": "Promotion flag", "holiday": "Holiday flag", "open": "Open flag",
              "temperature": "Temperature (°C)", "precipitation": "Precipitation (mm)", "price": "Price"}


def mapping_form(field_id, extra_id: str, dayfirst_id: str, columns: list[str], guesses: dict) -> html.Div:
    """The column-mapping form of an uploaded file: one dropdown per importer field (ID ``field_id(field)``),
    pre-filled with ``guesses``, plus the extra-covariates picker and the day-first switch."""
    options = [{"label": c, "value": c} for c in columns]
    rows = [labeled(label, dcc.Dropdown(id=field_id(field), options=options, value=guesses.get(field),
                                        placeholder="(none)"), width=3)
            for field, label in MAP_FIELDS.items()]
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
    import pandas as pd
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
