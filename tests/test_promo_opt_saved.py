"""Solved promotion calendars saved in the database (jobs/promo_saved.py) and the Promotions page's background
callbacks: a saved calendar is reused, a data version change solves again, Apply writes the saved one, old ones are
pruned, and the solve never runs in the web worker (the callbacks are declared background)."""
from __future__ import annotations

import pandas as pd
import pytest

from callbacks import promotions as cb
from data import store
from domain import BOTTOM_LEVEL
from jobs import promo_opt_job, promo_saved
from tests.promo_helpers import build_promo_db, private_copy


@pytest.fixture(scope="module")
def promo_master(small_demo_master, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return build_promo_db(small_demo_master, tmp_path_factory.mktemp("promo_saved") / "promo.db", mp)


@pytest.fixture
def promo_db(promo_master, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_DEFAULT_MARGIN_RATE", "0.6")
    return private_copy(promo_master, tmp_path, monkeypatch)


@pytest.fixture
def solves(monkeypatch):
    """Counts the real solver's calls."""
    calls = []
    real = promo_opt_job.optimize_promotions

    def counting(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(promo_opt_job, "optimize_promotions", counting)
    return calls


def _start(url: str) -> str:
    return str(store.forecasts_for_level(BOTTOM_LEVEL, url=url)["ds"].min().date())


def test_a_saved_calendar_is_reused_and_saving_it_keeps_the_data_version(promo_db, solves):
    start = _start(promo_db)
    version = store.data_version(promo_db)
    first = promo_saved.cached_optimize(start, 2, 1, [0.1, 0.2], None, url=promo_db)
    assert len(solves) == 1 and solves[0][1]["n_draws"] == promo_saved.N_DRAWS
    assert store.data_version(promo_db) == version  # the saved calendar is a cache, not data
    second = promo_saved.cached_optimize(start, 2, 1, (0.2, 0.1, 0.2), None, url=promo_db)  # same constraints
    assert len(solves) == 1 and second["saved_key"] == first["saved_key"]
    assert second["totals"] == first["totals"] and second["promotions"] == first["promotions"] > 0
    pd.testing.assert_frame_equal(second["calendar"], first["calendar"])
    cal = second["calendar"]
    assert cal["store_id"].map(type).eq(str).all() and pd.api.types.is_datetime64_any_dtype(cal["week_start"])
    promo_saved.cached_optimize(start, 2, 2, [0.1, 0.2], None, url=promo_db)  # other constraints: solved
    assert len(solves) == 2 and promo_saved.saved_count(promo_db) == 2


def test_a_data_version_change_solves_again(promo_db, solves):
    start = _start(promo_db)
    first = promo_saved.cached_optimize(start, 1, 1, [0.2], None, url=promo_db)
    promo_opt_job.apply_calendar(first["calendar"], url=promo_db)  # a plan change: a new data version
    second = promo_saved.cached_optimize(start, 1, 1, [0.2], None, url=promo_db)
    assert len(solves) == 2 and second["saved_key"] != first["saved_key"]
    assert second["already_planned"] == first["already_planned"] + first["promotions"]  # solved on the new plan
    assert first["promotions"] > 0


def test_old_calendars_are_pruned(promo_db, solves, monkeypatch):
    monkeypatch.setattr(promo_saved, "KEEP", 2)
    start = _start(promo_db)
    for k in (1, 2, 3):
        promo_saved.cached_optimize(start, 1, k, [0.2], None, url=promo_db)
    assert promo_saved.saved_count(promo_db) == 2
    promo_saved.cached_optimize(start, 1, 3, [0.2], None, url=promo_db)  # the newest is still there
    assert len(solves) == 3


def test_a_refused_constraint_saves_nothing(promo_db, solves):
    with pytest.raises(ValueError, match="between 0 and 1"):
        promo_saved.cached_optimize(_start(promo_db), 1, 1, [1.5], None, url=promo_db)
    assert promo_saved.saved_count(promo_db) == 0 and not solves


def test_a_request_waits_for_the_calendar_another_process_is_solving(promo_db, solves, monkeypatch):
    """Visitors arriving while another process solves the same calendar wait for its result, not solve again."""
    start = _start(promo_db)
    params = promo_saved.normalized(start, 1, 1, [0.2], None)
    version = store.data_version(promo_db)
    key = promo_saved.calendar_key(params, version)
    assert promo_saved._claim(key, version, promo_db) and not promo_saved._claim(key, version, promo_db)
    other = promo_opt_job.optimize_promotions(start, 1, 1, [0.2], None, url=promo_db, n_draws=promo_saved.N_DRAWS)
    solves.clear()
    naps = []

    def other_process_finishes(seconds):  # while this request waits, the claiming process saves its calendar
        naps.append(seconds)
        promo_saved._save(key, promo_saved._encode(other), version, promo_db)

    monkeypatch.setattr(promo_saved.time, "sleep", other_process_finishes)
    got = promo_saved.cached_optimize(start, 1, 1, [0.2], None, url=promo_db)
    assert naps and not solves and got["saved_key"] == key and got["totals"] == other["totals"]


def test_an_abandoned_claim_is_solved_over_and_a_failed_solve_leaves_none(promo_db, solves, monkeypatch):
    start = _start(promo_db)
    version = store.data_version(promo_db)
    key = promo_saved.calendar_key(promo_saved.normalized(start, 1, 1, [0.2], None), version)
    assert promo_saved._claim(key, version, promo_db)
    monkeypatch.setattr(promo_saved, "WAIT_S", 0.0)  # the claim is older than the longest wait: its process died
    monkeypatch.setattr(promo_saved.time, "sleep", lambda s: pytest.fail("waited for an abandoned claim"))
    assert promo_saved.cached_optimize(start, 1, 1, [0.2], None, url=promo_db)["promotions"] > 0
    assert len(solves) == 1 and promo_saved.load_saved(key, promo_db) is not None
    late = str((pd.Timestamp(start) + pd.Timedelta(days=7 * 52)).date())
    with pytest.raises(ValueError, match="forecast horizon"):
        promo_saved.cached_optimize(late, 1, 1, [0.2], None, url=promo_db)
    assert promo_saved.saved_count(promo_db) == 1  # the failed solve's claim is gone


def test_the_page_shows_and_applies_the_saved_calendar_without_solving_again(promo_db, solves):
    shown = cb.render_promo_calendar(1, None, 2, 1, "0.1,0.2", None)
    again = cb.render_promo_calendar(2, None, 2, 1, "0.2,0.1", None)
    assert len(solves) == 1 and str(again[0]) == str(shown[0]) and again[1] == shown[1]
    params = again[3]
    key = promo_saved.calendar_key(promo_saved.normalized(**params), store.data_version(promo_db))
    message, disabled = cb.apply_promo_calendar(1, params)
    assert len(solves) == 1 and "Applied" in str(message) and disabled is True
    plan = store.plan_rows(url=promo_db)
    plan = plan[plan["source"] == "optimizer"]
    lines = promo_saved.load_saved(key, promo_db)["calendar"]  # the calendar shown is what was written
    assert len(lines) > 0 and f"Applied {len(lines)} promotions" in str(message)
    assert set(zip(plan["store_id"], plan["product_id"], plan["promo_intensity"])) == set(
        zip(lines["store_id"], lines["product_id"], lines["depth"]))


def test_the_calendar_callbacks_run_in_the_background():
    import dash._callback as dash_callback

    from app import create_app
    app = create_app()
    specs = [*app._callback_list, *dash_callback.GLOBAL_CALLBACK_LIST]
    by_output = {s["output"]: s for s in specs}
    render = next(s for out, s in by_output.items() if "promo-summary.children" in out)
    apply = next(s for out, s in by_output.items() if "promo-apply-result.children" in out)
    for spec in (render, apply):
        assert spec["background"], spec["output"]
        assert spec["running"]["running"]["promo-optimize-button.disabled"] is True  # no second solve meanwhile


def test_the_background_calendar_checks_the_role_from_the_request_it_came_from(promo_db, solves):
    """With auth on, the background job takes the visitor from the callback context's cookies: a signed-in viewer
    sees the calendar, a visitor without a session gets the page's refusal and nothing is solved."""
    import contextvars

    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    import auth
    from auth import web
    auth.add_user("vic", "viewer", "viewer-pass")
    _p, token = web.login("vic", "viewer-pass", "127.0.0.1")

    def in_job(cookies, fn, *args):
        context_value.set(AttributeDict(headers={}, cookies=cookies))
        return fn(*args)

    refused = contextvars.copy_context().run(in_job, {}, cb.render_promo_calendar, 1, None, 1, 1, "0.2", None)
    assert "you are not signed in" in str(refused[0]) and refused[3] is None and refused[4] is True and not solves
    shown = contextvars.copy_context().run(in_job, {web.SESSION_COOKIE: token}, cb.render_promo_calendar,
                                           1, None, 1, 1, "0.2", None)
    assert "Expected extra margin" in str(shown[0]) and len(solves) == 1
    message, disabled = contextvars.copy_context().run(in_job, {web.SESSION_COOKIE: token},
                                                       cb.apply_promo_calendar, 1, shown[3])
    assert "needs the analyst role (vic is a viewer)" in str(message) and disabled is True
