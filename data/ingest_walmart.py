"""Prepare the Kaggle Walmart files (train, features, stores) as one validated weekly import.

Mapping (documented in README "Importing your data"): Dept -> product ("Dept N", category "Departments");
Store -> store ("Store N", region "Type X" because Walmart publishes no regions; type and size kept);
MarkDown1-5 -> promo_intensity (sum, NA = 0) and promo (any > 0), joined by store+date onto every department;
Temperature (degF) -> weather in degC (scope "store"); Fuel_Price, CPI, Unemployment and the markdown sum ->
store-level covariates (product "*"); IsHoliday -> calendar events of scope "all" named by month.
Covariates and weather keep the features file's future weeks (the Kaggle test period) for forecasting.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data.ingest_common import IngestError, Prepared, bad_rows_error, check_file, file_hash
from data.validate import check_date_window, check_finite
from domain import ALL, SCOPE_ALL

FILES = ("train", "features", "stores")
COLUMNS = {"train": ["Store", "Dept", "Date", "Weekly_Sales", "IsHoliday"],
           "features": ["Store", "Date", "Temperature", "Fuel_Price", "MarkDown1", "MarkDown2", "MarkDown3",
                        "MarkDown4", "MarkDown5", "CPI", "Unemployment", "IsHoliday"],
           "stores": ["Store", "Type", "Size"]}
MARKDOWNS = [f"MarkDown{i}" for i in range(1, 6)]
# Walmart's four holiday weeks, one per month (Kaggle's data description).
HOLIDAY_BY_MONTH = {2: "Super Bowl", 9: "Labor Day", 11: "Thanksgiving", 12: "Christmas"}
CATEGORY = "Departments"
FORMAT_VERSION = "walmart-v1"


def find_files(directory) -> dict[str, Path]:
    """train/features/stores as ``.csv`` or ``.csv.gz`` inside ``directory``."""
    d = Path(directory)
    if not d.is_dir():
        raise IngestError(f"{d}: not a directory; expected the folder holding train.csv[.gz], features.csv[.gz] "
                          "and stores.csv[.gz]")
    found = {}
    for name in FILES:
        for candidate in (d / f"{name}.csv.gz", d / f"{name}.csv"):
            if candidate.exists():
                found[name] = candidate
                break
        else:
            raise IngestError(f"{d}: {name}.csv or {name}.csv.gz is missing")
    return found


def _read(path: Path, name: str) -> pd.DataFrame:
    check_file(path)
    try:
        df = pd.read_csv(path, low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, pd.errors.EmptyDataError) as exc:
        raise IngestError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [c for c in COLUMNS[name] if c not in df.columns]
    if missing:
        raise IngestError(f"{path}: line 1 (header): missing column(s) {', '.join(repr(c) for c in missing)}; "
                          f"found {list(df.columns)}")
    return df


def _dates(df: pd.DataFrame, path: Path) -> pd.Series:
    parsed = pd.to_datetime(df["Date"], format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna()
    if bad.any():
        raise bad_rows_error(path, True, bad, "Date", "unparseable or impossible date (expected YYYY-MM-DD)",
                             df["Date"])
    check_date_window(parsed, df["Date"], path, True, "Date")
    return parsed


def _numeric(df: pd.DataFrame, col: str, path: Path, allow_na: bool) -> pd.Series:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & (df[col].notna() if allow_na else True)
    if bad.any():
        raise bad_rows_error(path, True, pd.Series(bad, index=df.index), col, "not a number", df[col])
    check_finite(values, df[col], path, True, col)
    return values.astype(float)


def _bool(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    s = df[col]
    if s.dtype == bool:
        return s
    text = s.astype(str).str.strip().str.upper()
    ok = text.isin(["TRUE", "FALSE", "1", "0"])
    if not ok.all():
        raise bad_rows_error(path, True, ~ok, col, "expected TRUE or FALSE", s)
    return text.isin(["TRUE", "1"])


def _parse_columns(train, feats, stores, files) -> None:
    """Parse and check the typed columns of the three files in place (dates, numbers, flags, ids)."""
    train["date"] = _dates(train, files["train"])
    feats["date"] = _dates(feats, files["features"])
    train["sales"] = _numeric(train, "Weekly_Sales", files["train"], allow_na=False)
    for col in ("Store", "Dept"):
        _numeric(train, col, files["train"], allow_na=False)
    train["hol"] = _bool(train, "IsHoliday", files["train"])
    feats["hol"] = _bool(feats, "IsHoliday", files["features"])
    for col in ["Temperature", "Fuel_Price", "CPI", "Unemployment", *MARKDOWNS]:
        feats[col] = _numeric(feats, col, files["features"], allow_na=True)
    stores["Size"] = _numeric(stores, "Size", files["stores"], allow_na=True)

    train["store_id"] = train["Store"].astype(int).astype(str)
    train["product_id"] = train["Dept"].astype(int).astype(str)
    feats["store_id"] = feats["Store"].astype(int).astype(str)
    stores["store_id"] = stores["Store"].astype(int).astype(str)


def _store_level_frames(train, feats, warnings: list[str]):
    """Weather (°F -> °C per store), the store-level covariates and the holiday weeks as calendar events."""
    weather = feats.loc[feats["Temperature"].notna(), ["store_id", "date", "Temperature"]].copy()
    weather = pd.DataFrame({"scope": "store", "scope_id": weather["store_id"], "date": weather["date"],
                            "temp_c": (weather["Temperature"] - 32.0) * 5.0 / 9.0, "precip_mm": np.nan})

    covs = []
    for col, name in (("Fuel_Price", "fuel_price"), ("CPI", "cpi"), ("Unemployment", "unemployment"),
                      ("promo_intensity", "markdown_total")):
        part = feats.loc[feats[col].notna(), ["store_id", "date", col]]
        covs.append(pd.DataFrame({"name": name, "store_id": part["store_id"], "product_id": ALL,
                                  "date": part["date"], "value": part[col]}))
    covariates = pd.concat(covs, ignore_index=True)

    hol_dates = pd.Series(pd.unique(pd.concat([train.loc[train["hol"], "date"], feats.loc[feats["hol"], "date"]])))
    names = hol_dates.dt.month.map(HOLIDAY_BY_MONTH)
    if names.isna().any():
        odd = hol_dates[names.isna()].dt.date.astype(str).tolist()
        warnings.append(f"holiday weeks outside Feb/Sep/Nov/Dec named 'Holiday week': {odd}")
    events = pd.DataFrame({"date": hol_dates, "scope": SCOPE_ALL, "scope_id": ALL,
                           "name": names.fillna("Holiday week"), "kind": "holiday"})
    return weather, covariates, events


def prepare(directory) -> Prepared:
    """Read and validate the three Walmart files; return the frames to write.

    Parameters
    ----------
    directory : str or Path
        Folder with ``train.csv[.gz]``, ``features.csv[.gz]`` and ``stores.csv[.gz]``.

    Returns
    -------
    Prepared
        Validated stores, products, weekly sales, covariates, weather and holiday events.
    """
    files = find_files(directory)
    train, feats, stores = (_read(files[n], n) for n in FILES)

    _parse_columns(train, feats, stores, files)

    rows_read = len(train)
    keys = ["store_id", "product_id", "date"]
    dup_all = train.duplicated(keys + ["sales"])
    duplicates = int(dup_all.sum())
    train = train[~dup_all]
    conflict = train.duplicated(keys, keep=False)
    if conflict.any():
        first = conflict[conflict].index[:2]
        raise IngestError(f"{files['train']}: lines {first[0] + 2} and {first[1] + 2}: the same Store/Dept/Date "
                          "appears twice with different Weekly_Sales (column 'Weekly_Sales')")
    fdup = feats.duplicated(["store_id", "date"], keep=False)
    if fdup.any():
        raise bad_rows_error(files["features"], True, fdup, "Date", "duplicate Store/Date in features", feats["Date"])
    unknown = ~train["store_id"].isin(stores["store_id"])
    if unknown.any():
        raise bad_rows_error(files["train"], True, unknown, "Store", "store not listed in stores.csv", train["Store"])

    md = feats[MARKDOWNS]
    feats["promo_intensity"] = md.fillna(0.0).sum(axis=1)
    feats["promo"] = (md.fillna(0.0) > 0).any(axis=1).astype(int)
    sales = train[keys + ["sales"]].merge(feats[["store_id", "date", "promo", "promo_intensity"]],
                                           on=["store_id", "date"], how="left")
    no_features = sales["promo"].isna()
    sales["promo"] = sales["promo"].fillna(0).astype(int)
    sales["is_open"] = 1
    sales["units"] = np.nan
    sales["price"] = np.nan
    warnings = []
    if no_features.any():
        warnings.append(f"{int(no_features.sum())} sales rows have no features row (promo set to 0)")

    store_dim = pd.DataFrame({
        "store_id": stores["store_id"], "name": "Store " + stores["store_id"],
        "region": "Type " + stores["Type"].astype(str).str.strip(), "type": stores["Type"].astype(str).str.strip(),
        "size": stores["Size"], "attrs": None})
    store_dim = store_dim[store_dim["store_id"].isin(train["store_id"])]
    depts = sorted(train["product_id"].unique(), key=int)
    product_dim = pd.DataFrame({"product_id": depts, "name": [f"Dept {d}" for d in depts], "category": CATEGORY})

    weather, covariates, events = _store_level_frames(train, feats, warnings)

    content_hash = file_hash([files[n] for n in FILES], {"format": FORMAT_VERSION})
    return Prepared(
        name="walmart", source=str(Path(directory).resolve()), frequency="W", content_hash=content_hash,
        stores=store_dim.reset_index(drop=True), products=product_dim,
        sales=sales[["store_id", "product_id", "date", "sales", "units", "promo", "promo_intensity", "price",
                     "is_open"]].reset_index(drop=True),
        covariates=covariates, events=events, weather=weather.reset_index(drop=True), rows_read=rows_read,
        rejected={}, duplicates=duplicates, warnings=warnings,
        options={"format": FORMAT_VERSION, "files": {k: str(v) for k, v in files.items()}})
