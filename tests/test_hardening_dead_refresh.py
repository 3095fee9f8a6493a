"""Item 10 of issue 12: a refresh whose process died shows as abandoned at once, on the Runs and Overview pages.

The lock records its holder as ``host:pid:token``; a page that reads a ``running`` run whose holder is a dead
process of this host marks the run failed ("abandoned") before reading. A live holder, or another host's, is
left alone.
"""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

import callbacks.overview as overview_cb
import callbacks.runs as runs_cb
from data import store
from jobs import artifacts, lock


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _zombie() -> subprocess.Popen:
    """A child that has exited but is not reaped yet (its pid still answers os.kill(pid, 0))."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    import time
    for _ in range(100):
        with open(f"/proc/{p.pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return p
        time.sleep(0.05)
    pytest.skip("the child did not become a zombie")


def _running_run_held_by(owner: str, url: str, run_id: str = "r-killed") -> None:
    store.create_run("r-ok", {}, "h", "test", url=url)
    store.publish_run("r-ok", 3, 1.0, url=url)
    assert store.acquire_lock(lock.LOCK_NAME, owner, url=url)
    store.create_run(run_id, {}, "h", "test", url=url)
    store.update_progress(run_id, 0.3, "backtesting", url=url)


def test_runs_page_shows_a_run_whose_holder_died_as_abandoned_at_once(tmp_db):
    _running_run_held_by(f"{socket.gethostname()}:{_dead_pid()}:abcd1234", tmp_db)
    value, _, animated, msg, sig = runs_cb.render_refresh_progress(1, "")
    assert sig == "r-killed|failed" and not animated and "abandoned" in msg
    run = store.run_info("r-killed", url=tmp_db)
    assert run["status"] == "failed" and run["error"].startswith("abandoned") and not run["is_current"]
    assert store.current_run(url=tmp_db)["run_id"] == "r-ok"
    assert store.lock_info(lock.LOCK_NAME, url=tmp_db) is None  # the dead holder's lock is freed
    assert "abandoned" in str(runs_cb.render_run_history("all", sig)[0])


def test_a_zombie_holder_counts_as_dead(tmp_db):
    child = _zombie()
    try:
        _running_run_held_by(f"{socket.gethostname()}:{child.pid}:abcd1234", tmp_db)
        assert lock.reap_dead_refresh(url=tmp_db) == ["r-killed"]
    finally:
        child.wait()


def test_reaping_a_dead_refresh_removes_its_artifacts(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    _running_run_held_by(f"{socket.gethostname()}:{_dead_pid()}:abcd1234", tmp_db)
    artifacts.save_model("r-killed", "lgbm__store_product", {"fitted": 1})
    artifacts.save_model("r-ok", "lgbm__store_product", {"fitted": 0})
    assert lock.reap_dead_refresh(url=tmp_db) == ["r-killed"]
    assert not artifacts.run_dir("r-killed").exists() and artifacts.run_dir("r-ok").exists()


def test_overview_alert_shows_the_dead_refresh_as_failed(small_demo_db):
    _running_run_held_by(f"{socket.gethostname()}:{_dead_pid()}:abcd1234", small_demo_db)
    alerts = str(overview_cb.render_overview_kpis("28")[-1])
    assert "The last refresh" in alerts and "failed: abandoned" in alerts
    assert store.run_info("r-killed", url=small_demo_db)["status"] == "failed"


@pytest.mark.parametrize("owner", [f"{socket.gethostname()}:{__import__('os').getpid()}:live0001",
                                   "another-host:1:abcd1234"])
def test_a_live_or_foreign_holder_is_left_alone(tmp_db, owner):
    _running_run_held_by(owner, tmp_db)
    assert lock.reap_dead_refresh(url=tmp_db) == []
    msg = runs_cb.render_refresh_progress(1, "")[3]
    assert "Refreshing (run r-killed)" in msg and store.run_info("r-killed", url=tmp_db)["status"] == "running"
    assert store.lock_info(lock.LOCK_NAME, url=tmp_db)["owner"] == owner


def test_nothing_running_costs_one_query_and_changes_nothing(tmp_db):
    assert lock.reap_dead_refresh(url=tmp_db) == []
    store.create_run("r-ok", {}, "h", "test", url=tmp_db)
    store.publish_run("r-ok", 3, 1.0, url=tmp_db)
    assert lock.reap_dead_refresh(url=tmp_db) == [] and store.lock_info(lock.LOCK_NAME, url=tmp_db) is None
