"""Who is calling, and role checks as FastAPI dependencies: ``Depends(require("viewer"))``.

:func:`principal` is the one place that identifies an API caller, through the identification the dashboard
uses too (``auth.web.request_principal``): an ``Authorization: Bearer`` token, else the dashboard's session
cookie, else :data:`auth.OPEN_PRINCIPAL` while no user exists and the server answers on a loopback address.
"""
from __future__ import annotations

from typing import Callable

from fastapi import Request

import auth
from api.problems import Problem
from auth import web as auth_web

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


def principal(request: Request) -> auth.Principal | None:
    """The caller: its bearer token's or session's principal, OPEN_PRINCIPAL when no user exists on a local
    server, else None."""
    # The address this connection reached (uvicorn: the bound socket): a server reached over the network is not
    # local, so it never runs open even if its last user was removed while it ran.
    host = (request.scope.get("server") or ("", 0))[0]
    return auth_web.request_principal(request.headers, request.cookies, auth_web.is_local_host(host))


def require(role: str) -> Callable[[Request], auth.Principal]:
    """A dependency admitting callers of at least ``role``: 401 (with a Bearer challenge) without valid
    credentials, 403 with too small a role."""
    if role not in auth.ROLES:
        raise ValueError(f"unknown role {role!r}")

    def dependency(request: Request) -> auth.Principal:
        who = principal(request)
        if who is None:
            bad = request.headers.get("authorization")
            detail = ("the bearer token is unknown or revoked" if bad else
                      "credentials required: send 'Authorization: Bearer <token>' "
                      "(create one with `python cli.py token create NAME`)")
            raise Problem(401, detail, kind="unauthorized", headers=CHALLENGE)
        # A session cookie rides along on cross-site requests: a state-changing one must come from our pages.
        refused = auth_web.csrf_refusal(request.method, request.headers, strict=who.via == "session")
        if refused:
            raise Problem(403, refused, kind="forbidden")
        if not who.allows(role):
            raise Problem(403, f"this needs the {role} role; {who.name} is {who.role}", kind="forbidden")
        return who

    dependency.__name__ = f"require_{role}"
    return dependency


viewer = require("viewer")
analyst = require("analyst")
