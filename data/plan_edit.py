"""The Plan page's reads and edits: the plan in a window (expanded and as stored), planned promotions and closures
set or deleted over a date range at a chosen grain, and the plan changes made since the current run started.

Edits go through :func:`data.plans.write_plan` (``keep_unset=True``: a new promotion keeps the planned price of
its scope) and :func:`data.plans.delete_plan`; errors are ``ValueError``s with one line the page shows.
"""
from __future__ import annotations

import pandas as pd

from data import plan_checks
from data.engine import db_exists
from data.facts import date_bounds, nodes, products, stores
from data.ingest_common import IngestError
from data.ingest_plan import week_day
from data.plans import PLAN_FIELDS, SCOPE, delete_plan, expand, plan_changes, plan_rows, write_plan
from data.runs import current_run
from domain import ALL, BOTTOM_LEVEL

# The grains a planned promotion can be set at, most specific first, with the scope parts each one names.
GRAINS = {"store_product": ("store", "product"), "store_category": ("store", "category"), "product": ("product",),
          "store": ("store",), "category": ("category",), "all": ()}
MAX_DAYS = 366  # longest range one edit may cover


def choices(url: str | None = None) -> dict:
    """Stores, products (with their category), categories and the first day after the data, for the page's forms."""
    if not db_exists(url):
        return {"stores": [], "products": [], "categories": [], "next_day": None}
    prods = products(url)
    _first, last = date_bounds(url)
    return {"stores": stores(url)["store_id"].tolist(),
            "products": [{"value": p, "label": f"{p} {n} ({c})"} for p, n, c in
                         prods[["product_id", "name", "category"]].itertuples(index=False)],
            "categories": sorted(prods["category"].dropna().unique().tolist()),
            "next_day": str((last + pd.Timedelta(days=1)).date()) if last is not None else None}


def scope_for(grain: str, store=None, product=None, category=None, url: str | None = None) -> dict:
    """``{"store_id", "product_id", "category"}`` of a grain; each part the grain names must be given and exist."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; choose one of {', '.join(GRAINS)}")
    given = {"store": store, "product": product, "category": category}
    scope = {"store_id": ALL, "product_id": ALL, "category": ALL}
    for part in GRAINS[grain]:
        value = given[part]
        if value in (None, "", ALL):
            raise ValueError(f"choose a {part} (grain {grain.replace('_', ' x ')})")
        scope[{"store": "store_id", "product": "product_id"}.get(part, part)] = str(value)
    known = {"store_id": set(stores(url)["store_id"]), "product_id": set(products(url)["product_id"]),
             "category": set(products(url)["category"].dropna())}
    for col, value in scope.items():
        if value != ALL and value not in known[col]:
            raise ValueError(f"unknown {col.removesuffix('_id')} {value!r}")
    return scope


def _dates(start, end) -> pd.DatetimeIndex:
    try:
        s, e = pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError):
        raise ValueError(f"dates must look like 2024-12-31 (got {start!r} and {end!r})") from None
    if pd.isna(s) or pd.isna(e):
        raise ValueError("choose a start and an end date")
    if e < s:
        raise ValueError(f"the end {e.date()} is before the start {s.date()}")
    if (e - s).days >= MAX_DAYS:
        raise ValueError(f"a range of at most {MAX_DAYS} days at a time")
    return pd.date_range(s.normalize(), e.normalize(), freq="D")


def set_promotion(grain: str, store=None, product=None, category=None, start=None, end=None, depth=None,
                  closed: bool = False, url: str | None = None) -> int:
    """Plan a promotion of ``depth`` (a share in [0, 1)) or, with ``closed``, a closure, on every day from
    ``start`` to ``end`` at ``grain``; writing the same scope and range again edits it. Returns rows written."""
    scope = scope_for(grain, store, product, category, url=url)
    dates = _dates(start, end)
    day = week_day(url)
    if day is not None:  # weekly data: the plan is read on the data's dates only
        dates = dates[dates.dayofweek == day]
        if dates.empty:
            raise ValueError(f"the data is weekly (dates on {pd.Timestamp('2024-01-01') + pd.Timedelta(days=day):%A}s)"
                             f" and no such date lies between {start} and {end}")
    if closed:
        values = {"promo": 0.0, "promo_intensity": 0.0, "is_open": 0.0}
    else:
        try:
            d = float(depth) if depth not in (None, "") else float("nan")
        except (TypeError, ValueError):
            raise ValueError(f"the depth must be a number in [0, 1), e.g. 0.2 for 20% off (got {depth!r})") from None
        if not (0 <= d < 1):
            raise ValueError(f"the depth must be in [0, 1), e.g. 0.2 for 20% off (got {depth!r})")
        values = {"promo": 1.0, "promo_intensity": d}
    rows = pd.DataFrame({**scope, "date": dates, **values})
    _check_closures(rows, scope, url)
    return write_plan(rows, source="manual", url=url, keep_unset=True)


def _check_closures(rows: pd.DataFrame, scope: dict, url) -> None:
    """Refuse a promotion on a day the plan closes (or a closure over a planned promotion), counting the stored
    plan; the stored row of the same scope and date is what the edit changes."""
    stored = plan_rows(rows["date"].min(), rows["date"].max(), url=url)
    keys = [*SCOPE, "date"]
    mine = stored[(stored[list(SCOPE)] == pd.Series(scope)).all(axis=1)]
    merged = rows.merge(mine[keys + [c for c in ("promo", "is_open") if c not in rows]], on=keys, how="left") \
        if len(mine) else rows
    others = stored.drop(index=mine.index).assign(line=plan_checks.STORED)
    new = merged.reindex(columns=[*keys, "promo", "is_open"]).assign(line=0)
    both = pd.concat([new, others[[*keys, "promo", "is_open", "line"]]], ignore_index=True)
    series = nodes(level=BOTTOM_LEVEL, url=url)[["store_id", "product_id", "category"]]
    try:
        plan_checks.check_closed_promos(both, series, "plan", True, {})
    except IngestError as exc:
        detail = str(exc).split(": ", 2)[-1]
        if detail.count("(line 2)") == 2:  # the edit's own scope is planned closed that day
            detail = detail.replace("(line 2) ", "").replace(" (line 2)", " (this scope, already planned)")
        detail = detail.replace("(line 2)", "(this edit)").replace("(the stored plan)", "(already planned)")
        raise ValueError(detail) from None


def remove(grain: str, store=None, product=None, category=None, start=None, end=None, url: str | None = None) -> int:
    """Delete the plan rows of exactly this grain's scope from ``start`` to ``end``; returns how many went."""
    scope = scope_for(grain, store, product, category, url=url)
    dates = _dates(start, end)
    return delete_plan(scope["store_id"], scope["product_id"], scope["category"], dates[0], dates[-1], url=url)


def plan_view(start=None, end=None, store=None, category=None, product=None, url: str | None = None) -> dict:
    """The plan between ``start`` and ``end`` for the chosen store/category/product (None = all).

    Returns ``{"expanded": bottom series x dates (store_id, product_id, category, date + PLAN_FIELDS),
    "rows": the stored rows whose scope touches the selection}``.
    """
    empty = pd.DataFrame(columns=["store_id", "product_id", "category", "date", *PLAN_FIELDS])
    if not db_exists(url):
        return {"expanded": empty, "rows": empty}
    rows = plan_rows(start, end, url=url)
    if rows.empty:  # most selections of most databases: no need to read the thousands of bottom series
        return {"expanded": empty, "rows": rows.iloc[:0] if len(rows.columns) else empty}
    series = nodes(level=BOTTOM_LEVEL, url=url)[["store_id", "product_id", "category"]]
    for col, value in (("store_id", store), ("category", category), ("product_id", product)):
        if value:
            series = series[series[col] == value]
    if rows.empty or series.empty:
        return {"expanded": empty, "rows": rows.iloc[:0] if len(rows.columns) else empty}
    wide = expand(rows, series).merge(series, on=["store_id", "product_id"])
    cat_of = dict(zip(series["product_id"], series["category"]))
    touches = ((rows["store_id"] == ALL) | rows["store_id"].isin(series["store_id"])) \
        & ((rows["product_id"] == ALL) | rows["product_id"].isin(series["product_id"])) \
        & ((rows["category"] == ALL) | rows["category"].isin(series["category"]))
    touches &= (rows["product_id"] == ALL) | rows["product_id"].map(cat_of).notna()
    wide["date"] = pd.to_datetime(wide["date"])
    return {"expanded": wide, "rows": rows[touches].reset_index(drop=True)}


def stale_changes(url: str | None = None) -> tuple[dict | None, pd.DataFrame]:
    """The current run and the plan changes made since it started (its forecasts predate them)."""
    run = current_run(url) if db_exists(url) else None
    if run is None:
        return None, plan_changes(url=url) if db_exists(url) else pd.DataFrame()
    return run, plan_changes(since=run["started_at"], url=url)
