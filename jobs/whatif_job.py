"""The what-if job: check a scenario, read the node's forecast and the saved effects, simulate (analytics.scenario).

``run_whatif`` is what ``python cli.py whatif`` and the Forecast page's scenario panel run. It only reads:
the current run's forecasts (the node's and its bottom series'), the bottom series' recent prices, the
effects job's frames (promotion lift and post-promotion dip per category, the depth they refer to, price
elasticities) and, from the plan, the unit cost and the planned promotions (the forecast's baseline holds
them: the scenario applies only the difference, see :mod:`analytics.scenario`). Every refusal is a ``ValueError`` with one line
naming the problem (the CLI prints it and exits 2).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import scenario
from analytics.elasticity import ALL_PRODUCTS
from data import store
from domain import BOTTOM_LEVEL, Frames, freq_step
from jobs.plan_aware import plan_carried_share

POST_PROMO_STEPS = {"D": 3, "W": 0}  # as the effects job estimates the post-promotion dip
PRICE_DAYS = 90  # regular price = median price of non-promotion days over this many days of history
METHOD = ("effect-and-forecast Monte Carlo: forecast quantiles joined by an AR(1) Gaussian copula across days, "
          "promotion lift (log lift proportional to depth), post-promotion dip and price elasticity drawn from "
          "their sampling distributions")
NO_EFFECTS = "no promotion effects computed yet: run `python cli.py effects`"


def parse_range(text: str | None, flag: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``"START:END"`` (ISO dates, both included) as two timestamps; None for an empty value."""
    if text is None or not str(text).strip():
        return None
    parts = str(text).strip().split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = (pd.Timestamp(p.strip()) for p in parts)
    except (ValueError, TypeError):
        raise ValueError(f"{flag}: expected START:END as ISO dates (e.g. 2023-01-10:2023-01-16), got {text!r}") \
            from None
    if end < start:
        raise ValueError(f"{flag}: end {end.date()} is before start {start.date()}")
    return start.normalize(), end.normalize()


def _node_forecast(node: str, url: str | None) -> pd.DataFrame:
    if store.current_run(url) is None:
        raise ValueError("no forecasts yet: run `python cli.py refresh`")
    try:
        info = store.parse_node_id(node)
    except ValueError:
        info = None
    if info is None or not (store.nodes(info["level"], url=url)["node_id"] == node).any():
        raise ValueError(f"unknown node {node!r}: use a key such as 'total', 'store=01' or "
                         "'store=01/product=P001' (python cli.py info lists the data)")
    fc = store.forecast(node, url=url)
    if fc.empty:
        raise ValueError(f"no forecast for node {node!r} in the current run: run `python cli.py refresh` "
                         f"with its level ({info['level']})")
    return fc.sort_values("ds").reset_index(drop=True)


def _window_mask(days: pd.DatetimeIndex, window, flag: str) -> np.ndarray:
    """Boolean mask of ``window`` over the horizon ``days``; refused when it leaves the horizon."""
    if window is None:
        return np.zeros(len(days), dtype=bool)
    start, end = window
    if start < days[0] or end > days[-1]:
        raise ValueError(f"{flag}: {start.date()}..{end.date()} is outside the forecast horizon "
                         f"{days[0].date()}..{days[-1].date()}")
    return np.asarray((days >= start) & (days <= end))


def _members(node: str, url: str | None) -> pd.DataFrame:
    """The bottom nodes under ``node``: ``node_id, store_id, product_id, category``."""
    info = store.parse_node_id(node)
    filters = {k: v for k, v in info.items() if k in ("region", "store_id", "category", "product_id")}
    members = store.nodes(BOTTOM_LEVEL, url=url, **filters)
    if members.empty:
        raise ValueError(f"node {node!r} has no store x product series under it")
    return members.reset_index(drop=True)


def _shares(node: str, members: pd.DataFrame, days: pd.DatetimeIndex, recent: pd.DataFrame,
            url: str | None) -> np.ndarray:
    """Each member's share of the node's forecast per day (series x days): from the bottom forecasts, else
    (bottom level not forecast) from the members' sales over the recent history."""
    if len(members) == 1:
        return np.ones((1, len(days)))
    fc = store.forecasts_for_level(BOTTOM_LEVEL, url=url)
    fc = fc[fc["series_id"].isin(set(members["node_id"]))]
    if fc["series_id"].nunique() == len(members):
        yhat = (fc.pivot_table(index="series_id", columns="ds", values="yhat", aggfunc="sum")
                .reindex(index=members["node_id"], columns=days).fillna(0.0).clip(lower=0.0).to_numpy())
    else:
        totals = recent.groupby("series_id")["y"].sum().reindex(members["node_id"]).fillna(0.0).clip(lower=0.0)
        yhat = np.repeat(totals.to_numpy()[:, None], len(days), axis=1)
    sums = yhat.sum(axis=0, keepdims=True)
    return np.where(sums > 0, yhat / np.where(sums > 0, sums, 1.0), 1.0 / len(members))


def _regular_prices(members: pd.DataFrame, recent: pd.DataFrame) -> np.ndarray:
    """Median price of each member's non-promotion open days in the recent history (NaN: no price)."""
    if recent.empty or "price" not in recent:
        return np.full(len(members), np.nan)
    r = recent[(pd.to_numeric(recent["price"], errors="coerce") > 0)]
    regular = r[(r["promo"].fillna(0) == 0) & (r["is_open"].fillna(1) == 1)]
    med = regular.groupby("series_id")["price"].median()
    fallback = r.groupby("series_id")["price"].median()
    return med.combine_first(fallback).reindex(members["node_id"]).to_numpy(dtype=float)


def _plan_inputs(members: pd.DataFrame, days: pd.DatetimeIndex, window, ref: dict,
                 url: str | None) -> tuple[np.ndarray, np.ndarray, int]:
    """From the plan: each member's unit cost (its latest dated ``unit_cost``, NaN where unknown), its planned
    promotion depth per horizon day (members x days, 0: none; a planned promotion without a depth counts at its
    category's reference depth) and how many member x days of the promotion ``window`` the plan promotes.

    Kept in one small function: the plan API (``store.expanded_plan``, issue 13 §1) may be absent from the store.
    """
    reader = getattr(store, "expanded_plan", None)
    costs = np.full(len(members), np.nan)
    depth = np.zeros((len(members), len(days)))
    if reader is None:
        return costs, depth, 0
    plan = reader(url=url)
    if plan is None or plan.empty:
        return costs, depth, 0
    plan = plan.assign(store_id=plan["store_id"].astype(str), product_id=plan["product_id"].astype(str))
    keys = pd.MultiIndex.from_frame(members[["store_id", "product_id"]].astype(str))
    mine = plan.set_index(["store_id", "product_id"]).index.isin(keys)
    if "unit_cost" in plan:
        known = plan[mine].dropna(subset=["unit_cost"]).sort_values("date")
        costs = known.groupby(["store_id", "product_id"])["unit_cost"].last().reindex(keys).to_numpy(dtype=float)
    planned = 0
    if "promo" in plan:
        p = plan[mine].assign(date=lambda f: pd.to_datetime(f["date"]))
        p = p[(pd.to_numeric(p["promo"], errors="coerce").fillna(0) > 0) & p["date"].isin(days)]
        if len(p):
            cat = dict(zip(members["store_id"].astype(str) + "|" + members["product_id"].astype(str),
                           members["category"].astype(str)))
            d = pd.to_numeric(p.get("promo_intensity"), errors="coerce")
            fallback = (p["store_id"] + "|" + p["product_id"]).map(cat).map(ref).astype(float)
            d = d.where((d > 0) & (d < 1), fallback).fillna(0.0)
            row = keys.get_indexer(pd.MultiIndex.from_frame(p[["store_id", "product_id"]]))
            depth[row, days.get_indexer(p["date"])] = d.to_numpy()
            in_window = (p["date"] >= window[0]) & (p["date"] <= window[1])
            planned = int(in_window.sum())
    return costs, depth, planned


def _recent(node: str, members: pd.DataFrame, url: str | None) -> pd.DataFrame:
    """The members' facts over the last ``PRICE_DAYS`` days of history (``series_id, ds, y, promo, price``)."""
    _, last = store.date_bounds(url)
    start = (pd.Timestamp(last) - pd.Timedelta(days=PRICE_DAYS)).date()
    if len(members) == 1:
        hist = store.series(members["node_id"].iloc[0], start=start, url=url)
        return hist.assign(series_id=members["node_id"].iloc[0])
    frame = store.bottom_frame(start=start, url=url)
    return frame[frame["series_id"].isin(set(members["node_id"]))]


def _effects(categories, url: str | None) -> tuple[dict, dict, dict]:
    """Lift and dip :class:`~analytics.scenario.Estimate` and reference depth per category from the saved frames."""
    eff = store.load_frame(Frames.EFFECTS, "category", url=url)
    depths = store.load_frame(Frames.PROMO_REFERENCE_DEPTH, "category", url=url)
    if eff is None or depths is None:
        raise ValueError(NO_EFFECTS)
    eff = eff[eff["kind"] == "promo_lift"].astype({"group": str})
    lift, dip = {}, {}
    for r in eff.itertuples(index=False):
        est = scenario.Estimate.from_relative(r.estimate, r.ci_low, r.ci_high)
        if r.name == "promotion":
            lift[r.group] = est
        elif r.name == "post_promotion_dip":
            dip[r.group] = est
    ref = {str(g): float(d) for g, d in zip(depths["group"], depths["ref_depth"])}
    return lift, dip, {c: ref.get(c, float("nan")) for c in categories}


def _elasticities(members: pd.DataFrame, url: str | None) -> list:
    """One elasticity estimate per member: its product's where estimated, else its category's."""
    frame = store.load_frame(Frames.PRICE_ELASTICITY, "category", url=url)
    if frame is None:
        raise ValueError(NO_EFFECTS)
    table = {(str(r.group), str(r.product_id)): scenario.Estimate.from_interval(r.estimate, r.ci_low, r.ci_high)
             for r in frame.itertuples(index=False)}
    out = []
    for r in members.itertuples(index=False):
        est = table.get((str(r.category), str(r.product_id))) or table.get((str(r.category), ALL_PRODUCTS))
        if est is None:
            raise ValueError(f"--price: no price elasticity estimated for product {r.product_id} or its category "
                             f"{r.category} (its price never varied enough)")
        out.append(est)
    return out


def _plan(days: pd.DatetimeIndex, freq: str, promo, closed, depth: float, price: float | None) -> scenario.Plan:
    """The scenario's masks over the horizon, after checking the dates, the depth and the price."""
    if not (np.isfinite(depth) and 0.0 <= depth < 1.0):
        raise ValueError(f"--depth must be in [0, 1) (a discount share, 0.2 = 20% off), got {depth}")
    if price is not None and not (np.isfinite(price) and price > 0):
        raise ValueError(f"--price must be a positive unit price, got {price}")
    promo_mask = _window_mask(days, promo, "--promo")
    closed_mask = _window_mask(days, closed, "--closed")
    if not promo_mask.any():
        raise ValueError(f"--promo: {promo[0].date()}..{promo[1].date()} holds no forecast date")
    both = np.flatnonzero(promo_mask & closed_mask)
    if len(both):
        raise ValueError(f"--closed overlaps --promo on {days[both[0]].date()}: a closed day cannot be promoted")
    post = np.zeros(len(days), dtype=bool)
    last = np.flatnonzero(promo_mask)[-1]
    post[last + 1:last + 1 + POST_PROMO_STEPS.get(freq, 0)] = True
    post &= ~promo_mask & ~closed_mask
    return scenario.Plan(promo=promo_mask, post=post, closed=closed_mask, depth=float(depth), price=price)


def _bottom(node: str, days: pd.DatetimeIndex, price: float | None, window,
            url: str | None) -> tuple[scenario.Bottom, int]:
    """The bottom series under ``node`` with shares, prices, costs, effect estimates and planned depths, and the
    member x days of the promotion window the plan already promotes."""
    members = _members(node, url)
    recent = _recent(node, members, url)
    prices = _regular_prices(members, recent)
    cats = [str(c) for c in members["category"]]
    lift, dip, ref = _effects(cats, url)
    if price is None:
        missing = sorted(set(cats) - set(lift))
        if missing:
            raise ValueError(f"no promotion lift estimated for category {missing[0]} (no promotion in its history); "
                             "try --price with a price elasticity instead")
        elasticity = [None] * len(cats)
    else:
        if members["product_id"].nunique() > 1:
            raise ValueError(f"--price needs a node with one product; {node!r} spans "
                             f"{members['product_id'].nunique()} products (use --depth)")
        if not np.all(np.isfinite(prices)):
            raise ValueError(f"--price: no regular price recorded for {node!r} in the last {PRICE_DAYS} days")
        elasticity = _elasticities(members, url)
    costs, planned_depth, planned = _plan_inputs(members, days, window, ref, url)
    return scenario.Bottom(categories=cats, shares=_shares(node, members, days, recent, url), price=prices,
                           unit_cost=costs, lift=lift, dip=dip, ref_depth=ref, elasticity=elasticity,
                           planned_depth=planned_depth,
                           plan_share=plan_carried_share(members["node_id"], url)), planned


def run_whatif(node: str, promo: str, depth: float = 0.2, price: float | None = None, closed: str | None = None,
               n_draws: int = 2000, seed: int = 0, url: str | None = None) -> dict:
    """Baseline vs scenario of ``node`` with a promotion (and optional price and closed days).

    Parameters
    ----------
    node : str
        Series key, e.g. ``"store=01/product=P001"`` or ``"total"``.
    promo : str
        ``START:END`` of the promotion (inside the forecast horizon).
    depth : float
        Discount depth in [0, 1) (ignored for the response when ``price`` is given).
    price : float, optional
        Unit price on the promotion days (a one-product node); the response then uses the price elasticity.
    closed : str, optional
        ``START:END`` of days the stores are closed (forecast 0).
    n_draws, seed : int
        Monte Carlo draws and seed.
    url : str, optional
        Database URL.

    Returns
    -------
    dict
        The JSON of ``cli.py whatif``: ``node, horizon, promo, closed, method, draws, day_correlation, series,
        categories, effects, elasticity (with ``price``), promo_lift, promo_units_lift, units, revenue, margin,
        margin_note, notes, daily``.
    """
    if not 100 <= int(n_draws) <= 100_000:
        raise ValueError(f"--draws must be between 100 and 100000, got {n_draws}")
    promo_range, closed_range = parse_range(promo, "--promo"), parse_range(closed, "--closed")
    if promo_range is None:
        raise ValueError("--promo: expected START:END as ISO dates (e.g. 2023-01-10:2023-01-16)")
    fc = _node_forecast(node, url)
    days = pd.DatetimeIndex(pd.to_datetime(fc["ds"]))
    freq = store.frequency(url)
    plan = _plan(days, freq, promo_range, closed_range, float(depth), None if price is None else float(price))
    bottom, planned = _bottom(node, days, plan.price, promo_range, url)
    hist = store.series(node, start=(days[0] - pd.Timedelta(days=400)).date(), url=url)
    rho = scenario.day_correlation(hist, freq)
    sim = scenario.simulate(fc, bottom, plan, rho=rho, n_draws=int(n_draws), seed=int(seed))
    cats = list(dict.fromkeys(bottom.categories))
    margin_note = None
    if sim["totals"]["margin"] is None:
        margin_note = ("margin unavailable: no unit cost known (a plan `unit_cost`)" if sim["totals"]["units"]
                       else "margin and units unavailable: no price recorded for these series")
    step = freq_step(freq)
    return {
        "node": node, "horizon": {"start": str(days[0].date()), "end": str(days[-1].date())},
        "promo": {"start": str(promo_range[0].date()), "end": str(promo_range[1].date()),
                  "steps": int(plan.promo.sum()), "depth": plan.depth, "price": plan.price},
        "closed": None if closed_range is None else {"start": str(closed_range[0].date()),
                                                      "end": str(closed_range[1].date()),
                                                      "steps": int(plan.closed.sum())},
        "post_promotion_steps": int(plan.post.sum()), "step_days": int(step.days),
        "method": METHOD, "draws": int(n_draws), "day_correlation": round(rho, 3),
        "series": len(bottom.categories), "categories": cats,
        "effects": _effect_records(bottom, plan, cats),
        "elasticity": _elasticity_records(bottom, plan),
        "promo_lift": sim["promo_lift"], "promo_units_lift": sim["promo_units_lift"],
        **{m: sim["totals"][m] for m in scenario.MEASURES},
        "margin_note": margin_note,
        "notes": [f"the plan already promotes {planned} series x days of this window: the forecast includes those "
                  "promotions, so the scenario applies only the difference from the planned depth there (the "
                  "lift is reported against the level without promotion)"] if planned else [],
        "daily": [{**r, "ds": str(pd.Timestamp(r["ds"]).date())} for r in sim["daily"].to_dict("records")],
    }


def _effect_records(bottom: scenario.Bottom, plan: scenario.Plan, cats: list[str]) -> list[dict]:
    """Per category: the lift at the scenario's depth with its 95% interval (what the simulation draws)."""
    out = []
    for c in cats:
        est = bottom.lift.get(c)
        ref = bottom.ref_depth.get(c, float("nan"))
        if est is None:
            continue
        scale = plan.depth / ref if np.isfinite(ref) and ref > 0 else 1.0
        lo, mid, hi = (float(np.expm1(scale * (est.log_mean + k * scenario.Z95 * est.log_se))) for k in (-1, 0, 1))
        out.append({"category": c, "ref_depth": None if not np.isfinite(ref) else ref, "depth": plan.depth,
                    "lift": mid, "ci_low": lo, "ci_high": hi})
    return out


def _elasticity_records(bottom: scenario.Bottom, plan: scenario.Plan) -> list[dict] | None:
    """With ``--price``: per distinct (elasticity, regular price) the estimate, its 95% CI and the unit change."""
    if plan.price is None:
        return None
    seen = {}
    for est, regular in zip(bottom.elasticity, bottom.price):
        key = (est.log_mean, est.log_se, float(regular))
        if key in seen:
            continue
        ratio = plan.price / float(regular)
        seen[key] = {"elasticity": est.log_mean, "ci_low": est.log_mean - scenario.Z95 * est.log_se,
                     "ci_high": est.log_mean + scenario.Z95 * est.log_se, "regular_price": float(regular),
                     "price": plan.price, "units_change": float(ratio ** est.log_mean - 1.0)}
    return list(seen.values())


def format_whatif(result: dict) -> str:
    """A human-readable summary of :func:`run_whatif`'s result."""
    p = result["promo"]
    head = (f"What-if for {result['node']}: promotion {p['start']}..{p['end']} "
            + (f"at price {p['price']:g}" if p["price"] is not None else f"at depth {p['depth']:.0%}")
            + (f", closed {result['closed']['start']}..{result['closed']['end']}" if result["closed"] else ""))
    lines = [head, f"  horizon {result['horizon']['start']}..{result['horizon']['end']}, {result['series']} "
                   f"series ({', '.join(result['categories'])}), {result['draws']} draws, day correlation "
                   f"{result['day_correlation']}"]
    if result["promo_lift"]:
        lf = result["promo_lift"]
        lines.append(f"  sales lift on promotion days: {lf['estimate']:+.1%} (80% {lf['lo_80']:+.1%}..{lf['hi_80']:+.1%},"
                     f" 95% {lf['lo_95']:+.1%}..{lf['hi_95']:+.1%})")
    lines.append(f"  {'':8} {'baseline':>12} {'scenario':>12} {'difference':>12}   difference 80% / 95% interval")
    for m in scenario.MEASURES:
        t = result[m]
        if t is None:
            continue
        d = t["difference"]
        lines.append(f"  {m:8} {t['baseline']['estimate']:12,.0f} {t['scenario']['estimate']:12,.0f} "
                     f"{d['estimate']:+12,.0f}   {d['lo_80']:+,.0f}..{d['hi_80']:+,.0f} / "
                     f"{d['lo_95']:+,.0f}..{d['hi_95']:+,.0f}")
    for note in ([result["margin_note"]] if result["margin_note"] else []) + result["notes"]:
        lines.append(f"  {note}")
    lines.append(f"  method: {result['method']}")
    return "\n".join(lines)
