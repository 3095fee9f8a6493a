"""How a refresh chooses each series' forecast: per-level combinations or per-series best models, with fallbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd

from domain import DEFAULT_SEASON
from jobs.params import RefreshParams
from models import combination
from models import selection as model_selection
from models.diagnostics import residual_diagnostics


def combine(metrics, cands, backtests, params: RefreshParams, fallback, frames):
    """Per level, the best equal-weight combination of the candidates on pooled backtest error; every series
    of the level gets it (series without all members' forecasts average the members they have, and a
    series with none of them gets the fallback). Returns metrics and candidates with the combinations
    added, the selection and ``{level: {"chosen", "scores"}}`` for the run summary."""
    metric = params.metric
    m = DEFAULT_SEASON[params.freq]
    sel_parts, met_parts, fc_parts, summary = [], [metrics], [cands], {}
    for level, frame in frames.items():
        ids = frame["series_id"].unique()
        bt = backtests[backtests["series_id"].isin(ids)]
        members, scores = combination.choose(bt, list(params.models), fallback, metric)
        name = combination.name_of(members)
        summary[level] = {"chosen": name, "scores": {r["model"]: (round(float(r["score"]), 5)
                          if np.isfinite(r["score"]) else None) for _, r in scores.iterrows()}}
        level_fc = cands[cands["series_id"].isin(ids)]
        if len(members) > 1:
            fc_parts.append(combination.average(level_fc, members, name))
            met_parts.append(combination.combination_metrics(bt, members, frame, m))
        scored = met_parts[-1] if len(members) > 1 else metrics
        per_series = scored[scored["model"] == name].groupby("series_id")[metric].mean()
        got = sorted(set(level_fc.loc[level_fc["model"].isin(members), "series_id"]))
        sel_parts += [{"series_id": sid, "model": name, "metric": metric, "score": float(per_series.get(sid, np.nan))}
                      for sid in got]  # the others get the fallback in _complete_selection
    metrics = pd.concat([p for p in met_parts if len(p)], ignore_index=True)
    cands = pd.concat(fc_parts, ignore_index=True)
    sel = _complete_selection(pd.DataFrame(sel_parts, columns=["series_id", "model", "metric", "score"]), cands,
                              metric, fallback)
    return metrics, cands, sel, summary


def combination_residuals(resid_parts, sel) -> tuple[pd.DataFrame, list[dict]]:
    """In-sample residuals and diagnostics of the chosen combinations (for the dashboard and MinT).

    The residual of an average of fits is the average of the members' residuals, taken on the dates where
    every member has one.
    """
    empty = pd.DataFrame(columns=["series_id", "ds", "model", "resid"])
    combos = sel[sel["model"].str.contains(combination.SEP, regex=False)]
    if combos.empty or not resid_parts:
        return empty, []
    resid = pd.concat(resid_parts, ignore_index=True)
    parts, diags = [], []
    for name, chosen in combos.groupby("model"):
        members = combination.members_of(name)
        part = resid[resid["series_id"].isin(chosen["series_id"]) & resid["model"].isin(members)]
        complete = part.groupby(["series_id", "ds"])["model"].transform("nunique") == len(members)
        avg = part[complete].groupby(["series_id", "ds"], as_index=False)["resid"].mean().assign(model=name)
        parts.append(avg)
        for sid, g in avg.groupby("series_id", sort=True):
            diags.append({"series_id": sid, "model": name, **residual_diagnostics(g["resid"].to_numpy())})
    return (pd.concat(parts, ignore_index=True) if parts else empty), diags


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
    """Diagnostics of each series' chosen model, with its residuals (for the histogram)."""
    cols = ["series_id", "model", "ljung_box_p", "bias", "resid_std", "acf", "residuals"]
    if not diag_rows:
        return pd.DataFrame(columns=cols)
    d = pd.DataFrame(diag_rows).merge(sel[["series_id", "model"]], on=["series_id", "model"])
    if resid_parts:
        r = pd.concat(resid_parts, ignore_index=True).merge(sel[["series_id", "model"]], on=["series_id", "model"])
        lists = r.groupby(["series_id", "model"])["resid"].agg(lambda s: [round(float(v), 4) for v in s])
        d = d.merge(lists.rename("residuals").reset_index(), on=["series_id", "model"], how="left")
    else:
        d["residuals"] = None
    return d[[c for c in cols if c in d.columns]]


RESID_COLS = ["series_id", "ds", "model", "resid"]


def compact_residuals(resid: pd.DataFrame) -> pd.DataFrame:
    """``resid`` with categorical ``series_id`` and ``model`` (a few bytes a row instead of two strings): the
    refresh holds every candidate's in-sample residuals until the selection, millions of rows at scale."""
    if resid.empty:
        return resid
    return resid.astype({"series_id": "category", "model": "category"})


def union_residuals(parts: list) -> list:
    """The residual parts as one compact frame (``[frame]``; ``[]`` without residuals), in the parts' order."""
    from pandas.api.types import union_categoricals
    parts = [compact_residuals(p) for p in parts if len(p)]
    if not parts:
        return []
    return [pd.DataFrame({"series_id": union_categoricals([p["series_id"] for p in parts]),
                          "ds": pd.concat([p["ds"] for p in parts], ignore_index=True),
                          "model": union_categoricals([p["model"] for p in parts]),
                          "resid": np.concatenate([p["resid"].to_numpy(dtype=float) for p in parts])})]


def expand_residuals(parts: list, sel: pd.DataFrame | None = None, extra_models=()) -> list:
    """The residual rows a selection can use, with plain string columns again (as the models returned them).

    ``sel`` given: only each series' selected model and, for a combination, its members, plus every row of
    the models ``extra_models`` (the intermittent candidates the sparse series choose among later); else all.
    """
    out = []
    for part in parts:
        if sel is not None and isinstance(part["series_id"].dtype, pd.CategoricalDtype) \
                and isinstance(part["model"].dtype, pd.CategoricalDtype):
            part = part[_wanted(part, sel) | part["model"].isin(list(extra_models)).to_numpy()]
        out.append(part.astype({"series_id": "str", "model": "str"}).reset_index(drop=True))
    return out


def _wanted(part: pd.DataFrame, sel: pd.DataFrame) -> np.ndarray:
    """Rows of ``part`` (categorical keys) whose (series, model) is selected or a member of the selected."""
    pairs = sel[["series_id", "model"]].assign(model=sel["model"].astype(str).map(combination.members_of))
    pairs = pairs.explode("model")
    sids, models = part["series_id"].cat, part["model"].cat
    n_models = max(1, len(models.categories))
    s = pd.Index(sids.categories).get_indexer(pairs["series_id"].astype(str))
    m = pd.Index(models.categories).get_indexer(pairs["model"].astype(str))
    ok = (s >= 0) & (m >= 0)
    key = sids.codes.to_numpy().astype(np.int64) * n_models + models.codes.to_numpy()
    return np.isin(key, s[ok].astype(np.int64) * n_models + m[ok])
