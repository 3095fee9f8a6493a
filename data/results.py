"""Run results: writing a run's forecasts, backtest metrics, selections, diagnostics and trials, and reading them.

Readers default to the current (published) run; pass ``run_id`` for another one.
"""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from data import schema
from data.engine import get_engine, read_frame
from data.runs import run_or_current
from data.writers import upsert_frame
from domain import FORECAST_COLS

METRIC_COLS = ["rmse", "mae", "mape", "mape_excluded", "smape", "wape", "mase", "rmspe", "bias", "coverage_80",
               "coverage_95", "pinball"]

_FORECASTS = schema.Forecast.__table__
_METRICS = schema.BacktestMetric.__table__
_SELECTIONS = schema.Selection.__table__
_NODES = schema.Node.__table__
# Built once: every page reads a node's forecast (see :func:`data.engine.read_frame`).
_NODE_FORECAST = (select(*[_FORECASTS.c[c] for c in FORECAST_COLS])
                  .where(_FORECASTS.c.run_id == bindparam("rid"), _FORECASTS.c.series_id == bindparam("sid"),
                         _FORECASTS.c.model == bindparam("model"))
                  .order_by(_FORECASTS.c.ds))


# Rows per statement batch of :func:`write_run_results`: each slice is copied (with its run id), turned into JSON
# and Python values and written before the next, so a write never holds a whole run's frame in those forms.
WRITE_ROWS = 200_000


def write_run_results(session: Session, run_id: str, forecasts: pd.DataFrame | None = None,
                      metrics: pd.DataFrame | None = None, selections: pd.DataFrame | None = None,
                      diagnostics: pd.DataFrame | None = None, trials: pd.DataFrame | None = None) -> dict:
    """Write a run's frames under ``run_id`` inside the caller's transaction; returns rows written per table.

    ``forecasts`` needs ``series_id, model, ds, yhat`` and the interval columns; ``metrics`` ``series_id,
    model, fold`` and metric columns; ``selections`` ``series_id, model, metric, score``; ``diagnostics``
    ``series_id, model, ljung_box_p, bias, resid_std, acf, residuals`` (lists are stored as JSON);
    ``trials`` ``trial, params, score``. Every frame is written in slices of :data:`WRITE_ROWS` rows, in order
    (a key repeated across slices keeps its last row, as within one upsert), so the memory of a write is
    bounded whatever its size and back end.
    """
    written = {}
    frames = (("forecasts", schema.Forecast, forecasts), ("backtest_metrics", schema.BacktestMetric, metrics),
              ("selections", schema.Selection, selections), ("diagnostics", schema.Diagnostic, diagnostics),
              ("tuning_trials", schema.TuningTrial, trials))
    for name, table, df in frames:
        written[name] = 0
        if df is None or df.empty:
            continue
        for start in range(0, len(df), WRITE_ROWS):
            written[name] += upsert_frame(session, table, _stored_slice(df.iloc[start:start + WRITE_ROWS], run_id))
    return written


def _stored_slice(part: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """Rows of a run's frame as stored: with ``run_id`` and the list or dict columns (``acf, residuals,
    params``) as JSON text."""
    frame = part.assign(run_id=run_id)
    for col in ("acf", "residuals", "params"):
        if col in frame and frame[col].map(lambda v: not isinstance(v, str) and v is not None).any():
            frame[col] = frame[col].map(lambda v: v if isinstance(v, str) or v is None
                                        else json.dumps(list(v) if not isinstance(v, dict) else v, default=float))
    return frame


def forecast(series_id: str, run_id: str | None = None, model: str = "final", url: str | None = None) -> pd.DataFrame:
    """One node's forecast (``series_id, ds, yhat`` and 80/95% bounds) from ``run_id`` or the current run."""
    rid = run_or_current(run_id, url)
    if rid is None:
        return pd.DataFrame(columns=FORECAST_COLS)
    return read_frame(_NODE_FORECAST, url, parse_dates=["ds"], typed=True,
                      params={"rid": rid, "sid": series_id, "model": model})


def forecast_models(series_id: str, run_id: str | None = None, url: str | None = None) -> list[str]:
    """The model names with a stored forecast for ``series_id`` ("final" first)."""
    rid = run_or_current(run_id, url)
    if rid is None:
        return []
    with get_engine(url).connect() as conn:
        names = conn.execute(select(schema.Forecast.model).where(
            schema.Forecast.run_id == rid, schema.Forecast.series_id == series_id).distinct()).scalars().all()
    return sorted(names, key=lambda n: (n != "final", n))


def forecasts_for_level(level: str, run_id: str | None = None, model: str = "final",
                        url: str | None = None) -> pd.DataFrame:
    """Forecasts of every node of ``level`` (e.g. "store") from one run, in long format."""
    rid = run_or_current(run_id, url)
    if rid is None:
        return pd.DataFrame(columns=FORECAST_COLS)
    f, n = _FORECASTS.c, _NODES.c
    stmt = (select(*[f[c] for c in FORECAST_COLS]).join_from(_FORECASTS, _NODES, n.node_id == f.series_id)
            .where(f.run_id == rid, f.model == model, n.level == level).order_by(f.series_id, f.ds))
    return read_frame(stmt, url, parse_dates=["ds"])


def forecast_history(series_id: str, model: str = "final", n_runs: int = 5, url: str | None = None) -> pd.DataFrame:
    """Forecasts of ``series_id`` from the last ``n_runs`` successful runs, for forecast-vs-actual views.

    Columns: ``run_id, started_at`` and the forecast columns, oldest run first.
    """
    runs_t, f = schema.Run.__table__, _FORECASTS.c
    recent = (select(runs_t.c.run_id, runs_t.c.started_at).where(runs_t.c.status == "success")
              .order_by(runs_t.c.started_at.desc()).limit(int(n_runs)).subquery("r"))
    stmt = (select(recent.c.run_id, recent.c.started_at, *[f[c] for c in FORECAST_COLS])
            .join_from(_FORECASTS, recent, recent.c.run_id == f.run_id)
            .where(f.series_id == series_id, f.model == model).order_by(recent.c.started_at, f.ds))
    return read_frame(stmt, url, parse_dates=["started_at", "ds"])


def backtest_metrics(series_id: str | None = None, run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Backtest metrics per model and fold (``series_id, model, fold`` + metrics) of one series or all."""
    rid = run_or_current(run_id, url)
    cols = ["series_id", "model", "fold", *METRIC_COLS]
    if rid is None:
        return pd.DataFrame(columns=cols)
    b = schema.BacktestMetric
    stmt = select(*[getattr(b, c) for c in cols]).where(b.run_id == rid)
    if series_id is not None:
        stmt = stmt.where(b.series_id == series_id)
    return read_frame(stmt.order_by(b.series_id, b.model, b.fold), url)


def model_summary(run_id: str | None = None, level: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Per model: series backtested, times selected and mean metrics over series and folds (one run)."""
    rid = run_or_current(run_id, url)
    cols = ["model", "n_series", "n_selected", "wape", "mase", "rmse", "mae", "smape", "bias", "coverage_80",
            "coverage_95", "pinball"]
    if rid is None:
        return pd.DataFrame(columns=cols)
    b, s = _METRICS.c, _SELECTIONS.c
    stmt = (select(b.model, func.count(b.series_id.distinct()).label("n_series"),
                   *[func.avg(b[m]).label(m) for m in cols[3:]]).where(b.run_id == rid).group_by(b.model))
    sel_stmt = select(s.model, func.count().label("n_selected")).where(s.run_id == rid).group_by(s.model)
    if level:
        stmt = stmt.join(_NODES, and_(_NODES.c.node_id == b.series_id, _NODES.c.level == level))
        sel_stmt = sel_stmt.join(_NODES, and_(_NODES.c.node_id == s.series_id, _NODES.c.level == level))
    df = read_frame(stmt, url)
    sel = read_frame(sel_stmt, url)
    df = df.merge(sel, on="model", how="outer")
    df["n_selected"] = df["n_selected"].fillna(0).astype(int)
    df["n_series"] = df["n_series"].fillna(0).astype(int)
    return df[cols].sort_values("wape", na_position="last").reset_index(drop=True)


def selection(series_id: str, run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """The chosen model of one series (one row ``series_id, model, metric, score``; empty when none)."""
    return selections(run_id=run_id, url=url, series_id=series_id)


def selections(run_id: str | None = None, level: str | None = None, series_id: str | None = None,
               url: str | None = None) -> pd.DataFrame:
    """Chosen models per series of one run, optionally of one hierarchy level."""
    rid = run_or_current(run_id, url)
    cols = ["series_id", "model", "metric", "score"]
    if rid is None:
        return pd.DataFrame(columns=cols)
    s = _SELECTIONS.c
    stmt = select(s.series_id, s.model, s.metric, s.score).where(s.run_id == rid)
    if level:
        stmt = stmt.join(_NODES, and_(_NODES.c.node_id == s.series_id, _NODES.c.level == level))
    if series_id is not None:
        stmt = stmt.where(s.series_id == series_id)
    return read_frame(stmt.order_by(s.series_id), url)


def diagnostics(series_id: str, run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Residual diagnostics of the chosen model(s) of one series; ``acf`` and ``residuals`` as lists."""
    rid = run_or_current(run_id, url)
    cols = ["series_id", "model", "ljung_box_p", "bias", "resid_std", "acf", "residuals"]
    if rid is None:
        return pd.DataFrame(columns=cols)
    d = schema.Diagnostic
    df = read_frame(select(*[getattr(d, c) for c in cols]).where(d.run_id == rid, d.series_id == series_id), url)
    for col in ("acf", "residuals"):
        df[col] = df[col].map(lambda v: json.loads(v) if isinstance(v, str) and v else [])
    return df


def tuning_trials(run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Hyperparameter trials logged by a ``--tune`` run (``params`` parsed into dicts)."""
    rid = run_or_current(run_id, url)
    if rid is None:
        return pd.DataFrame(columns=["trial", "params", "score"])
    t = schema.TuningTrial
    df = read_frame(select(t.trial, t.params, t.score).where(t.run_id == rid).order_by(t.trial), url)
    df["params"] = df["params"].map(lambda v: json.loads(v) if isinstance(v, str) and v else {})
    return df
