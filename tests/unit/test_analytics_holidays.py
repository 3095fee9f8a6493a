"""Holiday event study: known holiday effects, closures and the weekly window average."""
import numpy as np
import pandas as pd

from analytics import holidays
from analytics._synthetic import panel


def test_holiday_effect_on_the_day_recovered_and_neighbours_null():
    df, ev = panel(seed=11, holiday=0.4, n_series=10, periods=1095)
    head, study = holidays.holiday_effects(df, "D", ev)
    row = head[head["name"] == "Independence Day"].iloc[0]
    assert row["ci_low"] < 0.4 < row["ci_high"] and row["rank"] == 1
    others = study[(study["holiday"] == "Independence Day") & (study["offset"] != 0)]
    assert len(others) == 10
    assert (others["ci_low"] < 0.25).all()  # no other offset looks like the +40% day


def test_closed_holiday_is_minus_one():
    df, ev = panel(seed=12, closed_holiday="Christmas Day", periods=800)
    head, study = holidays.holiday_effects(df, "D", ev)
    xmas = head[head["name"] == "Christmas Day"].iloc[0]
    assert xmas["estimate"] == -1.0 and xmas["ci_low"] == -1.0 and xmas["ci_high"] == -1.0
    day = study[(study["holiday"] == "Christmas Day") & (study["offset"] == 0)].iloc[0]
    assert day["closed_share"] == 1.0
    assert head.iloc[-1]["name"] == "Christmas Day"  # ranked last


def test_weekly_window_average():
    df, ev = panel(seed=13, freq="W", periods=156, holiday=0.3, n_series=30, temp_slope=0.0, noise=0.05)
    head, study = holidays.holiday_effects(df, "W", ev)
    at0 = study[study["offset"] == 0].iloc[0]
    assert at0["ci_low"] < 0.3 < at0["ci_high"]
    window_truth = np.expm1(np.log1p(0.3) / 4)  # geometric mean over weeks -2..+1, only week 0 moves
    row = head.iloc[0]
    assert row["ci_low"] < window_truth < row["ci_high"]
    assert set(study["offset"]) == {-2, -1, 0, 1}


def test_no_events_is_a_clear_error():
    df, _ = panel(seed=0, periods=60)
    try:
        holidays.holiday_effects(df, "D", pd.DataFrame(columns=["date", "name"]))
    except ValueError as err:
        assert "event" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected ValueError")
