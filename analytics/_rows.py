"""Turning log-scale coefficients into rows of relative effects (the units of ``cli.py effects``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

EFFECT_COLUMNS = ["kind", "group", "name", "estimate", "ci_low", "ci_high", "unit", "n", "truth"]


def relative(b: float, lo: float, hi: float, scale: float = 1.0) -> tuple[float, float, float]:
    """``exp(scale * x) - 1`` of an estimate and its interval (monotone, so the interval carries over)."""
    return tuple(float(np.expm1(scale * v)) for v in (b, lo, hi))


def effect_row(kind: str, group: str, name: str, est: tuple[float, float, float], unit: str, n: int) -> dict:
    lo, hi = sorted(est[1:])
    return {"kind": kind, "group": str(group), "name": name, "estimate": est[0], "ci_low": lo, "ci_high": hi,
            "unit": unit, "n": int(n), "truth": None}
