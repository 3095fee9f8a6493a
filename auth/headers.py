"""The security headers of every HTTP response, in one place: the policy (:func:`security_headers`) and the ASGI
middleware of the production server (server.py); the Dash/Flask app applies the same policy in
``callbacks/_security.py``, so the development server sends them too.

Measured with headless Chromium on every page (tests/browser/test_deploy_csp.py): Dash needs its two inline
scripts (allowed by their SHA-256 hashes, from ``Dash.csp_hashes()``) and plotly.js injects ``<style>`` elements
(``style-src 'unsafe-inline'``); no page needs ``'unsafe-eval'``. Bootstrap's CSS draws icons with ``data:`` SVGs.
HSTS is sent only on a request that arrived over TLS: uvicorn rewrites the scheme from ``X-Forwarded-Proto`` only
for the proxies in ``SALES_FORWARDED_ALLOW_IPS``, so a client cannot turn it on by sending the header itself.
"""
from __future__ import annotations

from typing import Iterable

HSTS = "max-age=31536000; includeSubDomains"
DOCS_PATH = "/api/docs"  # FastAPI's Swagger UI: its script and CSS come from cdn.jsdelivr.net with an inline script
_DOCS_CDN = "https://cdn.jsdelivr.net"


def content_security_policy(script_hashes: Iterable[str] = (), docs: bool = False) -> str:
    """The CSP: only this origin, Dash's inline scripts by hash, inline styles (plotly.js), no framing."""
    scripts = " ".join(["'self'", *script_hashes])
    if docs:
        return (f"default-src 'self'; script-src 'self' 'unsafe-inline' {_DOCS_CDN}; "
                f"style-src 'self' 'unsafe-inline' {_DOCS_CDN}; img-src 'self' data: https://fastapi.tiangolo.com; "
                "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")


def security_headers(https: bool, script_hashes: Iterable[str] = (), path: str = "/") -> dict[str, str]:
    """Header name -> value for one response; ``https``: the request arrived over TLS (directly or via a trusted
    proxy's ``X-Forwarded-Proto``)."""
    headers = {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Content-Security-Policy": content_security_policy(script_hashes, docs=path.startswith(DOCS_PATH)),
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    """ASGI middleware adding :func:`security_headers` to every HTTP response that does not set them already (the
    mounted Dash app sets its own, with the hashes of its inline scripts)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        wanted = security_headers(scope.get("scheme") == "https", path=scope.get("path") or "/")

        async def send_with_headers(message):
            if message.get("type") == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in wanted.items()
                         if k.lower().encode("latin-1") not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
