"""`cli.py serve --prod`: gunicorn with uvicorn workers really starts, answers the API and the dashboard with the
security headers (HSTS only behind TLS), shares the callback cache through the filesystem, and stops."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECURITY = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
            "referrer-policy": "strict-origin-when-cross-origin"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict | None = None, data: bytes | None = None):
    """``(status, headers as a lower-case dict, body)``; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@pytest.fixture(scope="module")
def prod_server(tmp_path_factory, small_demo_master):
    """`cli.py serve --prod --workers 2` on a free port over a copy of the small demo; stopped with SIGTERM."""
    import shutil
    folder = tmp_path_factory.mktemp("prod")
    db = folder / "small.db"
    from data import store
    store.get_engine(f"sqlite:///{small_demo_master}").dispose()
    shutil.copy(small_demo_master, db)
    port = free_port()
    env = {**os.environ, "SALES_DB": f"sqlite:///{db}", "SALES_CACHE_DIR": str(folder / "cache"),
           "SALES_CACHE_NAMESPACE": ""}
    proc = subprocess.Popen([sys.executable, "cli.py", "serve", "--prod", "--workers", "2", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if get(base + "/api/v1/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read()
    else:
        proc.kill()
        pytest.fail("serve --prod did not answer within 120 s")
    yield {"base": base, "proc": proc, "cache": folder / "cache"}
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def test_health_and_dashboard_answer_from_gunicorn(prod_server):
    status, headers, body = get(prod_server["base"] + "/api/v1/health")
    assert status == 200 and json.loads(body)["database"] is True
    assert headers["server"] == "uvicorn"
    status, headers, body = get(prod_server["base"] + "/")
    assert status == 200 and b"react-entry-point" in body and "text/html" in headers["content-type"]
    status, _, body = get(prod_server["base"] + "/_dash-layout")
    assert status == 200 and json.loads(body)
    # the processes: the gunicorn master (this Popen) with two worker children
    import psutil
    children = psutil.Process(prod_server["proc"].pid).children()
    assert len(children) == 2 and all("python" in c.name() or "gunicorn" in " ".join(c.cmdline()) for c in children)


@pytest.mark.parametrize("path", ["/api/v1/health", "/", "/_dash-layout", "/_dash-dependencies", "/api/openapi.json"])
def test_security_headers_on_api_and_dash_responses(prod_server, path):
    status, headers, _ = get(prod_server["base"] + path)
    assert status == 200
    for name, value in SECURITY.items():
        assert headers.get(name) == value, (path, name)
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "'unsafe-eval'" not in csp
    assert "strict-transport-security" not in headers  # plain HTTP


def test_dash_page_csp_allows_its_inline_scripts_by_hash(prod_server):
    _, headers, body = get(prod_server["base"] + "/explore")
    csp = headers["content-security-policy"]
    assert "'sha256-" in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert body.count(b"<script") >= 2


@pytest.mark.parametrize("path", ["/api/v1/health", "/"])
def test_hsts_only_when_a_trusted_proxy_says_https(prod_server, path):
    _, headers, _ = get(prod_server["base"] + path, {"X-Forwarded-Proto": "https"})
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    _, headers, _ = get(prod_server["base"] + path, {"X-Forwarded-Proto": "http"})
    assert "strict-transport-security" not in headers


def _load_bench():
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_callback_cache_is_shared_through_the_filesystem(prod_server):
    """The Overview page's callbacks, replayed over HTTP as the browser sends them, answer without an error, and
    their memoized reads land in this start's cache folder, which every worker reads."""
    load = _load_bench()
    folders = list((prod_server["cache"] / "callbacks").iterdir())
    assert len(folders) == 1
    before = len(list(folders[0].iterdir()))
    port = int(prod_server["base"].rsplit(":", 1)[1])
    log: list = []
    user = load.HttpUser(port, log, lambda body: body["output"])
    deps = user.get("/_dash-dependencies").get_json()
    shell: dict = {}
    load._walk(user.get("/_dash-layout").get_json(), shell)
    replay = load.Replayer(user, deps, {})
    replay.shell, replay.props = shell, dict(shell)
    replay.load_page("/")
    callbacks = [entry for entry in log if entry[0].startswith("..") or "." in entry[0]]
    assert len(callbacks) >= 4 and all(ok for _, _, ok in log), log
    assert len(list(folders[0].iterdir())) > before


def test_refused_without_redis_package(tmp_path):
    env = {**os.environ, "SALES_DB": str(tmp_path / "x.db"), "SALES_CACHE_REDIS_URL": "redis://127.0.0.1:6379/0",
           "SALES_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "cli.py", "serve", "--prod", "--port", str(free_port())], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "redis" in result.stderr and "Traceback" not in result.stderr


def test_proxy_headers_only_believed_from_configured_ips():
    import server
    options = server.gunicorn_options("0.0.0.0", 8050, 3, "10.0.0.5")
    assert options["forwarded_allow_ips"] == "10.0.0.5" and options["workers"] == 3
    assert options["worker_class"] == "uvicorn.workers.UvicornWorker" and options["bind"] == "0.0.0.0:8050"
    assert server.gunicorn_options("::1", 80, 1, "127.0.0.1")["bind"] == "[::1]:80"


def test_workers_must_be_positive():
    result = subprocess.run([sys.executable, "cli.py", "serve", "--prod", "--workers", "0"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "positive" in result.stderr


def test_ui_started_jobs_run_in_background_processes(prod_server):
    """A page's long job (here the Data page's quality report; the Runs page's refresh and the imports are
    background callbacks the same way) runs in a child process of the DiskcacheManager, not in the web worker:
    the first answer is a job handle, the result comes back to polls that any worker may answer."""
    import urllib.parse

    import psutil

    from layouts import ids
    body = {"output": f"{ids.Data.QUALITY_STATUS}.children",
            "outputs": {"id": ids.Data.QUALITY_STATUS, "property": "children"},
            "inputs": [{"id": ids.Data.QUALITY_RUN, "property": "n_clicks", "value": 1}], "state": [],
            "changedPropIds": [f"{ids.Data.QUALITY_RUN}.n_clicks"]}
    headers = {"Content-Type": "application/json"}
    url = prod_server["base"] + "/_dash-update-component"
    workers = {p.pid for p in psutil.Process(prod_server["proc"].pid).children()}
    status, _, answer = get(url, headers, json.dumps(body).encode())
    handle = json.loads(answer)
    assert status in (200, 202) and {"cacheKey", "job"} <= set(handle) and "response" not in handle
    jobs = [p for p in psutil.Process(prod_server["proc"].pid).children(recursive=True) if p.pid not in workers]
    assert jobs, "the job runs in a process of its own, a child of the web worker"
    query = urllib.parse.urlencode({"cacheKey": handle["cacheKey"], "job": handle["job"]})
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status, _, answer = get(f"{url}?{query}", headers, json.dumps(body).encode())
        result = json.loads(answer) if answer else {}
        if "response" in result:
            break
        time.sleep(1)
    else:
        pytest.fail("the background job did not finish")
    assert "Report computed" in json.dumps(result["response"])
