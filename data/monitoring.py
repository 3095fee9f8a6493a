"""Live accuracy: every stored run's forecasts scored against the actuals that arrived after it, and its reads.

:func:`score_new_actuals` runs at the end of every successful import (:func:`after_import`, called once from
:func:`data.ingest.commit`, never failing the import) and on demand (``cli.py monitor --score``). For each
successful run it finds the forecast points (every stored model, every level) whose date now has an actual and
that are not scored yet, and stores one ``live_scores`` row per point: the actual, the forecast, the step
(1 = the first period after the run's training data), whether the actual fell inside the 80% and 95% intervals
and the series' MASE scale. The scale is the textbook one: the in-sample mean absolute error of the seasonal
naive forecast (lag :data:`domain.DEFAULT_SEASON`, the lag the backtests use) on the run's training history,
i.e. the actuals before the run's first forecast date; it is computed once per run and series and kept in the
rows. :func:`read_live_accuracy` aggregates the points with the backtests' definitions (``models/metrics.py``):
WAPE = sum|e| / sum|y|, MASE = mean(|e| / scale), bias = mean(e) (e = yhat - y), bias_pct = sum(e) / sum|y|,
coverage = share of actuals inside the interval.
"""
from __future__ import annotations

import json
import logging
import time

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from data import schema
from data.engine import get_engine, has_table, read_frame, session_scope, utcnow
from data.keys import node_keys
from data.writers import upsert_frame
from domain import BOTTOM_LEVEL, DEFAULT_SEASON, FREQ_STEP

log = logging.getLogger(__name__)

_SCORES = schema.LiveScore.__table__
_FC = schema.Forecast.__table__
_RUNS = schema.Run.__table__
_SALES = schema.Sale.__table__
_AGG = schema.AggSales.__table__
_NODES = schema.Node.__table__
GROUP_COLUMNS = ("run_id", "step", "level", "model", "series_id", "ds")
ACCURACY_COLUMNS = ["n", "wape", "mase", "bias", "bias_pct", "coverage_80", "coverage_95"]


def after_import(url: str | None = None) -> dict:
    """The import's hook: :func:`score_new_actuals`, logging (never raising) a failure, so an import that
    committed is never reported as failed because scoring failed."""
    try:
        return score_new_actuals(url)
    except Exception as exc:  # noqa: BLE001 - the import has committed; scoring is best effort
        log.warning("live scoring after the import failed: %s", exc)
        return {"error": str(exc)}


def _runs_to_score(url: str | None) -> pd.DataFrame:
    """Successful runs with their first forecast date, forecast points and scored points."""
    runs = read_frame(select(_RUNS.c.run_id, _RUNS.c.params, _RUNS.c.started_at).where(_RUNS.c.status == "success"),
                      url)
    if runs.empty:
        return runs
    first = read_frame(select(_FC.c.run_id, func.min(_FC.c.ds).label("first"), func.max(_FC.c.ds).label("last"))
                       .where(_FC.c.run_id.in_(runs["run_id"].tolist())).group_by(_FC.c.run_id), url,
                       parse_dates=["first", "last"])
    runs = runs.merge(first, on="run_id")
    runs["freq"] = runs["params"].map(lambda p: (json.loads(p) if p else {}).get("freq", "D"))
    return runs


def _actuals(lo, hi, node_ids: set[str] | None, url: str | None) -> pd.DataFrame:
    """``series_id, ds, y`` of every node (bottom from ``sales``, aggregates from ``agg_sales``) in [lo, hi]."""
    s, a = _SALES.c, _AGG.c
    bottom = read_frame(select(s.store_id, s.product_id, s.date.label("ds"), s.sales.label("y"))
                        .where(s.date.between(lo, hi)), url, parse_dates=["ds"])
    bottom["series_id"] = node_keys(BOTTOM_LEVEL, bottom) if len(bottom) else pd.Series(dtype=object)
    agg = read_frame(select(a.node_id.label("series_id"), a.date.label("ds"), a.sales.label("y"))
                     .where(a.date.between(lo, hi)), url, parse_dates=["ds"])
    out = pd.concat([bottom[["series_id", "ds", "y"]], agg], ignore_index=True)
    if node_ids is not None:
        out = out[out["series_id"].isin(node_ids)]
    return out


def _scales(history: pd.DataFrame, m: int) -> pd.Series:
    """The seasonal-naive in-sample MAE of each series (NaN when too short or zero), as models.metrics.mase_scales."""
    if history.empty:
        return pd.Series(dtype=float, name="scale")
    t = history.sort_values(["series_id", "ds"], kind="mergesort")
    diff = (t["y"] - t.groupby("series_id", sort=False)["y"].shift(m)).abs()
    scale = diff.groupby(t["series_id"], sort=True).mean()
    return scale.where(scale > 0).astype(float).rename("scale")


def _inside(y: pd.Series, lo: pd.Series, hi: pd.Series) -> pd.Series:
    flag = ((y >= lo) & (y <= hi)).astype(float)
    return flag.where(lo.notna() & hi.notna())


def _score_run(run, last_actual, levels: dict, url: str | None) -> pd.DataFrame:
    """The new scored points of one run (empty when none)."""
    rid, first = run.run_id, run.first
    fc = read_frame(select(_FC).where(_FC.c.run_id == rid, _FC.c.ds <= last_actual.date()), url, parse_dates=["ds"])
    done = read_frame(select(_SCORES.c.series_id, _SCORES.c.model, _SCORES.c.ds, _SCORES.c.scale)
                      .where(_SCORES.c.run_id == rid), url, parse_dates=["ds"])
    if len(done):
        seen = pd.MultiIndex.from_frame(done[["series_id", "model", "ds"]])
        fc = fc[~pd.MultiIndex.from_frame(fc[["series_id", "model", "ds"]]).isin(seen)]
    if fc.empty:
        return fc
    ids = set(fc["series_id"])
    actual = _actuals(fc["ds"].min().date(), fc["ds"].max().date(), ids, url)
    pts = fc.merge(actual, on=["series_id", "ds"], how="inner")
    if pts.empty:
        return pts
    scales = done.drop_duplicates("series_id").set_index("series_id")["scale"] if len(done) else pd.Series(dtype=float)
    missing = sorted(set(pts["series_id"]) - set(scales.index))
    if missing:
        m = DEFAULT_SEASON.get(run.freq, 1)
        hist = _actuals(pd.Timestamp("1900-01-01").date(), (first - FREQ_STEP[run.freq]).date(), set(missing), url)
        scales = pd.concat([scales, _scales(hist, m).reindex(missing)])
    step_days = FREQ_STEP[run.freq].days
    return pd.DataFrame({
        "run_id": rid, "series_id": pts["series_id"], "model": pts["model"], "ds": pts["ds"].dt.date,
        "level": pts["series_id"].map(levels).fillna(BOTTOM_LEVEL),
        "step": ((pts["ds"] - first).dt.days // step_days + 1).astype(int),
        "y": pts["y"].astype(float), "yhat": pts["yhat"].astype(float),
        "scale": pts["series_id"].map(scales).astype(float),
        "in_80": _inside(pts["y"], pts["yhat_lo_80"], pts["yhat_hi_80"]),
        "in_95": _inside(pts["y"], pts["yhat_lo_95"], pts["yhat_hi_95"]),
        "scored_at": utcnow()})


def score_new_actuals(url: str | None = None) -> dict:
    """Score every successful run's forecast points that have an actual now and no score yet; store them.

    Returns ``{"runs": runs with new points, "points": points stored, "seconds": wall time}``.
    """
    t0 = time.perf_counter()
    out = {"runs": 0, "points": 0, "seconds": 0.0}
    if not has_table(_SCORES.name, url) or not has_table(_RUNS.name, url):
        return out
    runs = _runs_to_score(url)
    with get_engine(url).connect() as conn:
        last = conn.execute(select(func.max(_SALES.c.date))).scalar()
    if runs.empty or last is None:
        return out
    last_actual = pd.Timestamp(last)
    runs = runs[runs["first"] <= last_actual]
    if runs.empty:
        return out
    levels = dict(read_frame(select(_NODES.c.node_id, _NODES.c.level), url).itertuples(index=False, name=None))
    parts = [p for p in (_score_run(r, last_actual, levels, url) for r in runs.itertuples(index=False)) if len(p)]
    if parts:
        frame = pd.concat(parts, ignore_index=True)
        with session_scope(url=url) as session:
            upsert_frame(session, schema.LiveScore, frame)
        out.update(runs=len(parts), points=int(len(frame)))
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def read_live_points(run_id: str | None = None, model: str | None = None, level: str | None = None,
                     since=None, url: str | None = None) -> pd.DataFrame:
    """The stored scored points (``live_scores`` rows), optionally of one run, model, level, from ``since``."""
    stmt = select(_SCORES)
    for col, value in (("run_id", run_id), ("model", model), ("level", level)):
        if value is not None:
            stmt = stmt.where(_SCORES.c[col] == value)
    if since is not None:
        stmt = stmt.where(_SCORES.c.ds >= pd.Timestamp(since).date())
    if not has_table(_SCORES.name, url):
        return pd.DataFrame(columns=[c.name for c in _SCORES.columns])
    return read_frame(stmt, url, parse_dates=["ds"])


def accuracy(points: pd.DataFrame, by=("run_id", "step", "level", "model")) -> pd.DataFrame:
    """Aggregate scored points by ``by`` into ``n, wape, mase, bias, bias_pct, coverage_80, coverage_95``."""
    by = list(by)
    if points.empty:
        return pd.DataFrame(columns=by + ACCURACY_COLUMNS)
    p = points.assign(e=points["yhat"] - points["y"])
    p["abs_e"] = p["e"].abs()
    p["abs_y"] = p["y"].abs()
    p["scaled"] = p["abs_e"] / p["scale"].where(p["scale"] > 0)
    g = p.groupby(by, sort=True) if by else p.assign(_all=0).groupby("_all")
    out = g.agg(n=("e", "size"), sum_abs_e=("abs_e", "sum"), sum_abs_y=("abs_y", "sum"), sum_e=("e", "sum"),
                bias=("e", "mean"), mase=("scaled", "mean"), coverage_80=("in_80", "mean"),
                coverage_95=("in_95", "mean"))
    denom = out["sum_abs_y"].where(out["sum_abs_y"] > 0)
    out["wape"] = out["sum_abs_e"] / denom
    out["bias_pct"] = out["sum_e"] / denom
    out = out.reset_index()
    return out[(by if by else []) + ACCURACY_COLUMNS].astype({"n": int})


def read_live_accuracy(by=("run_id", "step", "level", "model"), run_id: str | None = None,
                       model: str | None = None, level: str | None = None, since=None,
                       url: str | None = None) -> pd.DataFrame:
    """Live accuracy of the stored forecasts against actuals, aggregated by ``by``.

    Parameters
    ----------
    by : sequence of str
        Any of ``run_id, step, level, model, series_id, ds`` (default: by run, horizon step, level and model).
    run_id, model, level : str, optional
        Keep only these points (``model="final"`` is the published, reconciled forecast).
    since : date-like, optional
        Keep only points dated from ``since``.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns and ``n`` (points), ``wape``, ``mase``, ``bias`` (mean of yhat - y, in sales units),
        ``bias_pct`` (sum of yhat - y over sum |y|), ``coverage_80``, ``coverage_95`` (shares).
    """
    unknown = set(by) - set(GROUP_COLUMNS)
    if unknown:
        raise ValueError(f"cannot group live accuracy by {sorted(unknown)}; use {', '.join(GROUP_COLUMNS)}")
    return accuracy(read_live_points(run_id, model, level, since, url), by)


def scored_runs(url: str | None = None) -> pd.DataFrame:
    """``run_id, points, first_ds, last_ds`` of every run with live scores."""
    if not has_table(_SCORES.name, url):
        return pd.DataFrame(columns=["run_id", "points", "first_ds", "last_ds"])
    c = _SCORES.c
    return read_frame(select(c.run_id, func.count().label("points"), func.min(c.ds).label("first_ds"),
                             func.max(c.ds).label("last_ds")).group_by(c.run_id), url,
                      parse_dates=["first_ds", "last_ds"])


def nan_to_none(value):
    """JSON-safe number (NaN and inf become None)."""
    return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else value


def forecast_start(run_id: str, url: str | None = None) -> pd.Timestamp | None:
    """The first forecast date of a run (its training data end the period before), or None."""
    with get_engine(url).connect() as conn:
        first = conn.execute(select(func.min(_FC.c.ds)).where(_FC.c.run_id == run_id)).scalar()
    return pd.Timestamp(first) if first is not None else None
