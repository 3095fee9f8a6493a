"""A refresh in a child process under a run id chosen by the caller: what POST /api/v1/refresh starts.

Long jobs never run in a web worker: :func:`start` launches ``python -m jobs.refresh_process --run-id ID`` in
its own session (it outlives a restarted worker), logging to ``<SALES_CACHE_DIR>/refresh-logs/<id>.log``, and
:func:`wait_started` waits until the run's row exists (pollable) or the child has already ended.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import config
from data import store

ROOT = Path(__file__).resolve().parents[1]


def start(run_id: str, url: str | None = None, force: bool = True, horizon: int | None = None,
          models: str | None = None, tune: bool = False) -> subprocess.Popen:
    """Launch the refresh child process (a thread reaps it when it ends)."""
    logs = config.load().cache_dir / "refresh-logs"
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "jobs.refresh_process", "--run-id", run_id]
    cmd += ["--force"] if force else []
    cmd += ["--horizon", str(int(horizon))] if horizon else []
    cmd += ["--models", models] if models else []
    cmd += ["--tune"] if tune else []
    env = {**os.environ, "SALES_DB": store.resolve_url(url)}
    with open(logs / f"{run_id}.log", "ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    threading.Thread(target=proc.wait, name=f"reap-refresh-{run_id}", daemon=True).start()
    return proc


def wait_started(run_id: str, proc: subprocess.Popen, timeout_s: float = 60.0, url: str | None = None) -> str:
    """``"started"`` once the run row exists, ``"ended"`` when the child ended first (e.g. another refresh holds
    the lock), ``"starting"`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if store.run_info(run_id, url) is not None:
            return "started"
        if proc.poll() is not None:
            return "started" if store.run_info(run_id, url) is not None else "ended"
        time.sleep(0.1)
    return "starting"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="one forecast refresh under a given run id (started by the API)")
    p.add_argument("--run-id", required=True)
    p.add_argument("--force", action="store_true")
    p.add_argument("--horizon", type=int)
    p.add_argument("--models")
    p.add_argument("--tune", action="store_true")
    args = p.parse_args(argv)
    from jobs import runner
    summary = runner.refresh(horizon=args.horizon, models=args.models, force=args.force, progress=False,
                             run_id=args.run_id, tune=args.tune)
    print(summary.get("status"), summary.get("run_id"), summary.get("error") or "", flush=True)
    return 0 if summary.get("status") in ("success", "skipped") else 1


if __name__ == "__main__":
    sys.exit(main())
