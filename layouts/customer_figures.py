"""The Customers page's figures (DataFrame -> plotly figure dict): segments, segment products, CLV distribution,
cohort retention heatmap."""
from __future__ import annotations

import numpy as np
import pandas as pd

from layouts.figures import HEAT_SCALE, HIGHLIGHT, MUTED, Figure, _fast, _values, _vline, empty_figure


def segments_chart(seg: pd.DataFrame, selected: str | None = None) -> Figure:
    """Customers (bars) and share of revenue (markers, right axis) per RFM segment; the selected one highlighted."""
    if seg is None or seg.empty:
        return empty_figure("No segments yet")
    colors = [HIGHLIGHT if s == selected else "#93c5fd" for s in seg["segment"]]
    bars = {"type": "bar", "x": _values(seg["segment"]), "y": _values(seg["customers"]), "name": "Customers",
            "marker": {"color": colors}, "hovertemplate": "%{x}: %{y:,} customers<extra></extra>"}
    share = {"type": "scatter", "mode": "markers", "x": _values(seg["segment"]), "y": _values(seg["revenue_share"]),
             "yaxis": "y2", "name": "Share of revenue", "marker": {"color": "#ea580c", "size": 9, "symbol": "diamond"},
             "hovertemplate": "%{x}: %{y:.1%} of revenue<extra></extra>"}
    return _fast([bars, share], hovermode="closest", yaxis={"title": {"text": "Customers"}},
                 yaxis2={"title": {"text": "Share of revenue"}, "overlaying": "y", "side": "right",
                         "tickformat": ".0%", "showgrid": False, "rangemode": "tozero"},
                 xaxis={"type": "category"})


def products_chart(prod: pd.DataFrame, segment: str) -> Figure:
    """The products a segment's customers buy: revenue per product, largest first (horizontal bars)."""
    if prod is None or prod.empty:
        return empty_figure(f"No purchases by the segment {segment!r}" if segment else "Pick a segment")
    p = prod.sort_values("revenue")
    bar = {"type": "bar", "orientation": "h", "x": _values(p["revenue"]), "y": _values(p["product"].astype(str)),
           "marker": {"color": HIGHLIGHT}, "customdata": np.column_stack([_values(p["customers"]), _values(p["share"])]),
           "hovertemplate": "%{y}: %{x:,.0f} revenue, %{customdata[0]:,} customers, "
                            "%{customdata[1]:.1%} of the segment<extra></extra>"}
    return _fast([bar], hovermode="closest", xaxis={"title": {"text": f"Revenue from '{segment}' customers"}},
                 yaxis={"type": "category", "automargin": True})


def clv_histogram(scores: pd.DataFrame, horizon: str) -> Figure:
    """Distribution of the customers' CLV (log-spaced bins), with the mean marked."""
    if scores is None or scores.empty:
        return empty_figure("No CLV yet")
    v = scores["clv"].to_numpy(float)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return empty_figure("Every CLV is zero")
    edges = np.geomspace(max(v.min(), 1e-2), v.max() * 1.0001, 31)
    counts, _ = np.histogram(v, edges)
    mids = np.sqrt(edges[:-1] * edges[1:])
    bars = {"type": "bar", "x": mids.tolist(), "y": counts.tolist(), "width": np.diff(edges).tolist(),
            "marker": {"color": HIGHLIGHT}, "name": "Customers",
            "hovertemplate": "CLV about %{x:,.2f}: %{y:,} customers<extra></extra>"}
    return _fast([bars], hovermode="closest", shapes=[_vline(float(v.mean()), MUTED, "dash")],
                 xaxis={"type": "log", "title": {"text": f"Expected CLV over {horizon} (log scale; dashed: mean)"}},
                 yaxis={"title": {"text": "Customers"}}, bargap=0.05)


def cohort_heatmap(coh: pd.DataFrame, max_period: int = 18) -> Figure:
    """Retention by first-purchase month (rows) and months since (columns)."""
    if coh is None or coh.empty:
        return empty_figure("No cohorts yet")
    c = coh[coh["period"] <= max_period]
    pivot = c.pivot_table(index="cohort", columns="period", values="retention", aggfunc="mean")
    sizes = c.groupby("cohort")["customers"].first().reindex(pivot.index)
    z = pivot.to_numpy()
    heat = {"type": "heatmap", "z": np.where(np.isnan(z), None, z).tolist(), "x": [int(p) for p in pivot.columns],
            "y": [f"{k} ({int(n):,})" for k, n in zip(pivot.index, sizes)], "colorscale": HEAT_SCALE,
            "zmin": 0, "zmax": float(np.nanmax(np.where(pivot.columns.to_numpy()[None, :] > 0, z, np.nan)))
            if pivot.shape[1] > 1 else 1.0,
            "colorbar": {"title": {"text": "Active"}, "tickformat": ".0%"},
            "hovertemplate": "cohort %{y}, month %{x}: %{z:.1%} active<extra></extra>"}
    return _fast([heat], hovermode="closest", xaxis={"title": {"text": "Months since the first purchase"}},
                 yaxis={"type": "category", "autorange": "reversed", "title": {"text": "First purchase (customers)"}})
