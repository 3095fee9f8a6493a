"""The cross-process lock that keeps two refreshes from overlapping.

The lock is a row in the ``locks`` table (works across processes and, with PostgreSQL, machines). Its holder
renews it while working (heartbeat); a lock not renewed for ``stale_after_s`` seconds, or held by a process
that no longer exists on this host, is taken over.
"""
from __future__ import annotations

import os
import socket
import time
import uuid

from data import store
from jobs import artifacts

LOCK_NAME = "refresh"
LOCK_STALE_S = 900.0     # a refresh heartbeats at least every stage; 15 min of silence means its holder died
HEARTBEAT_S = 30.0


ABANDONED = ("abandoned: its refresh process ended without finishing (killed or crashed); "
             "the previous run stayed current")


def _pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists and is not a zombie (a killed child its parent has not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc (not Linux): os.kill's answer stands


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


def reap_dead_refresh(url: str | None = None, name: str = LOCK_NAME) -> list[str]:
    """Mark the runs left ``running`` by a refresh whose process has died as failed (:data:`ABANDONED`), at once.

    For the pages that show runs (call it before reading them): one query when no run is ``running``. When one
    is and the lock's recorded holder (host:pid) is a process of this host that has exited, take the lock over
    (so no live refresh can be running), mark the ``running`` runs and release it. A lock held by a live process
    or by another host is left alone (a stale one is taken over by the next refresh). Returns the run ids marked.
    """
    if not store.running_run_ids(url):
        return []
    info = store.lock_info(name, url=url)
    if info is None or not holder_is_dead(str(info["owner"])):
        return []
    lock = RefreshLock(url=url, name=name)
    if not lock.acquire():
        return []
    try:
        return abandon_runs(url)
    finally:
        lock.release()


def abandon_runs(url: str | None = None) -> list[str]:
    """Mark every run left ``running`` as failed (:data:`ABANDONED`) and remove its artifact directory; returns
    their ids. Call only while holding the refresh lock. A refresh killed outright (SIGKILL, out of memory) never
    reaches its own clean-up (:func:`jobs.artifacts.discard_run`), and the models it had written as they
    arrived (hundreds of MB on a large store) would stay on disk, listed by no run."""
    ids = store.abandon_running_runs(ABANDONED, url=url)
    for run_id in ids:
        artifacts.discard_run(run_id)
    return ids
