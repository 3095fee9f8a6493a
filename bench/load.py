"""Load test of the production server: N simulated users for S seconds against `cli.py serve --prod`.

    python bench/load.py --users 20 --seconds 60 --json [--db PATH|URL] [--workers N] [--during-refresh]
                         [--skip-missing-api]

Starts the production server (gunicorn, uvicorn workers) on 127.0.0.1 at a free port over the Walmart data (the
database given with ``--db``, else ``data/cache/load/walmart.db``, imported from ``$SALES_DATASETS/walmart``, refreshed
(seasonal_naive and seasonal_ses, one fold) when it has no current run and with its effects computed), opens every
page once (``warmup``: the cold-cache cost, reported apart), then runs ``--users`` threads (local traffic only) for ``--seconds``. Each
user loops over actions a dashboard user and a client system make, with the browser's own requests:

- *page load*: ``GET`` the page, ``/_dash-layout``, ``/_dash-dependencies``, then the pages router callback and
  every initial callback of the page (``POST /_dash-update-component`` with dash-renderer's payloads, built from
  the served layout and dependencies by ``bench/dashboard.py``'s ``Replayer``);
- *filter change*: another option of one of the page's dropdowns / radios / tabs, and the callbacks it chains into;
- *drill-down*: a click on the first point of a graph whose ``clickData`` feeds a callback (Explore's breakdown);
- *forecast view*: the Forecast page opened on a random node (``/forecast?node=KEY``);
- *API*: ``GET /api/v1/series/{key}``, ``GET /api/v1/forecasts/{key}``, ``POST /api/v1/forecasts:batch`` (20 keys),
  ``POST /api/v1/predict`` and ``GET /api/v1/health``.

An error is an HTTP status >= 400, a connection failure or a timeout (a callback's 204 "no update" is not one).
``--skip-missing-api`` drops an API endpoint that is missing when probed (404, 405, or the dashboard's HTML page;
reported in ``skipped_endpoints``); without it, such answers count as errors. ``--during-refresh`` runs the same load a second time while a forced
refresh runs (`cli.py refresh --force`, its own process, as the scheduler, the Runs page and the API start it)
and reports it under ``during_refresh`` (the refresh is stopped when the load ends, if it has not finished).
Prints ``{"users", "seconds", "requests", "errors", "rps", "p50_ms", "p95_ms", "p99_ms", "by_endpoint"}``.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dashboard import Replayer, _percentile, _walk  # noqa: E402  (bench/dashboard.py: dash-renderer's payloads)

REFRESH_MODELS = "seasonal_naive,seasonal_ses"  # the load test's current run: fast, accurate on Walmart
ACTIONS = (("page_load", 3), ("filter_change", 4), ("drill_down", 1), ("forecast_view", 2), ("api", 4))
BATCH_KEYS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Response:
    """The parts of a Flask test-client response the Replayer reads."""

    def __init__(self, status: int, body: bytes):
        self.status_code, self.body = status, body

    def get_json(self):
        return json.loads(self.body)

    def get_data(self, as_text: bool = False):
        return self.body.decode("utf-8", "replace") if as_text else self.body


class HttpUser:
    """One simulated user: a keep-alive HTTP connection and a log of ``(endpoint, ms, ok)`` per request."""

    def __init__(self, port: int, log: list, label_for_callback, timeout: float = 30.0):
        self.port, self.log, self.label_for_callback, self.timeout = port, log, label_for_callback, timeout
        self.conn = None
        self.error_samples: dict[str, str] = {}

    def request(self, method: str, path: str, label: str, body=None, headers=None, api: bool = False) -> _Response:
        """One request; ``api``: the answer must not be an HTML page (an /api path the API does not route falls
        through to the dashboard's catch-all page)."""
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        t0 = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.conn.request(method, path, body=data, headers=hdrs)
            response = self.conn.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            self.conn = None
            status, payload = 599, f"{type(exc).__name__}: {exc}".encode()
        elapsed = (time.perf_counter() - t0) * 1000
        if api and status < 400 and payload.lstrip()[:1] == b"<":
            status = 404  # the dashboard's page, not an API answer: the endpoint does not exist
        if status >= 400:
            self.error_samples.setdefault(label, f"HTTP {status}: {payload[:200].decode('utf-8', 'replace')}")
        self.log.append((label, elapsed, status < 400))
        return _Response(status, payload)

    def get(self, path: str, label: str | None = None) -> _Response:
        return self.request("GET", path, label or f"GET {urllib.parse.urlsplit(path).path}")

    def post(self, path: str, json=None) -> _Response:  # noqa: A002 - the Flask test client's keyword
        """A Dash callback (the Replayer's call): an error is logged and replayed as "no update"."""
        response = self.request("POST", path, self.label_for_callback(json), body=json)
        if response.status_code >= 400:
            return _Response(204, b"")
        return response


def api_calls(keys: list[str], horizon: int) -> dict:
    """The API requests a client system makes: name -> (method, path or path builder, body builder); predict asks
    for the current run's whole horizon (``horizon`` steps), as a planning system would."""
    def quoted(key):
        return urllib.parse.quote(key, safe="")
    return {
        "GET /api/v1/health": ("GET", lambda: "/api/v1/health", None),
        "GET /api/v1/series/{key}": ("GET", lambda: f"/api/v1/series/{quoted(random.choice(keys))}", None),
        "GET /api/v1/forecasts/{key}": ("GET", lambda: f"/api/v1/forecasts/{quoted(random.choice(keys))}", None),
        "POST /api/v1/forecasts:batch": ("POST", lambda: "/api/v1/forecasts:batch",
                                         lambda: {"keys": random.sample(keys, min(BATCH_KEYS, len(keys)))}),
        "POST /api/v1/predict": ("POST", lambda: "/api/v1/predict",
                                 lambda: {"key": random.choice(keys), "horizon": horizon}),
    }


def _user_loop(user: HttpUser, deps: list, names: dict, background: set, shell: dict, paths: list[str],
               keys: list[str], api: dict, deadline: float, seed: int) -> None:
    """One user's session until ``deadline``: weighted random actions over the pages and the API."""
    rng = random.Random(seed)
    replay = Replayer(user, deps, names)
    replay.background = background
    replay.shell = shell
    replay.props = dict(shell)
    replay.page_ids = set()
    names_w = [a for a, w in ACTIONS for _ in range(w)]
    while time.monotonic() < deadline:
        action = rng.choice(names_w)
        if action == "api" and api:
            name = rng.choice(sorted(api))
            method, path, body = api[name]
            user.request(method, path(), name, body=body() if body else None, api=True)
        elif action == "page_load" or not replay.page_ids:
            path = rng.choice(paths)
            _full_load(user, replay, path)
        elif action == "forecast_view":
            _full_load(user, replay, "/forecast?node=" + urllib.parse.quote(rng.choice(keys), safe=""))
        elif action == "drill_down":
            targets = replay.click_targets()
            if targets:
                replay.click(rng.choice(targets))
        else:
            controls = [c for c in replay.controls() if len(c[2]) > 1]
            if controls:
                key, prop, options = rng.choice(controls)
                current = replay.props[key][1].get(prop)
                replay.change(key, prop, rng.choice([o for o in options if o != current] or options))


def _full_load(user: HttpUser, replay: Replayer, path: str) -> None:
    """What a browser does on opening a URL: the HTML, the layout, the dependencies, then the page's callbacks."""
    user.get(path, "GET page")
    user.get("/_dash-layout")
    user.get("/_dash-dependencies")
    replay.load_page(path)


def summarize(log: list, users: int, seconds: float) -> dict:
    times = [ms for _, ms, _ in log]
    by: dict[str, list] = {}
    for label, ms, ok in log:
        by.setdefault(label, []).append((ms, ok))
    return {"users": users, "seconds": round(seconds, 1), "requests": len(log),
            "errors": sum(1 for _, _, ok in log if not ok), "rps": round(len(log) / seconds, 1) if seconds else 0.0,
            "p50_ms": round(_percentile(times, 50), 1), "p95_ms": round(_percentile(times, 95), 1),
            "p99_ms": round(_percentile(times, 99), 1),
            "by_endpoint": {k: {"n": len(v), "errors": sum(1 for _, ok in v if not ok),
                                "p50_ms": round(_percentile([m for m, _ in v], 50), 1),
                                "p95_ms": round(_percentile([m for m, _ in v], 95), 1)}
                            for k, v in sorted(by.items())}}


def run_load(port: int, users: int, seconds: float, context: dict) -> dict:
    """``users`` threads for ``seconds`` against the server on ``port``; the summary of every request."""
    log: list = []  # list.append is atomic: the threads share it
    deadline = time.monotonic() + seconds
    threads, people = [], []
    for n in range(users):
        user = HttpUser(port, log, context["label"])
        people.append(user)
        threads.append(threading.Thread(target=_user_loop, daemon=True, args=(
            user, context["deps"], context["names"], context["background"], context["shell"], context["paths"],
            context["keys"], context["api"], deadline, 1000 + n)))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    result = summarize(log, users, time.monotonic() - started)
    result["error_samples"] = {k: v for person in people for k, v in person.error_samples.items()}
    return result


def warm_up(port: int, context: dict) -> dict:
    """One user opens every page once before the clock starts (as after a deploy someone has): the first visit
    fills the shared callback cache. Reported apart (``warmup``): its slowest requests are the cold-cache cost."""
    log: list = []
    user = HttpUser(port, log, context["label"], timeout=600)
    replay = Replayer(user, context["deps"], context["names"])
    replay.background, replay.shell, replay.props = context["background"], context["shell"], dict(context["shell"])
    for path in context["paths"]:
        _full_load(user, replay, path)
    slowest = sorted(log, key=lambda entry: -entry[1])[:5]
    return {"requests": len(log), "errors": sum(1 for _, _, ok in log if not ok),
            "seconds": round(sum(ms for _, ms, _ in log) / 1000, 1),
            "slowest_ms": {label: round(ms, 1) for label, ms, _ in slowest}, "error_samples": user.error_samples}


def prepare_database(db: str | None, env: dict) -> str:
    """The database URL to serve: ``--db``, else the Walmart data imported once into data/cache/load/, with a
    current run (a refresh of the fast models when it has none)."""
    import config
    if db:
        return config.database_url(db)
    folder = config.load().cache_dir / "load"
    folder.mkdir(parents=True, exist_ok=True)
    url = config.database_url(str(folder / "walmart.db"))
    walmart = config.load().datasets_dir / "walmart"
    cli = [sys.executable, str(ROOT / "cli.py")]
    from data import store
    if not store.db_exists(url):
        if not walmart.is_dir():
            raise SystemExit(f"error: the Walmart data set is not in {walmart} (set SALES_DATASETS, or pass --db)")
        subprocess.run([*cli, "ingest", "walmart", str(walmart), "--db", url, "--json"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    if store.current_run(url) is None:
        subprocess.run([*cli, "refresh", "--db", url, "--models", REFRESH_MODELS, "--folds", "1", "--json"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    from domain import Frames
    if store.load_frame(Frames.EFFECTS, "category", url=url) is None:  # the Drivers and Promotions pages need them
        subprocess.run([*cli, "effects", "--db", url, "--json"], check=True, env=env, stdout=subprocess.DEVNULL)
    return url


def start_server(url: str, port: int, workers: int, cache_dir: str, env: dict) -> subprocess.Popen:
    server_env = {**env, "SALES_DB": url, "SALES_CACHE_DIR": cache_dir, "SALES_CACHE_NAMESPACE": ""}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--prod", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers)], cwd=ROOT, env=server_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    probe = HttpUser(port, [], str)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: the production server exited with code {proc.returncode}")
        if probe.get("/api/v1/health").status_code == 200:
            return proc
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("error: the production server did not answer /api/v1/health within 180 s")


def client_context(port: int, url: str, skip_missing_api: bool) -> dict:
    """What every user shares: the dependencies, callback names, the shell's props, pages, node keys, API calls."""
    import dash
    from sqlalchemy import select

    from app import create_app
    from data import schema, store
    app = create_app()  # in this process only for the callbacks' names and which ones are background
    app.server.test_client().get("/")
    names = {k: getattr(v.get("callback"), "__name__", k) for k, v in app.callback_map.items()}
    names.update({k: "pages_router (page layout)" for k in names if "_pages_content.children" in k})
    background = {k for k, v in app.callback_map.items() if v.get("background") or v.get("long")}
    probe = HttpUser(port, [], str)
    deps = probe.get("/_dash-dependencies").get_json()
    shell: dict = {}
    _walk(probe.get("/_dash-layout").get_json(), shell)
    with store.get_engine(url).connect() as conn:
        nodes = schema.Node.__table__
        keys = [r[0] for r in conn.execute(select(nodes.c.node_id).order_by(nodes.c.node_id))]
    rng = random.Random(7)
    keys = rng.sample(keys, min(300, len(keys)))
    run = store.current_run(url) or {}
    horizon = int((run.get("params") or {}).get("horizon") or 1)
    api, skipped = api_calls(keys, horizon), []
    for name, (method, path, body) in list(api.items()):
        status = probe.request(method, path(), name, body=body() if body else None, api=True).status_code
        if status in (404, 405) and skip_missing_api:  # 405: a POST the dashboard's catch-all page refuses
            skipped.append(name)
            del api[name]
    return {"deps": deps, "names": names, "background": background, "shell": shell, "keys": keys, "api": api,
            "skipped": skipped, "paths": [p["relative_path"] for p in dash.page_registry.values()],
            "label": lambda body: "callback " + names.get((body or {}).get("output"), "?")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--workers", type=int, default=None, help="server workers (default $SALES_WORKERS or 2)")
    p.add_argument("--db", default=None, help="database to serve (default: the Walmart data in data/cache/load/)")
    p.add_argument("--during-refresh", action="store_true", help="also run the load while a refresh runs")
    p.add_argument("--skip-missing-api", action="store_true",
                   help="drop API endpoints that answer 404 (a branch without the API) instead of counting errors")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import config
    env = dict(os.environ)
    url = prepare_database(args.db, env)
    os.environ["SALES_DB"] = url
    port = free_port()
    workers = args.workers or config.load().workers
    with tempfile.TemporaryDirectory(prefix="sales-load-") as cache_dir:
        server = start_server(url, port, workers, cache_dir, env)
        try:
            context = client_context(port, url, args.skip_missing_api)
            warm = warm_up(port, context)
            result = run_load(port, args.users, args.seconds, context)
            result["warmup"] = warm
            result.update(workers=workers, database=url.rsplit("/", 1)[-1], skipped_endpoints=context["skipped"])
            if args.during_refresh:
                result["during_refresh"] = _during_refresh(port, args, context, url, env)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    if args.json:
        print(json.dumps(result))
    else:
        _print_text(result)
    return 0


def _during_refresh(port: int, args, context: dict, url: str, env: dict) -> dict:
    """The same load while `cli.py refresh --force` runs beside the server (the refresh's own process)."""
    refresh = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "refresh", "--db", url, "--force", "--models",
                                REFRESH_MODELS + ",lgbm", "--json"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    time.sleep(3)  # the refresh is loading and backtesting when the users arrive
    result = run_load(port, args.users, args.seconds, context)
    result["refresh_running_at_end"] = refresh.poll() is None  # True: the whole load overlapped the refresh
    result["refresh_seconds_overlapped"] = round(time.monotonic() - started, 1)
    if refresh.poll() is None:  # stop it as Ctrl-C would (the run is marked cancelled): the bench stays bounded
        refresh.send_signal(signal.SIGTERM)
    try:
        refresh.wait(timeout=120)
    except subprocess.TimeoutExpired:
        refresh.kill()
    result["refresh_exit_code"] = refresh.returncode
    return result


def _print_text(result: dict) -> None:
    for name, r in [("idle", result), ("during refresh", result.get("during_refresh"))]:
        if r:
            print(f"{name}: {r['users']} users x {r['seconds']} s: {r['requests']} requests, {r['errors']} errors, "
                  f"{r['rps']} req/s, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms")
            for endpoint, e in sorted(r["by_endpoint"].items(), key=lambda kv: -kv[1]["p95_ms"])[:12]:
                print(f"  {endpoint:<60} n={e['n']:<6} errors={e['errors']:<4} p50 {e['p50_ms']} p95 {e['p95_ms']}")


if __name__ == "__main__":
    raise SystemExit(main())
