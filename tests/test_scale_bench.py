"""bench/scale.py: the synthetic data set's shape and content, and one tiny end-to-end run printing the JSON fields."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {"rows", "series", "import_s", "import_rows_per_s", "refresh_s", "refresh_peak_rss_mb", "effects_s",
          "dashboard_p95_ms", "engine", "refresh_peak_pss_mb", "refresh_peak_driver_rss_mb"}


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shape_reaches_ten_million_rows_with_a_year_of_150_products():
    bench = _bench()
    stores, products, days = bench.shape(10_000_000)
    assert (products, days) == (150, 365) and abs(stores * products * days - 10_000_000) < products * days
    assert bench.shape(600) == (2, 3, 100)
    assert bench.shape(200_000, stores=2) == (2, 150, 365)


def test_generated_csv_has_the_demo_structure(tmp_path):
    bench = _bench()
    path = tmp_path / "s.csv"
    assert bench.generate(path, stores=2, products=4, days=120) == 960
    df = pd.read_csv(path, dtype={"Store": str})
    assert len(df) == 960 and not df.duplicated(["Date", "Store", "Product"]).any()
    assert set(df["Store"]) == {"01", "02"} and df.groupby("Product")["Category"].nunique().eq(1).all()
    assert (df["Sales"] > 0).all() and df["Promo"].isin([0, 1]).all()
    assert ((df["Promo"] == 1) == (df["Depth"] > 0)).all() and 0.05 < df["Promo"].mean() < 0.35
    promo = df[df["Promo"] == 1]
    assert (promo["Price"] < df.groupby("Product")["Price"].transform("max")[promo.index]).all()
    assert df.loc[df["Date"] == "2024-01-01", "Holiday"].eq("New Year's Day").all()
    # the weekly shape: Saturdays sell more than Tuesdays for every category
    days = pd.to_datetime(df["Date"]).dt.day_of_week
    assert df[days == 5]["Sales"].mean() > df[days == 1]["Sales"].mean()


@pytest.mark.slow  # four CLI processes on a tiny data set: about 20 s, more on a busy machine
def test_tiny_run_prints_every_field(tmp_path, capsys):
    bench = _bench()
    code = bench.main(["--rows", "600", "--models", "seasonal_naive", "--jobs", "1", "--requests", "1",
                       "--pages", "/runs", "--dir", str(tmp_path), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == FIELDS
    assert result["rows"] == 600 and result["series"] == 6 and result["engine"] == "local"
    # import_s is printed rounded to 0.01 s, the rate from the unrounded time: equal within that rounding
    s = result["import_s"]
    assert 600 / (s + 0.005) - 1 <= result["import_rows_per_s"] <= 600 / (s - 0.005) + 1
    for key in ("import_s", "refresh_s", "refresh_peak_rss_mb", "effects_s", "dashboard_p95_ms"):
        assert result[key] > 0, key
    # the refresh's peak covers the pool's workers too: above one bare interpreter with pandas
    assert result["refresh_peak_rss_mb"] > 100
    # PSS counts the pages the tree's processes share once: at most their RSS sum (5% for the few ms between the
    # two reads of a sample, while a process grows), and the driver is part of the RSS sum
    assert 0 < result["refresh_peak_pss_mb"] <= 1.05 * result["refresh_peak_rss_mb"]
    assert 50 < result["refresh_peak_driver_rss_mb"] <= result["refresh_peak_rss_mb"]
    # a later run in the same --dir can replay one step on the database the first run left there
    code = bench.main(["--rows", "600", "--steps", "dashboard", "--requests", "1", "--pages", "/runs",
                       "--dir", str(tmp_path), "--json"])
    again = json.loads(capsys.readouterr().out)
    assert code == 0 and again["dashboard_p95_ms"] > 0
    assert again["import_s"] is None and again["refresh_s"] is None and again["effects_s"] is None


def test_steps_are_checked_and_need_an_imported_database(tmp_path, capsys):
    bench = _bench()
    assert bench.main(["--rows", "600", "--steps", "import,fit", "--dir", str(tmp_path)]) == 2
    assert "--steps takes" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="run the import step first"):
        bench.main(["--rows", "600", "--steps", "refresh", "--dir", str(tmp_path)])
