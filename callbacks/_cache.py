"""The flask-caching `Cache` that app.py binds to the server, and `memo` to memoize store/analytics calls."""
from __future__ import annotations

import importlib.util

from flask import has_app_context
from flask_caching import Cache

from data import store

cache = Cache()


def cache_config(settings) -> dict:
    """flask-caching's settings: Redis when ``SALES_CACHE_REDIS_URL`` is set; a folder under ``SALES_CACHE_DIR``
    shared by the production server's workers (``serve --prod`` sets the namespace of its start); else (the one
    process of the development server, tests, benchmarks) in memory."""
    common = {"CACHE_DEFAULT_TIMEOUT": 3600}
    if settings.cache_redis_url:
        if importlib.util.find_spec("redis") is None:
            raise ValueError("SALES_CACHE_REDIS_URL is set but the Python package `redis` is not installed: "
                             "`pip install redis`, or unset SALES_CACHE_REDIS_URL to share the cache through "
                             "SALES_CACHE_DIR")
        return {**common, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.cache_redis_url,
                "CACHE_KEY_PREFIX": "sales-callbacks:"}
    if settings.cache_namespace:
        folder = settings.cache_dir / "callbacks" / settings.cache_namespace
        return {**common, "CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(folder), "CACHE_THRESHOLD": 20000}
    return {**common, "CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000}


def _key(fn, args) -> str:
    return f"{fn.__module__}.{fn.__qualname__}|{store.resolve_url()}|{store.data_version()}|{args!r}"


def peek(fn, *args):
    """``(True, value)`` when ``memo(fn, *args)`` is already cached, else ``(False, None)`` (never computes)."""
    if not has_app_context():
        return False, None
    try:
        hit = cache.cache.get(_key(fn, args))
    except (AttributeError, RuntimeError, KeyError):
        return False, None
    return (True, hit[0]) if hit is not None else (False, None)


def memo(fn, *args):
    """``fn(*args)`` through the cache, keyed on the function, its (hashable) args, the DB and the data version.

    The data version changes with every import, refresh or effects run, so a new run is never hidden by
    a stale entry. Outside a Flask app context (callbacks called directly in tests) it just calls ``fn``.
    """
    if not has_app_context():
        return fn(*args)
    try:
        backend = cache.cache
    except (AttributeError, RuntimeError, KeyError):  # cache not bound to this app
        return fn(*args)
    key = _key(fn, args)
    hit = backend.get(key)
    if hit is not None:
        return hit[0]
    value = fn(*args)
    backend.set(key, (value,))
    return value

