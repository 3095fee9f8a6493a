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
    from jobs.spill import Spill
    url, _ = sparse_db
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    params = RefreshParams.from_cli(store.frequency(url), horizon=7, models="seasonal_naive", folds=1,
                                    levels="store")
    inputs = stages.load(params, stages.Progress("t", url, False), url)
    plan = stages.plan_models(params)
    with Spill(tmp_path) as spill:
        work = stages.cut_tasks(params, inputs, plan, plan.model_params, 1, spill)
        held = stages.backtest_and_fit(params, work, 1, stages.Progress("t", url, False))
        streamed = stages.backtest_and_fit(params, work, 1, stages.Progress("t", url, False), run_id="streamed")
    assert any(k.startswith("croston_sba__") for k in held.saved)  # the panel has sparse series
    assert sorted(streamed.saved_files) == sorted(f"{k}.joblib" for k in held.saved)
    assert streamed.saved == {}
    for name, obj in held.saved.items():  # each file equals the held object written the same way
        held_file = artifacts.run_dir("held") / artifacts.save_model("held", name, obj)
        assert (artifacts.run_dir("streamed") / f"{name}.joblib").read_bytes() == held_file.read_bytes(), name
    future = artifacts.load_model("streamed", f"future__{BOTTOM_LEVEL}")
    assert set(future["series_id"]) == set(inputs.futures[BOTTOM_LEVEL]["series_id"])


def _old_demand_table(frame, unit_cost=None):
    """Oracle: analytics.demand.demand_table before it grouped on series codes (Python strings per row)."""
    d = frame[["series_id", "y"]].assign(series_id=frame["series_id"].astype(str))
    revenue = d.groupby("series_id", sort=True)["y"].sum()
    margin = pd.Series(np.nan, index=revenue.index)
    if unit_cost is not None and "price" in frame.columns:
        price = pd.to_numeric(frame["price"], errors="coerce").to_numpy(dtype=float)
        cost = d["series_id"].map(unit_cost).to_numpy(dtype=float)
        sold = d["y"].to_numpy(dtype=float) != 0
        units = np.divide(d["y"].to_numpy(dtype=float), price, out=np.full(len(d), np.nan), where=price > 0)
        row_margin = np.where(sold, d["y"].to_numpy(dtype=float) - cost * units, 0.0)
        margin = pd.Series(row_margin, index=d.index).groupby(d["series_id"], sort=True).sum(min_count=1)
        complete = pd.Series(np.isfinite(row_margin), index=d.index).groupby(d["series_id"], sort=True).all()
        margin = margin.where(complete)
    money = pd.DataFrame({"series_id": revenue.index, "revenue": revenue.to_numpy(),
                          "margin": margin.reindex(revenue.index).to_numpy(dtype=float)})
    sid = frame["series_id"].astype(str).to_numpy()
    ds = pd.to_datetime(frame["ds"])
    month = (ds.dt.year * 12 + ds.dt.month).to_numpy()
    monthly = frame["y"].groupby([sid, month], sort=False).sum()
    mg = monthly.groupby(level=0, sort=True)
    total = frame["y"].groupby(sid, sort=True).sum()
    out = pd.DataFrame({"total": total, "monthly_cv": mg.std(ddof=1) / mg.mean().where(mg.mean() != 0)})
    out = out.sort_values("total", ascending=False, kind="mergesort")
    positive = out["total"].clip(lower=0)
    out["revenue_share"] = positive / positive.sum() if positive.sum() > 0 else np.nan
    cum = out["revenue_share"].cumsum() - out["revenue_share"]
    out["abc"] = np.select([cum < 0.8, cum < 0.95], ["A", "B"], "C")
    cv = out["monthly_cv"]
    out["xyz"] = np.select([cv < 0.5, cv < 1.0, cv.notna()], ["X", "Y", "Z"], "")
    abc = out.rename_axis("series_id").reset_index()[["series_id", "revenue_share", "abc", "monthly_cv", "xyz"]]
    table = demand.classify_demand(frame).merge(money, on="series_id").merge(abc, on="series_id", how="left")
    return table.sort_values(["revenue", "series_id"], ascending=[False, True], kind="mergesort").reset_index(
        drop=True), money


def _old_demand_tables(frames, url):
    """Oracle: jobs.sparse.demand_tables before the refresh slimmed its frames (hierarchy columns per row)."""
    from domain import HIERARCHY_COLS
    from jobs import sparse
    bottom = frames[BOTTOM_LEVEL]
    costs = sparse.unit_costs(bottom, url)
    tables = {lv: _old_demand_table(f)[0] for lv, f in frames.items()}
    margin = _old_demand_table(bottom, costs)[1]
    tables[BOTTOM_LEVEL] = tables[BOTTOM_LEVEL].drop(columns="margin").merge(
        margin[["series_id", "margin"]], on="series_id", how="left")
    members = bottom.drop_duplicates("series_id")[["series_id", *HIERARCHY_COLS]].merge(margin, on="series_id")
    for lv, f in frames.items():
        if lv != BOTTOM_LEVEL:
            keys = f.drop_duplicates("series_id")[["series_id", *HIERARCHY_COLS]]
            tables[lv] = tables[lv].drop(columns="margin").merge(demand.rollup_margin(members, keys),
                                                                 on="series_id", how="left")
    return tables


def test_demand_tables_from_the_slimmed_history_equal_those_of_the_whole_panel(sparse_db):
    """The refresh tables the demand classes from the history it keeps after the model map (``series_id, ds,
    y`` and the bottom price: stages.after_map) with the load's classes: the tables of the whole panel, exactly."""
    from data import store
    from jobs import sparse, stages
    from jobs.refresh_inputs import load_history
    url, _ = sparse_db
    store.upsert_inventory_params("*", "1", {"unit_cost": 2.0}, url=url)  # margins on product 1
    frames, _ = load_history(store.LEVELS, "D", url)
    want = _old_demand_tables(frames, url)
    inputs = stages.after_map(stages.Inputs(frames, {}, None, None, None, sparse.classify(frames)))
    assert {tuple(f.columns) for lv, f in inputs.frames.items() if lv != BOTTOM_LEVEL} == {("series_id", "ds", "y")}
    assert list(inputs.frames[BOTTOM_LEVEL].columns) == ["series_id", "ds", "y", "price"]
    got = sparse.demand_tables(inputs.frames, "D", url, inputs.classes)
    assert set(got) == set(want) == set(store.LEVELS)
    for lv in want:
        pd.testing.assert_frame_equal(got[lv], want[lv], check_exact=True, obj=lv)
    assert got[BOTTOM_LEVEL]["margin"].notna().any() and got["product"]["margin"].notna().any()
    assert set(got[BOTTOM_LEVEL]["demand_class"]) & {"intermittent", "lumpy"}
    # and without the load's classes, the same
    pd.testing.assert_frame_equal(sparse.demand_tables(inputs.frames, "D", url)["store"], want["store"],
                                  check_exact=True)
