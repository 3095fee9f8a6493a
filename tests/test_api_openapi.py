"""The OpenAPI document, checked in CI: generated at /api/openapi.json, OpenAPI 3.x in structure, every route of
the app documented with a summary and a response schema, errors documented as problem details."""
from __future__ import annotations

import re

import pytest

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
REQUIRED = {"/api/v1/health": {"get"}, "/api/v1/datasets": {"get"}, "/api/v1/nodes": {"get"},
            "/api/v1/series/{key}": {"get"}, "/api/v1/forecasts/{key}": {"get"}, "/api/v1/runs": {"get"},
            "/api/v1/runs/{run_id}": {"get"}, "/api/v1/runs/{run_id}/metrics": {"get"}, "/api/v1/effects": {"get"},
            "/api/v1/forecasts:batch": {"post"}, "/api/v1/predict": {"post"}, "/api/v1/refresh": {"post"},
            "/api/v1/imports": {"post"}}


@pytest.fixture(scope="module")
def app():
    from api.app import create_api
    return create_api()


@pytest.fixture(scope="module")
def doc(app):
    from fastapi.testclient import TestClient
    r = TestClient(app).get("/api/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return r.json()


def _walk(routes, prefix=""):
    from fastapi.routing import APIRoute
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path_format, route
            continue
        router = getattr(route, "original_router", None)
        if router is not None:
            yield from _walk(router.routes, prefix + route.include_context.prefix)


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_document_is_openapi_3(doc):
    assert re.fullmatch(r"3\.\d+\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    assert isinstance(doc["paths"], dict) and doc["paths"]
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        for method, op in item.items():
            assert method in HTTP_METHODS, (path, method)
            assert op["responses"], (path, method)
            for code in op["responses"]:
                assert code == "default" or re.fullmatch(r"[1-5]\d\d|[1-5]XX", code), (path, code)
            for param in op.get("parameters", []):
                assert param["in"] in {"query", "header", "path", "cookie"} and param["name"]
                if param["in"] == "path":
                    assert param["required"] is True
                    assert "{" + param["name"] + "}" in path
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):  # every reference resolves
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in schemas, ref


def test_every_route_is_documented_with_summary_and_response_schema(app, doc):
    routes = list(_walk(app.routes))
    assert {p for p, _ in routes} >= set(REQUIRED)
    for path, route in routes:
        for method in route.methods - {"HEAD"}:
            op = doc["paths"][path][method.lower()]
            assert op.get("summary"), (path, method)
            ok = next(code for code in op["responses"] if code.startswith("2"))
            content = op["responses"][ok].get("content", {})
            assert any("schema" in c for c in content.values()), (path, method, "no response schema")
    for path, methods in REQUIRED.items():
        assert set(doc["paths"][path]) == methods, path


def test_errors_are_documented_as_problem_details(doc):
    assert {"type", "title", "status"} <= set(doc["components"]["schemas"]["ProblemDetails"]["properties"])
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path == "/api/v1/health":
                continue
            for code in ("401", "403", "422"):
                assert "application/problem+json" in op["responses"][code]["content"], (path, method, code)


def test_docs_page_is_served(app):
    from fastapi.testclient import TestClient
    r = TestClient(app).get("/api/docs")
    assert r.status_code == 200 and "/api/openapi.json" in r.text


def test_the_asgi_server_serves_the_api_before_the_dash_app(monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    import server
    monkeypatch.setenv("SALES_DB", f"sqlite:///{tmp_path / 'x.db'}")
    c = TestClient(server.create_asgi_app(), base_url="http://127.0.0.1")
    assert c.get("/api/v1/health").json()["database"] is True
    assert c.get("/api/openapi.json").json()["openapi"].startswith("3.")
    assert is_problem_404(c.get("/api/v1/runs/nope"))


def is_problem_404(r) -> bool:
    return r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
