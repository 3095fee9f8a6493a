"""The fixed-effects engine: coefficient recovery, dropped columns, honest intervals, clear errors."""
import numpy as np
import pandas as pd
import pytest

from analytics._design import calendar_controls, fit_log_sales, holiday_dummies, seasonal_harmonics, temperature_bins
from analytics._panel import demean, fit_within, group_sums
from analytics._synthetic import panel


def test_fit_within_recovers_coefficient_and_absorbs_series_levels():
    rng = np.random.default_rng(3)
    n_series, t = 20, 200
    series = np.repeat(np.arange(n_series), t)
    dates = np.tile(np.arange(t), n_series)
    x = rng.normal(size=n_series * t)
    level = rng.normal(0, 5, n_series)[series]  # huge series effects, correlated with nothing
    y = level + 0.7 * x + rng.normal(0, 0.5, n_series * t)
    fit = fit_within(y, pd.DataFrame({"x": x, "const": 1.0}), series, dates)
    b, lo, hi = fit.interval("x")
    assert lo < 0.7 < hi
    assert abs(b - 0.7) < 0.05
    assert "const" in fit.dropped  # constant within series: absorbed by the fixed effects
    assert fit.n == n_series * t and fit.dof == n_series - 1


def test_fit_within_drops_collinear_column():
    rng = np.random.default_rng(4)
    series = np.repeat(np.arange(5), 50)
    dates = np.tile(np.arange(50), 5)
    x = rng.normal(size=250)
    X = pd.DataFrame({"x": x, "x2": 2 * x})
    fit = fit_within(x + rng.normal(0, 0.1, 250), X, series, dates)
    assert len(fit.names) == 1 and len(fit.dropped) == 1


def test_fit_within_rejects_useless_design():
    with pytest.raises(ValueError, match="constant within series"):
        fit_within(np.arange(10.0), pd.DataFrame({"c": np.ones(10)}), np.zeros(10), np.arange(10))


def test_interval_coverage_over_replications_is_near_nominal():
    """Across 40 fixed-seed panels, the 95% CI of the promotion lift covers the truth about 95% of the time."""
    covered = 0
    for seed in range(40):
        df, ev = panel(seed=seed, n_series=6, periods=365, lift=0.2, holiday=0.0)
        fit, _ = fit_log_sales(df, "D", ev)
        b, lo, hi = fit.interval("promo")
        covered += lo <= np.log1p(0.2) <= hi
    # Binomial(40, 0.95): P(X <= 33) < 1%, so a well-calibrated interval passes.
    assert covered >= 34


def test_holiday_dummies_cover_window_and_scopes():
    frame = pd.DataFrame({"ds": pd.to_datetime(["2021-12-20", "2021-12-25", "2021-12-28", "2021-12-25"]),
                          "region": ["N", "N", "N", "S"]})
    events = pd.DataFrame({"date": pd.to_datetime(["2021-12-25", "2021-12-26"]), "name": ["Xmas", "Local"],
                           "scope": ["all", "region"], "scope_id": ["*", "S"]})
    dummies, meta = holiday_dummies(frame, events, "D")
    assert dummies.loc[0, "hol|Xmas|-5"] == 1 and dummies.loc[1, "hol|Xmas|+0"] == 1
    assert dummies.loc[2, "hol|Xmas|+3"] == 1
    assert dummies.loc[3, "hol|Local|-1"] == 1 and dummies["hol|Local|-1"].sum() == 1  # region S only
    assert set(meta["offset"]) <= set(range(-7, 4))


def test_calendar_controls_per_group_and_bins():
    ds = pd.Series(pd.date_range("2021-01-01", periods=14))
    c = calendar_controls(ds, "D", fourier_k=2, group=np.array(["a"] * 7 + ["b"] * 7))
    assert {"dow1@a", "sin2@b", "trend@a"} <= set(c.columns)
    assert (c["dow1@a"].iloc[7:] == 0).all()
    edges = temperature_bins(np.linspace(-3, 31, 1000))
    assert np.isinf(edges[0]) and np.isinf(edges[-1]) and len(edges) >= 4


def test_fit_within_weights_equal_weighted_least_squares_on_demeaned_rows():
    rng = np.random.default_rng(5)
    n_series, t = 12, 60
    series = np.repeat(np.arange(n_series), t)
    dates = np.tile(np.arange(t), n_series)
    x = rng.normal(size=n_series * t)
    slope = np.linspace(0.2, 1.4, n_series)[series]  # the effect differs by series
    y = rng.normal(0, 3, n_series)[series] + slope * x + rng.normal(0, 0.3, n_series * t)
    w = np.geomspace(1, 1000, n_series)[series]  # e.g. mean sales of each series
    fit = fit_within(y, pd.DataFrame({"x": x}), series, dates, weights=w)
    xd = x - pd.Series(x).groupby(series).transform("mean").to_numpy()
    yd = y - pd.Series(y).groupby(series).transform("mean").to_numpy()
    assert fit.coef[0] == pytest.approx((w * xd * yd).sum() / (w * xd * xd).sum())
    assert fit.coef[0] > fit_within(y, pd.DataFrame({"x": x}), series, dates).coef[0] + 0.2  # big series dominate
    same = fit_within(y, pd.DataFrame({"x": x}), series, dates, weights=7 * w)  # only relative weights matter
    assert same.coef[0] == pytest.approx(fit.coef[0]) and same.cov[0, 0] == pytest.approx(fit.cov[0, 0])


def test_fit_within_rejects_weights_that_vary_within_a_series():
    series = np.repeat(np.arange(3), 10)
    x = np.arange(30.0)
    with pytest.raises(ValueError, match="constant within each series"):
        fit_within(x, pd.DataFrame({"x": x}), series, np.tile(np.arange(10), 3), weights=1 + x)


def test_seasonal_harmonics_cannot_follow_back_to_back_holiday_windows():
    ds = pd.Series(pd.date_range("2010-02-05", periods=143, freq="7D"))
    frame = pd.DataFrame({"ds": ds})
    retail = pd.DataFrame({"date": pd.to_datetime(["2010-11-26", "2010-12-31", "2011-11-25", "2011-12-30"]),
                           "name": ["Thanksgiving", "Christmas"] * 2})
    hol, _ = holiday_dummies(frame, retail, "W")
    # Windows -2..+1 weeks cover Nov 12 - Dec 3 and Dec 17 - Jan 7: one free week, a 63-day stretch.
    assert seasonal_harmonics(ds, hol, "W") == 2
    alone, _ = holiday_dummies(frame, retail[retail["name"] == "Thanksgiving"], "W")
    assert seasonal_harmonics(ds, alone, "W") == 6  # a 4-week window: the default stays
    days = pd.Series(pd.date_range("2021-01-01", periods=730))
    daily, _ = holiday_dummies(pd.DataFrame({"ds": days}), retail.assign(date=retail["date"] + pd.DateOffset(years=11)),
                               "D")
    assert seasonal_harmonics(days, daily, "D") == 4
    assert seasonal_harmonics(days, pd.DataFrame(index=range(730)), "D") == 4


def test_in_place_and_column_major_paths_match_the_plain_ones():
    rng = np.random.default_rng(6)
    codes = np.repeat(np.arange(4), 5)
    shuffled = rng.permutation(codes)  # not in contiguous runs
    m = rng.normal(size=(20, 3))
    expected = demean(m, codes, 4)
    assert np.allclose(demean(m.copy(), codes, 4, inplace=True), expected)
    assert np.allclose(demean(np.asfortranarray(m), shuffled, 4, inplace=True), demean(m, shuffled, 4))
    assert np.allclose(group_sums(np.asfortranarray(m), shuffled, 4), group_sums(m, shuffled, 4))
    X = pd.DataFrame(m, columns=["a", "b", "c"])
    before = X.copy()
    fit_within(m[:, 0], X, codes, np.tile(np.arange(5), 4))
    pd.testing.assert_frame_equal(X, before)  # the caller's frame is untouched unless overwrite_x=True
