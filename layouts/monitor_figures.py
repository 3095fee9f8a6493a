"""The Monitoring page's figures: live accuracy over time against the backtest band, accuracy by horizon step,
interval coverage over time (trace-only figure dicts, as layouts/figures.py builds them)."""
from __future__ import annotations

import pandas as pd

from layouts.figures import DOWN, HIGHLIGHT, MUTED, UP, _fast, _rgba, empty_figure


def accuracy_over_time(per_day: pd.DataFrame, metric: str, band: dict | None):
    """``metric`` of the published forecasts per date; the backtest's range over folds as a shaded band and its
    mean as a dashed line (WAPE only: the backtest stores no pooled MASE per level)."""
    if per_day is None or per_day.empty:
        return empty_figure("No actuals after the published run yet: import new sales to score its forecasts")
    x = pd.to_datetime(per_day["ds"]).dt.strftime("%Y-%m-%d").tolist()
    data = []
    if band and metric == "wape" and band.get("wape_lo") is not None:
        data += [{"type": "scatter", "x": [x[0], x[-1]], "y": [band["wape_hi"]] * 2, "mode": "lines",
                  "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"},
                 {"type": "scatter", "x": [x[0], x[-1]], "y": [band["wape_lo"]] * 2, "mode": "lines",
                  "line": {"width": 0}, "fill": "tonexty", "fillcolor": _rgba(MUTED, 0.18),
                  "name": "backtest range (folds)", "hoverinfo": "skip"},
                 {"type": "scatter", "x": [x[0], x[-1]], "y": [band["wape_expected"]] * 2, "mode": "lines",
                  "line": {"color": MUTED, "dash": "dash"}, "name": "backtest mean"}]
    data.append({"type": "scatter", "x": x, "y": per_day[metric].tolist(), "mode": "lines+markers",
                 "line": {"color": HIGHLIGHT}, "name": f"live {metric.upper()}",
                 "hovertemplate": "%{x}: %{y:.3f}<extra></extra>"})
    return _fast(data, yaxis={"title": metric.upper(), "rangemode": "tozero"}, xaxis={"title": "Date"},
                 legend={"orientation": "h", "y": -0.25})


def accuracy_by_step(by_step: pd.DataFrame, metric: str):
    """``metric`` per horizon step (1 = the first period after the training data) with the points scored."""
    if by_step is None or by_step.empty:
        return empty_figure("No scored forecasts yet")
    return _fast([{"type": "bar", "x": by_step["step"].tolist(), "y": by_step[metric].tolist(),
                   "marker": {"color": HIGHLIGHT}, "customdata": by_step["n"].tolist(),
                   "hovertemplate": "step %{x}: %{y:.3f} (%{customdata} points)<extra></extra>"}],
                 xaxis={"title": "Horizon step", "dtick": 1}, yaxis={"title": metric.upper(), "rangemode": "tozero"})


def coverage_over_time(per_day: pd.DataFrame):
    """Share of actuals inside the 80% and 95% intervals per date, with the nominal levels as dotted lines."""
    if per_day is None or per_day.empty or per_day["coverage_80"].isna().all():
        return empty_figure("No interval forecasts scored yet")
    x = pd.to_datetime(per_day["ds"]).dt.strftime("%Y-%m-%d").tolist()
    data = []
    for level, color in ((80, UP), (95, DOWN)):
        data.append({"type": "scatter", "x": x, "y": per_day[f"coverage_{level}"].tolist(), "mode": "lines+markers",
                     "line": {"color": color}, "name": f"{level}% interval",
                     "hovertemplate": "%{x}: %{y:.0%}<extra>" + f"{level}%</extra>"})
        data.append({"type": "scatter", "x": [x[0], x[-1]], "y": [level / 100] * 2, "mode": "lines",
                     "line": {"color": color, "dash": "dot", "width": 1}, "showlegend": False,
                     "hoverinfo": "skip"})
    return _fast(data, yaxis={"title": "Coverage", "tickformat": ".0%", "range": [0, 1.05]},
                 xaxis={"title": "Date"}, legend={"orientation": "h", "y": -0.25})
