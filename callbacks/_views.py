"""Page reads that combine store queries with the pages' rules in ``analytics`` (Overview KPIs and movers,
Explore's drill-down); callbacks memoize these like any store reader."""
from __future__ import annotations

import pandas as pd

from analytics import drilldown, kpis
from data import store


def overview_summary(period_days: int = 28) -> dict:
    """KPIs of the Overview page for the last ``period_days`` days of data.

    Keys: ``first_date, last_date, imported_at, dataset``; with data ``start, end, sales, n, prev_sales,
    prev_n, ly_sales, ly_n`` (see :func:`analytics.kpis.period_kpis`); ``run_id, run_finished_at`` of the
    current run (None without one) and with it the forecast totals (:func:`analytics.kpis.forecast_kpis`) and
    accuracy (``wape_total, wape_median, wape_n``: :func:`data.run_accuracy.chosen_wape`, stored at publish);
    plus ``last_run_status``, ``last_run_error`` and ``last_run_started_at``.
    """
    first, last = store.date_bounds()
    out: dict = {"last_date": last, "first_date": first}
    latest = store.latest_dataset()
    out["imported_at"] = latest["imported_at"] if latest else None
    out["dataset"] = latest["name"] if latest else None
    if last is not None:
        periods = kpis.comparison_periods(last, period_days)
        out.update(kpis.period_kpis(periods, store.period_totals("total", periods)))
    run = store.current_run()
    out["run_id"] = run["run_id"] if run else None
    out["run_finished_at"] = run["finished_at"] if run else None
    if run:
        out.update(kpis.forecast_kpis(store.forecast("total", run_id=run["run_id"])))
        out.update(store.chosen_wape(run["run_id"]))
    out.update(kpis.last_run_kpis(store.runs(limit=1)))
    return out


def movers(level: str, period_days: int = 28, n: int = 5) -> pd.DataFrame:
    """Top and bottom ``n`` nodes of ``level`` by growth of the last ``period_days`` vs the period before
    (see :func:`analytics.kpis.rank_movers`)."""
    _, last = store.date_bounds()
    if last is None:
        return pd.DataFrame(columns=kpis.MOVERS_COLUMNS)
    periods = kpis.comparison_periods(last, period_days)
    sales = store.level_period_sales(level, periods["current"], periods["previous"])
    return kpis.rank_movers(sales, n)


def selection_nodes(region: str | None = None, stores=(), category: str | None = None, products=()) -> dict:
    """Explore's selection: ``nodes``, ``children`` and ``child_level`` (see
    :func:`analytics.drilldown.select_nodes`), plus the data's ``first`` and ``last`` date (ISO strings, for
    the default date filters) and its frequency ``freq`` ("D"/"W")."""
    if not store.has_nodes():
        return {"nodes": [], "children": [], "child_level": None, "first": None, "last": None, "freq": "D"}
    sel = drilldown.select_nodes(region, stores, category, products, store.node_ids)
    first, last = store.date_bounds()
    return {**sel, "first": first.date().isoformat() if first is not None else None,
            "last": last.date().isoformat() if last is not None else None, "freq": store.frequency()}
