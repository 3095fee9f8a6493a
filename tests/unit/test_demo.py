"""The demo generator: determinism, round-trip, counts, planted effects recoverable from the data, dirt."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from data import demo, demo_spec, store

SMALL = dict(n_stores=2, n_products=4, years=1, progress=False)
Z = 4.0  # tolerance in standard errors estimated from the sample (fixed seed, so the test is deterministic)


def _url(path) -> str:
    return f"sqlite:///{path}"


def _frames(url: str) -> dict:
    return {"sales": store.sales_facts(url=url), "weather": store.weather(url=url),
            "calendar": store.calendar_events(url=url), "truth": store.demo_truth(url=url),
            "stores": store.stores(url=url), "products": store.products(url=url)}


@pytest.fixture(scope="module")
def default(demo_db_master) -> dict:
    """The default demo (seed 42), read once: facts with weather attached and the truth as a lookup."""
    url = _url(demo_db_master)
    fr = _frames(url)
    wx = fr["weather"].rename(columns={"scope_id": "region"})[["region", "date", "temp_c", "precip_mm"]]
    facts = fr["sales"].merge(wx, on=["region", "date"], how="left")
    facts["sid"] = facts["store_id"] + "/" + facts["product_id"]
    truth = fr["truth"].set_index(["kind", "group", "name"])["value"]
    return {"url": url, "facts": facts, "truth": truth, **{k: fr[k] for k in ("calendar", "weather", "stores")}}


def _adjusted(facts: pd.DataFrame, truth: pd.Series) -> pd.DataFrame:
    """Open days with positive sales; ``adj`` = log sales minus the planted weather and promotion effects."""
    f = facts[(facts["is_open"] == 1) & (facts["sales"] > 0)].copy()
    cats = f["category"].unique()
    b_temp = f["category"].map({c: np.log1p(truth[("temperature", c, "per_degC")]) for c in cats})
    b_promo = f["category"].map({c: np.log1p(truth[("promo_lift", c, "promotion")]) for c in cats})
    ref_t = truth[("temperature_reference", "all", "degC")]
    ref_d = truth[("promo_intensity", "all", "reference_depth")]
    f["adj"] = (np.log(f["sales"]) - b_temp * (f["temp_c"] - ref_t)
                - np.log1p(truth[("precipitation", "all", "per_mm")]) * f["precip_mm"]
                - b_promo * f["promo_intensity"] / ref_d)
    return f


# ----------------------------------------------------------------------------- determinism and storage

def test_same_seed_same_data_different_seed_different(tmp_path):
    a, b, c = (_url(tmp_path / f"{n}.db") for n in "abc")
    demo.generate(seed=5, url=a, **SMALL)
    demo.generate(seed=5, url=b, **SMALL)
    demo.generate(seed=6, url=c, **SMALL)
    fa, fb, fc = _frames(a), _frames(b), _frames(c)
    for name in fa:
        assert_frame_equal(fa[name], fb[name])
    assert store.datasets(url=a)["content_hash"][0] == store.datasets(url=b)["content_hash"][0]
    assert not np.allclose(fa["sales"]["sales"].to_numpy()[:100], fc["sales"]["sales"].to_numpy()[:100])
    assert store.datasets(url=a)["content_hash"][0] != store.datasets(url=c)["content_hash"][0]


def test_written_frames_round_trip(tmp_db):
    demo.generate(seed=5, url=tmp_db, **SMALL)
    dates = pd.date_range("2021-01-01", "2021-12-31")
    sim = demo._simulate(5, 2, 4, dates, progress=False)
    cols = ["store_id", "product_id", "date", "sales", "units", "promo", "promo_intensity", "price", "is_open"]
    got = store.sales_facts(url=tmp_db)[cols].sort_values(cols[:3]).reset_index(drop=True)
    want = sim["sales"][cols].sort_values(cols[:3]).reset_index(drop=True)
    want["date"] = want["date"].astype(got["date"].dtype)
    assert_frame_equal(got, want, check_dtype=False)
    wx = store.weather(url=tmp_db)
    assert set(wx["scope"]) == {"region"} and set(wx["scope_id"]) == {"North", "South"}
    assert len(store.demo_truth(url=tmp_db)) == len(sim["truth"])


def test_regenerating_replaces_the_previous_demo(tmp_db):
    demo.generate(seed=5, url=tmp_db, **SMALL)
    summary = demo.generate(seed=6, n_stores=3, n_products=2, years=1, url=tmp_db, progress=False)
    c = store.counts(url=tmp_db)
    assert (c["stores"], c["products"], c["series"], c["rows"]) == (3, 2, 6, summary["rows"])
    assert set(store.nodes("store", url=tmp_db)["store_id"]) == {"01", "02", "03"}
    log = store.datasets(url=tmp_db)
    assert len(log) == 2 and log["source"][0] == "synthetic seed=6"


def test_bad_arguments_are_rejected(tmp_db):
    with pytest.raises(ValueError, match="n_stores"):
        demo.generate(n_stores=0, url=tmp_db, progress=False)
    with pytest.raises(ValueError, match="years"):
        demo.generate(years=1.5, url=tmp_db, progress=False)


# ----------------------------------------------------------------------------- counts and metadata

def test_default_counts_dimensions_and_dataset_row(default):
    url, truth = default["url"], default["truth"]
    c = store.counts(url=url)
    n_days = len(pd.date_range("2021-01-01", "2023-12-31"))
    assert (c["stores"], c["products"], c["series"]) == (10, 20, 200)
    assert (c["start"], c["end"]) == ("2021-01-01", "2023-12-31")
    assert c["rows"] == 200 * n_days - truth[("dirt", "all", "missing_rows")]
    st = default["stores"]
    assert list(st["name"][:2]) == ["Store 01", "Store 02"]
    assert set(st["region"]) == {"North", "South", "West"} and set(st["type"]) <= {"A", "B", "C"}
    assert set(default["facts"]["category"]) == {"Beverages", "Grocery", "Apparel", "Garden"}
    ds = store.datasets(url=url).iloc[0]
    assert (ds["name"], ds["source"], ds["frequency"]) == ("demo", "synthetic seed=42", "D")
    assert ds["rows_written"] == c["rows"] and ds["n_series"] == 200 and len(ds["content_hash"]) == 64
    assert ds["duplicates"] == truth[("dirt", "all", "duplicates_dropped")] > 0
    assert store.frequency(url=url) == "D"
    assert len(store.nodes("store_product", url=url)) == 200


def test_format_summary_is_readable(tmp_db):
    summary = demo.generate(seed=5, url=tmp_db, **SMALL)
    text = demo.format_summary(summary)
    assert f"{summary['rows']:,} daily sales rows" in text and "North" in text and "Beverages" in text


# ----------------------------------------------------------------------------- planted effects

def test_truth_table_is_complete(default):
    truth, cal = default["truth"], default["calendar"]
    cats = sorted(default["facts"]["category"].unique())
    lifts = [truth[("promo_lift", c, "promotion")] for c in cats]
    assert all(0.15 <= v <= 0.40 for v in lifts)
    slopes = [truth[("temperature", c, "per_degC")] for c in cats]
    assert min(slopes) < 0 < max(slopes)
    assert truth[("precipitation", "all", "per_mm")] < 0
    for name in cal["name"].unique():
        assert ("holiday", "all", name) in truth.index
    for name in demo_spec.CLOSED_HOLIDAYS:
        assert truth[("holiday", "all", name)] == -1.0
        assert set(cal.loc[cal["name"] == name, "kind"]) == {"closure"}
    assert truth[("holiday_ramp", "all", "Christmas Day")] > 0
    assert truth[("seasonal_period", "all", "weekly")] == 7
    assert truth[("seasonal_period", "all", "yearly")] == 365.25
    assert truth[("trend", "all", "annual_growth")] > 0
    units = store.demo_truth(url=default["url"]).set_index("kind")["unit"]
    assert set(units[["promo_lift"]]) == {"relative"} and set(units[["temperature"]]) == {"relative_per_degC"}


def test_promotion_lift_per_category(default):
    """Within a series, promo-day minus other-day mean log sales estimates log(1 + lift) (promos are random)."""
    f = default["facts"]
    f = f[(f["is_open"] == 1) & (f["sales"] > 0)].assign(ly=lambda d: np.log(d["sales"]))
    for cat, g in f.groupby("category"):
        means = g.groupby(["sid", "promo"])["ly"].mean().unstack()
        diff = means[1] - means[0]
        est, se = diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))
        want = np.log1p(default["truth"][("promo_lift", cat, "promotion")])
        assert abs(est - want) < Z * se, (cat, np.expm1(est), np.expm1(want), se)
        assert 0.10 < g["promo"].mean() < 0.20


def test_temperature_and_rain_slopes_with_series_and_date_effects(default):
    """Series and date fixed effects absorb level, trend, seasonality and holidays; the slopes on regional
    temperature and rain (with promo depth as control) are compared with the truth using series-clustered SEs."""
    f = default["facts"]
    f = f[(f["is_open"] == 1) & (f["sales"] > 0)].assign(
        ly=lambda d: np.log(d["sales"]), depth=lambda d: d["promo_intensity"])
    truth = default["truth"]
    for cat, g in f.groupby("category"):
        w = g[["ly", "temp_c", "precip_mm", "depth"]]
        for _ in range(8):  # alternating projections onto the two fixed effects
            w = w - w.groupby(g["sid"]).transform("mean")
            w = w - w.groupby(g["date"]).transform("mean")
        x, y = w[["temp_c", "precip_mm", "depth"]].to_numpy(), w["ly"].to_numpy()
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        resid = y - x @ beta
        codes = pd.factorize(g["sid"])[0]
        scores = np.zeros((codes.max() + 1, x.shape[1]))
        np.add.at(scores, codes, x * resid[:, None])
        bread = np.linalg.inv(x.T @ x)
        se = np.sqrt(np.diag(bread @ scores.T @ scores @ bread))
        want_t = np.log1p(truth[("temperature", cat, "per_degC")])
        want_r = np.log1p(truth[("precipitation", "all", "per_mm")])
        assert abs(beta[0] - want_t) < Z * se[0], (cat, beta[0], want_t, se[0])
        assert abs(beta[1] - want_r) < Z * se[1], (cat, beta[1], want_r, se[1])


def test_temperature_has_non_seasonal_variation(default):
    """Daily anomalies of several °C around the seasonal cycle make the slope identifiable apart from season."""
    for region, g in default["weather"].groupby("scope_id"):
        day = (g["date"] - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
        ang = 2 * np.pi * day / 365.25
        x = np.column_stack([np.ones(len(g)), np.cos(ang), np.sin(ang)])
        t = g["temp_c"].to_numpy()
        resid = t - x @ np.linalg.lstsq(x, t, rcond=None)[0]
        assert resid.std() > 3.0, region
        assert 0.5 < np.corrcoef(resid[:-1], resid[1:])[0, 1] < 0.95, region
        assert 0.05 < (g["precip_mm"] > 0).mean() < 0.5


def test_weekly_profiles_differ_by_category_as_planted(default):
    f = _adjusted(default["facts"], default["truth"])
    f["dev"] = f["adj"] - f.groupby("sid")["adj"].transform("mean")
    profiles = {}
    for cat, g in f.groupby("category"):
        prof = g.groupby(g["date"].dt.dayofweek)["dev"].mean().to_numpy()
        profiles[cat] = prof - prof.mean()
        assert np.corrcoef(profiles[cat], demo_spec.weekly_log(cat))[0, 1] > 0.95, cat
    assert not np.allclose(profiles["Apparel"], profiles["Grocery"], atol=0.03)


def test_holidays_closures_and_ramp(default):
    f, cal, truth = default["facts"], default["calendar"], default["truth"]
    closed_dates = set(cal.loc[cal["kind"] == "closure", "date"])
    on_closed = f[f["date"].isin(closed_dates)]
    assert len(on_closed) == 200 * len(closed_dates)
    assert (on_closed["is_open"] == 0).all() and (on_closed["sales"] == 0).all()
    assert (f.loc[~f["date"].isin(closed_dates), "is_open"] == 1).all()

    adj = _adjusted(f, truth)
    special = set(cal["date"])
    for name, (days, _) in demo_spec.HOLIDAY_RAMPS.items():
        for day in cal.loc[cal["name"] == name, "date"]:
            special |= {day - pd.Timedelta(days=k) for k in range(1, days + 1)}

    def effect(days_list):
        """Same-weekday comparison with the 3 weeks either side, per series; mean and SE over series."""
        diffs = []
        for day in days_list:
            ref = [day + pd.Timedelta(weeks=k) for k in (-3, -2, -1, 1, 2, 3)]
            ref = [r for r in ref if r not in special]
            on = adj[adj["date"] == day].set_index("sid")["adj"]
            diffs.append((on - adj[adj["date"].isin(ref)].groupby("sid")["adj"].mean()).dropna())
        d = pd.concat(diffs)
        return d.mean(), d.std(ddof=1) / np.sqrt(len(d))

    for name in ("New Year's Day", "Independence Day", "Memorial Day", "Labor Day"):
        est, se = effect(cal.loc[cal["name"] == name, "date"])
        want = np.log1p(truth[("holiday", "all", name)])
        assert np.sign(est) == np.sign(want) and abs(est - want) < Z * se, (name, est, want, se)
    # Day before Christmas in years when it is not also "Christmas Day (observed)".
    eves = [d - pd.Timedelta(days=1) for d in cal.loc[cal["name"] == "Christmas Day", "date"]]
    eves = [d for d in eves if d not in set(cal["date"])]
    est, se = effect(eves)
    want = np.log1p(truth[("holiday_ramp", "all", "Christmas Day")])
    assert abs(est - want) < Z * se, (est, want, se)


def test_trend_year_over_year(default):
    f = _adjusted(default["facts"], default["truth"])
    yearly = f.groupby(["sid", f["date"].dt.year])["adj"].mean().unstack()
    growth = (yearly[2023] - yearly[2021]) / 2
    want = np.log1p(default["truth"][("trend", "all", "annual_growth")])
    assert abs(growth.mean() - want) < Z * growth.std(ddof=1) / np.sqrt(len(growth))


# ----------------------------------------------------------------------------- dirt

def test_dirt_is_present_and_documented(default):
    f, truth = default["facts"], default["truth"]
    details = json.loads(store.datasets(url=default["url"])["details"][0])
    assert (f["sales"] < 0).sum() == truth[("dirt", "all", "negative_values")] == len(details["negative_values"]) > 0
    open_pos = f[(f["is_open"] == 1) & (f["sales"] > 0)]
    median = open_pos.groupby("sid")["sales"].median()
    keyed = f.set_index(["store_id", "product_id", "date"])["sales"]
    spikes = [keyed[(s, p, pd.Timestamp(d))] / median[f"{s}/{p}"] for s, p, d in details["outliers"]]
    assert len(spikes) == truth[("dirt", "all", "outliers")] > 0 and np.median(spikes) > 3
    assert details["gaps"] and truth[("dirt", "all", "missing_in_gaps")] > 0
    gap = details["gaps"][0]
    series = f[(f["store_id"] == gap["store_id"]) & (f["product_id"] == gap["product_id"])]
    missing = pd.date_range(gap["start"], periods=gap["days"])
    assert not series["date"].isin(missing).any()
    per_series = f.groupby("sid").size()
    assert per_series.min() < per_series.max() == 1095
