"""The one date-to-text formatter of the SQLite writers (``data.writers.iso_dates``)."""
import datetime as dt

import numpy as np
import pandas as pd

from data import schema
from data.writers import DATETIME_TEXT, _sqlite_column, iso_dates


def test_iso_dates_matches_per_row_strftime_and_keeps_missing_as_none():
    values = pd.Series(pd.to_datetime(["2024-02-29", None, "2023-12-31", "2024-02-29", None]))
    out = iso_dates(values)
    assert isinstance(out, np.ndarray) and out.dtype == object
    assert out.tolist() == ["2024-02-29", None, "2023-12-31", "2024-02-29", None]
    assert iso_dates(pd.Series([dt.date(2022, 1, 5)])).tolist() == ["2022-01-05"]  # date objects too


def test_sqlite_column_writes_dates_and_datetimes_in_sqlalchemy_format():
    stamps = pd.Series(pd.to_datetime(["2024-01-02 03:04:05.678901", None]))
    as_datetime = _sqlite_column(schema.Run.__table__.c.started_at, stamps)
    assert as_datetime == [stamps[0].strftime(DATETIME_TEXT), None] == ["2024-01-02 03:04:05.678901", None]
    assert _sqlite_column(schema.Sale.__table__.c.date, stamps) == ["2024-01-02", None]


def test_iso_dates_of_only_missing_values():
    assert iso_dates(pd.Series(pd.to_datetime([None, None]))).tolist() == [None, None]
    assert iso_dates(pd.Series([], dtype="datetime64[ns]")).tolist() == []
