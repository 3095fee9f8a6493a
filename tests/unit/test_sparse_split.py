"""sparse.split: the regular and intermittent candidates' rows, as views where they are blocks of the map's frames."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs import sparse
from jobs.params import RefreshParams


def _frames(models):
    n = len(models)
    cands = pd.DataFrame({"series_id": [f"s{k % 3}" for k in range(n)], "model": models,
                          "ds": pd.date_range("2024-01-01", periods=n), "yhat": np.arange(n, dtype=float)})
    metrics = cands[["series_id", "model"]].assign(wape=np.linspace(0, 1, n), fold=1)
    backtests = cands.assign(fold=1, y=1.0)
    return metrics, cands, backtests


@pytest.mark.parametrize("models, view", [
    (["croston_sba"] * 4 + ["lgbm", "seasonal_ses"] * 3, True),   # the intermittent tasks first: a block at the start
    (["lgbm", "seasonal_ses"] * 3 + ["tsb"] * 2, True),           # a block at the end
    (["lgbm", "croston_sba", "seasonal_ses", "tsb", "lgbm"], False),  # interleaved: a copy
    (["lgbm", "seasonal_ses"] * 3, True),                         # none
])
def test_split_equals_the_masks_and_takes_blocks_as_views(models, view):
    params = RefreshParams.from_cli("D", models="seasonal_ses,lgbm")
    metrics, cands, backtests = _frames(models)
    (m, c, bt), (xm, xc) = sparse.split(metrics, cands, backtests, params)
    extra = cands["model"].isin(["croston_sba", "tsb"])
    pd.testing.assert_frame_equal(c, cands[~extra])  # same rows, index labels and order as the boolean masks
    pd.testing.assert_frame_equal(xc, cands[extra])
    pd.testing.assert_frame_equal(bt, backtests[~extra.to_numpy()])
    pd.testing.assert_frame_equal(m, metrics[~extra.to_numpy()])
    pd.testing.assert_frame_equal(xm, metrics[extra.to_numpy()])
    assert np.shares_memory(c["yhat"].to_numpy(), cands["yhat"].to_numpy()) == view
    assert np.shares_memory(bt["yhat"].to_numpy(), backtests["yhat"].to_numpy()) == view
