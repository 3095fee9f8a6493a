"""Synthetic demo data with planted, documented effects (see data/demo_spec.py and README "Demo data").

``generate`` simulates daily sales of every store x product on log scale, adds dirt for the quality report,
and writes stores, products, sales, regional weather, holidays, the ground truth and a ``datasets`` row in
ONE transaction, replacing whatever facts the store held, then rebuilds the aggregates.

Promotions are planned: the same transaction replaces the plan with the demo's promotion calendar (promotion,
depth, promotional price per store x product; closures for all stores) over the history and the
``PLAN_DAYS`` after it, the future drawn by the same process from its own random stream (so the history is
the same with or without it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sys
import time

import holidays
import numpy as np
import pandas as pd

from sqlalchemy import delete

from data import demo_spec as spec
from data import demo_shift, plans, schema, store
from domain import ALL, SCOPE_ALL

PLAN_DAYS = 56  # the planned promotion calendar reaches 8 weeks past the last date


def _log(progress: bool, msg: str) -> None:
    if progress:
        print(f"demo: {msg}", file=sys.stderr, flush=True)


def _dims(rng: np.random.Generator, n_stores: int, n_products: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stores (round-robin over regions, sizes and A/B/C types) and products (round-robin over categories)."""
    width = max(2, len(str(n_stores)))
    regions = list(spec.REGIONS)
    sizes = np.round(rng.uniform(60_000, 200_000, n_stores), -3)
    stores = pd.DataFrame({
        "store_id": [str(i + 1).zfill(width) for i in range(n_stores)],
        "name": [f"Store {str(i + 1).zfill(width)}" for i in range(n_stores)],
        "region": [regions[i % len(regions)] for i in range(n_stores)],
        "size": sizes,
        "type": np.where(sizes >= 150_000, "A", np.where(sizes >= 100_000, "B", "C")),
    })
    stores["attrs"] = [json.dumps({"opened": int(y)}) for y in rng.integers(1995, 2020, n_stores)]
    cats = list(spec.CATEGORIES)
    rows = []
    for j in range(n_products):
        cat = cats[j % len(cats)]
        names = spec.CATEGORIES[cat]["names"]
        k = j // len(cats)
        name = names[k % len(names)] + (f" {k // len(names) + 1}" if k >= len(names) else "")
        rows.append({"product_id": f"P{j + 1:03d}", "name": name, "category": cat})
    return stores, pd.DataFrame(rows)


def _weather(rng: np.random.Generator, dates: pd.DatetimeIndex, regions: list[str]) -> pd.DataFrame:
    """Daily regional temperature (seasonal cycle + AR(1) anomaly) and precipitation, rounded to 0.1."""
    n = len(dates)
    day = (dates - pd.Timestamp("1970-01-01")).days.to_numpy().astype(float)
    frames = []
    for region in regions:
        mean, amp, wet_p = spec.REGIONS[region]
        season = mean + amp * np.cos(2 * math.pi * (np.mod(day, spec.YEAR_DAYS) - 200) / spec.YEAR_DAYS)
        phi = spec.TEMP_ANOMALY_AR
        shocks = rng.normal(0, spec.TEMP_ANOMALY_SD * math.sqrt(1 - phi ** 2), n)
        anomaly = np.empty(n)
        anomaly[0] = rng.normal(0, spec.TEMP_ANOMALY_SD)
        for t in range(1, n):
            anomaly[t] = phi * anomaly[t - 1] + shocks[t]
        wet = rng.random(n) < wet_p * (1 + 0.3 * np.cos(2 * math.pi * (np.mod(day, spec.YEAR_DAYS) - 30)
                                                    / spec.YEAR_DAYS))
        rain = np.where(wet, rng.gamma(0.9, spec.RAIN_MEAN_MM / 0.9, n), 0.0)
        frames.append(pd.DataFrame({"scope": "region", "scope_id": region, "date": dates,
                                    "temp_c": np.round(season + anomaly, 1), "precip_mm": np.round(rain, 1)}))
    return pd.concat(frames, ignore_index=True)


def _calendar(dates: pd.DatetimeIndex) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """US holidays in range, the per-date log holiday+ramp effect and the closed-day mask."""
    years = list(range(dates[0].year, dates[-1].year + 2))
    cal = holidays.country_holidays("US", years=years)
    index = {d: i for i, d in enumerate(dates.date)}
    log_eff = np.zeros(len(dates))
    closed = np.zeros(len(dates), dtype=bool)
    rows = []
    for day, joined in sorted(cal.items()):
        for name in joined.split("; "):
            i = index.get(day)
            for ramp_name, (days, peak) in spec.HOLIDAY_RAMPS.items():
                if name == ramp_name:
                    for k in range(1, days + 1):
                        j = index.get(day - dt.timedelta(days=k))
                        if j is not None:
                            log_eff[j] += math.log1p(peak) * (days + 1 - k) / days
            if i is None:
                continue
            effect = spec.holiday_effect(name)
            if name in spec.CLOSED_HOLIDAYS:
                closed[i] = True
            else:
                log_eff[i] += math.log1p(effect)
            rows.append({"date": pd.Timestamp(day), "scope": SCOPE_ALL, "scope_id": ALL, "name": name,
                         "kind": "closure" if name in spec.CLOSED_HOLIDAYS else "holiday"})
    return pd.DataFrame(rows, columns=["date", "scope", "scope_id", "name", "kind"]), log_eff, closed


def _promotions(rng: np.random.Generator, n_series: int, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Per series, promotion runs of 3-7 days covering about 15 % of days, each with one discount depth."""
    depth = np.zeros((n_series, n_days))
    lo, hi = spec.PROMO_RUN
    n_runs = rng.poisson(n_days * spec.PROMO_SHARE / ((lo + hi) / 2), n_series)
    for s in range(n_series):
        starts = rng.integers(0, n_days, n_runs[s])
        lengths = rng.integers(lo, hi + 1, n_runs[s])
        depths = rng.choice(spec.PROMO_DEPTHS, n_runs[s])
        for a, length, d in zip(starts, lengths, depths):
            depth[s, a:a + length] = d
    return depth > 0, depth


def _simulate(seed: int, n_stores: int, n_products: int, dates: pd.DatetimeIndex, progress: bool) -> dict:
    """All frames of the demo (before writing) plus the dirt bookkeeping."""
    root = np.random.SeedSequence(seed)
    # A seventh stream (the plan's future) leaves the first six, and so the history, as they were.
    r_dims, r_wx, r_promo, r_noise, r_dirt, r_level, r_plan = (np.random.default_rng(s) for s in root.spawn(7))
    stores_df, products_df = _dims(r_dims, n_stores, n_products)
    regions = sorted(stores_df["region"].unique(), key=list(spec.REGIONS).index)
    weather = _weather(r_wx, dates, regions)
    calendar, hol_log, closed = _calendar(dates)
    n_days, n_series = len(dates), n_stores * n_products
    _log(progress, f"simulating {n_series} series x {n_days} days ({n_series * n_days:,} rows)")

    s_store = np.repeat(np.arange(n_stores), n_products)
    s_prod = np.tile(np.arange(n_products), n_stores)
    cats = list(spec.CATEGORIES)
    cat_of_product = np.array([cats.index(c) for c in products_df["category"]])
    s_cat = cat_of_product[s_prod]
    region_of_store = np.array([regions.index(r) for r in stores_df["region"]])
    s_region = region_of_store[s_store]

    day = (dates - pd.Timestamp("1970-01-01")).days.to_numpy().astype(float)
    years_in = (day - day[0]) / spec.YEAR_DAYS
    weekly = np.stack([spec.weekly_log(c) for c in cats])[:, dates.dayofweek.to_numpy()]  # (C, D)
    yearly = np.stack([spec.yearly_log(c, day) for c in cats])  # (C, D)
    temp = np.stack([weather.loc[weather["scope_id"] == r, "temp_c"].to_numpy() for r in regions])  # (R, D)
    rain = np.stack([weather.loc[weather["scope_id"] == r, "precip_mm"].to_numpy() for r in regions])
    b_temp = np.array([math.log1p(spec.CATEGORIES[c]["temp"]) for c in cats])
    b_promo = np.array([math.log1p(spec.CATEGORIES[c]["lift"]) for c in cats])

    base = np.array([math.log(spec.CATEGORIES[c]["base"]) for c in cats])[cat_of_product] \
        + r_level.normal(0, 0.35, n_products)
    size_log = spec.SIZE_ELASTICITY * np.log(stores_df["size"].to_numpy() / spec.SIZE_REF)
    level = base[s_prod] + size_log[s_store] + r_level.normal(0, spec.SERIES_LEVEL_SD, n_series)
    lo_p = np.array([spec.CATEGORIES[c]["price"][0] for c in cats])[cat_of_product]
    hi_p = np.array([spec.CATEGORIES[c]["price"][1] for c in cats])[cat_of_product]
    base_price = np.round(r_level.uniform(lo_p, hi_p), 2)

    promo, depth = _promotions(r_promo, n_series, n_days)
    promo &= ~closed[None, :]
    depth[~promo] = 0.0

    log_mu = (level[:, None] + math.log1p(spec.ANNUAL_GROWTH) * years_in[None, :] + weekly[s_cat] + yearly[s_cat]
              + hol_log[None, :] + b_temp[s_cat][:, None] * (temp[s_region] - spec.TEMP_REF_C)
              + math.log1p(spec.RAIN_PER_MM) * rain[s_region]
              + b_promo[s_cat][:, None] * depth / spec.PROMO_REF_DEPTH)
    phi = spec.NOISE_AR
    shocks = r_noise.normal(0, spec.NOISE_SD * math.sqrt(1 - phi ** 2), (n_series, n_days))
    noise = np.empty_like(shocks)
    noise[:, 0] = shocks[:, 0] / math.sqrt(1 - phi ** 2)
    for t in range(1, n_days):
        noise[:, t] = phi * noise[:, t - 1] + shocks[:, t]
    sales = np.exp(log_mu + noise)
    sales[:, closed] = 0.0
    price = base_price[s_prod][:, None] * (1 - depth)

    sales_df = pd.DataFrame({
        "store_id": np.repeat(stores_df["store_id"].to_numpy()[s_store], n_days),
        "product_id": np.repeat(products_df["product_id"].to_numpy()[s_prod], n_days),
        "date": np.tile(dates.to_numpy(), n_series),
        "sales": sales.ravel(),
        "promo": promo.ravel().astype(int),
        "promo_intensity": depth.ravel(),
        "price": np.round(price.ravel(), 2),
        "is_open": np.tile((~closed).astype(int), n_series),
    })
    sales_df, dirt, dirt_detail = _add_dirt(r_dirt, sales_df, n_series, n_days)
    sales_df["sales"] = sales_df["sales"].round(2)
    sales_df["units"] = (sales_df["sales"] / sales_df["price"]).round(2)
    truth = spec.truth_frame(sorted(calendar["name"].unique()), [c for c in cats if c in set(products_df["category"])],
                             dirt)
    keys = (stores_df["store_id"].to_numpy()[s_store], products_df["product_id"].to_numpy()[s_prod])
    plan = _plan(r_plan, keys, base_price[s_prod], dates, depth, closed)
    return {"stores": stores_df, "products": products_df, "sales": sales_df, "weather": weather,
            "calendar": calendar, "truth": truth, "dirt": dirt, "dirt_detail": dirt_detail, "plan": plan}


def _plan(rng: np.random.Generator, keys: tuple, base_price: np.ndarray, dates: pd.DatetimeIndex,
          depth: np.ndarray, closed: np.ndarray) -> pd.DataFrame:
    """The plan rows: each series' promotion days (promo 1, depth, promotional price) over the history and
    ``PLAN_DAYS`` more (drawn like the history's), and the closed days for all stores."""
    future = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=PLAN_DAYS, freq="D")
    _, _, closed_future = _calendar(future)
    promo_f, depth_f = _promotions(rng, len(base_price), PLAN_DAYS)
    depth_f[~promo_f | closed_future[None, :]] = 0.0
    all_depth = np.concatenate([depth, depth_f], axis=1)
    all_dates = dates.append(future)
    s, d = np.nonzero(all_depth > 0)
    rows = pd.DataFrame({"store_id": keys[0][s], "product_id": keys[1][s], "date": all_dates[d], "promo": 1.0,
                         "promo_intensity": all_depth[s, d],
                         "price": np.round(base_price[s] * (1 - all_depth[s, d]), 2)})
    shut = all_dates[np.concatenate([closed, closed_future])]
    closures = pd.DataFrame({"store_id": ALL, "product_id": ALL, "date": shut, "is_open": 0.0})
    return pd.concat([rows, closures], ignore_index=True)


def _add_dirt(rng: np.random.Generator, df: pd.DataFrame, n_series: int, n_days: int):
    """Drop rows (scattered and in gaps), plant spikes and negative values on open days; count duplicates."""
    n = len(df)
    is_open = df["is_open"].to_numpy() == 1
    keep = np.ones(n, dtype=bool)
    scattered = rng.choice(np.flatnonzero(is_open), max(5, round(spec.MISSING_SHARE * n)), replace=False)
    keep[scattered] = False
    gaps = []
    gap_series = rng.choice(n_series, max(1, round(spec.GAP_SERIES_SHARE * n_series)), replace=False)
    for s in sorted(gap_series):
        length = int(rng.integers(spec.GAP_DAYS[0], spec.GAP_DAYS[1] + 1))
        start = int(rng.integers(30, max(31, n_days - length - 30)))
        keep[s * n_days + start: s * n_days + start + length] = False
        row = df.iloc[s * n_days + start]
        gaps.append({"store_id": row["store_id"], "product_id": row["product_id"],
                     "start": str(row["date"].date()), "days": length})
    candidates = np.flatnonzero(keep & is_open)
    picked = rng.choice(candidates, max(3, round(spec.OUTLIER_SHARE * n))
                        + max(2, round(spec.NEGATIVE_SHARE * n)), replace=False)
    n_out = max(3, round(spec.OUTLIER_SHARE * n))
    outliers, negatives = np.sort(picked[:n_out]), np.sort(picked[n_out:])
    sales = df["sales"].to_numpy().copy()
    sales[outliers] *= rng.uniform(*spec.OUTLIER_FACTOR, len(outliers))
    sales[negatives] = -rng.uniform(0.2, 1.0, len(negatives)) * sales[negatives]
    df = df.assign(sales=sales)

    def keys(idx):
        part = df.iloc[idx]
        return [[s, p, str(d.date())] for s, p, d in zip(part["store_id"], part["product_id"], part["date"])]

    detail = {"gaps": gaps, "outliers": keys(outliers), "negative_values": keys(negatives)}
    out = df[keep].reset_index(drop=True)
    dirt = {"missing_rows": int((~keep).sum()), "missing_scattered": int(len(scattered)),
            "missing_in_gaps": int((~keep).sum() - len(scattered)), "outliers": int(len(outliers)),
            "negative_values": int(len(negatives)),
            "duplicates_dropped": max(1, round(spec.DUPLICATE_SHARE * len(out)))}
    return out, dirt, detail


def _content_hash(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()).hexdigest()


def generate(seed: int = 42, n_stores: int = 10, n_products: int = 20, years: int = 3, url: str | None = None,
             progress: bool = True, start: str = "2021-01-01", shift_after=None, shift: float = 0.3) -> dict:
    """Generate the demo data set and write it to the store, replacing any facts it held.

    Parameters
    ----------
    seed : int
        Random seed; the same seed (and sizes) gives identical data.
    n_stores, n_products : int
        Stores (spread over the regions North, South, West) and products (over the four categories).
    years : int
        Years of daily history starting at ``start``.
    url : str, optional
        Database URL or path (default ``SALES_DB``).
    progress : bool
        Print progress messages to stderr.
    start : str
        First date (ISO).
    shift_after, shift : date-like, float
        With ``shift_after``: sales after that date are scaled by ``1 + shift`` (:mod:`data.demo_shift`).

    Returns
    -------
    dict
        Summary: dataset, rows, stores, products, series, start, end, frequency, regions, categories, dirt
        counts and timings.
    """
    for name, value, lo in (("n_stores", n_stores, 1), ("n_products", n_products, 1), ("years", years, 1)):
        if not isinstance(value, (int, np.integer)) or value < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    first = pd.Timestamp(start)
    dates = pd.date_range(first, first + pd.DateOffset(years=int(years)) - pd.Timedelta(days=1), freq="D")
    t0 = time.perf_counter()
    frames = _simulate(int(seed), int(n_stores), int(n_products), dates, progress)
    if shift_after is not None:
        frames.update(sales=demo_shift.apply_shift(frames["sales"], shift_after, shift),
                      truth=pd.concat([frames["truth"], demo_shift.truth_row(shift_after, shift)], ignore_index=True))
    t_sim = time.perf_counter() - t0
    sales = frames["sales"]
    n_series = int(n_stores) * int(n_products)
    dataset = pd.DataFrame([{
        "name": "demo", "source": f"synthetic seed={seed}", "frequency": "D",
        "start_date": dates[0].date(), "end_date": dates[-1].date(),
        "rows_read": len(sales) + frames["dirt"]["duplicates_dropped"], "rows_written": len(sales),
        "rows_rejected": 0, "duplicates": frames["dirt"]["duplicates_dropped"], "n_series": n_series,
        "n_stores": int(n_stores), "n_products": int(n_products), "content_hash": _content_hash(sales),
        "imported_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        "details": json.dumps({"seed": seed, "years": years, "dirt": frames["dirt"],
                               "duplicates_note": "simulated: the raw feed is modelled as having had this many "
                                                  "exact duplicate rows, dropped before writing",
                               **frames["dirt_detail"]}),
    }])
    _log(progress, f"writing {len(sales):,} sales rows in one transaction")
    t1 = time.perf_counter()
    store.init_db(url)
    with store.session_scope(url=url) as session:
        store.clear_facts(session)
        store.bulk_insert(session, schema.StoreDim, frames["stores"])
        store.bulk_insert(session, schema.ProductDim, frames["products"])
        store.bulk_insert(session, schema.Sale, sales)
        store.bulk_insert(session, schema.Weather, frames["weather"])
        store.bulk_insert(session, schema.CalendarEvent, frames["calendar"])
        store.bulk_insert(session, schema.DemoTruth, frames["truth"])
        session.execute(delete(schema.PlanEntry.__table__))
        n_plan = plans.write_plan(frames["plan"], source="demo", session=session)
        store.upsert_frame(session, schema.Dataset, dataset)
        _log(progress, "rebuilding aggregates")
        store.rebuild_aggregates(session)
    t_write = time.perf_counter() - t1
    return {"dataset": "demo", "seed": seed, "rows": len(sales), "stores": int(n_stores),
            "products": int(n_products), "series": n_series, "start": str(dates[0].date()),
            "end": str(dates[-1].date()), "frequency": "D",
            "regions": list(frames["stores"]["region"].drop_duplicates()),
            "categories": list(frames["products"]["category"].drop_duplicates()),
            "holidays": int(len(frames["calendar"])), "dirt": frames["dirt"], "plan_rows": int(n_plan),
            "plan_end": str(frames["plan"]["date"].max().date()),
            "seconds_generate": round(t_sim, 2), "seconds_write": round(t_write, 2),
            "database": store.resolve_url(url)}


def format_summary(summary: dict) -> str:
    """A human-readable summary of :func:`generate`'s result."""
    d = summary.get("dirt", {})
    lines = [
        f"Demo data (seed {summary.get('seed')}) written to {summary.get('database', '?')}",
        f"  {summary['rows']:,} daily sales rows, {summary['series']} series: {summary['stores']} stores x "
        f"{summary['products']} products, {summary['start']} .. {summary['end']} (frequency {summary['frequency']})",
        f"  regions: {', '.join(summary['regions'])}; categories: {', '.join(summary['categories'])}",
        f"  dirt for the quality report: {d.get('missing_rows', 0)} missing rows, {d.get('outliers', 0)} outliers, "
        f"{d.get('negative_values', 0)} negative values, {d.get('duplicates_dropped', 0)} duplicates "
        "(simulated, dropped)",
        "  planted effects: see `demo_truth` (python cli.py effects compares its estimates with them)",
    ]
    if "seconds_generate" in summary:
        lines.append(f"  time: {summary['seconds_generate']} s to generate, {summary['seconds_write']} s to write"
                     + (f", {summary['seconds']} s in total" if "seconds" in summary else ""))
    return "\n".join(lines)
