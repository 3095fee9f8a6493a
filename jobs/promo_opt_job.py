"""The promotion optimizer job: read forecasts, effects, prices and costs, choose the calendar, optionally apply it.

``optimize_promotions`` is what ``python cli.py optimize-promos`` and the Promotions page run. It validates every
constraint before reading or writing anything, so a refusal (``ValueError``, one line) leaves the database as it
was. The economics and the integer program live in :mod:`decisions`.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

import config
from data import plans, store
from decisions import promotions
from domain import ALL, BOTTOM_LEVEL, Frames
from jobs.plan_aware import plan_carried_share

DEFAULT_DEPTHS = (0.1, 0.2, 0.3)
DEFAULT_MAX_PER_STORE_WEEK = 3
LINE_FIELDS = ("store_id", "product_id", "category", "week_start", "week_end", "depth", "baseline_revenue",
               "baseline_units", "price", "unit_cost", "cost_source")


def check_constraints(start, weeks, max_per_store_week, depths, budget) -> tuple[pd.Timestamp, tuple[float, ...]]:
    """Validate the user's constraints; returns the start date and the sorted depths. One-line ``ValueError``s."""
    try:
        day = pd.Timestamp(start)
    except (ValueError, TypeError):
        raise ValueError(f"--start {start!r} is not a date (use YYYY-MM-DD)") from None
    if pd.isna(day) or day != day.normalize():
        raise ValueError(f"--start {start!r} is not a date (use YYYY-MM-DD)")
    if not isinstance(weeks, (int, np.integer)) or weeks < 1:
        raise ValueError(f"--weeks must be a whole number of at least 1, got {weeks!r}")
    if not isinstance(max_per_store_week, (int, np.integer)) or max_per_store_week < 0:
        raise ValueError(f"--max-per-store-week must be a whole number of at least 0, got {max_per_store_week!r}")
    try:
        values = tuple(sorted({float(d) for d in depths}))
    except (TypeError, ValueError):
        raise ValueError(f"--depths must be numbers such as 0.1,0.2,0.3, got {depths!r}") from None
    if not values or any(not (0.0 < d < 1.0) for d in values):
        shown = ",".join(str(d) for d in depths) if not isinstance(depths, str) else depths
        raise ValueError(f"--depths must each lie strictly between 0 and 1 (a share of the price), got {shown}")
    if budget is not None and (not np.isfinite(float(budget)) or float(budget) < 0):
        raise ValueError(f"--budget must be a finite amount of at least 0, got {budget!r}")
    return day, values


def parse_depths(text: str) -> tuple[float, ...]:
    """``"0.1,0.2,0.3"`` -> ``(0.1, 0.2, 0.3)``; a one-line ``ValueError`` for anything else."""
    try:
        return tuple(float(p) for p in str(text).split(",") if p.strip())
    except ValueError:
        raise ValueError(f"--depths must be comma-separated numbers such as 0.1,0.2,0.3, got {text!r}") from None


def _effects(url: str | None) -> pd.DataFrame:
    """The saved promotion effects by category (else the whole-panel ones)."""
    for level in ("category", "total"):
        frame = store.load_frame(Frames.EFFECTS, level, url=url)
        if frame is not None and ((frame["kind"] == "promo_lift") & (frame["name"] == "promotion")).any():
            return frame
    raise ValueError("no promotion effects saved: run `python cli.py effects` first")


def regular_prices(facts: pd.DataFrame) -> pd.DataFrame:
    """Last known regular price per series: the last price on a day without promotion, else the last promoted
    price divided by ``1 - depth``. Columns ``store_id, product_id, price``."""
    f = facts[pd.to_numeric(facts["price"], errors="coerce") > 0].copy()
    if f.empty:
        return pd.DataFrame(columns=["store_id", "product_id", "price"])
    depth = pd.to_numeric(f["promo_intensity"], errors="coerce").fillna(0.0)
    promoted = f["promo"].fillna(0).to_numpy() > 0
    ok_depth = (depth > 0) & (depth < 1)
    f["regular"] = np.where(promoted & ok_depth, f["price"] / (1 - depth), f["price"])
    f["rank"] = np.where(promoted, 0, 1)  # a day without promotion wins over a later promoted one
    f = f[~promoted | ok_depth].sort_values(["store_id", "product_id", "rank", "date"], kind="stable")
    last = f.groupby(["store_id", "product_id"], sort=True).tail(1)
    return last[["store_id", "product_id"]].assign(price=last["regular"].to_numpy())


def _plan_costs(end: pd.Timestamp, url: str | None) -> pd.Series:
    """Per series the unit cost the plan sets on or before ``end``: each scope's latest cost row, the most
    specific scope winning (the plan's rule). The raw rows are read once and one row per scope is expanded, so a
    sales import that stored a cost on every past date stays cheap."""
    raw = store.plan_rows(end=end.date(), url=url)
    raw = raw[pd.to_numeric(raw["unit_cost"], errors="coerce") >= 0]
    if raw.empty:
        keys = pd.MultiIndex.from_arrays([[], []], names=["store_id", "product_id"])
        return pd.Series([], index=keys, dtype=float, name="plan_cost")
    last = raw.sort_values("date", kind="stable").groupby(list(plans.SCOPE), sort=False).tail(1)
    last = last[[*plans.SCOPE, "unit_cost"]].assign(date=end)  # one date: the grains alone decide
    for col in store.PLAN_FIELDS:
        if col != "unit_cost":
            last[col] = None
    series = store.nodes(BOTTOM_LEVEL, url=url)[["store_id", "product_id", "category"]]
    out = plans.expand(last[[*plans.SCOPE, "date", *store.PLAN_FIELDS]], series)
    return out.set_index(["store_id", "product_id"])["unit_cost"].astype(float).rename("plan_cost")


def _plan_inputs(start: pd.Timestamp, end: pd.Timestamp,
                 url: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per series the planned regular price (last day in ``start .. end`` without a planned promotion) and unit
    cost (:func:`_plan_costs`); the promotions and the closed days already planned inside ``start .. end``."""
    plan = store.expanded_plan(start.date(), end.date(), url=url)
    cols = ["store_id", "product_id", "plan_price", "plan_cost"]
    cost = _plan_costs(end, url)
    if plan.empty:
        return cost.reset_index().reindex(columns=cols), plan, plan
    plan = plan.sort_values("date", kind="stable")
    regular = plan[(plan["promo"].fillna(0) <= 0) & (plan["price"] > 0)]
    price = regular.groupby(["store_id", "product_id"])["price"].last().rename("plan_price")
    series = pd.concat([price, cost], axis=1).reset_index()
    promoted = plan[plan["promo"].fillna(0) > 0]
    closed = plan[plan["is_open"] == 0]
    return series.reindex(columns=cols), promoted, closed


def price_and_cost(facts: pd.DataFrame, plan_series: pd.DataFrame, margin_rate: float) -> pd.DataFrame:
    """Per series: regular price (plan, else sales facts, else 1 = work in sales value) and unit cost (plan,
    else ``price * (1 - margin_rate)``) with ``price_source`` and ``cost_source``."""
    keys = facts[["store_id", "product_id"]].drop_duplicates()
    out = keys.merge(regular_prices(facts), on=["store_id", "product_id"], how="left")
    out = out.merge(plan_series, on=["store_id", "product_id"], how="left")
    out["price_source"] = np.where(out["plan_price"].notna(), "plan", np.where(out["price"].notna(), "sales", "none"))
    out["price"] = out["plan_price"].fillna(out["price"]).fillna(1.0)
    from_plan = out["plan_cost"].notna()
    out["unit_cost"] = out["plan_cost"].where(from_plan, out["price"] * (1 - margin_rate))
    out["cost_source"] = np.where(from_plan, "plan", "default_margin_rate")
    return out[["store_id", "product_id", "price", "unit_cost", "price_source", "cost_source"]]


def _overall(values: pd.Series) -> str:
    kinds = sorted(set(values))
    return kinds[0] if len(kinds) == 1 else ("mixed" if kinds else "none")


def _facts(url: str | None) -> pd.DataFrame:
    """The sales facts the prices and reference depths come from, with each product's category."""
    facts = store.sales_columns(("store_id", "product_id", "date", "promo", "promo_intensity", "price"), url=url)
    cats = store.products(url=url)[["product_id", "category"]]
    return facts.merge(cats, on="product_id", how="left")


def _planned_taken(promoted: pd.DataFrame, weekly: pd.DataFrame, start: pd.Timestamp) -> tuple[dict, pd.DataFrame]:
    """Promotions the plan already holds in the window: ``{(store_id, week): n}`` and their store x product x week."""
    if promoted.empty:
        return {}, pd.DataFrame(columns=["store_id", "product_id", "week"])
    week = ((promoted["date"] - start).dt.days // promotions.WEEK_DAYS).astype(int)
    held = promoted.assign(week=week)[["store_id", "product_id", "week"]].drop_duplicates()
    held = held[held["week"].isin(weekly["week"].unique())]
    return held.groupby(["store_id", "week"]).size().to_dict(), held


def _records(lines: pd.DataFrame) -> list[dict]:
    """JSON-ready lines (dates as ISO strings, floats rounded)."""
    out = lines.drop(columns=["dates", "baseline", "week", "price_source"], errors="ignore").copy()
    for col in ("week_start", "week_end"):
        out[col] = out[col].dt.strftime("%Y-%m-%d")
    num = out.select_dtypes("number").columns
    out[num] = out[num].round(4)
    return out.to_dict("records")


def apply_calendar(lines: pd.DataFrame, url: str | None = None) -> int:
    """Write the chosen calendar to the plan (store x product grain, ``promo=1``, ``promo_intensity=depth`` on
    every forecast date of the chosen week), keeping the other fields a row at that grain and date already had."""
    if lines.empty:
        return 0
    rows = lines[["store_id", "product_id", "depth", "dates"]].explode("dates").rename(columns={"dates": "date"})
    rows = rows.assign(category=ALL, promo=1.0, promo_intensity=rows.pop("depth").astype(float))
    rows["date"] = pd.to_datetime(rows["date"])
    old = store.plan_rows(rows["date"].min().date(), rows["date"].max().date(), url=url)
    keep = [c for c in store.PLAN_FIELDS if c not in ("promo", "promo_intensity")]
    if not old.empty:
        old = old[old["category"] == ALL][["store_id", "product_id", "date", *keep]]
        rows = rows.merge(old, on=["store_id", "product_id", "date"], how="left")
    return store.write_plan(rows.reset_index(drop=True), source="optimizer", url=url)


def prepare(start, weeks: int, max_per_store_week: int, depths, budget: float | None,
            url: str | None = None) -> dict:
    """Validate the constraints and build the program's inputs from the store (reads only).

    Returns
    -------
    dict
        ``start, end, depths, params`` (effects per category), ``weekly`` (baseline per store x product x week,
        the planned promotions' lift taken out), ``candidates`` (store x product x week x depth without the slots
        the plan already promotes or closes on some day: a planned promotion is not offered again), ``taken`` (planned promotions per
        store-week), ``already_planned``, ``closed_slots`` and ``margin_rate``.
    """
    day, values = check_constraints(start, weeks, max_per_store_week, depths, budget)
    end = day + pd.Timedelta(days=promotions.WEEK_DAYS * weeks - 1)
    freq = store.frequency(url)
    forecasts = store.forecasts_for_level(BOTTOM_LEVEL, url=url)
    nodes = store.nodes(BOTTOM_LEVEL, url=url)
    weekly = promotions.weekly_baseline(forecasts, nodes, day, weeks, freq)
    effects = _effects(url)
    facts = _facts(url)
    margin_rate = config.load().default_margin_rate
    params = promotions.effect_params(effects, weekly["category"].unique(), promotions.reference_depths(facts),
                                      freq, values)
    plan_series, promoted, closed = _plan_inputs(day, end, url)
    if not promoted.empty:  # the forecasts hold the planned lift: V0 is the level without promotion
        ids = nodes["node_id"]
        share = dict(zip(ids, plan_carried_share(ids, url)))  # 0 where the chosen model never saw the plan
        weekly = promotions.weekly_baseline(promotions.depromote_forecasts(forecasts, nodes, promoted, params,
                                                                           share), nodes, day, weeks, freq)
    taken, held = _planned_taken(promoted, weekly, day)
    _, shut = _planned_taken(closed, weekly, day)  # a week with a planned closure gets no new promotion
    blocked = pd.concat([held, shut], ignore_index=True).drop_duplicates()
    baseline = weekly
    open_slots = weekly.merge(blocked.assign(_held=1), on=["store_id", "product_id", "week"], how="left")
    weekly = open_slots[open_slots["_held"].isna()].drop(columns="_held")
    cands = promotions.candidate_frame(weekly, price_and_cost(facts, plan_series, margin_rate), values)
    return {"start": day, "end": end, "depths": values, "params": params, "weekly": baseline, "candidates": cands,
            "taken": taken,
            "already_planned": int(len(held)), "closed_slots": int(len(shut)), "margin_rate": margin_rate}


def optimize_promotions(start, weeks: int, max_per_store_week: int = DEFAULT_MAX_PER_STORE_WEEK,
                        depths=DEFAULT_DEPTHS, budget: float | None = None, apply: bool = False,
                        url: str | None = None, n_draws: int = 1000, seed: int = 0) -> dict:
    """Choose the promotion calendar that maximises expected incremental margin (see :mod:`decisions.promotions`).

    Parameters
    ----------
    start : str or Timestamp
        First day of the first week.
    weeks : int
        Number of weeks (each must lie inside the forecast horizon).
    max_per_store_week : int
        ``K``, most promotions per store and week (promotions already in the plan count toward it).
    depths : sequence of float
        Candidate discount depths, each in (0, 1).
    budget : float, optional
        Most expected discount cost (markdown spend) of the calendar.
    apply : bool
        Write the calendar to the plan (source ``optimizer``).
    url : str, optional
        Database URL.
    n_draws, seed : int
        Effect draws for the intervals.

    Returns
    -------
    dict
        The JSON of ``cli.py optimize-promos``: settings, ``cost_source``, ``effects`` used, ``totals`` and
        ``lines`` with 80/95% intervals, ``applied_rows``; ``calendar`` holds the lines as a DataFrame.
    """
    t0 = time.perf_counter()
    prep = prepare(start, weeks, max_per_store_week, depths, budget, url)
    day, end, values, params = prep["start"], prep["end"], prep["depths"], prep["params"]
    cands, margin_rate = prep["candidates"], prep["margin_rate"]
    result = promotions.optimize(cands, params, int(max_per_store_week), budget, n_draws=n_draws, seed=seed,
                                 taken=prep["taken"])
    lines = result["lines"].assign(baseline_revenue=lambda d: d["baseline"],
                                   baseline_units=lambda d: d["baseline"] / d["price"])
    applied = apply_calendar(lines, url) if apply else None
    used = lines if len(lines) else cands
    return {
        "start": str(day.date()), "end": str(end.date()), "weeks": int(weeks), "depths": list(values),
        "max_per_store_week": int(max_per_store_week), "budget": budget,
        "solver": "scipy.optimize.milp (HiGHS)", "status": result["status"],
        "cost_source": _overall(used["cost_source"]) if len(used) else "none",
        "default_margin_rate": margin_rate, "price_source": _overall(used["price_source"]) if len(used) else "none",
        "no_back_to_back": result["no_back_to_back"], "already_planned": prep["already_planned"],
        "closed_slots": prep["closed_slots"],
        "candidates": result["candidates"], "promotions": result["totals"]["promotions"],
        "effects": params.round(4).to_dict("records"),
        "totals": {k: round(v, 2) for k, v in result["totals"].items()},
        "lines": _records(lines), "applied_rows": applied, "seconds": round(time.perf_counter() - t0, 2),
        "calendar": lines,
    }


def _iv(d: dict, name: str, fmt: str = "{:,.0f}") -> str:
    return (f"{fmt.format(d[name])} [{fmt.format(d[name + '_lo_95'])}, {fmt.format(d[name + '_hi_95'])}]")


def format_result(result: dict) -> str:
    """The chosen calendar as text: one line per promotion and the totals, with 95% intervals."""
    t = result["totals"]
    head = [f"Promotion calendar {result['start']} .. {result['end']} ({result['weeks']} weeks), "
            f"at most {result['max_per_store_week']} per store-week, depths {result['depths']}"
            + (f", budget {result['budget']:,.0f}" if result.get("budget") is not None else ""),
            f"  solver {result['solver']}: {result['status']}; {result['candidates']} candidates, "
            f"{result['promotions']} chosen; {result['already_planned']} already in the plan"
            + (f"; {result['closed_slots']} store x product weeks closed by the plan"
               if result["closed_slots"] else ""),
            f"  unit costs: {result['cost_source']}"
            + (f" (default margin rate {result['default_margin_rate']:.0%})"
               if result["cost_source"] in ("default_margin_rate", "mixed") else "")
            + f"; prices: {result['price_source']}"
            + (f"; no back-to-back weeks for {', '.join(result['no_back_to_back'])} (post-promotion dip)"
               if result["no_back_to_back"] else "")]
    rows = [f"  {'week':<10} {'store':<8} {'product':<10} {'category':<12} {'depth':>5}  {'+units [95%]':>26}  "
            f"{'+revenue [95%]':>30}  {'+margin [95%]':>28}"]
    for ln in result["lines"]:
        rows.append(f"  {ln['week_start']:<10} {str(ln['store_id']):<8} {str(ln['product_id']):<10} "
                    f"{str(ln['category']):<12} {ln['depth']:>5.0%}  {_iv(ln, 'incr_units'):>26}  "
                    f"{_iv(ln, 'incr_revenue'):>30}  {_iv(ln, 'incr_margin'):>28}")
    total = [f"  total: +{_iv(t, 'incr_units')} units, +{_iv(t, 'incr_revenue')} revenue, "
             f"+{_iv(t, 'incr_margin')} margin (95% intervals from the effect uncertainty); "
             f"discount cost {t['discount_cost']:,.0f}"]
    if not result["lines"]:
        rows = ["  no promotion is expected to add margin under these constraints"]
    if result.get("applied_rows") is not None:
        total.append(f"  applied: {result['applied_rows']} plan rows written (source optimizer)")
    return "\n".join(head + rows + total)


def forecast_window(url: str | None = None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last date of the published store x product forecasts (None without forecasts): the Promotions
    page's default weeks."""
    fc = store.forecasts_for_level(BOTTOM_LEVEL, url=url)
    return None if fc.empty else (fc["ds"].min(), fc["ds"].max())
