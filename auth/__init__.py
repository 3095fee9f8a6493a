"""Accounts and roles: scrypt password hashes, bearer tokens and who may do what (viewer < analyst < admin).

Auth is on as soon as one user exists. Storage is :mod:`data.accounts`; this package holds the policy.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from data import accounts

ROLES = ("viewer", "analyst", "admin")  # each role may do everything the ones before it may
MIN_PASSWORD_LENGTH = 8
# scrypt's cost: n=2**14, r=8 uses 16 MiB and about 50 ms per hash here, OWASP's minimum recommendation.
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "dklen": 32}


class AuthError(ValueError):
    """A refused account operation (unknown role, taken name, short password...): the message says why."""


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a user name, its role and how it was identified (password, token or open)."""
    name: str
    role: str
    via: str = "password"

    def allows(self, needed: str) -> bool:
        return role_allows(self.role, needed)


OPEN_PRINCIPAL = Principal("open", "admin", "open")  # no user exists and the server is local: everything allowed


def role_allows(role: str, needed: str) -> bool:
    """True when ``role`` is at least ``needed`` in :data:`ROLES`."""
    if needed not in ROLES:
        raise AuthError(f"unknown role {needed!r}: use one of {', '.join(ROLES)}")
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex) of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 2 ** 20, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(digest) // 2, maxmem=64 * 2 ** 20)
    return hmac.compare_digest(candidate.hex(), digest)


def auth_enabled(url: str | None = None) -> bool:
    """Auth is on as soon as one user exists."""
    return accounts.count_users(url) > 0


def add_user(name: str, role: str, password: str, url: str | None = None) -> int:
    """Create user ``name`` with ``role``; AuthError for a bad name or role, a taken name or a short password."""
    name = (name or "").strip()
    if not name or len(name) > 100 or any(ch.isspace() for ch in name):
        raise AuthError(f"invalid user name {name!r}: 1 to 100 characters without spaces")
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if accounts.user_row(name, url) is not None:
        raise AuthError(f"user {name!r} already exists")
    return accounts.insert_user(name, role, hash_password(password), url)


def remove_user(name: str, url: str | None = None) -> None:
    """Delete user ``name`` and its tokens; AuthError when there is no such user."""
    if not accounts.delete_user(name, url):
        raise AuthError(f"no user {name!r} (see `python cli.py user list`)")


def list_users(url: str | None = None):
    """All users (id, name, role, created_at, active tokens) as a DataFrame."""
    return accounts.users(url)


def revoke_token(token_id: int, url: str | None = None) -> None:
    """Revoke token ``token_id``; AuthError when it does not exist or is already revoked."""
    if not accounts.revoke_token(int(token_id), url):
        raise AuthError(f"no active token with id {token_id}")


def authenticate(name: str, password: str, url: str | None = None) -> Principal | None:
    """The user's principal when ``password`` is right, else None (same work whether or not the user exists)."""
    row = accounts.user_row(name, url)
    stored = row["password_hash"] if row else _DUMMY_HASH
    ok = verify_password(password or "", stored)
    return Principal(row["name"], row["role"], "password") if (row and ok) else None


def create_token(user_name: str, url: str | None = None) -> tuple[int, str, str]:
    """A new bearer token for ``user_name``: ``(token id, token, role)``; the token is shown once, never stored."""
    row = accounts.user_row(user_name, url)
    if row is None:
        raise AuthError(f"no user {user_name!r}: add it with `python cli.py user add {user_name} --role viewer`")
    token = "sf_" + secrets.token_urlsafe(32)
    token_id = accounts.insert_token(row["id"], _token_hash(token), url)
    return token_id, token, row["role"]


def principal_for_token(token: str, url: str | None = None) -> Principal | None:
    """The principal of an active bearer token, or None (unknown, revoked or its user removed)."""
    if not token:
        return None
    owner = accounts.token_owner(_token_hash(token), url)
    if owner is None:
        return None
    accounts.touch_token(owner["token_id"], url)
    return Principal(owner["name"], owner["role"], "token")


def _token_hash(token: str) -> str:
    # Tokens are 256-bit random, so a plain SHA-256 suffices (no salt or slow hash needed against guessing).
    return hashlib.sha256(token.encode()).hexdigest()


# Checked against when the user does not exist, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 32
