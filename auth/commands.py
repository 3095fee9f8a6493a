"""The account commands of ``cli.py``: ``user add|list|remove``, ``token create|revoke``, ``audit``, and the audit
entries of command-line writes (actor ``cli:<os user>``). Errors are :class:`auth.AuthError` (exit code 2)."""
from __future__ import annotations

import getpass
import json
import os
import sys

import auth
from data import accounts


def cli_actor() -> str:
    """``cli:<os user>``: who made a change from the command line."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): the numeric user id
        who = str(os.getuid())
    return f"cli:{who}"


def record(action: str, detail: dict | None = None) -> None:
    """Append a command-line change to the audit log."""
    accounts.record_audit(cli_actor(), action, detail)


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, default=str))


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin with ``--password-stdin``, else typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat the password: "):
        raise auth.AuthError("the two passwords differ")
    return first


def user(args) -> int:
    """``user add NAME --role R [--password-stdin]``, ``user list [--json]``, ``user remove NAME``."""
    if args.action == "list":
        rows = auth.list_users().to_dict("records")
        if args.json:
            _print_json(rows)
        else:
            print("\n".join(f"{u['name']:<20} {u['role']:<8} tokens {u['tokens']}  since {u['created_at']:%Y-%m-%d}"
                            for u in rows) or "no users: the dashboard runs open on 127.0.0.1")
        return 0
    if args.action == "remove":
        auth.remove_user(args.name)
        record("user.remove", {"name": args.name})
        print(f"removed user {args.name} (its tokens and sessions end now)")
        return 0
    if args.role is None:
        raise auth.AuthError("user add needs --role viewer|analyst|admin")
    auth.add_user(args.name, args.role, read_password(args.password_stdin))
    record("user.add", {"name": args.name, "role": args.role})
    if args.json:
        _print_json({"name": args.name, "role": args.role})
    else:
        print(f"added user {args.name} ({args.role}); auth is on")
    return 0


def token(args) -> int:
    """``token create NAME [--json]`` (the token is printed once) and ``token revoke ID``."""
    if args.action == "revoke":
        auth.revoke_token(args.target)
        record("token.revoke", {"id": int(args.target)})
        print(f"revoked token {args.target}")
        return 0
    token_id, secret, role = auth.create_token(args.target)
    record("token.create", {"id": token_id, "name": args.target, "role": role})
    if args.json:
        _print_json({"id": token_id, "name": args.target, "role": role, "token": secret})
    else:
        print(f"token {token_id} for {args.target} ({role}); it is shown only this once:\n{secret}")
    return 0


def audit(args) -> int:
    """``audit [--limit N] [--json]``: the newest audit entries, newest first."""
    rows = accounts.audit_log(args.limit).to_dict("records")
    if args.json:
        _print_json(rows)
    else:
        print("\n".join(f"{r['at']:%Y-%m-%d %H:%M:%S}  {r['actor']:<16} {r['action']:<14} {r['detail'] or ''}"
                        for r in rows) or "the audit log is empty")
    return 0
