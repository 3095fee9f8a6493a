"""Moving events (Easter): the models that copy last year neither miss this year's Easter nor repeat last year's."""
import numpy as np
import pandas as pd
import pytest

from models import registry
from models.events import event_flags
from models.features import calendar_event_features
from tests.unit.model_data import weekly_with_easter

CUT = pd.Timestamp("2017-12-29")  # two Easters in the last two years of history (2016-03-27, 2017-04-16)
H = 30  # the forecast window holds Easter 2018 (April 1)


def test_calendar_features_flag_this_year_and_a_year_ago():
    ds = pd.Series(pd.date_range("2013-03-01", periods=10, freq="7D"))  # Easter 2013 = March 31
    feats = calendar_event_features(ds, "W")
    now = ds[feats["event_easter_pre"] > 0].dt.strftime("%m-%d").tolist()
    ago = ds[feats["event_easter_pre_year_ago"] > 0].dt.strftime("%m-%d").tolist()
    assert now == ["03-29", "04-05"]  # the weeks touching 03-24..03-30
    # 52 weeks earlier are the weeks ending 2012-04-06 and 04-13, which touch 2012's pre-Easter week
    assert ago == ["04-05", "04-12"]


def _windows(fc: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Forecast rows in this year's pre-Easter weeks, and in the weeks 52 weeks after last year's."""
    dates = pd.DatetimeIndex(fc["ds"])
    this_year = event_flags(dates, "W")["easter_pre"] > 0
    last_year = event_flags(dates - pd.Timedelta(weeks=52), "W")["easter_pre"] > 0
    return pd.Series(this_year & ~last_year, index=fc.index), pd.Series(last_year & ~this_year, index=fc.index)


def _errors(fc: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float]:
    j = fc.merge(truth[["series_id", "ds", "y"]], on=["series_id", "ds"])
    this_year, last_year = _windows(j)
    err = (j["yhat"] - j["y"]).abs()
    assert this_year.any() and last_year.any()
    return float(err[this_year].mean()), float(err[last_year].mean())


@pytest.mark.parametrize("name, n_series", [("seasonal_svd", 4), ("lgbm", 40)])
def test_easter_is_moved_to_this_years_date(name, n_series):
    df = weekly_with_easter(n_series=n_series, weeks=200)
    train = df[df["ds"] <= CUT]
    future = df[(df["ds"] > CUT)].groupby("series_id").head(H)
    params = {"horizon": H} if name == "lgbm" else {}
    fc = registry.make_model(name, "W", **params).fit(train).predict(H, future.drop(columns="y"))
    this_year, last_year = _errors(fc, df)
    # planted +40 (noise s.d. 3): copying last year's weeks would miss it here and repeat it there
    assert this_year < 15, this_year
    assert last_year < 15, last_year


def test_seasonal_svd_without_events_copies_last_years_easter():
    """The check above can fail: with events switched off the seasonal SVD repeats the stale Easter week."""
    df = weekly_with_easter(weeks=200)
    fc = registry.make_model("seasonal_svd", "W", events=()).fit(df[df["ds"] <= CUT]).predict(H)
    this_year, last_year = _errors(fc, df)
    assert this_year > 25 and last_year > 25, (this_year, last_year)
