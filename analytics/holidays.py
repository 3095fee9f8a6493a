"""Holiday and event effects: an event study around each holiday with CIs, and holidays ranked by effect.

Method: the log-sales panel regression of :mod:`analytics._design` holds one dummy per holiday name and
offset (days -7..+3 for daily data, weeks -2..+1 for weekly data) next to series fixed effects and smooth
seasonal controls, so each offset's coefficient is the relative change against the seasonal baseline.
Closed days (``is_open == 0``) are left out of the log regression and folded back in afterwards: with a
closed share ``c`` at an offset, the effect is ``(1 - c) * (1 + open_effect) - 1`` (a full closure is -1).

Headline effect per holiday: for daily data the effect *on the holiday date* (offset 0); for weekly data
the geometric-mean effect over the whole window (``exp(mean of the window's coefficients) - 1``), because
retail holiday weeks move sales in the weeks around them (Walmart's flagged Christmas week is the quiet week
after the Christmas rush: its own effect is about -7%, the two weeks before it +25% and +54%). The flagged
week alone would hide Christmas, and the window's largest week would be chosen after looking at the data (its
interval would be too optimistic), so the window mean stays the headline; the event study holds each week.
A holiday whose effect sits in one week (Thanksgiving: +25% in the Black Friday week) is diluted by the
window mean (+7%) but keeps its rank.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._design import fit_log_sales
from analytics._panel import PanelFit
from analytics._rows import effect_row, relative

STUDY_COLUMNS = ["group", "holiday", "offset", "estimate", "ci_low", "ci_high", "n", "closed_share"]


def _with_closures(est: tuple[float, float, float], closed: float) -> tuple[float, float, float]:
    return tuple(float((1 - closed) * (1 + v) - 1) for v in est)


def event_study(fit: PanelFit, info: dict, group: str = "all", level: float = 0.95) -> pd.DataFrame:
    """The relative effect at every holiday offset that the fit holds.

    Parameters
    ----------
    fit : PanelFit
        A fit of :func:`analytics._design.fit_log_sales` with holiday events.
    info : dict
        Its info dict (holiday meta frame and closed shares).
    group : str
        Group label.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        ``group, holiday, offset, estimate, ci_low, ci_high, n, closed_share``; offsets whose rows are all
        closed have estimate -1 with a zero-width interval (sales are zero by construction).
    """
    rows = []
    for col, name, offset in info["holidays"][["column", "name", "offset"]].itertuples(index=False):
        closed = info["closed_share"].get(col, 0.0)
        if fit.has(col):
            est = _with_closures(relative(*fit.interval(col, level)), closed)
            n = fit.n_nonzero[col]
        elif closed >= 1.0:
            est, n = (-1.0, -1.0, -1.0), 0
        else:  # not identified (collinear with other terms); say so rather than guess
            continue
        rows.append({"group": str(group), "holiday": name, "offset": int(offset), "estimate": est[0],
                     "ci_low": min(est[1:]), "ci_high": max(est[1:]), "n": int(n), "closed_share": closed})
    return pd.DataFrame(rows, columns=STUDY_COLUMNS)


def headline_rows(fit: PanelFit, info: dict, freq: str, group: str = "all", level: float = 0.95) -> list[dict]:
    """One ``holiday`` effect row per holiday name (see the module docstring for the definition).

    Returns
    -------
    list of dict
        Effect rows with unit ``relative``; ``n`` counts the observations on the holiday (or in its window).
    """
    meta = info["holidays"]
    rows = []
    for name, part in meta.groupby("name", sort=True):
        if freq == "D":
            col = part.loc[part["offset"] == 0, "column"]
            if col.empty:
                continue
            col = col.iloc[0]
            closed = info["closed_share"].get(col, 0.0)
            if fit.has(col):
                est = _with_closures(relative(*fit.interval(col, level)), closed)
                rows.append(effect_row("holiday", group, name, est, "relative", fit.n_nonzero[col]))
            elif closed >= 1.0:
                rows.append(effect_row("holiday", group, name, (-1.0, -1.0, -1.0), "relative", 0))
        else:
            cols = [c for c in part["column"] if fit.has(c)]
            if len(cols) < len(part):
                continue  # part of the window is not identified: no honest window average
            closed = float(np.mean([info["closed_share"].get(c, 0.0) for c in cols]))
            est = _with_closures(relative(*fit.combination({c: 1 / len(cols) for c in cols}, level)), closed)
            rows.append(effect_row("holiday", group, name, est, "relative",
                                   sum(fit.n_nonzero[c] for c in cols)))
    return rows


def rank_holidays(effects: pd.DataFrame) -> pd.DataFrame:
    """Holiday rows sorted from the largest positive to the most negative effect, with a ``rank`` column."""
    hol = effects[effects["kind"] == "holiday"].sort_values("estimate", ascending=False).copy()
    hol["rank"] = hol.groupby("group").cumcount() + 1
    return hol.reset_index(drop=True)


def holiday_effects(frame: pd.DataFrame, freq: str, events: pd.DataFrame, season_by: str | None = None,
                    window: tuple[int, int] | None = None, level: float = 0.95) -> tuple[pd.DataFrame,
                                                                                          pd.DataFrame]:
    """Fit the panel regression and return ``(headline effects, event study)``.

    Parameters
    ----------
    frame : DataFrame
        Long panel (``series_id, ds, y`` and optional ``is_open``, ``promo``, weather columns).
    freq : {"D", "W"}
        Frequency.
    events : DataFrame
        ``date, name`` (and optional ``scope, scope_id``) of the holidays.
    season_by : str, optional
        Column whose groups get their own seasonal controls.
    window : (int, int), optional
        Offsets of the event window in steps of ``freq``.
    level : float
        Confidence level.

    Returns
    -------
    (DataFrame, DataFrame)
        Holiday effect rows ranked by effect, and the per-offset event study.
    """
    if events is None or events.empty:
        raise ValueError("holiday_effects needs at least one event (columns date, name)")
    fit, info = fit_log_sales(frame, freq, events, season_by=season_by, window=window)
    head = pd.DataFrame(headline_rows(fit, info, freq, level=level))
    return rank_holidays(head) if len(head) else head, event_study(fit, info, level=level)
