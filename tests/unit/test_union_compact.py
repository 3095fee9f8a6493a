"""The refresh's driver joins every task's backtest forecasts (written to disk as they arrive) into one compact
frame, and finds the chosen forecasts on masks: both must equal the plain pandas operations they replace."""
from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from jobs import selecting
from jobs.spill import Spill


def _parts(seed=0, n_parts=6):
    """Backtest-like parts of random lengths (one empty), series and models overlapping between parts."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_parts):
        n = 0 if i == 2 else int(rng.integers(5, 60))
        parts.append(pd.DataFrame({
            "series_id": rng.choice([f"s{k:03d}" for k in range(40)], n).astype(object),
            "ds": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D"),
            "fold": rng.integers(0, 3, n), "model": rng.choice(["lgbm", "seasonal_ses", "tsb"], n).astype(object),
            "y": rng.normal(size=n), "yhat": rng.normal(size=n)}))
    return parts


def _expected(parts):
    """What a concatenation gives: the categories united in order of appearance (union_categoricals)."""
    compact = [selecting.compact_residuals(p) for p in parts if len(p)]
    return pd.DataFrame({c: union_categoricals([p[c] for p in compact]) if c in ("series_id", "model")
                         else pd.concat([p[c] for p in compact], ignore_index=True) for c in compact[0].columns})


def test_union_of_frames_and_of_files_equals_the_concatenation(tmp_path):
    parts = _parts()
    expected = _expected(parts)
    got = selecting.union_compact(parts)
    pd.testing.assert_frame_equal(got, expected)
    assert list(got["series_id"].cat.categories) == list(expected["series_id"].cat.categories)
    with Spill(tmp_path) as spill:
        on_disk = selecting.union_compact([spill.put(selecting.compact_residuals(p)) for p in parts])
    pd.testing.assert_frame_equal(on_disk, expected)
    assert on_disk["series_id"].cat.codes.dtype == np.int8  # 40 series: the codes pandas itself would use


def test_union_of_nothing_and_of_differing_columns():
    assert selecting.union_compact([]) is None
    assert selecting.union_compact([pd.DataFrame(columns=["series_id", "model", "y"])]) is None
    a, b = _parts(1, 2)
    b = b.drop(columns="yhat")  # pandas aligns the columns: a's missing values are NaN in b's rows
    got = selecting.union_compact([a, b])
    expected = selecting.compact_residuals(pd.concat([a, b], ignore_index=True))
    pd.testing.assert_frame_equal(got, expected)


def test_rows_of_the_chosen_pairs_are_the_inner_merge_in_the_candidates_order():
    rng = np.random.default_rng(3)
    ids = [f"s{k}" for k in range(30)]
    cands = pd.DataFrame([(s, m, d) for m in ("lgbm", "seasonal_ses", "lgbm+seasonal_ses") for s in ids
                          for d in range(3)], columns=["series_id", "model", "ds"]).sample(frac=1, random_state=1)
    cands = cands.assign(yhat=rng.normal(size=len(cands))).iloc[5:]  # some pairs lack a date
    sel = pd.DataFrame({"series_id": ids, "model": rng.choice(["lgbm", "seasonal_ses", "lgbm+seasonal_ses", "tsb"],
                                                               len(ids))})
    merged = cands.merge(sel, on=["series_id", "model"], how="inner")
    got = cands[selecting.rows_of(cands, sel)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, merged)
    on_codes = selecting.rows_of(selecting.compact_residuals(cands), sel)  # categorical keys: matched on the codes
    np.testing.assert_array_equal(on_codes, selecting.rows_of(cands, sel))
    assert set(got["model"]) <= set(sel["model"]) and len(got) > 0
