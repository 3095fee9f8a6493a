"""Promotions page callbacks: solve the calendar for the constraints shown, draw it, and apply it to the plan.

Both run as background callbacks (a child process of the app's DiskcacheManager), never in the web worker; the
solved calendar is shared through the database (:mod:`jobs.promo_saved`)."""
from __future__ import annotations

import pandas as pd
from dash import Input, Output, State, callback, html, no_update
from dash.exceptions import PreventUpdate

from callbacks._auth import audit, refused_alert
from callbacks._errors import guarded
from jobs import promo_opt_job, promo_saved
from layouts import components, ids, promo_figures
from layouts.figures import empty_figure

TABLE_COLUMNS = {"week_start": "Week", "store_id": "Store", "product_id": "Product", "category": "Category",
                 "depth": "Depth", "incr_units": "+Units", "incr_revenue": "+Revenue", "incr_margin": "+Margin",
                 "margin_95": "Margin 95%", "cost_source": "Unit cost from"}


def constraints(start, weeks, k, depths, budget) -> dict:
    """The form's values as the job's arguments (defaults: the first forecast week, 4 weeks or fewer)."""
    if not start:
        window = promo_opt_job.forecast_window()
        if window is None:
            raise ValueError("no forecasts yet: run `python cli.py refresh` first")
        start = str(window[0].date())
        weeks = weeks or max(1, min(4, ((window[1] - window[0]).days + 1) // 7))
    if weeks in (None, "") or k in (None, ""):
        raise ValueError("give the number of weeks and the most promotions per store-week")
    if float(weeks) != int(float(weeks)) or float(k) != int(float(k)):
        raise ValueError("weeks and promotions per store-week must be whole numbers")
    return {"start": str(start), "weeks": int(float(weeks)), "max_per_store_week": int(float(k)),
            "depths": list(promo_opt_job.parse_depths(depths or "")),
            "budget": None if budget in (None, "") else float(budget)}


def _interval(t: dict, name: str) -> str:
    return f"{t[name]:,.0f} [{t[name + '_lo_95']:,.0f}, {t[name + '_hi_95']:,.0f}]"


def summary_view(result: dict) -> html.Div:
    """KPI line of the calendar: promotions and expected extra units, revenue and margin with 95% intervals."""
    t = result["totals"]
    cards = [("promotions", "Promotions", f"{result['promotions']:,}",
              f"{result['start']} .. {result['end']}; {result['already_planned']} already planned"),
             ("units", "Expected extra units", _interval(t, "incr_units"), "95% interval"),
             ("revenue", "Expected extra revenue", _interval(t, "incr_revenue"), "95% interval"),
             ("margin", "Expected extra margin", _interval(t, "incr_margin"),
              f"95% interval; 80%: [{t['incr_margin_lo_80']:,.0f}, {t['incr_margin_hi_80']:,.0f}]")]
    cost = result["cost_source"]
    note = (f"Unit costs: {cost}" + (f" (default margin rate {result['default_margin_rate']:.0%}, "
                                     "SALES_DEFAULT_MARGIN_RATE)" if cost in ("default_margin_rate", "mixed") else "")
            + f"; discount cost {t['discount_cost']:,.0f}; solver {result['solver']} ({result['status']}). "
            "Intervals carry the uncertainty of the estimated lifts, not the forecast noise.")
    return html.Div([components.kpi_row(cards, ids.Promo.kpi_value, ids.Promo.kpi_detail),
                     html.P(note, className="small text-muted mt-2 mb-0")])


def table_view(lines: pd.DataFrame):
    """The chosen promotions as a table, best first."""
    if lines.empty:
        return components.empty_state("No promotion is expected to add margin under these constraints.")
    df = lines.sort_values("incr_margin", ascending=False).copy()
    df["week_start"] = df["week_start"].dt.strftime("%Y-%m-%d")
    df["depth"] = (df["depth"] * 100).round().astype(int).astype(str) + "%"
    df["margin_95"] = ("[" + df["incr_margin_lo_95"].map("{:,.0f}".format) + ", "
                       + df["incr_margin_hi_95"].map("{:,.0f}".format) + "]")
    for col in ("incr_units", "incr_revenue", "incr_margin"):
        df[col] = df[col].map("{:,.0f}".format)
    return components.frame_table(df[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS), max_rows=500)


def _failed(message: str):
    return (components.error_alert(message, title="Could not optimize"), empty_figure(message),
            components.empty_state(message), None, True, no_update)


# While a calendar is being solved: Optimize is disabled and the status line says so.
_RUNNING = [(Output(ids.Promo.RUN, "disabled"), True, False),
            (Output(ids.Promo.STATUS, "children"), "Optimizing the calendar in a background process...", "")]


@callback(Output(ids.Promo.SUMMARY, "children"), Output(ids.Promo.CALENDAR, "figure"),
          Output(ids.Promo.TABLE, "children"), Output(ids.Promo.PARAMS, "data"),
          Output(ids.Promo.APPLY, "disabled"), Output(ids.Promo.START, "value"),
          Input(ids.Promo.RUN, "n_clicks"),
          State(ids.Promo.START, "value"), State(ids.Promo.WEEKS, "value"),
          State(ids.Promo.MAX_PER_STORE_WEEK, "value"), State(ids.Promo.DEPTHS, "value"),
          State(ids.Promo.BUDGET, "value"), background=True, running=_RUNNING)
@guarded(_failed)
def render_promo_calendar(_n_clicks, start, weeks, k, depths, budget):
    """Draw the calendar when the page opens and on Optimize, in a background process: the one saved in the
    database for these constraints and data version, else solved there and saved (never in the web worker)."""
    if (denied := refused_alert("viewer")) is not None:
        return denied, empty_figure("Not allowed"), components.empty_state("Not allowed"), None, True, no_update
    params = constraints(start, weeks, k, depths, budget)
    result = promo_saved.cached_optimize(params["start"], params["weeks"], params["max_per_store_week"],
                                         params["depths"], params["budget"])
    lines = result.pop("calendar")
    return (summary_view(result), promo_figures.promo_calendar(lines), table_view(lines), params,
            lines.empty, params["start"])


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True), Input(ids.Promo.PARAMS, "data"),
          prevent_initial_call=True)
def sync_promo_url(params):
    """Write the constraints of the calendar shown into the URL, so the view can be bookmarked."""
    if not params:
        raise PreventUpdate
    return ids.to_search({"start": params["start"], "weeks": params["weeks"], "k": params["max_per_store_week"],
                          "depths": ",".join(f"{d:g}" for d in params["depths"]), "budget": params["budget"]})


@callback(Output(ids.Promo.APPLY_RESULT, "children"), Output(ids.Promo.APPLY, "disabled", allow_duplicate=True),
          Input(ids.Promo.APPLY, "n_clicks"), State(ids.Promo.PARAMS, "data"), prevent_initial_call=True,
          background=True, running=[(Output(ids.Promo.RUN, "disabled"), True, False)])
@guarded(lambda msg: (components.error_alert(msg, title="Could not apply"), False))
def apply_promo_calendar(n_clicks, params):
    """On Apply, write the calendar shown (the one saved for these constraints; solved first if the data changed
    since) to the plan (source "optimizer"), in a background process."""
    if not n_clicks or not params:
        raise PreventUpdate
    if (denied := refused_alert("analyst")) is not None:
        return denied, True
    result = promo_saved.cached_optimize(params["start"], params["weeks"], params["max_per_store_week"],
                                         params["depths"], params["budget"])
    applied = promo_opt_job.apply_calendar(result["calendar"])
    audit("plan.edit", {"op": "apply", "source": "optimizer", "params": params,
                        "promotions": result.get("promotions"), "rows": applied})
    return (components.info_alert(f"Applied {result['promotions']} promotions to the plan "
                                  f"({applied} plan rows, source optimizer).", color="success"), True)
