"""Storage of accounts: users, their API tokens (hashes only) and the audit log; the policy lives in auth/."""
from __future__ import annotations

import datetime as dt
import json
import os

import pandas as pd
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from data import schema
from data.engine import get_engine, has_table, init_db, read_frame, resolve_url, session_scope, utcnow

_TABLES = ("users", "api_tokens", "audit_log", "sessions", "login_failures")


def _ensure_tables(url: str | None) -> None:
    """Create the account tables in a database made before they existed (idempotent)."""
    if not all(has_table(name, url) for name in _TABLES):
        init_db(url)


def _now() -> dt.datetime:
    return utcnow().replace(microsecond=0)


def count_users(url: str | None = None) -> int:
    """How many users exist (0 on a database without the users table: auth is off until one is added).

    Asked on every dashboard request: a SQLite file that does not exist yet is not created by asking."""
    resolved = resolve_url(url)
    if resolved.startswith("sqlite:///") and not os.path.exists(resolved[len("sqlite:///"):]):
        return 0
    try:  # asked first, the table checked only on failure: inspecting the schema costs more than the count
        with get_engine(url).connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.User)).scalar_one())
    except DBAPIError:
        if has_table("users", url):
            raise  # the database failed: never read that as "no users" (which would open the dashboard)
        return 0


def users(url: str | None = None) -> pd.DataFrame:
    """All users: id, name, role, created_at, tokens (active token count), by name."""
    if not has_table("users", url):
        return pd.DataFrame(columns=["id", "name", "role", "created_at", "tokens"])
    return read_frame(text(
        "SELECT u.id, u.name, u.role, u.created_at, "
        "(SELECT COUNT(*) FROM api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL) AS tokens "
        "FROM users u ORDER BY u.name"), url=url, parse_dates=["created_at"])


def user_row(name: str, url: str | None = None) -> dict | None:
    """The stored user ``name`` (id, name, role, password_hash) or None."""
    if not has_table("users", url):
        return None
    with get_engine(url).connect() as conn:
        row = conn.execute(select(schema.User.id, schema.User.name, schema.User.role, schema.User.password_hash)
                           .where(schema.User.name == name)).mappings().first()
    return dict(row) if row else None


def insert_user(name: str, role: str, password_hash: str, url: str | None = None) -> int:
    """Store a new user and return its id (the caller checked that the name is free)."""
    _ensure_tables(url)
    with session_scope(url=url) as session:
        user = schema.User(name=name, role=role, password_hash=password_hash, created_at=_now())
        session.add(user)
        session.flush()
        return int(user.id)


def delete_user(name: str, url: str | None = None) -> bool:
    """Delete user ``name``, its tokens and its login sessions; False when there is no such user."""
    row = user_row(name, url)
    if row is None:
        return False
    _ensure_tables(url)
    with session_scope(url=url) as session:
        session.execute(delete(schema.ApiToken).where(schema.ApiToken.user_id == row["id"]))
        session.execute(delete(schema.WebSession).where(schema.WebSession.user_id == row["id"]))
        session.execute(delete(schema.User).where(schema.User.id == row["id"]))
    return True


def insert_token(user_id: int, token_hash: str, url: str | None = None) -> int:
    """Store a token hash for ``user_id`` and return the token's id."""
    _ensure_tables(url)
    with session_scope(url=url) as session:
        token = schema.ApiToken(user_id=user_id, token_hash=token_hash, created_at=_now())
        session.add(token)
        session.flush()
        return int(token.id)


def token_owner(token_hash: str, url: str | None = None) -> dict | None:
    """The active token with this hash joined to its user (token_id, name, role), or None (unknown or revoked)."""
    if not has_table("api_tokens", url):
        return None
    query = (select(schema.ApiToken.id.label("token_id"), schema.User.name, schema.User.role)
             .join(schema.User, schema.User.id == schema.ApiToken.user_id)
             .where(schema.ApiToken.token_hash == token_hash, schema.ApiToken.revoked_at.is_(None)))
    with get_engine(url).connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def touch_token(token_id: int, url: str | None = None) -> None:
    """Record the token's last use."""
    with session_scope(url=url) as session:
        session.execute(update(schema.ApiToken).where(schema.ApiToken.id == token_id).values(last_used_at=_now()))


def revoke_token(token_id: int, url: str | None = None) -> bool:
    """Revoke token ``token_id``; False when it does not exist or was already revoked."""
    if not has_table("api_tokens", url):
        return False
    with session_scope(url=url) as session:
        result = session.execute(update(schema.ApiToken)
                                 .where(schema.ApiToken.id == token_id, schema.ApiToken.revoked_at.is_(None))
                                 .values(revoked_at=_now()))
        return result.rowcount > 0


def tokens(url: str | None = None) -> pd.DataFrame:
    """All tokens (never their secrets): id, user, role, created_at, last_used_at, revoked_at."""
    if not has_table("api_tokens", url):
        return pd.DataFrame(columns=["id", "user", "role", "created_at", "last_used_at", "revoked_at"])
    return read_frame(text("SELECT t.id, u.name AS user, u.role, t.created_at, t.last_used_at, t.revoked_at "
                      "FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id"), url=url,
                      parse_dates=["created_at", "last_used_at", "revoked_at"])


def record_audit(actor: str, action: str, detail: dict | str | None = None, url: str | None = None) -> None:
    """Append one audit entry: ``actor`` (user name, ``cli:<os user>`` or ``open``) did ``action``."""
    _ensure_tables(url)
    text = detail if isinstance(detail, str) or detail is None else json.dumps(detail, default=str)
    with session_scope(url=url) as session:
        session.add(schema.AuditEntry(at=_now(), actor=actor, action=action, detail=text))


def audit_log(limit: int = 200, url: str | None = None) -> pd.DataFrame:
    """The newest ``limit`` audit entries: at, actor, action, detail."""
    if not has_table("audit_log", url):
        return pd.DataFrame(columns=["at", "actor", "action", "detail"])
    return read_frame(text("SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT :limit"),
                      params={"limit": int(limit)}, url=url, parse_dates=["at"])


# ----------------------------------------------------------------------------- login sessions and failures

def insert_session(user_id: int, token_hash: str, expires_at: dt.datetime, url: str | None = None) -> int:
    """Store a login session of ``user_id`` (the hash of its cookie token) and return its id."""
    _ensure_tables(url)
    with session_scope(url=url) as session:
        row = schema.WebSession(user_id=user_id, token_hash=token_hash, created_at=_now(), expires_at=expires_at)
        session.add(row)
        session.flush()
        return int(row.id)


def session_owner(token_hash: str, url: str | None = None) -> dict | None:
    """The unexpired session with this token hash joined to its user (session_id, name, role), or None."""
    query = (select(schema.WebSession.id.label("session_id"), schema.User.name, schema.User.role)
             .join(schema.User, schema.User.id == schema.WebSession.user_id)
             .where(schema.WebSession.token_hash == token_hash, schema.WebSession.expires_at > _now()))
    try:
        with get_engine(url).connect() as conn:
            row = conn.execute(query).mappings().first()
    except DBAPIError:
        if has_table("sessions", url):
            raise
        return None  # a database made before sessions existed: nobody is signed in
    return dict(row) if row else None


def delete_session(token_hash: str, url: str | None = None) -> bool:
    """End the session with this token hash (and drop expired ones); False when there was none."""
    if not has_table("sessions", url):
        return False
    with session_scope(url=url) as session:
        gone = session.execute(delete(schema.WebSession).where(schema.WebSession.token_hash == token_hash)).rowcount
        session.execute(delete(schema.WebSession).where(schema.WebSession.expires_at <= _now()))
    return gone > 0


def count_sessions(user_name: str, url: str | None = None) -> int:
    """How many unexpired sessions ``user_name`` has."""
    if not has_table("sessions", url):
        return 0
    query = (select(func.count()).select_from(schema.WebSession)
             .join(schema.User, schema.User.id == schema.WebSession.user_id)
             .where(schema.User.name == user_name, schema.WebSession.expires_at > _now()))
    with get_engine(url).connect() as conn:
        return int(conn.execute(query).scalar_one())


def record_login_failure(name: str, address: str, url: str | None = None) -> None:
    """Count one failed login of ``name`` from ``address``."""
    _ensure_tables(url)
    with session_scope(url=url) as session:
        session.add(schema.LoginFailure(name=name[:100], address=address[:64], at=_now()))


def login_failures(name: str, address: str, since: dt.datetime, url: str | None = None) -> tuple[int, object]:
    """``(count, oldest)``: failed logins of ``name`` from ``address`` at or after ``since``."""
    if not has_table("login_failures", url):
        return 0, None
    F = schema.LoginFailure
    query = (select(func.count(), func.min(F.at))
             .where(F.name == name[:100], F.address == address[:64], F.at >= since))
    with get_engine(url).connect() as conn:
        count, oldest = conn.execute(query).one()
    return int(count), oldest


def clear_login_failures(name: str, address: str, before: dt.datetime, url: str | None = None) -> None:
    """Forget the failures of ``name`` from ``address`` (after a successful login) and every one before ``before``."""
    if not has_table("login_failures", url):
        return
    F = schema.LoginFailure
    with session_scope(url=url) as session:
        session.execute(delete(F).where(F.name == name[:100], F.address == address[:64]))
        session.execute(delete(F).where(F.at < before))
