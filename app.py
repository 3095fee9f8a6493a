"""Creates the Dash app and its page shell; `server` (gunicorn app:server) is built on first access, not at import."""
from __future__ import annotations

from functools import lru_cache

import dash
import dash_bootstrap_components as dbc
from dash import Dash, dcc, html

from layouts import ids


def _navbar() -> dbc.Navbar:
    """One dropdown per task group (analyse, forecast and plan, operate); a group of one page is a plain link."""
    links = []
    for group, pages in ids.NAV_GROUPS:
        if len(pages) == 1:
            name, path = pages[0]
            links.append(dbc.NavItem(dbc.NavLink(name, href=path, active="exact")))
            continue
        items = [dbc.DropdownMenuItem(name, href=path) for name, path in pages]
        links.append(dbc.DropdownMenu(items, label=group, nav=True, in_navbar=True, align_end=True,
                                      id=ids.Shell.nav_group(group)))
    return dbc.Navbar(dbc.Container([
        dbc.NavbarBrand("Sales Forecasting", href="/", className="fw-semibold"),
        dbc.Nav(links, navbar=True, className="ms-auto"),
        html.Div(id=ids.Shell.USER, className="ms-3"),  # signed-in user and logout, or "open mode" (callbacks/_auth)
    ], fluid=True), id=ids.Shell.NAVBAR, color="dark", dark=True, className="mb-3 shadow-sm")


@lru_cache(maxsize=1)
def create_app() -> Dash:
    """The process's one Dash app, with every page and callback registered and the callback cache bound.

    `dash.callback` registers callbacks globally and the first app to serve a request takes them all, so a
    process has exactly one app: every caller (server, tests, benchmarks, screenshots) shares this one.
    """
    import diskcache

    import callbacks  # noqa: F401  (registers the page callbacks with dash.callback)
    import config
    from callbacks import _security
    from callbacks._cache import cache, cache_config
    # Background callbacks (refresh and import from the UI) run in child processes via this manager.
    manager = dash.DiskcacheManager(diskcache.Cache(str(config.load().cache_dir / "background")))
    # Bootstrap's CSS is served from assets/00_bootstrap.min.css: nothing is fetched from a CDN at run time.
    app = Dash(__name__, use_pages=True, pages_folder="layouts", title="Sales Forecasting",
               suppress_callback_exceptions=True, background_callback_manager=manager)
    app.layout = html.Div([
        dcc.Location(id=ids.Shell.URL, refresh=False),
        dcc.Store(id=ids.Shell.SESSION, storage_type="session"),
        _navbar(),
        dbc.Container(dash.page_container, id=ids.Shell.CONTENT, fluid=True, className="pb-4"),
    ])
    # Refuse an oversized request before it is read: an upload arrives base64-encoded in JSON (see config.py).
    app.server.config["MAX_CONTENT_LENGTH"] = config.load().max_request_bytes
    from callbacks import _login
    _login.install(app)  # login page, request gate (401/redirect, CSRF), role-gated page layouts
    cache.init_app(app.server, config=cache_config(config.load()))  # shared by the workers of `serve --prod`
    _security.install(app)  # security headers (auth/headers.py) on every response
    return app


def __getattr__(name: str):
    """`app.server` builds the app lazily, so importing this module does no work."""
    if name == "server":
        return create_app().server
    raise AttributeError(f"module 'app' has no attribute {name!r}")


if __name__ == "__main__":  # `python app.py` serves like `python cli.py serve`
    import config
    settings = config.load()
    create_app().run(host=settings.host, port=settings.port, debug=settings.debug)
