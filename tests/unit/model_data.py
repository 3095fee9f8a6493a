"""Small, fixed-seed synthetic frames for the model tests (no database needed)."""
import numpy as np
import pandas as pd


def synth(n_series: int = 3, n: int = 120, freq: str = "D", seed: int = 0, start: str = "2021-01-01") -> pd.DataFrame:
    """Weekly-seasonal series with promo and holiday lifts, a temperature column and noise."""
    rng = np.random.default_rng(seed)
    step = pd.Timedelta(days=1 if freq == "D" else 7)
    parts = []
    for i in range(n_series):
        t = np.arange(n)
        level = rng.uniform(20, 200)
        promo = (rng.random(n) < 0.1).astype(float)
        hol = (rng.random(n) < 0.03).astype(float)
        temp = 15 + 10 * np.sin(2 * np.pi * t / 365) + rng.normal(0, 2, n)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 7) + 0.4 * promo + 0.5 * hol) + rng.normal(0, level * 0.05, n)
        parts.append(pd.DataFrame({"series_id": f"store={i % 2}/product={i}", "ds": pd.Timestamp(start) + step * t,
                                   "y": y, "promo": promo, "is_holiday": hol, "temp_c": temp}))
    return pd.concat(parts, ignore_index=True)


def future_exog(df: pd.DataFrame, h: int, freq: str = "D") -> pd.DataFrame:
    """Exogenous values for the h periods after each series' last date (promo off, no holiday)."""
    step = pd.Timedelta(days=1 if freq == "D" else 7)
    rows = []
    for sid, g in df.groupby("series_id"):
        last = g["ds"].max()
        for k in range(1, h + 1):
            rows.append({"series_id": sid, "ds": last + k * step, "promo": float(k % 5 == 0), "is_holiday": 0.0,
                         "temp_c": float(g["temp_c"].iloc[-1])})
    return pd.DataFrame(rows)


def weekly_with_easter(n_series=4, start="2015-01-02", weeks=160, easter_lift=40.0, seed=1) -> pd.DataFrame:
    """Weekly series (Friday weeks): yearly sine season, +``easter_lift`` in the weeks touching the week
    before Easter Sunday, noise s.d. 3; flat exogenous columns so every model accepts the frame."""
    from models.events import event_flags
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=weeks, freq="7D")
    season = 20 * np.sin(2 * np.pi * np.arange(weeks) / 52)
    pre = event_flags(ds, "W")["easter_pre"]
    rows = []
    for s in range(n_series):
        y = 200 + 10 * s + season + easter_lift * pre + rng.normal(0, 3, weeks)
        rows.append(pd.DataFrame({"series_id": f"s{s}", "ds": ds, "y": y, "promo": 0.0, "is_holiday": 0.0,
                                  "temp_c": 15.0}))
    return pd.concat(rows, ignore_index=True)
