"""Progress of a running refresh: a tqdm bar in the terminal, ``runs.progress`` for the Runs page, lock heartbeats."""
from __future__ import annotations

import time

from data import store


class Progress:
    """tqdm bar in the terminal plus throttled ``runs.progress`` updates and lock heartbeats."""

    def __init__(self, run_id: str, url: str | None, show: bool, lock=None):
        self.run_id, self.url, self.show, self.lock = run_id, url, show, lock
        self.bar, self.last = None, 0.0
        self.done, self.total = 0, 0

    def stage(self, fraction: float, message: str, force: bool = True) -> None:
        """Record ``fraction`` done with ``message`` (unforced updates at most once a second) and renew the lock."""
        now = time.monotonic()
        if force or now - self.last > 1.0:
            self.last = now
            store.update_progress(self.run_id, fraction, message, url=self.url)
            if self.lock is not None:
                self.lock.heartbeat()

    def start_map(self, total: int, desc: str) -> None:
        """Start counting ``total`` units of a map (and show a bar when ``show``)."""
        if self.show:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit="series", leave=False)
        self.done, self.total = 0, total

    def tick(self, lo: float, hi: float, desc: str, n: int = 1) -> None:
        """``n`` more units done: progress moves from ``lo`` towards ``hi``."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        self.stage(lo + (hi - lo) * self.done / max(self.total, 1), f"{desc}: {self.done}/{self.total} series",
                   force=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
