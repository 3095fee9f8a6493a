"""The excess-inventory ratio's bootstrap interval (decisions/replay.py): it equals the network ratio's
definition, contains it, and narrows with more series."""
from __future__ import annotations

import numpy as np

from decisions import replay


def test_series_inventory_sums_to_the_network_average():
    D = np.random.default_rng(1).poisson(10, (5, 30)).astype(float)
    S = np.full((5, 30), 45.0)
    sim = replay.simulate(D, S, 2, 1, D[:, :2])
    per = replay.series_inventory(sim)
    assert per.shape == (5,)
    assert per.sum() == replay.policy_metrics(sim, 1, 0.25, 1, 1)["avg_inventory_units"]


def test_the_interval_holds_the_ratio_and_narrows_with_more_series():
    rng = np.random.default_rng(0)

    def width(n):
        floor = rng.uniform(5, 50, n)
        other = floor + rng.gamma(4, 5, n)
        ours = floor + 0.55 * (other - floor) * rng.lognormal(0, 0.3, n)
        ratio = (ours - floor).sum() / (other - floor).sum()
        lo, hi = replay.excess_ratio_interval(ours, other, floor)
        assert lo < ratio < hi
        return hi - lo
    small, large = width(30), width(3000)
    assert large < small / 5  # about sqrt(100) = 10x narrower
    # identical policies: the ratio is exactly 1 in every resample
    floor, other = np.ones(20), np.full(20, 3.0)
    assert replay.excess_ratio_interval(other, other, floor) == (1.0, 1.0)
