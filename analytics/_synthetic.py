"""Small hand-built panels with effects of known size, for tests and examples of the estimators."""
from __future__ import annotations

import numpy as np
import pandas as pd


def panel(seed: int = 0, n_series: int = 8, periods: int = 730, freq: str = "D", lift: float = 0.25,
          temp_slope: float = 0.02, rain_slope: float = -0.01, holiday: float = 0.5, dow_amp: float = 0.1,
          noise: float = 0.1, n_stores: int = 4, intensity_slope: float = 0.0,
          closed_holiday: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A multiplicative panel ``series_id, store_id, ds, y, promo, promo_intensity, temp_c, precip_mm, is_open``.

    ``log y`` = series level + yearly sine + weekend bump + ``log1p(lift) * promo`` + ``log1p(temp_slope) * temp``
    + ``log1p(rain_slope) * rain`` + ``log1p(holiday)`` on Independence Day + ``intensity_slope * log1p(depth)``
    on promotion rows + Gaussian noise. Temperature has a seasonal cycle plus AR(1) anomalies, so a model with
    seasonal controls can separate the two. ``closed_holiday`` names an event on which every series is closed.
    Returns the panel and its events (``date, name``).
    """
    rng = np.random.default_rng(seed)
    step = 1 if freq == "D" else 7
    ds = pd.date_range("2021-01-01", periods=periods, freq=f"{step}D")
    n = len(ds)
    doy = ds.dayofyear.to_numpy()
    anomaly = np.zeros(n)
    for i in range(1, n):
        anomaly[i] = 0.7 * anomaly[i - 1] + rng.normal(0, 3)
    temp = 12 - 10 * np.cos(2 * np.pi * doy / 365.25) + anomaly
    rain = rng.gamma(0.5, 6, n) * (rng.random(n) < 0.4)
    years = sorted(set(ds.year))
    hol_dates = [pd.Timestamp(f"{y}-07-04") for y in years]
    if step == 7:  # the week that holds the holiday, labelled like the data
        hol_dates = [ds[np.searchsorted(ds, d)] for d in hol_dates if d <= ds[-1]]
    events = pd.DataFrame({"date": hol_dates, "name": "Independence Day"})
    closed_dates = []
    if closed_holiday:
        closed_dates = [pd.Timestamp(f"{y}-12-25") for y in years]
        events = pd.concat([events, pd.DataFrame({"date": closed_dates, "name": closed_holiday})],
                           ignore_index=True)
    on_holiday = np.isin(ds, pd.DatetimeIndex(events.loc[events["name"] == "Independence Day", "date"]))
    closed = np.isin(ds, pd.DatetimeIndex(closed_dates))
    rows = []
    for s in range(n_series):
        promo = (rng.random(n) < 0.15).astype(int)
        depth = np.where(promo > 0, rng.uniform(5, 50, n), 0.0)
        log_y = (rng.normal(4, 0.5) + 0.3 * np.sin(2 * np.pi * doy / 365.25)
                 + dow_amp * (ds.dayofweek.to_numpy() >= 5) + np.log1p(lift) * promo
                 + intensity_slope * np.log1p(depth) + np.log1p(temp_slope) * temp
                 + np.log1p(rain_slope) * rain + np.log1p(holiday) * on_holiday + rng.normal(0, noise, n))
        y = np.where(closed, 0.0, np.exp(log_y))
        rows.append(pd.DataFrame({"series_id": f"s{s}", "store_id": str(s % n_stores), "ds": ds, "y": y,
                                  "promo": promo, "promo_intensity": depth, "temp_c": temp, "precip_mm": rain,
                                  "is_open": (~closed).astype(int)}))
    return pd.concat(rows, ignore_index=True), events


def intermittent_panel(seed: int = 0, n_stores: int = 20, n_products: int = 15, periods: int = 730,
                       start: str = "2022-01-01") -> pd.DataFrame:
    """Daily compound Bernoulli-gamma demand with known intermittency: ``series_id, store_id, product_id, ds, y,
    price, p, shape`` (``p``: the series' base probability of a sale on a day, ``shape``: the gamma shape of its
    sizes, whose squared coefficient of variation is ``1 / shape`` before rounding).

    Per series the base probability is drawn from U(0.03, 0.9) (most series intermittent, about one in six smooth
    or erratic), the size shape from {0.7, 1.5, 4} (lumpy to regular sizes) and the mean size from U(2, 20);
    the probability moves with a yearly cycle (amplitude 30%) and is 25% higher at weekends; one series in ten
    becomes obsolescent (its probability falls to a fifth) at a random date in its second half. Sizes are
    rounded up to whole units. ``series_id`` is the store x product key (``store=S/product=P``).
    """
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=periods, freq="D")
    t = np.arange(periods)
    weekend = np.where(ds.dayofweek.to_numpy() >= 5, 1.25, 1.0)
    rows = []
    for s in range(n_stores):
        for k in range(n_products):
            p = rng.uniform(0.03, 0.9)
            shape = float(rng.choice([0.7, 1.5, 4.0]))
            mean = rng.uniform(2, 20)
            prob = p * weekend * np.exp(0.3 * np.sin(2 * np.pi * t / 365.25 + rng.uniform(0, 2 * np.pi)))
            if rng.random() < 0.1:
                prob = np.where(t >= rng.integers(periods // 2, periods), prob / 5, prob)
            sold = rng.random(periods) < np.clip(prob, 0, 0.98)
            size = np.ceil(rng.gamma(shape, mean / shape, periods))
            rows.append(pd.DataFrame({"series_id": f"store={s + 1}/product={k + 1}", "store_id": str(s + 1),
                                      "product_id": str(k + 1), "ds": ds, "y": np.where(sold, size, 0.0),
                                      "price": round(5 + 3 * k, 2), "p": p, "shape": shape}))
    return pd.concat(rows, ignore_index=True)
