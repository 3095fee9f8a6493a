"""The Walmart import end to end: published counts, the field mapping, idempotent re-import, quality report."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from analytics import quality
from data import ingest, store

pytestmark = [pytest.mark.walmart, pytest.mark.slow]


def test_counts_match_the_published_data_set(walmart_db):
    url, s = walmart_db
    assert (s["rows_read"], s["rows_written"], s["rows_new"], s["duplicates"]) == (421_570, 421_570, 421_570, 0)
    assert (s["stores"], s["products"], s["series"], s["dates"], s["frequency"]) == (45, 81, 3_331, 143, "W")
    assert (s["start"], s["end"]) == ("2010-02-05", "2012-10-26")
    c = store.counts(url=url)
    assert (c["rows"], c["stores"], c["products"], c["series"]) == (421_570, 45, 81, 3_331)
    assert store.frequency(url=url) == "W"


def test_field_mapping(walmart_db):
    url, _ = walmart_db
    st = store.stores(url=url).set_index("store_id")
    assert st.loc["1", ["name", "region", "type", "size"]].tolist() == ["Store 1", "Type A", "A", 151315.0]
    assert st["type"].value_counts().to_dict() == {"A": 22, "B": 17, "C": 6}
    pr = store.products(url=url).set_index("product_id")
    assert pr.loc["1", "name"] == "Dept 1" and set(pr["category"]) == {"Departments"}
    ev = store.calendar_events(url=url)
    assert set(ev["scope"]) == {"all"} and set(ev["name"]) == {"Super Bowl", "Labor Day", "Thanksgiving", "Christmas"}
    assert ev.loc[ev["date"] == "2010-11-26", "name"].item() == "Thanksgiving"
    wx = store.weather(url=url)
    first = wx[(wx["scope_id"] == "1") & (wx["date"] == "2010-02-05")]["temp_c"].item()
    assert first == pytest.approx((42.31 - 32) * 5 / 9)
    assert wx["date"].max().strftime("%Y-%m-%d") == "2013-07-26"  # future weeks kept for forecasting
    cov = store.covariates(url=url)
    assert set(cov["name"]) == {"fuel_price", "cpi", "unemployment", "markdown_total"}
    facts = store.sales_facts(url=url)
    assert facts["sales"].mean() == pytest.approx(15_981.26, abs=0.01)
    assert (facts["sales"] < 0).sum() == 1_285
    assert facts.loc[facts["date"] < "2011-11-11", "promo"].sum() == 0  # no markdowns before Nov 2011
    assert facts.loc[facts["date"] >= "2011-11-11", "promo"].mean() > 0.5


def test_reimport_changes_nothing(walmart_db, walmart_dir):
    url, _ = walmart_db
    store.get_engine(url).dispose()
    path = Path(url.removeprefix("sqlite:///"))
    before = hashlib.sha256(path.read_bytes()).hexdigest(), store.data_hash(url=url)
    again = ingest.ingest_walmart(walmart_dir, url=url)
    assert again["already_imported"] and again["rows_written"] == 0 and again["rows_read"] == 421_570
    store.get_engine(url).dispose()
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), store.data_hash(url=url)) == before


def test_quality_report_on_walmart(walmart_db):
    url, _ = walmart_db
    r = quality.quality_report(store.sales_facts(url=url), store.datasets(url=url), store.frequency(url=url),
                             node_keys=store.node_keys)
    assert (r["rows"], r["series"], r["frequency"]) == (421_570, 3_331, "W")
    assert r["negative_sales"]["count"] == 1_285
    assert r["coverage"]["grid_dates"] == 143 and r["closed_days"]["count"] == 0
