"""Forecast page what-if panel: the horizon's dates for the pickers, and running a scenario on "Run"."""
from __future__ import annotations

import pandas as pd
from dash import Input, Output, State, callback
from dash.exceptions import PreventUpdate

from callbacks._auth import refused_alert
from callbacks._cache import memo
from callbacks._errors import guarded
from data import store
from jobs import whatif_job
from layouts import components, figures, ids, whatif_panel

_EMPTY = (None, None, None, None, None, None, None, None)
PANEL_DRAWS = 1000  # fewer than the CLI's 2000: the page answers in a fraction of a second


@callback(Output(ids.Fcst.WHATIF_PROMO, "start_date"), Output(ids.Fcst.WHATIF_PROMO, "end_date"),
          Output(ids.Fcst.WHATIF_PROMO, "min_date_allowed"), Output(ids.Fcst.WHATIF_PROMO, "max_date_allowed"),
          Output(ids.Fcst.WHATIF_CLOSED, "min_date_allowed"), Output(ids.Fcst.WHATIF_CLOSED, "max_date_allowed"),
          Output(ids.Fcst.WHATIF_PROMO, "initial_visible_month"),
          Output(ids.Fcst.WHATIF_CLOSED, "initial_visible_month"),
          Input(ids.Fcst.NODE, "value"))
@guarded(lambda _msg: _EMPTY)
def fill_whatif_dates(node):
    """Limit the pickers to the node's forecast horizon and propose its first week as the promotion."""
    if not node:
        raise PreventUpdate
    fc = memo(store.forecast, node, None, "final")
    if fc.empty:
        return _EMPTY
    days = [str(d.date()) for d in pd.to_datetime(fc["ds"]).sort_values()]
    first, last = days[0], days[-1]
    return first, days[min(6, len(days) - 1)], first, last, first, last, first, first


def _value(v):
    return None if v in (None, "") else v


@callback(Output(ids.Fcst.WHATIF_CHART, "figure"), Output(ids.Fcst.WHATIF_TABLE, "children"),
          Output(ids.Fcst.WHATIF_STATUS, "children"),
          inputs=dict(n=Input(ids.Fcst.WHATIF_RUN, "n_clicks")),
          state=dict(node=State(ids.Fcst.NODE, "value"), promo_start=State(ids.Fcst.WHATIF_PROMO, "start_date"),
                     promo_end=State(ids.Fcst.WHATIF_PROMO, "end_date"), depth=State(ids.Fcst.WHATIF_DEPTH, "value"),
                     price=State(ids.Fcst.WHATIF_PRICE, "value"),
                     closed_start=State(ids.Fcst.WHATIF_CLOSED, "start_date"),
                     closed_end=State(ids.Fcst.WHATIF_CLOSED, "end_date")),
          prevent_initial_call=True)
@guarded(lambda msg: (figures.empty_figure("Cannot run this scenario"), None, components.error_alert(msg)))
def render_whatif(n, node, promo_start, promo_end, depth, price, closed_start, closed_end):
    """On "Run", simulate the scenario for the shown node and draw baseline vs scenario with the differences."""
    if not n or not node:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return figures.empty_figure("Not allowed"), None, denied
    if not promo_start or not promo_end:
        return (figures.empty_figure("Choose the promotion dates"), None,
                components.info_alert("Choose the promotion dates first.", color="warning"))
    closed = f"{closed_start[:10]}:{closed_end[:10]}" if closed_start and closed_end else None
    try:
        result = memo(whatif_job.run_whatif, node, f"{promo_start[:10]}:{promo_end[:10]}",
                      0.2 if depth is None else float(depth), _value(price) and float(price), closed, PANEL_DRAWS)
    except ValueError as exc:  # a refusal (dates outside the horizon, no effects yet...): its one line
        return figures.empty_figure("Scenario refused"), None, components.error_alert(str(exc),
                                                                                      title="Cannot run")
    daily = pd.DataFrame(result["daily"])
    status = (f"{result['node']}: promotion {result['promo']['start']} – {result['promo']['end']} over "
              f"{result['series']} series ({', '.join(result['categories'])}).")
    return whatif_panel.scenario_chart(daily), whatif_panel.difference_table(result), status
