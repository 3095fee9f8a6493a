"""Build a report and write it: ``generate(kind, fmt, out)`` is what ``cli.py report`` and the Reports page run."""
from __future__ import annotations

import importlib
import tempfile
import time
from pathlib import Path

from reports import FORMATS, KINDS

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "reports"


def default_path(kind: str, fmt: str) -> Path:
    return DEFAULT_DIR / f"{kind}.{fmt}"


def check(kind: str, fmt: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown report {kind!r}: choose one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose html or pdf")


def build(kind: str, url: str | None = None):
    """The :class:`reports.document.Document` of ``kind`` read from the database at ``url``."""
    return importlib.import_module(f"reports.{kind}").build(url)


def generate(kind: str, fmt: str = "html", out: str | Path | None = None, url: str | None = None,
             progress=None) -> dict:
    """Write report ``kind`` as ``fmt`` to ``out`` (default ``data/reports/<kind>.<fmt>``); returns a summary.

    ``progress(fraction, message)`` is called between the steps (the Reports page's progress bar).
    """
    check(kind, fmt)
    say = progress or (lambda _f, _m: None)
    out = Path(out) if out else default_path(kind, fmt)
    if fmt == "pdf":
        from reports import pdf
        pdf.browser()  # a missing renderer fails before the report is built
    t0 = time.perf_counter()
    say(0.05, f"reading the database for the {kind} report")
    doc = build(kind, url)
    say(0.7 if fmt == "pdf" else 0.9, "writing HTML")
    text = doc.to_html()
    out.parent.mkdir(parents=True, exist_ok=True)
    built = time.perf_counter() - t0
    if fmt == "html":
        out.write_text(text, encoding="utf-8")
    else:
        from reports import pdf
        say(0.75, "printing to PDF with Chromium")
        with tempfile.TemporaryDirectory(prefix="report-") as tmp:
            page = Path(tmp) / f"{kind}.html"
            page.write_text(text, encoding="utf-8")
            pdf.html_to_pdf(page, out)
    say(1.0, "done")
    return {"report": kind, "format": fmt, "path": str(out.resolve()), "bytes": out.stat().st_size,
            "sections": doc.section_titles(), "build_seconds": round(built, 2),
            "seconds": round(time.perf_counter() - t0, 2)}
