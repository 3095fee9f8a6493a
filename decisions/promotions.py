"""Promotion optimizer: candidates from the baseline forecasts and the saved lifts, the integer program, intervals.

:func:`optimize` chooses which store x product to promote in which week and at which depth to maximise the
expected incremental margin of :mod:`decisions.promo_value` under the constraints of :mod:`decisions.promo_milp`,
then puts intervals on the chosen calendar by re-evaluating it under draws of the effects: per category the log
lift ``b`` is drawn from ``N(b_hat, se)`` with ``se`` read off its 95% CI on the log scale (and the dip likewise),
so lines of one category move together. The intervals carry the effect uncertainty, not the forecast noise.
Pure: the job (:mod:`jobs.promo_opt_job`) reads the store and passes frames in.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics.scenario import depromote
from decisions.promo_milp import choose
from decisions.promo_value import VALUE_COLUMNS, promotion_value

Z95 = 1.959963984540054
LEVELS = (80, 95)
WEEK_DAYS = 7
POST_PROMO_DAYS = 3  # the effects regression's post-promotion window on daily data (analytics.effects)


def weekly_baseline(forecasts: pd.DataFrame, nodes: pd.DataFrame, start: pd.Timestamp, weeks: int,
                    freq: str) -> pd.DataFrame:
    """Baseline sales value per store x product and week, summed from the bottom-level forecasts.

    Week ``k`` covers ``start + 7k .. start + 7k + 6``. Raises ``ValueError`` when a week is not fully inside the
    forecast horizon (daily data: all 7 days; weekly data: its forecast date).

    Returns
    -------
    DataFrame
        ``store_id, product_id, category, week, week_start, week_end, baseline, dates`` (``dates``: the forecast
        dates inside the week, where an applied promotion is written).
    """
    if forecasts.empty:
        raise ValueError("no store x product forecasts: run `python cli.py refresh` first")
    first, last = forecasts["ds"].min(), forecasts["ds"].max()
    end = start + pd.Timedelta(days=WEEK_DAYS * weeks - 1)
    fc = forecasts[(forecasts["ds"] >= start) & (forecasts["ds"] <= end)]
    week = ((fc["ds"] - start).dt.days // WEEK_DAYS).astype(int)
    per_week = fc.assign(week=week).groupby("week")["ds"].nunique().reindex(range(weeks), fill_value=0)
    need = WEEK_DAYS if freq == "D" else 1
    if start < first - pd.Timedelta(days=WEEK_DAYS - 1 if freq == "W" else 0) or (per_week < need).any():
        raise ValueError(f"--start {start.date()} --weeks {weeks} runs to {end.date()}, outside the forecast "
                         f"horizon {first.date()} .. {last.date()}: choose weeks inside it or refresh with a longer "
                         "--horizon")
    meta = nodes[["node_id", "store_id", "product_id", "category"]].rename(columns={"node_id": "series_id"})
    fc = fc.assign(week=week).merge(meta, on="series_id", how="inner")
    out = (fc.groupby(["store_id", "product_id", "category", "week"], sort=True)
           .agg(baseline=("yhat", lambda s: float(np.clip(s, 0, None).sum())), dates=("ds", lambda s: sorted(s)))
           .reset_index())
    out["week_start"] = start + pd.to_timedelta(out["week"] * WEEK_DAYS, unit="D")
    out["week_end"] = out["week_start"] + pd.Timedelta(days=WEEK_DAYS - 1)
    return out


def depromote_forecasts(forecasts: pd.DataFrame, nodes: pd.DataFrame, planned: pd.DataFrame,
                        params: pd.DataFrame, plan_share: dict | None = None) -> pd.DataFrame:
    """The bottom forecasts with the plan's promotions taken out: the no-promotion level ``V0`` is measured against.

    The stored forecasts are plan-aware: on a day the plan promotes a series at depth ``d0`` they include the
    lift ``exp(b * d0 / d_ref)`` of its category (:func:`analytics.scenario.depromote`, the rule the what-if
    uses too), so ``yhat`` (and its bounds) are divided by it there. ``planned``: ``store_id, product_id, date``
    and ``promo_intensity`` of the planned promotion days (a missing or invalid depth counts at the category's
    reference depth); ``params`` from :func:`effect_params`. Categories without parameters are left as they are.
    ``plan_share`` (``{series_id: share}``, default 1): the share of the planned lift a series' forecast carries
    (0 for a model without exogenous inputs, which never saw the plan; see :mod:`jobs.plan_aware`).
    """
    if planned.empty or forecasts.empty:
        return forecasts
    meta = nodes[["node_id", "store_id", "product_id", "category"]].rename(columns={"node_id": "series_id"})
    keys = planned[["store_id", "product_id", "date"]].rename(columns={"date": "ds"}).assign(
        _d0=pd.to_numeric(planned["promo_intensity"], errors="coerce").to_numpy(), _on=True)
    keys = keys.drop_duplicates(["store_id", "product_id", "ds"])
    fc = forecasts.merge(meta, on="series_id", how="left").merge(keys, on=["store_id", "product_id", "ds"],
                                                                 how="left")
    par = params.set_index("category")
    cat = fc["category"].astype(str)
    b = cat.map(par["log_lift"]).fillna(0.0).to_numpy()
    ref = cat.map(par["ref_depth"]).to_numpy(dtype=float)
    d0 = fc["_d0"].to_numpy(dtype=float)
    on = fc["_on"].notna().to_numpy()
    d0 = np.where(on & ~((d0 > 0) & (d0 < 1)), ref, np.where(on, d0, 0.0))
    if plan_share is not None:
        d0 = d0 * fc["series_id"].map(plan_share).fillna(1.0).to_numpy(dtype=float)
    factor = depromote(1.0, b, d0, ref)
    out = forecasts.copy()
    for col in [c for c in out.columns if c == "yhat" or c.startswith("yhat_")]:
        out[col] = out[col].to_numpy(dtype=float) * factor
    return out


def reference_depths(facts: pd.DataFrame) -> dict[str, float]:
    """Mean recorded discount depth of past promotions per category (``category, promo, promo_intensity`` rows);
    categories without recorded depths in (0, 1) are absent."""
    if facts.empty or "promo_intensity" not in facts:
        return {}
    depth = pd.to_numeric(facts["promo_intensity"], errors="coerce")
    on = facts[(facts["promo"].fillna(0) > 0) & (depth > 0) & (depth < 1)]
    return {str(k): float(v) for k, v in on.groupby("category")["promo_intensity"].mean().items()}


def _log_and_se(row: pd.Series) -> tuple[float, float]:
    """``log(1 + estimate)`` and its standard error from the 95% CI on the log scale."""
    b = math.log1p(float(row["estimate"]))
    lo, hi = math.log1p(float(row["ci_low"])), math.log1p(float(row["ci_high"]))
    return b, max(hi - lo, 0.0) / (2 * Z95)


def effect_params(effects: pd.DataFrame, categories, ref_depths: dict[str, float], freq: str,
                  depths) -> pd.DataFrame:
    """Per category: log lift and its s.e., reference depth (and where it came from), dip and its s.e.

    The dip is used only where its 95% CI lies below 0 (a real dip; else 0 is used: noise around no dip, or
    a post-promotion rise we do not bank on); weekly data has no dip estimate. A category without its own lift
    row uses the ``all`` row when there is one.
    Without recorded depths the lift is taken to hold at the middle candidate depth (``ref_source`` says so).
    """
    lifts = effects[(effects["kind"] == "promo_lift")]
    rows = []
    for cat in sorted(set(categories)):
        mine = lifts[lifts["group"] == str(cat)]
        if not (mine["name"] == "promotion").any():
            mine = lifts[lifts["group"] == "all"]
        main = mine[mine["name"] == "promotion"]
        if main.empty:
            raise ValueError(f"no promotion lift estimated for category {cat!r}: run `python cli.py effects` "
                             "on data with promotions")
        b, se = _log_and_se(main.iloc[0])
        dip_row = mine[mine["name"] == "post_promotion_dip"]
        dip, dip_se, used = 0.0, 0.0, False
        if freq == "D" and not dip_row.empty:
            r = dip_row.iloc[0]
            if float(r["ci_high"]) < 0:
                dip_log, dip_se = _log_and_se(r)
                dip, used = math.expm1(dip_log), True
        ref = ref_depths.get(str(cat))
        rows.append({"category": str(cat), "log_lift": b, "log_lift_se": se, "lift": math.expm1(b),
                     "ref_depth": ref if ref else float(np.median(depths)),
                     "ref_source": "history" if ref else "assumed", "dip": dip, "dip_se": dip_se, "dip_used": used,
                     "post_share": POST_PROMO_DAYS / WEEK_DAYS if freq == "D" else 0.0})
    return pd.DataFrame(rows)


def candidate_frame(weekly: pd.DataFrame, prices: pd.DataFrame, depths) -> pd.DataFrame:
    """Every store x product x week x depth with its baseline, regular price and unit cost.

    ``prices``: ``store_id, product_id, price, unit_cost, cost_source`` (one row per series).
    """
    out = weekly.merge(prices, on=["store_id", "product_id"], how="inner")
    out = out[out["baseline"] > 0]
    grid = pd.DataFrame({"depth": [float(d) for d in depths]})
    return out.merge(grid, how="cross").sort_values(["store_id", "product_id", "week", "depth"],
                                                    kind="stable").reset_index(drop=True)


def evaluate(cands: pd.DataFrame, params: pd.DataFrame, log_lift=None, dip=None) -> dict:
    """:func:`decisions.promo_value.promotion_value` of each candidate with its category's parameters.

    ``log_lift`` / ``dip`` (arrays ``(n_categories, k)`` in ``params`` order) replace the point estimates with
    ``k`` draws; the results are then ``(n_candidates, k)``.
    """
    idx = params.reset_index(drop=True).reset_index().set_index("category")["index"]
    pos = cands["category"].astype(str).map(idx).to_numpy()
    b = params["log_lift"].to_numpy() if log_lift is None else log_lift
    dp = params["dip"].to_numpy() if dip is None else dip
    col = (lambda a: a[:, None]) if log_lift is not None else (lambda a: a)
    return promotion_value(col(cands["baseline"].to_numpy()), col(cands["price"].to_numpy()),
                           col(cands["unit_cost"].to_numpy()), col(cands["depth"].to_numpy()), b[pos],
                           col(params["ref_depth"].to_numpy()[pos]), dp[pos], col(params["post_share"].to_numpy()[pos]))


def effect_draws(params: pd.DataFrame, n_draws: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(log_lift, dip)`` draws, each ``(n_categories, n_draws)``; the dip stays 0 where it is not used."""
    rng = np.random.default_rng(seed)
    b = params["log_lift"].to_numpy()[:, None] + params["log_lift_se"].to_numpy()[:, None] * rng.standard_normal(
        (len(params), n_draws))
    dip_log = np.log1p(params["dip"].to_numpy())[:, None] + params["dip_se"].to_numpy()[:, None] \
        * rng.standard_normal((len(params), n_draws))
    dip = np.where(params["dip_used"].to_numpy()[:, None], np.expm1(dip_log), 0.0)
    return b, dip


def _with_intervals(point: dict, draws: dict, prefix: str = "") -> dict:
    """``{name: point, name_lo_80: ..., name_hi_95: ...}`` from point values and draw percentiles (last axis)."""
    out = {}
    for name in VALUE_COLUMNS[:3]:
        out[prefix + name] = point[name]
        for lv in LEVELS:
            a = (100 - lv) / 2
            out[f"{prefix}{name}_lo_{lv}"] = np.percentile(draws[name], a, axis=-1)
            out[f"{prefix}{name}_hi_{lv}"] = np.percentile(draws[name], 100 - a, axis=-1)
    return out


def optimize(cands: pd.DataFrame, params: pd.DataFrame, max_per_store_week: int, budget: float | None = None,
             n_draws: int = 1000, seed: int = 0, taken: dict | None = None) -> dict:
    """Choose the calendar and describe it with intervals.

    Parameters
    ----------
    cands : DataFrame
        From :func:`candidate_frame`.
    params : DataFrame
        From :func:`effect_params`.
    max_per_store_week : int
        Most promotions per store and week.
    budget : float, optional
        Most expected discount cost of the whole calendar.
    n_draws, seed : int
        Effect draws for the intervals.
    taken : dict, optional
        ``{(store_id, week): n}`` promotions the plan already holds (they count toward ``K``).

    Returns
    -------
    dict
        ``lines`` (DataFrame: the chosen candidates with their expected values and 80/95% bounds),
        ``totals`` (dict, same fields summed, with bounds from the summed draws), ``status``,
        ``no_back_to_back`` (categories with a dip, never promoted in two consecutive weeks), ``candidates``
        and ``chosen_mask`` (over ``cands``).
    """
    point = evaluate(cands, params)
    dipped = set(params.loc[params["dip_used"], "category"])
    no_b2b = cands["category"].astype(str).isin(dipped).to_numpy()  # the dip assumes no promotion next week
    chosen, status = choose(cands, point["incr_margin"], max_per_store_week, budget, point["discount_cost"],
                            no_back_to_back=no_b2b, taken=taken)
    lines = cands[chosen].reset_index(drop=True)
    b, dip = effect_draws(params, n_draws, seed)
    drawn = evaluate(lines, params, b, dip) if len(lines) else {k: np.zeros((0, n_draws)) for k in VALUE_COLUMNS}
    line_point = {k: v[chosen] for k, v in point.items()}
    lines = lines.assign(**_with_intervals(line_point, drawn), discount_cost=line_point["discount_cost"])
    total_point = {k: float(v.sum()) for k, v in line_point.items()}
    total_draws = {k: v.sum(axis=0) for k, v in drawn.items()}
    totals = {k: float(v) for k, v in _with_intervals(total_point, total_draws).items()}
    totals["discount_cost"] = total_point["discount_cost"]
    totals["promotions"] = int(chosen.sum())
    return {"lines": lines, "totals": totals, "status": status, "no_back_to_back": sorted(dipped),
            "candidates": int(len(cands)), "chosen_mask": chosen}
