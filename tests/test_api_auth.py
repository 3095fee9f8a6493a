"""Who may call the API: open while no user exists; then a bearer token with a large enough role (401/403)."""
from __future__ import annotations

import pytest

from tests.api_helpers import is_problem

# A server answering on a loopback address: with no user it runs open (auth.web.request_principal).
LOCAL = "http://127.0.0.1"

READS = ["/api/v1/datasets", "/api/v1/nodes", "/api/v1/series/total", "/api/v1/forecasts/total", "/api/v1/runs",
         "/api/v1/effects"]


@pytest.fixture
def users(api_copy):
    import auth
    from fastapi.testclient import TestClient

    from api.app import create_api
    auth.add_user("vera", "viewer", "viewer-pass-1")
    auth.add_user("anna", "analyst", "analyst-pass-1")
    tokens = {name: auth.create_token(name)[1] for name in ("vera", "anna")}
    return TestClient(create_api(), base_url=LOCAL), tokens


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_open_mode_without_users(api_copy):
    from fastapi.testclient import TestClient

    from api.app import create_api
    c = TestClient(create_api(), base_url=LOCAL)
    for url in READS:
        assert c.get(url).status_code == 200, url


def test_no_user_is_not_open_on_a_network_address(api_copy):
    """A server reached on a non-loopback address never runs open, even with no user (e.g. the last one was
    removed while it ran): reads get 401, health stays open."""
    from fastapi.testclient import TestClient

    from api.app import create_api
    c = TestClient(create_api(), base_url="http://10.1.2.3")
    for url in READS:
        is_problem(c.get(url), 401)
    assert c.get("/api/v1/health").status_code == 200


def test_a_session_cookie_cannot_post_cross_site(users, api_copy):
    """The dashboard's session cookie identifies API callers too, so a state-changing request carrying it must
    come from this site: a cross-site POST is refused (403) before anything starts."""
    from auth import web as auth_web
    c, _ = users
    cookie = auth_web.start_session("anna")
    r = c.post("/api/v1/refresh", json={}, cookies={auth_web.SESSION_COOKIE: cookie},
               headers={"Sec-Fetch-Site": "cross-site"})
    assert is_problem(r, 403)["detail"].startswith("cross-site request refused")


def test_reads_need_a_token_once_a_user_exists(users):
    c, tokens = users
    for url in READS:
        body = is_problem(c.get(url), 401)
        assert "Bearer" in body["detail"]
        assert c.get(url).headers["www-authenticate"].startswith("Bearer")
        assert c.get(url, headers=bearer(tokens["vera"])).status_code == 200, url
    assert "unknown or revoked" in is_problem(c.get(READS[0], headers=bearer("sf_wrong")), 401)["detail"]
    is_problem(c.post("/api/v1/forecasts:batch", json={"level": "store"}), 401)
    is_problem(c.post("/api/v1/predict", json={"key": "total"}), 401)


def test_health_stays_open(users):
    c, _ = users
    assert c.get("/api/v1/health").json()["status"] == "ok"


def test_ops_need_the_analyst_role(users):
    c, tokens = users
    body = is_problem(c.post("/api/v1/refresh", json={}, headers=bearer(tokens["vera"])), 403)
    assert "analyst" in body["detail"] and "vera" in body["detail"]
    files = {"file": ("s.csv", b"date,sales\n2023-01-01,1\n", "text/csv")}
    is_problem(c.post("/api/v1/imports", files=files, data={"mapping": "date=date,sales=sales"},
                      headers=bearer(tokens["vera"])), 403)
    is_problem(c.post("/api/v1/refresh", json={}), 401)


def test_a_revoked_token_is_refused(users):
    import auth
    c, tokens = users
    token_id = auth.create_token("vera")
    assert c.get(READS[0], headers=bearer(token_id[1])).status_code == 200
    auth.revoke_token(token_id[0])
    is_problem(c.get(READS[0], headers=bearer(token_id[1])), 401)
