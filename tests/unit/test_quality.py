"""The data-quality report finds dirt planted in hand-made frames (missing days, negatives, a spike, closures)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics import quality
from data.keys import node_keys


def _clean(n_days: int = 56, freq: str = "D", seed: int = 3) -> pd.DataFrame:
    """2 stores x 2 products with a weekday pattern and small noise; every value positive and open."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=n_days, freq=freq)
    rows = []
    for s in ("1", "2"):
        for p in ("a", "b"):
            level = 100.0 if p == "a" else 50.0
            weekday = 1.0 + 0.3 * (dates.dayofweek >= 5) if freq == "D" else 1.0
            y = level * weekday + rng.normal(0, 1.5, n_days)
            rows.append(pd.DataFrame({"store_id": s, "product_id": p, "date": dates, "sales": y,
                                      "is_open": 1, "promo": 0}))
    return pd.concat(rows, ignore_index=True)


def _key(df: pd.DataFrame, s: str, p: str, day: str) -> pd.Series:
    return (df["store_id"] == s) & (df["product_id"] == p) & (df["date"] == pd.Timestamp(day))


@pytest.fixture
def dirty() -> pd.DataFrame:
    df = _clean()
    # 3 missing days inside store 1 / product a (two in one gap), 1 in store 2 / product b.
    for s, p, d in (("1", "a", "2023-01-10"), ("1", "a", "2023-01-11"), ("1", "a", "2023-02-01"),
                    ("2", "b", "2023-01-20")):
        df = df[~_key(df, s, p, d)]
    df.loc[_key(df, "1", "b", "2023-01-18"), "sales"] = -20.0
    df.loc[_key(df, "2", "a", "2023-02-07"), "sales"] = -5.0
    df.loc[_key(df, "2", "a", "2023-01-25"), "sales"] *= 6  # a spike
    closed = _key(df, "1", "a", "2023-01-25") | _key(df, "2", "b", "2023-01-25")
    df.loc[closed, ["sales", "is_open"]] = [0.0, 0]
    return df.reset_index(drop=True)


def test_report_finds_the_planted_dirt(dirty):
    datasets = pd.DataFrame({"name": ["shop"], "duplicates": [5], "rows_rejected": [2], "imported_at": ["x"],
                             "details": [json.dumps({"rejected": {"missing sales value": 2}})]})
    r = quality.quality_report(dirty, datasets, frequency="D", node_keys=node_keys)
    assert (r["rows"], r["series"], r["stores"], r["products"]) == (220, 4, 2, 2)
    assert (r["start"], r["end"], r["frequency"]) == ("2023-01-02", "2023-02-26", "D")
    m = r["missing_dates"]
    assert (m["total"], m["expected"], m["series_with_gaps"]) == (4, 224, 2)
    top = m["top_series"][0]
    assert top["series_id"] == "store=1/product=a" and top["missing"] == 3
    assert top["gaps"] == [{"from": "2023-01-10", "missing": 2}, {"from": "2023-02-01", "missing": 1}]
    assert r["duplicates"] == {"at_import": 5, "in_facts": 0, "by_dataset": [
        {"dataset": "shop", "imported_at": "x", "duplicates": 5, "rows_rejected": 2,
         "rejected_reasons": {"missing sales value": 2}}]}
    neg = r["negative_sales"]
    assert (neg["count"], neg["series"]) == (2, 2)
    assert neg["examples"][0] == {"series_id": "store=1/product=b", "date": "2023-01-18", "sales": -20.0}
    flagged = {(e["series_id"], e["date"]) for e in r["outliers"]["examples"]}
    assert flagged == {("store=2/product=a", "2023-01-25"), ("store=1/product=b", "2023-01-18"),
                       ("store=2/product=a", "2023-02-07")}
    assert r["outliers"]["count"] == 3  # the spike and the two negatives; closed days are not outliers
    assert r["closed_days"]["count"] == 2 and r["closed_days"]["closed_with_sales"] == 0
    stores = {s["store_id"]: s for s in r["coverage"]["stores"]}
    assert stores["1"]["coverage"] == 1.0 and stores["1"]["rows"] == 109
    products = {p["product_id"]: p for p in r["coverage"]["products"]}
    assert products["a"]["coverage"] == pytest.approx(109 / 112, abs=1e-4)
    json.dumps(r)  # JSON-serialisable as it is


def test_clean_data_has_no_findings():
    r = quality.quality_report(_clean(), None, "D", node_keys=node_keys)
    assert r["issues"] == ["no problems found"]
    assert r["outliers"]["count"] == 0 and r["missing_dates"]["total"] == 0 and r["coverage"]["overall"] == 1.0


def test_weekly_gaps_are_counted_in_weeks():
    df = _clean(n_days=20, freq="7D")
    df = df[~_key(df, "2", "b", "2023-01-16") & ~_key(df, "2", "b", "2023-01-23")]
    r = quality.quality_report(df, None, "W", node_keys=node_keys)
    assert r["missing_dates"]["total"] == 2 and r["coverage"]["grid_dates"] == 20
    assert r["missing_dates"]["top_series"][0]["gaps"] == [{"from": "2023-01-16", "missing": 2}]


def test_duplicate_keys_in_a_frame_are_reported():
    df = _clean()
    df = pd.concat([df, df.iloc[[0, 1]]], ignore_index=True)
    assert quality.quality_report(df, None, "D", node_keys=node_keys)["duplicates"]["in_facts"] == 2


def test_promoted_days_get_their_own_baseline():
    df = _clean(n_days=84)
    promo = df["date"].dt.day.isin([3, 4, 5, 17, 18, 19])  # runs of promoted days with a +40% lift
    df.loc[promo, "promo"] = 1
    df.loc[promo, "sales"] *= 1.4
    assert quality.quality_report(df, None, "D", node_keys=node_keys)["outliers"]["count"] == 0
    unaware = quality.quality_report(df.drop(columns="promo"), None, "D", node_keys=node_keys)["outliers"]["count"]
    assert unaware > 0  # without the flag the lift itself looks like outliers


def test_empty_frame_and_bad_frequency():
    empty = pd.DataFrame(columns=["store_id", "product_id", "date", "sales", "is_open"])
    r = quality.quality_report(empty, None, "D", node_keys=node_keys)
    assert r["rows"] == 0 and r["issues"] == ["no sales data"]
    with pytest.raises(ValueError, match="frequency"):
        quality.quality_report(empty, None, "M", node_keys=node_keys)


def test_detect_outliers_rejects_an_even_window():
    with pytest.raises(ValueError, match="odd"):
        quality.detect_outliers(np.zeros(3, int), np.arange(3), np.ones(3), window=4)


def test_format_report_lists_the_sections(dirty):
    text = quality.format_report(quality.quality_report(dirty, None, "D", node_keys=node_keys))
    for part in ("Missing dates: 4 of 224", "Negative sales: 2 rows", "Outliers: 3", "Closed days: 2", "Coverage"):
        assert part in text
