"""How a refresh chooses each series' forecast: per-level combinations or per-series best models, with fallbacks."""
from __future__ import annotations

import json
import numpy as np
import pandas as pd

from domain import DEFAULT_SEASON
from jobs.params import RefreshParams
from jobs.spill import OnDisk
from jobs.spill import read as read_spilled
from models import combination
from models import selection as model_selection
from models.diagnostics import residual_diagnostics


def combine(metrics, cands, backtests, params: RefreshParams, fallback, frames):
    """Per level, the best equal-weight combination of the candidates on pooled backtest error; every series
    of the level gets it (series without all members' forecasts average the members they have, and a
    series with none of them gets the fallback). Returns the metrics with the combinations' added, the
    forecasts as parts (``cands``, then each combination's: the caller concatenates them once, with any
    others), the selection and ``{level: {"chosen", "scores"}}`` for the run summary."""
    metric = params.metric
    m = DEFAULT_SEASON[params.freq]
    sel_parts, met_parts, fc_parts, summary = [], [metrics], [cands], {}
    for level, frame in frames.items():
        # The level's rows are taken block by block of series (combination.SeriesBlocks), never copied whole.
        ids = frame["series_id"].unique()
        members, scores = combination.choose(backtests, list(params.models), fallback, metric, ids=ids,
                                             columns=_scored_columns(backtests, metric))
        name = combination.name_of(members)
        summary[level] = {"chosen": name, "scores": {r["model"]: (round(float(r["score"]), 5)
                          if np.isfinite(r["score"]) else None) for _, r in scores.iterrows()}}
        if len(members) > 1:
            fc_parts.append(combination.average_blocks(cands, members, name, ids=ids))
            met_parts.append(combination.combination_metrics(backtests, members, frame, m, ids=ids))
        scored = met_parts[-1] if len(members) > 1 else metrics
        per_series = scored[scored["model"] == name].groupby("series_id")[metric].mean()
        in_level = combination.isin(cands["series_id"], ids) & combination.isin(cands["model"], members)
        got = sorted(set(cands.loc[in_level, "series_id"].astype(str)))
        sel_parts += [{"series_id": sid, "model": name, "metric": metric, "score": float(per_series.get(sid, np.nan))}
                      for sid in got]  # the others get the fallback in _complete_selection
    metrics = pd.concat([p for p in met_parts if len(p)], ignore_index=True)
    keys = pd.concat([p[["series_id", "model"]] for p in fc_parts], ignore_index=True)
    sel = _complete_selection(pd.DataFrame(sel_parts, columns=["series_id", "model", "metric", "score"]), keys,
                              metric, fallback)
    return metrics, fc_parts, sel, summary


def _scored_columns(bt: pd.DataFrame, metric: str) -> list[str]:
    """The backtest columns a pooled ``metric`` reads: the keys, actuals and points, plus the interval bounds
    for coverage and pinball. The choice averages every candidate set's rows, so fewer columns copy fewer bytes."""
    if metric.startswith("coverage_") or metric == "pinball":
        return list(bt.columns)
    return [c for c in bt.columns if c in ("series_id", "ds", "fold", "model", "y", "yhat")]


def chosen_residuals(parts: list, sel: pd.DataFrame) -> tuple[list, list[dict]]:
    """The in-sample residuals of each series' selected model (for the dashboard and MinT) and the
    diagnostics of the selected combinations: ``([frame], diag rows)`` (``[]`` without residuals).

    ``parts`` are the candidates' residuals held compact (:func:`compact_residuals`), as frames or written to disk
    (:class:`jobs.spill.OnDisk`: the refresh does not hold every candidate's residuals through its map); each part
    is read in turn and only the rows of the selected models (and of the selected combinations' members) are kept.
    A single model's rows are taken as the model returned them; the residual of a combination (an average of fits)
    is the average of its members' residuals, on the dates where every member has one. The frames keep categorical
    ``series_id`` and ``model`` (a few bytes a row: 10M rows at scale); each (series, model) is in one of them.
    """
    empty = pd.DataFrame(columns=RESID_COLS)
    if not parts:
        return [], []
    pairs = sel[["series_id", "model"]].astype({"series_id": str, "model": str})
    is_combo = pairs["model"].str.contains(combination.SEP, regex=False)
    needed = pd.concat([pairs[~is_combo], *(chosen.assign(model=member) for name, chosen in
                                            pairs[is_combo].groupby("model", sort=True)
                                            for member in combination.members_of(name))], ignore_index=True)
    resid = union_compact([_picked(read_spilled(p) if isinstance(p, OnDisk) else p, needed)[RESID_COLS]
                           for p in parts])
    if resid is None:
        return [empty], []
    resid = resid.astype({"resid": float})
    out = [_picked(resid, pairs[~is_combo])]
    diags = []
    for name, chosen in pairs[is_combo].groupby("model", sort=True):
        avg = _combination_residuals(resid, name, chosen["series_id"])
        if avg is not None:
            out.append(avg)
            diags += _diagnostics_by_series(avg, name)
    return ([p for p in out if len(p)] or [empty]), diags


def _combination_residuals(resid: pd.DataFrame, name: str, ids) -> pd.DataFrame | None:
    """The residuals of combination ``name`` for the series ``ids``: its members' mean on each (series, date) where
    every member has one, compact (None without any). Computed a block of series at a time
    (:class:`models.combination.SeriesBlocks`): the copies and group keys are a block's, not every chosen series'
    (millions of rows at scale). Rows come by block of series (blocks in text order), then date."""
    members = combination.members_of(name)
    blocks = combination.SeriesBlocks(resid, ids)
    parts = []
    of_members = combination.isin(resid["model"], members)
    for b in range(blocks.n_blocks):
        part = resid.iloc[np.flatnonzero((blocks.block == b) & of_members)]  # keys kept categorical: no text per row
        keys = [part["series_id"], part["ds"]]
        complete = part.groupby(keys, observed=True)["model"].transform("nunique").to_numpy() == len(members)
        part = part[complete]
        if len(part):
            avg = part.groupby(["series_id", "ds"], as_index=False, observed=True)["resid"].mean()
            parts.append(avg.assign(model=name)[RESID_COLS])
    return union_compact(parts)


def _diagnostics_by_series(avg: pd.DataFrame, name: str) -> list[dict]:
    """Residual diagnostics of each series of ``avg`` (categorical ``series_id``), in the series' text order."""
    rows = avg.groupby("series_id", observed=True, sort=False).indices  # on the codes: no text per row
    resid = avg["resid"].to_numpy()
    return [{"series_id": str(sid), "model": name, **residual_diagnostics(resid[rows[sid]])}
            for sid in sorted(rows, key=str)]


def _picked(frame: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s rows of the ``pairs`` (:func:`rows_of`)."""
    return frame[rows_of(frame, pairs)]


def rows_of(frame: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """The rows of ``frame`` whose ``(series_id, model)`` is one of ``pairs``, as a mask (``frame[mask]``: the
    rows of an inner merge on the pairs when they are unique, in ``frame``'s order). Categorical columns are matched
    on their codes; text columns one model of ``pairs`` at a time on boolean masks, never by factorizing the text
    keys of every row (a merge on them took +1.1 GB for the 6M candidate rows of 10M fact rows)."""
    if isinstance(frame["series_id"].dtype, pd.CategoricalDtype) and isinstance(frame["model"].dtype,
                                                                                pd.CategoricalDtype):
        sids, models = frame["series_id"].cat, frame["model"].cat
        n_models = max(1, len(models.categories))
        s = pd.Index(sids.categories).get_indexer(pairs["series_id"])
        m = pd.Index(models.categories).get_indexer(pairs["model"])
        ok = (s >= 0) & (m >= 0)
        key = sids.codes.to_numpy().astype(np.int64) * n_models + models.codes.to_numpy()
        return np.isin(key, s[ok].astype(np.int64) * n_models + m[ok])
    rows = np.zeros(len(frame), dtype=bool)
    for model, ids in pairs.groupby("model", sort=True, observed=True)["series_id"]:
        rows |= (frame["model"] == model).to_numpy(dtype=bool) & combination.isin(frame["series_id"], ids)
    return rows


def add_ensemble(metrics, cands, metric, frames):
    """Score the best-two ensemble on the backtest folds and add its forecasts (needs the backtest forecasts)."""
    pairs = model_selection.ensemble_best_two(metrics, metric)
    if pairs.empty:
        return metrics, cands
    ens = model_selection.combine_forecasts(cands, pairs)
    # The ensemble's backtest score: mean of the two models' fold scores is an upper bound for WAPE/MAE-type
    # metrics (triangle inequality), so it is used as a conservative score.
    m = metrics.merge(pairs[["series_id", "model_1", "model_2"]], on="series_id")
    m = m[(m["model"] == m["model_1"]) | (m["model"] == m["model_2"])]
    num = [c for c in metrics.columns if c not in ("series_id", "model", "fold")]
    em = m.groupby(["series_id", "fold"], as_index=False)[num].mean().assign(model="ensemble")
    return pd.concat([metrics, em[metrics.columns]], ignore_index=True), pd.concat([cands, ens], ignore_index=True)


def select_per_series(metrics, cands, metric, fallback) -> pd.DataFrame:
    """Best model per series; series without a usable score or forecast fall back (seasonal naive)."""
    sel = model_selection.select_best(metrics, metric=metric, fallback=fallback) if not metrics.empty else \
        pd.DataFrame(columns=["series_id", "model", "metric", "score"])
    return _complete_selection(sel, cands, metric, fallback)


def _complete_selection(sel, cands, metric, fallback) -> pd.DataFrame:
    """Keep the choices that have a forecast; every other series with a forecast gets the fallback (or, when
    the fallback failed there too, its alphabetically first model)."""
    have = cands[["series_id", "model"]].drop_duplicates()
    ok = sel.merge(have, on=["series_id", "model"], how="inner")
    missing = sorted(set(have["series_id"]) - set(ok["series_id"]))
    rows = []
    for sid in missing:
        options = have.loc[have["series_id"] == sid, "model"].tolist()
        rows.append({"series_id": sid, "model": fallback if fallback in options else sorted(options)[0],
                     "metric": metric, "score": np.nan})
    return pd.concat([ok, pd.DataFrame(rows, columns=ok.columns)], ignore_index=True).sort_values(
        "series_id").reset_index(drop=True)


def diagnostics_frame(diag_rows, resid_parts, sel) -> pd.DataFrame:
    """Diagnostics of each series' chosen model, with its residuals (for the histogram) as JSON text.

    ``resid_parts`` holds the selected models' residuals only (:func:`chosen_residuals`: each (series, model) in
    one part, series and model categorical or text). Each series' list is rounded and written out as JSON here,
    part by part and one series at a time, rather than held as Python floats or joined into one frame.
    """
    cols = ["series_id", "model", "ljung_box_p", "bias", "resid_std", "acf", "residuals"]
    if not diag_rows:
        return pd.DataFrame(columns=cols)
    d = pd.DataFrame(diag_rows).merge(sel[["series_id", "model"]], on=["series_id", "model"])
    if resid_parts:
        lists = pd.concat([_residual_lists(p) for p in resid_parts], ignore_index=True)
        d = d.merge(lists, on=["series_id", "model"], how="left")
    else:
        d["residuals"] = None
    return d[[c for c in cols if c in d.columns]]


def _residual_lists(part: pd.DataFrame) -> pd.DataFrame:
    """``series_id, model, residuals``: each (series, model) of ``part`` with its residuals as JSON text, in row
    order (series and model as text: one row per series)."""
    lists = part.groupby(["series_id", "model"], observed=True)["resid"].agg(
        lambda s: json.dumps([round(float(v), 4) for v in s]))
    return lists.rename("residuals").reset_index().astype({"series_id": str, "model": str})


RESID_COLS = ["series_id", "ds", "model", "resid"]


def compact_residuals(resid: pd.DataFrame) -> pd.DataFrame:
    """``resid`` with categorical ``series_id`` and ``model`` (a few bytes a row instead of two strings): the
    refresh holds every candidate's in-sample residuals and backtest forecasts until the selection, millions of
    rows at scale."""
    if resid.empty:
        return resid
    return resid.astype({"series_id": "category", "model": "category"})


def union_compact(parts: list) -> pd.DataFrame | None:
    """The parts (frames, or :class:`jobs.spill.OnDisk` handles of frames: e.g. every task's backtest forecasts)
    as one frame with categorical ``series_id`` and ``model`` (:func:`compact_residuals`; the categories united in
    order of appearance, as ``union_categoricals`` unites them, not cast back to text as ``pd.concat`` would), in
    the parts' order; None without rows.

    Each column is allocated once at its full length and filled a part at a time, and the frame takes the columns
    without copying them: the result plus one part at a time, where a concatenation held the parts, each column
    concatenated and the frame's consolidated copy of them (4.2 GB for 1.1 GB of backtests at 10M rows). Parts on
    disk are read twice (their lengths and categories, then their values) and never held together.
    """
    def load(part):
        return compact_residuals(read_spilled(part) if isinstance(part, OnDisk) else part)

    cats = ("series_id", "model")
    n_rows, cols, dtypes, seen = 0, None, {}, {c: {} for c in cats}
    for part in parts:
        frame = load(part)
        if not len(frame):
            continue
        if cols is None:
            cols, dtypes = list(frame.columns), dict(frame.dtypes)
        elif list(frame.columns) != cols or any(
                frame[c].dtype != t for c, t in dtypes.items() if c not in cats):  # pandas aligns or upcasts them
            return compact_residuals(pd.concat([f for f in map(load, parts) if len(f)], ignore_index=True))
        n_rows += len(frame)
        for c in cats:
            if c in frame.columns:
                seen[c].update(dict.fromkeys(frame[c].cat.categories))
    if cols is None:
        return None
    categories = {c: pd.Index(list(seen[c]), dtype=dtypes[c].categories.dtype) for c in cats if c in cols}
    out = {c: np.empty(n_rows, dtype=_codes_dtype(len(categories[c])) if c in categories else dtypes[c])
           for c in cols}
    at = 0
    for part in parts:
        frame = load(part)
        n = len(frame)
        if not n:
            continue
        for c in cols:
            if c in categories:
                codes = frame[c].cat.codes.to_numpy()
                to_union = categories[c].get_indexer(frame[c].cat.categories)
                out[c][at:at + n] = np.where(codes >= 0, to_union[np.maximum(codes, 0)], -1)
            else:
                out[c][at:at + n] = frame[c].to_numpy()
        at += n
    columns = {c: pd.Categorical.from_codes(out[c], dtype=pd.CategoricalDtype(categories[c]), validate=False)
               if c in categories else out[c] for c in cols}
    return pd.DataFrame(columns, columns=cols, copy=False)


def _codes_dtype(n_categories: int):
    """The integer type pandas gives the codes of ``n_categories`` categories (int8 up to 127, int16...)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return dtype
    return np.int64
