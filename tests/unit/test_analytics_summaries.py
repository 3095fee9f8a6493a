"""Node summaries and ABC/XYZ classes on hand-built series."""
import numpy as np
import pandas as pd

from analytics import summaries as S


def _frame():
    ds = pd.date_range("2021-01-01", "2022-12-31")
    n = len(ds)
    return pd.concat([
        pd.DataFrame({"series_id": "big", "ds": ds, "y": np.where(ds.year == 2021, 100.0, 120.0)}),
        pd.DataFrame({"series_id": "mid", "ds": ds, "y": 15.0}),
        pd.DataFrame({"series_id": "lumpy", "ds": ds, "y": np.where(ds.month == 12, 60.0, 0.0)}),
        pd.DataFrame({"series_id": "tiny", "ds": ds, "y": np.r_[np.full(n // 2, 2.0), np.full(n - n // 2, 1.0)]}),
    ], ignore_index=True)


def test_summary_statistics_and_classes():
    s = S.node_summary(_frame()).set_index("series_id")
    assert s.loc["mid", "mean"] == 15.0 and s.loc["mid", "cv"] == 0.0 and s.loc["mid", "zero_share"] == 0.0
    assert s.loc["big", "yoy_growth"] == pytest_approx(0.2)
    assert s.loc["lumpy", "zero_share"] == 1 - 62 / 730
    # revenue shares: big ~ 80% -> A; the next ones reach past 80% -> B or C
    assert s.loc["big", "abc"] == "A" and s.loc["tiny", "abc"] == "C"
    assert s.loc["mid", "xyz"] == "X" and s.loc["lumpy", "xyz"] == "Z"
    assert list(s.index)[0] == "big"  # sorted by total


def pytest_approx(v):
    import pytest
    return pytest.approx(v, rel=1e-9)
