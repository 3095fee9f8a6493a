"""Item 8 of issue 12: two imports started at once into the same (even new) database.

Two ``cli.py ingest csv`` processes, one daily and one weekly file, are started together against one new
database, several times. Exactly one may succeed (the other is refused with the one-line frequency message,
exit code 2, no traceback), and the database holds one frequency only. Two daily imports started together both
succeed.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 4


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    days = pd.date_range("2023-01-02", periods=120, freq="D")
    weeks = pd.date_range("2023-01-02", periods=40, freq="W-MON")
    rows = [{"Store": s, "Date": d.date(), "Sales": 10.0 + i % 7} for s in (1, 2, 3) for i, d in enumerate(days)]
    daily = tmp_path / "daily.csv"
    pd.DataFrame(rows).to_csv(daily, index=False)
    daily2 = tmp_path / "daily2.csv"
    pd.DataFrame([{**r, "Store": r["Store"] + 10} for r in rows]).to_csv(daily2, index=False)
    weekly = tmp_path / "weekly.csv"
    pd.DataFrame([{"Store": s, "Date": d.date(), "Sales": 70.0 + i % 5} for s in (1, 2, 4)
                  for i, d in enumerate(weeks)]).to_csv(weekly, index=False)
    return daily, daily2, weekly


def _start(path: Path, db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "ingest", "csv", str(path), "--db", str(db),
                             "--map", "date=Date,sales=Sales,store=Store", "--json"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _race(db: Path, *files: Path) -> list[tuple[int, str]]:
    procs = [_start(f, db) for f in files]
    out = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        out.append((p.returncode, err))
    return out


def _frequencies(db: Path) -> tuple[set[str], int]:
    with sqlite3.connect(db) as conn:
        freqs = {r[0] for r in conn.execute("SELECT frequency FROM datasets")}
        n = conn.execute("SELECT count(*) FROM sales").fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return freqs, n


@pytest.mark.slow
def test_daily_and_weekly_imports_started_together_never_mix(tmp_path):
    daily, _, weekly = _files(tmp_path)
    for i in range(ROUNDS):
        db = tmp_path / f"race{i}.db"
        results = _race(db, daily, weekly) if i % 2 == 0 else _race(db, weekly, daily)
        codes = sorted(code for code, _ in results)
        for code, err in results:
            assert "Traceback" not in err, err
        assert codes == [0, 2], results
        refused = next(err for code, err in results if code == 2)
        assert refused.startswith("error: ") and "frequency mismatch" in refused and refused.count("\n") == 1, refused
        freqs, n = _frequencies(db)
        assert len(freqs) == 1 and n == (360 if freqs == {"D"} else 120), (freqs, n)


@pytest.mark.slow
def test_two_daily_imports_started_together_both_succeed(tmp_path):
    daily, daily2, _ = _files(tmp_path)
    db = tmp_path / "both.db"
    results = _race(db, daily, daily2)
    assert [code for code, _ in results] == [0, 0], results
    assert all("Traceback" not in err for _, err in results)
    freqs, n = _frequencies(db)
    assert freqs == {"D"} and n == 720


def test_an_import_that_cannot_get_the_write_lock_gets_a_message(tmp_path):
    """Another writer holds the database past the busy timeout: a one-line IngestError, not a traceback."""
    from data import guards, ingest, store
    daily, _, _ = _files(tmp_path)
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    ingest.ingest_csv(daily, "date=Date,sales=Sales,store=Store", url=url)
    holder = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with store.session_scope(url=url) as session:
            session.connection().exec_driver_sql("PRAGMA busy_timeout=100")
            with pytest.raises(guards.WriteLockTimeout, match="another import or refresh is writing"):
                guards.lock_for_import(session)
            session.connection().exec_driver_sql("PRAGMA busy_timeout=30000")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
