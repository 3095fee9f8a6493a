"""Issue 12, items 5, 6 and 9: finite numbers, dates in a sane window, encodings and physical line numbers."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from data import ingest, store
from jobs import runner, stages
from tests.test_refresh import make_store

MAP = "date=Date,sales=Sales,store=Store"


# ----------------------------------------------------------------------------- item 5: a non-finite refresh fails

@pytest.fixture
def hand_db(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db)
    return tmp_db


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_refresh_with_an_infinite_forecast_fails_and_keeps_the_previous_run(hand_db, monkeypatch):
    first = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False)
    assert first["status"] == "success"
    before = store.forecast("total")
    real = stages.map_series

    def poisoned(*args, **kwargs):  # one model's forecast of one series overflows
        results = real(*args, **kwargs)
        fc = next(r.forecasts for r in results if not r.forecasts.empty)
        fc.loc[fc.index[0], "yhat"] = np.inf
        return results

    monkeypatch.setattr(stages, "map_series", poisoned)
    second = runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False, force=True)
    assert second["status"] == "failed", second
    assert "non-finite forecast" in second["error"] and "seasonal_naive" in second["error"]
    assert "series '" in second["error"]
    assert store.current_run()["run_id"] == first["run_id"]
    assert store.run_info(second["run_id"])["status"] == "failed"
    pd.testing.assert_frame_equal(store.forecast("total"), before)
    assert store.forecast("total", run_id=second["run_id"]).empty


# ----------------------------------------------------------------------------- items 5 and 6: values at import

@pytest.mark.parametrize("field,column,value", [
    ("sales", "Sales", "1e308"), ("sales", "Sales", "-inf"), ("sales", "Sales", "Infinity"),
    ("price", "Price", "1e16"), ("units", "Units", "inf"), ("temperature", "Temp", "-1e300"),
    ("precipitation", "Rain", "1e20"), ("promo_intensity", "Depth", "inf"), ("promo", "Promo", "1e308")])
def test_huge_or_infinite_numbers_are_refused_with_line_and_column(tmp_path, tmp_db, field, column, value):
    path = tmp_path / "big.csv"
    path.write_text(f"Store,Date,Sales,{column}\n1,2023-01-01,5,1\n1,2023-01-02,6,{value}\n")
    mapping = MAP + ("" if field == "sales" else f",{field}={column}")
    if field == "sales":
        path.write_text(f"Store,Date,Sales\n1,2023-01-01,5\n1,2023-01-02,{value}\n")
    with pytest.raises(ingest.IngestError, match=rf"big.csv: line 3, column '{column}': not a "):
        ingest.ingest_csv(path, mapping, url=tmp_db)


def test_extra_covariates_and_parquet_values_are_bounded(tmp_path, tmp_db):
    path = tmp_path / "extra.csv"
    path.write_text("Store,Date,Sales,Visitors\n1,2023-01-01,5,3\n1,2023-01-02,6,2e300\n")
    with pytest.raises(ingest.IngestError, match=r"line 3, column 'Visitors': not a finite number within"):
        ingest.ingest_csv(path, MAP, extra="Visitors", url=tmp_db)
    pq = tmp_path / "inf.parquet"
    pd.DataFrame({"Date": pd.to_datetime(["2023-01-01", "2023-01-02"]), "Sales": [1.0, np.inf]}).to_parquet(pq)
    with pytest.raises(ingest.IngestError, match=r"inf.parquet: row 2, column 'Sales'"):
        ingest.ingest_csv(pq, "date=Date,sales=Sales", url=tmp_db)
    pq.unlink()
    pd.DataFrame({"Date": pd.to_datetime(["2023-01-01", "2023-01-02"]), "Sales": [1.0, 1e300]}).to_parquet(pq)
    with pytest.raises(ingest.IngestError, match=r"row 2, column 'Sales': not a finite number within"):
        ingest.ingest_csv(pq, "date=Date,sales=Sales", url=tmp_db)


def test_walmart_numbers_and_dates_are_checked(tmp_path):
    (tmp_path / "train.csv").write_text("Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2010-02-05,10,FALSE\n"
                                        "1,1,2010-02-12,1e308,FALSE\n")
    (tmp_path / "features.csv").write_text(
        "Store,Date,Temperature,Fuel_Price,MarkDown1,MarkDown2,MarkDown3,MarkDown4,MarkDown5,CPI,Unemployment,"
        "IsHoliday\n1,2010-02-05,40,2.5,NA,NA,NA,NA,NA,211,8.1,FALSE\n1,2010-02-12,inf,2.5,NA,NA,NA,NA,NA,211,8.1,"
        "FALSE\n")
    (tmp_path / "stores.csv").write_text("Store,Type,Size\n1,A,151315\n")
    with pytest.raises(ingest.IngestError, match=r"train.csv: line 3, column 'Weekly_Sales': not a finite"):
        ingest.ingest_walmart(tmp_path)
    (tmp_path / "train.csv").write_text("Store,Dept,Date,Weekly_Sales,IsHoliday\n1,1,2010-02-05,10,FALSE\n")
    with pytest.raises(ingest.IngestError, match=r"features.csv: line 3, column 'Temperature': not a finite"):
        ingest.ingest_walmart(tmp_path)
    (tmp_path / "features.csv").write_text(
        "Store,Date,Temperature,Fuel_Price,MarkDown1,MarkDown2,MarkDown3,MarkDown4,MarkDown5,CPI,Unemployment,"
        "IsHoliday\n1,2150-02-05,40,2.5,NA,NA,NA,NA,NA,211,8.1,FALSE\n")
    with pytest.raises(ingest.IngestError, match=r"features.csv: line 2, column 'Date': date outside 1900..2100"):
        ingest.ingest_walmart(tmp_path)


@pytest.mark.parametrize("value,dayfirst", [("1850-06-01", False), ("2150-01-01", False), ("1500-01-01", False),
                                            ("9999-12-31", False), ("01/06/1850", True)])
def test_dates_outside_1900_2100_name_line_and_column(tmp_path, tmp_db, value, dayfirst):
    path = tmp_path / "old.csv"
    first = "01/01/2023" if dayfirst else "2023-01-01"
    path.write_text(f"Store,Date,Sales\n1,{first},5\n1,{value},6\n")
    with pytest.raises(ingest.IngestError, match=r"old.csv: line 3, column 'Date': date outside 1900..2100"):
        ingest.ingest_csv(path, MAP, dayfirst=dayfirst, url=tmp_db)


def test_a_detached_date_is_refused_but_a_real_gap_is_kept(tmp_path, tmp_db):
    days = pd.date_range("2021-01-01", "2023-12-31").strftime("%Y-%m-%d").tolist()
    path = tmp_path / "typo.csv"
    path.write_text("Store,Date,Sales\n" + "".join(f"1,{d},5\n" for d in days[:500]) + "1,2099-03-01,5\n"
                    + "".join(f"1,{d},5\n" for d in days[500:]))
    with pytest.raises(ingest.IngestError, match=r"typo.csv: line 502, column 'Date': date '2099-03-01' is 7\d years "
                                                 r"after the other dates \(2021-01-01..2023-12-31\)"):
        ingest.ingest_csv(path, MAP, url=tmp_db)
    gap = tmp_path / "gap.csv"  # two years of data, a two-year closure, two more years: real, accepted
    dates = [*pd.date_range("2015-01-01", "2016-12-31"), *pd.date_range("2019-01-01", "2020-12-31")]
    gap.write_text("Store,Date,Sales\n" + "".join(f"1,{d:%Y-%m-%d},5\n" for d in dates))
    assert ingest.ingest_csv(gap, MAP, url=tmp_db)["rows_written"] == len(dates)


# ----------------------------------------------------------------------------- item 9: encodings and line numbers

def test_a_stray_latin1_byte_is_decoded_on_its_line_only_and_named(tmp_path, tmp_db):
    path = tmp_path / "mixed.csv"
    path.write_bytes("Store,Date,Sales,Region\n1,2023-01-01,5,Zürich\n2,2023-01-01,6,Genève\n".encode()
                     + b"3,2023-01-01,7,Z\xfcrich\n")
    summary = ingest.ingest_csv(path, MAP + ",region=Region", url=tmp_db)
    assert any("mixed.csv: line 4: not valid UTF-8" in w for w in summary["warnings"]), summary["warnings"]
    regions = store.stores(url=tmp_db).set_index("store_id")["region"]
    assert regions.to_dict() == {"1": "Zürich", "2": "Genève", "3": "Zürich"}  # no mojibake ("ZÃ¼rich")


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_numbers_count_the_lines_of_quoted_multiline_cells(tmp_path, tmp_db, compressed, newline):
    text = newline.join(["Store,Date,Sales,Note", '1,2023-01-01,5,"first', 'second', 'third"', "",
                         '1,2023-01-02,6,"x""y"', "1,2023-01-03,oops,z", ""])
    path = tmp_path / ("multi.csv.gz" if compressed else "multi.csv")
    path.write_bytes(gzip.compress(text.encode()) if compressed else text.encode())
    with pytest.raises(ingest.IngestError, match=r"line 7, column 'Sales': not a number: 'oops'"):
        ingest.ingest_csv(path, MAP, url=tmp_db)


def test_line_numbers_after_a_multiline_cell_in_a_latin1_file(tmp_path, tmp_db):
    path = tmp_path / "legacy.csv"
    path.write_bytes(b'Store,Date,Sales,Note\n1,2023-01-01,5,"caf\xe9\nau lait"\n1,2023-01-02,6,ok\n'
                     b"1,2023-01-02,7,ok\n")
    with pytest.raises(ingest.IngestError, match=r"line 5, column 'Sales': conflicting duplicate of line 4"):
        ingest.ingest_csv(path, MAP, url=tmp_db)
