"""A forked process (gunicorn worker, Dash background job) never reuses a pooled connection of its parent: on
PostgreSQL that corrupted both processes' results under load ("server closed the connection unexpectedly")."""
from __future__ import annotations

import multiprocessing
import os

import pytest

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _child(queue) -> None:
    from data import store
    with store.get_engine().connect() as conn:
        value = conn.exec_driver_sql("SELECT 41 + 1").scalar()
        queue.put((os.getpid(), conn.info.get("pid"), value))


def test_a_forked_process_opens_its_own_connection(tmp_db):
    from data import store
    engine = store.get_engine()
    with engine.connect() as conn:  # the pool now holds a connection this process opened
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        parent_pid = conn.info["pid"]
    assert parent_pid == os.getpid()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    child_pid, connection_pid, value = queue.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0 and value == 42
    assert connection_pid == child_pid != parent_pid
    with engine.connect() as conn:  # the parent's own connection still answers
        assert conn.exec_driver_sql("SELECT 2").scalar() == 2
