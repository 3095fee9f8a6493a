"""The dashboard's reads that must not grow with the store: per-run summaries stored at publish, and reads served by
an index (checked with SQLite's EXPLAIN QUERY PLAN), each compared with the per-request computation it replaces."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests import monitor_helpers as mh


def _old_expectation(run_id: str, url: str) -> pd.DataFrame:
    """The Monitoring band as it was computed per request: every backtest row of the run in pandas."""
    from data import store
    bt = store.backtest_metrics(run_id=run_id, url=url)
    sel = store.selections(run_id=run_id, url=url)
    nodes = store.nodes(url=url)[["node_id", "level"]].rename(columns={"node_id": "series_id"})
    m = bt.merge(sel[["series_id", "model"]], on=["series_id", "model"]).merge(nodes, on="series_id")
    m = m[(m["wape"] > 0) & np.isfinite(m["wape"]) & np.isfinite(m["mae"])]
    m = m.assign(sum_y=m["mae"] / m["wape"])
    per_fold = m.groupby(["level", "fold"]).agg(mae=("mae", "sum"), sum_y=("sum_y", "sum"),
                                                 c80=("coverage_80", "mean"), c95=("coverage_95", "mean"))
    per_fold["wape"] = per_fold["mae"] / per_fold["sum_y"]
    g = per_fold.groupby("level")
    return pd.DataFrame({"wape_expected": g["wape"].mean(), "wape_lo": g["wape"].min(), "wape_hi": g["wape"].max(),
                         "coverage_80_expected": g["c80"].mean(), "coverage_95_expected": g["c95"].mean()}
                        ).reset_index()


@pytest.fixture
def published(tmp_db, tmp_path):
    """A small store with a published run: two models with different metrics per series and fold, each series'
    choice varying, one NaN and one zero WAPE (left out of the band)."""
    from data import ingest, store
    frame = mh.sales_frame(days=40, stores=2, products=3)
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    ingest.ingest_csv(path, mh.MAP, url=tmp_db)
    nodes = store.nodes(url=tmp_db)["node_id"].tolist()
    rng = np.random.default_rng(3)
    metrics = pd.DataFrame([{"series_id": n, "model": m, "fold": f, "wape": float(rng.uniform(0.05, 0.5)),
                             "mae": float(rng.uniform(1, 20)), "coverage_80": float(rng.uniform(0.6, 1)),
                             "coverage_95": float(rng.uniform(0.8, 1))}
                            for n in nodes for m in ("a", "b") for f in (0, 1, 2)])
    metrics.loc[3, "wape"] = np.nan
    metrics.loc[7, "wape"] = 0.0
    choice = ["a" if i % 3 else "b" for i in range(len(nodes))]
    selections = pd.DataFrame({"series_id": nodes, "model": choice, "metric": "wape", "score": 0.1})
    store.create_run("r1", {"freq": "D", "horizon": 7, "models": ["a", "b"]}, "hash", "test", url=tmp_db)
    with store.session_scope(url=tmp_db) as s:
        store.write_run_results(s, "r1", metrics=metrics, selections=selections)
    store.publish_run("r1", n_series=len(nodes), duration_s=1.0, metrics={}, url=tmp_db)
    return tmp_db


def test_run_accuracy_is_stored_at_publish_and_equals_the_per_request_computation(published):
    from analytics import kpis
    from data import store
    from domain import Frames
    from monitoring import status
    url = published
    assert store.load_frame(Frames.RUN_ACCURACY, "r1", url=url) is not None  # written by the publish
    old_kpis = kpis.accuracy_kpis(store.chosen_model_wape("r1", url))
    assert store.chosen_wape("r1", url=url) == pytest.approx(old_kpis, rel=1e-12)
    new = status.backtest_expectation("r1", url).sort_values("level").reset_index(drop=True)
    old = _old_expectation("r1", url).sort_values("level").reset_index(drop=True)
    pd.testing.assert_frame_equal(new, old[new.columns], check_exact=False, rtol=1e-12)


def test_a_run_published_before_gets_its_summary_once_without_changing_the_data_version(published):
    from data import schema, store
    from data.engine import get_engine
    from domain import Frames
    url = published
    t = schema.AnalysisResult.__table__
    with get_engine(url).begin() as conn:  # as a run published by an earlier release: no summary
        conn.execute(t.delete().where(t.c.level == "r1"))
    version = store.data_version(url)
    expected = store.chosen_wape("r1", url=url)
    assert store.load_frame(Frames.RUN_ACCURACY_FOLDS, "r1", url=url) is not None
    assert store.data_version(url) == version  # cached pages stay valid
    assert store.chosen_wape("r1", url=url) == pytest.approx(expected, rel=1e-12)


def test_inventory_series_keys_from_the_hierarchy_equal_the_built_keys(published):
    from data import store
    from domain import BOTTOM_LEVEL
    params = store.inventory_params(url=published)
    built = [store.node_id(BOTTOM_LEVEL, store_id=s, product_id=p)
             for s, p in params[["store_id", "product_id"]].itertuples(index=False)]
    assert store.bottom_keys(url=published) == built and len(built) == 6


def test_one_series_inputs_equal_its_row_of_every_series_inputs(published):
    from data import store
    url = published
    store.upsert_inventory_params("*", "*", {"lead_time_days": 9.0}, url=url)
    store.upsert_inventory_params("S1", "*", {"moq": 40.0}, url=url)
    store.upsert_inventory_params("*", "P2", {"lead_time_days": 3.0}, url=url)
    store.upsert_inventory_params("S1", "P2", {"on_hand": 12.0}, url=url)
    every = store.inventory_params(url=url)
    for s, p in every[["store_id", "product_id"]].itertuples(index=False):
        row = every[(every["store_id"] == s) & (every["product_id"] == p)].iloc[0].to_dict()
        pd.testing.assert_series_equal(pd.Series(store.series_params(s, p, url=url)), pd.Series(row))
    assert store.series_params("S1", "P9", url=url) == {}


def _old_plan_view(start, end, store_id, category, product, url):
    """The Plan page's view as it was computed: every plan row of the window expanded over every series."""
    from data import plans, store
    from domain import ALL, BOTTOM_LEVEL
    rows = plans.plan_rows(start, end, url=url)
    series = store.nodes(level=BOTTOM_LEVEL, url=url)[["store_id", "product_id", "category"]]
    for col, value in (("store_id", store_id), ("category", category), ("product_id", product)):
        if value:
            series = series[series[col] == value]
    wide = plans.expand(rows, series).merge(series, on=["store_id", "product_id"])
    touches = ((rows["store_id"] == ALL) | rows["store_id"].isin(series["store_id"])) \
        & ((rows["product_id"] == ALL) | rows["product_id"].isin(series["product_id"])) \
        & ((rows["category"] == ALL) | rows["category"].isin(series["category"]))
    names = wide["store_id"] + " · " + wide["product_id"]
    marked = sorted(set(names[(wide["promo"] == 1) | (wide["is_open"] == 0)]))
    return wide, names, marked, rows[touches].reset_index(drop=True)


@pytest.mark.parametrize("max_series,chunk", [(3, 1), (20, 100)])
def test_plan_view_reads_only_what_the_page_shows_and_equals_the_full_expansion(small_demo_db, monkeypatch,
                                                                               max_series, chunk):
    from data import plan_edit, plans
    url = small_demo_db
    monkeypatch.setattr(plan_edit, "CHUNK_SERIES", chunk)  # several chunks of 6 series with max_series 3
    plans.write_plan(pd.DataFrame({"store_id": ["02", "*"], "product_id": ["*", "*"], "category": ["*", "*"],
                                   "date": ["2022-06-01", "2022-06-02"], "is_open": [0, None],
                                   "promo": [None, 1], "promo_intensity": [None, 0.1]}), url=url)
    for args in [(None, None, None, None, None), ("2022-05-25", "2022-06-10", None, None, None),
                 (None, None, "02", None, None), ("2022-01-01", None, None, "Grocery", None)]:
        view = plan_edit.plan_view(*args, url=url, max_series=max_series, max_rows=7)
        wide, names, marked, touching = _old_plan_view(*args, url=url)
        assert len(marked) > 0
        shown = marked[:max_series]
        expect = wide[names.isin(shown)].sort_values(["store_id", "product_id", "date"]).reset_index(drop=True)
        got = view["expanded"].sort_values(["store_id", "product_id", "date"]).reset_index(drop=True)
        expect["date"] = pd.to_datetime(expect["date"])
        cols = ["store_id", "product_id", "category", "date", *plan_edit.CALENDAR_FIELDS]  # what the calendar draws
        pd.testing.assert_frame_equal(got[cols], expect[cols], check_dtype=False)
        assert view["n_series"] == len(marked) or (view["n_series"] is None and len(marked) > max_series)
        assert view["n_rows"] == len(touching)
        typed = touching.head(7).astype(view["rows"].dtypes.to_dict())  # flags as integers, numbers as floats
        pd.testing.assert_frame_equal(view["rows"].reset_index(drop=True), typed)


def test_the_calendar_chunk_read_searches_the_plan_primary_key_not_the_whole_plan(small_demo_db):
    from sqlalchemy import select

    from data import plans
    from data.engine import get_engine
    t = plans._PLANS
    scope = {"store_id": ["01", "02"], "product_id": ["P001", "P002"], "category": ["Beverages"]}
    for start, end in ((None, None), ("2022-01-01", "2022-01-31")):
        stmt = plans._window(select(t.c.store_id, t.c.promo), start, end, scope).order_by(t.c.date)
        with get_engine(small_demo_db).connect() as conn:
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = " | ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).fetchall())
        assert "SEARCH plans USING INDEX sqlite_autoindex_plans_1 (store_id=? AND product_id=?" in plan, plan
        assert "SCAN plans" not in plan, plan
