"""Prepare any long-format sales file (CSV, CSV.gz, Parquet) for import from a ``field=COLUMN`` mapping.

Each mapped column is parsed and validated in pandas; the first bad value raises :class:`data.ingest.IngestError`
naming the file, the line (header = line 1) and the column. Rules (also in README "Importing your data"):
no store column -> one store "all"; no product column -> one product "all"; holiday values '0', 'false', 'no' or
empty mean no holiday, anything else is a holiday; closed rows are kept with ``is_open=0``; extra numeric columns
become covariates; identical duplicate rows are dropped and counted, conflicting ones are an error. With a plan
field mapped (promo, promo_intensity, price, open, cost), rows after the last sales date with an empty sales cell
are plan rows, and ``cost`` values unit costs, of their store x product (:func:`data.plan_checks.sales_plan_rows`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from data.ingest_common import IngestError, Prepared, bad_rows_error, detect_frequency, file_hash, where
from data.plan_checks import sales_plan_rows
from data.tabular import read_any
from data.validate import check_date_window, check_detached_dates, check_finite, parse_datetimes, text_to_float
from domain import ALL, DEFAULT_MEMBER, IMPORT_FIELDS, MAX_ID_LENGTH, REQUIRED_FIELDS, SCOPE_ALL, STORE_FIELDS

TRUE = {"1", "1.0", "true", "t", "yes", "y"}
FALSE = {"0", "0.0", "false", "f", "no", "n"}


def parse_mapping(mapping, allowed=IMPORT_FIELDS, required=REQUIRED_FIELDS, what="--map") -> dict[str, str]:
    """``"date=Date,sales=Sales"`` (or a dict) -> ``{"date": "Date", "sales": "Sales"}``, checked."""
    if isinstance(mapping, dict):
        pairs = {str(k).strip(): str(v).strip() for k, v in mapping.items() if v not in (None, "")}
    else:
        pairs = {}
        for part in str(mapping or "").split(","):
            if not part.strip():
                continue
            key, sep, col = part.partition("=")
            if not sep or not key.strip() or not col.strip():
                raise IngestError(f"{what}: cannot read {part.strip()!r}; write field=COLUMN pairs separated by "
                                  f"commas, e.g. date=Date,sales=Sales")
            pairs[key.strip().lower()] = col.strip()
    unknown = [k for k in pairs if k not in allowed]
    if unknown:
        raise IngestError(f"{what}: unknown field(s) {unknown}; allowed fields: {', '.join(allowed)}")
    missing = [k for k in required if k not in pairs]
    if missing:
        raise IngestError(f"{what}: the required field(s) {', '.join(missing)} are not mapped "
                          f"(e.g. {what} {','.join(f'{k}=COLUMN' for k in required)})")
    return pairs


def _ids(df, col, path, is_csv, what) -> pd.Series:
    s = df[col]
    if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
        s = s.astype("Int64")
    fast = _per_distinct(s, lambda u: u.notna().all() and not (u == "").any() and _ids_ok(u), str)
    if fast is not None:
        return fast
    text = s.astype("string").str.strip()
    missing = text.isna() | (text == "")
    if missing.any():
        raise bad_rows_error(path, is_csv, missing, col, f"missing {what} id", df[col])
    _check_ids(text, path, is_csv, col, what)
    return text.astype(str)


def _names(df, col, path, is_csv, what) -> pd.Series:
    """A category or region column (part of series keys, so checked like ids; empty cells stay missing)."""
    fast = _per_distinct(df[col], _ids_ok, object)
    if fast is not None:
        return fast
    text = df[col].astype("string").str.strip()
    _check_ids(text, path, is_csv, col, what)
    return text.astype(object)


def _per_distinct(s: pd.Series, ok, dtype) -> pd.Series | None:
    """``s`` stripped as text and cast to ``dtype``, each distinct value stripped and checked once (a million
    rows hold a few thousand ids); None when ``ok`` refuses the distinct values, and the caller then checks
    row by row to name the first bad line."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)  # a missing cell is a distinct value too
    text = pd.Series(uniques).astype("string").str.strip()
    if not ok(text):
        return None
    return pd.Series(text.astype(dtype).to_numpy()[codes], index=s.index, dtype=dtype)


def _ids_ok(text: pd.Series) -> bool:
    """No id longer than ``MAX_ID_LENGTH`` and none with a control character (:func:`_check_ids`' rules)."""
    return not ((text.str.len().fillna(0) > MAX_ID_LENGTH).any()
                or text.str.contains(r"[\x00-\x1f\x7f]", regex=True).fillna(False).astype(bool).any())


def _check_ids(text: pd.Series, path, is_csv, col, what) -> None:
    """Refuse ids longer than ``MAX_ID_LENGTH`` or holding control characters (newline, tab, NUL, ...)."""
    long_ = text.str.len().fillna(0) > MAX_ID_LENGTH
    if long_.any():
        shown = text.str.slice(0, 40) + "..."  # the message quotes the start of the id, never all of it
        raise bad_rows_error(path, is_csv, long_, col, f"{what} id longer than {MAX_ID_LENGTH} characters", shown)
    control = text.str.contains(r"[\x00-\x1f\x7f]", regex=True).fillna(False).astype(bool)
    if control.any():
        raise bad_rows_error(path, is_csv, control, col, f"{what} id holds a control character (newline, tab, NUL)",
                             text.str.slice(0, 60))


def _dates(df, col, path, is_csv, dayfirst) -> pd.Series:
    raw = df[col]
    parsed = parse_datetimes(raw, dayfirst)
    bad = parsed.isna()
    if bad.any():
        hint = "day-first dates like 31/12/2020" if dayfirst else "ISO dates like 2020-12-31 (or pass --dayfirst)"
        raise bad_rows_error(path, is_csv, bad, col, f"missing, unparseable or impossible date; expected {hint}", raw)
    timed = parsed != parsed.dt.normalize()
    if timed.any():
        raise bad_rows_error(path, is_csv, timed, col, "has a time of day; aggregate the data to days or weeks first",
                             raw)
    check_date_window(parsed, raw, path, is_csv, col)
    check_detached_dates(parsed, raw, path, is_csv, col)
    return parsed.astype("datetime64[ns]")


def _numbers(df, col, path, is_csv) -> pd.Series:
    raw = df[col]
    values = text_to_float(raw) if not pd.api.types.is_numeric_dtype(raw) else raw
    values = values.astype(float)
    bad = (values.isna() & raw.notna()) | np.isinf(values)
    if bad.any():
        raise bad_rows_error(path, is_csv, bad, col, "not a number", raw)
    check_finite(values, raw, path, is_csv, col)
    return values


def _by_distinct(raw: pd.Series, fn):
    """``fn(raw)`` (a Series or a tuple of Series, row by row) computed once per distinct value and spread back
    over the rows. When ``fn`` refuses a value it runs again on every row, so that its message names the
    first bad line as before."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    if len(uniques) * 2 > len(raw):
        return fn(raw)
    try:
        out = fn(pd.Series(uniques, dtype=raw.dtype))
    except IngestError:
        return fn(raw)

    def spread(part: pd.Series) -> pd.Series:
        return pd.Series(part.to_numpy()[codes], index=raw.index, dtype=part.dtype)
    return tuple(spread(part) for part in out) if isinstance(out, tuple) else spread(out)


def _flags(df, col, path, is_csv) -> tuple[pd.Series, pd.Series]:
    """A 0/1 flag from booleans, yes/no, 0/1 or any number (> 0 = on). Returns (flag, numeric value or NaN)."""
    raw = df[col]
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(int), raw.astype(float)
    return _by_distinct(raw, lambda r: _flag_values(r, path, is_csv, col))


def _flag_values(raw: pd.Series, path, is_csv, col) -> tuple[pd.Series, pd.Series]:
    text = raw.astype("string").str.strip().str.lower()
    num = pd.to_numeric(text, errors="coerce").astype(float)
    is_true, is_false = text.isin(TRUE), text.isin(FALSE)
    bad = raw.notna() & num.isna() & ~is_true & ~is_false
    if bad.any():
        raise bad_rows_error(path, is_csv, bad, col, "expected 0/1, true/false, yes/no or a number", raw)
    check_finite(num, raw, path, is_csv, col)
    flag = (is_true | (num > 0)).fillna(False).astype(int)
    return flag, num.where(num.notna(), is_true.astype(float).where(raw.notna()))


def _holidays(df, col) -> pd.Series:
    """Holiday name per row (NaN = none): booleans/1 -> the column name, codes like 'a' -> '<column> a'."""
    return _by_distinct(df[col], lambda raw: _holiday_names(raw, col))


def _holiday_names(raw: pd.Series, col: str) -> pd.Series:
    text = raw.astype("string").str.strip()
    low = text.str.lower()
    none = text.isna() | (text == "") | low.isin(FALSE)
    name = (col + " " + text).where(~low.isin(TRUE), col)
    return name.where(~none).astype(object)


def _show(value) -> str:
    """A value as a user wrote it (numpy scalars unwrapped)."""
    return repr(value.item() if hasattr(value, "item") else value)


def _consistent(keys: pd.Series, values: pd.Series, path, is_csv, key_col, val_col) -> pd.Series:
    """One value per key (e.g. one region per store); returns key -> value, or raises naming two lines."""
    frame = pd.DataFrame({"k": keys, "v": values.fillna(DEFAULT_MEMBER)})
    pairs = frame.drop_duplicates()
    clash = pairs["k"].duplicated(keep=False)
    if clash.any():
        k = pairs.loc[clash, "k"].iloc[0]
        lines = pairs.index[pairs["k"] == k][:2]
        raise IngestError(f"{where(path, is_csv, lines[1], val_col)}: {key_col} {k!r} has two values "
                          f"{frame.loc[lines[0], 'v']!r} ({where(path, is_csv, lines[0]).split(': ')[-1]}) and "
                          f"{frame.loc[lines[1], 'v']!r}; it must have one")
    return pairs.set_index("k")["v"]


def _scoped(per_store: pd.DataFrame, value_cols: list[str], regions: pd.Series | None) -> tuple[pd.DataFrame, str]:
    """Values per (store, date) -> the coarsest scope where they are constant: ("all"), ("region") or ("store")."""
    if per_store["store_id"].nunique() == 1 and per_store["store_id"].iloc[0] == DEFAULT_MEMBER:
        return per_store.rename(columns={"store_id": "scope_id"}), "store"
    for scope, key in (("region", "region"),):
        if regions is None:
            break
        d = per_store.assign(region=per_store["store_id"].map(regions))
        if (d.groupby([key, "date"])[value_cols].nunique(dropna=False) <= 1).all().all():
            out = d.drop_duplicates([key, "date"]).drop(columns=["store_id"]).rename(columns={key: "scope_id"})
            return out, scope
    return per_store.rename(columns={"store_id": "scope_id"}), "store"


def _events(sd: pd.DataFrame, regions: pd.Series | None) -> pd.DataFrame:
    """Holiday per (store, date) -> calendar events with scope "all" when every store agrees, else region/store."""
    cols = ["date", "scope", "scope_id", "name", "kind"]
    if sd["name"].isna().all():
        return pd.DataFrame(columns=cols)
    agree = sd.groupby("date")["name"].nunique(dropna=False) == 1
    all_dates = sd[sd["date"].isin(agree[agree].index)].drop_duplicates("date").dropna(subset=["name"])
    out = [pd.DataFrame({"date": all_dates["date"], "scope": SCOPE_ALL, "scope_id": ALL, "name": all_dates["name"]})]
    rest = sd[~sd["date"].isin(agree[agree].index)]
    if len(rest):
        scoped, scope = _scoped(rest[["store_id", "date", "name"]], ["name"], regions)
        scoped = scoped.dropna(subset=["name"])
        out.append(pd.DataFrame({"date": scoped["date"], "scope": scope, "scope_id": scoped["scope_id"],
                                 "name": scoped["name"]}))
    ev = pd.concat(out, ignore_index=True).assign(kind="holiday")
    return ev[cols].drop_duplicates(["date", "scope", "scope_id", "name"]).reset_index(drop=True)


def _covariates(df: pd.DataFrame, extras: list[str]) -> pd.DataFrame:
    """Extra columns in long form, stored once per store (product "*") or once per date (store "*") when constant."""
    parts = []
    for col in extras:
        d = df[["store_id", "product_id", "date", col]].dropna(subset=[col]).rename(columns={col: "value"})
        if d.empty:
            continue
        if (d.groupby(["store_id", "date"])["value"].nunique() <= 1).all():
            d = d.drop_duplicates(["store_id", "date"]).assign(product_id=ALL)
            if (d.groupby("date")["value"].nunique() <= 1).all():
                d = d.drop_duplicates(["date"]).assign(store_id=ALL)
        parts.append(d.assign(name=col)[["name", "store_id", "product_id", "date", "value"]])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["name", "store_id", "product_id", "date", "value"])


def _read_stores(stores_file, stores_map) -> tuple[pd.DataFrame, Path]:
    """Store attributes from a separate file: store id, optional name/region/type/size, other columns -> attrs."""
    df, is_csv = read_any(stores_file)  # a workbook: its first sheet
    df = df.dropna(how="all")
    path = Path(stores_file)
    if stores_map:
        m = parse_mapping(stores_map, allowed=STORE_FIELDS, required=("store",), what="--stores-map")
    else:
        guess = [c for c in df.columns if c.lower() in ("store", "store_id")]
        if not guess:
            raise IngestError(f"{path}: line 1 (header): no 'Store' column; pass --stores-map store=COLUMN,...")
        m = {"store": guess[0]}
    missing = [c for c in m.values() if c not in df.columns]
    if missing:
        raise IngestError(f"{path}: line 1 (header), column {missing[0]!r}: mapped column not found "
                          f"(--stores-map); the file has columns {list(df.columns)}")
    out = pd.DataFrame({"store_id": _ids(df, m["store"], path, is_csv, "store")}, index=df.index)
    dup = out["store_id"].duplicated()
    if dup.any():
        raise bad_rows_error(path, is_csv, dup, m["store"], "store listed twice", df[m["store"]])
    for fld in ("name", "region", "type"):
        if fld in m:
            out[fld] = (_names(df, m[fld], path, is_csv, fld) if fld == "region"
                        else df[m[fld]].astype("string").str.strip().astype(object))
    if "size" in m:
        out["size"] = _numbers(df, m["size"], path, is_csv)
    others = [c for c in df.columns if c not in m.values()]
    out["attrs"] = [json.dumps({k: (None if pd.isna(v) else v) for k, v in zip(others, row)}, default=str)
                    if others else None for row in df[others].itertuples(index=False, name=None)]
    return out.reset_index(drop=True), path


def _parse_columns(df, m, extras, path, is_csv, dayfirst) -> tuple[pd.DataFrame, list[str]]:
    """Every mapped column parsed and checked (dates, ids, numbers, flags), plus the warnings it gives."""
    out = pd.DataFrame(index=df.index)
    out["date"] = _dates(df, m["date"], path, is_csv, dayfirst)
    out["store_id"] = _ids(df, m["store"], path, is_csv, "store") if "store" in m else DEFAULT_MEMBER
    out["product_id"] = _ids(df, m["product"], path, is_csv, "product") if "product" in m else DEFAULT_MEMBER
    out["sales"] = _numbers(df, m["sales"], path, is_csv)
    out["promo"], promo_value = _flags(df, m["promo"], path, is_csv) if "promo" in m else (0, None)
    if "promo_intensity" in m:
        out["promo_intensity"] = _numbers(df, m["promo_intensity"], path, is_csv)
    elif promo_value is not None and not promo_value.dropna().isin([0.0, 1.0]).all():
        out["promo_intensity"] = promo_value  # a numeric promo column (e.g. discount depth) is also the intensity
    else:
        out["promo_intensity"] = np.nan
    out["is_open"], open_value = _flags(df, m["open"], path, is_csv) if "open" in m else (1, None)
    warnings = []
    if open_value is not None and open_value.isna().any():
        out.loc[open_value.isna(), "is_open"] = 1
        warnings.append(f"{int(open_value.isna().sum())} rows have no open flag: treated as open")
    for fld in ("price", "units", "temperature", "precipitation", "cost"):
        out[fld] = _numbers(df, m[fld], path, is_csv) if fld in m else np.nan
    for col in extras:
        out[col] = _numbers(df, col, path, is_csv)
    out["holiday"] = _holidays(df, m["holiday"]) if "holiday" in m else np.nan
    for fld in ("category", "region"):
        out[fld] = _names(df, m[fld], path, is_csv, fld) if fld in m else np.nan
    return out, warnings


def _drop_duplicates(out, m, path, is_csv) -> tuple[pd.DataFrame, int]:
    """Exact duplicate rows dropped (and counted); two rows for one key with different values raise."""
    keys = ["store_id", "product_id", "date"]
    value_cols = [c for c in out.columns if c not in keys]
    if not out.duplicated(keys).any():  # no key twice: nothing is a duplicate (most files; the check below is slow)
        return out, 0
    ident = out.astype({c: object for c in value_cols}).fillna({c: "<NA>" for c in value_cols}).duplicated(
        keys + value_cols)
    duplicates = int(ident.sum())
    out = out[~ident]
    clash = out.duplicated(keys, keep=False)
    if clash.any():
        first = out[clash].iloc[0]
        same = out[clash & (out["store_id"] == first["store_id"]) & (out["product_id"] == first["product_id"])
                   & (out["date"] == first["date"])]
        a, b = same.iloc[0], same.iloc[1]
        diff = next(c for c in value_cols if not (a[c] == b[c] or (pd.isna(a[c]) and pd.isna(b[c]))))
        col = m.get({"is_open": "open", "holiday": "holiday"}.get(diff, diff), diff)
        raise IngestError(f"{where(path, is_csv, same.index[1], col)}: conflicting duplicate of "
                          f"{where(path, is_csv, same.index[0]).split(': ')[-1]} (store {a['store_id']}, product "
                          f"{a['product_id']}, date {a['date'].date()}) with a different value: {_show(a[diff])} vs {_show(b[diff])}"
                          "; a file of order lines (one row per product in an order)? import it with "
                          "`python cli.py ingest orders`, which sums them")
    return out, duplicates


def _merge_store_file(stores, store_ids, stores_file, stores_map, warnings: list[str]):
    """Store attributes from ``stores_file`` merged over the ones derived from the sales file.

    Returns the merged stores, the file's path (it joins the content hash) and the store -> region map when the
    store file maps a region (else None: the sales file's regions stay).
    """
    attrs, spath = _read_stores(stores_file, stores_map)
    stores = stores[["store_id", "name", "region"]].merge(attrs, on="store_id", how="left", suffixes=("", "_f"))
    for fld in ("name", "region"):
        if f"{fld}_f" in stores:
            stores[fld] = stores[f"{fld}_f"].where(stores[f"{fld}_f"].notna(), stores[fld])
    for fld in ("type", "size", "attrs"):
        if fld not in stores:
            stores[fld] = None
    stores = stores[["store_id", "name", "region", "type", "size", "attrs"]]
    unknown = sorted(set(store_ids) - set(attrs["store_id"]))
    if unknown:
        warnings.append(f"{len(unknown)} store(s) not in {spath.name}: {unknown[:5]}")
    regions = None
    if "region" in (parse_mapping(stores_map, STORE_FIELDS, ("store",), "--stores-map") if stores_map else {}):
        regions = stores.set_index("store_id")["region"]
    return stores, spath, regions


def prepare(path, mapping, extra="", dayfirst=False, stores_file=None, stores_map=None, dataset_name=None,
            frequency=None, sheet=None) -> Prepared:
    """Read, parse and validate a long-format sales file; return the frames to write.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.csv.gz`` or ``.parquet`` file with one row per (store, product, date).
    mapping : str or dict
        ``field=COLUMN`` pairs; ``date`` and ``sales`` are required (see :data:`domain.IMPORT_FIELDS`).
    extra : str or list of str
        Extra numeric columns kept as covariates.
    dayfirst : bool
        Dates are day-first (31/12/2020) instead of ISO.
    stores_file, stores_map : optional
        A store attributes file and its ``store=,name=,region=,type=,size=`` mapping.
    dataset_name : str, optional
        Name in the import log (default: the file name without extension).
    frequency : {"D", "W"}, optional
        Override the frequency detected from the median spacing of the dates.
    sheet : str, optional
        The sheet of a workbook (.xlsx, .xls, .ods) to read (default: the first).

    Returns
    -------
    Prepared
        Validated frames and the counts the summary reports.
    """
    m = parse_mapping(mapping)
    extras = [c.strip() for c in (extra.split(",") if isinstance(extra, str) else (extra or [])) if c.strip()]
    if frequency not in (None, "", "D", "W"):
        raise IngestError(f"--freq: {frequency!r} is not D or W")
    df, is_csv = read_any(path, sheet)
    path = Path(path)
    wanted = list(m.values()) + extras
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        fld = next((k for k, v in m.items() if v == missing[0]), "extra")
        raise IngestError(f"{path}: line 1 (header), column {missing[0]!r}: mapped column not found "
                          f"({'--map ' + fld + '=' + missing[0] if fld != 'extra' else '--extra'}); "
                          f"the file has columns {list(df.columns)}")
    rows_read = len(df)
    rejected: dict[str, int] = {}
    blank = df.isna().all(axis=1)
    if blank.any():
        rejected["blank line"] = int(blank.sum())
        df = df[~blank]
    rows_read -= int(blank.sum())

    out, warnings = _parse_columns(df, m, extras, path, is_csv, dayfirst)
    warnings = list(df.attrs.get("warnings", [])) + warnings
    plan, future = sales_plan_rows(out, m, path, is_csv)  # future rows without sales become plan rows
    out = out[~future]
    no_sales = out["sales"].isna()
    if no_sales.any():
        rejected["missing sales value"] = int(no_sales.sum())
        out = out[~no_sales]
    if out.empty:
        raise IngestError(f"{path}: no row has a sales value (column {m['sales']!r})")

    out, duplicates = _drop_duplicates(out, m, path, is_csv)

    regions = _consistent(out["store_id"], out["region"], path, is_csv, "store", m["region"]) if "region" in m else None
    cats = _consistent(out["product_id"], out["category"], path, is_csv, "product", m["category"]) \
        if "category" in m else None
    freq = frequency or detect_frequency(out["date"], str(path))

    store_ids = sorted(out["store_id"].unique())
    stores = pd.DataFrame({"store_id": store_ids,
                           "name": ["All stores" if s == DEFAULT_MEMBER else f"Store {s}" for s in store_ids],
                           "region": [regions.get(s, DEFAULT_MEMBER) if regions is not None else DEFAULT_MEMBER for s in store_ids],
                           "type": None, "size": np.nan, "attrs": None})
    hashed = [path]
    if stores_file:
        stores, spath, file_regions = _merge_store_file(stores, store_ids, stores_file, stores_map, warnings)
        hashed.append(spath)
        if file_regions is not None:
            regions = file_regions
    product_ids = sorted(out["product_id"].unique())
    products = pd.DataFrame({"product_id": product_ids,
                             "name": ["All products" if p == DEFAULT_MEMBER else f"Product {p}" for p in product_ids],
                             "category": [cats.get(p, DEFAULT_MEMBER) if cats is not None else DEFAULT_MEMBER for p in product_ids]})

    per_store = out.groupby(["store_id", "date"], as_index=False).agg(
        name=("holiday", "first"), temp_c=("temperature", "mean"), precip_mm=("precipitation", "mean"))
    events = _events(per_store[["store_id", "date", "name"]], regions) if "holiday" in m else None
    weather = None
    if "temperature" in m or "precipitation" in m:
        wx = per_store.dropna(subset=["temp_c", "precip_mm"], how="all")[["store_id", "date", "temp_c", "precip_mm"]]
        wx, scope = _scoped(wx, ["temp_c", "precip_mm"], regions)
        weather = wx.assign(scope=scope)[["scope", "scope_id", "date", "temp_c", "precip_mm"]]
    covariates = _covariates(out, extras) if extras else None

    opts = {"mapping": m, "extra": extras, "dayfirst": bool(dayfirst), "stores_map": stores_map,
            "frequency": frequency, **({"sheet": sheet} if sheet else {})}
    name = dataset_name or path.name.removesuffix(".gz").rsplit(".", 1)[0]
    return Prepared(
        name=name, source=str(path.resolve()), frequency=freq, content_hash=file_hash(hashed, opts),
        stores=stores, products=products,
        sales=out[["store_id", "product_id", "date", "sales", "units", "promo", "promo_intensity", "price",
                   "is_open"]].reset_index(drop=True),
        covariates=covariates, events=events, weather=weather, rows_read=rows_read, rejected=rejected,
        duplicates=duplicates, options=opts, warnings=warnings, plan=plan,
        weak_store_attrs=not ("region" in m or stores_file), weak_product_attrs="category" not in m)
