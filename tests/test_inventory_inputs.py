"""Inventory inputs (issue 14 §1): grain expansion, settings defaults, page edits, `ingest inventory` and its
bad inputs (exit 2, one line naming file, line and column, database byte-identical)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

import cli
from data import ingest_inventory, inventory, store
from domain import INVENTORY_PARAM_FIELDS
from tests.pg_cluster import content_digest

MAP = ("store=Store,product=Item,on_hand=OnHand,lead_time=LeadTime,case_pack=Pack,target_csl=CSL,"
       "on_order_qty=OnOrder,arrival_date=Arrival")
HEAD = "Store,Item,OnHand,LeadTime,Pack,CSL,OnOrder,Arrival"


def params_of(url, store_id, product_id) -> dict:
    df = store.inventory_params(url)
    return df[(df["store_id"] == store_id) & (df["product_id"] == product_id)].iloc[0].to_dict()


def file_state(url: str) -> tuple:
    """Hashes of the database and its WAL after closing the pooled connections (which checkpoints the WAL); on
    PostgreSQL the hash of every table's rows and every sequence (tests/pg_cluster.py)."""
    if not url.startswith("sqlite:///"):
        return (content_digest(url),)
    db = Path(url.removeprefix("sqlite:///"))
    store.get_engine(url).dispose()
    wal = db.with_name(db.name + "-wal")
    return (hashlib.sha256(db.read_bytes()).hexdigest(),
            hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() and wal.stat().st_size else None)


def write_csv(tmp_path: Path, *lines: str, head: str = HEAD, name: str = "inv.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([head, *lines]) + "\n")
    return path


# ----------------------------------------------------------------------------- expansion and defaults

def test_every_bottom_series_gets_settings_and_neutral_values_without_inputs(small_demo_db):
    df = store.inventory_params(small_demo_db)
    assert len(df) == 12 and list(df.columns[:2]) == ["store_id", "product_id"]
    assert set(INVENTORY_PARAM_FIELDS) <= set(df.columns)
    row = df.iloc[0]
    assert (row["lead_time_days"], row["review_period_days"], row["target_csl"], row["holding_rate"]) == \
        (7.0, 7.0, 0.95, 0.25)
    assert (row["on_hand"], row["lead_time_sd_days"], row["moq"], row["case_pack"]) == (0.0, 0.0, 0.0, 1.0)
    assert pd.isna(row["unit_cost"]) and pd.isna(row["shelf_life_days"]) and not row["on_hand_given"]


def test_settings_change_the_defaults(small_demo_db, monkeypatch):
    monkeypatch.setenv("SALES_INVENTORY_LEAD_TIME_DAYS", "3")
    monkeypatch.setenv("SALES_INVENTORY_TARGET_CSL", "0.9")
    row = params_of(small_demo_db, "02", "P002")
    assert row["lead_time_days"] == 3.0 and row["target_csl"] == 0.9


@pytest.mark.parametrize("name, value, fragment", [
    ("SALES_INVENTORY_TARGET_CSL", "95", "must be in (0, 1)"), ("SALES_INVENTORY_REVIEW_DAYS", "0", "(0, inf)"),
    ("SALES_INVENTORY_LEAD_TIME_DAYS", "-1", "[0, inf]"), ("SALES_INVENTORY_HOLDING_RATE", "a lot", "not a number"),
])
def test_bad_settings_are_refused_with_the_variable_named(monkeypatch, name, value, fragment):
    import config
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as err:
        config.load()
    assert name in str(err.value) and fragment in str(err.value)


@pytest.mark.backends("sqlite", "postgresql")
def test_the_most_specific_grain_wins_field_by_field(small_demo_db):
    url = small_demo_db
    store.upsert_inventory_params("*", "*", {"lead_time_days": 2, "case_pack": 2, "unit_cost": 1.0}, url=url)
    store.upsert_inventory_params("01", "*", {"lead_time_days": 4, "case_pack": 4, "on_hand": 10}, url=url)
    store.upsert_inventory_params("*", "P001", {"case_pack": 12, "unit_cost": 2.5}, url=url)
    store.upsert_inventory_params("01", "P001", {"on_hand": 3}, url=url)
    exact = params_of(url, "01", "P001")
    assert (exact["on_hand"], exact["case_pack"], exact["unit_cost"], exact["lead_time_days"]) == (3, 12, 2.5, 4)
    assert exact["on_hand_given"]
    store_default = params_of(url, "01", "P002")
    assert (store_default["on_hand"], store_default["case_pack"], store_default["unit_cost"]) == (10, 4, 1.0)
    product_default = params_of(url, "02", "P001")
    assert (product_default["case_pack"], product_default["lead_time_days"], product_default["on_hand"]) == (12, 2, 0)
    assert not product_default["on_hand_given"]
    everywhere = params_of(url, "03", "P004")
    assert (everywhere["case_pack"], everywhere["lead_time_days"], everywhere["target_csl"]) == (2, 2, 0.95)


# ----------------------------------------------------------------------------- edits

@pytest.mark.backends("sqlite", "postgresql")
def test_edits_clear_delete_and_change_the_data_version(small_demo_db):
    url = small_demo_db
    seen = [store.data_version(url)]
    store.upsert_inventory_params("01", "P001", {"on_hand": 5, "case_pack": 6}, url=url)
    seen.append(store.data_version(url))
    store.upsert_inventory_params("01", "P001", {"case_pack": None}, url=url)  # clear one field only
    row = params_of(url, "01", "P001")
    assert row["on_hand"] == 5 and row["case_pack"] == 1.0
    seen.append(store.data_version(url))
    assert store.set_on_order("01", "P001", [{"arrival_date": "2030-01-02", "quantity": 4},
                                             {"arrival_date": "2030-01-02", "quantity": 2},
                                             {"arrival_date": "2030-01-05", "quantity": 1}], url=url) == 2
    orders = store.on_order(url)
    assert orders["quantity"].tolist() == [6.0, 1.0]
    assert orders["arrival_date"].dt.strftime("%Y-%m-%d").tolist() == ["2030-01-02", "2030-01-05"]
    seen.append(store.data_version(url))
    assert store.delete_inventory_params("01", "P001", url=url) == 1
    assert params_of(url, "01", "P001")["on_hand"] == 0.0
    seen.append(store.data_version(url))
    assert store.delete_on_order("01", "P001", url=url) == 2 and store.on_order(url).empty
    seen.append(store.data_version(url))
    assert all(a != b for a, b in zip(seen, seen[1:]))  # (the last state, no inputs, is the first one again)


@pytest.mark.parametrize("keys, values, fragment", [
    (("01", "P001"), {"on_hand": -1}, "on_hand: must be ≥ 0"),
    (("01", "P001"), {"lead_time_days": -2}, "lead_time_days: must be ≥ 0"),
    (("01", "P001"), {"case_pack": 0}, "case_pack: must be > 0"),
    (("01", "P001"), {"target_csl": 95}, "target_csl: must be between 0 and 1"),
    (("01", "P001"), {"target_fill_rate": 1}, "target_fill_rate: must be between 0 and 1"),
    (("01", "P001"), {"target_csl": 0}, "target_csl: must be between 0 and 1"),
    (("01", "P001"), {"review_period_days": 0}, "review_period_days: must be > 0"),
    (("01", "P001"), {"on_hand": "ten"}, "on_hand: not a number"),
    (("01", "P001"), {"on_hand": float("inf")}, "on_hand: must be"),
    (("01", "P001"), {"colour": 1}, "colour: unknown input"),
    (("01", "P001"), {}, "nothing to set"),
    (("99", "P001"), {"on_hand": 1}, "store '99': unknown store"),
    (("01", "X"), {"on_hand": 1}, "product 'X': unknown product"),
])
def test_bad_edits_are_refused_and_write_nothing(small_demo_db, keys, values, fragment):
    db = small_demo_db
    before = file_state(db)
    with pytest.raises(store.InventoryInputError) as err:
        store.upsert_inventory_params(*keys, values, url=small_demo_db)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert file_state(db) == before


@pytest.mark.parametrize("keys, orders, fragment", [
    (("*", "P001"), [{"arrival_date": "2030-01-02", "quantity": 1}], "unknown store"),
    (("01", "P001"), [{"arrival_date": "someday", "quantity": 1}], "arrival_date"),
    (("01", "P001"), [{"arrival_date": "2030-01-02", "quantity": 0}], "quantity: must be > 0"),
])
@pytest.mark.backends("sqlite", "postgresql")
def test_bad_open_orders_are_refused(small_demo_db, keys, orders, fragment):
    db = small_demo_db
    before = file_state(db)
    with pytest.raises(store.InventoryInputError, match=fragment):
        store.set_on_order(*keys, orders, url=small_demo_db)
    assert file_state(db) == before


def test_edits_without_sales_data_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    with pytest.raises(store.InventoryInputError, match="import sales first"):
        store.upsert_inventory_params("*", "*", {"on_hand": 1}, url=url)
    assert not (tmp_path / "none.db").exists() or store.inventory_params(url).empty


# ----------------------------------------------------------------------------- the import

@pytest.mark.backends("sqlite", "postgresql")
def test_import_writes_grains_orders_and_keeps_blank_inputs(small_demo_db, tmp_path, capsys):
    path = write_csv(tmp_path, "01,P001,12,3,6,0.95,10,2030-12-05", "01,P001,12,3,6,0.95,5,2030-12-08",
                     "01,P002,4,2,1,,,", "*,P003,,,12,,,", "02,*,,5,,0.9,,")
    code = cli.main(["ingest", "inventory", str(path), "--map", MAP, "--db", small_demo_db, "--json"])
    out = capsys.readouterr().out
    assert code == 0 and '"orders": 2' in out
    url = small_demo_db
    a = params_of(url, "01", "P001")
    assert (a["on_hand"], a["lead_time_days"], a["case_pack"], a["target_csl"]) == (12, 3, 6, 0.95)
    assert params_of(url, "03", "P003")["case_pack"] == 12
    b = params_of(url, "02", "P004")
    assert (b["lead_time_days"], b["target_csl"]) == (5, 0.9)
    assert store.on_order(url)["quantity"].tolist() == [10.0, 5.0]

    # Second file: weeks, a blank on-hand keeps the stored one, 01/P001's order book is replaced.
    path2 = write_csv(tmp_path, "01,P001,,1,,,7,2030-12-20", name="inv2.csv")
    assert cli.main(["ingest", "inventory", str(path2), "--map", MAP, "--unit", "weeks", "--db", url]) == 0
    a = params_of(url, "01", "P001")
    assert (a["on_hand"], a["lead_time_days"], a["case_pack"]) == (12, 7, 6)
    orders = store.on_order(url)
    assert orders["quantity"].tolist() == [7.0]


@pytest.mark.backends("sqlite", "postgresql")
def test_dry_run_writes_nothing_and_parquet_is_read(small_demo_db, tmp_path):
    db = small_demo_db
    path = tmp_path / "inv.parquet"
    pd.DataFrame({"s": ["01", "02"], "p": ["P001", "P002"], "oh": [3.0, 4.0]}).to_parquet(path)
    before = file_state(db)
    summary = ingest_inventory.ingest_inventory(path, "store=s,product=p,on_hand=oh", dry_run=True, url=small_demo_db)
    assert summary["dry_run"] and summary["param_rows"] == 2 and file_state(db) == before
    ingest_inventory.ingest_inventory(path, "store=s,product=p,on_hand=oh", url=small_demo_db)
    assert params_of(small_demo_db, "02", "P002")["on_hand"] == 4.0


GOOD = "01,P001,12,3,6,0.95,10,2030-12-05"
BAD_CASES = {
    "unknown_store": (["99,P001,1,3,6,0.95,,"], "line 2, column 'Store': unknown store"),
    "unknown_product": ([GOOD, "01,NOPE,1,3,6,0.95,,"], "line 3, column 'Item': unknown product"),
    "negative_on_hand": ([GOOD, "01,P002,-4,3,6,0.95,,"], "line 3, column 'OnHand': must be ≥ 0"),
    "negative_lead_time": (["01,P002,4,-3,6,0.95,,"], "line 2, column 'LeadTime': must be ≥ 0"),
    "case_pack_zero": (["01,P002,4,3,0,0.95,,"], "line 2, column 'Pack': must be > 0"),
    "csl_percent": (["01,P002,4,3,6,95,,"], "line 2, column 'CSL': must be between 0 and 1"),
    "csl_one": (["01,P002,4,3,6,1,,"], "line 2, column 'CSL': must be between 0 and 1"),
    "csl_zero": (["01,P002,4,3,6,0,,"], "line 2, column 'CSL': must be between 0 and 1"),
    "on_hand_text": (["01,P002,lots,3,6,0.9,,"], "line 2, column 'OnHand': not a number"),
    "lead_time_text": (["01,P002,4,a week,6,0.9,,"], "line 2, column 'LeadTime': not a number"),
    "on_hand_inf": (["01,P002,inf,3,6,0.9,,"], "line 2, column 'OnHand'"),
    "missing_store": ([",P002,4,3,6,0.9,,"], "line 2, column 'Store': missing store id"),
    "order_without_date": (["01,P002,4,3,6,0.9,5,"], "line 2, column 'Arrival': an on-order quantity needs"),
    "date_without_order": (["01,P002,4,3,6,0.9,,2030-01-01"], "line 2, column 'OnOrder': an arrival date needs"),
    "order_at_star": (["*,P002,4,3,6,0.9,5,2030-01-01"], "line 2, column 'Store': an open order belongs to one"),
    "order_zero": (["01,P002,4,3,6,0.9,0,2030-01-01"], "line 2, column 'OnOrder': must be > 0"),
    "bad_arrival": (["01,P002,4,3,6,0.9,5,soon"], "line 2, column 'Arrival': missing, unparseable"),
    "conflicting_lines": ([GOOD, "01,P001,13,3,6,0.95,5,2030-12-06"],
                          "line 3, column 'OnHand': store '01', product 'P001' has two values 12 (line 2) and 13"),
}


@pytest.mark.parametrize("name", list(BAD_CASES))
def test_bad_input_is_refused_with_one_line_and_nothing_written(name, small_demo_db, tmp_path, capsys):
    lines, fragment = BAD_CASES[name]
    db = small_demo_db
    store.upsert_inventory_params("01", "P001", {"on_hand": 1}, url=small_demo_db)  # a stored state to keep
    path = write_csv(tmp_path, *lines)
    before = file_state(db)
    code = cli.main(["ingest", "inventory", str(path), "--map", MAP, "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in out + err
    assert err.startswith(f"error: {path}: ") and err.count("\n") == 1, err
    assert fragment in err, err
    assert file_state(db) == before


@pytest.mark.parametrize("mapping, fragment", [
    ("store=Store,product=Item", "map at least one input"),
    ("store=Store,on_hand=OnHand", "product are not mapped"),
    ("store=Store,product=Item,on_order_qty=OnOrder", "on_order_qty and arrival_date go together"),
    ("store=Store,product=Item,colour=OnHand", "unknown field"),
    ("store=Store,product=Item,on_hand=Stock", "column 'Stock': mapped column not found"),
])
def test_bad_mappings_are_refused(small_demo_db, tmp_path, capsys, mapping, fragment):
    path = write_csv(tmp_path, GOOD)
    assert cli.main(["ingest", "inventory", str(path), "--map", mapping, "--db", small_demo_db]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1, err


def test_import_into_a_database_without_sales_creates_nothing(tmp_path, capsys):
    path = write_csv(tmp_path, GOOD)
    db = tmp_path / "empty.db"
    assert cli.main(["ingest", "inventory", str(path), "--map", MAP, "--db", str(db)]) == 2
    assert "import the sales first" in capsys.readouterr().err
    assert not db.exists()


def test_the_rules_table_covers_every_field():
    assert set(INVENTORY_PARAM_FIELDS) | {"quantity"} == set(inventory.RULES)
    assert set(inventory.defaults()) <= set(INVENTORY_PARAM_FIELDS)


def test_the_database_is_copied_per_test(small_demo_master, tmp_path):
    """Guard for the fixtures above: the master copy never holds inventory inputs."""
    copy = tmp_path / "m.db"
    shutil.copy(small_demo_master, copy)
    assert store.inventory_params(f"sqlite:///{copy}")["on_hand_given"].sum() == 0
