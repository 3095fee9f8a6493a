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
  ``exp(dip * d / d_ref)`` on the post-promotion days; units are revenue over the price paid, so they rise by
  a further ``1 / (1 - d)``. A promotion price ``P`` instead multiplies units by ``(P / p) ** elasticity``
  (``p`` = the series' regular price) and revenue by that times ``P / p``. Closed days sell 0.
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


def _multipliers(bottom: Bottom, plan: Plan, rng: np.random.Generator, n_draws: int, point: bool):
    """Per category (or per series with a price): revenue and unit multipliers, draws x days, and the rows of
    ``bottom`` they apply to. ``point``: the estimates themselves instead of draws (one row)."""
    n = 1 if point else n_draws
    days = len(plan.promo)

    def draw(est: Estimate | None) -> np.ndarray:
        if est is None:
            return np.zeros(n)
        return np.full(n, est.log_mean) if point else est.draw(rng, n)

    cats = np.asarray(bottom.categories)
    groups = []
    if plan.price is None:
        for cat in dict.fromkeys(bottom.categories):
            rows = np.flatnonzero(cats == cat)
            ref = bottom.ref_depth.get(cat, float("nan"))
            scale = plan.depth / ref if np.isfinite(ref) and ref > 0 else 1.0
            lift, dip = draw(bottom.lift[cat]) * scale, draw(bottom.dip.get(cat)) * scale
            log_rev = np.zeros((n, days))
            log_rev[:, plan.promo] = lift[:, None]
            log_rev[:, plan.post] = dip[:, None]
            rev = np.exp(log_rev)
            units = rev.copy()
            units[:, plan.promo] /= 1.0 - plan.depth
            groups.append((rows, rev, units))
    else:
        draws = {}
        for i, cat in enumerate(bottom.categories):
            est = bottom.elasticity[i]
            eps = draws[est] if est in draws else draws.setdefault(est, draw(est))  # shared by its series
            ratio = plan.price / bottom.price[i]
            depth = max(0.0, 1.0 - ratio)
            ref = bottom.ref_depth.get(cat, float("nan"))
            dip = draw(bottom.dip.get(cat)) * (depth / ref if np.isfinite(ref) and ref > 0 else 1.0)
            units = np.ones((n, days))
            units[:, plan.promo] = np.exp(eps * np.log(ratio))[:, None]
            units[:, plan.post] = np.exp(dip)[:, None]
            rev = units.copy()
            rev[:, plan.promo] *= ratio
            groups.append((np.array([i]), rev, units))
    for _, rev, units in groups:
        rev[:, plan.closed] = 0.0
        units[:, plan.closed] = 0.0
    return groups


def _totals(paths: np.ndarray, bottom: Bottom, groups, with_units: bool, with_margin: bool) -> dict:
    """Baseline and scenario paths (draws x days) of revenue, units and margin."""
    per_rev = bottom.shares  # revenue share; units per revenue = share / price; cost = units * unit cost
    per_unit = bottom.shares / bottom.price[:, None] if with_units else None
    per_cost = per_unit * bottom.unit_cost[:, None] if with_margin else None
    out = {"baseline": {}, "scenario": {}}
    base_rev = paths * per_rev.sum(axis=0)[None, :]
    scen_rev = np.zeros_like(paths)
    scen_units = np.zeros_like(paths) if with_units else None
    scen_cost = np.zeros_like(paths) if with_margin else None
    for rows, rev, units in groups:
        scen_rev += paths * rev * per_rev[rows].sum(axis=0)[None, :]
        if with_units:
            scen_units += paths * units * per_unit[rows].sum(axis=0)[None, :]
        if with_margin:
            scen_cost += paths * units * per_cost[rows].sum(axis=0)[None, :]
    out["baseline"]["revenue"], out["scenario"]["revenue"] = base_rev, scen_rev
    if with_units:
        out["baseline"]["units"] = paths * per_unit.sum(axis=0)[None, :]
        out["scenario"]["units"] = scen_units
    if with_margin:
        out["baseline"]["margin"] = base_rev - paths * per_cost.sum(axis=0)[None, :]
        out["scenario"]["margin"] = scen_rev - scen_cost
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
        the horizon; ``promo_lift``: relative revenue change over the promotion days (and ``promo_units_lift``);
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
            b = sims["baseline"][m][:, plan.promo].sum(axis=1)
            s = sims["scenario"][m][:, plan.promo].sum(axis=1)
            pb = points["baseline"][m][:, plan.promo].sum()
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
