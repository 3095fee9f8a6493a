"""The demo's planted level shift (``cli.py demo --shift-after DATE --shift 0.3``): every sale after DATE is
multiplied by 1 + shift, so the drift monitor has a known change to find; the shift is recorded in ``demo_truth``."""
from __future__ import annotations

import pandas as pd


def apply_shift(sales: pd.DataFrame, after, shift: float) -> pd.DataFrame:
    """``sales`` with ``sales`` (and ``units``) of the dates after ``after`` scaled by ``1 + shift``."""
    if not -1.0 < float(shift) <= 10.0:
        raise ValueError(f"--shift must be above -1 and at most 10, got {shift!r}")
    later = pd.to_datetime(sales["date"]) > pd.Timestamp(after)
    out = sales.copy()
    for col in ("sales", "units"):
        if col in out:
            out.loc[later, col] = (out.loc[later, col] * (1.0 + float(shift))).round(2)
    return out


def truth_row(after, shift: float) -> pd.DataFrame:
    """The ``demo_truth`` row of the planted shift (kind ``shift``, name = the last unshifted date)."""
    return pd.DataFrame([{"kind": "shift", "group": "all", "name": str(pd.Timestamp(after).date()),
                          "value": float(shift), "unit": "relative"}])
