"""Sparse demand in the refresh: each level's demand classes, the intermittent models' tasks on the series classed
intermittent or lumpy, their selection by RMSSE, and the demand table the Explore page reads.

How the candidates are chosen per series (the design):

1. ``load`` classifies every series of every level (:func:`analytics.demand.classify_demand`, on the history the
   refresh forecasts from).
2. The intermittent models of ``RefreshParams.sparse_models`` (default Croston SBA and TSB) run as extra global
   tasks on the intermittent and lumpy series only (:func:`tasks`): they are vectorised, so this costs one fit per
   fold over those series. With no such series there are no extra tasks at all.
3. ``select`` first runs the regular selection on the regular candidates' rows only (:func:`split`): the
   per-level combination (or per-series choice) by the run's metric sees exactly the frames it saw before, so the
   choice for smooth and erratic series is unchanged, and so is the combination a level pools over all its series.
4. Then every sparse series is chosen again (:func:`choose`) between the regular choice of step 3 (its level's
   combination, or with ``selection="series"`` each regular model) and the intermittent models, by mean backtest
   RMSSE
   (:data:`models.selection.SPARSE_METRIC`): scale-free, defined on zeros (MAPE is not), and squared, so it does
   not reward forecasting 0 the way MAE does on mostly-zero series. With combinations the sparse series do not
   reopen the choice among the combination's members: on a few short folds of mostly-zero data, picking the best
   of many candidates per series mostly picks noise (measured in ``bench/accuracy.py --dataset sparse``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import demand
from data import store
from domain import BOTTOM_LEVEL, Frames
from jobs.refresh_inputs import hierarchy_of
from jobs.tasks import global_tasks
from models.selection import SPARSE_METRIC, select_sparse


def classify(frames: dict) -> dict[str, pd.DataFrame]:
    """``{level: demand classes}`` of every level's series (:func:`analytics.demand.classify_demand`)."""
    return {lv: demand.classify_demand(f) for lv, f in frames.items()}


def sparse_models(params) -> list[str]:
    """The intermittent models to add: ``params.sparse_models`` minus those already regular candidates."""
    return [m for m in (params.sparse_models or ()) if m not in params.models]


def tasks(inputs, params, model_params: dict) -> list:
    """Global tasks of the intermittent models on the intermittent and lumpy series of each level (none
    without such series)."""
    names = sparse_models(params)
    ids = {lv: set(demand.sparse_ids(c)) for lv, c in (inputs.classes or {}).items()}
    ids = {lv: s for lv, s in ids.items() if s}
    if not names or not ids:
        return []

    def only(frames):
        return None if frames is None else {lv: frames[lv][frames[lv]["series_id"].isin(s)].reset_index(drop=True)
                                             for lv, s in ids.items() if lv in frames}
    return global_tasks(only(inputs.frames), only(inputs.futures), params, names, model_params, only(inputs.knowns))


def split(metrics: pd.DataFrame, cands: pd.DataFrame, backtests: pd.DataFrame | None, params):
    """``(regular, extra)``: the rows of the regular candidates ``(metrics, cands, backtests)`` and those of the
    intermittent models ``(metrics, cands)``."""
    names = sparse_models(params)
    m_extra, c_extra = metrics["model"].isin(names).to_numpy(), cands["model"].isin(names).to_numpy()
    bt = None if backtests is None else _without(backtests, backtests["model"].isin(names).to_numpy())
    return (metrics[~m_extra], _without(cands, c_extra), bt), (metrics[m_extra], _without(cands, ~c_extra))


def _without(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """``frame[~rows]``, as a view (no copy) when ``rows`` are none, or a block at the start or at the end of
    ``frame``: the intermittent models' tasks run first, so their forecasts and backtests are the first rows of
    the map's (millions of rows at scale, copied once less)."""
    n = int(rows.sum())
    if n == 0:
        return frame
    if rows[:n].all():
        return frame.iloc[n:]
    if rows[len(rows) - n:].all():
        return frame.iloc[:len(rows) - n]
    return frame[~rows]


def choose(sel: pd.DataFrame, metrics: pd.DataFrame, cands: pd.DataFrame, classes: dict, fallback: str,
           extra=(), regular_choice_only: bool = True) -> pd.DataFrame:
    """``sel`` with each sparse series' choice replaced by its best candidate on RMSSE (see
    :func:`models.selection.select_sparse`): the intermittent models ``extra`` and, with
    ``regular_choice_only``, the series' regular choice in ``sel`` (else every regular model)."""
    ids = sorted(set().union(*(demand.sparse_ids(c) for c in classes.values()))) if classes else []
    if not ids or metrics.empty or SPARSE_METRIC not in metrics.columns:
        return sel
    have = cands[["series_id", "model"]].drop_duplicates()
    if regular_choice_only:
        have = have[have["model"].isin(list(extra))
                    | have.set_index(["series_id", "model"]).index.isin(sel.set_index(["series_id", "model"]).index)]
    sparse_sel = select_sparse(metrics, ids, have, fallback)
    keep = sel[~sel["series_id"].isin(set(sparse_sel["series_id"]))]
    return pd.concat([keep, sparse_sel[keep.columns]], ignore_index=True).sort_values(
        "series_id", kind="mergesort").reset_index(drop=True)


def unit_costs(bottom: pd.DataFrame, url: str | None) -> pd.Series | None:
    """Unit cost per bottom series_id from the inventory inputs (only where one is set), or None without any;
    ``bottom``: ``series_id, store_id, product_id`` of the bottom series (rows or one per series)."""
    costs = store.inventory_params(url=url)
    if costs.empty or costs["unit_cost"].isna().all():
        return None
    keys = bottom[["series_id", "store_id", "product_id"]].drop_duplicates("series_id").astype(str)
    got = keys.merge(costs[["store_id", "product_id", "unit_cost"]].astype({"store_id": str, "product_id": str}),
                     on=["store_id", "product_id"], how="left")
    return got.set_index("series_id")["unit_cost"]


def demand_tables(frames: dict, freq: str, url: str | None = None,
                  classes: dict | None = None) -> dict[str, pd.DataFrame]:
    """``{level: table}``: every series' demand class, ABC/XYZ, revenue and margin
    (:func:`analytics.demand.demand_table`); aggregate nodes' margin is the sum of their bottom series' (NaN when
    one of them has none).

    The frames need ``series_id, ds, y`` and, for the margins, the bottom level's ``price``: each node's
    hierarchy is read from its key, as :func:`jobs.refresh_inputs.with_hierarchy` gives the frames theirs.
    ``classes``: ``{level: classify_demand}`` of these frames when the caller has them (the refresh's load),
    used instead of classifying again. The levels are tabled one at a time on integer series codes.
    """
    classes = classes or {}
    tables = {lv: demand.demand_table(f, freq, classes=classes.get(lv)) for lv, f in frames.items()}
    bottom = frames.get(BOTTOM_LEVEL)
    if bottom is None:
        return tables
    members = hierarchy_of(pd.unique(bottom["series_id"]))  # the bottom series in the frame's order
    costs = unit_costs(members, url)
    if costs is None:
        return tables
    margin = demand.series_margin(bottom, costs)
    tables[BOTTOM_LEVEL] = tables[BOTTOM_LEVEL].drop(columns="margin").merge(
        margin[["series_id", "margin"]], on="series_id", how="left")
    members = members.merge(margin, on="series_id")
    for lv, f in frames.items():
        if lv != BOTTOM_LEVEL:
            keys = hierarchy_of(pd.unique(f["series_id"]))
            tables[lv] = tables[lv].drop(columns="margin").merge(demand.rollup_margin(members, keys),
                                                                 on="series_id", how="left")
    return tables


def save_tables(tables: dict[str, pd.DataFrame], url: str | None = None) -> None:
    """Store each level's demand table as the saved frame ``Frames.DEMAND_CLASSES`` (one transaction)."""
    with store.session_scope(url=url) as s:
        for lv, table in tables.items():
            store.save_frame(s, Frames.DEMAND_CLASSES, lv, table)
