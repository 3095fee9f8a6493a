"""Value checks both importers share: finite numbers within a bound, dates in a sane window, no detached dates.

Each check raises :class:`data.ingest_common.IngestError` naming the file, the first offending line and the
column (via :func:`data.ingest_common.bad_rows_error`), so a bad value never reaches the database.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.ingest_common import IngestError, bad_rows_error, where
from domain import DATE_MAX, DATE_MIN, MAX_ABS_VALUE


def check_finite(values: pd.Series, raw: pd.Series, path, is_csv: bool, column: str) -> None:
    """Refuse inf, -inf and numbers beyond ``±MAX_ABS_VALUE`` (missing values pass: the caller decides on them)."""
    as_float = pd.to_numeric(values, errors="coerce").astype(float)
    bad = as_float.notna() & ~(as_float.abs() <= MAX_ABS_VALUE)
    if bad.any():
        raise bad_rows_error(path, is_csv, bad, column, f"not a finite number within ±{MAX_ABS_VALUE:g} (larger "
                             "values overflow the sums and forecasts)", raw)


def check_date_window(dates: pd.Series, raw: pd.Series, path, is_csv: bool, column: str) -> None:
    """Refuse dates before :data:`domain.DATE_MIN` or after :data:`domain.DATE_MAX`."""
    bad = dates.notna() & ((dates < DATE_MIN) | (dates > DATE_MAX))
    if bad.any():
        raise bad_rows_error(path, is_csv, bad, column, f"date outside {DATE_MIN.year}..{DATE_MAX.year}", raw)


def check_detached_dates(dates: pd.Series, raw: pd.Series, path, is_csv: bool, column: str) -> None:
    """Refuse a few dates far beyond all the others (one row in 2099 among 2021-2023: a typo).

    Refused rather than warned: the refresh fills the history onto a regular grid, so a single far date would
    add decades of empty days to every series and start the forecast after it. The rule: the largest gap
    between consecutive distinct dates is over a year and longer than the span of the larger side, and the
    smaller side holds at most 5% of the distinct dates (at least one).
    """
    uniq = np.sort(pd.unique(dates.dropna()))
    if len(uniq) < 3:
        return
    gaps = np.diff(uniq)
    i = int(np.argmax(gaps))
    gap = pd.Timedelta(gaps[i])
    left, right = uniq[: i + 1], uniq[i + 1:]
    minor, major = (left, right) if len(left) < len(right) else (right, left)
    if gap <= pd.Timedelta(days=366) or gap <= pd.Timedelta(major[-1] - major[0]) \
            or len(minor) > max(1, int(0.05 * len(uniq))):
        return
    bad = dates.isin(minor)
    first = bad[bad].index[0]
    direction = "after" if minor is right else "before"
    years = gap.days / 365.25
    more = int(bad.sum()) - 1
    tail = f" ({more} more line{'s' if more != 1 else ''} with such dates)" if more else ""
    raise IngestError(
        f"{where(path, is_csv, first, column)}: date {raw.loc[first]!r} is {years:.0f} years {direction} the other "
        f"dates ({pd.Timestamp(major[0]).date()}..{pd.Timestamp(major[-1]).date()}); a typo? Refused because the "
        f"forecast would fill the gap with empty periods: fix or remove the line{tail}")


def text_to_float(raw: pd.Series) -> pd.Series:
    """Text cells as floats, NaN where a cell is not a number (for the error below to name it).

    A column of Arrow-backed text (how the CSV reader gives it) is first cast by Arrow, about 20 times faster;
    that cast parses every number as ``pd.to_numeric`` does and refuses anything else (spaces, '1_000', '0x10',
    words), and then the column goes the ``pd.to_numeric`` way as before.
    """
    if isinstance(raw.dtype, pd.StringDtype) and raw.dtype.storage == "pyarrow":
        try:
            return raw.astype("float64[pyarrow]").astype(float)
        except (ValueError, TypeError):
            pass
    return pd.to_numeric(raw, errors="coerce")


def _one_timestamp(value, tz, kwargs) -> pd.Timestamp:
    """One date/time cell as local wall time (an offset converted to ``tz`` when given); NaT when unreadable."""
    try:
        ts = pd.to_datetime(value, errors="coerce", **kwargs)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if ts is pd.NaT or getattr(ts, "tz", None) is None:
        return ts
    return (ts.tz_convert(tz) if tz is not None else ts).tz_localize(None)


def parse_datetimes(raw: pd.Series, dayfirst: bool = False, tz=None) -> pd.Series:
    """A date column as naive local timestamps, NaT where a cell is missing or unreadable: ISO (or day-first)
    text, each distinct value parsed once; a cell with an offset is converted to ``tz`` when given, else keeps
    its own wall time. The importers' checks (which cells are bad, times of day, the window) follow."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        if getattr(raw.dt, "tz", None) is None:
            return raw
        return (raw.dt.tz_convert(tz) if tz is not None else raw).dt.tz_localize(None)
    text = raw.astype("string").str.strip()
    uniq = pd.Series(text.dropna().unique())
    kwargs = {"dayfirst": True} if dayfirst else {"format": "ISO8601"}
    try:
        conv = pd.to_datetime(uniq, errors="coerce", **kwargs)
        if getattr(conv.dt, "tz", None) is not None:
            conv = (conv.dt.tz_convert(tz) if tz is not None else conv).dt.tz_localize(None)
    except (ValueError, TypeError, OverflowError):  # mixed offsets, or naive and aware: one by one
        conv = pd.Series([_one_timestamp(v, tz, kwargs) for v in uniq], dtype=object)
    lookup = pd.Series(pd.to_datetime(conv).to_numpy(), index=uniq.to_numpy())
    return pd.to_datetime(text.map(lookup))

