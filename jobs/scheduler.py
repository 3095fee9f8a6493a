"""Scheduled refreshes (APScheduler cron) and the cross-process lock that keeps two refreshes from overlapping.

The lock is a row in the ``locks`` table (works across processes and, with PostgreSQL, machines). Its holder
renews it while working (heartbeat); a lock not renewed for ``stale_after_s`` seconds, or held by a process
that no longer exists on this host, is taken over. A refresh whose data (``store.data_hash()``) and
parameters equal those of the current run is skipped (``runner.refresh(force=False)``).
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import sys
import time
import uuid

from data import store

LOCK_NAME = "refresh"
LOCK_STALE_S = 900.0     # a refresh heartbeats at least every stage; 15 min of silence means its holder died
HEARTBEAT_S = 30.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_dead(owner: str) -> bool:
    """True when ``owner`` ("host:pid:token") names a process of this host that has exited."""
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname():
        return False
    try:
        return not _pid_alive(int(parts[1]))
    except ValueError:
        return False


class RefreshLock:
    """The named database lock of a refresh; use ``acquire``/``release`` or ``with RefreshLock() as ok:``."""

    def __init__(self, url: str | None = None, name: str = LOCK_NAME, stale_after_s: float = LOCK_STALE_S):
        self.url, self.name, self.stale_after_s = url, name, stale_after_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False
        self._beat = 0.0

    def acquire(self) -> bool:
        """Take the lock; False when another live refresh holds it."""
        self.held = store.acquire_lock(self.name, self.owner, self.stale_after_s, url=self.url)
        if not self.held:
            info = store.lock_info(self.name, url=self.url)
            if info and holder_is_dead(str(info["owner"])):
                self.held = store.acquire_lock(self.name, self.owner, self.stale_after_s, steal_from=info["owner"],
                                               url=self.url)
        self._beat = time.monotonic()
        return self.held

    def heartbeat(self) -> None:
        """Renew the lock (at most every HEARTBEAT_S seconds) so a long refresh never looks stale."""
        if self.held and time.monotonic() - self._beat >= HEARTBEAT_S:
            self._beat = time.monotonic()
            if not store.refresh_lock(self.name, self.owner, url=self.url):
                raise RuntimeError(f"lost the {self.name!r} lock (taken over as stale); aborting this refresh")

    def release(self) -> None:
        if self.held:
            store.release_lock(self.name, self.owner, url=self.url)
            self.held = False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def scheduled_refresh(refresh_args: dict, url: str | None = None) -> dict:
    """One scheduled check: refresh unless the data is unchanged or another refresh runs; log one line."""
    from jobs import runner
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        summary = runner.refresh(**refresh_args, progress=False, force=False, url=url)
    except ValueError as exc:  # e.g. an empty store: report and keep the schedule alive
        summary = {"status": "failed", "error": str(exc), "run_id": None}
    print(f"[{started}] refresh {summary.get('status')}: run {summary.get('run_id')} "
          f"{summary.get('reason') or summary.get('error') or ''}".rstrip(), flush=True)
    return summary


def run_schedule(cron: str, once: bool = False, refresh_args: dict | None = None, url: str | None = None) -> int:
    """Run refreshes on a crontab schedule in this process (blocks until Ctrl-C).

    Parameters
    ----------
    cron : str
        Five-field crontab expression, e.g. ``"0 3 * * *"`` (03:00 every day, local time of this machine).
    once : bool
        Run one check now and return instead of scheduling.
    refresh_args : dict, optional
        Keyword arguments of :func:`jobs.runner.refresh` (``None`` values are dropped).
    url : str, optional
        Database URL (default ``SALES_DB``).

    Returns
    -------
    int
        Exit code: 0, or 1 when ``once`` and the refresh failed.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    try:
        trigger = CronTrigger.from_crontab(cron)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {cron!r} ({exc}); expected 5 fields like '0 3 * * *'") from None
    args = {k: v for k, v in (refresh_args or {}).items() if v is not None}
    if once:
        summary = scheduled_refresh(args, url)
        return 0 if summary.get("status") in ("success", "skipped") else 1
    nxt = trigger.get_next_fire_time(None, dt.datetime.now(trigger.timezone))
    print(f"Scheduled refreshes '{cron}'; next at {nxt}. Ctrl-C to stop.", file=sys.stderr, flush=True)
    sched = BlockingScheduler()
    sched.add_job(scheduled_refresh, trigger, args=[args, url], id="refresh", max_instances=1, coalesce=True,
                  misfire_grace_time=3600)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0
