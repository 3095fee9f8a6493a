"""Issue 13 §2: forecasts use the plan (promotion, depth, price, open, events) at every level of the hierarchy."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import store
from domain import BOTTOM_LEVEL, LEVELS
from jobs import runner, stages
from jobs.params import RefreshParams
from jobs.progress import Progress
from models.backtest import rolling_origin, zero_closed
from models.features import build_features
from tests.test_refresh import FAST_LGBM, make_store

H = 14
END = pd.Timestamp("2023-01-02") + pd.Timedelta(days=119)  # make_store's last date (120 days)
D = [END + pd.Timedelta(days=k) for k in range(1, H + 1)]


@pytest.fixture
def plan_db(tmp_db, tmp_path, monkeypatch):
    """make_store's 3 stores (1, 2 in N; 3 in S) x 3 products (a, b Fruit; c Bakery) and a plan at every grain."""
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db)
    rows = pd.DataFrame([
        dict(store_id="1", product_id="a", date=D[0], promo=1, promo_intensity=0.2, price=4.0),  # store x product
        dict(store_id="2", category="Fruit", date=D[1], promo=1, promo_intensity=0.3),           # store x category
        dict(product_id="c", date=D[2], price=9.0),                                             # product, all stores
        dict(store_id="3", date=D[3], is_open=0),                                               # a store closed
        dict(date=D[4], event="Street fair"),                                                   # everything
        dict(store_id="1", product_id="a", date=END - pd.Timedelta(days=3), event="Past fair"),  # a past event
    ])
    store.write_plan(rows, source="test", url=tmp_db)
    return tmp_db


def _load(url, levels=LEVELS, backtest_inputs="as_known"):
    params = RefreshParams.from_cli("D", horizon=H, models="seasonal_naive", levels=levels,
                                    backtest_inputs=backtest_inputs)
    return stages.load(params, Progress(None, url, False), url)


def _at(frame, sid, day):
    row = frame[(frame["series_id"] == sid) & (frame["ds"] == day)]
    assert len(row) == 1, (sid, day)
    return row.iloc[0]


def test_horizon_inputs_come_from_the_plan_at_every_grain(plan_db):
    inputs = _load(plan_db)
    b = inputs.futures[BOTTOM_LEVEL]
    assert set(b["ds"]) == set(D) and len(b) == 9 * H
    # store x product
    assert tuple(_at(b, "store=1/product=a", D[0])[["promo", "promo_intensity", "price"]]) == (1, 0.2, 4.0)
    assert _at(b, "store=1/product=b", D[0])["promo"] == 0
    # store x category: both Fruit products of store 2, not its Bakery product
    for p in "ab":
        assert tuple(_at(b, f"store=2/product={p}", D[1])[["promo", "promo_intensity"]]) == (1, 0.3)
    assert _at(b, "store=2/product=c", D[1])["promo"] == 0
    # product in all stores; unplanned prices stay at the regular price (make_store has none: NaN -> filled later)
    assert all(_at(b, f"store={s}/product=c", D[2])["price"] == 9.0 for s in "123")
    # a store's closure; everything else open
    assert all(_at(b, f"store=3/product={p}", D[3])["is_open"] == 0 for p in "abc")
    assert b.loc[~((b["ds"] == D[3]) & b["series_id"].str.startswith("store=3/")), "is_open"].eq(1).all()
    # aggregates: promotion share, mean depth, share open
    f = inputs.futures
    assert _at(f["store"], "store=2", D[1])["promo"] == pytest.approx(2 / 3)
    assert _at(f["store"], "store=2", D[1])["promo_intensity"] == pytest.approx(0.2)
    assert _at(f["product"], "product=a", D[0])["promo"] == pytest.approx(1 / 3)
    assert _at(f["total"], "total", D[3])["is_open"] == pytest.approx(6 / 9)
    assert _at(f["store"], "store=3", D[3])["is_open"] == 0
    assert _at(f["region"], "region=N", D[0])["promo_intensity"] == pytest.approx(0.2 / 6)


def test_plan_events_become_holiday_features(plan_db):
    inputs = _load(plan_db)
    for lv, frame in inputs.futures.items():
        assert frame.loc[frame["ds"] == D[4], "is_holiday"].eq(1).all(), lv
        assert frame.loc[frame["ds"] == D[5], "is_holiday"].eq(0).all(), lv
    past = END - pd.Timedelta(days=3)
    hist = inputs.frames
    assert _at(hist[BOTTOM_LEVEL], "store=1/product=a", past)["is_holiday"] == 1
    assert _at(hist[BOTTOM_LEVEL], "store=1/product=b", past)["is_holiday"] == 0
    assert _at(hist["store"], "store=1", past)["is_holiday"] == 1
    assert _at(hist["store"], "store=2", past)["is_holiday"] == 0
    # ... and the tree models read them (holiday flag and distance to it)
    b = hist[BOTTOM_LEVEL].sort_values(["series_id", "ds"]).reset_index(drop=True)
    X = build_features(b, H, 7, "D", b.groupby("series_id")["y"].mean())
    row = b.index[(b["series_id"] == "store=1/product=a") & (b["ds"] == past)][0]
    assert X.loc[row, "is_holiday"] == 1 and X.loc[row, "steps_to_holiday"] == 0
    assert {"promo", "promo_intensity", "price_ratio", "is_open"} <= set(X.columns)


def test_aggregate_history_has_depth_and_price(plan_db):
    hist = _load(plan_db).frames
    for lv in ("store", "total", "category"):
        assert {"promo_intensity", "price", "is_open"} <= set(hist[lv].columns)
    b = hist[BOTTOM_LEVEL]
    day = b["ds"].iloc[10]
    s1 = b[(b["ds"] == day) & b["series_id"].str.startswith("store=1/")]
    assert _at(hist["store"], "store=1", day)["promo"] == pytest.approx(s1["promo"].mean())


def test_closed_days_forecast_zero_at_every_level(plan_db):
    summary = runner.refresh(horizon=H, models="seasonal_naive,lgbm", jobs=1, progress=False, url=plan_db,
                             model_params=FAST_LGBM, force=True)
    assert summary["status"] == "success", summary.get("error")
    final = store.forecasts_for_level(BOTTOM_LEVEL, url=plan_db)
    closed = final[final["series_id"].str.startswith("store=3/") & (final["ds"] == D[3])]
    assert len(closed) == 3
    cols = [c for c in closed.columns if c.startswith("yhat")]
    assert (closed[cols].to_numpy() == 0).all()
    other = final[~final.index.isin(closed.index)]
    assert (other["yhat"] > 0).all()
    stores = store.forecasts_for_level("store", url=plan_db)
    assert _at(stores, "store=3", D[3])["yhat"] == 0 and _at(stores, "store=1", D[3])["yhat"] > 0


def test_a_plan_change_is_a_new_input_for_the_refresh(plan_db):
    kw = dict(horizon=H, models="seasonal_naive", jobs=1, progress=False, url=plan_db, levels=BOTTOM_LEVEL)
    assert runner.refresh(**kw)["status"] == "success"
    assert runner.refresh(**kw)["status"] == "skipped"  # nothing changed
    store.write_plan(pd.DataFrame([dict(store_id="1", date=D[6], is_open=0)]), source="test", url=plan_db)
    again = runner.refresh(**kw)
    assert again["status"] == "success"  # the plan changed: not skipped
    final = store.forecasts_for_level(BOTTOM_LEVEL, url=plan_db)
    assert (final.loc[final["series_id"].str.startswith("store=1/") & (final["ds"] == D[6]), "yhat"] == 0).all()


def test_closed_days_are_excluded_from_backtest_metrics():
    days = 84
    ds = pd.date_range("2023-01-02", periods=days)
    is_open = np.ones(days)
    is_open[[70, 77]] = 0  # closed in the last fold
    y = np.where(is_open > 0, 50 + 10 * (ds.dayofweek.to_numpy() == 5), 0.0)
    df = pd.DataFrame({"series_id": "s", "ds": ds, "y": y, "promo": 0.0, "is_holiday": 0.0, "temp_c": 10.0,
                       "is_open": is_open})
    metrics, fc = rolling_origin(df, "seasonal_naive", "D", 14, folds=2)
    assert not fc["ds"].isin(ds[[70, 77]]).any()  # the closed days are not scored...
    assert metrics["wape"].max() < 1e-12  # ...so a perfect weekly pattern stays perfect
    assert len(fc) == 2 * 14 - 2


def test_zero_closed_zeroes_points_and_bounds_only_where_closed():
    fc = pd.DataFrame({"series_id": ["a", "a", "b"], "ds": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"]),
                       "yhat": [5.0, 6.0, 7.0], "yhat_lo_80": [4.0, 5.0, 6.0], "yhat_hi_80": [6.0, 7.0, 8.0]})
    inputs = pd.DataFrame({"series_id": ["a", "a", "b"], "ds": fc["ds"], "is_open": [1.0, 0.0, np.nan]})
    out = zero_closed(fc, inputs)
    assert out["yhat"].tolist() == [5.0, 0.0, 7.0] and out["yhat_hi_80"].tolist() == [6.0, 0.0, 8.0]
    assert zero_closed(fc, None) is fc


def test_unplanned_days_and_oracle_runs_still_work(tmp_db, tmp_path, monkeypatch):
    """No plan at all: no promotion planned, open every day, and the oracle option still runs."""
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db)
    inputs = _load(tmp_db, levels=[BOTTOM_LEVEL], backtest_inputs="oracle")
    b = inputs.futures[BOTTOM_LEVEL]
    assert inputs.knowns is None
    assert (b["promo"] == 0).all() and (b["promo_intensity"] == 0).all() and (b["is_open"] == 1).all()
    assert store.plan_rows(url=tmp_db).empty


def test_weekly_markdown_covariates_still_drive_the_horizon_without_a_plan(tmp_db, tmp_path, monkeypatch):
    """The Walmart path: weekly data, promotions known only as future ``markdown_total`` covariates."""
    from data import schema
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    weeks = pd.date_range("2021-01-01", periods=110, freq="7D")
    future = [weeks[-1] + pd.Timedelta(weeks=k) for k in (1, 2)]
    rng = np.random.default_rng(0)
    store.init_db(tmp_db)
    with store.session_scope(url=tmp_db) as s:
        store.upsert_frame(s, schema.Dataset, pd.DataFrame([{"name": "weekly", "source": "test", "frequency": "W",
                                                             "content_hash": "w", "imported_at": weeks[0]}]))
        store.upsert_frame(s, schema.StoreDim, pd.DataFrame({"store_id": ["1", "2"], "name": ["A", "B"],
                                                             "region": ["N", "S"]}))
        store.upsert_frame(s, schema.ProductDim, pd.DataFrame({"product_id": ["x", "y"], "name": ["X", "Y"],
                                                               "category": ["C", "C"]}))
        md = (rng.random(len(weeks)) < 0.3) * 5000.0
        store.upsert_frame(s, schema.Sale, pd.DataFrame([
            {"store_id": st, "product_id": p, "date": d, "sales": 100 + 20 * (m > 0) + rng.normal(0, 3),
             "promo": int(m > 0), "promo_intensity": m, "is_open": 1}
            for st in "12" for p in "xy" for d, m in zip(weeks, md)]))
        store.upsert_frame(s, schema.Covariate, pd.DataFrame({"name": "markdown_total", "store_id": "1",
                                                              "product_id": "*", "date": future,
                                                              "value": [2500.0, 0.0]}))
        store.rebuild_aggregates(s)
    summary = runner.refresh(horizon=2, models="seasonal_naive,lgbm", jobs=1, progress=False, url=tmp_db,
                             model_params=FAST_LGBM, levels="store,store_product", force=True)
    assert summary["status"] == "success", summary.get("error")
    inputs = _load_weekly(tmp_db)
    b = inputs.futures[BOTTOM_LEVEL]
    assert tuple(_at(b, "store=1/product=x", future[0])[["promo", "promo_intensity", "is_open"]]) == (1, 2500, 1)
    assert _at(b, "store=2/product=x", future[0])["promo"] == 0
    assert _at(inputs.futures["store"], "store=1", future[1])["promo"] == 0


def _load_weekly(url):
    params = RefreshParams.from_cli("W", horizon=2, models="seasonal_naive", levels="store,store_product")
    return stages.load(params, Progress(None, url, False), url)
