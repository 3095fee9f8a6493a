"""The Inventory page's figures (DataFrame -> plotly figure dict): service-vs-inventory curve and projected stock."""
from __future__ import annotations

import pandas as pd

from layouts.figures import (ACTUAL, DOWN, HIGHLIGHT, MUTED, PALETTE, UP, Figure, _fast, _hline, _rgba, _values,
                             _vline, empty_figure)

POLICY_COLORS = {"ours": HIGHLIGHT, "naive": "#9ca3af", "rule": "#ea580c", "perfect": UP}
AXIS_TITLES = {"avg_inventory_units": "Average inventory (units)", "avg_inventory_value": "Average inventory (value)"}


def tradeoff_chart(df: pd.DataFrame, x: str = "avg_inventory_units") -> Figure:
    """Achieved cycle service level against average inventory, one line per policy, one point per target level."""
    if df is None or df.empty or x not in df:
        return empty_figure("No trade-off curve yet")
    data = []
    for i, (policy, part) in enumerate(df.sort_values(["policy", "target_csl"]).groupby("policy", sort=False)):
        color = POLICY_COLORS.get(policy, PALETTE[i % len(PALETTE)])
        text = [f"target {t:.0%}" for t in part["target_csl"]]
        data.append({"type": "scatter", "x": _values(part[x]), "y": _values(part["achieved_csl"]),
                     "mode": "lines+markers", "name": policy, "text": text,
                     "line": {"color": color, "width": 2}, "marker": {"size": 6},
                     "hovertemplate": f"{policy}: %{{text}}<br>achieved %{{y:.1%}}<br>%{{x:,.1f}}<extra></extra>"})
    return _fast(data, xaxis={"title": {"text": AXIS_TITLES.get(x, x)}},
                 yaxis={"title": {"text": "Achieved cycle service level"}, "tickformat": ".0%"},
                 hovermode="closest")


def projection_chart(history: pd.DataFrame, forecast: pd.DataFrame, projection: pd.DataFrame,
                     levels: dict, orders: pd.DataFrame | None = None) -> Figure:
    """Recent sales, forecast demand with 80/95% bands, expected stock with and without today's order, open
    orders' arrivals and the reorder point / order-up-to level (``levels``: name -> value) as dashed lines."""
    if forecast.empty and history.empty:
        return empty_figure("No history or forecast for this series: run `python cli.py refresh`")
    data, shapes, notes = [], [], []
    if not forecast.empty:
        x = _values(forecast["ds"])
        for level, alpha in ((95, 0.12), (80, 0.25)):
            lo, hi = f"yhat_lo_{level}", f"yhat_hi_{level}"
            if lo in forecast and forecast[lo].notna().any():
                data.append({"type": "scatter", "x": x, "y": _values(forecast[hi]), "mode": "lines",
                             "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip",
                             "name": f"demand {level}% upper"})
                data.append({"type": "scatter", "x": x, "y": _values(forecast[lo]), "mode": "lines",
                             "line": {"width": 0}, "fill": "tonexty", "fillcolor": _rgba(MUTED, alpha),
                             "name": f"Demand {level}% interval", "hoverinfo": "skip"})
        data.append({"type": "scatter", "x": x, "y": _values(forecast["yhat"]), "mode": "lines",
                     "name": "Forecast demand", "line": {"color": MUTED, "width": 1.5, "dash": "dot"}})
        shapes.append(_vline(forecast["ds"].min()))
    if not history.empty:
        data.append({"type": "scatter", "x": _values(history["ds"]), "y": _values(history["y"]), "mode": "lines",
                     "name": "Sales", "line": {"color": ACTUAL, "width": 1.2}})
    if not projection.empty:
        x = _values(projection["ds"])
        data.append({"type": "scatter", "x": x, "y": _values(projection["stock_with_order"]), "mode": "lines",
                     "name": "Stock with today's order", "line": {"color": HIGHLIGHT, "width": 2.5, "shape": "hv"}})
        data.append({"type": "scatter", "x": x, "y": _values(projection["stock_without_order"]), "mode": "lines",
                     "name": "Stock without it", "line": {"color": DOWN, "width": 1.5, "dash": "dash", "shape": "hv"}})
    if orders is not None and len(orders):
        data.append({"type": "bar", "x": _values(pd.to_datetime(orders["arrival_date"])),
                     "y": _values(orders["quantity"]), "name": "On order (arrivals)",
                     "marker": {"color": _rgba(UP, 0.6)}, "width": 86_400_000 * 0.6})
    for name, value in levels.items():
        if value is not None and pd.notna(value):
            shapes.append(_hline(float(value), color=HIGHLIGHT if "up-to" in name else DOWN))
            notes.append({"text": f"{name} {float(value):,.1f}", "xref": "paper", "x": 1, "xanchor": "right",
                          "y": float(value), "yref": "y", "showarrow": False, "yanchor": "bottom",
                          "font": {"size": 11, "color": MUTED}})
    return _fast(data, shapes=shapes, annotations=notes, yaxis={"title": {"text": "Units"}}, barmode="overlay")
