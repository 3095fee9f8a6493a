"""One report printed to PDF with headless Chromium: a valid PDF with pages and its section titles as text; and
the clear refusal when no browser is there."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from reports import pdf, render
from tests.report_helpers import report_db  # noqa: F401


@pytest.mark.skipif(not any(shutil.which(n) for n in pdf.CANDIDATES), reason="needs Chromium (apt-get install chromium)")
def test_the_executive_summary_prints_to_a_pdf_with_its_sections(report_db, tmp_path):  # noqa: F811
    out = tmp_path / "executive.pdf"
    summary = render.generate("executive", "pdf", out, url=report_db)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 1 <= pages <= 10 and summary["bytes"] == len(data)
    # charts are drawn as vectors and the fonts embedded: far more than an empty page, far less than the HTML
    assert 50_000 < len(data) < 3_000_000
    if shutil.which("pdftotext"):  # poppler-utils, when installed: the titles are real text
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
        for title in ["Executive summary", *summary["sections"]]:
            assert title in text


def test_a_missing_browser_is_named_before_any_work(report_db, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SALES_REPORT_BROWSER", "")
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    with pytest.raises(pdf.RendererMissing, match="apt-get install chromium"):
        render.generate("eda", "pdf", tmp_path / "eda.pdf", url=report_db)
    assert not (tmp_path / "eda.pdf").exists()
