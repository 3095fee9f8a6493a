"""The plan's named events (a fair, a local holiday) expanded to the bottom series: read without the plan's
other rows, so a refresh pays for the few event rows only, not for the whole promotion calendar."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from data import schema
from data.engine import as_date, read_frame
from data.facts import nodes
from data.plans import PLAN_FIELDS, _ensure_tables, expand
from domain import BOTTOM_LEVEL

_PLANS = schema.PlanEntry.__table__


def plan_events(start=None, end=None, url: str | None = None) -> pd.DataFrame:
    """``store_id, product_id, date, event`` of every bottom series and date a plan event covers (the most
    specific grain's name wins), between ``start`` and ``end`` (inclusive; open ends = all)."""
    _ensure_tables(url)
    stmt = select(_PLANS).where(_PLANS.c.event.is_not(None))
    s, e = as_date(start), as_date(end)
    if s is not None:
        stmt = stmt.where(_PLANS.c.date >= s)
    if e is not None:
        stmt = stmt.where(_PLANS.c.date <= e)
    rows = read_frame(stmt, url=url, typed=True)
    cols = ["store_id", "product_id", "date", "event"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    rows = rows[["store_id", "product_id", "category", "date", *PLAN_FIELDS]]
    series = nodes(level=BOTTOM_LEVEL, url=url)[["store_id", "product_id", "category"]]
    out = expand(rows, series)
    out["date"] = pd.to_datetime(out["date"])
    return out[out["event"].notna()][cols].reset_index(drop=True)
