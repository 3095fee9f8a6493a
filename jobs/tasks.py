"""The work list of a refresh's model map: batches of local series and per-fold tasks of the global models."""
from __future__ import annotations

import pandas as pd

from domain import BOTTOM_LEVEL
from jobs.executor import GlobalTask, SeriesTask
from jobs.params import RefreshParams


def _batches(ids: list[str], jobs: int, max_size: int = 40) -> list[list[str]]:
    """Split series into batches: about 4 per worker for load balance (one process: as large as allowed)."""
    n = max_size if jobs <= 1 else max(1, min(max_size, -(-len(ids) // (4 * jobs))))
    return [ids[i:i + n] for i in range(0, len(ids), n)]


def _level_groups(frames, futures, knowns=None) -> list[tuple[bool, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]]:
    """``(is_bottom, history, future, known)`` for the bottom level and for all aggregate levels together (when
    present); ``known``: the backtest windows' inputs as known at the origin (None: oracle backtests)."""
    out = []
    for bottom, levels in ((True, [BOTTOM_LEVEL]), (False, [lv for lv in frames if lv != BOTTOM_LEVEL])):
        levels = [lv for lv in levels if lv in frames]
        if levels:
            out.append((bottom, pd.concat([frames[lv] for lv in levels], ignore_index=True),
                        pd.concat([futures[lv] for lv in levels], ignore_index=True),
                        None if knowns is None else pd.concat([knowns[lv] for lv in levels], ignore_index=True)))
    return out


def local_tasks(frames, futures, params: RefreshParams, local_models, model_params, jobs,
                knowns=None) -> list[SeriesTask]:
    """Batches of the bottom series (best model refitted) and of all aggregate nodes (every candidate refitted)."""
    tasks = []
    for bottom, frame, future, known in _level_groups(frames, futures, knowns):
        for batch in _batches(sorted(frame["series_id"].unique()), jobs):
            tasks.append(SeriesTask(
                series_ids=tuple(batch), frame=frame[frame["series_id"].isin(batch)].reset_index(drop=True),
                future=future[future["series_id"].isin(batch)].reset_index(drop=True),
                models=tuple(local_models), freq=params.freq, h=params.horizon, folds=params.folds,
                metric=params.metric, n_final=_n_final(params, bottom),
                params=model_params, keep_models=not bottom,
                known=None if known is None else known[known["series_id"].isin(batch)].reset_index(drop=True)))
    return tasks


def _n_final(params: RefreshParams, bottom: bool) -> int | None:
    """How many local models each series fits on its full history (None: all; combinations may need any)."""
    if not bottom or params.combining:
        return None
    return 2 if params.ensemble else 1


def global_tasks(frames, futures, params: RefreshParams, glob, model_params, knowns=None) -> list[GlobalTask]:
    """One task per global model and group: the bottom level, and all aggregate levels together.

    Pooling the ~aggregate levels into one global model (targets are scaled per series) costs one set of
    fits instead of six and gives the small levels (total: one series) more data to learn from. Each group is
    split into one task per backtest fold plus one for the final fit: the bottom group's fits are the longest
    work of a refresh, and run back to back in one task they would leave the other workers idle at the end.
    """
    groups = _level_groups(frames, futures, knowns)
    tasks = []
    for name in glob:
        for bottom, frame, future, known in groups:
            group = BOTTOM_LEVEL if bottom else "aggregates"
            for part in range(params.folds + 1):  # 0 = the final fit (the largest), then folds 1..K
                tasks.append(GlobalTask(name=name, group=group, frame=frame, future=future, freq=params.freq,
                                        h=params.horizon, folds=params.folds, params=model_params.get(name, {}),
                                        part=part, known=known))
    return tasks
