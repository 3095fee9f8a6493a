"""The customer models against their formulas and simulations: BG/NBD and Gamma-Gamma likelihoods, expectations,
parameter recovery with intervals, RFM segments, cohorts, horizons and the churn features' no-peek rule."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analytics import btyd, churn, clv, rfm
from data import demo_orders

CDNOW_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _beta(a, b):
    return math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))


def _paper_likelihood(r, alpha, a, b, x, t_x, T):
    """Eq. (6) of Fader, Hardie & Lee (2005), written as in the paper (with B(a+1, b+x-1))."""
    head = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha ** r
    lik = _beta(a, b + x) / _beta(a, b) * head / (alpha + T) ** (r + x)
    if x > 0:
        lik += _beta(a + 1, b + x - 1) / _beta(a, b) * head / (alpha + t_x) ** (r + x)
    return lik


@pytest.mark.parametrize("x, t_x, T", [(0, 0.0, 38.86), (1, 30.43, 38.86), (2, 1.71, 38.86), (6, 33.0, 35.5)])
def test_bgnbd_likelihood_matches_the_paper_formula(x, t_x, T):
    got = btyd.bgnbd_loglik(*CDNOW_BG.values(), np.array([x]), np.array([t_x]), np.array([T]))[0]
    assert got == pytest.approx(math.log(_paper_likelihood(*CDNOW_BG.values(), x, t_x, T)), rel=1e-10)


def test_bgnbd_zero_purchase_probability_matches_simulation():
    """P(no repeat purchase in (0, T]) = exp(loglik(x=0)): checked against 20,000 simulated customers."""
    rng = np.random.default_rng(3)
    T = np.full(20_000, 26.0)
    times = demo_orders.simulate_bgnbd(rng, CDNOW_BG, T)
    share = np.mean([len(t) == 0 for t in times])
    expected = math.exp(btyd.bgnbd_loglik(*CDNOW_BG.values(), [0], [0.0], [26.0])[0])
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / len(T))
    mean_x = np.mean([len(t) for t in times])
    assert mean_x == pytest.approx(float(btyd.expected_purchases_new(CDNOW_BG, 26.0)), rel=0.06)


def test_conditional_expectation_matches_simulation():
    """E[purchases in (T, T+t] | x, t_x, T] and P(alive) against simulated customers grouped by their history."""
    rng = np.random.default_rng(5)
    n = 30_000
    times = demo_orders.simulate_bgnbd(rng, CDNOW_BG, np.full(n, 52.0))
    x = np.array([(t <= 26).sum() for t in times])
    later = np.array([((t > 26) & (t <= 52)).sum() for t in times])
    t_x = np.array([t[t <= 26].max() if (t <= 26).any() else 0.0 for t in times])
    pred = btyd.expected_purchases(CDNOW_BG, 26.0, x, t_x, np.full(n, 26.0))
    assert pred.sum() == pytest.approx(later.sum(), rel=0.05)
    for group in (x == 0, x == 1, (x >= 2) & (x <= 4), x >= 5):
        assert pred[group].mean() == pytest.approx(later[group].mean(), rel=0.15, abs=0.02)
    assert np.all((btyd.p_alive(CDNOW_BG, x, t_x, np.full(n, 26.0)) > 0)
                  & (btyd.p_alive(CDNOW_BG, x, t_x, np.full(n, 26.0)) <= 1))


def test_gamma_gamma_likelihood_integrates_the_hierarchy():
    """For x = 1 the likelihood is the Gamma(p, nu) density mixed over nu ~ Gamma(q, gamma)."""
    p, q, g = CDNOW_GG.values()
    for m in (5.0, 35.0, 120.0):
        mixed, _ = integrate.quad(lambda nu: stats.gamma.pdf(m, p, scale=1 / nu) * stats.gamma.pdf(nu, q, scale=1 / g),
                                  0, np.inf)
        assert math.exp(btyd.gamma_gamma_loglik(p, q, g, [1], [m])[0]) == pytest.approx(mixed, rel=1e-6)
    assert btyd.expected_spend(CDNOW_GG, [0], [np.nan])[0] == pytest.approx(p * g / (q - 1))


def test_fits_recover_planted_parameters_inside_their_intervals():
    rng = np.random.default_rng(11)
    n = 3000
    T = rng.uniform(30, 78, n)
    times = demo_orders.simulate_bgnbd(rng, CDNOW_BG, T)
    x = np.array([len(t) for t in times])
    t_x = np.array([t[-1] if len(t) else 0.0 for t in times])
    bg = btyd.fit_bgnbd(x, t_x, T)
    spend = demo_orders.simulate_spend(rng, CDNOW_GG, np.maximum(x, 1))
    gg = btyd.fit_gamma_gamma(x, np.array([s.mean() for s in spend]))
    for fit, truth in ((bg, CDNOW_BG), (gg, CDNOW_GG)):
        assert fit.converged
        for k, v in truth.items():
            assert fit.lower[k] < v < fit.upper[k], (k, fit.lower[k], v, fit.upper[k])
            assert fit.upper[k] / fit.lower[k] < 3  # informative intervals


def test_clv_discounting_and_horizon():
    summ = pd.DataFrame({"customer": ["a", "b"], "x": [0.0, 4.0], "t_x": [0.0, 20.0], "T": [30.0, 30.0],
                         "m_x": [np.nan, 50.0]})
    flat = clv.clv(CDNOW_BG, CDNOW_GG, summ, 52.0, monthly_discount=0.0)
    assert flat["clv"].to_numpy() == pytest.approx((flat["expected_purchases"] * flat["expected_spend"]).to_numpy())
    disc = clv.clv(CDNOW_BG, CDNOW_GG, summ, 52.0, monthly_discount=0.02)
    assert np.all(disc["clv"] < flat["clv"]) and np.all(disc["clv"] > flat["clv"] / 1.02 ** 12)
    assert np.all(clv.clv(CDNOW_BG, CDNOW_GG, summ, 104.0)["clv"] > disc["clv"])


def _lines(rows):
    return pd.DataFrame(rows, columns=["order_id", "customer", "date", "product", "store", "quantity", "revenue"])


def test_rfm_segments_and_cohorts_by_hand():
    lines = _lines([("1", "a", "2024-01-05", "p1", "s", 1, 10.0), ("2", "a", "2024-01-05", "p2", "s", 1, 5.0),
                    ("3", "a", "2024-03-01", "p1", "s", 1, 20.0), ("4", "b", "2024-02-10", "p1", "s", 1, 8.0),
                    ("5", "c", "2024-01-20", "p2", "s", 1, 4.0), ("6", "c", "2024-02-02", "p2", "s", 1, 4.0),
                    ("7", "d", "2024-03-02", "p2", "s", 1, 0.0), ("8", None, "2024-03-02", "p2", "s", 1, 9.0)])
    tx = rfm.transactions(lines)
    assert set(tx["customer"]) == {"a", "b", "c"}  # no customer, and zero revenue, are not purchases
    assert tx.loc[tx["customer"] == "a", "revenue"].tolist() == [15.0, 20.0]  # one purchase per day
    summ = rfm.summary(tx, pd.Timestamp("2024-03-31")).set_index("customer")
    assert summ.loc["a", "x"] == 1 and summ.loc["a", "m_x"] == 20.0 and summ.loc["a", "recency_days"] == 30
    assert summ.loc["a", "T"] == pytest.approx((pd.Timestamp("2024-03-31") - pd.Timestamp("2024-01-05")).days / 7)
    scores = rfm.rfm(summ.reset_index()).set_index("customer")
    assert scores.loc["a", "r"] == 5 and scores.loc["b", "r"] < scores.loc["a", "r"]
    assert set(scores["segment"]) <= set(rfm.SEGMENTS)
    assert rfm.segment_table(scores.reset_index())["customers"].sum() == 3
    coh = rfm.cohorts(tx).set_index(["cohort", "period"])
    assert coh.loc[("2024-01", 0), "customers"] == 2 and coh.loc[("2024-01", 1), "active"] == 1
    assert coh.loc[("2024-01", 2), "retention"] == 0.5


@pytest.mark.parametrize("text, weeks", [("12m", 365.25 / 7), ("26w", 26.0), ("90d", 90 / 7), ("1y", 365.25 / 7)])
def test_parse_horizon(text, weeks):
    assert rfm.parse_horizon(text) == pytest.approx(weeks)


@pytest.mark.parametrize("bad", ["12", "m", "-3m", "0w", "12x", ""])
def test_parse_horizon_refuses(bad):
    with pytest.raises(ValueError, match="horizon must be"):
        rfm.parse_horizon(bad)


def test_churn_features_never_see_after_the_cutoff():
    lines = _lines([("1", "a", "2024-01-05", "p", "s", 1, 10.0), ("2", "a", "2024-04-01", "p", "s", 1, 10.0),
                    ("3", "b", "2024-02-05", "p", "s", 1, 7.0)])
    tx = rfm.transactions(lines)
    later = rfm.transactions(pd.concat([lines, _lines([("9", "a", "2024-06-01", "p", "s", 5, 999.0),
                                                       ("10", "c", "2024-06-02", "p", "s", 1, 5.0)])]))
    cutoff = pd.Timestamp("2024-04-30")
    pd.testing.assert_frame_equal(churn.features(tx, cutoff), churn.features(later, cutoff))
    assert churn.labels(later, ["a", "b"], cutoff, 60).tolist() == [0, 1]


def test_auc_interval_matches_a_plain_bootstrap():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300) + 0.4 * y, 1)  # ties on purpose
    auc, lo, hi = churn.auc_ci(y, p, n_boot=100, seed=1)
    assert auc == pytest.approx(roc_auc_score(y, p))
    idx = np.random.default_rng(1).integers(0, 300, (100, 300))
    plain = [roc_auc_score(y[i], p[i]) for i in idx]
    assert (lo, hi) == pytest.approx(tuple(np.quantile(plain, [0.025, 0.975])), abs=1e-12)
