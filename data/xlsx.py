"""A DataFrame as an Excel workbook (.xlsx) with the standard library only: one sheet, a header row, values.

No xlsx writer (openpyxl, xlsxwriter) is a dependency, and a table export needs none of their features: an
Office Open XML package of five small parts is enough for Excel, LibreOffice and Google Sheets. Text is written
as inline strings, which a spreadsheet never evaluates (so a cell such as ``=1+1`` stays text); numbers and
booleans keep their type; missing values are empty cells; dates are written as ISO text.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from xml.sax.saxutils import escape

import pandas as pd

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = "</sheetData></worksheet>"
# Characters XML 1.0 cannot hold (control characters other than tab, newline, carriage return).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def column_letter(index: int) -> str:
    """``0 -> "A"``, ``25 -> "Z"``, ``26 -> "AA"``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(ref: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, pd.Timestamp):
        value = value.isoformat().removesuffix("T00:00:00")
    text = escape(_ILLEGAL.sub("", str(value)))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _plain(value):
    """numpy scalars as Python values (``np.float64(2.0)`` -> ``2.0``), pandas NA as None."""
    if value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") and not isinstance(value, pd.Timestamp) else value


def to_xlsx(df: pd.DataFrame, sheet: str = "Sheet1") -> bytes:
    """The bytes of an .xlsx workbook holding ``df`` (header row, then one row per record; the index is dropped)."""
    letters = [column_letter(i) for i in range(len(df.columns))]
    rows = ['<row r="1">' + "".join(_cell(f"{c}1", str(name)) for c, name in zip(letters, df.columns)) + "</row>"]
    for number, record in enumerate(df.itertuples(index=False, name=None), start=2):
        cells = "".join(_cell(f"{c}{number}", _plain(v)) for c, v in zip(letters, record))
        rows.append(f'<row r="{number}">{cells}</row>')
    name = escape(re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31] or "Sheet1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK.format(name=name))
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", _SHEET_HEAD + "".join(rows) + _SHEET_TAIL)
    return buffer.getvalue()
