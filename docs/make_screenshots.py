"""Serve the dashboard on a database and save a PNG of every page into docs/screenshots/ with headless Chromium.

    python docs/make_screenshots.py --db PATH [--out docs/screenshots] [--port 8765] [--chromium /usr/bin/chromium]

The database should hold forecasts (`python cli.py refresh`) and effects (`python cli.py effects`) so that
every page has content. The browser runs with the flags of ENVIRONMENT.md and is kept off the network.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# path (with a query that shows a representative view) -> file name and window height
PAGES = [("/", "overview", 1300), ("/explore", "explore", 1900), ("/drivers", "drivers", 1950),
         ("/forecast", "forecast", 1500), ("/data", "data", 900), ("/data?tab=quality", "data-quality", 1100),
         ("/runs", "runs", 1200)]
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-quic", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout: float = 90.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the dashboard did not answer at {url} within {timeout:.0f} s")


def shoot(db: str, out: Path, port: int | None = None, chromium: str = "/usr/bin/chromium",
          width: int = 1400, budget_ms: int = 20000) -> list[Path]:
    """Start ``cli.py serve`` on ``db``, screenshot each page of :data:`PAGES` into ``out``, stop the server."""
    if not Path(chromium).exists():
        raise FileNotFoundError(f"{chromium}: not found (apt-get install chromium)")
    port = port or _free_port()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SALES_DB=db)
    server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    saved = []
    try:
        _wait_for(f"http://127.0.0.1:{port}/_dash-layout")
        for path, name, height in PAGES:
            target = out / f"{name}.png"
            # virtual time lets the page's callbacks and Plotly finish before the capture
            subprocess.run([chromium, *FLAGS, f"--window-size={width},{height}",
                            f"--virtual-time-budget={budget_ms}", f"--screenshot={target}",
                            f"http://127.0.0.1:{port}{path}"], check=True, timeout=120,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            saved.append(target)
            print(f"{target} ({target.stat().st_size // 1024} KB)", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return saved


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="database with data, forecasts and effects")
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args(argv)
    if "://" not in args.db and not Path(args.db).exists():
        print(f"error: {args.db}: no such database", file=sys.stderr)
        return 2
    shoot(args.db, Path(args.out), args.port, args.chromium)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
