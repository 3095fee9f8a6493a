"""The import size limit on the bytes a file *expands to*: gzip layers are streamed and counted, never held whole.

A plain file's size is its ``stat`` size (checked by :func:`data.ingest_common.check_file`); a gzip file is
decompressed here in chunks, layer by layer (gzip inside gzip is opened too, up to :data:`MAX_LAYERS`), counting
the bytes every layer produces, and refused as soon as any layer passes the limit: a 1 MB bomb that expands to
gigabytes costs one limit's worth of decompression and one chunk of memory. A file that cannot be decompressed
here is left to the reader, which reports it.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20      # bytes decompressed per read: the memory bound of the check
MAX_LAYERS = 8       # gzip inside gzip: deeper layers are counted as the bytes of the last opened one


class _Counted:
    """A readable stream that counts the bytes read through it (one per gzip layer)."""

    def __init__(self, stream):
        self.stream = stream
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.count += len(data)
        return data


def expanded_bytes(fileobj, stop_after: int) -> int:
    """Bytes the gzip stream ``fileobj`` expands to (through nested gzip layers), stopping once over ``stop_after``.

    Returns the largest count of any layer; a result ``> stop_after`` means "over the limit" (the rest is not read).
    Reading stops quietly at a corrupt or truncated layer: the reader reports those with its own message.
    """
    layers = [_Counted(fileobj)]
    try:
        while len(layers) <= MAX_LAYERS:
            inner = gzip.GzipFile(fileobj=layers[-1], mode="rb")
            layers.append(_Counted(inner))
            if inner.peek(2)[:2] != GZIP_MAGIC:
                break
        innermost = layers[-1]
        while innermost.read(CHUNK):
            if max(layer.count for layer in layers[1:]) > stop_after:
                break
    except (OSError, EOFError, zlib.error):
        pass
    return max(layer.count for layer in layers[1:])


def check_expanded_size(path, limit_mb: int, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` naming ``path`` and the limit when its decompressed content exceeds ``limit_mb`` MB."""
    p = Path(path)
    limit = limit_mb * 1024 * 1024
    with open(p, "rb") as fh:
        gz = fh.read(2) == GZIP_MAGIC
        fh.seek(0)
        size = expanded_bytes(fh, limit) if gz else 0
    if size > limit:
        raise error(f"{p}: the decompressed content is over the limit of {limit_mb} MB (raise it with "
                    "SALES_MAX_UPLOAD_MB)")
