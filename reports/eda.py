"""The EDA report: data summary and quality, trends, seasonality, distributions, correlations, the cleaning applied.

Everything is read from the live database: the quality checks run again (:func:`analytics.quality.quality_report`,
the same as ``cli.py quality``), the total series is decomposed (:mod:`analytics.decomposition`), the bottom series
are summarised (:func:`analytics.summaries.node_summary`); correlations come from the effects job's saved frame when
it has run, else they are computed on the store level (:func:`analytics.correlations.correlation_matrix`).
"""
from __future__ import annotations

import json

import pandas as pd

from analytics import correlations, decomposition, quality, summaries
from data import store
from domain import Frames
from layouts import figures
from reports import TITLES
from reports._common import num, num2, pct, pct_signed, saved_frame, total_series
from reports.document import Document


def build(url: str | None = None) -> Document:
    """The EDA report of the database at ``url`` (default: ``SALES_DB``)."""
    summary = store.data_summary(url=url)
    if not summary["rows"]:
        raise ValueError(f"no sales data in {store.resolve_url(url)}: run `python cli.py demo` or "
                         "`python cli.py ingest` first")
    freq = store.frequency(url)
    doc = Document(TITLES["eda"], f"Data set {store.dataset_name(url)!r}, {summary['start']} to {summary['end']}")
    datasets = store.datasets(url=url)
    report = quality.quality_report(store.sales_columns(url=url), datasets, frequency=freq, node_keys=store.node_keys)
    _summary(doc, summary, report, datasets)
    _quality(doc, report)
    total = total_series(url)
    _trends(doc, total, freq)
    _seasonality(doc, total, freq, url)
    bottom = store.bottom_frame(url=url)
    _distributions(doc, total, bottom, freq)
    _correlations(doc, url)
    _cleaning(doc, report, datasets, freq)
    return doc


def _summary(doc: Document, summary: dict, report: dict, datasets: pd.DataFrame) -> None:
    s = doc.section("summary", "Data summary")
    s.kpis([("Rows", num(summary["rows"]), {"D": "daily", "W": "weekly"}.get(report["frequency"], report["frequency"]) + " data"),
            ("Series", num(report["series"]), f"{report['stores']} stores x {report['products']} products"),
            ("History", f"{summary['days']:,} days", f"{summary['start']} to {summary['end']}"),
            ("Coverage", pct(report["coverage"]["overall"], 1), "of series x calendar dates present")])
    levels = pd.DataFrame(sorted(summary["levels"].items()), columns=["level", "nodes"])
    s.heading("Nodes per hierarchy level").table(levels)
    cols = [c for c in ("name", "source", "frequency", "start_date", "end_date", "rows_read", "rows_written",
                        "rows_rejected", "duplicates", "imported_at") if c in datasets]
    s.heading("Import log").table(datasets[cols], {"rows_read": num, "rows_written": num, "rows_rejected": num,
                                                   "duplicates": num})


def _quality(doc: Document, r: dict) -> None:
    s = doc.section("quality", "Data quality")
    s.bullets(r["issues"])
    m, d, n, o, c = (r["missing_dates"], r["duplicates"], r["negative_sales"], r["outliers"], r["closed_days"])
    checks = pd.DataFrame([
        ("Missing dates", m["total"], pct(m["share"], 2), f"{m['series_with_gaps']:,} series with gaps"),
        ("Duplicates", d["at_import"] + d["in_facts"], "–",
         f"{d['at_import']:,} dropped at import, {d['in_facts']:,} duplicate keys left"),
        ("Negative sales", n["count"], pct(n["share"], 3), f"in {n['series']:,} series"),
        ("Outliers", o["count"], pct(o["share"], 3), o["method"]),
        ("Closed days", c["count"], pct(c["share"], 2), f"{c['closed_with_sales']:,} with non-zero sales"),
        ("Coverage", r["coverage"]["grid_dates"], pct(r["coverage"]["overall"], 2),
         "rows present / (series x calendar dates)")], columns=["check", "count", "share", "detail"])
    s.table(checks, {"count": num})
    if o["examples"]:
        s.heading("Largest outliers (flagged, not removed)").table(
            pd.DataFrame(o["examples"]), {"sales": num, "baseline": num, "robust_z": num2}, max_rows=10)
    stores = pd.DataFrame(r["coverage"]["stores"])
    if not stores.empty:
        s.heading("Stores with the lowest date coverage").table(
            stores.head(10), {"coverage": pct, "rows": num, "dates": num, "products": num})


def _trends(doc: Document, total: pd.DataFrame, freq: str) -> None:
    s = doc.section("trends", "Trends")
    last = total["ds"].max()
    start = max(total["ds"].min(), last - pd.DateOffset(years=1) + pd.Timedelta(days=1))
    s.text("Total sales per week over the last year, with the same weeks a year earlier (dashed).")
    s.figure(figures.series_yoy(total[["ds", "y"]], start, "W" if freq == "D" else "D"))
    yoy = decomposition.year_over_year(total[["ds", "y"]])
    yearly = yoy.groupby("year").agg(sales=("y", "sum"), months=("month", "nunique")).reset_index()
    yearly["growth"] = yearly["sales"] / yearly["sales"].shift(1) - 1
    yearly.loc[(yearly["months"] < 12) | (yearly["months"].shift(1) < 12), "growth"] = float("nan")
    s.heading("Sales per year (months scaled to full length; growth only between full years)").table(
        yearly, {"sales": num, "growth": pct_signed})


def _seasonality(doc: Document, total: pd.DataFrame, freq: str, url: str | None) -> None:
    s = doc.section("seasonality", "Seasonality")
    comp = decomposition.decompose_history(total[["ds", "y"]])
    if comp is not None and not comp.empty:
        strengths = decomposition.strength(comp)
        s.text("STL/MSTL decomposition of total sales; strengths are Hyndman's (0 = none, 1 = all the variation): "
               + ", ".join(f"{_strength_name(k)} {float(v):.2f}" for k, v in strengths.items()) + ".")
    s.figure(figures.decomposition_chart(comp), height=460)
    periods = decomposition.detect_periods(total[["ds", "y"]], freq)
    s.heading("Seasonal periods tested on total sales (periodogram F test, Bonferroni, alpha 0.01)").table(
        periods, {"period": num2, "strength": lambda v: f"{v:.3f}", "p_value": lambda v: f"{v:.2g}"})
    s.heading("Mean sales by " + ("day of week and ISO week" if freq == "D" else "month and year"))
    s.figure(figures.seasonal_heatmap(total[["ds", "y"]], freq), height=260)
    saved, level = saved_frame(Frames.SEASONALITY, url)
    if saved is not None and not saved.empty:
        detected = saved[saved["detected"].astype(bool)].groupby("name")["series_id"].nunique()
        n = saved["series_id"].nunique()
        s.note(f"At the {level} level (effects job): " + ", ".join(
            f"{name} seasonality detected in {k} of {n} nodes" for name, k in detected.items()) + ".")


def _strength_name(key: str) -> str:
    """``seasonal_strength_7`` -> ``seasonal strength (period 7)``; ``trend_strength`` -> ``trend strength``."""
    head, _, period = key.rpartition("_")
    return f"{head.replace('_', ' ')} (period {period})" if period.isdigit() else key.replace("_", " ")


def _distributions(doc: Document, total: pd.DataFrame, bottom: pd.DataFrame, freq: str) -> None:
    s = doc.section("distributions", "Distributions")
    unit = "day" if freq == "D" else "week"
    s.text(f"Total sales per {unit}.")
    s.figure(figures.value_histogram(total[["ds", "y"]], freq), height=260)
    nodes = summaries.node_summary(bottom[["series_id", "ds", "y"]], freq)
    stats = nodes[["mean", "cv", "zero_share", "yoy_growth"]].describe(percentiles=[0.1, 0.5, 0.9]).T
    stats = stats.reset_index().rename(columns={"index": "per store x product"})
    s.heading("Store x product series: spread of their statistics").table(
        stats.drop(columns=["count", "std"]), {c: num2 for c in ("mean", "min", "10%", "50%", "90%", "max")})
    classes = pd.crosstab(nodes["abc"], nodes["xyz"]).rename_axis(index="abc \\ xyz", columns=None).reset_index()
    s.heading("ABC (share of sales) x XYZ (monthly variability) classes: series per class").table(classes)
    s.heading("Largest series").table(
        nodes.head(10)[["series_id", "total", "mean", "cv", "zero_share", "yoy_growth", "abc", "xyz"]],
        {"total": num, "mean": num, "cv": num2, "zero_share": pct, "yoy_growth": pct_signed})


def _correlations(doc: Document, url: str | None) -> None:
    s = doc.section("correlations", "Correlations with drivers")
    corr, level = saved_frame(Frames.CORRELATIONS, url)
    if corr is None or corr.empty:
        level = "store"
        corr = correlations.correlation_matrix(store.level_frame(level, url=url))
    s.text(f"Within-series Pearson correlations of log sales and the drivers at the {level} level, with 95% "
           "Fisher-z intervals; (ns) marks a correlation not significant at 5%.")
    s.figure(figures.correlation_heatmap(corr), height=420)
    sales = corr[(corr["var1"] == "log_sales") | (corr["var2"] == "log_sales")].copy()
    sales["driver"] = sales["var2"].where(sales["var1"] == "log_sales", sales["var1"])
    sales = sales.reindex(sales["r"].abs().sort_values(ascending=False).index)
    s.table(sales[["driver", "r", "ci_low", "ci_high", "p", "n"]],
            {"r": num2, "ci_low": num2, "ci_high": num2, "p": lambda v: f"{v:.2g}", "n": num})
    lag, _ = saved_frame(Frames.PROMO_LAG_CORRELATION, url)
    if lag is not None and not lag.empty:
        s.heading("Promotion against sales at lags (negative lag: promotion before the sales)").table(
            lag, {"r": num2, "ci_low": num2, "ci_high": num2, "p": lambda v: f"{v:.2g}", "n": num})


def _cleaning(doc: Document, r: dict, datasets: pd.DataFrame, freq: str) -> None:
    s = doc.section("cleaning", "Cleaning applied")
    rows = []
    for d in datasets.itertuples():
        rows.append(f"Import {d.name!r}: {int(d.rows_read):,} rows read, {int(d.rows_written):,} written, "
                    f"{int(d.rows_rejected):,} rejected by validation, {int(d.duplicates):,} duplicate "
                    "(date, store, product) rows dropped (the last one kept).")
        details = json.loads(d.details) if isinstance(getattr(d, "details", None), str) and d.details else {}
        if isinstance(details.get("dirt"), dict):
            rows.append("Planted by the demo generator: " + ", ".join(
                f"{k.replace('_', ' ')} {v:,}" for k, v in details["dirt"].items() if isinstance(v, int)) + ".")
    unit = "day" if freq == "D" else "week"
    rows += [f"Missing dates: the refresh puts every series on a regular {unit} grid up to the last date; a missing "
             f"{unit} counts as zero sales ({r['missing_dates']['total']:,} such gaps now).",
             "Drivers (promotion, price, weather, holiday flags): gaps are filled forward then backward within the "
             "series; no open flag means open.",
             f"Outliers ({r['outliers']['count']:,}) and negative sales ({r['negative_sales']['count']:,}) are "
             "flagged here, not removed: the models see the data as imported.",
             "Closed days are forecast as zero from the calendar's closures (daily data)."]
    s.bullets(rows)
