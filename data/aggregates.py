"""Aggregates: rebuild the hierarchy ``nodes`` and the pre-aggregated ``agg_sales`` from the facts after an import."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd
from sqlalchemy import Float, cast, delete, func, insert, select
from sqlalchemy.orm import Session

from data import schema
from data.engine import frame_from
from data.keys import node_id, node_keys
from data.writers import bulk_insert, driver_fast_path, iso_dates
from domain import BOTTOM_LEVEL, SCOPE_ALL

_SALES = schema.Sale.__table__
_STORES = schema.StoreDim.__table__
_PRODUCTS = schema.ProductDim.__table__

# Per aggregate level: the columns that make its node keys (selected under their key-part names).
_GROUPS = {"total": (), "region": (_STORES.c.region,), "store": (_SALES.c.store_id,),
           "category": (_PRODUCTS.c.category,), "product": (_SALES.c.product_id,),
           "store_category": (_SALES.c.store_id, _PRODUCTS.c.category)}


def _facts_with_dims():
    """``sales`` joined to its store and product rows."""
    return _SALES.join(_STORES, _STORES.c.store_id == _SALES.c.store_id).join(
        _PRODUCTS, _PRODUCTS.c.product_id == _SALES.c.product_id)


def rebuild_aggregates(session: Session, facts: pd.DataFrame | None = None,
                       computed: Future | None = None) -> int:
    """Recompute ``nodes`` and ``agg_sales`` from the facts (call inside the importer's transaction).

    Weather per node is the mean over its stores (store weather, else the store's region weather);
    ``is_holiday`` marks dates with an event of scope "all" or one matching the node's region/store.

    The facts are scanned three times, whatever the number of levels: once for the series present, once
    summed by store x category x date (which total, region, store, category and store x category roll up
    from, in pandas) and once by product x date. Summing every level in SQL scanned the joined facts once
    per level (eight scans), most of an import's time on millions of rows. ``facts``: the caller's frame
    that is exactly what the fact table holds (an import into an empty table); on SQLite the sums are then
    taken from it in pandas instead of scanning the table. ``computed``: what :func:`compute_in_background`
    returned (the caller has since written the facts), so only the writing is left.
    """
    if computed is not None:
        node_rows, levels = computed.result()
    else:
        conn = session.connection()
        if facts is not None and driver_fast_path(session):
            dims, by_store_cat, by_product = _sums_of_frame(facts, *_dim_tables(conn))
        else:
            dims, by_store_cat, by_product = _sums_in_sql(conn)
        node_rows, levels = _compute(dims, by_store_cat, by_product, *_exog_tables(conn))
    session.execute(delete(schema.AggSales.__table__))
    session.execute(delete(schema.Node.__table__))
    if node_rows:
        session.execute(insert(schema.Node.__table__), node_rows)
    return sum(bulk_insert(session, schema.AggSales, agg) for agg in levels)  # agg_sales was emptied above


def compute_in_background(session: Session, facts: pd.DataFrame) -> Future:
    """Start computing the aggregates of an import into an empty fact table (SQLite) in a thread, so they are
    summed while the facts are inserted: SQLite's inserts release the GIL, so the two share the cores.

    Reads the stores, products, weather and calendar events now (write them first); the thread then works on
    frames only, never on the connection. Pass the returned future to :func:`rebuild_aggregates` as
    ``computed`` once the facts are written."""
    conn = session.connection()
    dim_tables, exog_tables = _dim_tables(conn), _exog_tables(conn)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aggregates")
    try:
        return pool.submit(lambda: _compute(*_sums_of_frame(facts, *dim_tables), *exog_tables))
    finally:
        pool.shutdown(wait=False)  # the thread ends with its one task


def _dim_tables(conn) -> tuple[pd.DataFrame, pd.DataFrame]:
    st, p = _STORES.c, _PRODUCTS.c
    return (frame_from(conn, select(st.store_id, st.region, st.name.label("store_name"))),
            frame_from(conn, select(p.product_id, p.category, p.name.label("product_name"))))


def _exog_tables(conn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weather (scope, scope_id, date, temp_c, precip_mm) and the dates of holidays and closures by scope."""
    w = schema.Weather.__table__.c
    wx = frame_from(conn, select(w.scope, w.scope_id, w.date, w.temp_c, w.precip_mm))
    # NULLs arrive as None (object columns), which sends the groupby means below to a per-group Python path.
    wx[["temp_c", "precip_mm"]] = wx[["temp_c", "precip_mm"]].astype(float)
    e = schema.CalendarEvent.__table__.c
    ev = frame_from(conn, select(e.date, e.scope, e.scope_id).where(e.kind.in_(["holiday", "closure"])).distinct())
    return wx, ev


def _compute(dims: pd.DataFrame, by_store_cat: pd.DataFrame, by_product: pd.DataFrame, wx: pd.DataFrame,
             ev: pd.DataFrame) -> tuple[list[dict], list[pd.DataFrame]]:
    """The ``nodes`` rows and one ``agg_sales`` frame per level, from the sums and the exogenous tables."""
    regions = dict(zip(dims["store_id"], dims["region"]))
    by_store_cat.insert(1, "region", by_store_cat["store_id"].map(regions))
    # Store-level weather and holidays as a small frame, then node-level means.
    store_daily = by_store_cat[["store_id", "region", "date"]].drop_duplicates(["store_id", "date"])
    store_daily = _attach_exog(store_daily.reset_index(drop=True), wx, ev)
    levels = []
    for level, group in _GROUPS.items():
        keys = [c.name for c in group]
        agg = _level_sums(by_product if level == "product" else by_store_cat, keys)
        agg.insert(0, "node_id", node_keys(level, agg))
        agg = agg[["node_id", "date", "sales", "units", "promo_share", "open_share", "n_rows"]].assign(level=level)
        agg = agg.merge(_node_exog(level, store_daily, dims), on=["node_id", "date"], how="left")
        agg["is_holiday"] = agg["is_holiday"].fillna(0).astype(int)
        levels.append(agg)
    return (_node_rows(dims) if len(dims) else []), levels


_SUM_COLS = ["sales", "units", "promo_n", "open_n", "n_rows"]


def _sums_in_sql(conn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The series present with their dimensions, and the facts' sums by store x category x date and by
    product x date (``sales, units, promo_n, open_n, n_rows``), in three scans of the fact table."""
    s, st, p = _SALES.c, _STORES.c, _PRODUCTS.c
    series = select(s.store_id, s.product_id).distinct().subquery("series")
    dims = frame_from(conn, select(series.c.store_id, series.c.product_id, st.region, p.category,
                                   st.name.label("store_name"), p.name.label("product_name"))
                      .select_from(series.join(_STORES, st.store_id == series.c.store_id)
                                   .join(_PRODUCTS, p.product_id == series.c.product_id)))
    sums = (func.sum(s.sales).label("sales"), func.sum(s.units).label("units"),
            func.sum(s.promo).label("promo_n"), func.sum(s.is_open).label("open_n"), func.count().label("n_rows"))
    by_store_cat = frame_from(conn, select(s.store_id, p.category, s.date, *sums)
                              .select_from(_SALES.join(_PRODUCTS, p.product_id == s.product_id))
                              .group_by(s.store_id, p.category, s.date))
    by_product = frame_from(conn, select(s.product_id, s.date, *sums).group_by(s.product_id, s.date))
    return dims, by_store_cat, by_product


def _sums_of_frame(facts: pd.DataFrame, stores: pd.DataFrame,
                   products: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What :func:`_sums_in_sql` reads, from a frame holding exactly the fact table's rows (dates as SQLite
    stores them, ISO text) and the store and product tables (:func:`_dim_tables`)."""
    f = pd.DataFrame({"store_id": facts["store_id"].to_numpy(), "product_id": facts["product_id"].to_numpy(),
                      "date": iso_dates(facts["date"]),
                      "sales": facts["sales"].to_numpy(dtype=float), "units": facts["units"].to_numpy(dtype=float),
                      "promo_n": facts["promo"].to_numpy(dtype=float), "open_n": facts["is_open"].to_numpy(dtype=float),
                      "n_rows": 1})
    f["category"] = f["product_id"].map(dict(zip(products["product_id"], products["category"])))
    pairs = f[["store_id", "product_id"]].drop_duplicates().sort_values(["store_id", "product_id"])
    dims = pairs.merge(stores, on="store_id").merge(products, on="product_id")[
        ["store_id", "product_id", "region", "category", "store_name", "product_name"]]

    def sums(keys):
        return f.groupby(keys, as_index=False, sort=True)[_SUM_COLS].sum(min_count=1)
    return dims.reset_index(drop=True), sums(["store_id", "category", "date"]), sums(["product_id", "date"])


def _level_sums(sums: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The sums of one level by ``keys`` and date, rolled up from finer sums: sales, units (missing when no
    fact of the node and date has units), the promotion and open shares of the facts, and their count."""
    cols = ["sales", "units", "promo_n", "open_n", "n_rows"]
    sums = sums.astype({c: float for c in cols[:-1]})
    agg = sums.groupby([*keys, "date"], as_index=False, sort=True)[cols].sum(min_count=1)
    agg["promo_share"] = agg.pop("promo_n") / agg["n_rows"]
    agg["open_share"] = agg.pop("open_n") / agg["n_rows"]
    agg["n_rows"] = agg["n_rows"].astype("int64")
    return agg


def _node_rows(dims: pd.DataFrame) -> list[dict]:
    rows = [{"node_id": "total", "level": "total", "label": "Total", "region": None, "store_id": None,
             "category": None, "product_id": None}]
    seen = set()

    def add(level, label, **parts):
        key = node_id(level, **parts)
        if key not in seen:
            seen.add(key)
            rows.append({"node_id": key, "level": level, "label": label, "region": parts.get("region"),
                         "store_id": parts.get("store_id"), "category": parts.get("category"),
                         "product_id": parts.get("product_id")})

    for r in dims.itertuples(index=False):
        add("region", r.region, region=r.region)
        add("store", r.store_name, store_id=r.store_id, region=r.region)
        add("category", r.category, category=r.category)
        add("product", r.product_name, product_id=r.product_id, category=r.category)
        add("store_category", f"{r.store_name} / {r.category}", store_id=r.store_id, region=r.region,
            category=r.category)
        add(BOTTOM_LEVEL, f"{r.store_name} / {r.product_name}", store_id=r.store_id, region=r.region,
            category=r.category, product_id=r.product_id)
    return rows


def _attach_exog(store_daily: pd.DataFrame, wx: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    """Per store and date: temperature, precipitation and holiday flag."""
    out = store_daily.copy()
    for scope, key in (("store", "store_id"), ("region", "region")):
        part = wx[wx["scope"] == scope].rename(columns={"scope_id": key, "temp_c": f"t_{scope}",
                                                        "precip_mm": f"p_{scope}"})
        out = out.merge(part[[key, "date", f"t_{scope}", f"p_{scope}"]], on=[key, "date"], how="left")
    out["temp_c"] = out["t_store"].fillna(out["t_region"])
    out["precip_mm"] = out["p_store"].fillna(out["p_region"])
    hol = pd.Series(False, index=out.index)
    dates_all = set(ev.loc[ev["scope"] == SCOPE_ALL, "date"])
    hol |= out["date"].isin(dates_all)
    for scope, key in (("region", "region"), ("store", "store_id")):
        pairs = set(map(tuple, ev.loc[ev["scope"] == scope, ["scope_id", "date"]].to_numpy()))
        if pairs:
            hol |= pd.Series([(k, d) in pairs for k, d in zip(out[key], out["date"])], index=out.index)
    out["is_holiday"] = hol.astype(int)
    return out[["store_id", "region", "date", "temp_c", "precip_mm", "is_holiday"]]


def _node_exog(level: str, store_daily: pd.DataFrame, dims: pd.DataFrame) -> pd.DataFrame:
    """Mean weather and any-holiday over the stores under each node of ``level``."""
    sd = store_daily
    if level == "total":
        sd = sd.assign(node_id="total")
    elif level == "region":
        sd = sd.assign(node_id=node_keys("region", sd))
    elif level in ("store", "store_category"):
        sd = sd.assign(node_id=node_keys("store", sd))
    else:  # category / product: the stores that sell it
        col = "category" if level == "category" else "product_id"
        pairs = dims[["store_id", col]].drop_duplicates()
        sd = sd.merge(pairs, on="store_id")
        sd = sd.assign(node_id=node_keys(level, sd))
    out = sd.groupby(["node_id", "date"], as_index=False).agg(
        temp_c=("temp_c", "mean"), precip_mm=("precip_mm", "mean"), is_holiday=("is_holiday", "max"))
    if level == "store_category":
        cats = dims[["store_id", "category"]].drop_duplicates()
        cats["store_key"] = node_keys("store", cats)
        cats["key"] = node_keys("store_category", cats)
        out = out.merge(cats[["store_key", "key"]], left_on="node_id", right_on="store_key")
        out = out.drop(columns=["node_id", "store_key"]).rename(columns={"key": "node_id"})
    return out
