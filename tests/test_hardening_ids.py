"""Issue 12, items 3 and 4: every id round-trips through the series keys and URLs, ids are bounded, and every
CSV export neutralises text cells that a spreadsheet would run as a formula."""
from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dash._pages import _parse_query_string

import cli
from data import ingest, store
from data.exports import FORMULA_PREFIXES, csv_safe, neutralise
from data.keys import escape_part, node_id, node_keys, parse_node_id, unescape_part
from domain import BOTTOM_LEVEL, MAX_ID_LENGTH
from layouts import ids

ROOT = Path(__file__).resolve().parents[1]
MAP = "date=Date,sales=Sales,store=Store,product=Product,category=Category,region=Region"
# Ids that collide with the key scheme, URL syntax, CSV syntax, SQL or a spreadsheet, next to plain ones.
HOSTILE = ["1", "1/product=B", "a=b", "50%off", "%2F", "%252F", "x y", "héllo ünïcode", "日本店", '"quoted"',
           "it's",
           "'; DROP TABLE sales;--", "Robert'); DROP TABLE stores; --", "a,b", "a&b#c?d", "+plus", "back\\slash",
           "store>", "total", "=cmd|' /C calc'!A0", "-5", "@SUM(A1)", "a" * MAX_ID_LENGTH]
FORMULA = "=cmd|' /C calc'!A0"
REGIONS = ["North", FORMULA, "-5", "a=b", "1/product=B"]


def _file_state(url: str) -> tuple:
    store.get_engine(url).dispose()
    path = Path(url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return (hashlib.sha256(path.read_bytes()).hexdigest(),
            hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() else None)


def _pairs() -> list[tuple[str, str, str, str]]:
    """(store, product, category, region) of every series: each hostile id as a store and as a product, and as
    some product's category and some store's region (one region per store, one category per product)."""
    n = len(HOSTILE)
    region = {s: REGIONS[i % len(REGIONS)] for i, s in enumerate(HOSTILE)}
    category = {p: HOSTILE[(i + 5) % n] for i, p in enumerate(HOSTILE)}
    out = [("1", "B", "Plain", region["1"])]  # the series that store "1/product=B" used to collide with
    for i, s in enumerate(HOSTILE):
        p = HOSTILE[(i + 3) % n]
        out.append((s, p, category[p], region[s]))
    return out


def _hostile_csv(path: Path, days: int = 6) -> pd.DataFrame:
    """A small file holding every pair; sales = 1000 * series number + day, so each series is recognisable."""
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    rows = [{"Date": d.strftime("%Y-%m-%d"), "Store": s, "Product": p, "Category": c, "Region": r,
             "Sales": 1000.0 * i + j}
            for i, (s, p, c, r) in enumerate(_pairs()) for j, d in enumerate(dates)]
    df = pd.DataFrame(rows)
    df.to_csv(path, index=False)
    return df


@pytest.fixture(scope="module")
def hostile_master(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("hostile")
    src = _hostile_csv(tmp / "hostile.csv")
    db = tmp / "hostile.db"
    ingest.ingest_csv(tmp / "hostile.csv", MAP, url=f"sqlite:///{db}")
    store.get_engine(f"sqlite:///{db}").dispose()
    return db, src


@pytest.fixture
def hostile_db(hostile_master, tmp_path, monkeypatch) -> tuple[str, pd.DataFrame]:
    db, src = hostile_master
    shutil.copy(db, tmp_path / "h.db")
    url = f"sqlite:///{tmp_path / 'h.db'}"
    monkeypatch.setenv("SALES_DB", url)
    return url, src


# ----------------------------------------------------------------------------- keys

@pytest.mark.parametrize("value", HOSTILE + ["", "%", "%%", "%25", "%3d", "/", "=", "//==%%"])
def test_escaped_part_round_trips_and_holds_no_separator(value):
    part = escape_part(value)
    assert "/" not in part and "=" not in part
    assert unescape_part(part) == value


def test_plain_ids_keep_their_keys():
    assert node_id(BOTTOM_LEVEL, store_id="3", product_id="P001") == "store=3/product=P001"
    assert node_id("store_category", store_id="01", category="Food & Drink") == "store=01/category=Food & Drink"
    assert node_id("store", store_id="1/product=B") == "store=1%2Fproduct%3DB"


@pytest.mark.parametrize("level", ["region", "store", "category", "product", "store_category", BOTTOM_LEVEL])
def test_every_level_round_trips_scalar_and_vectorised(level):
    pairs = _pairs()
    parts = pd.DataFrame({"store_id": [p[0] for p in pairs], "product_id": [p[1] for p in pairs],
                          "category": [p[2] for p in pairs], "region": [p[3] for p in pairs]})
    keys = node_keys(level, parts)
    for key, row in zip(keys, parts.itertuples(index=False)):
        info = parse_node_id(key)
        assert info["level"] == level
        for name, value in info.items():
            if name != "level":
                assert value == getattr(row, name)
        assert node_id(level, **{k: v for k, v in info.items() if k != "level"}) == key


def test_hostile_ids_import_and_read_back_exactly(hostile_db):
    url, src = hostile_db
    bottom = store.nodes(BOTTOM_LEVEL, url=url)
    assert len(bottom) == len(_pairs())  # no two series collapsed into one key
    for i, (s, p, _c, _r) in enumerate(_pairs()):
        row = bottom[(bottom["store_id"] == s) & (bottom["product_id"] == p)]
        assert len(row) == 1, (s, p)
        key = row["node_id"].iloc[0]
        assert parse_node_id(key)["store_id"] == s and parse_node_id(key)["product_id"] == p
        y = store.series(key, url=url)["y"].to_numpy()
        np.testing.assert_allclose(y, 1000.0 * i + np.arange(6))


def test_hostile_aggregate_keys_read_their_own_sums(hostile_db):
    url, src = hostile_db
    for level, cols in (("store", ["Store"]), ("product", ["Product"]), ("category", ["Category"]),
                        ("region", ["Region"]), ("store_category", ["Store", "Category"])):
        nodes = store.nodes(level, url=url)
        expected = src.groupby(cols)["Sales"].sum()
        assert len(nodes) == len(expected), level
        for r in nodes.itertuples(index=False):
            info = parse_node_id(r.node_id)
            member = tuple(info[{"Store": "store_id", "Product": "product_id", "Category": "category",
                                 "Region": "region"}[c]] for c in cols)
            got = store.series(r.node_id, url=url)["y"].sum()
            assert got == pytest.approx(expected.loc[member if len(cols) > 1 else member[0]]), (level, member)


# ----------------------------------------------------------------------------- URLs

@pytest.mark.parametrize("value", HOSTILE + ["%2C", "a, b", "x+y z"])
def test_keys_and_ids_round_trip_through_the_url(value):
    key = node_id(BOTTOM_LEVEL, store_id=value, product_id="P,1")
    search = ids.to_search({"node": key, "stores": [value, "2"], "region": value})
    query = _parse_query_string(search)  # what Dash's page router hands to layout(**query)
    assert ids.q_str(query, "node") == key
    assert ids.q_list(query, "stores") == [value, "2"]
    assert ids.q_str(query, "region") == value


def test_plain_urls_are_unchanged():
    assert ids.to_search({"node": "store=3/product=P001", "stores": ["1", "2"]}) == \
        "?node=store=3/product=P001&stores=1,2"


def test_explore_drill_down_keeps_hostile_ids(hostile_db):
    from callbacks import explore as cb
    key = node_id("store", store_id="1/product=B")
    assert cb.drill_to(key, None, [], None, []) == (None, ["1/product=B"], None, [])
    assert cb.drill_to(node_id("region", region="a&b#c?d"), None, [], None, [])[0] == "a&b#c?d"


# ----------------------------------------------------------------------------- id limits

def _write(path: Path, store_ids: list[str]) -> Path:
    lines = ["Store,Date,Sales"] + [f'"{s}",2024-01-0{i + 1},5' for i, s in enumerate(store_ids)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def loaded_db(tmp_db, tmp_path):
    ingest.ingest_csv(_write(tmp_path / "ok.csv", ["1", "2"]), "date=Date,sales=Sales,store=Store", url=tmp_db)
    return tmp_db


@pytest.mark.parametrize("bad, problem", [
    ("x" * (MAX_ID_LENGTH + 1), f"store id longer than {MAX_ID_LENGTH} characters"),
    ("x" * 1_000_000, f"store id longer than {MAX_ID_LENGTH} characters"),
    ("a\x07b", "store id holds a control character"),
    ("a\x1bb", "store id holds a control character"),
])
def test_long_or_control_ids_are_refused_with_line_and_column(bad, problem, loaded_db, tmp_path):
    before = _file_state(loaded_db)
    path = _write(tmp_path / "bad.csv", ["1", "2", bad, "3"])
    with pytest.raises(ingest.IngestError) as err:
        ingest.ingest_csv(path, "date=Date,sales=Sales,store=Store", url=loaded_db)
    msg = str(err.value)
    assert msg.startswith(f"{path}: line 4, column 'Store': {problem}")
    assert len(msg) < 400  # the message quotes the start of the id, never a megabyte of it
    assert _file_state(loaded_db) == before


def test_nul_in_an_id_is_refused(loaded_db, tmp_path):
    """A NUL makes a CSV binary (refused as such); in Parquet the id itself is refused, naming line and column."""
    before = _file_state(loaded_db)
    with pytest.raises(ingest.IngestError, match="binary"):
        ingest.ingest_csv(_write(tmp_path / "nul.csv", ["1", "a\x00b"]), "date=Date,sales=Sales,store=Store",
                          url=loaded_db)
    path = tmp_path / "nul.parquet"
    pd.DataFrame({"Store": ["1", "a\x00b"], "Date": ["2024-01-01", "2024-01-02"], "Sales": [5.0, 6.0]}).to_parquet(path)
    with pytest.raises(ingest.IngestError, match=r"row 2, column 'Store': store id holds a control character"):
        ingest.ingest_csv(path, "date=Date,sales=Sales,store=Store", url=loaded_db)
    assert _file_state(loaded_db) == before


def test_newline_inside_a_quoted_id_is_refused(loaded_db, tmp_path):
    path = tmp_path / "nl.csv"
    path.write_text('Store,Date,Sales\n"1",2024-01-01,5\n"a\nb",2024-01-02,5\n')
    with pytest.raises(ingest.IngestError, match=r"column 'Store': store id holds a control character"):
        ingest.ingest_csv(path, "date=Date,sales=Sales,store=Store", url=loaded_db)


def test_long_category_and_region_are_refused(tmp_db, tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("Store,Date,Sales,Category\n1,2024-01-01,5,ok\n1,2024-01-02,5," + "c" * 201 + "\n")
    with pytest.raises(ingest.IngestError, match=r"line 3, column 'Category': category id longer than 200"):
        ingest.ingest_csv(path, "date=Date,sales=Sales,store=Store,category=Category", url=tmp_db)


def test_an_id_of_exactly_the_limit_is_accepted(tmp_db, tmp_path):
    ingest.ingest_csv(_write(tmp_path / "ok.csv", ["s" * MAX_ID_LENGTH, "2"]), "date=Date,sales=Sales,store=Store",
                      url=tmp_db)
    assert "s" * MAX_ID_LENGTH in set(store.stores(tmp_db)["store_id"])


def test_cli_refuses_a_long_id_with_exit_code_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SALES_DB", str(tmp_path / "cli.db"))
    path = _write(tmp_path / "long.csv", ["1", "y" * 201])
    code = cli.main(["ingest", "csv", str(path), "--map", "date=Date,sales=Sales,store=Store",
                     "--db", str(tmp_path / "cli.db")])
    err = capsys.readouterr().err
    assert code == 2 and "line 3, column 'Store': store id longer than 200" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- formula injection

CELLS = [FORMULA, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "plain", "", "a=b", " =leading space", "'quoted"]


@pytest.mark.parametrize("cell", CELLS)
def test_neutralise_prefixes_formula_text_only(cell):
    out = neutralise(cell)
    assert out == ("'" + cell if cell[:1] in FORMULA_PREFIXES and cell else cell)
    assert neutralise(-5) == -5 and neutralise(-5.5) == -5.5 and neutralise(None) is None


def test_csv_safe_keeps_numbers_and_stored_frame():
    df = pd.DataFrame({"series_id": [FORMULA, "store=1"], "y": [-5.0, 3.0], "n": [-5, 1],
                       "ds": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                       "s": pd.Series(["-x", None], dtype="string")})
    out = csv_safe(df)
    assert list(out["series_id"]) == ["'" + FORMULA, "store=1"]
    assert out["y"].tolist() == [-5.0, 3.0] and out["n"].tolist() == [-5, 1] and out["ds"].equals(df["ds"])
    assert out["s"].iloc[0] == "'-x" and pd.isna(out["s"].iloc[1])
    assert df["series_id"].iloc[0] == FORMULA  # the caller's frame is not changed
    text = out.to_csv(index=False)
    assert "-5.0" in text and "\n'=cmd" in text


def test_forecast_download_neutralises_text_cells(small_demo_db, monkeypatch):
    from callbacks import forecast as cb
    fake = pd.DataFrame({"series_id": [FORMULA, "@x"], "ds": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                         "yhat": [-5.0, 2.0], "yhat_lo_80": [-6.0, 1.0], "yhat_hi_80": [-4.0, 3.0],
                         "yhat_lo_95": [-7.0, 0.0], "yhat_hi_95": [-3.0, 4.0]})
    monkeypatch.setattr(store, "forecast", lambda *a, **k: fake)
    out = cb.download_fcst_csv(1, "total", "=HYPERLINK(\"http://x\")")
    content = out["content"] if not out.get("base64") else base64.b64decode(out["content"]).decode()
    df = pd.read_csv(StringIO(content))
    assert df["series_id"].tolist() == ["'" + FORMULA, "'@x"]
    assert df["model"].iloc[0].startswith("'=HYPERLINK")
    assert df["yhat"].tolist() == [-5.0, 2.0]  # numbers stay numbers


def test_run_artifacts_csv_neutralises_text_cells(tmp_path, monkeypatch):
    from jobs import artifacts
    monkeypatch.setattr(artifacts, "run_dir", lambda run_id: tmp_path / run_id)
    sel = pd.DataFrame({"series_id": [FORMULA], "model": ["ets"], "metric": ["wape"], "score": [-0.5]})
    out = artifacts.save_run("r1", {}, sel)
    df = pd.read_csv(out / "selections.csv")
    assert df["series_id"].iloc[0] == "'" + FORMULA and df["score"].iloc[0] == -0.5


NODE_CHECK = """
require(process.argv[1]);
const f = window.dashAgGridFunctions.neutraliseCsvCell;
const cells = JSON.parse(process.argv[2]);
const fmt = v => v === null ? null : 'fmt(' + v + ')';
const out = cells.map(v => f({value: v, formatValue: fmt}));
out.push(f({value: -5, formatValue: fmt}), f({value: -5, formatValue: v => v}), f({value: null, formatValue: v => v}));
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_grid_export_function_applies_the_same_rule():
    """assets/dashAgGridFunctions.js (the Explore table's CSV export) agrees with data.exports.neutralise."""
    import json
    js = ROOT / "assets" / "dashAgGridFunctions.js"
    script = "global.window = {};\n" + NODE_CHECK
    res = subprocess.run(["node", "-e", script, str(js), json.dumps(CELLS)], capture_output=True, text=True,
                         timeout=60, check=True)
    out = json.loads(res.stdout)
    assert out[:len(CELLS)] == [neutralise(c) for c in CELLS]
    assert out[len(CELLS):] == ["fmt(-5)", -5, None]


def test_explore_grid_export_uses_the_function(small_demo_db):
    from tests.dash_helpers import page_layout
    page = page_layout("/explore")()
    grids = [c for c in _walk(page) if getattr(c, "id", None) == ids.Explore.GRID]
    assert grids[0].csvExportParams["processCellCallback"] == {"function": "neutraliseCsvCell(params)"}


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


CAPTURE_CSV = """window.__csv = null;
const orig = URL.createObjectURL;
URL.createObjectURL = function (blob) { blob.text().then(t => { window.__csv = t; }); return orig.call(URL, blob); };"""


@pytest.mark.browser
def test_explore_table_export_in_the_browser(dash_duo, hostile_db):
    """The Explore summary table's CSV export (ag-grid, in the browser) neutralises the formula-looking region
    names and keeps the numbers."""
    from app import create_app
    from tests.dash_helpers import wait_until
    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(url=dash_duo.server_url + "/explore")
    # The summary grid sits below the charts and the demand panel: scroll to it as a user would (ag-grid renders
    # the rows of a grid outside the viewport lazily, so its text is not there until it is seen).
    grid = dash_duo.wait_for_element(f"#{ids.Explore.GRID}", timeout=30)  # the page renders late on a busy machine
    dash_duo.driver.execute_script("arguments[0].scrollIntoView();", grid)
    dash_duo.wait_for_contains_text(f"#{ids.Explore.GRID}", "cmd|", timeout=30)
    dash_duo.driver.execute_script(CAPTURE_CSV)
    button = dash_duo.find_element(f"#{ids.Explore.EXPORT}")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", button)
    text = wait_until(lambda: dash_duo.driver.execute_script("return window.__csv;"), message="CSV exported")
    rows = pd.read_csv(StringIO(text))
    labels = set(rows["Node"])
    assert "'" + FORMULA in labels and "'-5" in labels and "North" in labels and FORMULA not in labels
    assert "a=b" in labels  # "=" inside a value is harmless and left alone
    sales = rows.set_index("Node")["Sales"]
    assert sales.map(lambda v: str(v).replace(",", "").replace(".", "").isdigit()).all()  # numbers stay numbers
