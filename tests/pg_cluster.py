"""PostgreSQL for the tests: a server from ``SALES_TEST_PG_URL``, else a throwaway local cluster.

:func:`pg_server` returns a :class:`PgServer` (or a reason why there is none). A throwaway cluster is made with
the Debian binaries (``/usr/lib/postgresql/*/bin``): ``initdb`` into a temporary directory owned by the
``postgres`` user (run through ``runuser -u postgres`` when the tests run as root, since PostgreSQL refuses to
run as root), started on a free local port with its unix socket in that directory, and stopped by
:meth:`PgServer.stop`. Each test gets its own database (:meth:`PgServer.create_database`), dropped afterwards;
a database can be cloned from a template so a generated demo is written once per session.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ENV = "SALES_TEST_PG_URL"
HOW_TO = (f"PostgreSQL tests skipped: set {ENV}=postgresql+psycopg://user:pass@host/db (a role that may CREATE "
          "DATABASE) or install Debian's `postgresql` package (apt-get install postgresql) so the tests start a "
          "throwaway cluster")


@dataclass
class PgServer:
    """A reachable PostgreSQL server; ``base_url`` names a maintenance database the role may connect to."""

    base_url: str
    data_dir: str | None = None  # set when this process started the cluster
    bin_dir: str | None = None
    _names: list[str] = field(default_factory=list)

    def url_for(self, name: str) -> str:
        return make_url(self.base_url).set(database=name).render_as_string(hide_password=False)

    def _admin(self, *statements: str) -> None:
        engine = create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for stmt in statements:
                    conn.execute(text(stmt))
        finally:
            engine.dispose()

    def create_database(self, template: str | None = None, prefix: str = "sales_test") -> str:
        """A new empty database (or a copy of ``template``, which must have no open connection); its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self._names.append(name)
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url`` (closing whatever connection is still open to it)."""
        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._names:
            self._names.remove(name)

    def stop(self) -> None:
        """Drop what is left of this session's databases; stop and delete a cluster this process started."""
        if self.data_dir is None:
            for name in list(self._names):
                self.drop_database(self.url_for(name))
            return
        if not os.path.exists(self.data_dir):  # stopped already (stop runs at session end and at exit)
            return
        _as_postgres([os.path.join(self.bin_dir, "pg_ctl"), "-D", self.data_dir, "-m", "immediate", "-w", "stop"])
        shutil.rmtree(os.path.dirname(self.data_dir), ignore_errors=True)


def _bin_dir() -> str | None:
    """The newest Debian PostgreSQL bin directory with initdb and pg_ctl, if any."""
    found = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
             if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl"))]
    return sorted(found, key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)[-1] \
        if found else None


def _as_postgres(cmd: list[str]) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster() -> PgServer:
    """initdb + pg_ctl start a throwaway cluster on a free 127.0.0.1 port (trust auth, superuser ``postgres``)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb")
    root = tempfile.mkdtemp(prefix="sales-pg-")
    data_dir = os.path.join(root, "data")
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise RuntimeError("running as root and there is no postgres user") from exc
        os.chmod(root, 0o755)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    _as_postgres([os.path.join(bin_dir, "initdb"), "-D", data_dir, "-A", "trust", "-U", user, "-E", "UTF8",
                  "--no-sync"])
    port = _free_port()
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=200")
    _as_postgres([os.path.join(bin_dir, "pg_ctl"), "-D", data_dir, "-o", options, "-l",
                  os.path.join(data_dir, "pg.log"), "-w", "start"])
    server = PgServer(f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres", data_dir=data_dir, bin_dir=bin_dir)
    atexit.register(server.stop)  # also when a session ends without running its fixtures' teardown
    return server


def pg_server() -> tuple[PgServer | None, str]:
    """The server to test against and ``""``, or ``None`` and the reason the PostgreSQL tests are skipped."""
    url = os.environ.get(ENV)
    if url:
        server = PgServer(url)
        try:
            server._admin("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - reported as the skip reason
            return None, f"{ENV} is set but unreachable: {str(exc).splitlines()[0]}"
        return server, ""
    if _bin_dir() is None:
        return None, HOW_TO
    try:
        return start_cluster(), ""
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"{HOW_TO} (starting a local cluster failed: {detail.strip().splitlines()[-1:]})"


def content_digest(url: str) -> str:
    """A hash of everything a PostgreSQL database holds: its tables, every row of each (in primary-key order,
    hashed by the server) and each sequence's position. Equal digests before and after a refused write mean
    nothing changed: the PostgreSQL counterpart of comparing an SQLite file's bytes (the sequences catch a
    rolled-back insert that consumed ids)."""
    import hashlib

    from sqlalchemy import MetaData

    digest = hashlib.sha256()
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in sorted(meta.tables.values(), key=lambda t: t.name):
                order = ", ".join(f'"{c.name}"' for c in (table.primary_key.columns or table.columns))
                row_hash = conn.execute(text(f'SELECT count(*), md5(string_agg(t::text, chr(10) ORDER BY {order})) '
                                             f'FROM "{table.name}" t')).one()
                digest.update(f"{table.name} {[c.name for c in table.columns]} {tuple(row_hash)}\n".encode())
            seqs = conn.execute(text("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")).fetchall()
            digest.update(repr(seqs).encode())
    finally:
        engine.dispose()
    return digest.hexdigest()
