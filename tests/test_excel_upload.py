"""The Data page upload with workbooks and order lines: the sheet choice, the order-line mapping form (guessed from
the column names), validation and import through the CLI's importers, and a bad row named as the spreadsheet
numbers it (callbacks called directly; the loader runs on both back ends in tests/test_orders_load.py)."""
from __future__ import annotations

import base64
import io

import pandas as pd
import pytest

from callbacks import data as cb
from data import orders, store
from data.xlsx import to_xlsx
from tests.excel_helpers import write_xlsx

ORDERS = pd.DataFrame({
    "InvoiceNo": ["1", "1", "2", "C1", "3"], "StockCode": ["A", "B", "A", "A", "B"],
    "Quantity": [2, 1, 3, -1, 4], "InvoiceDate": ["2024-01-01 09:00", "2024-01-01 09:00", "2024-01-02 10:00",
                                                    "2024-01-03 11:00", "2024-01-03 12:00"],
    "UnitPrice": [1.5, 4.0, 1.5, 1.5, 4.0], "CustomerID": ["c1", "c1", "c2", "c1", "c2"]})


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _workbook(tmp_path, frame: pd.DataFrame) -> str:
    """A two-sheet workbook (a notes sheet first, the lines second) as an upload data URL."""
    notes = write_xlsx(tmp_path / "notes.xlsx", pd.DataFrame({"Note": ["exported"]}), sheet="Notes")
    raw = _add_sheet(open(notes, "rb").read(), to_xlsx(frame, "Lines"))
    return "data:application/vnd.ms-excel;base64," + base64.b64encode(raw).decode()


def _add_sheet(first: bytes, second: bytes) -> bytes:
    """Two one-sheet packages of data/xlsx.py merged into one workbook with the sheets Notes and Lines."""
    import zipfile
    a, b = zipfile.ZipFile(io.BytesIO(first)), zipfile.ZipFile(io.BytesIO(second))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in a.namelist():
            data = a.read(name).decode()
            if name == "[Content_Types].xml":
                data = data.replace("</Types>", '<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/'
                                    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
            elif name == "xl/workbook.xml":
                data = data.replace("</sheets>", '<sheet name="Lines" sheetId="2" r:id="rId2"/></sheets>')
            elif name == "xl/_rels/workbook.xml.rels":
                data = data.replace("</Relationships>", '<Relationship Id="rId2" Type="http://schemas.openxmlformats.'
                                    'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/>'
                                    "</Relationships>")
            z.writestr(name, data)
        z.writestr("xl/worksheets/sheet2.xml", b.read("xl/worksheets/sheet1.xml"))
    return out.getvalue()


def _form(form) -> tuple[list[dict], list]:
    """The mapping dropdowns' ids and their pre-filled values, as the page would send them back."""
    found = [(node.id, getattr(node, "value", None)) for node in form._traverse()
             if isinstance(getattr(node, "id", None), dict) and node.id.get("type") == "data-map"]
    return [f for f, _ in found], [v for _, v in found]


def test_order_lines_workbook_upload_sheet_choice_validate_and_import(tmp_db, tmp_path, cache_dir):
    file = cb.save_uploaded_file(_workbook(tmp_path, ORDERS), "orders.xlsx")[0]
    options, value, style = cb.render_sheet_choice(file)
    assert [o["value"] for o in options] == ["Notes", "Lines"] and value is None and style["display"] == "block"
    text, form, validate_disabled, _ = cb.render_mapping_form(file, "orders", "Lines")
    assert not validate_disabled and "5 rows, 6 columns" in str(text)
    fields, values = _form(form)
    guessed = {f["field"]: v for f, v in zip(fields, values) if v}
    assert guessed == {"date": "InvoiceDate", "order": "InvoiceNo", "customer": "CustomerID", "product": "StockCode",
                       "quantity": "Quantity", "price": "UnitPrice"}
    opts = ([{"type": "data-opt", "option": "returns_prefix"}, {"type": "data-opt", "option": "timezone"}], ["C", ""])
    report = str(cb.render_validation_report(lambda p: None, 1, file, values, fields, [], [], "orders", "Lines",
                                             opts[1], opts[0]))
    assert "Validation passed" in report and "1 matched to their sale" in report and not store.db_exists(tmp_db)
    result = str(cb.render_import_result(lambda p: None, 1, file, values, fields, [], [], "orders", "Lines",
                                         opts[1], opts[0]))
    assert "Import finished" in result
    lines = orders.read_order_lines(tmp_db)
    assert len(lines) == 5 and lines["customer"].nunique() == 2
    facts = store.sales_facts(tmp_db)
    assert facts["sales"].sum() == pytest.approx(2 * 1.5 + 4.0 + 3 * 1.5 + 4 * 4.0 - 1.5)


def test_a_bad_row_of_a_workbook_upload_is_named_as_the_spreadsheet_shows_it(tmp_db, tmp_path, cache_dir):
    bad = ORDERS.astype({"Quantity": object})
    bad.loc[2, "Quantity"] = "three"
    file = cb.save_uploaded_file(_workbook(tmp_path, bad), "orders.xlsx")[0]
    text, form, _, _ = cb.render_mapping_form(file, "sales", None)  # the first sheet: notes, one column
    assert "1 rows, 1 columns" in str(text)
    _, form, _, _ = cb.render_mapping_form(file, "orders", "Lines")
    fields, values = _form(form)
    alert = str(cb.render_validation_report(lambda p: None, 1, file, values, fields, [], [], "orders", "Lines"))
    assert "Validation failed" in alert and "line 4, column 'Quantity': not a number: 'three'" in alert
    assert not store.db_exists(tmp_db)


def test_the_plan_page_upload_reads_a_workbook(tmp_db, cache_dir):
    from callbacks import plan as plan_cb
    plan = pd.DataFrame({"Date": ["2024-01-12", "2024-01-13"], "Store": ["1", "1"], "Promo": [1, 1]})
    url = "data:application/octet-stream;base64," + base64.b64encode(to_xlsx(plan, "Plan")).decode()
    file, info, form, validate_disabled, _, _ = plan_cb.read_plan_upload(url, "plan.xlsx")
    assert file and "2 rows, 3 columns" in str(info) and not validate_disabled
