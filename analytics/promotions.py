"""Promotion effects: lift of promotion days, per store, response to promotion intensity, post-promotion dip.

Method: the log-sales panel regression of :mod:`analytics._design` (series fixed effects, per-group trend,
day-of-week and yearly Fourier terms, holiday windows, temperature and precipitation) with a promotion dummy.
The lift is ``exp(b) - 1``: the relative change of sales on a promotion day over what the same series sells
on a comparable day without one; its 95% CI is ``exp`` of the coefficient's two-way cluster-robust CI.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._design import fit_log_sales
from analytics._panel import PanelFit
from analytics._rows import effect_row, relative

LN2 = float(np.log(2.0))


def lift_rows(fit: PanelFit, info: dict, group: str = "all", level: float = 0.95) -> list[dict]:
    """Effect rows (kind ``promo_lift``) for whatever promotion terms ``fit`` holds.

    Parameters
    ----------
    fit : PanelFit
        A fit of :func:`analytics._design.fit_log_sales`.
    info : dict
        Its info dict (for the number of promotion rows).
    group : str
        Group label of the rows.
    level : float
        Confidence level.

    Returns
    -------
    list of dict
        ``promotion`` (relative lift), ``post_promotion_dip`` (relative change on the days right after a
        promotion) and ``promo_intensity`` (relative change when ``1 + intensity`` doubles), where present.
    """
    rows = []
    if fit.has("promo"):
        rows.append(effect_row("promo_lift", group, "promotion", relative(*fit.interval("promo", level)),
                               "relative", fit.n_nonzero["promo"]))
    if fit.has("post_promo"):
        rows.append(effect_row("promo_lift", group, "post_promotion_dip",
                               relative(*fit.interval("post_promo", level)), "relative",
                               fit.n_nonzero["post_promo"]))
    if fit.has("promo_log_intensity"):
        rows.append(effect_row("promo_lift", group, "promo_intensity",
                               relative(*fit.interval("promo_log_intensity", level), scale=LN2),
                               "relative_per_doubling", fit.n_nonzero["promo_log_intensity"]))
    return rows


def promotion_lift(frame: pd.DataFrame, freq: str, events: pd.DataFrame | None = None,
                   season_by: str | None = None, post_promo: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Relative lift of promotion days with a CI, from one panel regression.

    Parameters
    ----------
    frame : DataFrame
        Long panel (``series_id, ds, y, promo`` and optional controls, see
        :func:`analytics._design.fit_log_sales`).
    freq : {"D", "W"}
        Frequency of the data.
    events : DataFrame, optional
        Holiday events to control for.
    season_by : str, optional
        Column with groups that get their own seasonal controls.
    post_promo : int
        Steps after a promotion that get their own dummy (0: none).
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        Effect rows (``kind, group, name, estimate, ci_low, ci_high, unit, n, truth``).
    """
    if "promo" not in frame:
        raise ValueError("promotion_lift needs a 'promo' column (0/1)")
    fit, info = fit_log_sales(frame, freq, events, promo="binary", season_by=season_by, post_promo=post_promo)
    return pd.DataFrame(lift_rows(fit, info, level=level))


def by_store(frame: pd.DataFrame, freq: str, events: pd.DataFrame | None = None, season_by: str | None = None,
             level: float = 0.95, fit: PanelFit | None = None) -> pd.DataFrame:
    """Promotion lift per store (one dummy per store in the same regression).

    Parameters
    ----------
    frame, freq, events, season_by, level
        As in :func:`promotion_lift`; ``frame`` needs ``store_id``.
    fit : PanelFit, optional
        An existing fit made with ``promo="by_store"`` (skips refitting).

    Returns
    -------
    DataFrame
        ``store_id, estimate, ci_low, ci_high, n`` (relative lift).
    """
    if fit is None:
        if "store_id" not in frame:
            raise ValueError("by_store needs a 'store_id' column")
        fit, _ = fit_log_sales(frame, freq, events, promo="by_store", weather="linear", season_by=season_by)
    rows = []
    for name in fit.names:
        if name.startswith("promo@"):
            est = relative(*fit.interval(name, level))
            rows.append({"store_id": name.split("@", 1)[1], "estimate": est[0], "ci_low": est[1],
                         "ci_high": est[2], "n": fit.n_nonzero[name]})
    return pd.DataFrame(rows, columns=["store_id", "estimate", "ci_low", "ci_high", "n"])


def intensity_response(frame: pd.DataFrame, freq: str, events: pd.DataFrame | None = None,
                       season_by: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Response of sales to promotion intensity (e.g. markdown dollars, discount depth).

    Sales are regressed on ``log1p(promo_intensity)`` next to the promotion dummy (so the estimate is the
    response to depth among promoted rows, apart from the on/off jump) and all controls, on the dates from
    the first recorded promotion on, so periods where intensity was never recorded do not count as "no promotion".

    Returns
    -------
    DataFrame
        One effect row ``promo_intensity``: the relative change in sales when ``1 + intensity`` doubles.
    """
    fit, info = fit_log_sales(frame, freq, events, promo="intensity", season_by=season_by)
    return pd.DataFrame([r for r in lift_rows(fit, info, level=level) if r["name"] == "promo_intensity"])
