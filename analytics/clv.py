"""Customer lifetime value from BG/NBD + Gamma-Gamma, and its calibration/holdout validation.

CLV over a horizon is revenue, not margin (order lines carry no cost): per month ``k`` of the horizon, the
expected purchases in that month (BG/NBD, conditional on the customer's history) times the expected transaction
value (Gamma-Gamma), discounted by ``(1 + monthly_rate) ** k``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics import btyd

WEEKS_PER_MONTH = 365.25 / 12 / 7


def clv(bg: dict, gg: dict, summ: pd.DataFrame, horizon_weeks: float, monthly_discount: float = 0.01) -> pd.DataFrame:
    """Expected purchases, spend and discounted CLV per customer over ``horizon_weeks``.

    Parameters
    ----------
    bg, gg : dict
        BG/NBD (``r, alpha, a, b``) and Gamma-Gamma (``p, q, gamma``) parameters.
    summ : pandas.DataFrame
        :func:`analytics.rfm.summary`'s frame (``customer, x, t_x, T, m_x``).
    horizon_weeks : float
        Horizon in weeks.
    monthly_discount : float
        Discount rate per month (0.01 = 1%).

    Returns
    -------
    pandas.DataFrame
        ``customer, p_alive, expected_purchases, expected_spend, clv, value_if_active``; the last is the
        undiscounted revenue over the horizon were the customer surely alive (``E[purchases | alive] x spend``:
        BG/NBD's conditional expectation is ``P(alive)`` times this rate).
    """
    x, t_x, T = (summ[c].to_numpy(float) for c in ("x", "t_x", "T"))
    spend = btyd.expected_spend(gg, x, summ["m_x"].to_numpy(float))
    n_months = max(1, math.ceil(horizon_weeks / WEEKS_PER_MONTH - 1e-9))
    ends = np.minimum(np.arange(1, n_months + 1) * WEEKS_PER_MONTH, horizon_weeks)
    cum = np.column_stack([btyd.expected_purchases(bg, t, x, t_x, T) for t in ends])
    monthly = np.diff(np.column_stack([np.zeros(len(x)), cum]), axis=1)
    disc = (1 + monthly_discount) ** -np.arange(1, n_months + 1)
    alive = btyd.p_alive(bg, x, t_x, T)
    if_alive = btyd.expected_purchases(bg, horizon_weeks, x, t_x, T, if_alive=True)
    return pd.DataFrame({"customer": summ["customer"].to_numpy(), "p_alive": alive,
                         "expected_purchases": cum[:, -1], "expected_spend": spend,
                         "clv": spend * (monthly @ disc), "value_if_active": spend * if_alive})


def _ratio_ci(pred: np.ndarray, actual: np.ndarray, rng: np.random.Generator, n_boot: int = 400) -> tuple:
    """Bootstrap (over customers) 95% interval of ``sum(pred) / sum(actual) - 1``."""
    idx = rng.integers(0, len(pred), (n_boot, len(pred)))
    ratios = pred[idx].sum(axis=1) / np.maximum(actual[idx].sum(axis=1), 1e-12) - 1
    return float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))


def holdout_validation(tx: pd.DataFrame, cutoff: pd.Timestamp, end: pd.Timestamp, seed: int = 0) -> dict:
    """Fit BG/NBD + Gamma-Gamma on transactions up to ``cutoff``, predict ``(cutoff, end]`` and compare.

    Returns
    -------
    dict
        ``fits`` (the calibration fits), ``per_customer`` (``customer, x, predicted_purchases, actual_purchases,
        predicted_spend, actual_spend``), ``by_frequency`` (mean predicted vs actual purchases per calibration
        ``x``, the conditional-expectation check) and ``aggregate`` (totals, relative bias with bootstrap 95%
        intervals, per-customer MAE and correlation).
    """
    from analytics import rfm  # sibling module; imported here to keep the top light
    cutoff, end = pd.Timestamp(cutoff), pd.Timestamp(end)
    summ = rfm.summary(tx, cutoff)
    bg = btyd.fit_bgnbd(summ["x"], summ["t_x"], summ["T"])
    gg = btyd.fit_gamma_gamma(summ["x"], summ["m_x"])
    weeks = (end - cutoff).days / 7.0
    x, t_x, T = (summ[c].to_numpy(float) for c in ("x", "t_x", "T"))
    pred_n = btyd.expected_purchases(bg.params, weeks, x, t_x, T)
    pred_s = pred_n * btyd.expected_spend(gg.params, x, summ["m_x"].to_numpy(float))
    later = tx[(tx["date"] > cutoff) & (tx["date"] <= end)].groupby("customer").agg(
        actual_purchases=("date", "size"), actual_spend=("revenue", "sum"))
    per = summ[["customer", "x"]].assign(predicted_purchases=pred_n, predicted_spend=pred_s) \
        .merge(later, left_on="customer", right_index=True, how="left").fillna(
        {"actual_purchases": 0, "actual_spend": 0.0})
    rng = np.random.default_rng(seed)
    agg = {"customers": int(len(per)), "holdout_weeks": round(weeks, 2), "cutoff": str(cutoff.date()),
           "end": str(end.date())}
    for what in ("purchases", "spend"):
        p, a = per[f"predicted_{what}"].to_numpy(float), per[f"actual_{what}"].to_numpy(float)
        lo, hi = _ratio_ci(p, a, rng)
        agg.update({f"predicted_{what}": float(p.sum()), f"actual_{what}": float(a.sum()),
                    f"bias_{what}": float(p.sum() / a.sum() - 1) if a.sum() else float("nan"),
                    f"bias_{what}_lo95": lo, f"bias_{what}_hi95": hi,
                    f"mae_{what}": float(np.mean(np.abs(p - a))),
                    f"corr_{what}": float(np.corrcoef(p, a)[0, 1]) if len(p) > 2 else float("nan")})
    grp = per.assign(x_group=np.minimum(per["x"], 7).astype(int)).groupby("x_group")
    by_freq = grp.agg(customers=("customer", "size"), predicted=("predicted_purchases", "mean"),
                      actual=("actual_purchases", "mean")).reset_index()
    return {"fits": {"bgnbd": bg, "gamma_gamma": gg}, "per_customer": per, "by_frequency": by_freq,
            "aggregate": agg}
