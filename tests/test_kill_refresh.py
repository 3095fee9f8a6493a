"""The kill test of issue 12: a refresh killed with SIGKILL at 20 points spread over its run.

A small store (2 stores x 3 products x 1 year of demo data) gets a first successful refresh. Then, 20 times,
``cli.py refresh --force`` (a fast model set: seasonal_naive, one fold, one process) starts in a child process
and is killed with SIGKILL after ``i/20`` (i = 0..19) of a measured full refresh duration (from its start to
the commit that publishes its run). After each kill:

- ``PRAGMA integrity_check`` is ok;
- the previous run is still the current one and served (``store.current_run``, ``store.forecast`` of the total
  equal to what it served before), unless the refresh had already published (then its own run is served);
- the killed run shows as abandoned at once: the Runs page's progress callback reads it as failed, "abandoned"
  (item 10 of issue 12), and no run is left ``running``;
- the next refresh succeeds.

The child is forked from the test process after its imports (the same ``cli.main`` a ``python cli.py refresh``
runs, without paying the imports 20 times), so the kill points fall in the refresh itself.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time

import pandas as pd
import pytest

REFRESH = ["--force", "--models", "seasonal_naive", "--folds", "1", "--jobs", "1", "--horizon", "7", "--json"]
KILLS = 20


def _child(url: str) -> None:
    import cli
    from data import store
    store.get_engine(url).dispose(close=False)  # never reuse the parent's connections
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os._exit(cli.main(["refresh", "--db", url, *REFRESH]))


def _start(url: str):
    from data import store
    store.get_engine(url).dispose()  # no open connection crosses the fork
    proc = multiprocessing.get_context("fork").Process(target=_child, args=(url,))
    proc.start()
    return proc


def _served(url: str) -> tuple[str, pd.DataFrame]:
    from data import store
    run = store.current_run(url)
    return run["run_id"], store.forecast("total", run_id=run["run_id"], url=url)


def _integrity(path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.slow
def test_refresh_killed_at_20_points_keeps_the_previous_run_and_the_next_refresh_succeeds(tmp_path, monkeypatch):
    import callbacks.runs as runs_cb
    from data import demo, store
    from jobs import runner

    t_start = time.perf_counter()
    path = tmp_path / "kill.db"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("SALES_DB", url)
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    demo.generate(seed=3, n_stores=2, n_products=3, years=1, url=url, progress=False)
    args = dict(models="seasonal_naive", folds=1, jobs=1, horizon=7, progress=False, force=True, url=url)
    assert runner.refresh(**args)["status"] == "success"

    t0 = time.time()  # a full refresh the way the kills run it: the kill points spread from its start to publish
    full = _start(url)
    full.join(120)
    measured = store.runs(limit=1, url=url).iloc[0]
    assert full.exitcode == 0 and measured["status"] == "success"
    duration = pd.Timestamp(measured["finished_at"]).tz_localize("UTC").timestamp() - t0

    outcomes = []
    for i in range(KILLS):
        before_id, before_fc = _served(url)
        known = set(store.runs(limit=500, url=url)["run_id"])
        proc = _start(url)
        time.sleep(duration * i / KILLS)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)  # reap it: the lock's holder pid is now gone from this host

        assert _integrity(path) == "ok", f"kill {i}"
        new = store.runs(limit=500, url=url)
        new = new[~new["run_id"].isin(known)]
        assert len(new) <= 1
        status = runs_cb.render_refresh_progress(i, "")[4].split("|")[1] if len(new) else None
        run = store.run_info(new.iloc[0]["run_id"], url=url) if len(new) else None
        served_id, served_fc = _served(url)
        if run is not None and run["status"] == "success":  # it had published before the kill: it is served
            outcome = "published"
            assert served_id == run["run_id"] and len(served_fc)
        else:
            assert (served_id, served_fc.to_dict("list")) == (before_id, before_fc.to_dict("list")), f"kill {i}"
            outcome = "before the run started" if run is None else "abandoned"
            if run is not None:
                assert status == "failed" and run["error"].startswith("abandoned") and not run["is_current"]
        assert store.running_run_ids(url) == [], f"kill {i}: a run is left running"
        outcomes.append(outcome)

        after = runner.refresh(**args)  # the next refresh succeeds and becomes the served run
        assert after["status"] == "success", after
        assert _served(url)[0] == after["run_id"]

    total = time.perf_counter() - t_start
    print(f"\nkill test: full refresh {duration:.2f} s to publish, {KILLS} kills, outcomes "
          f"{pd.Series(outcomes).value_counts().to_dict()}, total {total:.1f} s")
    assert outcomes.count("abandoned") >= KILLS // 2
