"""Pure figure functions (DataFrame -> figure) with the dashboard's one theme and colour maps.

A figure is plotly's figure dict when built from trace dicts (the fast path of most charts) or a ``go.Figure``
when built with plotly's helpers (subplots, reference lines); ``dcc.Graph`` takes either.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import plotly.colors as pc
import plotly.graph_objects as go

Figure = dict | go.Figure  # what the builders return and dcc.Graph accepts

# ----------------------------------------------------------------------------- theme and colours

FONT = "Inter, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK = "#1f2a37"
MUTED = "#6b7280"
GRID = "#e5e7eb"
ACTUAL = "#1f2a37"
UP = "#15803d"
DOWN = "#b91c1c"
HIGHLIGHT = "#2563eb"
WEBGL_POINTS = 1500  # above this many points, line traces switch to Scattergl

MODEL_COLORS = {
    "seasonal_naive": "#9ca3af", "naive": "#6b7280", "ets": "#0d9488", "arima": "#7c3aed",
    "prophet": "#2563eb", "lgbm": "#ea580c", "rf": "#65a30d", "ensemble": "#db2777",
    "final": "#1d4ed8", "auto": "#0f766e",
}
PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#ca8a04", "#db2777",
           "#4b5563", "#65a30d", "#9333ea", "#0d9488", "#c2410c", "#1e40af", "#be123c", "#15803d",
           "#a16207", "#6d28d9", "#0369a1", "#b45309", "#047857", "#9f1239", "#4338ca", "#854d0e"]

TEMPLATE = go.layout.Template(layout=go.Layout(
    font=dict(family=FONT, size=12, color=INK),
    paper_bgcolor="white", plot_bgcolor="white",
    colorway=PALETTE,
    margin=dict(l=50, r=20, t=30, b=40),
    xaxis=dict(gridcolor=GRID, linecolor=GRID, zeroline=False, automargin=True),
    yaxis=dict(gridcolor=GRID, linecolor=GRID, zeroline=False, automargin=True, separatethousands=True),
    legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, bgcolor="rgba(0,0,0,0)"),
    hoverlabel=dict(font=dict(family=FONT)), hovermode="x unified",
))


def category_color(name: str) -> str:
    """The one colour of a category (or any named group), the same on every page and every dataset."""
    return PALETTE[zlib.crc32(str(name).encode()) % len(PALETTE)]


def model_color(model: str) -> str:
    """The one colour of a forecasting model; unknown models get a stable palette colour."""
    return MODEL_COLORS.get(model, category_color(model))


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def _themed(fig: go.Figure, **layout) -> go.Figure:
    fig.update_layout(template=TEMPLATE, **layout)
    return fig


def _line(n_points: int):
    """The trace class for a line of ``n_points`` (the validated twin of :func:`_scatter`)."""
    return {"scattergl": go.Scattergl, "scatter": go.Scatter}[_scatter(n_points)]


# Explicit light-to-dark stops: figures skip plotly.py's validation, and plotly.js's own named "Blues" runs
# dark-to-light, the opposite of plotly.py's, so a name would flip the heatmap's meaning.
HEAT_SCALE = [[i / (len(pc.sequential.Blues) - 1), c] for i, c in enumerate(pc.sequential.Blues)]

_TEMPLATE_JSON = {"layout": TEMPLATE.layout.to_plotly_json()}


def _fast(data: list[dict], **layout) -> dict:
    """A themed figure as plotly's figure dict (``{"data", "layout"}``, which ``dcc.Graph`` takes as is).

    Building a ``go.Figure`` validates every property, several times the cost of the dict, and these dicts are
    fixed by the functions below (a test validates every figure with ``go.Figure(fig)``), so callbacks stay fast.
    """
    layout = {k: v for k, v in layout.items() if v is not None}
    return {"data": data, "layout": {"template": _TEMPLATE_JSON, **layout}}


def _scatter(n_points: int) -> str:
    """WebGL above WEBGL_POINTS points, SVG below (the one place that threshold is applied)."""
    return "scattergl" if n_points > WEBGL_POINTS else "scatter"


def _vline(x, color: str = MUTED, dash: str = "dot") -> dict:
    return {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
            "line": {"color": color, "dash": dash, "width": 1}}


def _hline(y, color: str = MUTED, dash: str = "dash") -> dict:
    return {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": y, "y1": y,
            "line": {"color": color, "dash": dash, "width": 1}}


def _values(series) -> np.ndarray:
    return np.asarray(series)


def empty_figure(message: str = "No data for this selection") -> Figure:
    """A blank figure carrying a centred message (the empty state of every chart)."""
    note = {"text": message, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper", "showarrow": False,
            "font": {"size": 14, "color": MUTED}}
    return _fast([], annotations=[note], xaxis={"visible": False}, yaxis={"visible": False}, hovermode=False)


def resample(df: pd.DataFrame, gran: str, value: str = "y") -> pd.DataFrame:
    """Sum ``value`` by day (``"D"``), week (``"W"``, weeks ending Sunday) or month (``"M"``)."""
    if df.empty or gran == "D":
        return df[["ds", value]].copy()
    rule = {"W": "W-SUN", "M": "MS"}[gran]
    return df.set_index("ds")[value].resample(rule).sum(min_count=1).dropna().reset_index()


# ----------------------------------------------------------------------------- forecasts

def fan_chart(history: pd.DataFrame, forecast: pd.DataFrame, model: str = "final",
              title: str | None = None) -> Figure:
    """History (``ds, y``) followed by a forecast (``ds, yhat, yhat_lo/hi_80/95``) with 80% and 95% bands."""
    if history.empty and forecast.empty:
        return empty_figure("No history or forecast for this series")
    color = model_color(model)
    data, shapes = [], []
    if not forecast.empty:
        x = _values(forecast["ds"])
        for level, alpha in ((95, 0.15), (80, 0.3)):
            lo, hi = f"yhat_lo_{level}", f"yhat_hi_{level}"
            if lo in forecast and forecast[lo].notna().any():
                data.append({"type": "scatter", "x": x, "y": _values(forecast[hi]), "mode": "lines",
                             "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip",
                             "name": f"{level}% upper"})
                data.append({"type": "scatter", "x": x, "y": _values(forecast[lo]), "mode": "lines",
                             "line": {"width": 0}, "fill": "tonexty", "fillcolor": _rgba(color, alpha),
                             "name": f"{level}% interval", "hoverinfo": "skip"})
    if not history.empty:
        data.append({"type": _scatter(len(history)), "x": _values(history["ds"]), "y": _values(history["y"]),
                     "mode": "lines", "name": "Actual", "line": {"color": ACTUAL, "width": 1.4}})
    if not forecast.empty:
        data.append({"type": "scatter", "x": _values(forecast["ds"]), "y": _values(forecast["yhat"]),
                     "mode": "lines", "name": f"Forecast ({model})", "line": {"color": color, "width": 2}})
        shapes.append(_vline(forecast["ds"].min()))
    return _fast(data, title={"text": title} if title else None, yaxis={"title": {"text": "Sales"}},
                 shapes=shapes)


def past_runs_chart(actuals: pd.DataFrame, past: pd.DataFrame) -> Figure:
    """Forecasts of earlier runs (``run_id, ds, yhat``) against what actually happened (``ds, y``)."""
    if past.empty:
        return empty_figure("No earlier run overlaps the history yet: forecasts are compared once actuals arrive")
    data = [{"type": "scatter", "x": _values(part["ds"]), "y": _values(part["yhat"]), "mode": "lines",
             "name": f"run {str(run_id)[:8]}", "line": {"color": PALETTE[i % len(PALETTE)], "dash": "dash"}}
            for i, (run_id, part) in enumerate(past.groupby("run_id", sort=False))]
    if not actuals.empty:
        data.append({"type": "scatter", "x": _values(actuals["ds"]), "y": _values(actuals["y"]), "mode": "lines",
                     "name": "Actual", "line": {"color": ACTUAL, "width": 2}})
    return _fast(data, yaxis={"title": {"text": "Sales"}})


def acf_bars(acf: list[float], n_obs: int) -> Figure:
    """Residual autocorrelation by lag with the ±1.96/√n band (bars outside it suggest missed structure)."""
    if acf is None or len(acf) == 0:
        return empty_figure("No residual diagnostics for this series")
    values = list(acf)[1:] if len(acf) > 1 and abs(acf[0] - 1.0) < 1e-9 else list(acf)
    band = 1.96 / np.sqrt(n_obs) if n_obs > 0 else None  # unknown sample size: no band drawn
    colors = [DOWN if band is not None and abs(v) > band else HIGHLIGHT for v in values]
    bar = {"type": "bar", "x": list(range(1, len(values) + 1)), "y": values, "marker": {"color": colors},
           "name": "ACF"}
    shapes = [_hline(band), _hline(-band)] if band is not None else []
    return _fast([bar], shapes=shapes, xaxis={"title": {"text": "Lag"}},
                 yaxis={"title": {"text": "Autocorrelation"}}, showlegend=False, hovermode="closest")


def residual_histogram(residuals: list[float]) -> Figure:
    """Distribution of in-sample residuals (centred on 0 when the model is unbiased)."""
    if residuals is None or len(residuals) == 0:
        return empty_figure("No residuals stored for this series")
    hist = {"type": "histogram", "x": list(residuals), "nbinsx": 40, "marker": {"color": HIGHLIGHT},
            "opacity": 0.85}
    return _fast([hist], shapes=[_vline(0, ACTUAL)], xaxis={"title": {"text": "Residual"}},
                 yaxis={"title": {"text": "Count"}}, showlegend=False, hovermode="closest")


# ----------------------------------------------------------------------------- overview

def movers_bar(movers: pd.DataFrame) -> Figure:
    """Growth (%) of the top and bottom nodes, green up / red down (``label, growth``)."""
    if movers.empty:
        return empty_figure("Not enough history to compare periods")
    df = movers.sort_values("growth")
    bar = {"type": "bar", "x": _values(df["growth"] * 100), "y": list(df["label"]), "orientation": "h",
           "marker": {"color": [UP if g >= 0 else DOWN for g in df["growth"]]}, "customdata": list(df["node_id"]),
           "hovertemplate": "%{y}: %{x:.1f}%<extra></extra>"}
    return _fast([bar], xaxis={"title": {"text": "Change vs previous period (%)"}}, showlegend=False,
                 hovermode="closest", yaxis={"type": "category", "automargin": True, "gridcolor": GRID})


# ----------------------------------------------------------------------------- explore

def breakdown_bar(df: pd.DataFrame, child_label: str) -> Figure:
    """Total sales of each child node (``node_id, label, sales, category``); click a bar to drill into it."""
    if df.empty:
        return empty_figure("Nothing below this level: this is a single store x product series")
    d = df.sort_values("sales").tail(40)
    cats = d["category"] if "category" in d else [None] * len(d)
    colors = [category_color(c) if isinstance(c, str) and c else HIGHLIGHT for c in cats]
    bar = {"type": "bar", "x": _values(d["sales"]), "y": list(d["label"]), "orientation": "h",
           "marker": {"color": colors}, "customdata": list(d["node_id"]),
           "hovertemplate": "%{y}: %{x:,.0f}<extra>click to drill down</extra>"}
    return _fast([bar], xaxis={"title": {"text": f"Sales by {child_label}"}}, showlegend=False,
                 hovermode="closest", yaxis={"type": "category", "automargin": True}, clickmode="event")


def series_yoy(df: pd.DataFrame, start, gran: str, title: str = "") -> Figure:
    """The series from ``start`` on with the same dates one year earlier overlaid (dashed)."""
    if df.empty:
        return empty_figure()
    start = pd.Timestamp(start) if start is not None else df["ds"].min()
    cur = resample(df[df["ds"] >= start], gran)
    prev = resample(df[(df["ds"] < start) & (df["ds"] >= start - pd.DateOffset(years=1))], gran)
    data = []
    if not prev.empty:
        data.append({"type": _scatter(len(prev)), "x": _values(prev["ds"] + pd.DateOffset(years=1)),
                     "y": _values(prev["y"]), "mode": "lines", "name": "Last year",
                     "line": {"color": MUTED, "dash": "dash", "width": 1.2},
                     "customdata": list(prev["ds"].dt.strftime("%Y-%m-%d")),
                     "hovertemplate": "%{customdata}: %{y:,.0f}"})
    data.append({"type": _scatter(len(cur)), "x": _values(cur["ds"]), "y": _values(cur["y"]), "mode": "lines",
                 "name": "This period", "line": {"color": HIGHLIGHT, "width": 1.8}})
    return _fast(data, title={"text": title} if title else None, yaxis={"title": {"text": "Sales"}})


def seasonal_heatmap(df: pd.DataFrame, freq: str | None = None) -> Figure:
    """Mean sales by day of week x ISO week (daily data) or by month x year (weekly data).

    ``freq`` ("D"/"W") is inferred from the spacing of ``ds`` when not given.
    """
    if df.empty:
        return empty_figure()
    if freq is None:
        step = df["ds"].sort_values().diff().median()
        freq = "D" if pd.isna(step) or step <= pd.Timedelta(days=1) else "W"
    d = df[["ds", "y"]].copy()
    if freq == "D":
        d["row"], d["col"] = d["ds"].dt.dayofweek, d["ds"].dt.isocalendar().week.astype(int)
        rows, xlab = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "ISO week"
    else:
        d["row"], d["col"] = d["ds"].dt.year, d["ds"].dt.month
        rows, xlab = None, "Month"
    pivot = d.pivot_table(index="row", columns="col", values="y", aggfunc="mean")
    ylabels = [rows[i] for i in pivot.index] if rows else [str(i) for i in pivot.index]
    z = pivot.to_numpy()
    heat = {"type": "heatmap", "z": np.where(np.isnan(z), None, z).tolist(), "x": [int(c) for c in pivot.columns],
            "y": ylabels, "colorscale": HEAT_SCALE, "colorbar": {"title": {"text": "Mean"}},
            "hovertemplate": "%{y}, %{x}: %{z:,.0f}<extra></extra>"}
    return _fast([heat], xaxis={"title": {"text": xlab}}, hovermode="closest", yaxis={"type": "category"})


def decomposition_chart(comp: pd.DataFrame) -> Figure:
    """Stacked panels of the observed series and its trend, seasonal components and remainder.

    The panels are laid out as ``make_subplots(rows=n, shared_xaxes=True, vertical_spacing=0.03)`` lays them
    out, written as a figure dict: validating the subplot figure cost about 90 ms a redraw."""
    if comp is None or comp.empty:
        return empty_figure("Not enough history for a decomposition (needs two full seasonal cycles)")
    cols = [c for c in comp.columns if c != "ds"]
    n, gap = len(cols), 0.03
    height = (1 - gap * (n - 1)) / n
    x, kind = _values(comp["ds"]), _scatter(len(comp))
    data, axes, notes = [], {}, []
    for i, col in enumerate(cols, start=1):
        top = 1 - (i - 1) * (height + gap)
        suffix = "" if i == 1 else str(i)
        data.append({"type": kind, "x": x, "y": _values(comp[col]), "mode": "lines", "name": col,
                     "line": {"color": PALETTE[(i - 1) % len(PALETTE)], "width": 1.2},
                     "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})
        axes[f"xaxis{suffix}"] = {"anchor": f"y{suffix}", "domain": [0.0, 1.0],
                                  **({"matches": f"x{n}", "showticklabels": False} if i < n else {})}
        axes[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [max(top - height, 0.0), top]}
        notes.append({"text": col.replace("_", " "), "x": 0.5, "xanchor": "center", "xref": "paper", "y": top,
                      "yanchor": "bottom", "yref": "paper", "showarrow": False,
                      "font": {"size": 11, "color": MUTED}})
    return _fast(data, annotations=notes, showlegend=False, margin={"l": 50, "r": 20, "t": 30, "b": 30},
                 hovermode="x", **axes)


def value_histogram(df: pd.DataFrame, gran: str) -> Figure:
    """Distribution of the series' values at the chosen granularity, with the mean marked."""
    if df.empty:
        return empty_figure()
    values = resample(df, gran)["y"]
    mean = float(values.mean())
    hist = {"type": "histogram", "x": _values(values), "nbinsx": 40, "marker": {"color": HIGHLIGHT},
            "opacity": 0.85}
    note = {"text": f"mean {mean:,.0f}", "x": mean, "y": 1, "xref": "x", "yref": "paper", "showarrow": False,
            "yanchor": "bottom", "font": {"size": 11, "color": ACTUAL}}
    unit = {"D": "day", "W": "week"}.get(gran, "month")
    return _fast([hist], shapes=[_vline(mean, ACTUAL)], annotations=[note],
                 xaxis={"title": {"text": f"Sales per {unit}"}}, yaxis={"title": {"text": "Count"}},
                 showlegend=False, hovermode="closest")


# ----------------------------------------------------------------------------- drivers/data/runs
# Effects are relative changes (0.25 = +25%) with 95% CIs, as written by `python cli.py effects`.

def _pct_axis(fig: go.Figure, axis: str = "x") -> go.Figure:
    fig.update_layout(**{f"{axis}axis": dict(tickformat="+.0%", zeroline=True, zerolinecolor=MUTED)})
    return fig


def effect_bars(df: pd.DataFrame, label: str = "group", x_title: str = "Relative change (+20% = a fifth more)",
                color_by_group: bool = True) -> Figure:
    """Point estimates with 95% CI error bars, one row per ``label``, sorted by estimate.

    Needs ``estimate, ci_low, ci_high``; each row takes its group's colour (or one colour when
    ``color_by_group`` is False, e.g. for stores), and a ``truth`` column (the planted effect of demo data) is
    drawn as an open diamond so estimate and truth can be compared at a glance.
    """
    if df is None or df.empty:
        return empty_figure("No effects to show")
    d = df.sort_values("estimate").reset_index(drop=True)
    labels = d[label].astype(str)
    fig = go.Figure(go.Scatter(
        x=d["estimate"], y=labels, mode="markers", name="estimate (95% CI)",
        marker=dict(size=9, color=[category_color(v) for v in labels] if color_by_group else HIGHLIGHT),
        error_x=dict(type="data", symmetric=False, array=d["ci_high"] - d["estimate"],
                     arrayminus=d["estimate"] - d["ci_low"], thickness=1.5, width=4, color=MUTED),
        customdata=d[["ci_low", "ci_high"]].to_numpy(),
        hovertemplate="%{y}: %{x:+.1%} (95% CI %{customdata[0]:+.1%} to %{customdata[1]:+.1%})<extra></extra>"))
    has_truth = bool("truth" in d and d["truth"].notna().any())
    if has_truth:
        fig.add_trace(go.Scatter(x=d["truth"], y=labels, mode="markers", name="planted truth",
                                 marker=dict(symbol="diamond-open", size=11, color=INK),
                                 hovertemplate="%{y}: truth %{x:+.1%}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color=MUTED, width=1))
    return _pct_axis(_themed(fig, showlegend=has_truth, hovermode="closest", xaxis_title=x_title,
                             yaxis=dict(type="category", automargin=True, gridcolor=GRID)))


def event_study(df: pd.DataFrame, holiday: str, max_groups: int = 10) -> Figure:
    """Effect by offset from one holiday (``group, holiday, offset, estimate, ci_low, ci_high``), a line per group.

    At most ``max_groups`` groups are drawn: those with the largest effect on the holiday itself.
    """
    d_all = df[df["holiday"] == holiday] if df is not None and not df.empty else pd.DataFrame()
    if d_all.empty:
        return empty_figure("No holiday effects to show")
    if "group" not in d_all:
        d_all = d_all.assign(group="all")
    size = d_all.assign(a=d_all["estimate"].abs()).groupby("group")["a"].max().sort_values(ascending=False)
    fig = go.Figure()
    for group in size.index[:max_groups]:
        d = d_all[d_all["group"] == group].sort_values("offset")
        color = category_color(str(group))
        fig.add_trace(go.Scatter(
            x=d["offset"], y=d["estimate"], mode="lines+markers", name=str(group), line=dict(color=color),
            error_y=dict(type="data", symmetric=False, array=d["ci_high"] - d["estimate"],
                         arrayminus=d["estimate"] - d["ci_low"], thickness=1, width=3, color=color),
            hovertemplate=f"{group}<br>offset %{{x}}: %{{y:+.1%}}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color=MUTED, dash="dot", width=1))
    fig.add_hline(y=0, line=dict(color=MUTED, width=1))
    return _pct_axis(_themed(fig, title=dict(text=str(holiday), x=0.01, font=dict(size=13)),
                             xaxis_title="Periods from the holiday (0 = the holiday itself)",
                             hovermode="closest", xaxis=dict(dtick=1, gridcolor=GRID)), "y")


def response_curve(df: pd.DataFrame, x: str, x_title: str, max_groups: int = 10,
                   empty: str = "No weather effects to show") -> Figure:
    """A binned response curve: ``estimate`` with its 95% band (``ci_low, ci_high``) against ``x``, per ``group``.

    At most ``max_groups`` groups are drawn: those whose response varies most across the bins.
    """
    if df is None or df.empty or x not in df:
        return empty_figure(empty)
    fig = go.Figure()
    groups = [None]
    if "group" in df:
        spread = df.groupby("group")["estimate"].agg(lambda v: v.max() - v.min()).sort_values(ascending=False)
        groups = list(spread.index[:max_groups])
    for g in groups:
        d = (df[df["group"] == g] if g is not None else df).sort_values(x)
        name = str(g) if g is not None else "all"
        color = category_color(name)
        fig.add_trace(go.Scatter(x=d[x], y=d["ci_high"], mode="lines", line=dict(width=0), showlegend=False,
                                 hoverinfo="skip", legendgroup=name))
        fig.add_trace(go.Scatter(x=d[x], y=d["ci_low"], mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor=_rgba(color, 0.15), showlegend=False, hoverinfo="skip", legendgroup=name))
        fig.add_trace(go.Scatter(x=d[x], y=d["estimate"], mode="lines+markers", name=name, legendgroup=name,
                                 line=dict(color=color), marker=dict(size=5),
                                 hovertemplate=f"{name}<br>{x_title} %{{x:.1f}}: %{{y:+.1%}}<extra></extra>"))
    fig.add_hline(y=0, line=dict(color=MUTED, width=1))
    return _pct_axis(_themed(fig, xaxis_title=x_title, hovermode="closest"), "y")


def correlation_heatmap(df: pd.DataFrame) -> Figure:
    """Correlation matrix from long rows (``var1, var2, r`` and optionally ``p``) as a diverging heatmap.

    Cells whose ``p`` is 0.05 or more are labelled "(ns)": not significant at the 5% level.
    """
    if df is None or df.empty:
        return empty_figure("No correlations to show")
    order = list(dict.fromkeys(list(df["var1"]) + list(df["var2"])))

    def square(col: str) -> pd.DataFrame:
        m = df.pivot_table(index="var1", columns="var2", values=col, aggfunc="first").reindex(index=order,
                                                                                            columns=order)
        return m.combine_first(m.T)

    r = square("r")
    p = square("p") if "p" in df else None
    text = [[("" if pd.isna(v) else f"{v:.2f}")
             + ("" if p is None or pd.isna(p.iat[i, j]) or p.iat[i, j] < 0.05 or i == j else " (ns)")
             for j, v in enumerate(row)] for i, row in enumerate(r.to_numpy())]
    fig = go.Figure(go.Heatmap(z=r.to_numpy(), x=order, y=order, zmin=-1, zmax=1, colorscale="RdBu_r",
                               text=text, texttemplate="%{text}", colorbar=dict(title="r"),
                               hovertemplate="%{y} vs %{x}: r = %{z:.2f}<extra></extra>"))
    return _themed(fig, hovermode="closest", xaxis=dict(type="category", showgrid=False),
                   yaxis=dict(type="category", autorange="reversed", showgrid=False))


RUN_STATUS_COLORS = {"success": UP, "failed": DOWN, "running": HIGHLIGHT, "cancelled": MUTED, "skipped": "#ca8a04"}


def run_durations(df: pd.DataFrame) -> Figure:
    """Wall time of each refresh (``started_at, duration_s, status``), coloured by its outcome."""
    if df is None or df.empty or df["duration_s"].isna().all():
        return empty_figure("No finished refresh yet: run `python cli.py refresh` or press the button")
    fig = go.Figure()
    # one category per run (its start time): a date axis gives a lone run a bar as wide as the plot
    order = pd.to_datetime(df["started_at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    for status, d in df.assign(label=order).groupby("status", sort=False):
        fig.add_trace(go.Bar(x=d["label"], y=d["duration_s"], name=str(status),
                             marker_color=RUN_STATUS_COLORS.get(status, MUTED),
                             hovertemplate="%{x}: %{y:.1f} s<extra>" + str(status) + "</extra>"))
    return _themed(fig, yaxis_title="Duration (s)", hovermode="closest", barmode="overlay",
                   xaxis=dict(type="category", categoryorder="array", categoryarray=list(order),
                              title="Run started (UTC)"))
