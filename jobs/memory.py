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


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def return_large_frees(threshold: int = 1 << 20) -> bool:
    """Serve allocations of at least ``threshold`` bytes (a feature column of a global model's group is 2-3 MB)
    from their own mappings, given back to the OS when freed: glibc otherwise raises this threshold after the
    first such free (up to 32 MB) and keeps later columns in its heap, so a fit's freed matrices stay resident
    while the next ones are made (on the large demo's largest lgbm task: 25 MB more at the peak, and 120 MB
    more at its end). A fixed value turns that adjustment off. Returns whether it was set (False without glibc)."""
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
