"""The executive summary: the next horizon's forecast with intervals, accuracy against the naive baseline in plain
words, the largest drivers, and the inventory and promotion recommendations with their expected value.

Horizon totals are distributions of the *sum* (:func:`decisions.demand.fitted_window`: per-step sds from the stored
95% intervals, the residual autocorrelation of the node's chosen model), never sums of per-day bounds. The
recommendations are read as stored (``cli.py inventory``; the Promotions page's saved calendar); a calendar is solved
here only when none is saved for the current data and the network is small (:data:`PROMO_SOLVE_MAX_SERIES`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data import report_reads, store
from decisions.demand import fitted_window
from domain import BOTTOM_LEVEL, Frames
from jobs import inventory_job, promo_opt_job, promo_saved
from layouts import figures
from reports import TITLES
from reports._common import num, pct, pct_signed, published_run, saved_frame, total_series, with_ci
from reports.document import Document
from reports.model import mean_ci

PROMO_SOLVE_MAX_SERIES = 500  # solve the default calendar in the report only for networks this small


def build(url: str | None = None) -> Document:
    """The executive summary of the current run and saved decisions in the database at ``url``."""
    run = published_run(url)
    doc = Document(TITLES["executive"], f"Data set {store.dataset_name(url)!r}, forecast run {run['run_id']}")
    _forecast(doc, url)
    _accuracy(doc, run["run_id"], url)
    _drivers(doc, url)
    _inventory(doc, url)
    _promotions(doc, url)
    return doc


def horizon_totals(forecasts: pd.DataFrame, url: str | None = None) -> pd.DataFrame:
    """Per node: the forecast summed over the horizon with its 80% and 95% intervals (of the sum)."""
    ids = list(dict.fromkeys(forecasts["series_id"]))
    yhat, sigma = inventory_job.forecast_matrices(forecasts, ids)
    acf = np.zeros((len(ids), max(1, yhat.shape[1] - 1)))
    for i, sid in enumerate(ids):
        diag = store.diagnostics(sid, url=url)
        if len(diag) and len(diag["acf"].iloc[0]):
            values = np.asarray(diag["acf"].iloc[0], dtype=float)
            values = values[1:] if np.isclose(values[0], 1.0) else values
            acf[i, :min(acf.shape[1], len(values))] = values[:acf.shape[1]]
    demand = fitted_window(yhat, sigma, float(yhat.shape[1]), np.nan_to_num(acf))
    out = pd.DataFrame({"series_id": ids, "forecast": demand.mean})
    for q, name in ((0.025, "lo_95"), (0.10, "lo_80"), (0.90, "hi_80"), (0.975, "hi_95")):
        out[name] = demand.quantile(q)
    return out


def _forecast(doc: Document, url: str | None) -> None:
    s = doc.section("forecast", "Forecast for the next horizon")
    key = store.node_id("total")
    fc = store.forecast(key, url=url)
    if fc.empty:
        s.text("The published run has no forecast of total sales (it was refreshed without the total level): run "
               "`python cli.py refresh` with every level.")
        return
    history = total_series(url)[["ds", "y"]]
    start, end = fc["ds"].min(), fc["ds"].max()
    tot = horizon_totals(fc, url).iloc[0]
    last_year = history[(history["ds"] >= start - pd.DateOffset(years=1))
                        & (history["ds"] <= end - pd.DateOffset(years=1))]["y"].sum()
    growth = tot["forecast"] / last_year - 1 if last_year > 0 else np.nan
    s.kpis([("Expected sales", num(tot["forecast"]), f"{start.date()} to {end.date()} ({len(fc)} periods)"),
            ("95% interval", f"{num(tot['lo_95'])} – {num(tot['hi_95'])}", f"80%: {num(tot['lo_80'])} – "
                                                                         f"{num(tot['hi_80'])}"),
            ("Against last year", pct_signed(growth), f"same dates a year earlier: {num(last_year)}")])
    s.text(f"Total sales over the next {len(fc)} periods are expected at {num(tot['forecast'])}, with 95% "
           f"confidence between {num(tot['lo_95'])} and {num(tot['hi_95'])}"
           + (f" ({pct_signed(growth)} on the same dates last year)." if pd.notna(growth) else "."))
    recent = history[history["ds"] > start - pd.Timedelta(days=120)]
    s.heading("Total sales: the last 120 days and the forecast with its 80% and 95% bands")
    s.figure(figures.fan_chart(recent, fc), height=320)
    level = next((lv for lv in ("category", "region") if len(store.nodes(lv, url=url)) > 1), "store")
    by = horizon_totals(store.forecasts_for_level(level, url=url), url)
    by["share"] = by["forecast"] / by["forecast"].sum()
    field = {"store": "store_id"}.get(level, level)
    by["series_id"] = by["series_id"].map(lambda k: str(store.parse_node_id(k).get(field, k)))
    s.heading(f"By {level} (interval of each {level}'s horizon total)")
    s.table(by.rename(columns={"series_id": level}).sort_values("forecast", ascending=False),
            {"forecast": num, "lo_95": num, "lo_80": num, "hi_80": num, "hi_95": num, "share": pct})


def _accuracy(doc: Document, run_id: str, url: str | None) -> None:
    s = doc.section("accuracy", "Accuracy against the naive baseline")
    chosen = report_reads.chosen_backtests(run_id, url)
    naive = store.backtest_metrics(run_id=run_id, url=url)
    naive = naive[naive["model"] == "seasonal_naive"][["series_id", "fold", "wape"]]
    if chosen.empty or naive.empty:
        s.text("The run has no seasonal-naive backtest to compare with (add seasonal_naive to --models).")
        return
    pair = chosen.merge(naive.rename(columns={"wape": "naive_wape"}), on=["series_id", "fold"])
    rows, lines = [], []
    for level, label in (("total", "total sales"), (BOTTOM_LEVEL, "a single product in a single store")):
        d = pair[pair["level"] == level]
        if d.empty:
            continue
        ours, naive_w = mean_ci(d["wape"])[0], mean_ci(d["naive_wape"])[0]
        diff, lo, hi, n = mean_ci(d["naive_wape"] - d["wape"])
        rows.append({"level": level, "our_wape": ours, "naive_wape": naive_w, "reduction": 1 - ours / naive_w,
                     "gain_ci_low": lo, "gain_ci_high": hi, "rows": n})
        better = "fewer" if ours <= naive_w else "more"
        spread = (f"95% interval {pct(lo)} to {pct(hi)}" if np.isfinite(lo) else
                  "one backtest fold: too few for an interval")
        lines.append(f"For {label}, our forecasts missed by {pct(ours)} on average in the backtests, against "
                     f"{pct(naive_w)} for simply repeating last season's sales: {pct(abs(1 - ours / naive_w), 0)} "
                     f"{better} errors (difference {pct(diff)} of sales, {spread}).")
    s.bullets(lines)
    s.table(pd.DataFrame(rows), {"our_wape": pct, "naive_wape": pct, "reduction": pct_signed,
                                 "gain_ci_low": pct, "gain_ci_high": pct})
    s.note("WAPE: absolute errors summed over the horizon divided by actual sales, on rolling-origin backtests "
           "of the published run; the naive baseline (seasonal naive) repeats the last season: the same weekday of "
           "the last week for daily data, the same week of the last year for weekly data.")


def _drivers(doc: Document, url: str | None) -> None:
    s = doc.section("drivers", "The largest drivers")
    eff, level = saved_frame(Frames.EFFECTS, url)
    if eff is None or eff.empty:
        s.text("No effects estimated yet: run `python cli.py effects`.")
        return
    eff = eff[eff["n"] > 0]
    lines = []
    promo = eff[(eff["kind"] == "promo_lift") & (eff["name"] == "promotion")]
    if len(promo) == 1:
        lines.append(f"Promotions lift sales by {with_ci(promo).iloc[0]}.")
    elif len(promo):
        top = promo.loc[promo["estimate"].idxmax()]
        lines.append(f"Promotions lift sales by {pct_signed(promo['estimate'].min())} to "
                     f"{pct_signed(promo['estimate'].max())} depending on the {level}; the most in {top['group']} "
                     f"({with_ci(top.to_frame().T).iloc[0]}).")
    hol = eff[eff["kind"] == "holiday"]
    sig = hol[(hol["ci_low"] > 0) | (hol["ci_high"] < 0)]
    if len(sig):
        big = sig.reindex(sig["estimate"].abs().sort_values(ascending=False).index).head(3)
        lines.append("Holidays that clearly move sales: " + "; ".join(
            f"{r['name']} in {r['group']} {with_ci(r.to_frame().T).iloc[0]}" for _, r in big.iterrows()) + ".")
    for kind, unit in (("temperature", "per degree C"), ("precipitation", "per mm of rain")):
        w = eff[eff["kind"] == kind]
        if len(w) == 1:
            lines.append(f"Weather: {kind} changes sales by {with_ci(w).iloc[0]} {unit}.")
        elif len(w):
            lines.append(f"Weather: {kind} changes sales by {pct_signed(w['estimate'].min())} to "
                         f"{pct_signed(w['estimate'].max())} {unit} across the {level} groups.")
    s.bullets(lines)
    if len(promo):
        s.heading(f"Promotion lift by {level} (95% intervals)")
        s.figure(figures.effect_bars(promo), height=60 + 40 * len(promo))
    s.note(f"Effects from `cli.py effects` at the {level} level: relative changes with 95% intervals; holiday "
           "closures (no sales at all) are left out.")


def _inventory(doc: Document, url: str | None) -> None:
    s = doc.section("inventory", "Inventory recommendation")
    orders = store.load_frame(Frames.INVENTORY_ORDERS, "all", url=url, dtype={"store_id": str, "product_id": str})
    if orders is None or orders.empty:
        s.text("No inventory plan yet: run `python cli.py inventory` after the refresh.")
        return
    placing = orders[orders["order_qty"] > 0]
    value = placing["order_value"].sum(min_count=1)
    s.kpis([("Orders to place", num(len(placing)), f"of {len(orders):,} store x product rows"),
            ("Units", num(placing["order_qty"].sum()), "value " + (num(value) if pd.notna(value)
                                                                   else "unknown (no unit costs)")),
            ("Expected fill rate", pct(orders["expected_fill_rate"].mean()), "mean over rows"),
            ("At risk", num(int(orders["at_risk"].astype(bool).sum())), "stockout likely before an order lands")])
    s.text(f"Plan from {orders['forecast_start'].iloc[0]} ({orders['policy'].iloc[0]} review). Each order brings "
           "the stock to the level that meets the target service level given the forecast's uncertainty.")
    cols = ["store_id", "product_id", "order_qty", "order_value", "safety_stock", "expected_fill_rate",
            "stockout_prob", "days_of_cover"]
    top = placing.sort_values(["order_value", "order_qty"], ascending=False)[[c for c in cols if c in placing]]
    s.heading("Largest orders").table(top, {"order_qty": num, "order_value": num, "safety_stock": num,
                                           "expected_fill_rate": pct, "stockout_prob": pct, "days_of_cover": num},
                                      max_rows=10)
    curve = store.load_frame(Frames.INVENTORY_TRADEOFF, "all", url=url)
    if curve is not None and not curve.empty:
        s.heading("Service level against stock held (expected)").table(
            curve, {"target_csl": pct, "achieved_csl": pct, "avg_inventory_units": num, "avg_inventory_value": num})


def _default_calendar(url: str | None) -> dict | None:
    """The Promotions page's default calendar (first forecast weeks), solved and saved when the network is small."""
    window = promo_opt_job.forecast_window(url)
    if window is None or len(store.nodes(BOTTOM_LEVEL, url=url)) > PROMO_SOLVE_MAX_SERIES:
        return None
    weeks = max(1, min(4, ((window[1] - window[0]).days + 1) // 7))
    return promo_saved.cached_optimize(str(window[0].date()), weeks, promo_opt_job.DEFAULT_MAX_PER_STORE_WEEK,
                                       promo_opt_job.DEFAULT_DEPTHS, None, url=url)


def _promotions(doc: Document, url: str | None) -> None:
    s = doc.section("promotions", "Promotion recommendation")
    result = promo_saved.latest_saved(url)
    try:
        result = result or _default_calendar(url)
    except ValueError as exc:  # e.g. no effects yet: the optimizer's own one-line reason
        s.text(f"No promotion calendar: {exc}")
        return
    if result is None:
        s.text("No promotion calendar solved for the current data: open the Promotions page or run "
               "`python cli.py optimize-promos`.")
        return
    t = result["totals"]
    s.text(f"Calendar for {result['start']} to {result['end']} ({result['weeks']} weeks, at most "
           f"{result['max_per_store_week']} promotions per store and week, depths "
           f"{', '.join(pct(d, 0) for d in result['depths'])}).")
    if not result["promotions"]:
        s.text("No promotion is expected to add margin under these constraints: promoting now would cost more in "
               "discounts than the extra sales bring.")
        return
    s.kpis([("Promotions", num(result["promotions"]), f"of {num(result['candidates'])} candidates"),
            ("Extra margin", num(t["incr_margin"]), f"95%: {num(t['incr_margin_lo_95'])} – "
                                                     f"{num(t['incr_margin_hi_95'])}"),
            ("Extra revenue", num(t["incr_revenue"]), f"95%: {num(t['incr_revenue_lo_95'])} – "
                                                       f"{num(t['incr_revenue_hi_95'])}"),
            ("Discount cost", num(t["discount_cost"]), "expected markdown spend")])
    lines = result["calendar"].sort_values("incr_margin", ascending=False)
    lines = lines.assign(week_start=lines["week_start"].astype(str).str[:10])
    s.table(lines[["week_start", "store_id", "product_id", "category", "depth", "incr_units", "incr_margin",
                   "incr_margin_lo_95", "incr_margin_hi_95"]],
            {"depth": lambda v: pct(v, 0), "incr_units": num, "incr_margin": num, "incr_margin_lo_95": num,
             "incr_margin_hi_95": num}, max_rows=15)
