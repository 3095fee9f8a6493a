"""Prediction-interval helpers shared by the models: coverage levels, Gaussian quantiles, interval columns."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from domain import DEFAULT_LEVELS, interval_columns


def as_levels(level) -> tuple[int, ...]:
    """The coverage levels of ``level`` (a whole percentage or an iterable of them), sorted, without repeats.

    Levels are whole percentages because each names its columns (``yhat_lo_80``, ``yhat_hi_80``).

    Raises
    ------
    ValueError
        When ``level`` is empty or a level is not a whole number strictly between 0 and 100.
    """
    values = [level] if isinstance(level, (int, float, np.integer, np.floating)) else list(level)
    if not values:
        raise ValueError("level must hold at least one coverage level, e.g. level=[80, 95]")
    bad = [lv for lv in values if isinstance(lv, bool) or not isinstance(lv, (int, float, np.integer, np.floating))
           or not 0 < lv < 100 or not float(lv).is_integer()]
    if bad:
        raise ValueError(f"coverage levels must be whole percentages strictly between 0 and 100, got {bad}")
    return tuple(sorted({int(lv) for lv in values}))


def tail(level) -> float:
    """The probability below the lower bound of a central ``level``% interval: ``(100 - level) / 200``.

    Written this way so that 80 and 95 give exactly 0.1 and 0.025.
    """
    return (100 - level) / 200


@lru_cache(maxsize=None)
def z_value(level) -> float:
    """The standard-normal quantile of a central ``level``% interval (1.2816 for 80, 1.96 for 95).

    Cached: ``scipy.stats.norm.ppf`` costs about 0.2 ms a call, which adds up over thousands of series.
    """
    return float(stats.norm.ppf(1 - tail(level)))


def normal_intervals(yhat: np.ndarray, sigma: np.ndarray, levels=DEFAULT_LEVELS) -> dict[str, np.ndarray]:
    """Gaussian intervals ``yhat -/+ z * sigma`` at each coverage level (NaN ``sigma`` counts as 0).

    Returns
    -------
    dict
        ``{"yhat_lo_<level>": ..., "yhat_hi_<level>": ...}`` for every level of ``levels``.
    """
    sigma = np.nan_to_num(np.asarray(sigma, dtype=float), nan=0.0)
    out = {}
    for lv in levels:
        z = z_value(lv)
        out[f"yhat_lo_{lv}"], out[f"yhat_hi_{lv}"] = yhat - z * sigma, yhat + z * sigma
    return out


def nest_intervals(out: dict | pd.DataFrame, levels) -> None:
    """Widen, in place, each interval to contain ``yhat`` and every narrower interval.

    For models whose bounds are estimated separately from the point forecast (sampled or conformal
    quantiles), where a biased point forecast or sampling noise can leave ``yhat`` outside an interval.
    Models with analytic intervals never need it: their crossed intervals are errors and raise.
    """
    inner_lo = inner_hi = np.asarray(out["yhat"], dtype=float)
    for lv in sorted(levels):
        lo, hi = f"yhat_lo_{lv}", f"yhat_hi_{lv}"
        out[lo] = np.fmin(np.asarray(out[lo], dtype=float), inner_lo)
        out[hi] = np.fmax(np.asarray(out[hi], dtype=float), inner_hi)
        inner_lo, inner_hi = out[lo], out[hi]


def forecast_columns(levels) -> list[str]:
    """``series_id, ds, yhat`` and the interval columns of ``levels``."""
    return ["series_id", "ds", "yhat", *interval_columns(levels)]
