"""Inventory inputs: per store x product parameters (with ``*`` grain defaults) and open orders.

Tables ``inventory_params`` and ``inventory_on_order`` (:mod:`data.schema`). :func:`inventory_params` expands the
stored rows to one row per bottom series: field by field the most specific grain wins, in the order
``(store, product)``, ``(*, product)``, ``(store, *)``, ``(*, *)`` (a product's own cost, case pack and shelf life
beat a store-wide default), then the ``SALES_INVENTORY_*`` settings, then neutral values (nothing on hand, no
lead-time spread, no MOQ, case pack 1). Inputs with no neutral value (unit cost, lost-sale and backorder cost,
fill-rate target, shelf life) stay missing: "not given". Writers validate every value with :data:`RULES` before
anything touches the database, so a refused edit leaves the file byte-identical.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

import config
from data import schema
from data.engine import db_exists, has_table, init_db, read_frame, session_scope, utcnow
from data.keys import node_id
from data.writers import upsert_frame
from domain import ALL, BOTTOM_LEVEL, INVENTORY_PARAM_FIELDS

PARAMS = schema.InventoryParam.__table__
ORDERS = schema.InventoryOnOrder.__table__
KEYS = ["store_id", "product_id"]
ORDER_COLS = ["store_id", "product_id", "arrival_date", "quantity"]

# field -> (low, low excluded, high, high excluded); None = unbounded.
RULES = {
    "on_hand": (0, False, None, False),
    "lead_time_days": (0, False, None, False),
    "lead_time_sd_days": (0, False, None, False),
    "review_period_days": (0, True, None, False),
    "unit_cost": (0, False, None, False),
    "holding_rate": (0, False, None, False),
    "lost_sale_cost": (0, False, None, False),
    "backorder_cost": (0, False, None, False),
    "target_csl": (0, True, 1, True),
    "target_fill_rate": (0, True, 1, True),
    "moq": (0, False, None, False),
    "case_pack": (0, True, None, False),
    "shelf_life_days": (0, True, None, False),
    "quantity": (0, True, None, False),
}
# Values used where neither an input nor a setting gives one.
NEUTRAL = {"on_hand": 0.0, "lead_time_sd_days": 0.0, "moq": 0.0, "case_pack": 1.0}


class InventoryInputError(ValueError):
    """An inventory input the user can fix (the message names the field and the rule)."""


def rule_text(field: str) -> str:
    """The rule of ``field`` in words, e.g. ``"must be > 0"`` or ``"must be between 0 and 1, both excluded"``."""
    low, low_open, high, _high_open = RULES[field]
    if high is not None:
        return f"must be between {low:g} and {high:g}, both excluded (write 0.95 for 95%)"
    return f"must be {'>' if low_open else '≥'} {low:g}"


def violations(field: str, values: pd.Series) -> pd.Series:
    """True where a (numeric, non-missing) value breaks the rule of ``field``; missing values pass."""
    low, low_open, high, high_open = RULES[field]
    v = pd.to_numeric(values, errors="coerce").astype(float)
    bad = pd.Series(False, index=values.index)
    if low is not None:
        bad |= (v <= low) if low_open else (v < low)
    if high is not None:
        bad |= (v >= high) if high_open else (v > high)
    return bad & v.notna()


def defaults() -> dict:
    """The values that fill a field no input sets: the ``SALES_INVENTORY_*`` settings and :data:`NEUTRAL`."""
    s = config.load()
    return {**NEUTRAL, "lead_time_days": s.inventory_lead_time_days, "review_period_days": s.inventory_review_days,
            "target_csl": s.inventory_target_csl, "holding_rate": s.inventory_holding_rate}


# ----------------------------------------------------------------------------- readers

def raw_params(url: str | None = None, series: tuple[str, str] | None = None) -> pd.DataFrame:
    """The stored rows as they are (any grain; missing = not set at that grain); ``series=(store_id,
    product_id)`` keeps the rows that apply to that one series (its own, its store's, its product's, all)."""
    cols = KEYS + list(INVENTORY_PARAM_FIELDS) + ["updated_at"]
    if not db_exists(url) or not has_table(PARAMS.name, url):
        return pd.DataFrame(columns=cols)
    stmt = select(*[PARAMS.c[c] for c in cols])
    if series is not None:
        stmt = stmt.where(PARAMS.c.store_id.in_([series[0], ALL]), PARAMS.c.product_id.in_([series[1], ALL]))
    df = read_frame(stmt.order_by(PARAMS.c.store_id, PARAMS.c.product_id), url, parse_dates=["updated_at"])
    return df.astype({f: float for f in INVENTORY_PARAM_FIELDS})


def bottom_series(url: str | None = None) -> pd.DataFrame:
    """``store_id, product_id`` of every bottom series (from the hierarchy), sorted."""
    if not db_exists(url) or not has_table(schema.Node.__tablename__, url):
        return pd.DataFrame(columns=KEYS)
    n = schema.Node.__table__.c
    return read_frame(select(n.store_id, n.product_id).where(n.level == BOTTOM_LEVEL)
                      .order_by(n.store_id, n.product_id), url)


def bottom_keys(url: str | None = None) -> list[str]:
    """The series keys of :func:`bottom_series`, in its order, read from the hierarchy (no key built per series)."""
    if not db_exists(url) or not has_table(schema.Node.__tablename__, url):
        return []
    n = schema.Node.__table__.c
    return read_frame(select(n.node_id).where(n.level == BOTTOM_LEVEL).order_by(n.store_id, n.product_id),
                      url)["node_id"].tolist()


def expand(series: pd.DataFrame, raw: pd.DataFrame, fill: dict) -> pd.DataFrame:
    """One row per ``series`` row with every field: the most specific grain of ``raw`` wins field by field, then
    ``fill``. Adds ``on_hand_given`` (True when an input, at any grain, sets the on-hand stock)."""
    out = series[KEYS].reset_index(drop=True).copy()
    for f in INVENTORY_PARAM_FIELDS:
        out[f] = np.nan
    layers = (
        (raw[(raw["store_id"] != ALL) & (raw["product_id"] != ALL)], KEYS),
        (raw[(raw["store_id"] == ALL) & (raw["product_id"] != ALL)], ["product_id"]),
        (raw[(raw["store_id"] != ALL) & (raw["product_id"] == ALL)], ["store_id"]),
        (raw[(raw["store_id"] == ALL) & (raw["product_id"] == ALL)], []),
    )
    for rows, on in layers:
        if rows.empty:
            continue
        fields = list(INVENTORY_PARAM_FIELDS)
        if on:
            found = out[on].merge(rows[on + fields].drop_duplicates(on), on=on, how="left")
        else:
            found = pd.DataFrame({f: [rows[f].iloc[0]] * len(out) for f in fields})
        for f in fields:
            out[f] = out[f].where(out[f].notna(), found[f].to_numpy(dtype=float))
    out["on_hand_given"] = out["on_hand"].notna()
    for f, value in fill.items():
        out[f] = out[f].fillna(value)
    return out


def inventory_params(url: str | None = None) -> pd.DataFrame:
    """One row per bottom store x product series: ``store_id, product_id``, every field of
    :data:`domain.INVENTORY_PARAM_FIELDS` (grain defaults expanded, settings filled) and ``on_hand_given``."""
    return expand(bottom_series(url), raw_params(url), defaults())


def series_params(store_id: str, product_id: str, url: str | None = None) -> dict:
    """One bottom series' row of :func:`inventory_params` as a dict (``{}`` when there is no such series), from
    that series' node and the stored rows that apply to it, so a page showing one series reads no other."""
    if not db_exists(url) or not has_table(schema.Node.__tablename__, url):
        return {}
    n = schema.Node.__table__.c
    key = node_id(BOTTOM_LEVEL, store_id=store_id, product_id=product_id)
    series = read_frame(select(n.store_id, n.product_id).where(n.node_id == key), url)  # the primary key
    if series.empty:
        return {}
    return expand(series, raw_params(url, series=(store_id, product_id)), defaults()).iloc[0].to_dict()


def on_order(url: str | None = None) -> pd.DataFrame:
    """Open orders: ``store_id, product_id, arrival_date, quantity``, by series and arrival date."""
    if not db_exists(url) or not has_table(ORDERS.name, url):
        return pd.DataFrame(columns=ORDER_COLS)
    df = read_frame(select(*[ORDERS.c[c] for c in ORDER_COLS])
                    .order_by(ORDERS.c.store_id, ORDERS.c.product_id, ORDERS.c.arrival_date), url,
                    parse_dates=["arrival_date"])
    return df.astype({"quantity": float})


# ----------------------------------------------------------------------------- validation

def check_keys(store_id, product_id, url: str | None = None, allow_all: bool = True) -> tuple[str, str]:
    """``(store_id, product_id)`` as strings when both name a known store/product (or ``*`` where allowed)."""
    store_id, product_id = str(store_id or "").strip(), str(product_id or "").strip()
    if not db_exists(url):
        raise InventoryInputError("no sales data yet: import sales first (python cli.py ingest csv ...)")
    for what, value, table, col in (("store", store_id, schema.StoreDim, "store_id"),
                                    ("product", product_id, schema.ProductDim, "product_id")):
        if value == ALL and allow_all:
            continue
        if not value:
            raise InventoryInputError(f"{what}: missing")
        known = read_frame(select(getattr(table, col)).where(getattr(table, col) == value), url)
        if known.empty:
            raise InventoryInputError(f"{what} {value!r}: unknown {what} (not in the sales data)")
    return store_id, product_id


def check_values(values: dict) -> dict:
    """``values`` (field -> number, None/""/NaN = not set) as floats, or :class:`InventoryInputError` naming the
    first bad field."""
    out = {}
    for field, value in values.items():
        if field not in RULES or field == "quantity":
            raise InventoryInputError(f"{field}: unknown input; known: {', '.join(INVENTORY_PARAM_FIELDS)}")
        if value is None or (isinstance(value, str) and not value.strip()):
            out[field] = None
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InventoryInputError(f"{field}: not a number: {value!r}") from None
        if math.isnan(number):
            out[field] = None
            continue
        if math.isinf(number) or violations(field, pd.Series([number])).iloc[0]:
            raise InventoryInputError(f"{field}: {rule_text(field)}, got {value!r}")
        out[field] = number
    return out


# ----------------------------------------------------------------------------- writers

def write_params(session: Session, rows: pd.DataFrame) -> int:
    """Upsert validated rows (``store_id, product_id`` and any fields) in the caller's transaction."""
    if rows.empty:
        return 0
    return upsert_frame(session, schema.InventoryParam, rows.assign(updated_at=utcnow()))


def replace_orders(session: Session, series: pd.DataFrame, orders: pd.DataFrame) -> int:
    """Replace the open orders of every ``series`` (store_id, product_id) by ``orders`` (validated)."""
    for sid, pid in series[KEYS].drop_duplicates().itertuples(index=False, name=None):
        session.execute(delete(ORDERS).where(and_(ORDERS.c.store_id == sid, ORDERS.c.product_id == pid)))
    if orders.empty:
        return 0
    return upsert_frame(session, schema.InventoryOnOrder, orders[ORDER_COLS].assign(updated_at=utcnow()))


def upsert_inventory_params(store_id, product_id, values: dict, url: str | None = None) -> dict:
    """Set some inputs of one grain (``*`` allowed at either key); a None value clears it at that grain.

    Validated first (keys known, values within :data:`RULES`); returns the row as written.
    """
    store_id, product_id = check_keys(store_id, product_id, url)
    clean = check_values(values)
    if not clean:
        raise InventoryInputError("nothing to set: give at least one input")
    row = {"store_id": store_id, "product_id": product_id, **clean}
    init_db(url)
    with session_scope(url=url) as session:
        write_params(session, pd.DataFrame([row]))
    return row


def delete_inventory_params(store_id, product_id, url: str | None = None) -> int:
    """Delete the row of one grain (its series fall back to coarser grains and the settings). Returns rows deleted."""
    if not db_exists(url) or not has_table(PARAMS.name, url):
        return 0
    with session_scope(url=url) as session:
        result = session.execute(delete(PARAMS).where(and_(PARAMS.c.store_id == str(store_id),
                                                           PARAMS.c.product_id == str(product_id))))
    return int(result.rowcount or 0)


def set_on_order(store_id, product_id, orders: pd.DataFrame, url: str | None = None) -> int:
    """Replace one series' open orders by ``orders`` (``arrival_date, quantity``); validated first."""
    store_id, product_id = check_keys(store_id, product_id, url, allow_all=False)
    frame = pd.DataFrame(orders, columns=["arrival_date", "quantity"]).copy()
    frame["arrival_date"] = pd.to_datetime(frame["arrival_date"], errors="coerce")
    if frame["arrival_date"].isna().any():
        raise InventoryInputError("arrival_date: missing or not a date")
    qty = pd.to_numeric(frame["quantity"], errors="coerce")
    if qty.isna().any() or np.isinf(qty).any() or violations("quantity", qty).any():
        raise InventoryInputError(f"quantity: {rule_text('quantity')}")
    frame = frame.assign(quantity=qty.astype(float)).groupby("arrival_date", as_index=False)["quantity"].sum()
    frame = frame.assign(store_id=store_id, product_id=product_id)
    init_db(url)
    with session_scope(url=url) as session:
        return replace_orders(session, frame[KEYS], frame)


def delete_on_order(store_id, product_id, url: str | None = None) -> int:
    """Delete one series' open orders. Returns rows deleted."""
    if not db_exists(url) or not has_table(ORDERS.name, url):
        return 0
    with session_scope(url=url) as session:
        result = session.execute(delete(ORDERS).where(and_(ORDERS.c.store_id == str(store_id),
                                                           ORDERS.c.product_id == str(product_id))))
    return int(result.rowcount or 0)


def inputs_updated_at(url: str | None = None):
    """When the inventory inputs (parameters or open orders) last changed, as a Timestamp; None when never."""
    if not db_exists(url) or not has_table(PARAMS.name, url):
        return None
    stamps = []
    for table in (PARAMS, ORDERS):
        if has_table(table.name, url):
            stamps.append(read_frame(select(func.max(table.c.updated_at).label("t")), url)["t"].iloc[0])
    stamps = [pd.Timestamp(s) for s in stamps if s is not None and not pd.isna(s)]
    return max(stamps) if stamps else None
