"""The refresh's model map at scale: tasks cut lazily (equal to the whole-frame slices), a bounded number in
flight, and global models trained per series group (each group's model equal to a direct fit on its series)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import store
from domain import BOTTOM_LEVEL
from jobs import artifacts, explain_job, stages, tasks
from jobs import executor
from jobs.executor import GlobalTask, map_series, run_global
from jobs.params import RefreshParams
from jobs.spill import Spill
from tests.test_refresh import FAST_LGBM, make_store


@pytest.fixture
def hand_db(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db, days=90)
    return tmp_db


def _inputs(url):
    params = RefreshParams.from_cli(store.frequency(url), horizon=7, models="seasonal_naive,lgbm", folds=1,
                                    model_params=FAST_LGBM)
    return params, stages.load(params, stages.Progress("t", url, False), url)


def test_lazy_tasks_carry_the_rows_of_their_series(hand_db):
    """Each built task's frames equal ``frame[frame.series_id.isin(ids)]`` of its level group, in order."""
    params, inputs = _inputs(hand_db)
    groups = tasks._level_groups(inputs.frames, inputs.futures, inputs.knowns)
    refs = tasks.local_tasks(inputs.frames, inputs.futures, params, ["seasonal_naive"], {}, 2, inputs.knowns)
    assert sum(len(r.series_ids) for r in refs) == sum(g[1]["series_id"].nunique() for g in groups)
    for ref in refs:
        task = ref.build()
        bottom = ref.series_ids[0] in set(inputs.frames[BOTTOM_LEVEL]["series_id"])
        _, frame, future, known = groups[0 if bottom else 1]
        for got, whole in ((task.frame, frame), (task.future, future), (task.known, known)):
            want = whole[whole["series_id"].isin(ref.series_ids)].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want)


def test_split_groups_are_consecutive_whole_series_of_bounded_size():
    frame = pd.DataFrame({"series_id": np.repeat([f"s{k:02d}" for k in range(10)], [30] * 9 + [60])})
    groups = tasks.split_groups(frame, 100)
    assert [g for group in groups for g in group] == sorted(frame["series_id"].unique())
    assert len(groups) == 4 and all(frame["series_id"].isin(g).sum() <= 100 for g in groups)
    assert tasks.split_groups(frame, 1_000) == [sorted(frame["series_id"].unique())]
    assert tasks.group_names("store_product", 3) == ["store_product", "store_product-2", "store_product-3"]


def test_the_map_keeps_one_task_per_worker_in_flight():
    """Tasks of a generator are drawn only as workers free up; results come back in task order (the process
    pool's loop, here over two threads)."""
    from concurrent.futures import ThreadPoolExecutor
    drawn, seen = [], []

    def gen():
        for k in range(8):
            drawn.append(k)
            yield k

    with ThreadPoolExecutor(2) as pool:
        out = executor._bounded_map(pool, lambda x: x * x, gen(), 2, lambda r: seen.append(len(drawn) - len(seen)))
    assert out == [k * k for k in range(8)]
    assert max(seen) <= 2 + 1  # 2 running, at most 1 drawn and waiting for a free worker
    assert map_series(abs, iter([-1, -2]), jobs=1) == [1, 2]


def test_a_global_model_per_series_group(hand_db, monkeypatch, tmp_path):
    """With SALES_GLOBAL_GROUP_ROWS below the bottom level's rows, lgbm is trained per group of series: every
    series still gets its forecast and backtest, each group's forecasts equal a direct fit on its series, and
    explanations and the saved models find a node's group."""
    monkeypatch.setenv("SALES_GLOBAL_GROUP_ROWS", "300")  # 9 series x 90 days: 3 groups
    params, inputs = _inputs(hand_db)
    plan = stages.plan_models(params)
    with Spill(tmp_path) as spill:
        work = stages.cut_tasks(params, inputs, plan, plan.model_params, 1, spill)
        fitted = stages.backtest_and_fit(params, work, 1, stages.Progress("t", hand_db, False))
    fc = pd.concat(fitted.fc_parts, ignore_index=True)
    bottom = inputs.frames[BOTTOM_LEVEL]
    groups = tasks.split_groups(bottom, 300)
    assert len(groups) == 3 and [s for g in groups for s in g] == sorted(bottom["series_id"].unique())
    metrics = pd.concat(fitted.metric_parts, ignore_index=True)
    assert set(metrics.loc[metrics["model"] == "lgbm", "series_id"]) >= set(bottom["series_id"])
    for name, ids in zip(tasks.group_names(BOTTOM_LEVEL, 3), groups):
        assert sorted(fitted.saved[f"lgbm__{name}"].scale_.index) == ids
        rows = lambda f: f[f["series_id"].isin(ids)].reset_index(drop=True)  # noqa: E731
        direct = run_global(GlobalTask(name="lgbm", group=name, frame=rows(bottom),
                                       future=rows(inputs.futures[BOTTOM_LEVEL]), freq="D", h=7, folds=1,
                                       params=plan.model_params["lgbm"], part=0))
        got = fc[(fc["model"] == "lgbm") & fc["series_id"].isin(ids)].sort_values(["series_id", "ds"])
        want = direct.forecasts.sort_values(["series_id", "ds"])
        np.testing.assert_allclose(got["yhat"].to_numpy(), want["yhat"].to_numpy(), rtol=1e-12)
    rid = "groups-run"  # the saved artifacts: a node's group is found, and its explanation uses that group's model
    artifacts.save_run(rid, params.to_dict(), pd.DataFrame({"series_id": [], "model": []}), models=fitted.saved)
    assert artifacts.group_names(rid, BOTTOM_LEVEL) == tasks.group_names(BOTTOM_LEVEL, 3)
    for name, ids in zip(tasks.group_names(BOTTOM_LEVEL, 3), groups):
        assert artifacts.node_group(rid, ids[-1], BOTTOM_LEVEL) == name
        assert explain_job.explain(ids[-1], run_id=rid)["group"] == name


def test_compact_residuals_give_the_chosen_models_rows_and_combination_averages(tmp_path, monkeypatch):
    """The selected models' residuals built from the compact candidates' residuals equal a direct computation on
    the plain concatenation: each series' chosen model's rows, in the same order, and for a combination the mean
    of its members' residuals on the dates every member has (a ragged member drops its missing date); the
    combination's diagnostics and the stored residual lists (JSON text) match too."""
    import json

    from jobs import selecting
    from models import combination
    from models.diagnostics import residual_diagnostics
    rng = np.random.default_rng(0)
    parts = [pd.DataFrame({"series_id": sid, "ds": pd.date_range("2024-01-01", periods=6), "model": m,
                           "resid": rng.normal(size=6)})
             for sid in ("a", "b", "c", "d") for m in ("naive", "ses", "lgbm", "croston")]
    parts[1] = parts[1].iloc[1:]  # ("a", "ses") lacks the first date
    sel = pd.DataFrame({"series_id": ["a", "b", "c", "d"], "model": ["lgbm+ses", "naive", "croston", "lgbm+ses"]})
    compact = [selecting.compact_residuals(p) for p in parts]  # as the refresh holds each task's residuals
    got_parts, diags = selecting.chosen_residuals(compact, sel)
    assert all(isinstance(p[c].dtype, pd.CategoricalDtype) for p in got_parts for c in ("series_id", "model"))

    def as_text(parts):
        return pd.concat([p.astype({"series_id": str, "model": str}) for p in parts], ignore_index=True)
    got = as_text(got_parts)
    with Spill(tmp_path) as spill:  # the same, read from disk one part at a time
        on_disk, disk_diags = selecting.chosen_residuals([spill.put(p) for p in compact], sel)
    pd.testing.assert_frame_equal(as_text(on_disk), got)
    assert disk_diags == diags
    whole, whole_diags = selecting.chosen_residuals([selecting.union_compact(compact)], sel)  # the whole at once
    pd.testing.assert_frame_equal(as_text(whole), got)
    assert whole_diags == diags
    monkeypatch.setattr(combination, "BLOCK_SERIES", 1)  # a combination's series a block each: the same rows
    blocked, blocked_diags = selecting.chosen_residuals(compact, sel)
    pd.testing.assert_frame_equal(as_text(blocked), got)
    assert blocked_diags == diags
    plain = pd.concat(parts, ignore_index=True)
    single = plain[[(s, m) in {("b", "naive"), ("c", "croston")} for s, m in zip(plain["series_id"], plain["model"])]]
    combo = plain[plain["series_id"].isin(["a", "d"]) & plain["model"].isin(["lgbm", "ses"])]
    both = combo.groupby(["series_id", "ds"])["model"].transform("nunique") == 2
    avg = combo[both].groupby(["series_id", "ds"], as_index=False)["resid"].mean().assign(model="lgbm+ses")
    want = pd.concat([single, avg[["series_id", "ds", "model", "resid"]]], ignore_index=True)
    pd.testing.assert_frame_equal(got, want)
    assert len(avg[avg["series_id"] == "a"]) == 5 and len(avg[avg["series_id"] == "d"]) == 6
    assert [d["series_id"] for d in diags] == ["a", "d"]
    for d in diags:
        expect = residual_diagnostics(avg.loc[avg["series_id"] == d["series_id"], "resid"].to_numpy())
        assert d["model"] == "lgbm+ses" and d["bias"] == expect["bias"] and d["acf"] == expect["acf"]
    rows = [{"series_id": s, "model": m, "bias": 0.0} for s in "abcd" for m in ("naive", "croston", "lgbm+ses")]
    diag = selecting.diagnostics_frame(rows, got_parts, sel)
    pd.testing.assert_frame_equal(diag, selecting.diagnostics_frame(rows, [got], sel))  # compact parts or text
    for _, r in diag.iterrows():
        want_r = want[(want["series_id"] == r["series_id"]) & (want["model"] == r["model"])]["resid"]
        assert r["residuals"] == json.dumps([round(float(v), 4) for v in want_r])
    assert sorted(zip(diag["series_id"], diag["model"])) == sorted(zip(sel["series_id"], sel["model"]))


@pytest.mark.parametrize("metric", ["wape", "rmse", "coverage_80", "pinball"])
def test_combination_choice_on_the_scored_columns_equals_the_whole_frame(metric):
    """The level's combination is chosen on the backtest columns its metric reads (keys, actuals, points; the
    bounds only for coverage and pinball): the same choice and every candidate set's score as on all columns."""
    from jobs import selecting
    from models import combination
    rng = np.random.default_rng(3)
    rows = []
    for sid in ("a", "b", "c"):
        for fold in (0, 1):
            ds = pd.date_range("2024-03-01", periods=4) + pd.Timedelta(days=7 * fold)
            y = rng.gamma(2.0, 5.0, size=4)
            for model, bias in (("naive", 2.0), ("ses", -1.0), ("lgbm", 0.5)):
                yhat = y + bias + rng.normal(size=4)
                rows.append(pd.DataFrame({"series_id": sid, "ds": ds, "fold": fold, "model": model, "y": y,
                                          "yhat": yhat, "yhat_lo_80": yhat - 3, "yhat_hi_80": yhat + 3,
                                          "yhat_lo_95": yhat - 5, "yhat_hi_95": yhat + 5}))
    bt = pd.concat(rows, ignore_index=True)
    cols = selecting._scored_columns(bt, metric)
    assert ("yhat_lo_80" in cols) == (metric in ("coverage_80", "pinball"))
    whole = combination.choose(bt, ["naive", "ses", "lgbm"], "naive", metric)
    scored = combination.choose(bt[cols], ["naive", "ses", "lgbm"], "naive", metric)
    assert whole[0] == scored[0]
    pd.testing.assert_frame_equal(whole[1], scored[1])
    assert np.isfinite(whole[1]["score"].astype(float)).all()
