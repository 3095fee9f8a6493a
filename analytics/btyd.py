"""Buy-till-you-die models fitted by maximum likelihood: BG/NBD (purchases, P(alive)) and Gamma-Gamma (spend).

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a customer buys at a
Poisson rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase they drop out with probability
``p ~ Beta(a, b)``. Data per customer: ``x`` repeat purchases, ``t_x`` time of the last one and ``T`` the age
since the first purchase (all in the same time unit; this project uses weeks).

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie's note on the Gamma-Gamma model): each
transaction value ``z ~ Gamma(p, nu)``, ``nu ~ Gamma(q, gamma)`` across customers; fitted on the mean repeat
transaction value ``m_x`` of customers with ``x >= 1``.

Both are fitted on log parameters with scipy (L-BFGS-B), standard errors from the inverse of a numerical Hessian of
the negative log-likelihood in log space, and 95% intervals ``exp(log theta +- 1.96 se)`` (delta method).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit: parameters, 95% intervals, log-likelihood and fit time."""

    names: tuple[str, ...]
    params: dict
    lower: dict
    upper: dict
    se_log: dict
    loglik: float
    n: int
    seconds: float
    converged: bool
    extra: dict = field(default_factory=dict)

    def table(self) -> list[dict]:
        """One row per parameter: ``param, estimate, lo95, hi95, se_log``."""
        return [{"param": k, "estimate": self.params[k], "lo95": self.lower[k], "hi95": self.upper[k],
                 "se_log": self.se_log[k]} for k in self.names]


def _hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    k = len(x)
    h = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.zeros(k), np.zeros(k)
            ei[i], ej[j] = step, step
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * step * step)
            h[i, j] = h[j, i] = v
    return h


def _ml_fit(nll, names: tuple[str, ...], start: np.ndarray, n: int) -> Fit:
    """Minimise ``nll(log_params)``; intervals from the inverse Hessian on the log scale."""
    t0 = time.perf_counter()
    res = optimize.minimize(nll, start, method="L-BFGS-B", bounds=[(-12.0, 12.0)] * len(start))
    est = res.x
    try:
        cov = np.linalg.inv(_hessian(nll, est))
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        se = np.full(len(est), np.nan)
    seconds = time.perf_counter() - t0
    params = dict(zip(names, np.exp(est)))
    return Fit(names=names, params={k: float(v) for k, v in params.items()},
               lower={k: float(np.exp(e - Z95 * s)) for k, e, s in zip(names, est, se)},
               upper={k: float(np.exp(e + Z95 * s)) for k, e, s in zip(names, est, se)},
               se_log={k: float(s) for k, s in zip(names, se)}, loglik=float(-res.fun), n=int(n),
               seconds=round(seconds, 3), converged=bool(res.success))


# ----------------------------------------------------------------------------- BG/NBD

def bgnbd_loglik(r: float, alpha: float, a: float, b: float, x, t_x, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6).

    Parameters
    ----------
    r, alpha, a, b : float
        Model parameters (all > 0).
    x, t_x, T : array-like
        Repeat purchases, time of the last purchase and age, per customer (``0 <= t_x <= T``).

    Returns
    -------
    numpy.ndarray
        ``log L_i`` per customer.
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                      -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(x, t_x, T, start: tuple = (1.0, 1.0, 1.0, 1.0)) -> Fit:
    """Maximum-likelihood BG/NBD fit with 95% intervals (``r, alpha, a, b``)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) < 10:
        raise ValueError(f"BG/NBD needs at least 10 customers, got {len(x)}")
    # Customers with identical (x, t_x, T) share one term: weight the unique rows.
    rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)

    def nll(theta):
        r, alpha, a, b = np.exp(theta)
        return -float(np.sum(counts * bgnbd_loglik(r, alpha, a, b, rows[:, 0], rows[:, 1], rows[:, 2])))

    return _ml_fit(nll, ("r", "alpha", "a", "b"), np.log(np.asarray(start, dtype=float)), len(x))


def p_alive(params: dict, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) under BG/NBD (eq. 10 of Fader, Hardie & Lee 2005); 1 for customers with x = 0."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", over="ignore"):
        log_ratio = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * np.log((alpha + T) / (alpha + t_x))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), 1.0)


def expected_purchases(params: dict, t: float, x, t_x, T, if_alive: bool = False) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] under BG/NBD (eq. 10 of Fader, Hardie & Lee 2005).

    With ``if_alive`` the expectation given that the customer is alive at ``T`` (the formula without its
    ``P(alive)`` factor).
    """
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    return head if if_alive else head * p_alive(params, x, t_x, T)


def expected_purchases_new(params: dict, t) -> np.ndarray:
    """E[X(t)]: purchases a new customer makes in (0, t] (eq. 9 of Fader, Hardie & Lee 2005)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    t = np.asarray(t, dtype=float)
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


# ----------------------------------------------------------------------------- Gamma-Gamma

def gamma_gamma_loglik(p: float, q: float, gamma: float, x, m_x) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean transaction value ``m_x`` over ``x >= 1`` transactions."""
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(gamma)
            + (px - 1) * np.log(m_x) + px * np.log(x) - (px + q) * np.log(gamma + m_x * x))


def fit_gamma_gamma(x, m_x, start: tuple = (1.0, 1.0, 1.0)) -> Fit:
    """Maximum-likelihood Gamma-Gamma fit (``p, q, gamma``) with 95% intervals; customers with x >= 1 and m_x > 0."""
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    keep = (x >= 1) & (m_x > 0)
    x, m_x = x[keep], m_x[keep]
    if len(x) < 10:
        raise ValueError(f"Gamma-Gamma needs at least 10 repeat customers, got {len(x)}")
    scale = float(np.mean(m_x))  # gamma is in money units: start it at the data's scale

    def nll(theta):
        p, q, g = np.exp(theta)
        return -float(np.sum(gamma_gamma_loglik(p, q, g, x, m_x)))

    fit = _ml_fit(nll, ("p", "q", "gamma"), np.log([start[0], max(start[1], 2.0), start[2] * scale]), len(x))
    corr = float(np.corrcoef(x, m_x)[0, 1]) if len(x) > 2 else float("nan")
    return Fit(**{**fit.__dict__, "extra": {"corr_frequency_spend": corr}})


def expected_spend(params: dict, x, m_x) -> np.ndarray:
    """E[M | p, q, gamma, m_x, x]: conditional expected transaction value; the population mean for x = 0."""
    p, q, g = (params[k] for k in ("p", "q", "gamma"))
    x, m_x = np.asarray(x, dtype=float), np.nan_to_num(np.asarray(m_x, dtype=float))
    return (g + m_x * x) * p / (p * x + q - 1)
