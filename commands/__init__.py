"""The CLI's command groups beyond cli.py's core: each module here adds its own parsers with lazy handlers.

A module in ``GROUPS`` defines ``add_parsers(sub, common)``; its handlers import their stack only when their command
runs (``lazy`` or imports inside the handler), so building the parser stays light. Handlers return an exit code and
raise ``ValueError`` for an error the user can fix (printed without a traceback, exit code 2).
"""
from __future__ import annotations

import importlib

# One line per command group; cli.build_parser adds them all, in this order.
GROUPS = (
    "commands.accounts",
    "commands.customers",
    "commands.reports",
    "commands.monitor",
)


def lazy(module: str, name: str):
    """A handler that imports ``module`` only when its command runs, so parsing stays light."""
    def handler(args) -> int:
        return getattr(importlib.import_module(module), name)(args)
    return handler


def add_all(sub, common) -> None:
    """Add every group's commands to the ``cli.py`` parser."""
    for module in GROUPS:
        importlib.import_module(module).add_parsers(sub, common)
