"""CSV exports safe to open in a spreadsheet: text cells that a spreadsheet would run as a formula are neutralised.

A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a formula to Excel, LibreOffice and
Google Sheets (OWASP "CSV injection"); such a text cell gets a leading single quote, which spreadsheets show as
text. Only exports are changed, never the stored value, and only text: numbers (a sales figure of -5) stay
numbers. Every CSV the product writes goes through :func:`csv_safe` (the Forecast page's download, the run
artifacts); the Explore table's in-browser export applies the same rule in ``assets/dashAgGridFunctions.js``
(``neutraliseCsvCell``), which ``tests/test_hardening_ids.py`` checks against :func:`neutralise`.
"""
from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` with a leading ``'`` when it is text a spreadsheet would evaluate; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are :func:`neutralise`-d; numeric, date and boolean columns are untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            risky = s.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
            if risky.any():
                out[col] = s.where(~risky, "'" + s[risky].astype(str))
    return out
