"""Generated reports (`python cli.py report eda|model|executive`): self-contained HTML, and PDF through Chromium.

``reports.render.generate(kind, fmt, out)`` builds one report from the live database: :mod:`reports.eda`,
:mod:`reports.model` and :mod:`reports.executive` read the store (``data``), compute with ``analytics``/``models``,
draw with the figure builders of ``layouts.figures`` and assemble a :class:`reports.document.Document`;
:mod:`reports.pdf` prints that HTML to PDF with headless Chromium.
"""
from __future__ import annotations

KINDS = ("eda", "model", "executive")
FORMATS = ("html", "pdf")
TITLES = {"eda": "Exploratory data analysis", "model": "Model report", "executive": "Executive summary"}
