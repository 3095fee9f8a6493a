"""Shared fixtures: temporary databases, the demo store (generated once per session), the Walmart data set."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# MLflow tracking (jobs/tracking.py) costs seconds per refresh: off for the suite unless the environment asks for it;
# tests/test_mlflow*.py turn it on against a temporary store.
os.environ.setdefault("SALES_MLFLOW", "off")


def shared_datasets_dir() -> Path:
    """`SALES_DATASETS`, else ../shared/datasets next to the repository."""
    return Path(os.environ.get("SALES_DATASETS") or ROOT.parent / "shared" / "datasets")


@pytest.fixture(scope="session")
def walmart_dir() -> Path:
    path = shared_datasets_dir() / "walmart"
    if not (path / "train.csv.gz").exists() and not (path / "train.csv").exists():
        pytest.skip(f"Walmart data set absent: looked in {path} (set SALES_DATASETS to the folder that holds "
                    "walmart/)")
    return path


@pytest.fixture(scope="session")
def walmart_db(walmart_dir, tmp_path_factory):
    """One real import of the Walmart files into a fresh database (about 30 s on 2 busy cores), shared by the
    import tests and the Walmart effects tests."""
    from data import ingest
    url = f"sqlite:///{tmp_path_factory.mktemp('walmart') / 'walmart.db'}"
    summary = ingest.ingest_walmart(walmart_dir, url=url)
    return url, summary


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_server():
    """PostgreSQL for the tests (`SALES_TEST_PG_URL`, else a throwaway local cluster; tests/pg_cluster.py)."""
    from tests import pg_cluster
    server, why = pg_cluster.pg_server()
    if server is None:
        pytest.skip(why)
    yield server
    server.stop()


@pytest.fixture
def backend(request) -> str:
    """The test's database back end: "sqlite", or each of @pytest.mark.backends(...)'s (see below);
    `SALES_TEST_BACKEND=postgresql` makes PostgreSQL the default of unmarked tests."""
    return getattr(request, "param", os.environ.get("SALES_TEST_BACKEND", "sqlite"))


def pytest_generate_tests(metafunc):
    """`@pytest.mark.backends("sqlite", "postgresql")` runs a test that uses `backend` (tmp_db, small_demo_db) once
    per back end; the closest marker wins, so a test can narrow its module's list."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", marker.args, indirect=True)


def _pg_db(request, monkeypatch, template: str | None = None):
    """A fresh PostgreSQL database for one test (a copy of `template` if given), set as SALES_DB, then dropped."""
    from data import store
    server = request.getfixturevalue("pg_server")
    url = server.create_database(template=template)
    monkeypatch.setenv("SALES_DB", url)
    yield url
    store.get_engine(url).dispose()
    server.drop_database(url)


@pytest.fixture
def tmp_db(tmp_path, monkeypatch, backend, request) -> str:
    """An empty database URL (SQLite, or PostgreSQL for backend "postgresql"), also set as SALES_DB."""
    if backend == "postgresql":
        yield from _pg_db(request, monkeypatch)
        return
    url = sqlite_url(tmp_path / "test.db")
    monkeypatch.setenv("SALES_DB", url)
    yield url


@pytest.fixture(scope="session")
def demo_db_master(tmp_path_factory) -> Path:
    """The default demo data (seed 42, 10 stores x 20 products x 3 years), generated once per session."""
    from data import demo
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    demo.generate(seed=42, url=sqlite_url(path), progress=False)
    return path


@pytest.fixture
def demo_db(demo_db_master, tmp_path, monkeypatch) -> str:
    """A private copy of the default demo database (tests may write to it); set as SALES_DB."""
    from data import store
    store.get_engine(sqlite_url(demo_db_master)).dispose()  # flush WAL into the main file before copying
    path = tmp_path / "demo.db"
    shutil.copy(demo_db_master, path)
    url = sqlite_url(path)
    monkeypatch.setenv("SALES_DB", url)
    return url


@pytest.fixture(scope="session")
def small_demo_master(tmp_path_factory) -> Path:
    """A small, fast demo (3 stores x 4 products x 2 years) for model and dashboard tests."""
    from data import demo
    path = tmp_path_factory.mktemp("small") / "small.db"
    demo.generate(seed=7, n_stores=3, n_products=4, years=2, url=sqlite_url(path), progress=False)
    return path


@pytest.fixture(scope="session")
def small_demo_pg_master(pg_server) -> str:
    """The small demo generated once into a PostgreSQL database, the template of each test's copy."""
    from data import demo, store
    url = pg_server.create_database(prefix="sales_small_master")
    demo.generate(seed=7, n_stores=3, n_products=4, years=2, url=url, progress=False)
    store.get_engine(url).dispose()  # a template must have no open connection
    return url


@pytest.fixture
def small_demo_db(small_demo_master, tmp_path, monkeypatch, backend, request) -> str:
    """A private copy of the small demo (tests may write to it), set as SALES_DB."""
    from data import store
    if backend == "postgresql":
        from sqlalchemy.engine import make_url
        master = request.getfixturevalue("small_demo_pg_master")
        yield from _pg_db(request, monkeypatch, template=make_url(master).database)
        return
    store.get_engine(sqlite_url(small_demo_master)).dispose()
    path = tmp_path / "small.db"
    shutil.copy(small_demo_master, path)
    url = sqlite_url(path)
    monkeypatch.setenv("SALES_DB", url)
    yield url


def pytest_setup_options():
    """Selenium options for dash[testing]: Debian's headless Chromium, kept off the network."""
    from selenium.webdriver.chrome.options import Options
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--window-size=1280,1000",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    return options


def pytest_collection_modifyitems(config, items):
    """Skip browser tests with a clear reason when Chromium or its driver is missing."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    skip = pytest.mark.skip(reason="browser test: /usr/bin/chromium and chromedriver not installed "
                                   "(apt-get install chromium chromium-driver)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def clear_plan(url: str) -> None:
    """Empty the plan and its change log (the demo plans its promotions; some tests start from no plan)."""
    from sqlalchemy import delete

    from data import schema, store
    store.init_db(url)
    with store.session_scope(url=url) as session:
        session.execute(delete(schema.PlanEntry.__table__))
        session.execute(delete(schema.PlanChange.__table__))


# The API tests' fixtures live in tests/api_helpers.py; defined here once, their session database (a published run
# with saved models) is built once per session instead of once per test module that imports them.
from tests.api_helpers import api_copy, api_env, api_master, client  # noqa: E402,F401 - fixtures
