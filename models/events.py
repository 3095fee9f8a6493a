"""Moving calendar events (Easter) that a fixed seasonal position cannot follow: flags per date for every model."""
from __future__ import annotations

import numpy as np
import pandas as pd
from dateutil.easter import easter

# (name, first day, last day) relative to the event date: Easter shopping happens in the week before
# Easter Sunday and in Easter week itself. A year-ago lag lands on a different week each year, so models
# that copy last year (seasonal lags) need these flags to know when last year's value was an event.
MOVING_EVENTS = {"easter": (("easter_pre", -7, -1), ("easter", 0, 6))}


def event_flags(dates: pd.DatetimeIndex, freq: str) -> dict[str, np.ndarray]:
    """0/1 per date and moving-event window: a period ``[ds - 6 days, ds]`` (weekly) or the day ``ds``
    (daily) is flagged when it overlaps the window (the weekly convention of :mod:`jobs.refresh_inputs`)."""
    dates = pd.DatetimeIndex(dates)
    width = 6 if freq == "W" else 0
    years = range(dates.min().year - 1, dates.max().year + 2)
    anchors = {"easter": pd.DatetimeIndex([pd.Timestamp(easter(y)) for y in years])}
    out = {}
    for name, windows in MOVING_EVENTS.items():
        for event, lo, hi in windows:
            first = (anchors[name] + pd.Timedelta(days=lo)).to_numpy()
            last = (anchors[name] + pd.Timedelta(days=hi)).to_numpy()
            period_start = (dates - pd.Timedelta(days=width)).to_numpy()
            hit = (period_start[:, None] <= last[None, :]) & (dates.to_numpy()[:, None] >= first[None, :])
            out[event] = hit.any(axis=1).astype(float)
    return out


def occurrences(flag: np.ndarray) -> int:
    """How many separate runs of 1s ``flag`` holds."""
    return int(np.sum(np.diff(np.concatenate([[0.0], flag])) > 0))


def recurring_events(flags: dict[str, np.ndarray], names) -> list[str]:
    """The event columns of the moving events ``names`` that ``flags`` shows at least twice (an effect
    estimated from a single occurrence cannot be told apart from that week's noise)."""
    return [e for name in names for e, _, _ in MOVING_EVENTS[name] if occurrences(flags[e]) >= 2]
