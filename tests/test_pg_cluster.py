"""The PostgreSQL test harness itself: where the server comes from and why the PostgreSQL tests skip."""
from __future__ import annotations

from tests import pg_cluster


def test_without_binaries_or_url_the_reason_names_both_ways(monkeypatch):
    monkeypatch.delenv(pg_cluster.ENV, raising=False)
    monkeypatch.setattr(pg_cluster, "_bin_dir", lambda: None)
    server, why = pg_cluster.pg_server()
    assert server is None
    assert "SALES_TEST_PG_URL" in why and "apt-get install postgresql" in why


def test_an_unreachable_url_is_reported_not_raised(monkeypatch):
    monkeypatch.setenv(pg_cluster.ENV, "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    server, why = pg_cluster.pg_server()
    assert server is None and why.startswith("SALES_TEST_PG_URL is set but unreachable")


def test_database_urls_keep_the_credentials():
    server = pg_cluster.PgServer("postgresql+psycopg://u:secret@db.example:5433/postgres")
    assert server.url_for("t1") == "postgresql+psycopg://u:secret@db.example:5433/t1"


def test_bare_postgresql_urls_get_the_installed_driver():
    """psycopg 3 is the installed driver; SQLAlchemy would pick psycopg2 for a bare postgresql:// URL."""
    from data import engine
    for url in ("postgresql://u:p@h/db", "postgres://u:p@h/db"):
        eng = engine.get_engine(url)
        assert eng.dialect.driver == "psycopg" and eng.url.database == "db"
