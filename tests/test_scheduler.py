"""The refresh lock (exclusive, across processes, stale and dead-holder takeover) and scheduled checks."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from data import store
from jobs import scheduler
from jobs.lock import RefreshLock

ROOT = Path(__file__).resolve().parents[1]


def test_second_acquire_fails_while_held_and_succeeds_after_release(tmp_db):
    a, b = RefreshLock(url=tmp_db), RefreshLock(url=tmp_db)
    assert a.acquire()
    assert not b.acquire()
    assert store.lock_info("refresh", url=tmp_db)["owner"] == a.owner
    a.release()
    assert store.lock_info("refresh", url=tmp_db) is None
    assert b.acquire()
    b.release()


def test_stale_lock_is_taken_over_and_heartbeat_keeps_it_fresh(tmp_db):
    assert store.acquire_lock("refresh", "otherhost:123:dead", url=tmp_db)
    assert not store.acquire_lock("refresh", "me:1:x", stale_after_s=3600, url=tmp_db)
    time.sleep(0.05)
    assert store.acquire_lock("refresh", "me:1:x", stale_after_s=0.01, url=tmp_db)  # not renewed: stale
    assert store.lock_info("refresh", url=tmp_db)["owner"] == "me:1:x"
    time.sleep(0.05)
    assert store.refresh_lock("refresh", "me:1:x", url=tmp_db)  # the holder renews it...
    assert not store.acquire_lock("refresh", "late:2:y", stale_after_s=1.0, url=tmp_db)  # ...so it is not stale
    assert not store.refresh_lock("refresh", "late:2:y", url=tmp_db)
    assert not store.release_lock("refresh", "late:2:y", url=tmp_db)  # only the holder releases


def _hold_lock_in_subprocess(url: str, seconds: float) -> subprocess.Popen:
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from jobs.lock import RefreshLock\n"
            "lock = RefreshLock(url=%r)\n"
            "print('held' if lock.acquire() else 'busy', flush=True)\n"
            "time.sleep(%r)\n") % (str(ROOT), url, seconds)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_lock_works_across_processes_and_a_dead_holder_is_replaced(tmp_db):
    store.init_db(tmp_db)
    proc = _hold_lock_in_subprocess(tmp_db, 60)
    try:
        mine = RefreshLock(url=tmp_db)
        assert not mine.acquire()  # held by a live process
    finally:
        proc.kill()  # dies without releasing: its row stays behind
        proc.wait()
    assert store.lock_info("refresh", url=tmp_db)["owner"].split(":")[1] == str(proc.pid)
    assert mine.acquire()  # its pid no longer exists on this host, so the lock is taken over at once
    mine.release()


def test_scheduled_check_refreshes_then_skips_unchanged_data(small_demo_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    args = {"models": "seasonal_naive", "horizon": 7, "jobs": 1, "folds": 1, "levels": None}
    assert scheduler.run_schedule("0 3 * * *", once=True, refresh_args=args) == 0
    first = store.current_run()
    assert first is not None and first["status"] == "success"
    assert scheduler.run_schedule("0 3 * * *", once=True, refresh_args=args) == 0
    assert store.current_run()["run_id"] == first["run_id"]
    assert store.runs().iloc[0]["status"] == "skipped"
    out = capsys.readouterr().out
    assert "refresh success" in out and "refresh skipped" in out


def test_scheduled_check_skips_while_another_refresh_holds_the_lock(small_demo_db):
    holder = RefreshLock(url=small_demo_db)
    assert holder.acquire()
    try:
        assert scheduler.run_schedule("*/5 * * * *", once=True, refresh_args={"models": "seasonal_naive"}) == 1
        assert store.current_run() is None
    finally:
        holder.release()


def test_invalid_cron_is_a_clear_error(tmp_db):
    with pytest.raises(ValueError, match="invalid cron expression"):
        scheduler.run_schedule("every night", once=True)


def test_a_scheduled_refresh_recomputes_inventory_orders_that_were_in_use(small_demo_db, tmp_path, monkeypatch,
                                                                         capsys):
    from domain import Frames
    from jobs import inventory_job
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    args = {"models": "seasonal_naive", "horizon": 14, "jobs": 1, "folds": 1, "levels": None}
    assert scheduler.run_schedule("0 3 * * *", once=True, refresh_args=args) == 0
    assert store.load_frame(Frames.INVENTORY_ORDERS, "all") is None  # never used: not computed on its own
    inventory_job.run_inventory(save=True)
    first = store.analysis_index().set_index("name").loc[Frames.INVENTORY_ORDERS, "computed_at"]
    store.write_plan(pd.DataFrame({"store_id": ["*"], "date": ["2031-01-01"], "is_open": [0]}))  # plan changed
    assert scheduler.run_schedule("0 3 * * *", once=True, refresh_args=args) == 0
    assert "inventory orders recomputed" in capsys.readouterr().out
    assert store.analysis_index().set_index("name").loc[Frames.INVENTORY_ORDERS, "computed_at"] > first
