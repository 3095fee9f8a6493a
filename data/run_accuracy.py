"""A run's backtest accuracy of its chosen models, summarised once per run for the pages.

The Overview's accuracy KPIs (the median over every series of its chosen model's mean backtest WAPE) and the
Monitoring page's reference band (per level and fold, the chosen models' summed absolute errors and actuals) both
aggregate every backtest row of the run: tens of thousands of series at scale, too slow per request. They are
computed when the run is published (:func:`save_run_accuracy`, in :func:`data.runs.publish_run`'s transaction) and
stored as two saved frames with the run id as level; :func:`run_accuracy` reads them, and computes and stores them
once for a run published before they existed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from data import schema
from data.engine import frame_from, get_engine, session_scope
from data.frames import load_frame, save_frame
from domain import Frames

# Saved frames derived from a run's stored results (level = run id); data.version leaves them out, since the run
# they summarise already versions the data, and prune_runs deletes them with the run.
FOLDS = Frames.RUN_ACCURACY_FOLDS
OVERALL = Frames.RUN_ACCURACY
FOLD_COLUMNS = ["level", "fold", "mae", "sum_y", "coverage_80", "coverage_95"]
OVERALL_COLUMNS = ["wape_total", "wape_median", "wape_n"]

_B, _S, _N = schema.BacktestMetric.__table__, schema.Selection.__table__, schema.Node.__table__
# Per series its chosen model's mean WAPE over the folds (the Overview's accuracy).
_CHOSEN_WAPE = (select(_B.c.series_id, func.avg(_B.c.wape).label("wape"))
                .join_from(_B, _S, (_S.c.run_id == _B.c.run_id) & (_S.c.series_id == _B.c.series_id)
                           & (_S.c.model == _B.c.model))
                .group_by(_B.c.series_id))
# The chosen models' fold rows with their node's level (the Monitoring band).
_CHOSEN_FOLDS = (select(_N.c.level, _B.c.fold, _B.c.wape, _B.c.mae, _B.c.coverage_80, _B.c.coverage_95)
                 .join_from(_B, _S, (_S.c.run_id == _B.c.run_id) & (_S.c.series_id == _B.c.series_id)
                            & (_S.c.model == _B.c.model))
                 .join(_N, _N.c.node_id == _B.c.series_id))


def _floats(df: pd.DataFrame, cols) -> pd.DataFrame:
    return df.astype({c: float for c in cols})


def compute(conn, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(overall, folds)`` of ``run_id`` from its backtest metrics and selections, on connection ``conn``.

    ``overall`` (one row): ``wape_total`` (the ``total`` series' chosen-model WAPE), ``wape_median`` (median over
    series) and ``wape_n`` (series with a WAPE). ``folds``: per level and fold the chosen models' summed ``mae``
    and actuals ``sum_y`` (``mae / wape``: each fold's window has the same length in every series) and the mean
    interval coverages, over the rows with a positive, finite WAPE and a finite MAE.
    """
    wape = frame_from(conn, _CHOSEN_WAPE.where(_B.c.run_id == run_id))
    w = _floats(wape, ["wape"]).dropna()
    is_total = w["series_id"] == "total"
    overall = pd.DataFrame([{"wape_total": float(w.loc[is_total, "wape"].iloc[0]) if is_total.any() else None,
                             "wape_median": float(w["wape"].median()) if len(w) else None,
                             "wape_n": int(len(w))}], columns=OVERALL_COLUMNS)
    m = _floats(frame_from(conn, _CHOSEN_FOLDS.where(_B.c.run_id == run_id)),
                ["wape", "mae", "coverage_80", "coverage_95"])
    m = m[(m["wape"] > 0) & np.isfinite(m["wape"]) & np.isfinite(m["mae"])]
    m = m.assign(sum_y=m["mae"] / m["wape"])
    folds = (m.groupby(["level", "fold"]).agg(mae=("mae", "sum"), sum_y=("sum_y", "sum"),
                                              coverage_80=("coverage_80", "mean"),
                                              coverage_95=("coverage_95", "mean"))
             .reset_index()[FOLD_COLUMNS])
    return overall, folds


def save_run_accuracy(session, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute the run's summaries and store them inside the caller's transaction (the publish); returns them."""
    overall, folds = compute(session.connection(), run_id)
    save_frame(session, OVERALL, run_id, overall, digits=15)  # as computed, not rounded to 10 digits
    save_frame(session, FOLDS, run_id, folds, digits=15)
    return overall, folds


def run_accuracy(run_id: str, url: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(overall, folds)`` of ``run_id`` (see :func:`compute`) as stored at its publish; a run published before
    the summaries existed gets them computed and stored now (once), or just computed on a read-only store."""
    overall = load_frame(OVERALL, run_id, url=url)
    folds = load_frame(FOLDS, run_id, url=url, dtype={"level": str})
    if overall is not None and folds is not None:
        if folds.empty:
            folds = pd.DataFrame(columns=FOLD_COLUMNS)
        return overall.reindex(columns=OVERALL_COLUMNS), folds
    try:
        with session_scope(url=url) as session:
            overall, folds = save_run_accuracy(session, run_id)
    except DBAPIError:  # e.g. a read-only database file: serve the computed values unsaved
        with get_engine(url).connect() as conn:
            overall, folds = compute(conn, run_id)
    return overall, folds


def chosen_wape(run_id: str, url: str | None = None) -> dict:
    """The Overview's accuracy KPIs of ``run_id``: ``wape_total``, ``wape_median`` (None when missing) and
    ``wape_n`` (see :func:`compute`)."""
    row = run_accuracy(run_id, url)[0].iloc[0]
    return {"wape_total": None if pd.isna(row["wape_total"]) else float(row["wape_total"]),
            "wape_median": None if pd.isna(row["wape_median"]) else float(row["wape_median"]),
            "wape_n": int(row["wape_n"])}


def chosen_folds(run_id: str, url: str | None = None) -> pd.DataFrame:
    """Per level and fold the chosen models' summed ``mae``, actuals ``sum_y`` and mean coverages of ``run_id``
    (see :func:`compute`; the Monitoring page's backtest band)."""
    return run_accuracy(run_id, url)[1]
