"""The refresh: end to end on the small demo, coherent published forecasts, atomic run switch, Ctrl-C, skips."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from data import schema, store
from domain import ALL
from jobs import artifacts, runner, stages

FAST_LGBM = {"lgbm": {"n_estimators": 20, "num_leaves": 7, "min_child_samples": 5}}


def make_store(url: str, days: int = 120, seed: int = 0) -> None:
    """2 regions x 3 stores x 3 products (2 categories), daily, with promotions, weather and a holiday."""
    store.init_db(url)
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=days)
    t = np.arange(days)
    with store.session_scope(url=url) as s:
        store.upsert_frame(s, schema.Dataset, pd.DataFrame([{"name": "hand-made", "source": "test", "frequency": "D",
                                                             "content_hash": f"seed{seed}",
                                                             "imported_at": pd.Timestamp("2024-01-01")}]))
        store.upsert_frame(s, schema.StoreDim, pd.DataFrame({"store_id": ["1", "2", "3"], "name": ["A", "B", "C"],
                                                             "region": ["N", "N", "S"]}))
        store.upsert_frame(s, schema.ProductDim, pd.DataFrame({"product_id": ["a", "b", "c"],
                                                               "name": ["Apple", "Banana", "Bread"],
                                                               "category": ["Fruit", "Fruit", "Bakery"]}))
        rows = []
        for i, st in enumerate("123"):
            for j, p in enumerate("abc"):
                promo = (rng.random(days) < 0.15).astype(int)
                y = 30 + 6 * i + 4 * j + 5 * np.sin(2 * np.pi * t / 7) + 10 * promo + rng.normal(0, 2, days)
                rows.append(pd.DataFrame({"store_id": st, "product_id": p, "date": dates, "sales": y.round(2),
                                          "promo": promo, "is_open": 1}))
        store.upsert_frame(s, schema.Sale, pd.concat(rows, ignore_index=True))
        store.upsert_frame(s, schema.Weather, pd.DataFrame({
            "scope": "region", "scope_id": np.repeat(["N", "S"], days), "date": list(dates) * 2,
            "temp_c": np.tile(5 + 0.1 * t, 2), "precip_mm": 0.5}))
        store.upsert_frame(s, schema.CalendarEvent, pd.DataFrame({"date": [dates[40]], "scope": "all",
                                                                  "scope_id": ALL, "name": "Fest",
                                                                  "kind": "holiday"}))
        store.rebuild_aggregates(s)


@pytest.fixture
def hand_db(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db)
    return tmp_db


def _check_coherent(url: str, run_id: str | None = None) -> None:
    """On every date: stores sum to their region, regions to the total, products to categories and the total."""
    fc = {lv: store.forecasts_for_level(lv, run_id=run_id, url=url) for lv in store.LEVELS}
    nodes = store.nodes(url=url).set_index("node_id")
    wide = {lv: f.pivot(index="ds", columns="series_id", values="yhat") for lv, f in fc.items()}
    total = wide["total"]["total"]
    for child, parent_of in (("region", lambda k: "total"), ("category", lambda k: "total"),
                             ("store", lambda k: f"region={nodes.loc[k, 'region']}"),
                             ("product", lambda k: f"category={nodes.loc[k, 'category']}"),
                             ("store_product", lambda k: f"store={nodes.loc[k, 'store_id']}"),
                             ("store_category", lambda k: f"store={nodes.loc[k, 'store_id']}")):
        w = wide[child]
        sums = w.T.groupby([parent_of(k) for k in w.columns]).sum().T
        parent = pd.concat([wide[lv] for lv in wide if lv != child], axis=1)
        for p in sums.columns:
            np.testing.assert_allclose(sums[p].to_numpy(), parent[p].to_numpy(), rtol=1e-9,
                                       err_msg=f"{child} nodes do not add up to {p}")
    np.testing.assert_allclose(wide["store_product"].sum(axis=1).to_numpy(), total.to_numpy(), rtol=1e-9)


@pytest.mark.backends("sqlite", "postgresql")
def test_end_to_end_refresh_on_small_demo(small_demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    assert not runner.has_current_run()
    summary = runner.refresh(models="seasonal_naive,lgbm", horizon=14, folds=2, jobs=1, progress=False,
                             model_params=FAST_LGBM)
    assert summary["status"] == "success", summary
    assert runner.has_current_run()
    run = store.current_run()
    assert run["run_id"] == summary["run_id"] and run["status"] == "success" and run["progress"] == 1.0
    assert run["params"]["horizon"] == 14 and run["n_series"] == len(store.nodes())
    assert run["code_version"] and run["data_hash"] == store.data_hash()
    assert set(summary["selected"]) <= {"seasonal_naive", "lgbm"} and sum(summary["selected"].values()) > 0
    # every node has a 14-day final forecast after the last sales date, with ordered bounds
    last = pd.Timestamp(store.counts()["end"])
    for key in store.nodes()["node_id"]:
        fc = store.forecast(key)
        assert len(fc) == 14 and fc["ds"].min() == last + pd.Timedelta(days=1), key
        assert (fc["yhat_lo_95"] <= fc["yhat_lo_80"]).all() and (fc["yhat_lo_80"] <= fc["yhat"]).all()
        assert (fc["yhat"] <= fc["yhat_hi_80"]).all() and (fc["yhat_hi_80"] <= fc["yhat_hi_95"]).all()
    _check_coherent(store.resolve_url())
    # candidates for aggregates, metrics per fold, selection and diagnostics of the chosen model
    assert set(store.forecast_models("total")) == {"final", "seasonal_naive", "lgbm"}
    bm = store.backtest_metrics("total")
    assert set(bm["model"]) == {"seasonal_naive", "lgbm"} and set(bm["fold"]) == {1, 2}
    sel = store.selection("total")
    assert len(sel) == 1 and sel["model"].iloc[0] in ("seasonal_naive", "lgbm")
    diag = store.diagnostics("total")
    assert diag["model"].tolist() == sel["model"].tolist() and len(diag["acf"].iloc[0]) > 0
    assert 0 <= diag["ljung_box_p"].iloc[0] <= 1
    summ = store.model_summary()
    assert set(summ["model"]) == {"seasonal_naive", "lgbm"} and summ["n_selected"].sum() == len(store.nodes())
    manifest = json.loads((tmp_path / "models" / summary["run_id"] / "manifest.json").read_text())
    assert manifest["run_id"] == summary["run_id"] and "lgbm__store_product.joblib" in manifest["files"]
    assert "Run " in runner.format_summary(summary)


@pytest.mark.parametrize("method", ["ols", "mint_shrink"])
def test_ols_and_mint_refresh_publish_coherent_forecasts(hand_db, method):
    summary = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False, reconcile=method)
    assert summary["status"] == "success", summary
    _check_coherent(hand_db)
    # seasonal-naive forecasts are linear in y, hence already coherent: a projection must leave them unchanged
    base = store.forecast("store=1/product=a", model="seasonal_naive")
    final = store.forecast("store=1/product=a")
    np.testing.assert_allclose(base["yhat"], final["yhat"], rtol=1e-9)


def test_the_next_refresh_removes_the_artifacts_of_a_killed_run(hand_db):
    store.create_run("r-killed", {}, "h", "test", url=hand_db)  # left running by a refresh killed with SIGKILL
    artifacts.save_model("r-killed", "lgbm__store_product", {"fitted": 1})  # written as its task arrived
    assert artifacts.run_dir("r-killed").exists()
    summary = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    assert summary["status"] == "success", summary
    killed = store.run_info("r-killed")
    assert killed["status"] == "failed" and killed["error"].startswith("abandoned")
    assert not artifacts.run_dir("r-killed").exists()
    assert (artifacts.run_dir(summary["run_id"]) / "manifest.json").exists()


@pytest.mark.backends("sqlite", "postgresql")
def test_failure_while_writing_keeps_the_previous_run(hand_db, monkeypatch):
    first = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    assert first["status"] == "success"
    before = store.forecast("total")
    real = store.write_run_results

    def write_then_fail(session, run_id, **frames):
        real(session, run_id, **frames)  # everything is written ... then the process fails before commit
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "write_run_results", write_then_fail)
    second = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False, force=True)
    assert second["status"] == "failed" and "disk full" in second["error"]
    assert store.current_run()["run_id"] == first["run_id"]
    failed = store.run_info(second["run_id"])
    assert failed["status"] == "failed" and not failed["is_current"] and "disk full" in failed["error"]
    pd.testing.assert_frame_equal(store.forecast("total"), before)  # readers still see the old run
    assert store.forecast("total", run_id=second["run_id"]).empty  # the failed run's rows were rolled back
    assert store.lock_info("refresh") is None


def test_ctrl_c_cancels_the_run_and_keeps_the_previous_one(hand_db, monkeypatch):
    first = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stages, "map_series", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False, force=True)
    runs = store.runs()
    assert runs.iloc[0]["status"] == "cancelled" and not runs.iloc[0]["is_current"]
    assert store.current_run()["run_id"] == first["run_id"]
    assert store.lock_info("refresh") is None  # the lock is released on the way out


def test_a_run_left_running_by_a_killed_process_is_marked_failed_by_the_next_refresh(hand_db):
    first = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    store.create_run("killed-run", {"models": "seasonal_naive"}, "hash", "test", url=hand_db)  # never finished
    again = runner.refresh(models="seasonal_naive", horizon=5, folds=1, jobs=1, progress=False)
    assert again["status"] == "success"
    runs = store.runs().set_index("run_id")
    assert runs.loc["killed-run", "status"] == "failed" and "abandoned" in runs.loc["killed-run", "error"]
    assert runs.loc[first["run_id"], "status"] == "success"


def test_sigterm_cancels_a_cli_refresh_like_ctrl_c(hand_db, monkeypatch):
    """`kill <pid>` of `cli.py refresh` mid-run: the run ends cancelled, nothing is published, the lock is freed."""
    import argparse
    import os
    import signal
    import time
    import cli

    def killed_mid_run(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this sleep
        raise AssertionError("SIGTERM did not interrupt the refresh")

    monkeypatch.setattr(stages, "map_series", killed_mid_run)
    previous = signal.getsignal(signal.SIGTERM)
    args = argparse.Namespace(horizon=7, models="seasonal_naive", jobs=1, tune=False, folds=1, metric="wape",
                              reconcile="bottom_up", levels=None, json=True, force=True)
    try:
        with pytest.raises(KeyboardInterrupt):
            cli.cmd_refresh(args)
    finally:
        signal.signal(signal.SIGTERM, previous)
    run = store.runs().iloc[0]
    assert run["status"] == "cancelled" and store.current_run() is None
    assert store.lock_info("refresh") is None


def test_unchanged_data_is_skipped_until_forced_or_changed(hand_db):
    first = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    again = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    assert again["status"] == "skipped" and again["current_run"] == first["run_id"]
    assert store.runs().iloc[0]["status"] == "skipped"
    other = runner.refresh(models="seasonal_naive", horizon=5, folds=1, jobs=1, progress=False)
    assert other["status"] == "success"  # new parameters are a new forecast
    with store.session_scope(url=hand_db) as s:  # new data: one changed sale
        store.upsert_frame(s, schema.Sale, pd.DataFrame([{"store_id": "1", "product_id": "a",
                                                          "date": pd.Timestamp("2023-01-02"), "sales": 999.0,
                                                          "promo": 0, "is_open": 1}]))
    assert runner.refresh(models="seasonal_naive", horizon=5, folds=1, jobs=1, progress=False)["status"] == "success"


@pytest.mark.backends("sqlite", "postgresql")
def test_a_held_lock_blocks_a_second_refresh(hand_db):
    assert store.acquire_lock("refresh", "otherhost:1:abcd", url=hand_db)
    summary = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    assert summary["status"] == "locked" and "otherhost" in summary["error"]
    assert store.current_run() is None


def test_clear_errors_for_bad_arguments(hand_db):
    with pytest.raises(ValueError, match="unknown model"):
        runner.refresh(models="seasonal_naive,crystal_ball", progress=False)
    with pytest.raises(ValueError, match="unknown level"):
        runner.refresh(models="seasonal_naive", levels="galaxy", progress=False)
    with pytest.raises(ValueError, match="drop --levels"):
        runner.refresh(models="seasonal_naive", levels="store", reconcile="ols", progress=False)


def test_process_pool_gives_the_same_forecasts_as_serial(hand_db):
    serial = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    a = store.forecasts_for_level("store_product", run_id=serial["run_id"])
    pooled = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=2, progress=False, force=True)
    b = store.forecasts_for_level("store_product", run_id=pooled["run_id"])
    pd.testing.assert_frame_equal(a, b)


def test_local_models_and_the_level_combination(hand_db):
    """A local model (ETS, mapped over batches of series) and global ones: each level gets the candidate
    subset with the best pooled backtest WAPE, its members are averaged, and the result stays coherent."""
    summary = runner.refresh(models="seasonal_naive,seasonal_ses,ets", horizon=7, folds=2, jobs=1, progress=False,
                             model_params={"ets": {"maxiter": 30, "trends": ((None, False),)}})
    assert summary["status"] == "success", summary
    combos = summary["combinations"]
    assert set(combos) == set(store.LEVELS)
    for level, info in combos.items():
        scores = {k: v for k, v in info["scores"].items() if v is not None}
        assert info["chosen"] == min(scores, key=scores.get), (level, info)
        assert "ets" in info["scores"] and "ets+seasonal_ses" in info["scores"]
        assert not any("seasonal_naive+" in k for k in info["scores"])
    assert set(summary["selected"]) >= {combos["store_product"]["chosen"]}
    # aggregate nodes keep every candidate's forecast: a combination is its members' plain average there
    level, info = next(((lv, i) for lv, i in combos.items() if lv != "store_product" and "+" in i["chosen"]),
                       (None, None))
    if level is not None:
        node = store.nodes(level=level)["node_id"].iloc[0]
        parts = [store.forecast(node, model=m)["yhat"].to_numpy() for m in info["chosen"].split("+")]
        np.testing.assert_allclose(store.forecast(node, model=info["chosen"])["yhat"], np.mean(parts, axis=0))
    # the summary's WAPE is pooled over the bottom series and folds: sum |e| / sum |y| = sum mae / sum (mae / wape)
    bm = store.backtest_metrics()
    bottom = bm[bm["series_id"].str.contains("/product=") & (bm["model"] == "ets")]
    pooled = bottom["mae"].sum() / (bottom["mae"] / bottom["wape"]).sum()
    assert summary["metrics"]["ets"]["wape"] == pytest.approx(pooled, abs=1e-4)
    # the chosen combination has residual diagnostics like any model (the Forecast page shows them)
    for level, info in combos.items():
        if "+" in info["chosen"]:
            node = store.nodes(level=level)["node_id"].iloc[0]
            diag = store.diagnostics(node)
            assert len(diag) == 1 and diag["model"].iloc[0] == info["chosen"], (level, diag)
            assert np.isfinite(diag["ljung_box_p"].iloc[0])
    _check_coherent(hand_db)
    series = runner.refresh(models="seasonal_naive,seasonal_ses,ets", horizon=7, folds=2, jobs=1, progress=False,
                            selection="series", model_params={"ets": {"maxiter": 30, "trends": ((None, False),)}})
    assert series["status"] == "success" and series["combinations"] == {}
    assert set(series["selected"]) <= {"seasonal_naive", "seasonal_ses", "ets"}


def test_mint_reconciles_level_combinations(hand_db):
    """MinT needs in-sample residuals of every chosen forecast, combinations included."""
    summary = runner.refresh(models="seasonal_naive,seasonal_ses,ets", horizon=7, folds=2, jobs=1, progress=False,
                             reconcile="mint_shrink", model_params={"ets": {"maxiter": 30, "trends": ((None, False),)}})
    assert summary["status"] == "success", summary
    assert any("+" in info["chosen"] for info in summary["combinations"].values()), summary["combinations"]
    _check_coherent(hand_db)
