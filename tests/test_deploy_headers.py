"""Security headers from the one policy (auth/headers.py) on the development server (Flask) and on the production
ASGI app (API and mounted Dash), in-process; HSTS only for requests that arrived over TLS."""
from __future__ import annotations

import pytest

from auth.headers import HSTS, security_headers

EXPECTED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin"}


@pytest.fixture
def flask_client(small_demo_db):
    from app import create_app
    return create_app().server.test_client()


@pytest.fixture
def asgi_client(small_demo_db):
    from fastapi.testclient import TestClient

    import server
    return TestClient(server.create_asgi_app(), base_url="http://127.0.0.1")


def test_policy_values():
    plain = security_headers(False, ["'sha256-abc='"])
    assert "Strict-Transport-Security" not in plain
    assert security_headers(True)["Strict-Transport-Security"] == HSTS
    csp = plain["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-abc='" in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "cdn.jsdelivr.net" in security_headers(False, path="/api/docs")["Content-Security-Policy"]
    assert "cdn.jsdelivr.net" not in csp


@pytest.mark.parametrize("path", ["/", "/forecast", "/_dash-layout", "/_dash-dependencies"])
def test_dev_server_sends_the_headers(flask_client, path):
    response = flask_client.get(path)
    assert response.status_code == 200
    for name, value in EXPECTED.items():
        assert response.headers[name] == value
    assert "'sha256-" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers


def test_dev_server_hsts_only_over_tls(flask_client):
    assert flask_client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"] == HSTS
    # the development server trusts no proxy: a client's own X-Forwarded-Proto changes nothing
    assert "Strict-Transport-Security" not in flask_client.get("/", headers={"X-Forwarded-Proto": "https"}).headers


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/openapi.json", "/", "/_dash-layout"])
def test_asgi_app_sends_the_headers_once(asgi_client, path):
    response = asgi_client.get(path)
    assert response.status_code == 200
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value]
    assert len(response.headers.get_list("Content-Security-Policy")) == 1
    assert "Strict-Transport-Security" not in response.headers


def test_asgi_app_hsts_only_over_tls(small_demo_db):
    from fastapi.testclient import TestClient

    import server
    with TestClient(server.create_asgi_app(), base_url="https://127.0.0.1") as client:
        assert client.get("/api/v1/health").headers["Strict-Transport-Security"] == HSTS
        assert client.get("/").headers["Strict-Transport-Security"] == HSTS


def test_api_docs_policy_lets_swagger_load(asgi_client):
    response = asgi_client.get("/api/docs")
    assert response.status_code == 200
    assert "https://cdn.jsdelivr.net" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
