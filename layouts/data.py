"""Data page: what the store holds, the data-quality report, and file upload (sales rows or order lines; CSV,
Parquet or a workbook) with column mapping, validation and import."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

import config
from layouts import components, ids, upload_parts

dash.register_page(__name__, path="/data", name="Data", order=4, title="Data · Sales Forecasting")

TABS = {"summary": "Summary", "quality": "Data quality", "upload": "Upload a file"}
def _upload_tab() -> html.Div:
    settings = config.load()
    return html.Div([
        html.P("Upload a long-format file (one row per date, store and product) or an order-line export (one row "
               "per product in an order): CSV, CSV.gz, Parquet, Excel (.xlsx, .xls) or OpenDocument (.ods), up to "
               f"{settings.max_upload_mb} MB (also once decompressed). Map its "
               "columns, validate (nothing is written), then import. This runs the same importer as "
               "`python cli.py ingest csv|orders FILE --map ...` and shows the same error messages.",
               className="text-muted small"),
        upload_parts.import_kind(ids.Data.KIND),
        # max_size: the browser refuses a larger file before sending it (Flask's MAX_CONTENT_LENGTH backs it up)
        dcc.Upload(id=ids.Data.UPLOAD, children=html.Div(["Drag and drop or ", html.A("choose a file")]),
                   className="upload-zone", multiple=False, max_size=settings.max_upload_bytes,
                   style={"borderWidth": "2px", "borderStyle": "dashed", "borderRadius": "8px", "padding": "24px",
                          "textAlign": "center", "cursor": "pointer"}),
        dcc.Store(id=ids.Data.FILE),
        upload_parts.sheet_picker(ids.Data.SHEET_BOX, ids.Data.SHEET),
        dcc.Loading(html.Div(id=ids.Data.UPLOAD_INFO, className="mt-2")),
        html.Div(id=ids.Data.MAPPING, className="mt-2"),
        html.Div([
            dbc.Button("Validate (dry run)", id=ids.Data.VALIDATE, color="secondary", className="me-2",
                       disabled=True),
            dbc.Button("Import", id=ids.Data.IMPORT, color="primary", disabled=True),
        ], className="my-2"),
        dbc.Progress(id=ids.Data.IMPORT_PROGRESS, value=0, striped=True, animated=True,
                     style={"height": "18px", "visibility": "hidden"}, className="mb-2"),
        dcc.Loading(html.Div(id=ids.Data.REPORT)),
    ])


def layout(**query):
    tab = ids.q_str(query, "tab", "summary", TABS)
    summary = html.Div([dcc.Loading(html.Div(id=ids.Data.SUMMARY)), html.H5("Import log", className="mt-3"),
                        dcc.Loading(html.Div(id=ids.Data.DATASETS))])
    quality = html.Div([
        html.Div([dbc.Button("Recompute the report", id=ids.Data.QUALITY_RUN, color="secondary", size="sm"),
                  html.Span(id=ids.Data.QUALITY_STATUS, className="small text-muted ms-2")], className="mb-2"),
        dcc.Loading(html.Div(id=ids.Data.QUALITY)),
    ])
    return html.Div([
        components.page_header("Data", "What the store holds, how clean it is, and how to add your own sales or "
                               "order-line file."),
        dbc.Tabs([dbc.Tab(summary, label=TABS["summary"], tab_id="summary"),
                  dbc.Tab(quality, label=TABS["quality"], tab_id="quality"),
                  dbc.Tab(_upload_tab(), label=TABS["upload"], tab_id="upload")],
                 id=ids.Data.TAB, active_tab=tab, className="mb-3"),
    ])
