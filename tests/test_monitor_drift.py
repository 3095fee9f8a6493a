"""Drift statistics (analytics/drift.py) on hand-made samples, and the acceptance on the demo: a planted +30%
shift (`demo --shift-after DATE --shift 0.3`) is flagged within two weeks of daily data, the unshifted demo is not
(the 20-seed count is bench/monitor_drift.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import drift


def test_psi_ks_and_mean_shift_on_known_samples():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 4000), rng.normal(0, 1, 4000)
    assert drift.psi(a, b) < 0.02
    assert drift.psi(a, b + 1.0) > 0.6  # PSI of a 1-sd shift of a normal: about 1
    assert drift.ks_test(a, b)[1] > 0.001 and drift.ks_test(a, b + 0.5)[1] < 1e-10
    diff, lo, hi = drift.mean_shift(a, b + 0.3)
    assert lo < 0.3 < hi and diff == pytest.approx(0.3, abs=0.1)
    assert np.isnan(drift.psi([], b))


def test_share_test_and_sequential_tests():
    res = drift.share_test(10, 1000, 60, 200)
    assert res["p_value"] < 1e-6 and res["lo"] < 0.29 < res["hi"]
    assert drift.share_test(10, 1000, 2, 200)["p_value"] > 0.05
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(0, 1, 50), rng.normal(2, 1, 30)]
    c = drift.cusum(x, k=0.5, h=5)
    assert c["direction"] == "up" and 50 <= c["alarm_at"] <= 58
    assert drift.cusum(rng.normal(0, 1, 80), k=0.5, h=5)["alarm_at"] is None
    assert 50 <= drift.page_hinkley(x, delta=0.1, threshold=8)["alarm_at"] <= 60


def test_structural_changes():
    ds = pd.date_range("2024-01-01", periods=60)
    frame = pd.concat([pd.DataFrame({"series_id": "a", "ds": ds, "y": 1.0}),
                       pd.DataFrame({"series_id": "b", "ds": ds, "y": np.r_[np.ones(20), np.zeros(40)]}),
                       pd.DataFrame({"series_id": "c", "ds": ds[40:], "y": 1.0})])
    assert drift.structural_changes(frame, ds[29], stopped_days=28) == {"new": ["c"], "stopped": ["b"]}


def _first_alarm(url, after, days=14):
    from analytics.drift import DriftThresholds
    from data import store
    from domain import LEVELS
    prepared = drift.prepare_levels({lv: store.level_frame(lv, url=url) for lv in LEVELS})
    for day in range(1, days + 1):
        if drift.drift_report(prepared, after, asof=pd.Timestamp(after) + pd.Timedelta(days=day),
                              thresholds=DriftThresholds())["drift"]:
            return day
    return None


def test_planted_shift_is_found_within_two_weeks_and_the_unshifted_demo_stays_quiet(tmp_path):
    from cli import build_parser
    from data import demo, store
    args = build_parser().parse_args(["demo", "--shift-after", "2022-09-30", "--shift", "0.3"])
    assert (args.shift_after, args.shift) == ("2022-09-30", 0.3)
    found = {}
    for label, after in (("shifted", "2022-09-30"), ("unshifted", None)):
        url = f"sqlite:///{tmp_path / label}.db"
        demo.generate(seed=3, n_stores=2, n_products=3, years=2, url=url, progress=False, shift_after=after,
                      shift=args.shift)
        found[label] = _first_alarm(url, "2022-09-30")
    truth = store.demo_truth(url=f"sqlite:///{tmp_path / 'shifted'}.db")
    assert truth[truth["kind"] == "shift"]["value"].tolist() == [0.3]
    assert found["shifted"] is not None and found["shifted"] <= 14
    assert found["unshifted"] is None
