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


def _aggregate_ref(bplan, keys):
    frame = bplan.assign(series_id=bplan["series_id"].map(keys))
    return frame.groupby(["series_id", "ds"], as_index=False, sort=True).agg(
        promo=("promo", "mean"), promo_intensity=("promo_intensity", "mean"), price=("price", "mean"),
        is_open=("is_open", "mean"), event=("event", "max"))


def _node_future_ref(store_fut, bottom, level):
    from jobs.refresh_inputs import node_stores
    merged = node_stores(bottom, level).merge(store_fut, on="store_id", how="inner")
    return merged.groupby(["series_id", "ds"], as_index=False).agg(
        promo=("promo", "mean"), is_holiday=("is_holiday", "max"), temp_c=("temp_c", "mean"),
        precip_mm=("precip_mm", "mean"))


def _classify_ref(frame):
    from analytics.demand import ADI_CUT, CV2_CUT
    y = frame["y"].to_numpy(dtype=float)
    pos = y > 0
    sizes = np.where(pos, y, np.nan)
    g = pd.DataFrame({"n": np.ones(len(y)), "d": pos.astype(float), "s": sizes, "s2": sizes ** 2}).groupby(
        frame["series_id"].astype(str).to_numpy(), sort=True)
    tot = g.sum(min_count=1)
    n, k = tot["n"].to_numpy(), tot["d"].to_numpy()
    mean = tot["s"].to_numpy() / np.where(k > 0, k, np.nan)
    var = (tot["s2"].to_numpy() - k * mean ** 2) / np.where(k > 1, k - 1, np.nan)
    cv2 = np.where(k > 1, np.clip(var, 0, None) / mean ** 2, np.where(k == 1, 0.0, np.nan))
    adi = np.divide(n, k, out=np.full(len(n), np.inf), where=k > 0)
    cls = np.select([k == 0, (adi < ADI_CUT) & (cv2 < CV2_CUT), adi < ADI_CUT, cv2 < CV2_CUT],
                    ["no_demand", "smooth", "erratic", "intermittent"], "lumpy")
    return pd.DataFrame({"series_id": tot.index.to_numpy(), "n_periods": n.astype(int), "n_demands": k.astype(int),
                         "zero_share": 1 - k / n, "adi": adi, "cv2": cv2, "demand_class": cls})


def _bottom(n_stores=4, n_products=5):
    stores_ = [str(s) for s in (3, 11, 2, 7)][:n_stores]
    return pd.DataFrame([{"store_id": s, "product_id": str(p), "region": "N" if s in ("3", "2") else "S",
                          "category": "c" + str(int(p) % 2)} for s in stores_ for p in (10, 2, 5, 33, 4)[:n_products]])


def test_known_input_means_by_codes_equal_the_string_groupbys():
    from analytics.demand import classify_demand
    from jobs.plan_inputs import aggregate, bottom_keys
    from jobs.refresh_inputs import node_future
    rng = np.random.default_rng(7)
    bottom = _bottom()
    dates = pd.date_range("2024-03-01", periods=9)
    keys = bottom_keys(bottom, ["store_category", "region", "product", "total"])
    sid = keys["total"].index.to_numpy()
    m = len(sid) * len(dates)
    bplan = pd.DataFrame({"series_id": np.repeat(sid, len(dates)), "ds": np.tile(dates.to_numpy(), len(sid)),
                          "promo": rng.integers(0, 2, m).astype(float), "promo_intensity": rng.random(m) / 3,
                          "price": np.where(rng.random(m) < 0.1, np.nan, rng.uniform(1, 9, m)),
                          "is_open": rng.integers(0, 2, m).astype(float), "event": rng.integers(0, 2, m) * 1.0})
    for lv, node_of in keys.items():
        pd.testing.assert_frame_equal(aggregate(bplan, node_of), _aggregate_ref(bplan, node_of), check_exact=True)
    st = bottom["store_id"].unique()
    k = len(st) * len(dates)
    sfut = pd.DataFrame({"store_id": np.repeat(st, len(dates)), "ds": np.tile(dates.to_numpy(), len(st)),
                         "promo": rng.integers(0, 2, k), "is_holiday": rng.integers(0, 2, k),
                         "temp_c": rng.normal(12, 4, k), "precip_mm": rng.gamma(1, 2, k)})
    for lv in ("store_product", "store", "region", "product", "category", "store_category", "total"):
        pd.testing.assert_frame_equal(node_future(sfut, bottom, lv), _node_future_ref(sfut, bottom, lv),
                                      check_exact=True)
    hist = bplan.rename(columns={"promo": "y"}).sample(frac=1.0, random_state=1)
    hist.loc[hist["series_id"] == sid[3], "y"] = 0.0  # a series without demand
    pd.testing.assert_frame_equal(classify_demand(hist), _classify_ref(hist), check_exact=True)
