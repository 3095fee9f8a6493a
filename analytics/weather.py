"""Weather effects: slope of sales per °C and per mm of rain after season controls, and binned response curves.

Method: the log-sales panel regression of :mod:`analytics._design`; its yearly Fourier terms and trend soak
up the seasonal cycle, so the temperature slope is identified from temperature *anomalies* (a warm week in
March against other Marches). Slopes are ``exp(b) - 1`` per °C or per mm. The curves replace the linear terms
by bin dummies (5 °C bins, reference = the bin holding the median; rain bins against dry days). The curves
show the *shape* of the response: temperature keeps moving with the season inside a bin and the seasonal
terms absorb part of that, so bin effects are somewhat attenuated next to the linear slope.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._design import fit_log_sales
from analytics._panel import PanelFit
from analytics._rows import effect_row, relative

CURVE_COLUMNS = ["group", "variable", "bin_low", "bin_high", "bin_mid", "estimate", "ci_low", "ci_high", "n",
                 "reference"]
_UNITS = {"temp_c": ("temperature", "per_degC", "relative_per_degC"),
          "precip_mm": ("precipitation", "per_mm", "relative_per_mm")}


def slope_rows(fit: PanelFit, group: str = "all", level: float = 0.95) -> list[dict]:
    """``temperature`` (per °C) and ``precipitation`` (per mm) effect rows from a linear-weather fit."""
    rows = []
    for col, (kind, name, unit) in _UNITS.items():
        if fit.has(col):
            rows.append(effect_row(kind, group, name, relative(*fit.interval(col, level)), unit, fit.n))
    return rows


def response_curves(fit: PanelFit, info: dict, group: str = "all", level: float = 0.95) -> pd.DataFrame:
    """Relative sales per weather bin against the reference bin, from a ``weather="binned"`` fit.

    Returns
    -------
    DataFrame
        ``group, variable, bin_low, bin_high, bin_mid, estimate, ci_low, ci_high, n, reference`` and a copy
        of ``bin_mid`` named after the variable (``temp_c`` / ``precip_mm``) for plotting; the reference bin has estimate 0 with a zero-width interval. Open-ended bins have an infinite bound and
        ``bin_mid`` half a bin width beyond the finite one.
    """
    rows = []
    for col, spec in info["bins"].items():
        edges, ref, counts = spec["edges"], spec["reference"], spec["counts"]
        finite = np.diff(edges[np.isfinite(edges)])
        width = float(np.median(finite)) if len(finite) else 1.0
        for i in range(len(edges) - 1):
            lo, hi = float(edges[i]), float(edges[i + 1])
            mid = (lo + hi) / 2 if np.isfinite(lo) and np.isfinite(hi) else (hi - width / 2 if np.isfinite(hi)
                                                                              else lo + width / 2)
            name = f"{col}|{i}"
            if i == ref:
                est = (0.0, 0.0, 0.0)
            elif fit.has(name):
                est = relative(*fit.interval(name, level))
            else:
                continue
            rows.append({"group": str(group), "variable": col, "bin_low": lo, "bin_high": hi, "bin_mid": mid,
                         "estimate": est[0], "ci_low": est[1], "ci_high": est[2], "n": int(counts[i]),
                         "reference": i == ref})
    out = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    for col in info["bins"]:
        out[col] = out["bin_mid"].where(out["variable"] == col)
    return out


def weather_effects(frame: pd.DataFrame, freq: str, events: pd.DataFrame | None = None,
                    season_by: str | None = None, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Temperature and precipitation slopes and their binned response curves for one panel.

    Parameters
    ----------
    frame : DataFrame
        Long panel with ``series_id, ds, y`` and ``temp_c`` and/or ``precip_mm``.
    freq : {"D", "W"}
        Frequency.
    events : DataFrame, optional
        Holidays to control for.
    season_by : str, optional
        Column whose groups get their own seasonal controls.
    level : float
        Confidence level.

    Returns
    -------
    (DataFrame, DataFrame)
        Slope effect rows and the response curves.
    """
    if not {"temp_c", "precip_mm"} & set(frame.columns):
        raise ValueError("weather_effects needs a temp_c or precip_mm column")
    fit, _ = fit_log_sales(frame, freq, events, weather="linear", season_by=season_by)
    bfit, binfo = fit_log_sales(frame, freq, events, weather="binned", season_by=season_by)
    return pd.DataFrame(slope_rows(fit, level=level)), response_curves(bfit, binfo, level=level)
