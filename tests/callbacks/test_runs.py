"""Runs page callbacks called directly on a temporary database with runs written through the store's writers."""
from __future__ import annotations

import datetime as dt
import time

import plotly.graph_objects as go
import pytest

from callbacks import runs as cb
from data import store

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # each test on both back ends (tests/conftest.py)


def _run(run_id: str, url: str, outcome: str, **kw) -> None:
    store.create_run(run_id, {"models": "seasonal_naive", "horizon": 7}, "hash", "test", url=url)
    time.sleep(0.01)  # distinct started_at, so "newest first" is well defined
    if outcome == "success":
        store.publish_run(run_id, n_series=12, duration_s=kw.get("duration", 3.5),
                          metrics={"metrics": {"lgbm": {"n_series": 12, "wape": 0.123, "mase": 0.9},
                                                "seasonal_naive": {"n_series": 12, "wape": 0.2, "mase": 1.1}},
                                   "selected": {"lgbm": 9, "seasonal_naive": 3}, "n_bottom": 8},
                          url=url)
    elif outcome == "failed":
        store.mark_failed(run_id, "boom: the model diverged", duration_s=1.0, url=url)


def test_empty_store_shows_empty_states(tmp_db):
    store.init_db(tmp_db)
    table, fig, current = cb.render_run_history("all", "")
    fig = go.Figure(fig)
    assert "No refresh has run yet" in str(table)
    assert "No forecasts yet" in str(current)
    assert fig.layout.annotations[0].text.startswith("No finished refresh")
    value, label, animated, msg, sig = cb.render_refresh_progress(0, "")
    assert (value, animated) == (0, False) and "Idle" in msg


def test_history_filter_current_and_durations(tmp_db):
    _run("r1", tmp_db, "success", duration=2.0)
    _run("r2", tmp_db, "failed")
    _run("r3", tmp_db, "success", duration=4.0)
    table, fig, current = cb.render_run_history("all", "x")
    fig = go.Figure(fig)
    text = str(table)
    assert text.index("r3") < text.index("r2") < text.index("r1")  # newest first
    assert "success (current)" in text and "backtest WAPE lgbm 12.3%, seasonal_naive 20.0%; chosen: lgbm (9), seasonal_naive (3)" in text and "boom: the model diverged" in text
    failed_only = str(cb.render_run_history("failed", "x")[0])
    assert "r2" in failed_only and "r1" not in failed_only and "r3" not in failed_only
    assert "r3" in str(current) and "12" in str(current)
    assert sorted(t.name for t in fig.data) == ["failed", "success"]
    assert "No cancelled runs" in str(cb.render_run_history("cancelled", "x")[0])


def test_progress_follows_the_running_run(tmp_db):
    _run("r1", tmp_db, "success")
    store.create_run("r2", {}, "hash", "test", url=tmp_db)
    store.update_progress("r2", 0.42, "backtesting 5/12 series", url=tmp_db)
    value, label, animated, msg, sig = cb.render_refresh_progress(3, "")
    assert value == 42 and label == "42%" and animated is True
    assert "backtesting 5/12 series" in msg and sig == "r2|running"
    # the same signature again: no new value, so the history table is not redrawn on every poll
    assert cb.render_refresh_progress(4, "r2|running")[4] is cb.no_update
    store.publish_run("r2", 12, 5.0, url=tmp_db)
    value, _, animated, msg, sig = cb.render_refresh_progress(5, "r2|running")
    assert (value, animated, sig) == (100, False, "r2|success") and "success" in msg


def test_next_runs_of_a_cron_expression():
    now = dt.datetime(2026, 11, 23, 1, 30, tzinfo=dt.timezone.utc)
    got = cb.next_runs("0 3 * * *", now, n=2, timezone=dt.timezone.utc)
    assert got == [dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.timezone.utc),
                   dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.timezone.utc)]
    assert cb.next_runs("*/15 * * * *", now, n=1, timezone=dt.timezone.utc)[0].minute == 45
    assert cb.next_runs("30 4 * * mon", now, n=1, timezone=dt.timezone.utc)[0].strftime("%a %H:%M") == "Mon 04:30"


def test_schedule_card_and_bad_cron(monkeypatch):
    monkeypatch.setenv("SALES_SCHEDULE", "30 4 * * sat")
    card = str(cb.render_schedule("x"))
    assert "30 4 * * sat" in card and card.count("Sat 20") == 3 and "day-of-week field is numeric" not in card
    monkeypatch.setenv("SALES_SCHEDULE", "30 4 * * 1")
    assert "day-of-week field is numeric" in str(cb.render_schedule("x"))
    monkeypatch.setenv("SALES_SCHEDULE", "not a cron")
    assert "not a crontab expression" in str(cb.render_schedule("x"))


def test_status_filter_goes_to_the_url():
    assert cb.sync_runs_url("failed") == "?status=failed"
    assert cb.sync_runs_url("all") == ""


def test_start_refresh_ignores_no_click():
    with pytest.raises(cb.PreventUpdate):
        cb.start_refresh(None)
