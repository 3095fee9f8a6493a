"""Imports every page's callback module so that `dash.callback` registers them."""
from dash import _callback

from callbacks import explore, forecast, overview  # noqa: F401  (engineer A's pages)

# Engineer B adds `from callbacks import data, drivers, runs` here, ABOVE the snapshot below.
from callbacks import data, drivers, runs  # noqa: F401,E402  (engineer B's pages)

# Dash moves globally registered callbacks into the first app that serves a request; a snapshot lets
# every later `create_app()` in the same process (tests, benchmarks) get the same callbacks.
_SNAPSHOT = (dict(_callback.GLOBAL_CALLBACK_MAP), list(_callback.GLOBAL_CALLBACK_LIST))


def attach_to_new_app() -> None:
    """Re-queue every page callback for the next app's first request (idempotent)."""
    callback_map, callback_list = _SNAPSHOT
    for key, value in callback_map.items():
        _callback.GLOBAL_CALLBACK_MAP.setdefault(key, value)
    known = {id(c) for c in _callback.GLOBAL_CALLBACK_LIST}
    _callback.GLOBAL_CALLBACK_LIST.extend(c for c in callback_list if id(c) not in known)
