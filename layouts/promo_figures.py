"""Figures of the Promotions page (pure DataFrame -> figure), kept apart from figures.py, which is near its size
limit; they use its theme."""
from __future__ import annotations

import pandas as pd

from layouts.figures import HEAT_SCALE, Figure, _fast, empty_figure


def promo_calendar(lines: pd.DataFrame) -> Figure:
    """The chosen promotions as a store x product by week grid, coloured by depth (hover: expected margin)."""
    if lines is None or lines.empty:
        return empty_figure("No promotion is expected to add margin under these constraints")
    df = lines.assign(row=lines["store_id"].astype(str) + " · " + lines["product_id"].astype(str))
    rows = sorted(df["row"].unique())
    weeks = sorted(df["week_start"].unique())
    depth = df.pivot_table(index="row", columns="week_start", values="depth", aggfunc="first").reindex(
        index=rows, columns=weeks)
    text = df.assign(t=df["category"].astype(str) + ", " + (df["depth"] * 100).round().astype(int).astype(str)
                     + "% off: +" + df["incr_margin"].round().astype(int).map("{:,}".format) + " margin ["
                     + df["incr_margin_lo_95"].round().astype(int).map("{:,}".format) + ", "
                     + df["incr_margin_hi_95"].round().astype(int).map("{:,}".format) + "]")
    hover = text.pivot_table(index="row", columns="week_start", values="t", aggfunc="first").reindex(
        index=rows, columns=weeks)
    z = depth.to_numpy(dtype=float) * 100
    trace = {"type": "heatmap", "x": [str(w)[:10] for w in weeks], "y": rows, "z": z.tolist(),
             "text": hover.fillna("").to_numpy().tolist(), "hovertemplate": "%{y}, week of %{x}<br>%{text}"
             "<extra></extra>", "colorscale": HEAT_SCALE, "zmin": 0, "xgap": 2, "ygap": 2,
             "colorbar": {"title": {"text": "% off"}}}
    return _fast([trace], xaxis={"title": {"text": "week starting"}, "type": "category"},
                 yaxis={"autorange": "reversed", "type": "category"}, hovermode="closest")
