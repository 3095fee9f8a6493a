"""Requests and sessions, framework-free: who a request is (bearer token first, then the session cookie), open
mode, the startup refusal, dashboard login with a rate limit, logout, the CSRF check and the cookie's attributes.

The dashboard (Flask, ``callbacks/_login.py``) and the API (FastAPI, ``api/deps.py``) call these with plain
mappings of headers and cookies, so both identify a request the same way.

Sessions are rows of the ``sessions`` table holding the SHA-256 of a random 256-bit cookie token (not signed
tokens): logging out or removing the user deletes the row, which ends the session at once on every worker, and
there is no signing key to generate, share between workers and rotate.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

import config
from auth import AuthError, OPEN_PRINCIPAL, Principal, auth_enabled, authenticate, principal_for_token
from data import accounts
from data.engine import utcnow

SESSION_COOKIE = "sf_session"
MAX_FAILURES = 5  # failed logins per user name and client address ...
FAILURE_WINDOW = dt.timedelta(minutes=15)  # ... within this window, then refused until the oldest one ages out
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
ADD_USER_HINT = "python cli.py user add NAME --role admin"


class LoginRefused(AuthError):
    """A refused login: wrong name or password, or too many failures (the message says which)."""


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Header ``name`` from a mapping whose keys may have any case (Flask, Starlette or a plain dict)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, else None."""
    value = header(headers, "Authorization") or ""
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def identify(headers: Mapping[str, str] | None, cookies: Mapping[str, str] | None,
             url: str | None = None) -> Principal | None:
    """Who sent the request: a bearer token first (an invalid one is not rescued by a cookie), then the session
    cookie; None when neither identifies an active user."""
    token = bearer_token(headers)
    if token is not None:
        return principal_for_token(token, url)
    session_token = (cookies or {}).get(SESSION_COOKIE)
    return principal_for_session(session_token, url) if session_token else None


def request_principal(headers: Mapping[str, str] | None, cookies: Mapping[str, str] | None, host_is_local: bool,
                      url: str | None = None) -> Principal | None:
    """:func:`identify` when auth is on; with no user, :data:`auth.OPEN_PRINCIPAL` on a server bound to a local
    address and None elsewhere (such a server should not have started: :func:`startup_check`)."""
    if not auth_enabled(url):
        return OPEN_PRINCIPAL if host_is_local else None
    return identify(headers, cookies, url)


def is_local_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1), the only ones that may run open."""
    name = (host or "").strip().strip("[]").lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def startup_check(host: str | None, url: str | None = None) -> str | None:
    """The refusal message when serving on a non-local address with no user, else None."""
    if is_local_host(host) or auth_enabled(url):
        return None
    return (f"refusing to serve on {host}: no user exists, so anyone who reaches the port could upload data and "
            f"start refreshes. Add one first with `{ADD_USER_HINT}` (auth is on as soon as one user exists), "
            "or serve on 127.0.0.1")


def mode_message(url: str | None = None) -> str:
    """One log line: auth on (how many users) or open mode."""
    n = accounts.count_users(url)
    if n:
        return f"auth on: {n} user(s); pages and callbacks need a login, API calls a bearer token"
    return (f"open mode: no user exists, so every local visitor is admin (add one with `{ADD_USER_HINT}` to "
            "turn auth on)")


# ----------------------------------------------------------------------------- sessions and login

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_for_session(token: str | None, url: str | None = None) -> Principal | None:
    """The principal of an unexpired session cookie, or None (unknown, logged out, expired or user removed)."""
    if not token:
        return None
    owner = accounts.session_owner(_hash(token), url)
    return Principal(owner["name"], owner["role"], "session") if owner else None


def start_session(user_name: str, url: str | None = None) -> str:
    """A new session for ``user_name``; returns the cookie token (only its hash is stored)."""
    row = accounts.user_row(user_name, url)
    if row is None:
        raise AuthError(f"no user {user_name!r}")
    token = secrets.token_urlsafe(32)
    expires = utcnow().replace(microsecond=0) + dt.timedelta(hours=config.load().session_hours)
    accounts.insert_session(row["id"], _hash(token), expires, url)
    return token


def end_session(token: str | None, url: str | None = None) -> bool:
    """Log out: delete the session of this cookie token (server side); False when there was none."""
    return bool(token) and accounts.delete_session(_hash(token), url)


def login(name: str, password: str, address: str | None, url: str | None = None) -> tuple[Principal, str]:
    """Check a password and start a session: ``(principal, cookie token)``.

    :class:`LoginRefused` after a wrong name or password, and without checking the password once
    :data:`MAX_FAILURES` failures of this name from this address fall within :data:`FAILURE_WINDOW` (counted in
    the database, so every worker applies the same limit). Failures go to the audit log as ``login.fail``.
    """
    name, address = (name or "").strip(), (address or "unknown")
    now = utcnow()
    count, oldest = accounts.login_failures(name, address, now - FAILURE_WINDOW, url)
    if count >= MAX_FAILURES:
        wait = max(1, math.ceil(((oldest + FAILURE_WINDOW) - now).total_seconds() / 60)) if oldest else 15
        accounts.record_audit(name[:120] or "?", "login.fail", {"address": address, "reason": "rate limited"}, url)
        raise LoginRefused(f"too many failed logins for {name!r} from {address}: try again in {wait} minute(s)")
    principal = authenticate(name, password, url)
    if principal is None:
        accounts.record_login_failure(name, address, url)
        accounts.record_audit(name[:120] or "?", "login.fail", {"address": address}, url)
        raise LoginRefused("wrong user name or password")
    accounts.clear_login_failures(name, address, now - FAILURE_WINDOW, url)
    return principal, start_session(principal.name, url)


# ----------------------------------------------------------------------------- CSRF and cookies

def _host_of(value: str | None) -> str:
    return urlsplit(value).netloc.lower() if value else ""


def csrf_refusal(method: str, headers: Mapping[str, str] | None, strict: bool = True) -> str | None:
    """Why a state-changing request must be refused as possibly cross-site, or None when it may go on.

    Browsers mark every request with ``Sec-Fetch-Site`` (only ``same-origin`` or ``none``, a typed address, pass)
    or, older ones, with ``Origin``/``Referer``, which must name this host (``Host`` or ``X-Forwarded-Host``). A
    page on another site cannot remove or forge these headers. A request with none of them comes from a script,
    not a browser: refused when ``strict`` (a cookie-authenticated request; scripts use bearer tokens), allowed
    otherwise. Safe methods (GET, HEAD, OPTIONS) always pass.
    """
    if (method or "GET").upper() not in UNSAFE_METHODS:
        return None
    site = header(headers, "Sec-Fetch-Site")
    if site:
        if site.strip().lower() in ("same-origin", "none"):
            return None
        return f"cross-site request refused (Sec-Fetch-Site: {site})"
    origin = header(headers, "Origin")
    source = origin if origin and origin != "null" else header(headers, "Referer")
    if origin == "null" or source:
        hosts = {h.strip().lower() for h in (header(headers, "Host"), header(headers, "X-Forwarded-Host")) if h}
        if origin != "null" and _host_of(source) in hosts:
            return None
        return f"cross-origin request refused ({'Origin' if origin else 'Referer'} {source or 'null'} is not this site)"
    if strict:
        return ("request refused: a state-changing request with a session cookie must come from this site's pages "
                "(no Origin or Sec-Fetch-Site header); scripts use `Authorization: Bearer TOKEN`")
    return None


def is_tls(headers: Mapping[str, str] | None) -> bool:
    """True when a TLS-terminating proxy says the client used https (``X-Forwarded-Proto`` or ``Forwarded``)."""
    proto = (header(headers, "X-Forwarded-Proto") or "").split(",")[0].strip().lower()
    forwarded = (header(headers, "Forwarded") or "").lower()
    return proto == "https" or "proto=https" in forwarded


def cookie_settings(headers: Mapping[str, str] | None) -> dict:
    """The session cookie's attributes: HttpOnly, SameSite=Lax, Path=/, Max-Age of the session, and Secure behind
    TLS (``X-Forwarded-Proto: https``) or when ``SALES_SECURE_COOKIES`` is on."""
    settings = config.load()
    return {"key": SESSION_COOKIE, "httponly": True, "samesite": "Lax", "path": "/",
            "secure": settings.secure_cookies or is_tls(headers), "max_age": settings.session_hours * 3600}
