"""Decomposition: planted periods detected (and nothing in noise), components, strengths, profiles, YoY."""
import numpy as np
import pandas as pd
import pytest

from analytics import decomposition as D


def _series(seed=0, days=1095, weekly=0.1, yearly=0.3, ar=0.7, sd=0.05):
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2021-01-01", periods=days)
    e = np.zeros(days)
    for i in range(1, days):
        e[i] = ar * e[i - 1] + rng.normal(0, sd)
    log_y = (5 + weekly * (ds.dayofweek.to_numpy() >= 5) + yearly * np.sin(2 * np.pi * ds.dayofyear / 365.25)
             + 0.0002 * np.arange(days) + e)
    return pd.DataFrame({"ds": ds, "y": np.exp(log_y)})


@pytest.mark.parametrize("weekly,yearly,expected", [(0.1, 0.3, {"weekly", "yearly"}), (0.1, 0.0, {"weekly"}),
                                                    (0.0, 0.3, {"yearly"}), (0.0, 0.0, set())])
def test_detect_periods_finds_what_was_planted(weekly, yearly, expected):
    found = D.detect_periods(_series(seed=3, weekly=weekly, yearly=yearly), "D")
    assert set(found.loc[found["detected"], "name"]) == expected
    assert list(found["period"]) == [7.0, 365.25 / 12, 365.25]


def test_detect_periods_weekly_data_needs_two_cycles():
    df = _series(seed=1, weekly=0.0)
    weekly = df.set_index("ds")["y"].resample("W-FRI").sum().reset_index()
    found = D.detect_periods(weekly, "W")
    assert found.set_index("name").loc["yearly", "detected"]
    short = D.detect_periods(weekly.head(80), "W")
    assert not short.set_index("name").loc["yearly", "detected"]  # 80 weeks < two years


def test_mstl_components_add_up_and_strengths():
    df = _series(seed=2)
    comp = D.decompose(df, "D")
    assert {"trend", "seasonal_7", "seasonal_365", "resid"} <= set(comp.columns)
    parts = comp["trend"] + comp["seasonal_7"] + comp["seasonal_365"] + comp["resid"]
    np.testing.assert_allclose(parts, comp["observed"], rtol=1e-8)
    st = D.strength(comp)
    assert st["seasonal_strength_365"] > 0.5 and 0 <= st["trend_strength"] <= 1


def test_weekly_profile_recovers_weekend_uplift():
    df = _series(seed=4, weekly=0.2, yearly=0.0, ar=0.0, sd=0.05)
    prof = D.seasonal_profiles(df, "D")
    dow = prof[prof["profile"] == "day_of_week"].set_index("period")
    # Geometric mean of the seven indices is 1; planted: weekend = weekday * exp(0.2).
    weekday = np.exp(-0.2 * 2 / 7)
    weekend = np.exp(0.2 * 5 / 7)
    assert dow.loc["Mon", "ci_low"] < weekday < dow.loc["Mon", "ci_high"]
    assert dow.loc["Sat", "ci_low"] < weekend < dow.loc["Sat", "ci_high"]
    assert np.prod(dow["index"]) == pytest.approx(1.0)
    assert len(prof[prof["profile"] == "month_of_year"]) == 12


def test_year_over_year():
    ds = pd.date_range("2021-01-01", "2022-12-31")
    y = np.where(ds.year == 2021, 10.0, 11.0)
    yoy = D.year_over_year(pd.DataFrame({"ds": ds, "y": y}))
    assert len(yoy) == 24
    assert yoy.loc[yoy["year"] == 2022, "yoy_growth"].to_numpy() == pytest.approx(np.full(12, 0.1))
    assert yoy.loc[yoy["year"] == 2021, "yoy_growth"].isna().all()


def test_infer_freq_from_the_spacing_of_dates():
    days = pd.DataFrame({"ds": pd.date_range("2021-01-01", periods=5)})
    weeks = pd.DataFrame({"ds": pd.date_range("2021-01-03", periods=5, freq="W")})
    assert D.infer_freq(days) == "D" and D.infer_freq(weeks) == "W"
    assert D.infer_freq(days.head(1)) == "D"  # cannot tell: daily


def test_decompose_history_keeps_only_periods_with_more_than_two_cycles():
    two_years = _series(days=731)
    comp = D.decompose_history(two_years)
    assert {"observed", "trend", "seasonal_7", "seasonal_365", "resid"} <= set(comp.columns)
    short = D.decompose_history(_series(days=730))  # exactly two yearly cycles: the yearly period is dropped
    assert "seasonal_365" not in short.columns and "seasonal_7" in short.columns
    assert list(D.decompose_history(_series(days=14)).columns) == ["ds", "observed", "trend", "resid"]
    assert D.decompose_history(_series(days=731).iloc[0:0]).empty
