"""Customer analytics storage: the order lines the customers job reads, the planted truth and its saved frames.

The frames (names in ``domain.Frames``, level ``all``) are written by ``jobs/customers_job.py`` and read by the
Customers page; customer and product ids stay text.
"""
from __future__ import annotations

import pandas as pd

from data import facts, frames, orders, store
from domain import Frames

_TEXT_IDS = {"customer": str, "product": str, "segment": str, "cohort": str, "rfm": str}
LINE_COLUMNS = ["order_id", "customer", "date", "product", "store", "quantity", "revenue", "discount"]


def order_lines(url: str | None = None) -> pd.DataFrame:
    """The stored order lines that carry a customer (returns included: their negative revenue nets the day)."""
    lines = orders.read_order_lines(url, columns=LINE_COLUMNS)
    return lines[lines["customer"].notna()].reset_index(drop=True)


def has_order_lines(url: str | None = None) -> bool:
    """Whether the store holds order lines with customers."""
    return not orders.read_order_lines(url, columns=["customer"]).dropna().empty


def planted(url: str | None = None) -> dict | None:
    """The demo's planted customer parameters (``{"bgnbd": {...}, "gamma_gamma": {...}}``), None for real data."""
    truth = facts.demo_truth(url) if store.db_exists(url) else pd.DataFrame()
    if truth.empty:
        return None
    rows = truth[truth["kind"] == "customers"]
    out = {g: dict(zip(part["name"], part["value"].astype(float))) for g, part in rows.groupby("group")
           if g in ("bgnbd", "gamma_gamma")}
    return out or None


def save_results(results: dict[str, pd.DataFrame], url: str | None = None) -> None:
    """Save the customers job's frames (name -> frame) in one transaction."""
    with store.session_scope(url=url) as session:
        for name, df in results.items():
            frames.save_frame(session, name, "all", df)


def load(name: str, url: str | None = None) -> pd.DataFrame | None:
    """One saved customers frame (None when ``cli.py customers`` has not run)."""
    if not store.db_exists(url):
        return None
    df = frames.load_frame(name, "all", url, dtype=_TEXT_IDS)
    if df is not None:
        for col in ("first", "last"):
            if col in df:
                df[col] = pd.to_datetime(df[col])
    return df


def scores(url: str | None = None) -> pd.DataFrame | None:
    """Per-customer scores (segment, CLV, P(alive), churn probability, value at risk)."""
    return load(Frames.CUSTOMER_SCORES, url)
