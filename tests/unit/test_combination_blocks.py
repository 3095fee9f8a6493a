"""The level's combination scored, averaged and measured block by block of series gives the whole-level results.

The oracle below is the whole-frame ``choose`` as it was before the blocks (one average of every candidate set
over all the level's rows); the blocked path must give the same scores (to float summation order), the same
choice and the same ``n``, for every pooled metric, with missing (series, fold) pairs, zero actuals and ties.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import combination
from models.backtest import fold_metrics
from models.metrics import METRIC_KEYS

MODELS = ["lgbm", "seasonal_ses", "seasonal_svd", "seasonal_naive"]
FALLBACK = "seasonal_naive"


def _whole_choose(bt, models, fallback, metric):
    """The whole-frame choice (the code before blocks), the oracle."""
    present = [m for m in models if m in set(bt["model"])]
    per_model = bt.groupby(["series_id", "fold"])["model"].nunique()
    common = per_model[per_model == len(present)].index
    keyed = bt.set_index(["series_id", "fold"])
    shared = keyed.loc[keyed.index.isin(common)].reset_index()
    rows = []
    for members in combination.candidate_sets(present, fallback if fallback in present else None):
        comb = combination.average(shared, members, keys=("series_id", "fold", "ds"))
        rows.append({"model": combination.name_of(members), "members": members,
                     "score": combination.pooled_score(comb, metric), "n": len(comb)})
    scores = pd.DataFrame(rows)
    ok = scores[np.isfinite(scores["score"].astype(float))]
    if ok.empty:
        return (fallback,) if fallback in present else (present[0],), scores.drop(columns="members")
    ok = ok.assign(size=ok["members"].map(len)).sort_values(["score", "size", "model"], kind="mergesort")
    return tuple(ok.iloc[0]["members"]), scores.drop(columns="members")


def _whole_metrics(bt, members, history, season_length):
    """The whole-frame combination metrics (the code before blocks), the oracle."""
    comb = combination.average(bt, members, keys=("series_id", "fold", "ds"))
    parts = [fold_metrics(g, history[history["ds"] < g["ds"].min()], combination.name_of(members), fold,
                          season_length) for fold, g in comb.groupby("fold", sort=True)]
    return pd.concat(parts, ignore_index=True)[["series_id", "model", "fold", *METRIC_KEYS]]


def _backtests(n_series=23, seed=0, ties=False):
    """Backtests of four models, 3 folds x 5 days: some (series, fold) pairs lack a model, some actuals are 0,
    and (``ties``) seasonal_svd's forecasts copy seasonal_ses' so that sets tie."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-01-01")
    for s in range(n_series):
        sid = f"s{(s * 7) % n_series:03d}"
        level = rng.uniform(0, 30)
        for fold in range(3):
            dates = start + pd.to_timedelta(fold * 5 + 3 + np.arange(5) + (s % 2), unit="D")
            y = np.where(rng.random(5) < 0.3, 0.0, rng.poisson(level, 5).astype(float))
            ses = y + rng.normal(0, 3, 5)
            for model in MODELS:
                if (s + fold) % 5 == 0 and model == "seasonal_svd" or (s % 7 == 3 and model == "lgbm"):
                    continue
                yhat = ses if ties and model == "seasonal_svd" else (
                    ses if model == "seasonal_ses" else y + rng.normal(0.5, 3, 5))
                width = rng.uniform(1, 6, 5)
                rows.append(pd.DataFrame({"series_id": sid, "ds": dates, "fold": fold, "model": model, "y": y,
                                          "yhat": yhat, "yhat_lo_80": yhat - width, "yhat_hi_80": yhat + width,
                                          "yhat_lo_95": yhat - 2 * width, "yhat_hi_95": yhat + 2 * width}))
    return pd.concat(rows, ignore_index=True)


METRICS = [*combination.POINT_METRICS, "coverage_80", "coverage_95", "mase"]


def _assert_same_choice(frame, want_members, want, metric, block):
    members, got = combination.choose(frame, MODELS, FALLBACK, metric, block=block)
    assert members == want_members, (metric, block)
    assert got["model"].tolist() == want["model"].tolist()
    assert got["n"].tolist() == want["n"].tolist()
    np.testing.assert_allclose(got["score"].astype(float), want["score"].astype(float), rtol=1e-12, atol=0)


@pytest.mark.parametrize("ties", [False, True])
def test_blocked_choice_equals_the_whole_frame_choice(ties):
    bt = _backtests(ties=ties)
    compact = bt.astype({"series_id": "category", "model": "category"})
    for metric in METRICS:
        want_members, want = _whole_choose(bt, MODELS, FALLBACK, metric)
        _assert_same_choice(compact, want_members, want, metric, 5)
    want_members, want = _whole_choose(bt, MODELS, FALLBACK, "wape")
    for block, frame in ((1, compact), (4, bt), (10_000, bt)):
        _assert_same_choice(frame, want_members, want, "wape", block)


def test_blocked_choice_reads_only_the_given_series():
    bt = _backtests()
    ids = sorted(bt["series_id"].unique())[:9]
    want_members, want = _whole_choose(bt[bt["series_id"].isin(ids)], MODELS, FALLBACK, "wape")
    members, got = combination.choose(bt.astype({"series_id": "category"}), MODELS, FALLBACK, "wape", ids=ids,
                                      block=2)
    assert members == want_members and got["n"].tolist() == want["n"].tolist()
    np.testing.assert_allclose(got["score"].astype(float), want["score"].astype(float), rtol=1e-12)


def test_pooled_scores_without_interval_columns_match_pooled_score():
    bt = _backtests()[["series_id", "ds", "fold", "model", "y", "yhat"]]
    for metric in ("pinball", "coverage_80", "wape"):
        got = combination.pooled_scores(bt, [("lgbm",), ("lgbm", "seasonal_ses")], metric, block=3)
        want_single = combination.pooled_score(bt[bt["model"] == "lgbm"], metric)
        want_pair = combination.pooled_score(combination.average(bt, ("lgbm", "seasonal_ses"),
                                                                 keys=("series_id", "fold", "ds")), metric)
        np.testing.assert_allclose([got[("lgbm",)], got[("lgbm", "seasonal_ses")]], [want_single, want_pair],
                                   rtol=1e-12)


def _history(bt):
    rng = np.random.default_rng(1)
    ids = sorted(bt["series_id"].unique())
    days = pd.date_range("2023-11-01", "2024-01-25", freq="D")
    return pd.DataFrame({"series_id": np.repeat(ids, len(days)), "ds": np.tile(days, len(ids)),
                         "y": rng.poisson(5, len(ids) * len(days)).astype(float)})


@pytest.mark.parametrize("block", [1, 3, 10_000])
def test_blocked_combination_metrics_and_average_equal_the_whole_level(block):
    bt = _backtests()
    history = _history(bt)
    members = ("lgbm", "seasonal_ses")
    want = _whole_metrics(bt, members, history, 7)
    compact = bt.astype({"series_id": "category", "model": "category"})
    got = combination.combination_metrics(compact, members, history, 7, block=block)
    pd.testing.assert_frame_equal(got, want)
    fc = bt.drop(columns="fold").drop_duplicates(["series_id", "ds", "model"])
    want_fc = combination.average(fc, members, "lgbm+seasonal_ses")
    pd.testing.assert_frame_equal(combination.average_blocks(fc, members, "lgbm+seasonal_ses", block=block), want_fc)


def test_metric_summary_pools_compact_backtests_block_by_block_as_before():
    from jobs.summary import metric_summary
    bt = _backtests()
    bottom = sorted(bt["series_id"].unique())[2:]
    metrics = bt.groupby(["series_id", "model", "fold"], as_index=False)["y"].mean().assign(
        wape=0.5, mase=1.0, rmse=2.0, smape=0.3, coverage_80=0.8, coverage_95=0.9).drop(columns="y")
    choice = "lgbm+seasonal_ses"
    metrics = pd.concat([metrics, metrics[metrics["model"] == "lgbm"].assign(model=choice)], ignore_index=True)
    got = metric_summary(metrics, bt.astype({"series_id": "category", "model": "category"}), bottom, choice)
    part = bt[bt["series_id"].isin(bottom)]
    want = {m: combination.pooled_score(g, "wape") for m, g in part.groupby("model")}
    want[choice] = combination.pooled_score(combination.average(part, choice.split("+"),
                                                                keys=("series_id", "fold", "ds")), "wape")
    assert set(got) == {*MODELS, choice}
    for m in [*MODELS, choice]:
        assert got[m]["wape"] == round(want[m], 4)
