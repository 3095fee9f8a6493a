"""The refresh's load stage by position (issue 18): the same frames as the joins and per-series maps it replaced.

The references below are the previous implementations (a left join of the grid with the rows, a per-series
forward/backward fill, a per-row map of each key's parts); the new ones must give equal frames, dtypes included.
"""
import numpy as np
import pandas as pd
import pytest

from data import store
from domain import HIERARCHY_COLS, freq_step
from jobs.refresh_inputs import EXOG, KEEP, regularize, with_hierarchy


def _regularize_ref(df, freq, end):
    step = freq_step(freq)
    df = df[[c for c in KEEP if c in df.columns]].copy()
    for col in EXOG:
        if col not in df:
            df[col] = np.nan
    df["series_id"] = df["series_id"].astype(str)
    df["ds"] = pd.to_datetime(df["ds"])
    start = df.groupby("series_id")["ds"].min()
    n = ((end - start) // step).astype(int) + 1
    grid = pd.DataFrame({"series_id": np.repeat(start.index.to_numpy(), n.to_numpy())})
    offsets = np.concatenate([np.arange(k) for k in n.to_numpy()]) if len(n) else np.array([], dtype=int)
    grid["ds"] = np.repeat(start.to_numpy(), n.to_numpy()) + offsets * step.to_timedelta64()
    out = grid.merge(df, on=["series_id", "ds"], how="left")
    out["y"] = out["y"].astype(float).fillna(0.0)
    out[EXOG] = out[EXOG].astype(float)
    out[EXOG] = out.groupby("series_id", sort=False)[EXOG].transform(lambda s: s.ffill().bfill())
    out["is_open"] = out["is_open"].fillna(1.0)
    return out


def _with_hierarchy_ref(df):
    parts = {sid: store.parse_node_id(sid) for sid in df["series_id"].unique()}
    return df.assign(**{col: df["series_id"].map({sid: p.get(col) for sid, p in parts.items()})
                        for col in HIERARCHY_COLS})


def _facts(freq, seed, drop_cols=(), off_grid=False):
    """Rows of a few bottom and aggregate series with gaps, missing exogenous values and integer flags."""
    rng = np.random.default_rng(seed)
    step = freq_step(freq)
    keys = ["store=1/product=10", "store=1/product=2", "store=2/product=10", "store=1", "total", "region=N"]
    parts = []
    for i, key in enumerate(keys):
        n = 30 + 7 * i
        ds = pd.DatetimeIndex(pd.Timestamp("2023-01-02") + step * np.sort(rng.choice(90, n, replace=False)))
        if off_grid and i == 1:  # a row between grid points is dropped
            ds = ds.append(pd.DatetimeIndex([ds[3] + pd.Timedelta(hours=12)]))
        m = len(ds)
        parts.append(pd.DataFrame({
            "series_id": key, "ds": ds, "y": rng.gamma(2.0, 5.0, m).round(2),
            "promo": rng.integers(0, 2, m), "promo_intensity": np.where(rng.random(m) < 0.3, np.nan, rng.random(m)),
            "price": np.where(rng.random(m) < 0.2, np.nan, rng.uniform(1, 5, m)), "is_open": rng.integers(0, 2, m),
            "is_holiday": rng.integers(0, 2, m), "temp_c": rng.normal(10, 5, m),
            "precip_mm": np.where(i == 2, np.nan, rng.gamma(1.0, 2.0, m)), "store_id": "x"}))
    df = pd.concat(parts, ignore_index=True).drop(columns=list(drop_cols))
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # any row order


@pytest.mark.parametrize("freq,drop,off_grid", [("D", (), False), ("D", ("price", "precip_mm"), True),
                                               ("W", ("promo_intensity",), True)])
def test_regularize_by_position_equals_the_grid_join(freq, drop, off_grid):
    df = _facts(freq, 3, drop, off_grid)
    end = df["ds"].max() + freq_step(freq) * 2  # series end before the shared last date
    got, want = regularize(df, freq, end), _regularize_ref(df, freq, end)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(with_hierarchy(got), _with_hierarchy_ref(want), check_exact=True)


def test_regularize_with_a_repeated_row_takes_the_join():
    df = _facts("D", 5)
    df = pd.concat([df, df.iloc[[4]]], ignore_index=True)
    end = df["ds"].max()
    pd.testing.assert_frame_equal(regularize(df, "D", end), _regularize_ref(df, "D", end), check_exact=True)
