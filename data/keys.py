"""The series-key scheme: ``total``, ``region=R``, ``store=S``, ``category=C``, ``product=P``, ``store=S/category=C``
and the bottom level ``store=S/product=P`` (the levels themselves live in :mod:`domain`)."""
from __future__ import annotations

import pandas as pd

from domain import BOTTOM_LEVEL

# The key parts of each level, in key order.
_PARTS = {"region": ("region",), "store": ("store_id",), "category": ("category",), "product": ("product_id",),
          "store_category": ("store_id", "category"), BOTTOM_LEVEL: ("store_id", "product_id")}
_LEVEL_OF = {parts: level for level, parts in _PARTS.items()}
STORE_PREFIX = "store="
STORE_RANGE_END = "store>"  # sorts after every "store=..." key, so store keys are one key range


def node_id(level: str, **parts: str) -> str:
    """The series key of a node, e.g. ``node_id("store_product", store_id="3", product_id="7")``."""
    if level == "total":
        return "total"
    return "/".join(f"{n.removesuffix('_id')}={parts[n]}" for n in _PARTS[level])


def node_keys(level: str, parts: pd.DataFrame) -> pd.Series:
    """Vectorised :func:`node_id`: the key of every row of ``parts`` (columns named like its keyword arguments)."""
    if level == "total":
        return pd.Series("total", index=parts.index, dtype=object)
    out = None
    for name in _PARTS[level]:
        piece = f"{name.removesuffix('_id')}=" + parts[name].astype(str)
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
        out[name if name in ("region", "category") else f"{name}_id"] = value
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
