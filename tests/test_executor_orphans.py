"""A refresh driver killed outright (SIGKILL, the OOM killer) leaves no pool processes behind.

The pool's workers are children of the multiprocessing forkserver, not of the driver, and wait on a task
queue they also hold open; without the workers' driver watchdog (``jobs.executor._exit_with_driver``) they,
the forkserver and the resource tracker lived on after the driver died, holding their memory.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ("import sys, time; from jobs.executor import map_series; print('started', flush=True); "
          "map_series(time.sleep, [120, 120, 120, 120], jobs=2, chunksize=1)")


def _descendants_when_busy(proc: subprocess.Popen, workers: int, timeout_s: float = 60) -> list:
    """The driver's descendants once its ``workers`` pool workers run (the forkserver's children)."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        kids = parent.children(recursive=True)
        forkservers = [k for k in kids if k.children()]
        if forkservers and len(forkservers[0].children()) >= workers:
            return kids
        time.sleep(0.2)
    raise AssertionError(f"the pool did not start {workers} workers in {timeout_s} s")


def _alive(procs: list) -> list:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_pool_processes_end_when_the_driver_is_killed():
    proc = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    kids = []
    try:
        assert proc.stdout.readline().strip() == "started"
        kids = _descendants_when_busy(proc, workers=2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15  # the watchdog looks once a second
        while _alive(kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _alive(kids)
        assert not left, f"pool processes outlived the killed driver: {[(p.pid, p.cmdline()[-2:]) for p in left]}"
    finally:
        proc.kill()
        for p in _alive(kids):
            p.kill()
