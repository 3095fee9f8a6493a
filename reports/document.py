"""A report as sections of text, tables and figures, written as one self-contained HTML file.

The HTML needs nothing from the network: the CSS is inline, plotly.js is inlined once (only when the report has a
figure) and every figure is its JSON plus one ``Plotly.newPlot`` call. Figures get a fixed size that fits an A4
page, so the same file prints to PDF (:mod:`reports.pdf`) with the charts the browser shows; WebGL traces are
drawn as SVG scatter traces, which every renderer (and print) supports.
"""
from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass, field

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

FIG_WIDTH = 700  # px: an A4 page's text width at 12 mm margins (~186 mm at 96 dpi)
FIG_HEIGHT = 320

CSS = """
body{font-family:Inter,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2a37;margin:0;
background:#f8fafc;font-size:14px;line-height:1.45}
main{max-width:760px;margin:0 auto;padding:24px 28px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:26px 0 8px;border-bottom:2px solid #e5e7eb;
padding-bottom:4px;break-after:avoid}h3{font-size:15px;margin:16px 0 6px;break-after:avoid}
.meta{color:#6b7280;font-size:12px;margin-bottom:12px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:12px;width:100%}
th,td{border-bottom:1px solid #e5e7eb;padding:3px 6px;text-align:left;vertical-align:top}\n.num{text-align:right}th{background:#f3f4f6}
tr{break-inside:avoid}
.figure{width:700px;break-inside:avoid;margin:6px 0 12px}.keep{break-inside:avoid}
.kpis{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 12px}
.kpi{border:1px solid #e5e7eb;border-radius:6px;padding:6px 10px;min-width:120px;flex:1;break-inside:avoid}
.kpi .label{font-size:11px;color:#6b7280;text-transform:uppercase}.kpi .value{font-size:18px;font-weight:600}
.kpi .detail{font-size:11px;color:#6b7280}
.note{color:#6b7280;font-size:12px}ul{margin:4px 0 10px}
nav.toc{font-size:13px;margin:8px 0 4px}nav.toc a{margin-right:12px;color:#2563eb;text-decoration:none}
@page{size:A4;margin:12mm}
@media print{body{background:#fff}main{padding:0;max-width:none}nav.toc{display:none}}
"""


def _static(fig) -> dict:
    """The figure as a plain dict with a fixed size and SVG traces (scattergl -> scatter)."""
    d = fig if isinstance(fig, dict) else fig.to_dict()
    d = json.loads(pio.to_json(d, validate=False))  # numpy, timestamps -> JSON types; a private copy
    for trace in d.get("data", []):
        if trace.get("type") == "scattergl":
            trace["type"] = "scatter"
    return d


@dataclass
class Section:
    """One titled part of a report: blocks of HTML in order."""

    key: str
    title: str
    blocks: list[str] = field(default_factory=list)
    figures: list[tuple[str, dict, int]] = field(default_factory=list)

    def text(self, paragraph: str) -> Section:
        self.blocks.append(f"<p>{html.escape(paragraph)}</p>")
        return self

    def note(self, paragraph: str) -> Section:
        self.blocks.append(f'<p class="note">{html.escape(paragraph)}</p>')
        return self

    def heading(self, title: str) -> Section:
        self.blocks.append(f"<h3>{html.escape(title)}</h3>")
        return self

    def bullets(self, items) -> Section:
        items = [i for i in items if i]
        if items:
            self.blocks.append("<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in items) + "</ul>")
        return self

    def kpis(self, cards) -> Section:
        """Cards of ``(label, value, detail)``."""
        cells = "".join(f'<div class="kpi"><div class="label">{html.escape(label)}</div>'
                        f'<div class="value">{html.escape(str(value))}</div>'
                        f'<div class="detail">{html.escape(str(detail or ""))}</div></div>'
                        for label, value, detail in cards)
        self.blocks.append(f'<div class="kpis">{cells}</div>')
        return self

    def table(self, df: pd.DataFrame, formats: dict | None = None, max_rows: int = 25) -> Section:
        """A DataFrame as a table (values formatted per column with ``formats``: format strings or callables)."""
        if df is None or df.empty:
            return self.note("(no rows)")
        d = df.head(max_rows)
        numeric = [pd.api.types.is_numeric_dtype(d[c]) and not pd.api.types.is_bool_dtype(d[c]) for c in d]
        cells = {}
        for col in d.columns:
            fmt = (formats or {}).get(col)
            cells[col] = ["–" if v is None or (isinstance(v, float) and pd.isna(v))
                          else (fmt(v) if callable(fmt) else fmt.format(v)) if fmt else
                          (f"{v:,.4g}" if isinstance(v, float) else str(v)) for v in d[col]]
        align = ['class="num"' if n else "" for n in numeric]
        head = "".join(f"<th {a}>{html.escape(str(c))}</th>" for c, a in zip(d.columns, align))
        rows = "".join("<tr>" + "".join(f"<td {a}>{html.escape(cells[c][i])}</td>" for c, a in zip(d.columns, align))
                       + "</tr>" for i in range(len(d)))
        self.blocks.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        if len(df) > max_rows:
            self.note(f"First {max_rows} of {len(df):,} rows.")
        return self

    def figure(self, fig, height: int = FIG_HEIGHT, caption: str | None = None) -> Section:
        d = _static(fig)
        layout = d.setdefault("layout", {})
        layout.update(width=FIG_WIDTH, height=height, autosize=False)
        layout.setdefault("margin", {"l": 60, "r": 20, "t": 30, "b": 45})
        div_id = f"fig-{self.key}-{len(self.figures)}"
        self.figures.append((div_id, d, height))
        lead = []  # the heading and text just before a figure stay on its page
        while self.blocks and self.blocks[-1].startswith(("<p>", "<h3>")) and len(lead) < 2:
            lead.insert(0, self.blocks.pop())
        self.blocks.append(f'<div class="keep">{"".join(lead)}'
                           f'<div class="figure" id="{div_id}" style="height:{height}px"></div></div>')
        if caption:
            self.note(caption)
        return self


@dataclass
class Document:
    """A report: a title, a generated-at line, and sections (each an ``<section id=key>`` with an ``<h2>``)."""

    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)

    def section(self, key: str, title: str) -> Section:
        s = Section(key, title)
        self.sections.append(s)
        return s

    def section_titles(self) -> list[str]:
        return [s.title for s in self.sections]

    def to_html(self) -> str:
        """The whole report as one HTML document that works offline."""
        figures = [f for s in self.sections for f in s.figures]
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        toc = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in self.sections)
        body = "".join(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>{"".join(s.blocks)}</section>'
                       for s in self.sections)
        scripts = ""
        if figures:
            calls = "".join(f"Plotly.newPlot({json.dumps(i)},{json.dumps(d['data'])},{json.dumps(d['layout'])},"
                            '{"displayModeBar":false,"responsive":false});\n' for i, d, _h in figures)
            # "</" inside the inlined JSON would end the script element early
            calls = calls.replace("</", "<\\/")
            scripts = f"<script>{get_plotlyjs()}</script><script>{calls}</script>"
        return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
                f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
                f'<body><main><h1>{html.escape(self.title)}</h1><div class="meta">{html.escape(self.subtitle)}'
                f' · generated {stamp}</div><nav class="toc">{toc}</nav>{body}</main>{scripts}</body></html>')
