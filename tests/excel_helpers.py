"""Tiny workbooks written on the fly for the Excel tests: .xlsx through the repo's stdlib writer (data/xlsx.py),
with merged cells added to its sheet XML, and .ods as the zip of XML parts OpenDocument defines."""
from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

import pandas as pd

from data import xlsx


def write_xlsx(path, df: pd.DataFrame, sheet: str = "Sheet1", merge: str | None = None) -> str:
    """``df`` as an .xlsx file; ``merge="B1:C1"`` marks those cells merged (as Excel stores it)."""
    raw = xlsx.to_xlsx(df, sheet)
    if merge:
        src = zipfile.ZipFile(io.BytesIO(raw))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name in src.namelist():
                data = src.read(name).decode()
                if name == "xl/worksheets/sheet1.xml":
                    data = data.replace("</sheetData>",
                                        f'</sheetData><mergeCells count="1"><mergeCell ref="{merge}"/></mergeCells>')
                z.writestr(name, data)
        raw = out.getvalue()
    with open(path, "wb") as fh:
        fh.write(raw)
    return str(path)


_ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""
_ODS_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
             'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
             'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
             'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
             '<office:body><office:spreadsheet>')


def _ods_cell(value, span: int = 1) -> str:
    spanned = f' table:number-columns-spanned="{span}"' if span > 1 else ""
    if value is None or (isinstance(value, float) and value != value):
        return f"<table:table-cell{spanned}/>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (f'<table:table-cell office:value-type="float" office:value="{value}"{spanned}>'
                f"<text:p>{value}</text:p></table:table-cell>")
    return (f'<table:table-cell office:value-type="string"{spanned}><text:p>{escape(str(value))}</text:p>'
            "</table:table-cell>")


def write_ods(path, sheets: dict[str, pd.DataFrame], merge_header: tuple[int, int] | None = None) -> str:
    """Sheets of frames as an .ods file; ``merge_header=(col, span)`` merges header cells of the first sheet."""
    tables = []
    for n, (name, df) in enumerate(sheets.items()):
        head, cols, skip = [], list(df.columns), 0
        for i, c in enumerate(cols):
            if skip:
                skip -= 1
                head.append("<table:covered-table-cell/>")
                continue
            if n == 0 and merge_header and i == merge_header[0]:
                head.append(_ods_cell(c, merge_header[1]))
                skip = merge_header[1] - 1
            else:
                head.append(_ods_cell(c))
        rows = ["<table:table-row>" + "".join(head) + "</table:table-row>"]
        for rec in df.itertuples(index=False, name=None):
            rows.append("<table:table-row>" + "".join(_ods_cell(v) for v in rec) + "</table:table-row>")
        tables.append(f'<table:table table:name="{escape(name)}">' + "".join(rows) + "</table:table>")
    content = _ODS_HEAD + "".join(tables) + "</office:spreadsheet></office:body></office:document-content>"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        z.writestr("content.xml", content)
    return str(path)
