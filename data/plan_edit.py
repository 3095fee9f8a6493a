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
from data.plans import (PLAN_FIELDS, SCOPE, count_plan_rows, delete_plan, expand, plan_changes, plan_rows,
                        write_plan)
from data.runs import current_run
from domain import ALL, BOTTOM_LEVEL

# The grains a planned promotion can be set at, most specific first, with the scope parts each one names.
GRAINS = {"store_product": ("store", "product"), "store_category": ("store", "category"), "product": ("product",),
          "store": ("store",), "category": ("category",), "all": ()}
MAX_DAYS = 366  # longest range one edit may cover
CALENDAR_SERIES = 60  # series the Plan page's calendar draws (layouts.plan_parts.MAX_CALENDAR_ROWS)
TABLE_ROWS = 200  # stored rows its table lists
CALENDAR_FIELDS = ("promo", "promo_intensity", "is_open")  # what the calendar draws
CHUNK_SERIES = 100  # the calendar reads the series in chunks of at least this many (twice the series it draws)


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


def _marked_series(start, end, series: pd.DataFrame, max_series: int,
                   url: str | None) -> tuple[pd.DataFrame, int | None]:
    """The expanded plan (``store_id, product_id, date``, :data:`CALENDAR_FIELDS`, ``category``) of the first
    ``max_series`` series, in calendar order (``store · product``), with a promotion or a closure in the window,
    and how many series have one (None when more series remain unread after the first ``max_series`` were found).

    The series are read in chunks in that order, each with only the plan rows that can apply to it, so a window
    over a large plan costs a few chunks instead of the whole plan.
    """
    series = series.assign(_name=series["store_id"].astype(str) + " · " + series["product_id"].astype(str))
    series = series.sort_values("_name", kind="stable").drop(columns="_name")
    parts, shown, n_found = [], 0, 0
    step = max(2 * max_series, CHUNK_SERIES)
    for lo in range(0, len(series), step):
        chunk = series.iloc[lo:lo + step]
        rows = plan_rows(start, end, url=url, scope={c: chunk[c].dropna().unique() for c in SCOPE},
                         fields=CALENDAR_FIELDS)
        if rows.empty:
            continue
        wide = expand(rows, chunk, fields=CALENDAR_FIELDS).merge(chunk, on=["store_id", "product_id"])
        names = wide["store_id"].astype(str) + " · " + wide["product_id"].astype(str)
        marked = sorted(set(names[(wide["promo"] == 1) | (wide["is_open"] == 0)]))
        n_found += len(marked)
        take = marked[:max_series - shown]
        if take:
            parts.append(wide[names.isin(take)])
            shown += len(take)
        if n_found >= max_series and lo + step < len(series):
            return pd.concat(parts, ignore_index=True), None
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()), n_found


def plan_view(start=None, end=None, store=None, category=None, product=None, url: str | None = None,
              max_series: int = CALENDAR_SERIES, max_rows: int = TABLE_ROWS) -> dict:
    """The plan between ``start`` and ``end`` for the chosen store/category/product (None = all), bounded by what
    the page shows.

    Returns ``{"expanded": the first ``max_series`` series (``store · product`` order) with a promotion or
    closure, expanded per date (store_id, product_id, category, date + CALENDAR_FIELDS), "n_series": how many series
    have one (None: at least ``max_series``, the rest not read), "rows": the first ``max_rows`` stored rows
    (date, scope order) whose scope touches the selection, "n_rows": how many touch it}``.
    """
    empty = pd.DataFrame(columns=["store_id", "product_id", "category", "date", *PLAN_FIELDS])
    nothing = {"expanded": empty, "n_series": 0, "rows": empty, "n_rows": 0}
    if not db_exists(url) or count_plan_rows(start, end, url=url) == 0:
        return nothing  # most selections of most databases: no need to read the thousands of bottom series
    series = nodes(level=BOTTOM_LEVEL, url=url)[["store_id", "product_id", "category"]]
    for col, value in (("store_id", store), ("category", category), ("product_id", product)):
        if value:
            series = series[series[col] == value]
    if series.empty:
        return nothing
    scope = {c: series[c].dropna().unique() for c in SCOPE}
    wide, n_series = _marked_series(start, end, series, max_series, url)
    if len(wide):
        wide["date"] = pd.to_datetime(wide["date"])
    rows = plan_rows(start, end, url=url, scope=scope, limit=max_rows)
    # the same types whichever rows are read (flags as integers; an unset field once made a flag column float)
    rows = rows.astype({"promo": "Int64", "is_open": "Int64", "promo_intensity": float, "price": float,
                        "unit_cost": float})
    return {"expanded": wide if len(wide) else empty, "n_series": n_series, "rows": rows,
            "n_rows": count_plan_rows(start, end, url=url, scope=scope)}


def stale_changes(url: str | None = None) -> tuple[dict | None, pd.DataFrame]:
    """The current run and the plan changes made since it started (its forecasts predate them)."""
    run = current_run(url) if db_exists(url) else None
    if run is None:
        return None, plan_changes(url=url) if db_exists(url) else pd.DataFrame()
    return run, plan_changes(since=run["started_at"], url=url)
