"""Who is calling, and role checks as FastAPI dependencies: ``Depends(require("viewer"))``.

:func:`principal` is the one place that identifies an API caller: a ``Authorization: Bearer`` token
(``auth.principal_for_token``), else :data:`auth.OPEN_PRINCIPAL` while no user exists (auth is off), else
nobody. When AUTH's ``auth.web.request_principal`` lands, it replaces the body of :func:`principal`.
"""
from __future__ import annotations

from typing import Callable

from fastapi import Request

import auth
from api.problems import Problem

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


def principal(request: Request) -> auth.Principal | None:
    """The caller: its bearer token's principal, OPEN_PRINCIPAL when no user exists, else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found = auth.principal_for_token(token.strip())
        if found is not None:
            return found
    return None if auth.auth_enabled() else auth.OPEN_PRINCIPAL


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
        if not who.allows(role):
            raise Problem(403, f"this needs the {role} role; {who.name} is {who.role}", kind="forbidden")
        return who

    dependency.__name__ = f"require_{role}"
    return dependency


viewer = require("viewer")
analyst = require("analyst")
