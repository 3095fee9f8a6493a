"""The refresh with sparse demand: Croston SBA and TSB become candidates of the intermittent and lumpy series
only (chosen there by RMSSE), the other series' choice and forecasts are those of a refresh without them, and
the demand classes (with ABC/XYZ and margin) are stored for the Explore page."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import demand
from analytics._synthetic import intermittent_panel
from domain import BOTTOM_LEVEL, Frames


@pytest.fixture(scope="module")
def sparse_db(tmp_path_factory):
    """One import shared by the module's tests (the margin test only adds inventory inputs, after the refresh)."""
    from data import ingest
    from tests.conftest import sqlite_url
    tmp_path = tmp_path_factory.mktemp("sparse")
    tmp_db = sqlite_url(tmp_path / "sparse.db")
    panel = intermittent_panel(seed=5, n_stores=2, n_products=4, periods=120)
    csv = panel.rename(columns={"ds": "Date", "store_id": "Store", "product_id": "Product", "y": "Sales",
                                "price": "Price"})[["Date", "Store", "Product", "Sales", "Price"]]
    csv.to_csv(tmp_path / "sparse.csv", index=False)
    ingest.ingest_csv(tmp_path / "sparse.csv", "date=Date,sales=Sales,store=Store,product=Product,price=Price",
                      url=tmp_db)
    return tmp_db, panel


def test_intermittent_models_are_candidates_of_sparse_series_only(sparse_db):
    from data import store
    from jobs import runner
    url, panel = sparse_db
    kw = dict(models="seasonal_naive,seasonal_ses", horizon=7, folds=2, jobs=1, progress=False, levels="store",
              url=url, force=True)
    plain = runner.refresh(sparse_models="", **kw)
    assert plain["status"] == "success", plain
    plain_sel = store.selections(run_id=plain["run_id"], url=url)
    plain_final = _final(store, plain["run_id"], url)
    with_sparse = runner.refresh(**kw)
    assert with_sparse["status"] == "success", with_sparse
    sel = store.selections(run_id=with_sparse["run_id"], url=url).set_index("series_id")
    plain_sel = plain_sel.set_index("series_id")

    classes = store.load_frame(Frames.DEMAND_CLASSES, BOTTOM_LEVEL, url=url).set_index("series_id")
    sparse = set(classes.index[classes["demand_class"].isin(["intermittent", "lumpy"])])
    regular = set(plain_sel.index) - sparse
    assert sparse and regular  # the panel holds both kinds
    # the regular series: same choice, same score, same forecasts
    pd.testing.assert_frame_equal(sel.loc[sorted(regular)], plain_sel.loc[sorted(regular)])
    final = _final(store, with_sparse["run_id"], url)
    pd.testing.assert_frame_equal(final[final["series_id"].isin(regular)].reset_index(drop=True),
                                  plain_final[plain_final["series_id"].isin(regular)].reset_index(drop=True))
    # the sparse series: chosen by RMSSE, and the intermittent models win some of them
    assert (sel.loc[sorted(sparse), "metric"] == "rmsse").all()
    assert sel.loc[sorted(sparse), "model"].isin(["croston_sba", "tsb"]).any()
    for sid in sparse:  # with combinations: the level's regular choice against the intermittent models only
        assert sel.loc[sid, "model"] in {plain_sel.loc[sid, "model"], "croston_sba", "tsb"}
    metrics = store.backtest_metrics(run_id=with_sparse["run_id"], url=url)
    assert set(metrics.loc[metrics["model"].isin(["croston_sba", "tsb"]), "series_id"]) <= sparse | set(
        store.load_frame(Frames.DEMAND_CLASSES, "store", url=url).query(
            "demand_class in ['intermittent', 'lumpy']")["series_id"])
    # the stored classes are those of the history
    want = demand.classify_demand(panel).set_index("series_id")
    assert classes.loc[want.index, "demand_class"].tolist() == want["demand_class"].tolist()


def _final(store, run_id, url):
    nodes = store.nodes(BOTTOM_LEVEL, url=url)["node_id"]
    frames = [store.forecast(n, model="final", run_id=run_id, url=url).assign(series_id=n) for n in nodes]
    return pd.concat(frames, ignore_index=True).sort_values(["series_id", "ds"]).reset_index(drop=True)


def test_margin_from_inventory_unit_costs_rolls_up(sparse_db):
    from data import store
    from jobs import sparse
    url, panel = sparse_db
    store.upsert_inventory_params("*", "1", {"unit_cost": 2.0}, url=url)  # product 1 in every store: price 5
    frames = {BOTTOM_LEVEL: store.bottom_frame(url=url), "product": store.level_frame("product", url=url),
              "store": store.level_frame("store", url=url)}
    from jobs.refresh_inputs import with_hierarchy
    frames = {lv: with_hierarchy(f) for lv, f in frames.items()}
    tables = sparse.demand_tables(frames, "D", url)
    bottom = tables[BOTTOM_LEVEL].set_index("series_id")
    p1 = [s for s in bottom.index if s.endswith("product=1")]
    revenue = panel.groupby("series_id")["y"].sum()
    np.testing.assert_allclose(bottom.loc[p1, "margin"], revenue[p1] * (1 - 2.0 / 5.0))
    assert bottom.drop(index=p1)["margin"].isna().all()  # no unit cost: no margin
    product = tables["product"].set_index("series_id")
    assert product.loc["product=1", "margin"] == pytest.approx(revenue[p1].sum() * 0.6)
    assert product.drop(index="product=1")["margin"].isna().all()
    assert tables["store"]["margin"].isna().all()  # a store sells products without a cost


def test_models_written_as_they_arrive_equal_those_held(sparse_db, tmp_path, monkeypatch):
    """With a run id the model map writes each global model (and each group's forecast inputs) to the run's
    artifacts as its result arrives: the same files and objects as the models held in memory without one, and
    a group's inputs are its regular models' (all its series), not the intermittent models' (sparse series)."""
    import pickle

    from data import store
    from jobs import artifacts, stages
    from jobs.params import RefreshParams
    url, _ = sparse_db
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    params = RefreshParams.from_cli(store.frequency(url), horizon=7, models="seasonal_naive", folds=1,
                                    levels="store")
    inputs = stages.load(params, stages.Progress("t", url, False), url)
    plan = stages.plan_models(params)
    held = stages.backtest_and_fit(params, inputs, plan, plan.model_params, 1, stages.Progress("t", url, False))
    streamed = stages.backtest_and_fit(params, inputs, plan, plan.model_params, 1, stages.Progress("t", url, False),
                                       run_id="streamed")
    assert any(k.startswith("croston_sba__") for k in held.saved)  # the panel has sparse series
    assert sorted(streamed.saved_files) == sorted(f"{k}.joblib" for k in held.saved)
    assert streamed.saved == {}
    for name, obj in held.saved.items():  # each file equals the held object written the same way
        held_file = artifacts.run_dir("held") / artifacts.save_model("held", name, obj)
        assert (artifacts.run_dir("streamed") / f"{name}.joblib").read_bytes() == held_file.read_bytes(), name
    future = artifacts.load_model("streamed", f"future__{BOTTOM_LEVEL}")
    assert set(future["series_id"]) == set(inputs.futures[BOTTOM_LEVEL]["series_id"])
