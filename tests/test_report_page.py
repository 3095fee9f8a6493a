"""The Reports page: its layout offers every report in both formats, and a click's work (run in the background
callback) returns the generated file as a download."""
from __future__ import annotations

import base64

from tests.report_helpers import report_db  # noqa: F401


def _ids(component) -> list:
    found = [getattr(component, "id", None)]
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            found += _ids(child)
    return [i for i in found if i is not None]


def test_the_page_has_a_button_per_report_and_format():
    from layouts import ids
    from reports import FORMATS, KINDS
    from tests.dash_helpers import page_layout
    buttons = [i for i in _ids(page_layout("/reports")()) if isinstance(i, dict) and i.get("type") == "reports-generate"]
    assert sorted((b["kind"], b["fmt"]) for b in buttons) == sorted((k, f) for k in KINDS for f in FORMATS)
    assert ("Reports", "/reports") in dict(ids.NAV_GROUPS)["Operate"]


def test_a_click_downloads_the_generated_report(report_db, monkeypatch):  # noqa: F811
    from callbacks import reports as cb
    monkeypatch.setenv("SALES_DB", report_db)
    progress = []
    download, status = cb.report_download("model", "html", progress.append)
    assert download["filename"] == "model_report.html" and download["base64"]
    page = base64.b64decode(download["content"]).decode()
    assert '<section id="coverage">' in page and "Model report" in str(status)
    assert progress[0][0] < progress[-1][0] == 100


def test_reports_draw_with_plotly_but_never_import_dash():
    import ast
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "reports"
    for path in root.glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        assert not names & {"dash", "dash_bootstrap_components", "flask"}, path.name
