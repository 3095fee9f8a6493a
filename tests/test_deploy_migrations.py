"""Alembic migrations: a new database is at head, `cli.py db upgrade` upgrades a database made by the previous
release (commit 27d82b3) without losing a row, and the migrated schema equals data/schema.py.

The previous release's database is ``tests/data/release_27d82b3.db.gz``, made with that commit's own code
(``cli.py demo --stores 2 --products 2 --years 1`` and a ``refresh``); on PostgreSQL (``SALES_TEST_PG_URL``)
the same rows are loaded into tables created from the frozen copy of that release's schema
(``tests/data/schema_27d82b3.py``).
"""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "release_27d82b3.db.gz"
NEW_TABLES = {"users", "api_tokens", "audit_log", "sessions", "login_failures", "order_lines", "live_scores",
              "monitor_alerts"}
HEAD = "0004_monitoring"


def _previous_release_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "release_27d82b3.db"
    with gzip.open(FIXTURE) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return f"sqlite:///{path}"


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        counts = {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar() for t in names}
    engine.dispose()
    return counts


def _db(url: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, "cli.py", "db", *args, "--db", url, "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _previous_release_postgres(tmp_path: Path, url: str) -> str:
    """The fixture's rows in a fresh PostgreSQL database (``url``) created from the previous release's tables."""
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    import schema_27d82b3
    engine = create_engine(url)
    schema_27d82b3.Base.metadata.create_all(engine)
    source = create_engine(_previous_release_sqlite(tmp_path))
    with source.connect() as src, engine.begin() as dst:
        for table in schema_27d82b3.Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            if rows:
                dst.execute(table.insert(), rows)
        for table in ("datasets", "plan_log"):  # serial sequences continue after the copied ids
            dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"COALESCE((SELECT MAX(id) FROM {table}), 1))"))
    source.dispose()
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def previous_release(request, tmp_path):
    """The previous release's database: a SQLite file, or a fresh database of the tests' PostgreSQL server
    (`SALES_TEST_PG_URL` or the throwaway cluster of tests/pg_cluster.py), dropped afterwards."""
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        url = server.create_database()
        yield _previous_release_postgres(tmp_path, url)
        from data import store
        store.get_engine(url).dispose()
        server.drop_database(url)
        return
    yield _previous_release_sqlite(tmp_path)


def test_upgrade_of_the_previous_release_keeps_every_row(previous_release):
    url = previous_release
    before = _counts(url)
    assert not NEW_TABLES & set(before) and before["sales"] > 1000 and before["forecasts"] > 0
    assert _db(url, "current")["current"] is None  # made before migrations existed
    result = _db(url, "upgrade")
    assert result["from"] is None and result["to"] == result["head"] == HEAD
    assert set(result["tables_added"]) == NEW_TABLES
    after = _counts(url)
    assert {t: after[t] for t in before} == before  # no row lost, none added
    assert NEW_TABLES <= set(after) and "alembic_version" in after
    again = _db(url, "upgrade")  # a second upgrade is a no-op
    assert again["from"] == again["to"] == HEAD and again["tables_added"] == []
    assert _counts(url) == after


def test_upgraded_database_works_with_todays_code(tmp_path, monkeypatch):
    url = _previous_release_sqlite(tmp_path)
    _db(url, "upgrade")
    monkeypatch.setenv("SALES_DB", url)
    import auth
    from data import accounts, store
    auth.add_user("ana", "analyst", "correct horse battery")
    assert auth.authenticate("ana", "correct horse battery").role == "analyst"
    accounts.record_audit("cli:test", "refresh.start", {"run": "x"}, url=url)
    assert len(accounts.audit_log(10, url=url)) == 1
    assert store.current_run()["status"] == "success"
    store.get_engine(url).dispose()


def test_a_new_database_is_stamped_at_head(tmp_path):
    from data import migrate, store
    url = f"sqlite:///{tmp_path / 'new.db'}"
    store.init_db(url)
    assert migrate.current(store.get_engine(url)) == migrate.head()
    store.init_db(url)  # idempotent
    with store.get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1
    assert _db(url, "current")["at_head"] is True


def test_migrations_build_exactly_todays_schema(tmp_path):
    """The initial revision on an empty database gives the tables, columns and indexes of data/schema.py; a table
    added to the schema without a revision fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from data import schema
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    assert set(_db(url, "upgrade")["tables_added"]) == set(schema.Base.metadata.tables)
    engine = create_engine(url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), schema.Base.metadata)
    engine.dispose()
    assert diffs == []


def test_db_upgrade_text_output(tmp_path):
    url = _previous_release_sqlite(tmp_path)
    result = subprocess.run([sys.executable, "cli.py", "db", "upgrade", "--db", url], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    assert f"unversioned -> {HEAD}" in result.stdout and "users" in result.stdout


def test_store_reads_count_rows_the_same_after_upgrade(tmp_path):
    url = _previous_release_sqlite(tmp_path)
    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT SUM(sales) FROM sales")).scalar()
    engine.dispose()
    _db(url, "upgrade")
    from data import schema, store
    with store.get_engine(url).connect() as conn:
        assert conn.execute(select(func.sum(schema.Sale.__table__.c.sales))).scalar() == pytest.approx(total)
    store.get_engine(url).dispose()


def test_unreachable_database_is_one_line_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "cli.py", "db", "upgrade", "--db", str(tmp_path / "no" / "dir.db")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: sqlite:///") and "cannot open the database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
