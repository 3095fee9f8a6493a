"""Drivers page: promotion, holiday and weather effects with 95% confidence intervals, read from `cli.py effects`."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components, ids

dash.register_page(__name__, path="/drivers", name="Drivers", order=2, title="Drivers · Sales Forecasting")

LEVELS = {"category": "Category", "store": "Store", "region": "Region", "total": "Total"}


def layout(**query):
    level = ids.q_str(query, "level", "category", LEVELS)
    holiday = ids.q_str(query, "holiday")
    controls = dbc.Row([
        components.labeled("Effects estimated by", dbc.RadioItems(
            id=ids.Drivers.LEVEL, value=level, inline=True,
            options=[{"label": v, "value": k} for k, v in LEVELS.items()]), width=6),
        components.labeled("Holiday in the event study", dcc.Dropdown(
            id=ids.Drivers.HOLIDAY, value=holiday, options=[{"label": holiday, "value": holiday}] if holiday else [],
            placeholder="the largest holiday effect", clearable=True), width=6),
    ])
    return html.Div([
        components.page_header("Drivers", "How much promotions, holidays and the weather move sales, each with its "
                                          "95% confidence interval (computed by `python cli.py effects`)."),
        controls,
        html.Div(id=ids.Drivers.STATUS),
        dbc.Row([
            dbc.Col(components.chart_card(
                ids.Drivers.PROMO, "Promotion lift by group",
                "Each dot is the extra sales on promotion days compared with the same series without a promotion "
                "(+20% = a fifth more); the bar is the 95% CI, so a bar that crosses 0 is not a clear effect. With "
                "markdown amounts instead of an on/off flag (Walmart) it is the change per doubling of the markdown.",
                height=380), md=6),
            dbc.Col(components.chart_card(
                ids.Drivers.PROMO_STORE, "Promotion lift by store",
                "The same lift estimated store by store: stores to the right respond most to promotions; wide "
                "bars mean too few promotion days to be sure.", height=380), md=6),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(components.chart_card(
                ids.Drivers.EVENT, "Holiday event study",
                "Sales around one holiday relative to a normal period, one line per group: 0 on the x axis is the "
                "holiday itself, negative offsets the days or weeks before; whiskers are 95% CIs.", height=380), md=12),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(components.chart_card(
                ids.Drivers.TEMP, "Temperature response",
                "Sales at each temperature compared with the typical temperature, after removing the season; a "
                "rising line means warm weather sells more, the band is the 95% CI.", height=340), md=6),
            dbc.Col(components.chart_card(
                ids.Drivers.PRECIP, "Precipitation effect",
                "Sales on days with each amount of rain compared with dry days, after removing the season; a line "
                "below zero means rain keeps shoppers away, the band is the 95% CI.", height=340), md=6),
        ], className="g-3 mb-3"),
        components.chart_card(
            ids.Drivers.CORR, "Correlations between sales and drivers",
            "Pearson correlation of each pair (red positive, blue negative, 1 = move together perfectly); "
            "'(ns)' marks a correlation not significant at the 5% level.", height=420),
    ])
