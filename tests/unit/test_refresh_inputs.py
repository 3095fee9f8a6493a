"""Refresh inputs: regular history frames and the hierarchy columns the models read instead of the keys."""
import numpy as np
import pandas as pd

from jobs.refresh_inputs import regularize, with_hierarchy


def test_regularize_makes_series_regular_up_to_the_shared_end():
    df = pd.DataFrame({"series_id": "a", "ds": pd.to_datetime(["2022-01-03", "2022-01-05"]), "y": [1.0, 3.0],
                       "promo": [1.0, 0.0]})
    out = regularize(df, "D", pd.Timestamp("2022-01-06"))
    assert out["ds"].dt.day.tolist() == [3, 4, 5, 6]
    assert out["y"].tolist() == [1.0, 0.0, 3.0, 0.0]
    assert out["promo"].tolist() == [1.0, 1.0, 0.0, 0.0]  # exogenous gaps filled forward


def test_with_hierarchy_names_the_members_of_each_key():
    df = pd.DataFrame({"series_id": ["store=1/product=7", "product=7", "total", "store=2/category=x", "region=N"]})
    out = with_hierarchy(df)
    assert list(out.columns) == ["series_id", "category", "product_id", "region", "store_id"]
    assert out["product_id"].tolist()[:2] == ["7", "7"] and out["product_id"].iloc[2:].isna().all()
    assert out["store_id"].tolist()[::3] == ["1", "2"] and out["store_id"].iloc[[1, 2, 4]].isna().all()
    assert out["category"].iloc[3] == "x" and out["region"].iloc[4] == "N"
    assert out["category"].drop(index=3).isna().all() and out["region"].iloc[:4].isna().all()
    assert np.array_equal(out["series_id"], df["series_id"])


def test_hierarchy_of_gives_each_series_what_with_hierarchy_gives_its_rows():
    from jobs.refresh_inputs import hierarchy_of
    df = pd.DataFrame({"series_id": ["store=1/product=7", "store=1/product=7", "product=7", "total", "region=N",
                                     "store=2/category=x", "product=7"]})
    want = with_hierarchy(df).drop_duplicates("series_id").reset_index(drop=True)
    got = hierarchy_of(pd.unique(df["series_id"]))
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=True)
