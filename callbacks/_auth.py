"""Roles in the pages: who the current request is, `refusal(role)` for every callback that starts work or writes,
the ops controls hidden from roles without the right, the navbar's user badge and the audit actor."""
from __future__ import annotations

import functools
import logging

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, callback, html
from dash.development.base_component import Component
from dash.exceptions import MissingCallbackContextException

from auth import OPEN_PRINCIPAL, Principal, auth_enabled
from auth import web as auth_web
from data import accounts
from layouts import components, ids

log = logging.getLogger(__name__)

# The controls that start work or write, and the least role that may use them: hidden in the page for smaller
# roles, and every callback they trigger checks the role again with `refusal` (the server never trusts the page).
OPS_CONTROLS = {
    ids.Runs.START: "analyst",
    ids.Data.UPLOAD: "analyst", ids.Data.VALIDATE: "analyst", ids.Data.IMPORT: "analyst",
    ids.Data.QUALITY_RUN: "analyst",
    ids.Plan.SAVE: "analyst", ids.Plan.DELETE: "analyst", ids.Plan.UPLOAD: "analyst", ids.Plan.VALIDATE: "analyst",
    ids.Plan.IMPORT: "analyst",
    ids.Inv.SAVE: "analyst", ids.Inv.ORDER_ADD: "analyst", ids.Inv.ORDER_CLEAR: "analyst",
    ids.Fcst.WHATIF_RUN: "analyst",
    ids.Promo.APPLY: "analyst",
    ids.Mon.ACK: "analyst", ids.Mon.CHECK: "analyst", ids.Mon.RULES_SAVE: "admin",
}


def current_principal() -> Principal | None:
    """Who the current request is: the principal the request gate put on ``flask.g``; in a background callback
    (a child process, no Flask request) the one the callback context's headers and cookies identify; outside any
    request (a direct call) the open principal when no user exists, else None."""
    if flask.has_request_context() and "principal" in flask.g:
        return flask.g.principal
    if not auth_enabled():
        return OPEN_PRINCIPAL  # the request gate refuses a non-local request in open mode before any callback
    try:
        headers, cookies = dash.ctx.headers, dash.ctx.cookies
    except MissingCallbackContextException:
        return None
    return auth_web.identify(headers, cookies)


def refusal(needed: str) -> str | None:
    """None when the current request may do what needs role ``needed``; else the one-line message to show."""
    principal = current_principal()
    if principal is not None and principal.allows(needed):
        return None
    who = "you are not signed in" if principal is None else f"{principal.name} is a {principal.role}"
    log.warning("refused an action that needs %s: %s", needed, who)
    return f"this needs the {needed} role ({who}); ask an admin"


def refused_alert(needed: str = "analyst"):
    """None when allowed, else the red "Not allowed" alert a callback returns instead of doing the work."""
    message = refusal(needed)
    return None if message is None else components.error_alert(message, title="Not allowed")


def audit(action: str, detail: dict | str | None = None) -> None:
    """Record ``action`` in the audit log under the current user's name (``open`` when auth is off)."""
    principal = current_principal()
    accounts.record_audit(principal.name if principal else "?", action, detail)


def hide_denied(node, denied: frozenset):
    """The component tree with every component whose ID is in ``denied`` wrapped in a hidden Div (it stays in the
    layout, so the callbacks that name it still resolve)."""
    if isinstance(node, (list, tuple)):
        return [hide_denied(child, denied) for child in node]
    if not isinstance(node, Component):
        return node
    if isinstance(getattr(node, "id", None), str) and node.id in denied:
        return html.Div(node, hidden=True)
    children = getattr(node, "children", None)
    if children is not None:
        node.children = hide_denied(children, denied)
    return node


def denied_controls(principal: Principal | None) -> frozenset:
    """The ops controls ``principal`` may not use."""
    return frozenset(cid for cid, role in OPS_CONTROLS.items() if principal is None or not principal.allows(role))


def gate_page_layouts() -> None:
    """Wrap every registered page's ``layout`` so that ops controls are hidden from roles without the right."""
    for page in dash.page_registry.values():
        layout = page.get("layout")
        if callable(layout) and not getattr(layout, "_role_gated", False):
            page["layout"] = _gated(layout)


def _gated(layout):
    @functools.wraps(layout)
    def gated_layout(**query):
        tree = layout(**query)
        denied = denied_controls(current_principal())
        return hide_denied(tree, denied) if denied else tree
    gated_layout._role_gated = True
    return gated_layout


@callback(Output(ids.Shell.USER, "children"), Input(ids.Shell.USER, "id"))
def render_navbar_user(_):
    """On page load, show the signed-in user with a logout button, or the "open mode" badge."""
    principal = current_principal()
    if principal is None:
        return None
    if principal.via == "open":
        return dbc.Badge("open mode", color="warning", text_color="dark", className="p-2",
                         title="No user exists: everyone on this machine is admin. "
                               f"Add one with `{auth_web.ADD_USER_HINT}`.")
    return html.Form([
        html.Span(f"{principal.name} ({principal.role})", className="text-light small me-2"),
        html.Button("Log out", type="submit", className="btn btn-outline-light btn-sm"),
    ], action="/logout", method="POST", className="d-flex align-items-center mb-0")
