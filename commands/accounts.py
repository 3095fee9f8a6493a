"""The account commands: `user add|list|remove`, `token create|revoke` and `audit` (handlers in auth/commands.py)."""
from __future__ import annotations

from commands import lazy


def add_parsers(sub, common) -> None:
    """`user add|list|remove`, `token create|revoke` and `audit`: accounts, API tokens and who did what."""
    u = sub.add_parser("user", help="dashboard/API users: add NAME --role R [--password-stdin], list, remove NAME")
    usub = u.add_subparsers(dest="action", required=True)
    ua = usub.add_parser("add", parents=[common], help="add a user (auth is on as soon as one exists)")
    ua.add_argument("name")
    ua.add_argument("--role", choices=["viewer", "analyst", "admin"], default=None)
    ua.add_argument("--password-stdin", action="store_true", help="read the password from stdin (else prompt twice)")
    usub.add_parser("list", parents=[common], help="list the users")
    ur = usub.add_parser("remove", parents=[common], help="remove a user, its tokens and its sessions")
    ur.add_argument("name")
    u.set_defaults(func=lazy("auth.commands", "user"))
    t = sub.add_parser("token", help="API bearer tokens: create NAME [--json], revoke ID")
    tsub = t.add_subparsers(dest="action", required=True)
    tsub.add_parser("create", parents=[common], help="a new token for user NAME (printed once)").add_argument(
        "target", metavar="NAME")
    tsub.add_parser("revoke", parents=[common], help="revoke token ID").add_argument("target", metavar="ID", type=int)
    t.set_defaults(func=lazy("auth.commands", "token"))
    a = sub.add_parser("audit", parents=[common], help="who imported, refreshed, edited the plan or changed users")
    a.add_argument("--limit", type=int, default=50)
    a.set_defaults(func=lazy("auth.commands", "audit"))
