"""The few report charts no page draws (the pages' builders live in ``layouts/figures.py`` and are reused as is).

Figure dicts in the dashboard's theme (``layouts.figures.TEMPLATE``), validated by the report tests.
"""
from __future__ import annotations

import pandas as pd

from layouts import figures


def grouped_bars(df: pd.DataFrame, x: str, y: str, group: str, y_title: str, percent: bool = True) -> dict:
    """One bar per ``x`` for each ``group`` side by side (e.g. WAPE per level for each candidate model)."""
    if df is None or df.empty:
        return figures.empty_figure("Nothing to compare")
    order = list(dict.fromkeys(df[x].astype(str)))
    data = []
    for name, d in df.groupby(group, sort=False):
        d = d.set_index(d[x].astype(str)).reindex(order)
        data.append({"type": "bar", "name": str(name), "x": order, "y": d[y].tolist(),
                     "marker": {"color": figures.model_color(str(name))}})
    return {"data": data, "layout": {"template": {"layout": figures.TEMPLATE.layout.to_plotly_json()},
                                     "barmode": "group", "yaxis": {"title": {"text": y_title},
                                                                   "tickformat": ".0%" if percent else None},
                                     "legend": {"orientation": "h", "y": -0.2}, "hovermode": "closest"}}


def interval_points(df: pd.DataFrame, label: str, value: str, low: str, high: str, nominal: float,
                    x_title: str) -> dict:
    """``value`` with its interval per ``label`` (horizontal), and the ``nominal`` target as a dashed line."""
    if df is None or df.empty:
        return figures.empty_figure("Nothing to show")
    d = df.reset_index(drop=True)
    point = {"type": "scatter", "mode": "markers", "x": d[value].tolist(), "y": d[label].astype(str).tolist(),
             "marker": {"size": 9, "color": figures.HIGHLIGHT}, "name": value,
             "error_x": {"type": "data", "symmetric": False, "array": (d[high] - d[value]).tolist(),
                         "arrayminus": (d[value] - d[low]).tolist(), "color": figures.MUTED}}
    line = {"type": "line", "xref": "x", "yref": "paper", "x0": nominal, "x1": nominal, "y0": 0, "y1": 1,
            "line": {"color": figures.DOWN, "dash": "dash", "width": 1}}
    return {"data": [point], "layout": {"template": {"layout": figures.TEMPLATE.layout.to_plotly_json()},
                                        "shapes": [line], "showlegend": False, "hovermode": "closest",
                                        "xaxis": {"title": {"text": x_title}, "tickformat": ".0%"},
                                        "yaxis": {"type": "category", "automargin": True}}}
