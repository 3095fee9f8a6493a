"""Reads of the demand classes the refresh stores (``Frames.DEMAND_CLASSES`` per level, see :mod:`jobs.sparse`):
each node's Syntetos-Boylan class, ABC/XYZ class, revenue and margin, with its label for the pages."""
from __future__ import annotations

import pandas as pd

from data.facts import nodes
from data.frames import load_frame
from domain import Frames

ID_TYPES = {"series_id": str, "abc": str, "xyz": str, "demand_class": str}


def demand_table(level: str, url: str | None = None) -> pd.DataFrame | None:
    """The stored demand table of ``level`` with each node's ``label`` (None before the first refresh)."""
    table = load_frame(Frames.DEMAND_CLASSES, level, url=url, dtype=ID_TYPES)
    if table is None:
        return None
    labels = nodes(level, url=url)[["node_id", "label"]].rename(columns={"node_id": "series_id"})
    out = table.merge(labels, on="series_id", how="left")
    out["label"] = out["label"].fillna(out["series_id"])
    out["xyz"] = out["xyz"].fillna("")
    return out


def node_demand(node_id: str, level: str, url: str | None = None) -> dict | None:
    """The stored demand row of one node (None when there is none)."""
    table = demand_table(level, url=url)
    if table is None:
        return None
    row = table[table["series_id"] == node_id]
    return None if row.empty else row.iloc[0].to_dict()
