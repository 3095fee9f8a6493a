"""Handing freed memory back to the OS between a refresh's tasks and the effects job's stages."""
from __future__ import annotations

import ctypes


def release_memory() -> None:
    """Return free heap pages to the OS (``malloc_trim``, well under a millisecond; a no-op without glibc) and
    Arrow's pool its unused buffers: glibc keeps freed small blocks and Arrow freed buffers, so the resident set
    after one task or stage would otherwise be the floor of the next (the effects job: about 0.5 GB on the
    large demo). No ``gc.collect()``: a task's frames are freed by reference counting, and a collection costs
    about half a second in a worker that has imported the models."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass
    try:
        import pyarrow
        pyarrow.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover - pandas' string columns bring pyarrow
        pass
