"""What-if scenarios: baseline vs scenario forecast of a node under a promotion, a price or closed days.

Method (Monte Carlo over both sources of uncertainty, named "effect-and-forecast Monte Carlo" in the README):

* **Forecast noise.** Each day's predictive distribution is the stored forecast's quantiles (2.5%, 10%, 50% =
  ``yhat``, 90%, 97.5%) joined piecewise linearly in the normal score (linear beyond the 95% bounds, floored at
  0), so asymmetric intervals are kept. Days are joined by a Gaussian copula with AR(1) correlation ``rho``
  (``corr(day i, day j) = rho ** |i - j|``, ``rho`` estimated from the node's history by
  :func:`day_correlation`): totals over several days are neither as narrow as independent days nor as wide
  as one shared shock.
* **Effect uncertainty.** The log promotion lift of each category at its reference depth, the log
  post-promotion dip and the price elasticity are drawn from normal sampling distributions (standard error =
  the saved 95% CI's half-width on the log scale / 1.96), once per draw and shared by every day and series of
  the category, as one estimate is. Categories are independent (separate regressions).
* **Scenario.** A promotion at depth ``d`` multiplies a category's sales (revenue) by ``exp(b * d / d_ref)``
  on promotion days (log lift proportional to depth, ``d_ref`` = the depth the lift was estimated at) and by
  ``exp(dip * d / d_ref)`` on the post-promotion days (``exp(dip * (d - d0) / d_ref)`` where the plan already
  promotes the window's last day at ``d0``); units are revenue over the price paid, so they rise by
  a further ``1 / (1 - d)``. A promotion price ``P`` instead multiplies units by ``(P / p) ** elasticity``
  (``p`` = the series' regular price) and revenue by that times ``P / p``. Closed days sell 0.
* **The plan.** The stored forecast is the baseline *with the plan as it stands* (plan-aware models get the
  planned promotions, depths, prices and closures). Where the plan already promotes a series at depth ``d0``
  on a scenario promotion day, the scenario applies only the difference: log lift ``b * (d - d0) / d_ref``
  (:func:`depromote` takes the planned lift out, then depth ``d`` is applied), and baseline units are the
  forecast over the planned price ``p (1 - d0)``; with ``--price`` the planned promotion is taken out with the
  elasticity (units ``x (1 - d0) ** -elasticity``). A scenario equal to the plan changes nothing. A series
  whose forecast comes from a model without exogenous inputs never saw the plan: ``plan_share`` (the share
  of its chosen model's members that are plan-aware, :mod:`jobs.plan_aware`) scales what is taken out. The
  reported promotion lift is measured against the unpromoted level (the baseline without the planned lift).
  Days the plan closes forecast 0 and stay 0 (a scenario cannot reopen them).
* **Aggregates.** A node spanning categories gets each bottom series' share of its forecast per day (from the
  bottom forecasts), and every share gets its own category's effect; the node's own forecast carries the noise.

Baseline and scenario use the same draws (the same future with and without the action), so the difference's
interval is the uncertainty of the action's effect, and the lift on promotion days is the effect's alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))
_QUANTILE_Z = np.array([-Z95, float(stats.norm.ppf(0.1)), 0.0, float(stats.norm.ppf(0.9)), Z95])
QUANTILES = {"lo_95": 0.025, "lo_80": 0.10, "hi_80": 0.90, "hi_95": 0.975}
MEASURES = ("units", "revenue", "margin")


@dataclass(frozen=True)
class Estimate:
    """A log-scale effect and its standard error (``se`` 0: known exactly)."""

    log_mean: float
    log_se: float

    @classmethod
    def from_relative(cls, estimate: float, ci_low: float, ci_high: float) -> Estimate:
        """From a relative effect (0.25 = +25%) and its 95% CI: log of ``1 + x``, se = half-width / 1.96."""
        lo, mid, hi = (float(np.log1p(v)) for v in (ci_low, estimate, ci_high))
        return cls(mid, max(hi - lo, 0.0) / (2 * Z95))

    @classmethod
    def from_interval(cls, estimate: float, ci_low: float, ci_high: float) -> Estimate:
        """From an estimate already on its own scale (an elasticity) and its 95% CI."""
        return cls(float(estimate), max(float(ci_high) - float(ci_low), 0.0) / (2 * Z95))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.log_mean + self.log_se * rng.standard_normal(n)


@dataclass
class Bottom:
    """The bottom series under a node: category, regular price, unit cost and effect estimates per series.

    ``lift`` and ``dip`` map a category to its :class:`Estimate` (``dip`` may lack one); ``ref_depth`` maps it
    to the depth the lift refers to (NaN: unknown, the lift is used as it is); ``elasticity`` holds one
    :class:`Estimate` per series (None where none was estimated). ``shares`` is (series x days): each series'
    share of the node's forecast per day.
    """

    categories: list[str]
    shares: np.ndarray
    price: np.ndarray
    unit_cost: np.ndarray
    lift: dict[str, Estimate]
    dip: dict[str, Estimate] = field(default_factory=dict)
    ref_depth: dict[str, float] = field(default_factory=dict)
    elasticity: list[Estimate | None] = field(default_factory=list)
    planned_depth: np.ndarray | None = None  # series x days: the plan's promotion depth (0: none)
    plan_share: np.ndarray | None = None  # per series: share of the planned lift its forecast carries (None: 1)


@dataclass(frozen=True)
class Plan:
    """The scenario on the horizon's days: boolean masks of promotion, post-promotion and closed days."""

    promo: np.ndarray
    post: np.ndarray
    closed: np.ndarray
    depth: float = 0.2
    price: float | None = None


def day_correlation(history: pd.DataFrame, freq: str = "D", max_rho: float = 0.95) -> float:
    """Lag-1 autocorrelation of a node's log sales after removing its local level (and day of week, daily).

    Parameters
    ----------
    history : DataFrame
        ``ds, y`` (the last year or so of the node).
    freq : {"D", "W"}
        Frequency: daily data also lose their day-of-week means; the level is a centred 28-step mean.
    max_rho : float
        Upper clip (0.95 keeps the simulated paths from being one shared shock).

    Returns
    -------
    float
        In ``[0, max_rho]``; 0 when there are fewer than 60 positive steps.
    """
    h = history[["ds", "y"]].dropna().sort_values("ds")
    h = h[h["y"] > 0]
    if len(h) < 60:
        return 0.0
    x = pd.Series(np.log(h["y"].to_numpy(dtype=float)), index=pd.DatetimeIndex(h["ds"]))
    if freq == "D":
        x = x.asfreq("D")
    resid = x - x.rolling(28, center=True, min_periods=14).mean()
    if freq == "D":
        resid = resid - resid.groupby(resid.index.dayofweek).transform("mean")
    rho = resid.autocorr(lag=1)
    return float(np.clip(rho if np.isfinite(rho) else 0.0, 0.0, max_rho))


def ar1_normals(rng: np.random.Generator, n_draws: int, n_days: int, rho: float) -> np.ndarray:
    """Standard normal paths (draws x days) with ``corr(z_i, z_j) = rho ** |i - j|``."""
    z = rng.standard_normal((n_draws, n_days))
    scale = np.sqrt(1.0 - rho ** 2)
    for t in range(1, n_days):
        z[:, t] = rho * z[:, t - 1] + scale * z[:, t]
    return z


def quantile_paths(forecast: pd.DataFrame, z: np.ndarray) -> np.ndarray:
    """Map normal scores ``z`` (draws x days) to forecast values through each day's stored quantiles.

    Parameters
    ----------
    forecast : DataFrame
        ``yhat, yhat_lo_95, yhat_lo_80, yhat_hi_80, yhat_hi_95`` per day (missing bounds: no noise that day).
    z : ndarray
        Draws x days.

    Returns
    -------
    ndarray
        Draws x days, non-negative; at ``z`` = +-1.96 / +-1.28 exactly the stored bounds.
    """
    cols = ["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]
    q = forecast.reindex(columns=cols).to_numpy(dtype=float)
    q = np.where(np.isfinite(q), q, q[:, [2]])
    q = np.maximum.accumulate(q, axis=1)  # quantiles must not cross
    slope = np.diff(q, axis=1) / np.diff(_QUANTILE_Z)[None, :]  # days x 4 segments
    seg = np.clip(np.searchsorted(_QUANTILE_Z, z, side="right") - 1, 0, 3)  # draws x days
    days = np.arange(q.shape[0])[None, :]
    out = q[days, seg] + slope[days, seg] * (z - _QUANTILE_Z[seg])
    return np.maximum(out, 0.0)


def depromote(value, log_lift, planned_depth, ref_depth):
    """The no-promotion level under ``value`` where the plan already promotes at depth ``d0``.

    ``value / exp(b * d0 / d_ref)``: the planned promotion's lift (log lift proportional to depth, ``b`` the
    log lift at the reference depth ``d_ref``) taken out; ``value`` itself where ``d0`` is 0 or NaN (no planned
    promotion). Without a usable ``d_ref`` (NaN or <= 0) the lift is taken as it is (``b``) for any planned
    depth. The one de-promotion rule of the what-if (:mod:`jobs.whatif_job`) and of the promotion optimizer's
    baselines (:mod:`decisions.promotions`). Arrays broadcast.
    """
    d0 = np.nan_to_num(np.asarray(planned_depth, dtype=float), nan=0.0)
    ref = np.asarray(ref_depth, dtype=float)
    ok = np.isfinite(ref) & (ref > 0)
    scale = np.where(d0 > 0, np.where(ok, d0 / np.where(ok, ref, 1.0), 1.0), 0.0)
    return np.asarray(value, dtype=float) * np.exp(-np.asarray(log_lift, dtype=float) * scale)


def _multipliers(bottom: Bottom, plan: Plan, rng: np.random.Generator, n_draws: int, point: bool):
    """Yield ``(rows, mult)`` per group of series of ``bottom`` sharing their multipliers: ``mult`` maps
    ``baseline``, ``scenario`` and ``unpromoted`` (no promotion at all, planned ones taken out) to ``(revenue,
    units)`` multipliers (draws x days) of the forecast's revenue share and of its units at the regular price.
    Groups: a category with one planned-depth pattern (the lift draw is shared by its series), or a series with
    a price. ``point``: the estimates themselves instead of draws (one row). A generator, so a node with many
    series with their own plans holds one group's arrays at a time."""
    n = 1 if point else n_draws
    days = len(plan.promo)
    planned = (np.zeros((len(bottom.categories), days)) if bottom.planned_depth is None
               else np.nan_to_num(np.asarray(bottom.planned_depth, dtype=float), nan=0.0))
    base_units = 1.0 / (1.0 - planned)  # planned promotion days sell at p (1 - d0)
    share = np.ones(len(planned)) if bottom.plan_share is None else np.asarray(bottom.plan_share, dtype=float)
    carried = planned * share[:, None]  # the planned depth whose lift the forecast holds

    def draw(est: Estimate | None) -> np.ndarray:
        if est is None:
            return np.zeros(n)
        return np.full(n, est.log_mean) if point else est.draw(rng, n)

    def closed(mult: dict) -> dict:  # the scenario's closed days sell 0
        rev, units = mult["scenario"]
        rev[:, plan.closed] = 0.0
        units[:, plan.closed] = 0.0
        return mult

    cats = np.asarray(bottom.categories)
    if plan.price is None:
        for cat in dict.fromkeys(bottom.categories):
            rows = np.flatnonzero(cats == cat)
            ref = bottom.ref_depth.get(cat, float("nan"))
            scale = plan.depth / ref if np.isfinite(ref) and ref > 0 else 1.0
            b, dip_ref = draw(bottom.lift[cat])[:, None], draw(bottom.dip.get(cat))
            dip = dip_ref * scale
            last = np.flatnonzero(plan.promo)[-1] if plan.promo.any() else 0
            patterns: dict = {}
            for i in rows:
                patterns.setdefault(planned[i].tobytes() + carried[i].tobytes(), []).append(i)
            for idx in patterns.values():
                d0, bu = carried[idx[0]][None, :], base_units[idx[0]][None, :]
                unpromoted = np.broadcast_to(depromote(1.0, b, d0, ref), (n, days)).copy()
                rev = np.ones((n, days))
                rev[:, plan.promo] = unpromoted[:, plan.promo] * np.exp(b * scale)
                # the dip after a promotion the plan already holds on the window's last day is in the forecast
                rev[:, plan.post] *= (np.exp(dip) * depromote(1.0, dip_ref, d0[0, last], ref))[:, None]
                units = rev * bu
                units[:, plan.promo] = rev[:, plan.promo] / (1.0 - plan.depth)
                mult = {"baseline": (np.ones((n, days)), np.repeat(bu, n, axis=0)),
                        "scenario": (rev, units), "unpromoted": (unpromoted, unpromoted.copy())}
                yield np.asarray(idx), closed(mult)
    else:
        draws = {}
        for i, cat in enumerate(bottom.categories):
            est = bottom.elasticity[i]
            eps = draws[est] if est in draws else draws.setdefault(est, draw(est))  # shared by its series
            ratio = plan.price / bottom.price[i]
            depth = max(0.0, 1.0 - ratio)
            ref = bottom.ref_depth.get(cat, float("nan"))
            dip = draw(bottom.dip.get(cat)) * (depth / ref if np.isfinite(ref) and ref > 0 else 1.0)
            bu = np.repeat(base_units[i][None, :], n, axis=0)
            # unpromoted units: the planned price's response (1 - d0) ** eps taken out
            u0 = bu * np.exp(-eps[:, None] * np.log(1.0 - carried[i])[None, :])
            units = bu.copy()
            units[:, plan.promo] = u0[:, plan.promo] * np.exp(eps * np.log(ratio))[:, None]
            units[:, plan.post] *= np.exp(dip)[:, None]
            rev = units / bu  # revenue / (forecast share): baseline revenue is the forecast
            rev[:, plan.promo] = units[:, plan.promo] * ratio
            mult = {"baseline": (np.ones((n, days)), bu), "scenario": (rev, units), "unpromoted": (u0.copy(), u0)}
            yield np.array([i]), closed(mult)


def _totals(paths: np.ndarray, bottom: Bottom, groups, with_units: bool, with_margin: bool) -> dict:
    """Baseline, scenario and unpromoted paths (draws x days) of revenue, units and margin."""
    per_rev = bottom.shares  # revenue share; units per revenue = share / price; cost = units * unit cost
    per_unit = bottom.shares / bottom.price[:, None] if with_units else None
    per_cost = per_unit * bottom.unit_cost[:, None] if with_margin else None
    names = ("baseline", "scenario", "unpromoted")
    rev = {k: np.zeros_like(paths) for k in names}
    units = {k: np.zeros_like(paths) for k in names} if with_units else None
    cost = {k: np.zeros_like(paths) for k in names} if with_margin else None
    for rows, mult in groups:
        for k, (r, u) in mult.items():
            rev[k] += paths * r * per_rev[rows].sum(axis=0)[None, :]
            if with_units:
                units[k] += paths * u * per_unit[rows].sum(axis=0)[None, :]
            if with_margin:
                cost[k] += paths * u * per_cost[rows].sum(axis=0)[None, :]
    out = {k: {"revenue": rev[k]} for k in names}
    for k in names:
        if with_units:
            out[k]["units"] = units[k]
        if with_margin:
            out[k]["margin"] = rev[k] - cost[k]
    return out


def _summary(point: float, draws: np.ndarray) -> dict:
    qs = np.quantile(draws, list(QUANTILES.values()))
    return {"estimate": float(point), **{k: float(v) for k, v in zip(QUANTILES, qs)}}


def simulate(forecast: pd.DataFrame, bottom: Bottom, plan: Plan, rho: float = 0.0, n_draws: int = 2000,
             seed: int = 0) -> dict:
    """Baseline and scenario of one node with 80% and 95% intervals (see the module docstring).

    Parameters
    ----------
    forecast : DataFrame
        The node's stored forecast over the horizon: ``ds, yhat`` and the 80/95% bounds.
    bottom : Bottom
        The bottom series under the node (shares over the same days).
    plan : Plan
        Masks over the same days.
    rho : float
        Day-to-day correlation of the forecast errors.
    n_draws, seed : int
        Monte Carlo draws and seed (the same inputs give the same output).

    Returns
    -------
    dict
        ``totals``: per measure (``units``, ``revenue``, ``margin``; None when prices or unit costs are unknown)
        ``baseline``, ``scenario`` and ``difference``, each ``estimate, lo_80, hi_80, lo_95, hi_95`` summed over
        the horizon; ``promo_lift``: relative revenue change over the promotion days against the level without
        any promotion (planned ones taken out), and ``promo_units_lift``;
        ``daily``: a DataFrame of baseline and scenario revenue per day with their intervals.
    """
    rng = np.random.default_rng(seed)
    with_units = bool(np.all(np.isfinite(bottom.price)) and np.all(bottom.price > 0))
    with_margin = with_units and bool(np.all(np.isfinite(bottom.unit_cost)))
    z = ar1_normals(rng, n_draws, len(forecast), rho)
    paths = quantile_paths(forecast, z)
    sims = _totals(paths, bottom, _multipliers(bottom, plan, rng, n_draws, point=False), with_units, with_margin)
    yhat = forecast["yhat"].to_numpy(dtype=float)[None, :]
    points = _totals(np.maximum(yhat, 0.0), bottom, _multipliers(bottom, plan, rng, 1, point=True), with_units,
                     with_margin)
    totals: dict = {}
    for m in MEASURES:
        if m not in sims["baseline"]:
            totals[m] = None
            continue
        b, s = sims["baseline"][m].sum(axis=1), sims["scenario"][m].sum(axis=1)
        pb, ps = points["baseline"][m].sum(), points["scenario"][m].sum()
        totals[m] = {"baseline": _summary(pb, b), "scenario": _summary(ps, s), "difference": _summary(ps - pb, s - b)}
    out = {"totals": totals, "promo_lift": None, "promo_units_lift": None}
    if plan.promo.any():
        for key, m in (("promo_lift", "revenue"), ("promo_units_lift", "units")):
            if m not in sims["baseline"]:
                continue
            b = sims["unpromoted"][m][:, plan.promo].sum(axis=1)  # against the level without any promotion
            s = sims["scenario"][m][:, plan.promo].sum(axis=1)
            pb = points["unpromoted"][m][:, plan.promo].sum()
            ps = points["scenario"][m][:, plan.promo].sum()
            ok = b > 0
            if ok.any() and pb > 0:
                out[key] = _summary(ps / pb - 1.0, s[ok] / b[ok] - 1.0)
    daily = pd.DataFrame({"ds": pd.to_datetime(forecast["ds"]).to_numpy()})
    for name in ("baseline", "scenario"):
        sim, pt = sims[name]["revenue"], points[name]["revenue"][0]
        daily[name] = pt
        for k, q in QUANTILES.items():
            daily[f"{name}_{k}"] = np.quantile(sim, q, axis=0)
    out["daily"] = daily
    return out
