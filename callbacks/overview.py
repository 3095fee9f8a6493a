"""Overview page callbacks: URL sync, KPI cards and alerts, the total fan chart and the movers chart."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from dash import Input, Output, callback
from dash.exceptions import PreventUpdate

import callbacks._views as _views
from callbacks._cache import memo
from callbacks._errors import guarded
from data import store
from jobs import lock
from layouts import components, figures, ids

STALE_AFTER_DAYS = 14  # data older than this (against today) is flagged as stale


def fmt_money(value) -> str:
    """Compact number: 1.2M, 35.4k, 950."""
    if value is None or pd.isna(value):
        return "–"
    v = float(value)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:,.1f}{suffix}"
    return f"{v:,.0f}"


def fmt_change(cur, ref) -> str:
    """Signed percentage change, or a dash when the reference is missing or zero."""
    if cur is None or ref is None or pd.isna(cur) or pd.isna(ref) or ref == 0:
        return "–"
    return f"{(cur / ref - 1) * 100:+.1f}%"


def kpi_texts(s: dict) -> dict:
    """(value, detail) text of every KPI card from :func:`callbacks._views.overview_summary`."""
    out = {}
    if s.get("last_date") is None:
        return {name: ("–", "no data yet") for name in ids.Overview.KPI_NAMES}
    period = f"{s['start']:%d %b %Y} – {s['end']:%d %b %Y}"
    out["sales"] = (fmt_money(s.get("sales")), period)
    out["vs-prev"] = (fmt_change(s.get("sales"), s.get("prev_sales")), f"previous: {fmt_money(s.get('prev_sales'))}")
    ly_ok = s.get("ly_n") and s.get("ly_n") == s.get("n")
    out["vs-ly"] = (fmt_change(s.get("sales"), s.get("ly_sales")) if ly_ok else "–",
                    f"last year: {fmt_money(s.get('ly_sales'))}" if ly_ok else "less than a year of history")
    if s.get("fc_total") is not None:
        out["forecast"] = (fmt_money(s["fc_total"]),
                           f"{s['horizon_start']:%d %b} – {s['horizon_end']:%d %b}; 80%: "
                           f"{fmt_money(s.get('fc_lo_80'))}–{fmt_money(s.get('fc_hi_80'))}")
    else:
        out["forecast"] = ("–", "no forecasts yet: run `python cli.py refresh`")
    if s.get("wape_total") is not None or s.get("wape_median") is not None:
        main = s.get("wape_total") if s.get("wape_total") is not None else s.get("wape_median")
        out["accuracy"] = (f"{main * 100:.1f}%", f"total series; median over {s.get('wape_n', 0)} series: "
                                                 f"{(s.get('wape_median') or 0) * 100:.1f}%")
    else:
        out["accuracy"] = ("–", "no backtest yet")
    age = (pd.Timestamp(dt.date.today()) - s["last_date"]).days
    out["freshness"] = (f"{s['last_date']:%d %b %Y}", f"last sale {age} days ago"
                        + (f"; imported {s['imported_at']:%d %b %H:%M}" if s.get("imported_at") is not None else ""))
    return out


def notices_for(s: dict) -> list[tuple[str, str]]:
    """(message, colour) of the Overview notices: empty store, no forecasts, failed refresh, stale data or forecasts."""
    if s.get("last_date") is None:
        return [(components.EMPTY_DATA, "info")]
    out = []
    if s.get("last_run_status") == "failed":
        out.append((f"The last refresh ({s['last_run_started_at']:%d %b %H:%M}) failed: "
                    f"{(s.get('last_run_error') or 'no message')[:300]}. The forecasts shown are from "
                    "the previous successful run.", "danger"))
    if s.get("run_id") is None:
        out.append((components.EMPTY_FORECASTS, "warning"))
    elif s.get("imported_at") is not None and s.get("run_finished_at") is not None \
            and s["imported_at"] > s["run_finished_at"]:
        out.append(("Data was imported after the current forecasts were made: run `python cli.py "
                    "refresh` to update them.", "warning"))
    age = (pd.Timestamp(dt.date.today()) - s["last_date"]).days
    if age > STALE_AFTER_DAYS:
        out.append((f"Stale data: the latest sale is from {s['last_date']:%d %b %Y}, {age} days ago.", "secondary"))
    return out


def _kpi_error(message: str) -> list:
    names = ids.Overview.KPI_NAMES
    alert = components.notices([(f"Could not read the store: {message}", "danger")])
    return ["–"] * len(names) + [""] * len(names) + [alert]


def _chart_error(message: str):
    return figures.empty_figure(f"Could not read the store: {message}")


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True),
          Input(ids.Overview.PERIOD, "value"), Input(ids.Overview.MOVERS_LEVEL, "value"),
          prevent_initial_call=True)
def sync_overview_url(period, level):
    """Write the period and the movers level into the URL when either changes."""
    return ids.to_search({"period": period, "movers": level})


@callback([Output(ids.kpi_value(n), "children") for n in ids.Overview.KPI_NAMES]
          + [Output(ids.kpi_detail(n), "children") for n in ids.Overview.KPI_NAMES]
          + [Output(ids.Overview.ALERTS, "children")],
          Input(ids.Overview.PERIOD, "value"))
@guarded(_kpi_error)
def render_overview_kpis(period):
    """Fill the KPI cards and the alerts when the period changes."""
    if not period:
        raise PreventUpdate
    lock.reap_dead_refresh()  # the last-refresh alert shows a refresh whose process died as failed at once
    summary = memo(_views.overview_summary, int(period))
    texts = kpi_texts(summary)
    names = ids.Overview.KPI_NAMES
    return [texts[n][0] for n in names] + [texts[n][1] for n in names] + [components.notices(notices_for(summary))]


@callback(Output(ids.Overview.FAN, "figure"), Input(ids.Overview.PERIOD, "value"))
@guarded(_chart_error)
def render_overview_fan(period):
    """Redraw the total sales history and forecast fan when the period changes."""
    if not period:
        raise PreventUpdate
    hist, fc = memo(store.history_and_forecast, "total", max(365, 4 * int(period)))
    if hist.empty:
        return figures.empty_figure("The store is empty: run `python cli.py demo`")
    return figures.fan_chart(hist, fc, title=None if len(fc) else "No forecasts yet: run `python cli.py refresh`")


@callback(Output(ids.Overview.MOVERS, "figure"),
          Input(ids.Overview.PERIOD, "value"), Input(ids.Overview.MOVERS_LEVEL, "value"))
@guarded(_chart_error)
def render_overview_movers(period, level):
    """Redraw the top/bottom movers when the period or the level (stores/products) changes."""
    if not period or level not in ("store", "product"):
        raise PreventUpdate
    return figures.movers_bar(memo(_views.movers, level, int(period), 5))
