"""What is known at a forecast origin about the dates after it: the plan, the calendar and the weather forecast.

The same function builds the inputs of the published forecast (the horizon after the last date) and, for
as-known backtests (issue 13 §2b), the inputs of every fold's window as the product would have had them at the
fold's origin; only the weather differs: the horizon takes a stored future weather row where one exists, a
backtest window never does (the stored past weather is what happened, not a forecast), so both fall back to
the store's climatology from the history before the window.

Per bottom store x product series and date, field by field:

* ``promo``, ``promo_intensity``, ``price``, ``is_open``: the plan (:func:`data.store.expanded_plan`, the most
  specific grain wins) where it sets the field; otherwise the store's planned covariates (``promo`` /
  ``markdown_total`` rows, the Walmart importer's markdowns: promo = value > 0, intensity = markdown total),
  else no promotion (0, 0); the series' regular price (median price on non-promotion days of the 91 days
  before the origin); open unless the stored calendar has a closure.
* ``is_holiday``: the calendar (see :func:`jobs.refresh_inputs.store_future`), plus 1 where the plan names an
  event.

Aggregate nodes take the mean over their bottom series (promotion share, mean depth, mean price, share open)
and any holiday or event.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data import store
from data.plan_events import plan_events
from domain import BOTTOM_LEVEL
from jobs import refresh_inputs as ri

PLAN_COLS = ["promo", "promo_intensity", "price", "is_open"]
PRICE_WINDOW_DAYS = 91


def regular_price(bottom_hist: pd.DataFrame, origin: pd.Timestamp) -> pd.Series:
    """Per series (index ``series_id``) the median price on non-promotion days of the last 91 days up to
    ``origin``; a series with no such day keeps its last known price (NaN when it has none)."""
    if "price" not in bottom_hist:
        return pd.Series(dtype=float)
    h = bottom_hist.loc[bottom_hist["ds"] <= origin, ["series_id", "ds", "price", "promo"]]  # not every column
    if h["price"].isna().all():
        return pd.Series(dtype=float)
    h = h.dropna(subset=["price"])
    recent = h[(h["ds"] > origin - pd.Timedelta(days=PRICE_WINDOW_DAYS)) & (h["promo"].fillna(0) == 0)]
    med = recent.groupby("series_id")["price"].median()
    last = h.groupby("series_id")["price"].last()
    return med.reindex(last.index).fillna(last)


def bottom_keys(bottom_nodes: pd.DataFrame, levels) -> dict[str, pd.Series]:
    """Per level, the node key of every bottom series (index: the bottom series key)."""
    b = bottom_nodes.astype({c: str for c in ("store_id", "product_id", "region", "category")})
    sid = store.node_keys(BOTTOM_LEVEL, b)
    return {lv: pd.Series(store.node_keys(lv, b).to_numpy(), index=sid.to_numpy()) for lv in levels}


def bottom_plan(dates: pd.DatetimeIndex, bottom_nodes: pd.DataFrame, plan: pd.DataFrame, store_fut: pd.DataFrame,
                regular: pd.Series) -> pd.DataFrame:
    """``series_id, ds`` + :data:`PLAN_COLS` + ``event`` (0/1) for every bottom series and date (see the module).

    ``plan`` is the expanded plan (``store_id, product_id, date`` + plan fields, NaN = not planned);
    ``store_fut`` the store-level defaults of :func:`jobs.refresh_inputs.store_future`.
    """
    b = bottom_nodes[["store_id", "product_id", "region", "category"]].astype(str)
    sid = store.node_keys(BOTTOM_LEVEL, b).to_numpy()
    out = pd.DataFrame({"series_id": np.repeat(sid, len(dates)),
                        "store_id": np.repeat(b["store_id"].to_numpy(), len(dates)),
                        "product_id": np.repeat(b["product_id"].to_numpy(), len(dates)),
                        "ds": np.tile(dates.to_numpy(), len(b))})
    defaults = store_fut[["store_id", "ds", "promo", "promo_intensity", "is_open"]]
    out = out.merge(defaults, on=["store_id", "ds"], how="left")
    out["price"] = np.repeat(pd.Series(sid).map(regular).astype(float).to_numpy(), len(dates))  # once a series
    out["event"] = 0.0
    if len(plan):
        p = plan.rename(columns={"date": "ds"}).astype({"store_id": str, "product_id": str})
        p = p[p["ds"].isin(dates)]
        got = out[["store_id", "product_id", "ds"]].merge(p, on=["store_id", "product_id", "ds"], how="left")
        for col in PLAN_COLS:
            planned = pd.to_numeric(got[col], errors="coerce").to_numpy(dtype=float)
            out[col] = np.where(np.isnan(planned), out[col].to_numpy(dtype=float), planned)
        out["event"] = got["event"].notna().to_numpy(dtype=float)
    out[["promo", "promo_intensity"]] = out[["promo", "promo_intensity"]].astype(float).fillna(0.0)
    out["is_open"] = out["is_open"].astype(float).fillna(1.0)
    return out.drop(columns=["store_id", "product_id"])


def aggregate(bplan: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """The bottom plan of :func:`bottom_plan` for the nodes ``keys`` maps the bottom series to: means (any event)."""
    codes, uniques = pd.factorize(bplan["series_id"])  # each bottom series mapped once, not each row
    frame = bplan.assign(series_id=_categories(keys.reindex(uniques).to_numpy(), codes))
    out = frame.groupby(["series_id", "ds"], as_index=False, sort=True, observed=True).agg(
        promo=("promo", "mean"), promo_intensity=("promo_intensity", "mean"), price=("price", "mean"),
        is_open=("is_open", "mean"), event=("event", "max"))
    return out.assign(series_id=out["series_id"].astype(str))


def _categories(values, codes: np.ndarray) -> pd.Categorical:
    """``values[codes]`` as a categorical (sorted categories): grouping by it orders the groups as the strings
    would, without hashing a string per row."""
    node = pd.Categorical(values)
    return pd.Categorical.from_codes(node.codes[codes], node.categories)


def known_inputs(dates: pd.DatetimeIndex, levels, bottom_nodes: pd.DataFrame, bottom_hist: pd.DataFrame,
                 freq: str, country: str, url: str | None = None, stored_weather: bool = True,
                 plan: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """``X`` per level for ``dates``: what was known at the day before ``dates[0]`` (see the module docstring).

    Parameters
    ----------
    dates : DatetimeIndex
        The forecast dates (the horizon, or the backtest folds' windows).
    levels : iterable of str
        Levels to build.
    bottom_nodes : DataFrame
        The bottom nodes (``store_id, product_id, region, category``).
    bottom_hist : DataFrame
        The bottom history (``series_id, ds, promo, price``), for the regular prices up to the origin.
    stored_weather : bool
        Use stored weather rows on ``dates`` (a forecast of it) before climatology; False for backtest windows.
    plan : DataFrame, optional
        The expanded plan to use instead of the stored one (benchmarks).

    Returns
    -------
    dict
        ``{level: DataFrame series_id, ds, promo, promo_intensity, price, is_open, is_holiday, temp_c,
        precip_mm}``.
    """
    origin = dates.min() - ri.freq_step(freq)
    sfut = ri.store_future(store.stores(url=url), dates, freq, country, url=url, stored_weather=stored_weather)
    if plan is None:
        plan = store.expanded_plan(dates.min(), dates.max(), url=url)
    bplan = bottom_plan(dates, bottom_nodes, plan, sfut, regular_price(bottom_hist, origin))
    keys = bottom_keys(bottom_nodes, levels)
    out = {}
    for lv in levels:
        base = ri.node_future(sfut, bottom_nodes, lv)[["series_id", "ds", "is_holiday", "temp_c", "precip_mm"]]
        agg = bplan if lv == BOTTOM_LEVEL else aggregate(bplan, keys[lv])
        x = base.merge(agg, on=["series_id", "ds"], how="left")
        x["is_holiday"] = np.maximum(x["is_holiday"].to_numpy(dtype=float), x.pop("event").fillna(0).to_numpy())
        out[lv] = x[["series_id", "ds", *PLAN_COLS, "is_holiday", "temp_c", "precip_mm"]]
    return out


def history_plan_columns(frames: dict, bottom_nodes: pd.DataFrame, url: str | None = None) -> dict:
    """The history frames with each aggregate node's mean ``promo_intensity`` and ``price`` over its bottom
    series (``agg_sales`` keeps promotion and open shares only) and past plan events as holidays."""
    bottom = frames.get(BOTTOM_LEVEL)
    if bottom is None:
        return frames
    keys = bottom_keys(bottom_nodes, [lv for lv in frames if lv != BOTTOM_LEVEL])
    events = _plan_events(bottom["ds"].min(), bottom["ds"].max(), bottom_nodes, url)
    out = {BOTTOM_LEVEL: _with_events(bottom, events)}
    codes, uniques = pd.factorize(bottom["series_id"])  # map each series once, not each row, to its nodes
    small = bottom[["ds", "promo_intensity", "price"]]
    for lv, frame in frames.items():
        if lv == BOTTOM_LEVEL:
            continue
        sub = small.assign(series_id=_categories(keys[lv].reindex(uniques).to_numpy(), codes))
        means = sub.groupby(["series_id", "ds"], as_index=False, sort=False, observed=True)[
            ["promo_intensity", "price"]].mean()
        means["series_id"] = means["series_id"].astype(str)
        merged = frame.drop(columns=["promo_intensity", "price"]).merge(means, on=["series_id", "ds"], how="left")
        ev = None if events is None else events.assign(series_id=events["series_id"].map(keys[lv])) \
            .drop_duplicates(["series_id", "ds"])
        out[lv] = _with_events(merged[frame.columns], ev)
    return out


def _plan_events(start, end, bottom_nodes: pd.DataFrame, url: str | None) -> pd.DataFrame | None:
    """``series_id, ds`` of the bottom series' past plan events (None when the plan names none)."""
    plan = plan_events(start, end, url=url)
    if plan.empty:
        return None
    b = plan.astype({"store_id": str, "product_id": str})
    return pd.DataFrame({"series_id": store.node_keys(BOTTOM_LEVEL, b).to_numpy(), "ds": b["date"].to_numpy()})


def _with_events(frame: pd.DataFrame, events: pd.DataFrame | None) -> pd.DataFrame:
    if events is None or events.empty:
        return frame
    hit = frame[["series_id", "ds"]].merge(events.assign(_e=1.0), on=["series_id", "ds"], how="left")["_e"]
    return frame.assign(is_holiday=np.maximum(frame["is_holiday"].to_numpy(dtype=float),
                                              hit.fillna(0).to_numpy()))
