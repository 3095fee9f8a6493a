"""Applies the security headers of :mod:`auth.headers` to every response of the Dash (Flask) server, so the
development server and the production one (where this app is mounted inside the API) send the same ones."""
from __future__ import annotations

from flask import request

from auth.headers import security_headers


def install(app) -> None:
    """Register a Flask ``after_request`` hook on ``app.server`` adding the headers (with the hashes of Dash's
    inline scripts in the CSP) to each response that does not set them itself."""
    hashes: list[str] = []  # read at the first response: Dash adds its inline scripts while setting up the server

    def add_security_headers(response):
        if not hashes:
            hashes.extend(app.csp_hashes())
        for name, value in security_headers(request.scheme == "https", hashes, request.path).items():
            response.headers.setdefault(name, value)
        return response

    app.server.after_request(add_security_headers)
