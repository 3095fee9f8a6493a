"""The Forecast page's what-if panel: scenario controls, baseline-vs-scenario chart and the differences table.

Not a page (no ``register_page``): :mod:`layouts.forecast` places :func:`scenario_panel`, and
:mod:`callbacks.whatif` fills the chart and the table with :func:`scenario_chart` and :func:`difference_table`.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from layouts import components as c
from layouts import ids
from layouts.figures import ACTUAL, HIGHLIGHT, _fast, _rgba, empty_figure

MEASURE_LABELS = {"units": "Units", "revenue": "Revenue", "margin": "Margin"}


def scenario_panel() -> dbc.Card:
    """Promotion dates, depth, optional price, closed dates and a Run button above the scenario's results."""
    controls = dbc.Row([
        c.labeled("Promotion dates", dcc.DatePickerRange(id=ids.Fcst.WHATIF_PROMO, display_format="YYYY-MM-DD",
                                                         minimum_nights=0), width=4),
        c.labeled("Discount depth (0–0.95)", dbc.Input(id=ids.Fcst.WHATIF_DEPTH, type="number", value=0.2,
                                                       min=0, max=0.95, step=0.05, size="sm"), width=2),
        c.labeled("Promotion price (optional)", dbc.Input(id=ids.Fcst.WHATIF_PRICE, type="number", min=0,
                                                          step=0.01, size="sm", placeholder="e.g. 2.49"), width=2),
        c.labeled("Closed dates (optional)", dcc.DatePickerRange(id=ids.Fcst.WHATIF_CLOSED, clearable=True,
                                                                 display_format="YYYY-MM-DD", minimum_nights=0),
                  width=3),
        dbc.Col([dbc.Label("\u00a0", className="small d-block mb-0"),
                 dbc.Button("Run", id=ids.Fcst.WHATIF_RUN, color="primary", size="sm")], width=1),
    ], className="g-2 mb-2")
    return dbc.Card(dbc.CardBody([
        html.H6("What-if scenario", className="card-title mb-1"),
        html.P("The published forecast of this node (baseline) against the same forecast with a promotion: the "
               "estimated promotion lift of each category (proportional to the depth, or the price elasticity "
               "when a price is given), the post-promotion dip, and closed days at 0. Intervals include the "
               "uncertainty of the estimated effects as well as the forecast's (Monte Carlo).",
               className="chart-explanation text-muted small"),
        controls,
        dcc.Loading([html.Div(id=ids.Fcst.WHATIF_STATUS, className="small mb-2"),
                     dcc.Graph(id=ids.Fcst.WHATIF_CHART, figure=empty_figure("Choose dates and press Run"),
                               style={"height": "340px"}, config={"displaylogo": False}),
                     html.Div(id=ids.Fcst.WHATIF_TABLE)], type="circle"),
    ]), className="chart-card mb-3")


def scenario_chart(daily: pd.DataFrame) -> dict:
    """Baseline and scenario revenue per day (``ds, baseline, scenario`` and their ``_lo_95 .. _hi_95``)."""
    if daily.empty:
        return empty_figure("No scenario")
    x = daily["ds"].astype(str).to_numpy()
    data = []
    for name, color in (("baseline", ACTUAL), ("scenario", HIGHLIGHT)):
        data.append({"type": "scatter", "x": x, "y": daily[f"{name}_hi_95"].to_numpy(), "mode": "lines",
                     "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip", "name": f"{name} 95% upper"})
        data.append({"type": "scatter", "x": x, "y": daily[f"{name}_lo_95"].to_numpy(), "mode": "lines",
                     "line": {"width": 0}, "fill": "tonexty", "fillcolor": _rgba(color, 0.12),
                     "name": f"{name.capitalize()} 95% interval", "hoverinfo": "skip"})
        data.append({"type": "scatter", "x": x, "y": daily[name].to_numpy(), "mode": "lines+markers",
                     "name": name.capitalize(), "line": {"color": color, "width": 2,
                                                         "dash": "dot" if name == "baseline" else "solid"}})
    return _fast(data, yaxis={"title": {"text": "Sales"}})


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def difference_table(result: dict) -> html.Div:
    """Baseline, scenario and difference of units, revenue and margin with their 80% and 95% intervals."""
    head = html.Thead(html.Tr([html.Th(h) for h in ("", "Baseline", "Scenario", "Difference", "80% interval",
                                                    "95% interval")]))
    rows = []
    for m, label in MEASURE_LABELS.items():
        t = result.get(m)
        if t is None:
            continue
        d = t["difference"]
        rows.append(html.Tr([html.Td(label), html.Td(_fmt(t["baseline"]["estimate"])),
                             html.Td(_fmt(t["scenario"]["estimate"])), html.Td(f"{d['estimate']:+,.0f}"),
                             html.Td(f"{d['lo_80']:+,.0f} … {d['hi_80']:+,.0f}"),
                             html.Td(f"{d['lo_95']:+,.0f} … {d['hi_95']:+,.0f}")]))
    notes = []
    lf = result.get("promo_lift")
    if lf:
        notes.append(f"Sales lift on promotion days {lf['estimate']:+.1%} (95% {lf['lo_95']:+.1%} … "
                     f"{lf['hi_95']:+.1%}).")
    if result.get("margin_note"):
        notes.append(result["margin_note"].capitalize() + ".")
    notes.append(f"Totals over {result['horizon']['start']} – {result['horizon']['end']}; {result['draws']} draws, "
                 f"day-to-day correlation {result['day_correlation']}.")
    return html.Div([dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, className="mb-1"),
                     html.P(" ".join(notes), className="small text-muted mb-0")])
