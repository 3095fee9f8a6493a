"""Schema migrations with Alembic (environment and revisions in ``data/migrations/``, configured here without an
alembic.ini): ``upgrade`` (``cli.py db upgrade``), ``current`` (``cli.py db current``) and ``stamp_new`` (a new
database made by ``init_db`` is stamped at head, so only older databases ever need an upgrade). Functions take
the engine (``store.get_engine(url)``): ``data.engine.init_db`` calls this module, so it cannot import that one."""
from __future__ import annotations

import threading
import time
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
# Alembic's `context`/`op` proxies are process-wide: two threads (e.g. two imports creating a new database) must not
# run its commands at once.
_ALEMBIC = threading.RLock()


def _config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    with _ALEMBIC:
        return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision of the code."""
    return _scripts().get_current_head()


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated, i.e. new or made before migrations existed)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def status(engine: Engine) -> dict:
    """``{"database", "current", "head", "at_head"}`` for ``cli.py db current``."""
    now, newest = current(engine), head()
    return {"database": engine.url.render_as_string(hide_password=True), "current": now, "head": newest,
            "at_head": now == newest}


def upgrade(engine: Engine, target: str = "head") -> dict:
    """Apply every pending revision (an unversioned database from an earlier release is adopted by the initial
    revision, which only adds the missing tables); returns ``{"database", "from", "to", "head", "tables_added"}``."""
    before_tables = set(inspect(engine).get_table_names())
    before = current(engine)
    with _ALEMBIC, engine.begin() as conn:
        command.upgrade(_config(conn), target)
    added = sorted(set(inspect(engine).get_table_names()) - before_tables - {VERSION_TABLE})
    return {"database": engine.url.render_as_string(hide_password=True), "from": before, "to": current(engine),
            "head": head(), "tables_added": added}


def stamp_new(engine: Engine) -> None:
    """Mark a database whose tables ``init_db`` has just created from the current schema as being at head. Two
    processes creating one new database at once both try: the loser's duplicate stamp is not an error."""
    for attempt in range(10):
        try:
            with _ALEMBIC, engine.begin() as conn:
                context = MigrationContext.configure(conn)
                if context.get_current_revision() is None:
                    context.stamp(_scripts(), "head")
            return
        except DBAPIError:  # the other process created the version table or wrote the row first
            if current(engine) == head():
                return
            if attempt == 9:
                raise
            time.sleep(0.1)


class MigrationError(ValueError):
    """The database cannot be migrated or read (one line: which database and why)."""


def cli_command(engine: Engine, action: str) -> tuple[dict, str]:
    """``cli.py db upgrade|current``: the JSON result and its one-line text; MigrationError when the database
    cannot be opened."""
    try:
        if action == "upgrade":
            result = upgrade(engine)
            text = f"{result['database']}: {result['from'] or 'unversioned'} -> {result['to']}" + (
                f" (added {', '.join(result['tables_added'])})" if result["tables_added"] else "")
        else:
            result = status(engine)
            text = f"{result['database']}: {result['current'] or 'unversioned'} (head {result['head']})"
    except OperationalError as exc:
        raise MigrationError(f"{engine.url.render_as_string(hide_password=True)}: cannot open the database: "
                             f"{str(exc.orig).splitlines()[0]}") from None
    return result, text
