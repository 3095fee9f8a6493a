"""The production ASGI application: the REST API (FastAPI) at /api with the Dash app mounted under it at /.

FastAPI is the outer app because the API is the ASGI-native part (async streaming, OpenAPI); Dash is a Flask
(WSGI) app, served through a2wsgi's thread pool. `gunicorn -k uvicorn.workers.UvicornWorker server:application`.
"""
from __future__ import annotations


def create_asgi_app():
    """The API with the Dash app mounted at / (routes of the API match first)."""
    from a2wsgi import WSGIMiddleware

    from api.app import create_api
    from app import create_app
    application = create_api()
    application.mount("/", WSGIMiddleware(create_app().server))
    return application


def __getattr__(name: str):
    """`server.application` builds the app lazily, so importing this module does no work."""
    if name == "application":
        return create_asgi_app()
    raise AttributeError(f"module 'server' has no attribute {name!r}")
