"""seasonal_ses: recovers a planted weekly-data season, level and Easter effect; intervals behave."""
import numpy as np
import pandas as pd

from models import registry
from models.events import event_flags
from tests.unit.model_data import weekly_with_easter as _weekly


def test_easter_pre_week_flags_follow_the_calendar():
    ds = pd.date_range("2012-03-02", periods=10, freq="7D")  # weeks ending Fridays, Easter 2012 = April 8
    flags = event_flags(ds, "W")
    # any overlap flags a week: Easter week (04-08..04-14) touches the weeks ending 04-13 and 04-20
    assert set(ds[flags["easter"] > 0].date.astype(str)) == {"2012-04-13", "2012-04-20"}
    # the week before Easter (04-01..04-07) touches the weeks ending 04-06 and 04-13
    assert set(ds[flags["easter_pre"] > 0].date.astype(str)) == {"2012-04-06", "2012-04-13"}


def test_recovers_level_season_and_the_moving_easter_effect():
    df = _weekly()
    cut = pd.Timestamp("2017-12-29")
    train = df[df["ds"] <= cut]
    model = registry.make_model("seasonal_ses", "W").fit(train)
    fc = model.predict(30)
    truth = _weekly(weeks=200).merge(fc, on=["series_id", "ds"])
    assert len(truth) == len(fc)
    err = (truth["yhat"] - truth["y"]).abs().mean()
    assert err < 8, err  # the noise s.d. is 3; a missed Easter (40) or season (20) would show
    pre = event_flags(pd.DatetimeIndex(fc["ds"].unique()), "W")["easter_pre"]
    assert pre.sum() >= 1  # the forecast window holds Easter 2018 (April 1)
    blind = registry.make_model("seasonal_ses", "W", events=()).fit(train).predict(30)
    flagged = truth["ds"].isin(fc["ds"].unique()[pre > 0])
    seen = (truth.loc[flagged, "yhat"] - truth.loc[flagged, "y"]).abs().mean()
    b = truth[["series_id", "ds", "y"]].merge(blind, on=["series_id", "ds"])
    missed = (b.loc[flagged.to_numpy(), "yhat"] - b.loc[flagged.to_numpy(), "y"]).abs().mean()
    assert seen < 10 < missed, (seen, missed)  # planted +40 in those weeks
    inside = ((truth["y"] >= truth["yhat_lo_95"]) & (truth["y"] <= truth["yhat_hi_95"])).mean()
    assert inside >= 0.85
    assert (fc["yhat_hi_95"] - fc["yhat_lo_95"]).gt(0).all()


def test_short_series_fall_back_and_every_series_gets_h_rows():
    df = _weekly(n_series=2)
    short = df[(df["series_id"] == "s1") & (df["ds"] >= df["ds"].max() - pd.Timedelta(weeks=20))]
    mixed = pd.concat([df[df["series_id"] == "s0"], short], ignore_index=True)
    fc = registry.make_model("seasonal_ses", "W").fit(mixed).predict(8)
    assert fc.groupby("series_id").size().to_dict() == {"s0": 8, "s1": 8}
    assert fc["yhat"].notna().all()


def test_index_smoothing_is_chosen_by_held_out_seasons():
    """Noisy smooth seasons get smoothed; a sharp, clean seasonal spike is left alone."""
    from models.ses import cross_season_smoothing
    rng = np.random.default_rng(0)
    t = np.arange(3 * 52)
    smooth_noisy = 10 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 6, (30, len(t)))
    spiky_clean = np.where(t % 52 == 47, 80.0, 0.0) + rng.normal(0, 0.5, (30, len(t)))
    assert cross_season_smoothing(smooth_noisy, 52) >= 0.5
    assert cross_season_smoothing(spiky_clean, 52) == 0.0
    assert cross_season_smoothing(smooth_noisy[:, :80], 52) == 0.0  # fewer than two full seasons
