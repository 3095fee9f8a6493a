"""`guarded`: a callback that fails shows its page's empty state with a short message; the traceback is logged."""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from dash.exceptions import PreventUpdate

log = logging.getLogger(__name__)


def short_error(exc: BaseException) -> str:
    """The first line of an exception's message (SQL and tracebacks stay in the server log)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def guarded(fallback: Callable[[str], Any]):
    """Decorate a callback (below ``@callback``), or a read it makes, so that an exception returns
    ``fallback(short_error(exc))``.

    The exception and its traceback go to the server log; the user sees only the short message in the page's
    empty state (``fallback`` builds it, e.g. ``lambda msg: figures.empty_figure(f"Could not read: {msg}")``).
    ``PreventUpdate`` passes through, so a callback can still decline to update.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except PreventUpdate:
                raise
            except Exception as exc:  # noqa: BLE001 - shown as an empty state, never as a traceback
                log.exception("callback %s failed", fn.__name__)
                return fallback(short_error(exc))
        return wrapper
    return decorate
