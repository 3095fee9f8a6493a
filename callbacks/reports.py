"""Reports page callbacks: a click generates the report in a background process and downloads it."""
from __future__ import annotations

import tempfile
from pathlib import Path

import dash
from dash import ALL, Input, Output, callback, dcc, no_update
from dash.exceptions import PreventUpdate

from callbacks._auth import refused_alert
from callbacks._errors import guarded
from layouts import components, ids
from reports import FORMATS, KINDS, TITLES, render

_RUNNING = [(Output(ids.Reports.PROGRESS, "style"), {"height": "18px", "visibility": "visible"},
             {"height": "18px", "visibility": "hidden"})]
_PROGRESS = [Output(ids.Reports.PROGRESS, "value"), Output(ids.Reports.PROGRESS, "label")]


def report_download(kind: str, fmt: str, set_progress) -> tuple[dict, object]:
    """``(download, status)``: report ``kind`` built from the live database as ``fmt``, read back as bytes."""
    if kind not in KINDS or fmt not in FORMATS:
        raise PreventUpdate
    with tempfile.TemporaryDirectory(prefix="report-") as tmp:
        out = Path(tmp) / f"{kind}_report.{fmt}"
        summary = render.generate(kind, fmt, out,
                                  progress=lambda f, msg: set_progress((round(100 * f), msg)))
        data = out.read_bytes()
    status = components.info_alert(f"{TITLES[kind]} ({fmt.upper()}, {len(data) / 1e6:.1f} MB) generated in "
                                   f"{summary['seconds']:.1f} s.", color="success")
    return dcc.send_bytes(data, out.name), status


@callback(Output(ids.Reports.DOWNLOAD, "data"), Output(ids.Reports.STATUS, "children"),
          Input(ids.Reports.button(ALL, ALL), "n_clicks"), prevent_initial_call=True,
          background=True, running=_RUNNING, progress=_PROGRESS)
@guarded(lambda msg: (no_update, components.error_alert(msg, title="Could not generate the report")))
def download_report(set_progress, clicks):
    """On a report's HTML or PDF button, generate it in a background process and send it to the browser."""
    if not any(clicks or []):
        raise PreventUpdate
    if (denied := refused_alert("viewer")) is not None:
        return no_update, denied
    trigger = dash.ctx.triggered_id or {}
    return report_download(trigger.get("kind"), trigger.get("fmt"), set_progress)
