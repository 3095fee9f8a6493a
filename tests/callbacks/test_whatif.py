"""Forecast page what-if callbacks called directly on the small demo store with a fake run and the effects."""
from __future__ import annotations

import plotly.graph_objects as go
import pytest

from callbacks import whatif as cb
from tests.dash_helpers import publish_fake_run

NODE = "store=01/product=P001"


@pytest.fixture
def ready_db(small_demo_db):
    from jobs import effects_job
    publish_fake_run(small_demo_db, horizon=14)
    effects_job.run_effects(level="category", save=True, url=small_demo_db, extras=False)
    return small_demo_db


def _run(**kw):
    args = dict(n=1, node=NODE, promo_start=None, promo_end=None, depth=0.2, price=None, closed_start=None,
                closed_end=None)
    args.update(kw)
    return cb.render_whatif(**args)


def test_pickers_span_the_horizon_and_propose_its_first_week(ready_db):
    start, end, lo, hi, clo, chi, *_ = cb.fill_whatif_dates(NODE)
    assert (start, lo, clo) == ("2023-01-01",) * 3 and (hi, chi) == ("2023-01-14",) * 2 and end == "2023-01-07"


def test_run_draws_baseline_and_scenario_with_a_differences_table(ready_db):
    fig, table, status = _run(promo_start="2023-01-03", promo_end="2023-01-06", closed_start="2023-01-12",
                              closed_end="2023-01-12T00:00:00")
    names = [t.name for t in go.Figure(fig).data]
    assert "Baseline" in names and "Scenario" in names
    text = str(table)
    assert "Revenue" in text and "Units" in text and "95% interval" in text
    assert "margin unavailable" in text.lower()
    assert NODE in status


@pytest.mark.parametrize("kw, message", [
    (dict(promo_start="2024-05-01", promo_end="2024-05-03"), "outside the forecast horizon"),
    (dict(promo_start="2023-01-03", promo_end="2023-01-04", depth=1.5), "--depth must be in [0, 1)"),
    (dict(promo_start="2023-01-03", promo_end="2023-01-04", node="nope"), "unknown node"),
])
def test_refusals_show_their_one_line_message(ready_db, kw, message):
    fig, table, status = _run(**kw)
    assert table is None and message in str(status)


def test_missing_dates_ask_for_them(ready_db):
    _, table, status = _run()
    assert table is None and "promotion dates" in str(status)
