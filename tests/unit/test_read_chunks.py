"""Reading a result in batches (``read_frame(chunk_rows=...)``) gives the frame of one read, dtypes included."""
import sqlite3

import pandas as pd
from sqlalchemy import text

from data.engine import read_frame


def test_batched_read_equals_one_read(tmp_path):
    path = tmp_path / "t.db"
    con = sqlite3.connect(path)
    con.execute("create table t (i integer, s text, x real, late integer, gone real, word text)")
    # ``late`` is NULL in the first batches only, ``word`` is NULL in one batch, ``gone`` is always NULL.
    rows = [(k, f"s{k % 7}", k / 3, None if k < 6 else k, None, None if 4 <= k < 8 else f"w{k}") for k in range(11)]
    con.executemany("insert into t values (?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    url = f"sqlite:///{path}"
    stmt = text("select * from t order by i")
    whole = read_frame(stmt, url)
    for size in (1, 4, 11, 50):
        pd.testing.assert_frame_equal(read_frame(stmt, url, chunk_rows=size), whole)
    assert str(whole["late"].dtype) == "float64" and whole["gone"].isna().all()
    empty = read_frame(text("select * from t where i < 0"), url, chunk_rows=4)
    assert list(empty.columns) == list(whole.columns) and empty.empty
