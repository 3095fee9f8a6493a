"""The production ASGI application: the REST API (FastAPI) at /api with the Dash app mounted under it at /.

FastAPI is the outer app because the API is the ASGI-native part (async streaming, OpenAPI); Dash is a Flask
(WSGI) app, served through a2wsgi's thread pool. `python cli.py serve --prod` runs it in gunicorn with uvicorn
workers (:func:`serve_production`), the same as `gunicorn -k uvicorn.workers.UvicornWorker server:application`.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

WORKER_CLASS = "uvicorn.workers.UvicornWorker"


def create_asgi_app():
    """The API with the Dash app mounted at / (routes of the API match first), behind the security headers."""
    from a2wsgi import WSGIMiddleware

    from api.app import create_api
    from app import create_app
    from auth.headers import SecurityHeadersMiddleware
    application = create_api()
    application.mount("/", WSGIMiddleware(create_app().server))
    application.add_middleware(SecurityHeadersMiddleware)  # outermost: covers the API and the mounted app
    return application


def __getattr__(name: str):
    """`server.application` builds the app lazily, so importing this module does no work."""
    if name == "application":
        return create_asgi_app()
    raise AttributeError(f"module 'server' has no attribute {name!r}")


def share_callback_cache(cache_dir: Path) -> str:
    """Give this server start its own folder of the workers' shared callback cache and drop the folders of earlier
    starts (a database replaced between two starts must not be answered from the old one's entries).

    Sets ``SALES_CACHE_NAMESPACE``, which the workers inherit; returns it.
    """
    namespace = os.environ.get("SALES_CACHE_NAMESPACE") or f"{int(time.time())}-{os.getpid()}"
    os.environ["SALES_CACHE_NAMESPACE"] = namespace
    root = cache_dir / "callbacks"
    if root.is_dir():
        for old in root.iterdir():
            if old.name != namespace and old.is_dir() and time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
    return namespace


def gunicorn_options(host: str, port: int, workers: int, forwarded_allow_ips: str) -> dict:
    """gunicorn's settings for ``serve --prod``: uvicorn workers, proxy headers believed only from the given IPs."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": WORKER_CLASS,
        "forwarded_allow_ips": forwarded_allow_ips,
        "timeout": 120,  # a worker's event loop answers the heartbeat; long jobs run in background processes
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "sales-forecasting",
        "control_socket_disable": True,  # no management socket in $HOME (the container user has none)
    }


def serve_production(host: str, port: int, workers: int, forwarded_allow_ips: str = "127.0.0.1") -> int:
    """Run gunicorn in this process (programmatic ``BaseApplication``, not a subprocess) until it is stopped.

    Each worker builds its own app after the fork (no preload): Dash's callbacks and the database engine are
    per process; the callback cache is shared through the filesystem (or Redis) and background jobs through
    the DiskcacheManager's folder.
    """
    from gunicorn.app.base import BaseApplication

    options = gunicorn_options(host, port, workers, forwarded_allow_ips)

    class _Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return create_asgi_app()

    _Server().run()
    return 0


def serve_prod(host: str, port: int, workers: int, settings) -> int:
    """``cli.py serve --prod``: share the callback cache, check its configuration, then serve until stopped."""
    import config
    from callbacks._cache import cache_config
    share_callback_cache(settings.cache_dir)
    cache_config(config.load())  # reads the namespace just set; a Redis URL without `redis` stops here
    print(f"serving http://{host}:{port} with gunicorn, {workers} uvicorn worker(s); the API at /api/v1", flush=True)
    return serve_production(host, port, workers, settings.forwarded_allow_ips)
