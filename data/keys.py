"""The series-key scheme: ``total``, ``region=R``, ``store=S``, ``category=C``, ``product=P``, ``store=S/category=C``
and the bottom level ``store=S/product=P`` (the levels themselves live in :mod:`domain`).

This module is the one place that builds or parses keys. The id inside a key is percent-escaped: ``%``, ``/``
and ``=`` become ``%25``, ``%2F`` and ``%3D`` (store ``1/product=B`` is ``store=1%2Fproduct%3DB``), so every id
round-trips and plain ids such as ``3`` or ``P001`` give the same keys as before.
"""
from __future__ import annotations

import re

import pandas as pd

from domain import BOTTOM_LEVEL

# The key parts of each level, in key order.
_PARTS = {"region": ("region",), "store": ("store_id",), "category": ("category",), "product": ("product_id",),
          "store_category": ("store_id", "category"), BOTTOM_LEVEL: ("store_id", "product_id")}
_LEVEL_OF = {parts: level for level, parts in _PARTS.items()}
STORE_PREFIX = "store="
STORE_RANGE_END = "store>"  # sorts after every "store=..." key, so store keys are one key range
_ESCAPES = (("%", "%25"), ("/", "%2F"), ("=", "%3D"))  # "%" first, so an escape is never escaped twice
_UNESCAPE = {code: char for char, code in _ESCAPES}
_ESCAPED = re.compile("|".join(_UNESCAPE))
_SPECIAL = re.compile("[%/=]")


def escape_part(value) -> str:
    """An id as it appears inside a key: ``%``, ``/`` and ``=`` percent-escaped, everything else unchanged."""
    value = str(value)
    if _SPECIAL.search(value) is None:
        return value
    for char, code in _ESCAPES:
        value = value.replace(char, code)
    return value


def unescape_part(value: str) -> str:
    """Inverse of :func:`escape_part` (one pass, so ``%252F`` reads back as ``%2F``)."""
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group(0)], value) if "%" in value else value


def node_id(level: str, **parts: str) -> str:
    """The series key of a node, e.g. ``node_id("store_product", store_id="3", product_id="7")``."""
    if level == "total":
        return "total"
    return "/".join(f"{n.removesuffix('_id')}={escape_part(parts[n])}" for n in _PARTS[level])


def node_keys(level: str, parts: pd.DataFrame) -> pd.Series:
    """Vectorised :func:`node_id`: the key of every row of ``parts`` (columns named like its keyword arguments)."""
    if level == "total":
        return pd.Series("total", index=parts.index, dtype=object)
    out = None
    for name in _PARTS[level]:
        text = parts[name].astype(str)
        uniq = pd.unique(text)  # few distinct ids, many rows: check and escape each id once
        if any(_SPECIAL.search(v) for v in uniq):
            text = text.map({v: escape_part(v) for v in uniq})
        piece = f"{name.removesuffix('_id')}=" + text
        out = piece if out is None else out + "/" + piece
    return out


def parse_node_id(key: str) -> dict:
    """Inverse of :func:`node_id`: ``"store=3/product=7"`` -> ``{"level": "store_product", "store_id": "3", ...}``."""
    if key == "total":
        return {"level": "total"}
    out: dict = {}
    for part in key.split("/"):
        name, _, value = part.partition("=")
        if not value and name not in {"region", "store", "category", "product"}:
            raise ValueError(f"not a series key: {key!r}; expected e.g. 'store=1/product=2' or 'total'")
        out[name if name in ("region", "category") else f"{name}_id"] = unescape_part(value)
    kinds = tuple(k for k in ("region", "store_id", "category", "product_id") if k in out)
    level = _LEVEL_OF.get(kinds)
    if level is None:
        raise ValueError(f"not a series key: {key!r}")
    out["level"] = level
    return out


def split_nodes(node_ids) -> tuple[list[str], list[str], list[str]]:
    """``(aggregate keys, store ids, product ids)`` of a node list: bottom keys become their stores and products.

    Bottom-level selections are always a stores x products cross product, so the two id lists describe them.
    """
    agg, stores_, products_ = [], set(), set()
    for key in node_ids:
        info = parse_node_id(key)
        if info["level"] == BOTTOM_LEVEL:
            stores_.add(info["store_id"])
            products_.add(info["product_id"])
        else:
            agg.append(key)
    return agg, sorted(stores_), sorted(products_)
