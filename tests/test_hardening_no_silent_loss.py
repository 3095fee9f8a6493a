"""Item 7 of issue 12: no silent loss.

`cli.py demo` refuses (exit 2, one line naming what would be lost, database byte-identical) to replace imported
data unless --force; `cli.py setup-demo` (what `make run` calls) still creates the demo on a fresh machine and
never replaces imported data; a re-import that changes stored facts says how many (``rows_changed``).
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from data import demo, ingest, store

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "tests" / "data" / "shop_daily.csv"
SHOP_MAP = "date=Date,sales=Sales,store=Store,promo=Promo,holiday=StateHoliday,open=Open"
SMALL = ["--stores", "2", "--products", "2", "--years", "1"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _digest(path: Path) -> str:
    return "".join(hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.parent.glob(path.name + "*")))


def _imported(tmp_path: Path) -> Path:
    db = tmp_path / "imported.db"
    ingest.ingest_csv(SHOP, SHOP_MAP, dataset_name="shop sales", url=f"sqlite:///{db}")
    store.get_engine(f"sqlite:///{db}").dispose()  # checkpoint the WAL so the file is settled
    return db


@pytest.mark.slow
def test_demo_refuses_to_replace_imported_data_and_says_what_would_be_lost(tmp_path):
    db = _imported(tmp_path)
    before = _digest(db)
    r = _cli("demo", "--db", str(db), *SMALL)
    assert r.returncode == 2, r
    assert "Traceback" not in r.stderr and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "'shop sales' (14 rows" in r.stderr and "14 fact rows in 2 series" in r.stderr and "--force" in r.stderr
    assert _digest(db) == before
    forced = _cli("demo", "--db", str(db), *SMALL, "--force")
    assert forced.returncode == 0, forced.stderr
    url = f"sqlite:///{db}"
    assert store.dataset_name(url) == "demo" and store.counts(url)["series"] == 4
    # Demo data only (the import is gone): generating the demo again needs no --force.
    assert _cli("demo", "--db", str(db), *SMALL).returncode == 0


def test_demo_on_a_new_or_demo_database_needs_no_force(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert cli.main(["demo", "--db", url, *SMALL, "--json"]) == 0
    assert cli.main(["demo", "--db", url, *SMALL, "--json", "--seed", "3"]) == 0
    # An import on top of the demo data is imported data: refused without --force.
    ingest.ingest_csv(SHOP, SHOP_MAP, url=url)
    assert cli.main(["demo", "--db", url, *SMALL, "--json"]) == 2


@pytest.fixture
def quick_setup(monkeypatch):
    """setup-demo without the refresh, effects and inventory (the parts under test are the demo step and its
    guard)."""
    from jobs import effects_job, inventory_job, runner
    real = demo.generate
    monkeypatch.setattr(demo, "generate", lambda **kw: real(**{**kw, "n_stores": 2, "n_products": 2, "years": 1}))
    monkeypatch.setattr(runner, "has_current_run", lambda url=None: True)
    monkeypatch.setattr(effects_job, "run_effects", lambda **kw: None)
    monkeypatch.setattr(inventory_job, "run_inventory", lambda **kw: None)
    monkeypatch.setattr(store, "load_frame", lambda *a, **kw: None)


def test_setup_demo_creates_the_demo_on_a_fresh_machine(tmp_path, quick_setup, monkeypatch):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("SALES_DB", url)
    assert cli.main(["setup-demo", "--db", url]) == 0
    assert store.dataset_name(url) == "demo" and store.counts(url)["series"] == 4


def test_setup_demo_keeps_imported_data(tmp_path, quick_setup, monkeypatch):
    db = _imported(tmp_path)
    url = f"sqlite:///{db}"
    before = store.counts(url)
    monkeypatch.setenv("SALES_DB", url)
    assert cli.main(["setup-demo", "--db", url]) == 0
    assert store.counts(url) == before and store.dataset_name(url) == "shop sales"


def test_reimport_reports_the_facts_it_changed(tmp_path, tmp_db):
    first = ingest.ingest_csv(SHOP, SHOP_MAP, url=tmp_db)
    assert (first["rows_new"], first["rows_changed"]) == (14, 0)
    fix = tmp_path / "fix.csv"
    # Two stored facts corrected, one restated unchanged, one new date.
    fix.write_text("Store,Date,Sales,Promo,Open\n1,2023-01-07,155,0,1\n2,2023-01-06,85,0,1\n"
                   "2,2023-01-07,91,0,1\n1,2023-01-08,160,0,1\n")
    fix_map = "date=Date,sales=Sales,store=Store,promo=Promo,open=Open"
    dry = ingest.ingest_csv(fix, fix_map, url=tmp_db, dry_run=True)
    assert dry["rows_changed"] == 2 and "changed facts: 2" in ingest.format_summary(dry)
    assert "2 stored facts would change" in dry["message"]
    s = ingest.ingest_csv(fix, fix_map, url=tmp_db)
    assert (s["rows_written"], s["rows_new"], s["rows_changed"]) == (4, 1, 2)
    text = ingest.format_summary(s)
    assert "new facts: 1, changed facts: 2" in text
    # The same corrections again, in another file (another content hash): nothing changes any more.
    again = tmp_path / "again.csv"
    again.write_text(fix.read_text().replace("\n1,2023-01-08,160,0,1\n", "\n"))
    s2 = ingest.ingest_csv(again, fix_map, url=tmp_db)
    assert (s2["rows_new"], s2["rows_changed"]) == (0, 0)
