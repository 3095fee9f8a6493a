"""Whole-run reads of the generated reports: every series' chosen-model backtest rows and residual diagnostics.

The pages read these one series at a time (``data.results``); a report summarises a whole run by hierarchy level,
so each read here is one query joined to ``nodes`` for the level.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, select

from data import schema
from data.engine import read_frame
from data.runs import run_or_current

_NODES = schema.Node.__table__


def chosen_backtests(run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Backtest rows (per fold) of each series' chosen model: ``level, series_id, model, fold, wape, mase, bias,
    coverage_80, coverage_95``, of ``run_id`` or the current run."""
    rid = run_or_current(run_id, url)
    cols = ["level", "series_id", "model", "fold", "wape", "mase", "bias", "coverage_80", "coverage_95"]
    if rid is None:
        return pd.DataFrame(columns=cols)
    b, s, n = schema.BacktestMetric.__table__.c, schema.Selection.__table__.c, _NODES.c
    stmt = (select(n.level, b.series_id, b.model, b.fold, b.wape, b.mase, b.bias, b.coverage_80, b.coverage_95)
            .join_from(schema.BacktestMetric.__table__, schema.Selection.__table__,
                       and_(s.run_id == b.run_id, s.series_id == b.series_id, s.model == b.model))
            .join(_NODES, n.node_id == b.series_id)
            .where(b.run_id == rid).order_by(n.level, b.series_id, b.fold))
    return read_frame(stmt, url)


def diagnostics_by_series(run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Residual diagnostics of every series' chosen model (``level, series_id, model, ljung_box_p, bias,
    resid_std``; the ACF and residual lists stay in the table: read one series with ``data.results.diagnostics``)."""
    rid = run_or_current(run_id, url)
    cols = ["level", "series_id", "model", "ljung_box_p", "bias", "resid_std"]
    if rid is None:
        return pd.DataFrame(columns=cols)
    d, n = schema.Diagnostic.__table__.c, _NODES.c
    stmt = (select(n.level, d.series_id, d.model, d.ljung_box_p, d.bias, d.resid_std)
            .join_from(schema.Diagnostic.__table__, _NODES, n.node_id == d.series_id)
            .where(d.run_id == rid).order_by(n.level, d.series_id))
    return read_frame(stmt, url)
