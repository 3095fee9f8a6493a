"""The work list of a refresh's model map: batches of local series and per-fold tasks of the global models.

The list is made of :class:`TaskRef` records (which series a task covers, whether it is a global model's, and how
to build it) so that a task's frames are cut one task at a time: the refresh builds each task and writes it to disk
(:func:`jobs.stages.cut_tasks`, :mod:`jobs.spill`) before the next, so it never holds a second copy of the panel.
A task's frame is the rows of its series in the level frame's order, exactly what ``frame[isin(ids)]`` gives.

A global model is trained per group of at most ``SALES_GLOBAL_GROUP_ROWS`` history rows (whole series,
consecutive in key order, so a group is a block of stores): one model over a 10-million-row panel would need its
feature matrix (about 45 float columns per row) several times over in one worker. A level that fits in one group
is modelled exactly as before, under the artifact name of its level (``store_product``); further groups are named
``store_product-2``, ``store_product-3``, ... (:func:`group_names`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from domain import BOTTOM_LEVEL
from jobs.executor import GlobalTask, SeriesTask
from jobs.params import RefreshParams

AGGREGATES = "aggregates"


@dataclass(frozen=True)
class TaskRef:
    """One task of the model map before its frames are cut: the series it covers and a builder."""

    series_ids: tuple[str, ...]
    is_global: bool
    build: Callable[[], object]


def _batches(ids: list[str], jobs: int, max_size: int = 40) -> list[list[str]]:
    """Split series into batches: about 4 per worker for load balance (one process: as large as allowed)."""
    n = max_size if jobs <= 1 else max(1, min(max_size, -(-len(ids) // (4 * jobs))))
    return [ids[i:i + n] for i in range(0, len(ids), n)]


class _Rows:
    """The rows of chosen series of one frame, in the frame's order (``frame[frame.series_id.isin(ids)]``), cut
    from positions indexed once instead of scanning the whole frame per batch."""

    def __init__(self, frame: pd.DataFrame | None):
        self.frame = frame
        self.pos = None if frame is None else frame.groupby("series_id", sort=False).indices

    def of(self, ids) -> pd.DataFrame | None:
        if self.frame is None:
            return None
        parts = [self.pos[s] for s in ids if s in self.pos]
        idx = np.sort(np.concatenate(parts)) if parts else np.array([], dtype=np.intp)
        return self.frame.iloc[idx].reset_index(drop=True)


def _level_groups(frames, futures, knowns=None) -> list[tuple[bool, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]]:
    """``(is_bottom, history, future, known)`` for the bottom level and for all aggregate levels together (when
    present); ``known``: the backtest windows' inputs as known at the origin (None: oracle backtests). A single
    level's frames are passed as they are (the tasks cut copies of their rows)."""
    def joined(parts):
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)

    out = []
    for bottom, levels in ((True, [BOTTOM_LEVEL]), (False, [lv for lv in frames if lv != BOTTOM_LEVEL])):
        levels = [lv for lv in levels if lv in frames]
        if levels:
            out.append((bottom, joined([frames[lv] for lv in levels]), joined([futures[lv] for lv in levels]),
                        None if knowns is None else joined([knowns[lv] for lv in levels])))
    return out


def local_tasks(frames, futures, params: RefreshParams, local_models, model_params, jobs,
                knowns=None) -> list[TaskRef]:
    """Batches of the bottom series (best model refitted) and of all aggregate nodes (every candidate refitted)."""
    refs = []
    for bottom, frame, future, known in _level_groups(frames, futures, knowns):
        rows = [_Rows(frame), _Rows(future), _Rows(known)]
        for batch in _batches(sorted(frame["series_id"].unique()), jobs):
            refs.append(TaskRef(tuple(batch), False, _local_builder(rows, tuple(batch), params, local_models,
                                                                    model_params, bottom)))
    return refs


def _local_builder(rows, batch, params, local_models, model_params, bottom) -> Callable[[], SeriesTask]:
    def build():
        frame, future, known = (r.of(batch) for r in rows)
        return SeriesTask(series_ids=batch, frame=frame, future=future, models=tuple(local_models), freq=params.freq,
                          h=params.horizon, folds=params.folds, metric=params.metric,
                          n_final=_n_final(params, bottom), params=model_params, keep_models=not bottom, known=known)
    return build


def _n_final(params: RefreshParams, bottom: bool) -> int | None:
    """How many local models each series fits on its full history (None: all; combinations may need any)."""
    if not bottom or params.combining:
        return None
    return 2 if params.ensemble else 1


def split_groups(frame: pd.DataFrame, max_rows: int) -> list[list[str]]:
    """The series of ``frame`` (sorted keys) in ``ceil(rows / max_rows)`` consecutive groups of about equal rows
    (each series whole, in the group that holds its middle row)."""
    counts = frame.groupby("series_id", sort=True).size()
    ids, sizes = counts.index.to_numpy(dtype=object), counts.to_numpy()
    total = int(sizes.sum())
    n_groups = max(1, -(-total // max(1, int(max_rows))))
    if n_groups == 1:
        return [list(ids)]
    middle = np.cumsum(sizes) - sizes / 2
    which = np.minimum((middle // (total / n_groups)).astype(int), n_groups - 1)
    return [list(ids[which == g]) for g in range(n_groups) if (which == g).any()]


def group_names(level_group: str, n: int) -> list[str]:
    """Artifact names of the ``n`` groups of a level: the level's own name first, then ``-2``, ``-3``, ..."""
    return [level_group] + [f"{level_group}-{k}" for k in range(2, n + 1)]


def global_tasks(frames, futures, params: RefreshParams, glob, model_params, knowns=None,
                 max_rows: int | None = None) -> list[TaskRef]:
    """Per global model and series group, one task per backtest fold plus one for the final fit.

    The groups: the bottom level (in groups of at most ``max_rows`` rows, default ``params.global_group_rows``, from ``SALES_GLOBAL_GROUP_ROWS``),
    and all aggregate levels together. Pooling the aggregate levels into one global model (targets are scaled
    per series) costs one set of fits instead of six and gives the small levels (total: one series) more data to
    learn from. Each group is split into one task per backtest fold plus one for the final fit: the bottom
    group's fits are the longest work of a refresh, and run back to back in one task they would leave the other
    workers idle at the end.
    """
    max_rows = max_rows or params.global_group_rows
    refs = []
    for bottom, frame, future, known in _level_groups(frames, futures, knowns):
        level_group = BOTTOM_LEVEL if bottom else AGGREGATES
        id_groups = split_groups(frame, max_rows) if bottom else [sorted(frame["series_id"].unique())]
        rows = [_Rows(frame), _Rows(future), _Rows(known)] if len(id_groups) > 1 else None
        for group, ids in zip(group_names(level_group, len(id_groups)), id_groups):
            cut = _SharedCut(rows, (frame, future, known), ids, uses=len(glob) * (params.folds + 1))
            for name in glob:
                for part in range(params.folds + 1):  # 0 = the final fit (the largest), then folds 1..K
                    refs.append(TaskRef(tuple(ids), True, _global_builder(cut, name, group, params, model_params,
                                                                          part)))
    return refs


class _SharedCut:
    """A group's frames, cut once and shared by the group's tasks (so they are written to disk once, and Spark
    broadcasts them once), and released by this record when its last task is built."""

    def __init__(self, rows, whole, ids, uses: int):
        self.rows, self.whole, self.ids, self.left, self.frames = rows, whole, ids, uses, None

    def take(self):
        if self.frames is None:
            self.frames = self.whole if self.rows is None else tuple(r.of(self.ids) for r in self.rows)
        frames = self.frames
        self.left -= 1
        if self.left <= 0:
            self.frames = None
        return frames


def _global_builder(cut: _SharedCut, name, group, params, model_params, part) -> Callable[[], GlobalTask]:
    def build():
        frame, future, known = cut.take()
        return GlobalTask(name=name, group=group, frame=frame, future=future, freq=params.freq, h=params.horizon,
                          folds=params.folds, params=model_params.get(name, {}), part=part, known=known)
    return build
