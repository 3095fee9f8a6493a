"""Guess the importer's ``field=COLUMN`` mapping of a file from its column names (pre-fills the upload form)."""
from __future__ import annotations

import re

from domain import FIELD_SYNONYMS


def normalise(column: str) -> str:
    """Lower case, letters and digits only: ``"Weekly_Sales"`` -> ``"weeklysales"``."""
    return re.sub(r"[^a-z0-9]", "", str(column).lower())


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """``{field: column}``: for each importer field, the first column whose normalised name is one of the field's
    synonyms (:data:`domain.FIELD_SYNONYMS`, in order); a column is used for at most one field."""
    norm = {normalise(c): c for c in columns}
    out, used = {}, set()
    for field, names in FIELD_SYNONYMS.items():
        for name in names:
            col = norm.get(name)
            if col is not None and col not in used:
                out[field] = col
                used.add(col)
                break
    return out
