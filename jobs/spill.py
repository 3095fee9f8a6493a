"""The model map's frames on disk: every task's frames cut from the loaded panel once and written as files, read back
by the process that runs the task, so that the refresh's driver holds no panel while the map runs.

The driver loads the whole panel (the aggregates' plan columns and the as-known inputs are made from it), cuts each
task's rows (:mod:`jobs.tasks`) and writes them here (:meth:`Spill.task`); then it drops the panel, and a pool
worker reads its task's frames (:func:`resolve`) when the task starts. A frame several tasks share (a global
model's series group: one task per fold and one for the final fit) is written once. Frames are pickled (protocol 5),
so what a worker reads equals what the driver cut, dtypes included, and the forecasts cannot change.

Files go to ``<dir>/<n>.pkl`` under a directory of their own (the run's artifact directory in a refresh: a run
killed outright is cleaned up with its artifacts by the next refresh, :func:`jobs.lock.abandon_runs`), removed when
the map ends (:meth:`Spill.close`, also on failure).
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

FRAME_FIELDS = ("frame", "future", "known")  # the frame fields of the map's tasks (jobs.executor)


@dataclass(frozen=True)
class OnDisk:
    """A frame written by :class:`Spill`: its file (a few bytes to pickle instead of the frame)."""

    path: str


class Spill:
    """A directory of frames written for the model map; a context manager that removes it on exit."""

    def __init__(self, parent: str | os.PathLike | None = None, prefix: str = "map-"):
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        self.files = 0
        self.bytes = 0
        self._previous: dict[int, tuple[object, OnDisk]] = {}

    def put(self, obj) -> OnDisk:
        """Write ``obj`` (a frame, or any picklable value) to a new file; returns its handle."""
        path = self.dir / f"{self.files}.pkl"
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=5)
            self.bytes += f.tell()
        self.files += 1
        return OnDisk(str(path))

    def task(self, task):
        """``task`` with each of its frames (:data:`FRAME_FIELDS`) written to disk and replaced by its
        :class:`OnDisk` handle. A frame the previous task also carried (the same object: a global model's group
        is cut once for all its tasks, which follow one another) is not written again."""
        handles, current = {}, {}
        for name in FRAME_FIELDS:
            frame = getattr(task, name, None)
            if frame is None or isinstance(frame, OnDisk):
                continue
            held = self._previous.get(id(frame))
            handle = held[1] if held is not None and held[0] is frame else self.put(frame)
            current[id(frame)] = (frame, handle)  # the object is held, so its id cannot be reused meanwhile
            handles[name] = handle
        self._previous = current
        return dataclasses.replace(task, **handles) if handles else task

    def close(self) -> None:
        """Remove the directory and everything in it."""
        self._previous = {}
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read(handle: OnDisk):
    """The object written as ``handle``."""
    with open(handle.path, "rb") as f:
        return pickle.load(f)


def resolve(task, cache: dict | None = None):
    """``task`` with its :class:`OnDisk` frames read back (a task without any is returned as it is). With
    ``cache`` (``{path: frame}``), tasks that share a file get the same frame object, read once."""
    frames = {}
    for name in FRAME_FIELDS:
        handle = getattr(task, name, None)
        if isinstance(handle, OnDisk):
            if cache is None:
                frames[name] = read(handle)
            else:
                if handle.path not in cache:
                    cache[handle.path] = read(handle)
                frames[name] = cache[handle.path]
    return dataclasses.replace(task, **frames) if frames else task
