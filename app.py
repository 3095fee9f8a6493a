"""Creates the Dash app and its page shell; `server` is the WSGI entry point (gunicorn app:server)."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Dash, dcc, html


def create_app() -> Dash:
    app = Dash(__name__, use_pages=True, pages_folder="layouts", title="Sales Forecasting",
               external_stylesheets=[dbc.themes.BOOTSTRAP], suppress_callback_exceptions=True)
    nav = dbc.NavbarSimple(
        [dbc.NavLink(page["name"], href=page["relative_path"], active="exact")
         for page in dash.page_registry.values()],
        brand="Sales Forecasting", color="dark", dark=True, className="mb-3")
    app.layout = html.Div([dcc.Location(id="app-url"), nav, dbc.Container(dash.page_container, fluid=True)])
    import callbacks  # noqa: F401  (registers the page callbacks)
    return app


def _wsgi():
    return create_app().server


if __name__ == "__main__":
    import cli
    raise SystemExit(cli.main(["serve"]))
