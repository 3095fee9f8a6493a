"""Real-time forecast of one node from the stored models of the current run, with an optional plan (no refit).

What ``POST /api/v1/predict`` runs. The refresh saved its fitted global models per group (``<model>__store_product``,
``<model>__aggregates``) and the local models of the aggregate nodes (:mod:`jobs.artifacts`). For a key this:

1. reads the model chosen for it in the current run (a single model or an equal-weight combination ``a+b``);
2. builds its future inputs exactly as the refresh did (:func:`jobs.plan_inputs.known_inputs`: calendar, weather,
   the stored plan, regular prices), restricted to the key's bottom series, then overlays the request's plan:
   promotions (``promo`` 1, ``promo_intensity`` the depth), prices and closures (``is_open`` 0) on those days;
3. predicts with each member model restricted to the key (a shallow copy whose per-series state holds only it),
   zeroes closed days and averages the members like the refresh did.

The result is the key's *base* forecast: the stored ``final`` forecast is reconciled across the hierarchy, which
needs every node, so a one-key prediction is not (``reconciled: false``). Without a plan it equals the stored base
forecast of the chosen model. Bottom-level local models (ETS, ARIMA, Prophet) are not stored by the refresh
(they are cheap refits), so a bottom key whose chosen model includes one is refused with a message. Loaded model
files are cached per process (the first call of a run pays the load).
"""
from __future__ import annotations

import copy
import functools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

import config
from data import store
from data.plans import PLAN_FIELDS
from domain import BOTTOM_LEVEL, freq_step
from jobs import artifacts
from jobs import plan_inputs as pi
from jobs import refresh_inputs as ri
from models import combination, registry
from models.backtest import zero_closed

FORECAST = ["ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


class PredictError(ValueError):
    """A request predict cannot serve; ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 422, field: str | None = None):
        super().__init__(message)
        self.status, self.field = status, field


@dataclass(frozen=True)
class Period:
    """One plan entry over the days ``start..end`` (both included): a promotion, a price or a closure."""
    kind: str  # "promotion" | "price" | "closure"
    start: pd.Timestamp
    end: pd.Timestamp
    value: float | None = None  # depth of a promotion (None: the plan's or the model's default), the price


@functools.lru_cache(maxsize=16)
def _artifact(run_id: str, name: str):
    return artifacts.load_model(run_id, name)


@functools.lru_cache(maxsize=16)
def _history_rows(run_id: str, name: str) -> dict:
    """``{series_id: (first row, end row)}`` of a stored global model's training history (sorted by series)."""
    sids = _artifact(run_id, name).history_["series_id"].to_numpy(dtype=object)
    if len(sids) == 0:
        return {}
    cuts = np.flatnonzero(sids[1:] != sids[:-1]) + 1
    starts = np.r_[0, cuts]
    ends = np.r_[cuts, len(sids)]
    return {sids[a]: (int(a), int(b)) for a, b in zip(starts, ends)}


@functools.lru_cache(maxsize=4)
def _store_future(run_id: str, dates: tuple, freq: str, url: str | None) -> pd.DataFrame:
    """The refresh's store-level future inputs of ``dates`` (calendar, weather, planned covariates), per run."""
    return ri.store_future(store.stores(url=url), pd.DatetimeIndex(dates), freq, config.load().country, url=url)


def _members(node: dict, url: str | None) -> pd.DataFrame:
    filters = {k: node.get(k) for k in ("region", "store_id", "category", "product_id") if node.get(k) is not None}
    return store.nodes(BOTTOM_LEVEL, url=url, **filters).reset_index(drop=True)


def _model_for(run_id: str, name: str, key: str, level: str):
    """The fitted model ``name`` that forecast ``key`` in ``run_id``, restricted to ``key``."""
    group = BOTTOM_LEVEL if level == BOTTOM_LEVEL else "aggregates"
    artifact = f"{name}__{group}"
    if registry.model_class(name).is_global:  # trained per series group: the group's model that holds the key
        for sub in artifacts.group_names(run_id, group):
            artifact = f"{name}__{sub}"
            fitted = _artifact(run_id, artifact)
            if key in fitted.last_ds_.index:
                break
    else:
        fitted = None
        if group == "aggregates":
            for batch in _artifact(run_id, "local__aggregates"):
                cand = batch.get(name)
                if cand is not None and key in cand.last_ds_.index:
                    fitted = cand
                    break
        if fitted is None:
            raise PredictError(f"the {name} model of {key!r} is not stored by the refresh (bottom-level local models "
                               "are refitted, not saved): GET /api/v1/forecasts/{key} has its stored forecast", 409)
    if key not in fitted.last_ds_.index:
        raise PredictError(f"the stored {name} model of run {run_id} has no series {key!r}", 409)
    one = copy.copy(fitted)  # shallow: the fitted trees and per-series tables are shared, only the views change
    one.last_ds_ = fitted.last_ds_.loc[[key]]
    if hasattr(fitted, "history_"):
        if registry.model_class(name).is_global:
            lo, hi = _history_rows(run_id, artifact)[key]
            one.history_ = fitted.history_.iloc[lo:hi].reset_index(drop=True)
        else:
            one.history_ = fitted.history_[fitted.history_["series_id"].to_numpy() == key].reset_index(drop=True)
    return one


def _overlay(plan: pd.DataFrame, members: pd.DataFrame, periods: list[Period]) -> pd.DataFrame:
    """The expanded plan of the members with the request's periods written over it (request wins)."""
    rows = []
    ids = members[["store_id", "product_id"]].astype(str)
    for p in periods:
        days = pd.date_range(p.start, p.end, freq="D")
        block = ids.loc[ids.index.repeat(len(days))].assign(date=np.tile(days.to_numpy(), len(ids)))
        if p.kind == "promotion":
            block = block.assign(promo=1.0, promo_intensity=np.nan if p.value is None else p.value)
        elif p.kind == "price":
            block = block.assign(price=p.value)
        else:
            block = block.assign(is_open=0.0, promo=0.0, promo_intensity=0.0)
        rows.append(block)
    if not rows:
        return plan
    keys = ["store_id", "product_id", "date"]
    extra = pd.concat(rows, ignore_index=True).groupby(keys, as_index=False, sort=False).last()
    if len(plan):
        merged = plan.astype({"store_id": str, "product_id": str}).merge(extra, on=keys, how="outer",
                                                                         suffixes=("", "_req"))
    else:
        merged = extra
    for col in PLAN_FIELDS:
        if f"{col}_req" in merged:
            req = merged.pop(f"{col}_req")
            merged[col] = req.where(req.notna(), merged[col])
        elif col not in merged:
            merged[col] = np.nan
    return merged


@functools.lru_cache(maxsize=256)
def _ingredients(run_id: str, key: str, version: str, dates: tuple, freq: str, url: str | None) -> tuple:
    """What the key's future inputs are built from, cached per run, key and data version (a plan edit or an
    import changes the version): its bottom series, their regular prices, their stored plan, the store-level
    future and the key's own calendar/weather rows. Callers must not modify the frames."""
    node = store.parse_node_id(key)
    members = _members(node, url)
    if members.empty:
        raise PredictError(f"{key!r} has no store x product series under it", 404)
    days = pd.DatetimeIndex(dates)
    origin = days[0] - freq_step(freq)
    start = (origin - pd.Timedelta(days=pi.PRICE_WINDOW_DAYS + 7)).date()
    if len(members) == 1:
        hist = store.series(members.loc[0, "node_id"], start=start, url=url).assign(series_id=members.loc[0, "node_id"])
    else:
        hist = store.bottom_frame(start=start, url=url)
        hist = hist[hist["series_id"].isin(set(members["node_id"]))]
    plan = store.expanded_plan(days.min(), days.max(), url=url)
    if len(plan):
        mine = pd.MultiIndex.from_frame(members[["store_id", "product_id"]].astype(str))
        plan = plan[pd.MultiIndex.from_frame(plan[["store_id", "product_id"]].astype(str)).isin(mine)]
    sfut = _store_future(run_id, dates, freq, url)
    sfut = sfut[sfut["store_id"].astype(str).isin(set(members["store_id"].astype(str)))]
    base = ri.node_future(sfut, members, node["level"])
    base = base.loc[base["series_id"] == key, ["series_id", "ds", "is_holiday", "temp_c", "precip_mm"]]
    return members, pi.regular_price(hist, origin), plan, sfut, base.reset_index(drop=True)


def _future(run_id: str, key: str, level: str, dates: pd.DatetimeIndex, freq: str, periods: list[Period],
            url: str | None) -> pd.DataFrame:
    """``X_future`` of ``key`` over ``dates`` as the refresh built it, with the request's plan written over it."""
    members, regular, plan, sfut, base = _ingredients(run_id, key, store.data_version(url), tuple(dates), freq, url)
    bplan = pi.bottom_plan(dates, members, _overlay(plan, members, periods), sfut, regular)
    agg = bplan if level == BOTTOM_LEVEL else pi.aggregate(bplan, pi.bottom_keys(members, [level])[level])
    x = base.merge(agg, on=["series_id", "ds"], how="left")
    x["is_holiday"] = np.maximum(x["is_holiday"].to_numpy(dtype=float), x.pop("event").fillna(0).to_numpy())
    return x[["series_id", "ds", *pi.PLAN_COLS, "is_holiday", "temp_c", "precip_mm"]]


def parse_plan(plan: dict | None, dates: pd.DatetimeIndex) -> list[Period]:
    """The request's plan (``promotions``, ``price``, ``closures``: lists of ``{start, end[, depth|price]}``) as
    periods inside the horizon; PredictError naming the field otherwise."""
    periods: list[Period] = []
    for field, kind, value_key in (("promotions", "promotion", "depth"), ("price", "price", "price"),
                                   ("closures", "closure", None)):
        for i, item in enumerate((plan or {}).get(field) or []):
            where = f"body.plan.{field}.{i}"
            try:
                start, end = pd.Timestamp(item["start"]).normalize(), pd.Timestamp(item["end"]).normalize()
            except (ValueError, TypeError, KeyError):
                raise PredictError(f"{field}[{i}]: start and end must be ISO dates", 422, where) from None
            if end < start:
                raise PredictError(f"{field}[{i}]: end {end.date()} is before start {start.date()}", 422, where)
            if start > dates[-1] or end < dates[0]:
                raise PredictError(f"{field}[{i}]: {start.date()}..{end.date()} is outside the forecast horizon "
                                   f"{dates[0].date()}..{dates[-1].date()}", 422, where)
            periods.append(Period(kind, start, end, None if value_key is None else item.get(value_key)))
    closed = [p for p in periods if p.kind == "closure"]
    for p in periods:
        if p.kind == "promotion" and any(c.start <= p.end and p.start <= c.end for c in closed):
            raise PredictError("a promotion overlaps a closure: a closed day cannot be promoted", 422,
                               "body.plan.closures")
    return periods


def predict(key: str, horizon: int | None = None, plan: dict | None = None, url: str | None = None) -> dict:
    """A fresh forecast of ``key`` for ``horizon`` steps from the current run's stored models (see the module).

    Returns ``{key, run_id, model, reconciled, plan_applied, elapsed_ms, points}``; PredictError otherwise.
    """
    t0 = time.perf_counter()
    run = store.current_run(url)
    if run is None:
        raise PredictError("no published run yet: start one with POST /api/v1/refresh", 404)
    rid = run["run_id"]
    node = store.parse_node_id(key)
    sel = store.selection(key, run_id=rid, url=url)
    if sel.empty:
        raise PredictError(f"run {rid} has no model for {key!r} (its level was not modelled; its forecast is "
                           "reconciled from other levels)", 409)
    chosen = str(sel["model"].iloc[0])
    freq = run["params"].get("freq") or store.frequency(url)
    h_run = int(run["params"].get("horizon") or 0)
    fitted = {name: _model_for(rid, name, key, node["level"]) for name in combination.members_of(chosen)}
    last = next(iter(fitted.values())).last_ds_.iloc[0]
    h_run = h_run or int(getattr(next(iter(fitted.values())), "horizon_steps", 0)) or 1
    h = h_run if horizon is None else int(horizon)
    if h > h_run:
        raise PredictError(f"horizon {h} is beyond the run's horizon of {h_run} steps (refresh with a longer "
                           "--horizon)", 422, "body.horizon")
    step = freq_step(freq)
    dates = pd.DatetimeIndex([last + step * (k + 1) for k in range(h_run)])
    periods = parse_plan(plan, dates)
    x = None
    if any(m.uses_exog for m in fitted.values()) or periods:
        x = _future(rid, key, node["level"], dates, freq, periods, url)
    parts = []
    for name, model in fitted.items():
        fc = model.predict(h_run, x if model.uses_exog else None)
        parts.append(zero_closed(fc, x).assign(model=name))
    fc = combination.average(pd.concat(parts, ignore_index=True), list(fitted), chosen).sort_values("ds").head(h)
    return {"key": key, "run_id": rid, "model": chosen, "reconciled": False,
            "plan_applied": {p: sum(1 for q in periods if q.kind == p) for p in ("promotion", "price", "closure")},
            "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1), "points": fc[FORECAST]}
