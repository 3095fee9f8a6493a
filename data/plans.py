"""The plan (known promotions, prices, closures, events, unit costs at any grain): write, delete, read, expand.

A plan row names its scope with ``store_id``, ``product_id`` and ``category``, each ALL ("*") where it applies
to every one. Reading expands the rows to the bottom store x product series field by field: for each series,
date and field the most specific row that sets the field (non-NULL) wins, in this order:

1. store x product, 2. store x category, 3. product in all stores, 4. store (all its products),
5. category in all stores, 6. all stores and products.

Every write or delete is logged in ``plan_log`` in the same transaction, so ``data_version`` changes and a page
can tell which forecasts were made before the plan last changed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, select

from data import schema
from data.engine import as_date, frame_from, get_engine, init_db, read_frame, resolve_url, session_scope, utcnow
from data.writers import upsert_frame
from domain import ALL, BOTTOM_LEVEL

PLAN_FIELDS = ("promo", "promo_intensity", "price", "is_open", "event", "unit_cost")
SCOPE = ("store_id", "product_id", "category")
_PLANS = schema.PlanEntry.__table__
_LOG = schema.PlanChange.__table__
_NUMERIC = ("promo", "promo_intensity", "price", "is_open", "unit_cost")


_READY: set[str] = set()


def _ensure_tables(url: str | None) -> None:
    """Create the plan tables in a database made before they existed (once per database and process)."""
    resolved = resolve_url(url)
    if resolved not in _READY:
        init_db(resolved)
        _READY.add(resolved)


def _grain_rank(rows: pd.DataFrame) -> np.ndarray:
    """Specificity of each row's scope, 1 (store x product) .. 6 (everything); lower wins."""
    s, p, c = (rows[col].to_numpy() != ALL for col in SCOPE)
    return np.select([s & p, s & c, p, s, c], [1, 2, 3, 4, 5], default=6)


def _normalise(rows: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rows with every plan column present, the scope filled with ALL, dates as dates and numbers as floats."""
    unknown = set(rows.columns) - {*SCOPE, "date", *PLAN_FIELDS}
    if unknown:
        raise ValueError(f"plan rows have unknown columns {sorted(unknown)}; allowed: store_id, product_id, "
                         f"category, date and {list(PLAN_FIELDS)}")
    out = rows.copy()
    for col in SCOPE:
        out[col] = out[col].fillna(ALL).astype(str) if col in out else ALL
    out["date"] = pd.to_datetime(out["date"]).dt.date
    for col in PLAN_FIELDS:
        if col not in out:
            out[col] = None
    for col in _NUMERIC:
        out[col] = pd.to_numeric(out[col]).astype(float)
    out["event"] = out["event"].astype(object).where(out["event"].notna(), None)
    out["source"] = source
    out["updated_at"] = utcnow()
    return out[[*SCOPE, "date", *PLAN_FIELDS, "source", "updated_at"]]


def _scope_of(rows: pd.DataFrame, col: str) -> str:
    values = rows[col].unique()
    return str(values[0]) if len(values) == 1 else ALL


def _log(session, action: str, source: str, scope: dict, start, end, n: int) -> None:
    session.execute(_LOG.insert().values(changed_at=utcnow(), action=action, source=source, start=start,
                                         end=end, rows=int(n), **scope))


def _fill_from_stored(session, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each field it leaves unset (NaN/None) taken from the stored row of the same scope and date."""
    stmt = select(_PLANS).where(_PLANS.c.date.between(frame["date"].min(), frame["date"].max()))
    stores = frame["store_id"].unique()
    if len(stores) <= 500:
        stmt = stmt.where(_PLANS.c.store_id.in_([str(s) for s in stores]))
    old = frame_from(session.connection(), stmt, typed=True)
    if old.empty:
        return frame
    old["date"] = pd.to_datetime(old["date"]).dt.date
    both = frame.merge(old[[*SCOPE, "date", *PLAN_FIELDS]], on=[*SCOPE, "date"], how="left", suffixes=("", "__old"))
    for col in PLAN_FIELDS:
        both[col] = both[col].where(both[col].notna(), both[col + "__old"])
    for col in _NUMERIC:
        both[col] = pd.to_numeric(both[col]).astype(float)
    both["event"] = both["event"].astype(object).where(both["event"].notna(), None)
    return both[frame.columns]


def write_plan(rows: pd.DataFrame, source: str = "manual", url: str | None = None, session=None,
               keep_unset: bool = False) -> int:
    """Upsert plan rows (``store_id, product_id, category`` with ALL for "every", ``date``, any of
    :data:`PLAN_FIELDS`; NaN/None = not set at this grain) in one transaction and log the change.

    Pass ``session`` to write inside the caller's transaction (an import that also writes facts).
    ``keep_unset=True`` keeps the stored value of a field the rows leave unset (a new promotion keeps the planned
    price of the same scope and date); by default a row replaces the stored row of its scope and date whole.
    Returns the number of rows written. The caller validates ids and values (the plan importer does).
    """
    if rows.empty:
        return 0
    frame = _normalise(rows, source)
    if frame.duplicated([*SCOPE, "date"]).any():
        raise ValueError("plan rows repeat a scope and date; give each store/product/category and date once")
    scope = {col: _scope_of(frame, col) for col in SCOPE}

    def _write(sess) -> int:
        n = upsert_frame(sess, schema.PlanEntry, _fill_from_stored(sess, frame) if keep_unset else frame)
        _log(sess, "write", source, scope, frame["date"].min(), frame["date"].max(), n)
        return n

    if session is not None:
        return _write(session)
    _ensure_tables(url)
    with session_scope(url=url) as sess:
        return _write(sess)


def delete_plan(store_id: str = ALL, product_id: str = ALL, category: str = ALL, start=None, end=None,
                source: str = "manual", url: str | None = None) -> int:
    """Delete the plan rows of exactly this scope between ``start`` and ``end`` (inclusive; open ends = all).

    Returns the number of rows deleted (0 writes no log entry).
    """
    _ensure_tables(url)
    where = [_PLANS.c.store_id == store_id, _PLANS.c.product_id == product_id, _PLANS.c.category == category]
    s, e = as_date(start), as_date(end)
    if s is not None:
        where.append(_PLANS.c.date >= s)
    if e is not None:
        where.append(_PLANS.c.date <= e)
    with session_scope(url=url) as session:
        n = session.execute(delete(_PLANS).where(and_(*where))).rowcount or 0
        if n:
            _log(session, "delete", source, dict(store_id=store_id, product_id=product_id, category=category),
                 s, e, n)
    return n


def _window(stmt, start, end, scope: dict | None):
    """``stmt`` limited to the dates between ``start`` and ``end`` and, for each scope column ``scope`` names,
    to the rows whose value is ALL or in its list (the rows that can apply to those series)."""
    s, e = as_date(start), as_date(end)
    if s is not None:
        stmt = stmt.where(_PLANS.c.date >= s)
    if e is not None:
        stmt = stmt.where(_PLANS.c.date <= e)
    for col, values in (scope or {}).items():
        stmt = stmt.where(_PLANS.c[col].in_([ALL, *map(str, values)]))
    return stmt


def plan_rows(start=None, end=None, url: str | None = None, scope: dict | None = None,
              limit: int | None = None, fields: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The plan rows as stored (any grain) between ``start`` and ``end``, ordered by date and scope.

    ``scope`` (``{"store_id"|"product_id"|"category": values}``) keeps the rows whose scope column is ALL or one
    of the values; ``limit`` keeps the first rows; ``fields`` (some of :data:`PLAN_FIELDS`) reads only the scope,
    the date and those fields, without SQLAlchemy's per-value processing (for the pages' hot reads).
    """
    _ensure_tables(url)
    cols = [_PLANS] if fields is None else [_PLANS.c[c] for c in (*SCOPE, "date", *fields)]
    stmt = _window(select(*cols), start, end, scope).order_by(_PLANS.c.date, *[_PLANS.c[c] for c in SCOPE])
    out = read_frame(stmt.limit(int(limit)) if limit is not None else stmt, url=url, typed=fields is None)
    if out.empty:
        out = pd.DataFrame(columns=[c.name for c in _PLANS.columns] if fields is None else [*SCOPE, "date", *fields])
    out["date"] = pd.to_datetime(out["date"])
    return out


def count_plan_rows(start=None, end=None, url: str | None = None, scope: dict | None = None) -> int:
    """How many rows :func:`plan_rows` returns for the same window and scope (without reading them)."""
    _ensure_tables(url)
    with get_engine(url).connect() as conn:
        return int(conn.execute(_window(select(func.count()).select_from(_PLANS), start, end, scope)).scalar_one())


def expand(rows: pd.DataFrame, series: pd.DataFrame, fields=PLAN_FIELDS) -> pd.DataFrame:
    """Plan rows at any grain -> one row per bottom series and date, each field from its most specific row.

    Parameters
    ----------
    rows : DataFrame
        ``store_id, product_id, category, date`` + :data:`PLAN_FIELDS` (NaN/None = not set at that grain).
    series : DataFrame
        The bottom series: ``store_id, product_id, category``.
    fields : sequence of str
        The value columns to expand (default :data:`PLAN_FIELDS`; the plan importer adds the line number of
        each field's row, to name the lines of a conflict).

    Returns
    -------
    DataFrame
        ``store_id, product_id, date`` + :data:`PLAN_FIELDS`, only the series and dates some row covers; fields
        no row sets stay NaN/None.
    """
    cols = ["store_id", "product_id", "date", *fields]
    if rows.empty or series.empty:
        return pd.DataFrame(columns=cols)
    rows = rows.assign(_rank=_grain_rank(rows))
    pieces = []
    # Each grain joins the series on the scope columns it names (the others are ALL).
    for rank, group in rows.groupby("_rank", sort=True):
        keys = [c for c in SCOPE if (group[c] != ALL).all()]
        right = series[["store_id", "product_id", "category"]]
        left = group.drop(columns=[c for c in SCOPE if c not in keys])
        pieces.append(right.merge(left, on=keys, how="inner") if keys else right.merge(left, how="cross"))
    long = pd.concat(pieces, ignore_index=True).sort_values("_rank", kind="stable")
    # first() skips NaN/None per column, so each field comes from the most specific row that sets it.
    out = long.groupby(["store_id", "product_id", "date"], sort=True)[list(fields)].first().reset_index()
    return out[cols]


def expanded_plan(start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """The plan expanded to the bottom store x product series (see :func:`expand`) between ``start`` and ``end``."""
    from data.facts import nodes
    rows = plan_rows(start, end, url=url)
    series = nodes(level=BOTTOM_LEVEL, url=url) if not rows.empty else pd.DataFrame()
    out = expand(rows, series[["store_id", "product_id", "category"]] if not series.empty else series)
    out["date"] = pd.to_datetime(out["date"])
    return out


def plan_changes(since=None, url: str | None = None) -> pd.DataFrame:
    """The plan's change log (``changed_at, action, source, store_id, product_id, category, start, end, rows``),
    newest first; ``since`` (a datetime) keeps the changes after it."""
    _ensure_tables(url)
    stmt = select(_LOG).order_by(_LOG.c.id.desc())
    if since is not None:
        stmt = stmt.where(_LOG.c.changed_at > pd.Timestamp(since).to_pydatetime())
    return read_frame(stmt, url=url, typed=True)


def plan_version_expr():
    """A scalar subquery for :mod:`data.version`: the newest plan change's id."""
    return select(func.max(_LOG.c.id)).scalar_subquery()
