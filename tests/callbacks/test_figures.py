"""Figure functions: every figure, built fast from dicts where possible, must pass plotly's validation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from layouts import figures as F

DAYS = pd.date_range("2021-01-01", periods=800, freq="D")
HIST = pd.DataFrame({"ds": DAYS, "y": 100 + 10 * np.sin(np.arange(800) / 7)})
FC = pd.DataFrame({"ds": pd.date_range("2023-03-12", periods=14), "yhat": 100.0, "yhat_lo_80": 90.0,
                   "yhat_hi_80": 110.0, "yhat_lo_95": 80.0, "yhat_hi_95": 120.0})
NODES = pd.DataFrame({"node_id": ["store=1", "store=2"], "label": ["Store 1", "Store 2"], "sales": [5.0, 7.0],
                      "growth": [0.1, -0.2], "category": ["Food", None]})

CASES = {
    "empty": lambda: F.empty_figure("nothing"),
    "fan": lambda: F.fan_chart(HIST, FC, model="ets", title="t"),
    "fan_history_only": lambda: F.fan_chart(HIST, FC.iloc[0:0]),
    "past": lambda: F.past_runs_chart(HIST, FC.assign(run_id="r1")),
    "acf": lambda: F.acf_bars([1.0, 0.5, -0.1, 0.02], 100),
    "acf_no_n": lambda: F.acf_bars([0.5, -0.1], 0),
    "resid": lambda: F.residual_histogram([0.1, -0.2, 0.3]),
    "movers": lambda: F.movers_bar(NODES),
    "breakdown": lambda: F.breakdown_bar(NODES, "store"),
    "yoy_day": lambda: F.series_yoy(HIST, "2022-06-01", "D"),
    "yoy_week": lambda: F.series_yoy(HIST, "2022-06-01", "W"),
    "heat_daily": lambda: F.seasonal_heatmap(HIST),
    "heat_weekly": lambda: F.seasonal_heatmap(F.resample(HIST, "W")),
    "hist": lambda: F.value_histogram(HIST, "M"),
    "decomp": lambda: F.decomposition_chart(HIST.assign(trend=1.0, resid=0.0).rename(columns={"y": "observed"})),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_is_valid_plotly(name):
    fig = CASES[name]()
    go.Figure(fig)  # raises ValueError on any invalid property


def test_long_histories_use_webgl_and_short_ones_svg():
    long = pd.DataFrame({"ds": pd.date_range("2015-01-01", periods=F.WEBGL_POINTS + 1), "y": 1.0})
    assert go.Figure(F.fan_chart(long, FC)).data[-2].type == "scattergl"
    assert go.Figure(F.fan_chart(HIST.tail(100), FC)).data[-2].type == "scatter"


def test_colours_are_stable_per_name():
    assert F.category_color("Garden") == F.category_color("Garden")
    assert F.model_color("ets") == F.MODEL_COLORS["ets"]
    assert F.model_color("some_new_model") == F.category_color("some_new_model")


def test_weekly_heatmap_is_month_by_year():
    fig = go.Figure(F.seasonal_heatmap(F.resample(HIST, "W")))
    assert fig.layout.xaxis.title.text == "Month" and list(fig.data[0].y) == ["2021", "2022", "2023"]


def test_heatmap_darker_means_higher_as_its_caption_says():
    heat = F.seasonal_heatmap(HIST)["data"][0]  # what plotly.js receives
    assert not isinstance(heat["colorscale"], str)  # a name means different scales in plotly.py and plotly.js
    stops = [c for _, c in heat["colorscale"]]
    if heat.get("reversescale"):
        stops = stops[::-1]

    def luminance(colour: str) -> float:
        r, g, b = (float(v) for v in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert luminance(stops[-1]) < luminance(stops[0])  # the highest value gets the darkest colour
