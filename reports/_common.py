"""Helpers the reports share: number formats, the level the effects job saved at, the total series."""
from __future__ import annotations

import math

import pandas as pd

from data import store

EFFECT_LEVELS = ("total", "category", "region", "store", "product", "store_category", "store_product")


def pct(v, digits: int = 1, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{float(v):+.{digits}%}" if signed else f"{float(v):.{digits}%}"


def num(v, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{float(v):,.{digits}f}"


def num2(v) -> str:
    return num(v, 2)


def pct_signed(v) -> str:
    return pct(v, 1, signed=True)


def saved_level(name: str, url: str | None = None) -> str | None:
    """The hierarchy level ``name`` was saved at by the effects job (total first, else the first found)."""
    index = store.analysis_index(url=url)
    if index is None or index.empty:
        return None
    levels = set(index.loc[index["name"] == name, "level"])
    return next((lv for lv in EFFECT_LEVELS if lv in levels), None)


def saved_frame(name: str, url: str | None = None) -> tuple[pd.DataFrame | None, str | None]:
    """``(frame, level)`` of a frame the effects job saved, or ``(None, None)`` when it has not run."""
    level = saved_level(name, url)
    return (store.load_frame(name, level, url=url), level) if level else (None, None)


def published_run(url: str | None = None) -> dict:
    """The current (published) run, or the one-line error that says to run a refresh."""
    run = store.current_run(url=url)
    if run is None:
        raise ValueError("there is no published forecast run: run `python cli.py refresh` first")
    return run


def total_series(url: str | None = None) -> pd.DataFrame:
    """The total node's history (``ds, y`` and its drivers) from the pre-aggregated table."""
    return store.series(store.node_id("total"), url=url)


def with_ci(df: pd.DataFrame, fmt=pct_signed, col: str = "estimate") -> pd.Series:
    """``"+12.0% (+8.1% to +15.9%)"``: an estimate with its 95% interval."""
    return pd.Series([f"{fmt(e)} ({fmt(lo)} to {fmt(hi)})" for e, lo, hi in
                      zip(df[col], df["ci_low"], df["ci_high"])], index=df.index)
