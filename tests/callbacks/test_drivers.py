"""Drivers page callbacks called directly on frames saved under the names jobs/effects_job.py uses."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics.effects import promo_rows
from callbacks import drivers as cb
from data import store


def _save(url: str, frames: dict, level: str = "category") -> None:
    store.init_db(url)
    with store.session_scope(url=url) as s:
        for name, df in frames.items():
            store.save_frame(s, name, level, df)


EFFECTS = pd.DataFrame({
    "kind": ["promo_lift", "promo_lift", "promo_lift", "holiday", "temperature"],
    "group": ["Beverages", "Snacks", "Beverages", "Beverages", "Beverages"],
    "name": ["promotion", "promotion", "post_promotion_dip", "Christmas", "per_degC"],
    "estimate": [0.30, 0.15, -0.05, 0.5, 0.01], "ci_low": [0.25, 0.10, -0.08, 0.4, 0.0],
    "ci_high": [0.35, 0.20, -0.02, 0.6, 0.02], "unit": ["relative"] * 4 + ["relative_per_degC"],
    "n": [100] * 5, "truth": [0.28, 0.16, None, None, None]})
STUDY = pd.DataFrame({"group": ["Beverages"] * 3 + ["Snacks"] * 3 + ["Beverages"] * 3,
                      "holiday": ["Christmas"] * 6 + ["Labor Day"] * 3, "offset": [-1, 0, 1] * 3,
                      "estimate": [0.1, 0.5, -0.1, 0.05, 0.3, 0.0, 0.0, 0.05, 0.0],
                      "ci_low": [0.0, 0.4, -0.2, 0.0, 0.2, -0.1, -0.1, 0.0, -0.1],
                      "ci_high": [0.2, 0.6, 0.0, 0.1, 0.4, 0.1, 0.1, 0.1, 0.1], "n": 10, "closed_share": 0.0})
CURVE = pd.DataFrame({"group": ["Beverages"] * 3, "variable": "temp_c", "bin_low": [0, 10, 20],
                      "bin_high": [10, 20, 30], "bin_mid": [5, 15, 25], "temp_c": [5, 15, 25],
                      "estimate": [-0.1, 0.0, 0.1], "ci_low": [-0.15, 0.0, 0.05], "ci_high": [-0.05, 0.0, 0.15],
                      "n": 50, "reference": [False, True, False]})
CORR = pd.DataFrame({"var1": ["log_sales", "log_sales", "promo"], "var2": ["promo", "temp_c", "temp_c"],
                     "r": [0.4, 0.1, 0.0], "p": [0.001, 0.3, 0.9], "ci_low": 0.0, "ci_high": 0.5, "n": 100})
BY_STORE = pd.DataFrame({"group": ["1", "2"], "store_id": ["1", "2"], "estimate": [0.2, 0.3],
                         "ci_low": [0.1, 0.2], "ci_high": [0.3, 0.4], "n": [40, 40]})


def test_empty_state_before_effects_are_computed(tmp_db):
    store.init_db(tmp_db)
    assert "No effects computed yet: run `python cli.py effects`" in str(cb.render_drivers_status("category"))
    for render in (cb.render_promo_lift_chart, cb.render_promo_store_chart, cb.render_temperature_chart,
                   cb.render_precipitation_chart, cb.render_correlation_chart):
        assert go.Figure(render("category")).layout.annotations[0].text == cb.NO_EFFECTS
    assert go.Figure(cb.render_event_study_chart("category", None)).layout.annotations[0].text == cb.NO_EFFECTS
    assert cb.render_holiday_options("category") == []


def test_charts_read_the_saved_effects(tmp_db):
    _save(tmp_db, {"effects": EFFECTS, "holiday_event_study": STUDY, "temperature_curve": CURVE,
                   "correlations": CORR, "promo_by_store": BY_STORE})
    status = str(cb.render_drivers_status("category"))
    assert "computed" in status and "category" in status
    assert "run `python cli.py effects --level store`" in str(cb.render_drivers_status("store"))

    promo = go.Figure(cb.render_promo_lift_chart("category"))
    est = promo.data[0]
    assert list(est.y) == ["Snacks", "Beverages"] and list(est.x) == pytest.approx([0.15, 0.30])  # the dip row is left out
    assert list(est.error_x.array) == pytest.approx([0.05, 0.05])
    assert promo.data[1].name == "planted truth"

    assert [o["value"] for o in cb.render_holiday_options("category")] == ["Christmas", "Labor Day"]
    default = go.Figure(cb.render_event_study_chart("category", None))
    assert default.layout.title.text == "Christmas" and {t.name for t in default.data} == {"Beverages", "Snacks"}
    labor = go.Figure(cb.render_event_study_chart("category", "Labor Day"))
    assert labor.layout.title.text == "Labor Day" and [t.name for t in labor.data] == ["Beverages"]

    temp = go.Figure(cb.render_temperature_chart("category"))
    assert list(temp.data[-1].x) == [5, 15, 25] and temp.data[-1].name == "Beverages"
    assert go.Figure(cb.render_precipitation_chart("category")).layout.annotations[0].text == cb.NO_EFFECTS
    heat = go.Figure(cb.render_correlation_chart("category"))
    assert heat.data[0].z[0][1] == pytest.approx(0.4) and heat.data[0].z[1][0] == pytest.approx(0.4)
    assert "(ns)" in heat.data[0].text[0][2]  # temp_c vs log sales, p = 0.3
    assert list(go.Figure(cb.render_promo_store_chart("category")).data[0].y) == ["1", "2"]


def test_markdown_intensity_is_shown_when_there_is_no_promo_flag():
    eff = EFFECTS.assign(name=EFFECTS["name"].replace({"promotion": "promo_intensity"}))
    assert list(promo_rows(eff)["name"].unique()) == ["promo_intensity"]


def test_level_and_holiday_go_to_the_url():
    assert cb.sync_drivers_url("store", "Christmas Day") == "?level=store&holiday=Christmas+Day"
    assert cb.sync_drivers_url("category", None) == ""


@pytest.mark.slow  # the real effects job on the small demo: ~15 s alone, over a minute on a busy machine
def test_on_the_demo_effects(small_demo_db):
    from jobs import effects_job
    effects_job.run_effects(level="category", save=True, extras=False)
    assert "computed" in str(cb.render_drivers_status("category"))
    promo = go.Figure(cb.render_promo_lift_chart("category"))
    assert len(promo.data[0].x) >= 1 and min(promo.data[0].error_x.arrayminus) >= 0
    assert cb.render_holiday_options("category")
    assert go.Figure(cb.render_event_study_chart("category", None)).data
