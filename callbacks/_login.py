"""The dashboard's login: the request gate (Flask ``before_request``), the login page and logout.

The gate runs before every request of the Dash server (the development server and server.py's ASGI app alike):
static files and the login page pass; otherwise it finds the request's principal (``auth.web``), refuses a
possibly cross-site state-changing request (403), and with nobody signed in redirects a page load to ``/login``
and answers anything else (layout, callbacks) 401. With no user, a local server runs open.
"""
from __future__ import annotations

import html
import logging
from urllib.parse import quote

import flask

from auth import web as auth_web
from callbacks import _auth

log = logging.getLogger(__name__)

LOGIN_PATH, LOGOUT_PATH = "/login", "/logout"
_PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")


def install(app) -> None:
    """Add the gate, ``/login`` and ``/logout`` to the Dash app's server, gate the page layouts, log the mode."""
    server = app.server
    server.before_request(gate)
    server.add_url_rule(LOGIN_PATH, "sf_login", login_page, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT_PATH, "sf_logout", logout, methods=["GET", "POST"])
    _auth.gate_page_layouts()
    try:
        log.warning("dashboard %s", auth_web.mode_message())
    except Exception:  # noqa: BLE001 - no database yet: the first request decides
        log.warning("dashboard auth: no readable database yet (open mode until a user exists)")


def _host_is_local() -> bool:
    # The address this connection reached: the bind address (Werkzeug) or the socket's local address (uvicorn
    # through a2wsgi). A server bound to 0.0.0.0 and reached over the network is not local.
    return auth_web.is_local_host(flask.request.environ.get("SERVER_NAME"))


def _wants_page() -> bool:
    req = flask.request
    return req.method == "GET" and not req.path.startswith("/_") and "text/html" in req.headers.get("Accept", "")


def gate():
    """Before every request: let static files and the login page through, else identify, check CSRF and refuse."""
    req = flask.request
    if req.path.startswith(_PUBLIC_PREFIXES) or req.path in (LOGIN_PATH, LOGOUT_PATH):
        return None
    principal = auth_web.request_principal(req.headers, req.cookies, _host_is_local())
    flask.g.principal = principal
    strict = principal is not None and principal.via == "session"
    refused = auth_web.csrf_refusal(req.method, req.headers, strict=strict)
    if refused:
        return flask.jsonify(error=refused), 403
    if principal is not None:
        return None
    if _wants_page():
        target = req.full_path.rstrip("?")
        return flask.redirect(f"{LOGIN_PATH}?next={quote(target, safe='')}")
    return flask.jsonify(error="login required: sign in at /login (or send Authorization: Bearer TOKEN)"), 401


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never ``//host`` or a URL): an open redirect would help phishing."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_page():
    """GET: the sign-in form. POST: check the password (rate limited), set the session cookie and go on."""
    req = flask.request
    target = _safe_next(req.values.get("next"))
    if req.method == "GET":
        return _page(target, message=_open_notice())
    refused = auth_web.csrf_refusal(req.method, req.headers, strict=False)
    if refused:
        return _page(target, refused, status=403)
    name = req.form.get("name", "")
    try:
        _principal, token = auth_web.login(name, req.form.get("password", ""), req.remote_addr)
    except auth_web.LoginRefused as exc:
        return _page(target, str(exc), name=name, status=429 if "too many" in str(exc) else 401)
    response = flask.redirect(target)
    response.set_cookie(value=token, **auth_web.cookie_settings(req.headers))
    return response


def logout():
    """POST: end the session on the server, clear the cookie, back to the sign-in page. GET: a logout button."""
    req = flask.request
    if req.method == "GET":
        return _page("/", message="Press the button to sign out.", logout_form=True)
    refused = auth_web.csrf_refusal(req.method, req.headers, strict=False)
    if refused:
        return flask.jsonify(error=refused), 403
    auth_web.end_session(req.cookies.get(auth_web.SESSION_COOKIE))
    response = flask.redirect(LOGIN_PATH)
    settings = auth_web.cookie_settings(req.headers)
    response.delete_cookie(settings["key"], path=settings["path"], secure=settings["secure"], httponly=True,
                           samesite=settings["samesite"])
    return response


def _open_notice() -> str | None:
    from auth import auth_enabled
    if auth_enabled():
        return None
    return (f"No user exists yet: add one on the server with `{auth_web.ADD_USER_HINT}`, then sign in "
            "(until then only a server on 127.0.0.1 runs, open).")


def _page(target: str, message: str | None = None, name: str = "", status: int = 200, logout_form: bool = False):
    """The sign-in page: plain HTML (no JavaScript needed), Bootstrap from assets/."""
    esc = html.escape
    alert = f'<div class="alert alert-danger py-2" id="login-error">{esc(message)}</div>' if message else ""
    if logout_form:
        body = ('<form method="post" action="/logout"><button class="btn btn-primary" id="logout-submit" '
                'type="submit">Log out</button></form>')
    else:
        body = (f'<form method="post" action="{LOGIN_PATH}">'
                f'<input type="hidden" name="next" value="{esc(target)}">'
                '<div class="mb-2"><label class="form-label" for="login-name">User</label>'
                f'<input class="form-control" id="login-name" name="name" value="{esc(name)}" '
                'autocomplete="username" required autofocus></div>'
                '<div class="mb-3"><label class="form-label" for="login-password">Password</label>'
                '<input class="form-control" id="login-password" name="password" type="password" '
                'autocomplete="current-password" required></div>'
                '<button class="btn btn-primary w-100" id="login-submit" type="submit">Sign in</button></form>')
    page = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>Sign in · Sales Forecasting</title><link rel="icon" href="/_favicon.ico">'
            '<link rel="stylesheet" href="/assets/00_bootstrap.min.css"></head>'
            '<body class="bg-light"><main class="container" style="max-width:380px;margin-top:12vh">'
            '<h1 class="h4 mb-3">Sales Forecasting</h1><div class="card card-body shadow-sm">'
            f'{alert}{body}</div></main></body></html>')
    response = flask.make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response
