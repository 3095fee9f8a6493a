"""The dashboard's login through HTTP (Flask's test client and server.py's ASGI app): redirects and 401s, the
login form and cookie, CSRF refusals, logout, open mode, role checks in the callbacks that write or start work
(foreground and background), hidden ops controls, and the audit entries the pages write."""
from __future__ import annotations

import contextvars

import flask
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict

import auth
from auth import web
from data import accounts, store
from layouts import ids
from tests.dash_helpers import page_layout

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
PAGE = {"Accept": "text/html,application/xhtml+xml"}
NAVBAR_CALL = {"output": f"{ids.Shell.USER}.children", "outputs": {"id": ids.Shell.USER, "property": "children"},
               "inputs": [{"id": ids.Shell.USER, "property": "id", "value": ids.Shell.USER}],
               "changedPropIds": [f"{ids.Shell.USER}.id"], "state": []}


@pytest.fixture
def client(tmp_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    store.init_db(tmp_db)
    from app import create_app
    return create_app().server.test_client()


@pytest.fixture
def users(tmp_db):
    store.init_db(tmp_db)
    auth.add_user("ann", "analyst", "analyst-pass")
    auth.add_user("vic", "viewer", "viewer-pass")


def _login(client, name, password, **headers):
    return client.post("/login", data={"name": name, "password": password, "next": "/runs?status=failed"},
                       headers={"Origin": "http://localhost", **headers})


def test_open_mode_serves_everything_and_shows_the_badge(client):
    assert client.get("/runs", headers=PAGE).status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    response = client.post("/_dash-update-component", json=NAVBAR_CALL)
    assert response.status_code == 200 and "open mode" in response.get_data(as_text=True)
    assert client.post("/_dash-update-component", json=NAVBAR_CALL,
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403


def test_with_a_user_pages_redirect_to_login_and_the_rest_answers_401(client, users):
    response = client.get("/runs?status=failed", headers=PAGE)
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2Fruns%3Fstatus%3Dfailed"
    assert client.get("/_dash-layout").status_code == 401
    assert client.post("/_dash-update-component", json=NAVBAR_CALL, headers=SAME_ORIGIN).status_code == 401
    assert client.get("/assets/style.css").status_code == 200  # static files stay public (the login page's CSS)
    page = client.get("/login?next=/runs")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)


def test_login_sets_a_hardened_cookie_and_goes_to_the_page_asked_for(client, users):
    wrong = _login(client, "ann", "wrong-pass")
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.get_data(as_text=True)
    response = _login(client, "ann", "analyst-pass", **{"X-Forwarded-Proto": "https"})
    assert response.status_code == 302 and response.headers["Location"] == "/runs?status=failed"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{web.SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=43200"):
        assert attribute in cookie
    assert client.get("/runs", headers=PAGE).status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    navbar = client.post("/_dash-update-component", json=NAVBAR_CALL, headers=SAME_ORIGIN)
    assert navbar.status_code == 200 and "ann (analyst)" in navbar.get_data(as_text=True)


def test_login_never_redirects_off_site(client, users):
    response = client.post("/login", data={"name": "ann", "password": "analyst-pass", "next": "//evil.example/x"},
                           headers=SAME_ORIGIN)
    assert response.headers["Location"] == "/"


def test_cross_site_and_headerless_posts_with_the_cookie_are_refused(client, users):
    _login(client, "ann", "analyst-pass")
    assert client.post("/_dash-update-component", json=NAVBAR_CALL).status_code == 403  # no browser header
    assert client.post("/_dash-update-component", json=NAVBAR_CALL,
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/_dash-update-component", json=NAVBAR_CALL,
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/_dash-update-component", json=NAVBAR_CALL,
                       headers={"Origin": "http://localhost"}).status_code == 200
    assert client.post("/login", data={"name": "ann", "password": "analyst-pass"},
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403  # no login CSRF either


def test_a_bearer_token_also_opens_the_dashboard(client, users):
    _id, token, _role = auth.create_token("vic")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/_dash-layout", headers=headers).status_code == 200
    assert client.post("/_dash-update-component", json=NAVBAR_CALL, headers=headers).status_code == 200


def test_logout_ends_the_session_on_the_server(client, users):
    response = _login(client, "ann", "analyst-pass")
    token = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    out = client.post("/logout", headers=SAME_ORIGIN)
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    assert f"{web.SESSION_COOKIE}=;" in out.headers["Set-Cookie"]
    client.set_cookie(web.SESSION_COOKIE, token)  # the old cookie, replayed
    assert client.get("/_dash-layout").status_code == 401


def test_the_rate_limit_answers_429_on_the_login_page(client, users):
    for _ in range(web.MAX_FAILURES):
        assert _login(client, "vic", "wrong-pass").status_code == 401
    response = _login(client, "vic", "viewer-pass")
    assert response.status_code == 429 and "too many failed logins" in response.get_data(as_text=True)


def test_a_public_address_without_users_is_refused(client):
    response = client.get("/_dash-layout", environ_overrides={"SERVER_NAME": "10.0.0.5"})
    assert response.status_code == 401


def _as(principal, fn, *args):
    """Call a foreground callback as Dash does: inside a Flask request the gate marked with ``principal``."""
    from app import create_app
    with create_app().server.test_request_context("/_dash-update-component", method="POST"):
        flask.g.principal = principal
        return fn(*args)


def test_plan_edits_are_refused_to_a_viewer_and_audited_for_an_analyst(small_demo_db):
    from callbacks import plan
    from tests.conftest import clear_plan
    clear_plan(small_demo_db)
    args = (1, "store_product", "01", "P001", None, "2023-01-02", "2023-01-04", 0.2, "promo")
    viewer, analyst = auth.Principal("vic", "viewer", "session"), auth.Principal("ann", "analyst", "session")
    refused = str(_as(viewer, plan.save_planned_promotion, *args))
    assert "Not allowed" in refused and "needs the analyst role (vic is a viewer)" in refused
    assert store.plan_rows(url=small_demo_db).empty
    assert "Saved" in str(_as(analyst, plan.save_planned_promotion, *args))
    assert "Not allowed" in str(_as(viewer, plan.delete_planned_promotion, *args))
    entry = accounts.audit_log(1).iloc[0]
    assert (entry["actor"], entry["action"]) == ("ann", "plan.edit") and '"rows": 3' in entry["detail"]


def test_a_background_callback_checks_the_role_from_the_request_it_came_from(tmp_db, monkeypatch):
    """Background callbacks run in a child process with no Flask request: the role comes from the callback
    context's cookies (Dash copies them into the job), so a viewer cannot start a refresh."""
    from callbacks import runs
    from jobs import runner
    store.init_db(tmp_db)
    auth.add_user("vic", "viewer", "viewer-pass")
    _p, token = web.login("vic", "viewer-pass", "127.0.0.1")
    monkeypatch.setattr(runner, "refresh", lambda **kw: pytest.fail("a viewer started a refresh"))

    def in_job(cookies):
        context_value.set(AttributeDict(headers={}, cookies=cookies))
        return str(runs.start_refresh(1))

    assert "needs the analyst role (vic is a viewer)" in contextvars.copy_context().run(in_job,
                                                                                        {web.SESSION_COOKIE: token})
    assert "you are not signed in" in contextvars.copy_context().run(in_job, {})
    assert "you are not signed in" in runs.start_refresh(1).children[1]  # a direct call while auth is on


def test_ops_controls_are_hidden_from_roles_without_the_right(small_demo_db):
    from callbacks import _auth
    runs_layout = page_layout("/runs")

    def start_button_hidden(principal):
        tree = _as(principal, runs_layout)
        parents = [c for c in tree._traverse() if getattr(c, "hidden", None)
                   and getattr(c.children, "id", None) == ids.Runs.START]
        assert any(getattr(c, "id", None) == ids.Runs.START for c in tree._traverse())  # callbacks still resolve
        return bool(parents)

    assert start_button_hidden(auth.Principal("vic", "viewer", "session"))
    assert not start_button_hidden(auth.Principal("ann", "analyst", "session"))
    assert not start_button_hidden(auth.OPEN_PRINCIPAL)
    assert _auth.denied_controls(auth.Principal("vic", "viewer")) == frozenset(_auth.OPS_CONTROLS)


def test_the_asgi_app_serves_the_same_login(tmp_db, tmp_path, monkeypatch, users):
    monkeypatch.setenv("SALES_CACHE_DIR", str(tmp_path / "cache"))
    from fastapi.testclient import TestClient

    from server import create_asgi_app
    with TestClient(create_asgi_app(), follow_redirects=False) as http:
        response = http.get("/runs", headers=PAGE)
        assert response.status_code == 302 and response.headers["location"].startswith("/login?next=")
        assert http.get("/login").status_code == 200
        logged_in = http.post("/login", data={"name": "ann", "password": "analyst-pass", "next": "/runs"},
                              headers={"Origin": "http://testserver"})
        assert logged_in.status_code == 302 and logged_in.headers["location"] == "/runs"
        assert http.get("/runs", headers=PAGE).status_code == 200
        assert http.post("/_dash-update-component", json=NAVBAR_CALL, headers=SAME_ORIGIN).status_code == 200
        assert http.post("/_dash-update-component", json=NAVBAR_CALL).status_code == 403


def test_the_runs_page_audit_table_shows_failed_logins_to_admins_only(tmp_db):
    from callbacks import runs
    store.init_db(tmp_db)
    auth.add_user("root", "admin", "admin-pass")
    accounts.record_audit("cli:ops", "refresh.start", {"source": "cli"})
    with pytest.raises(web.LoginRefused):
        web.login("root", "wrong-pass", "10.0.0.1")
    viewer_view = str(_as(auth.Principal("vic", "viewer", "session"), runs.render_audit_log, None, None))
    admin_view = str(_as(auth.Principal("root", "admin", "session"), runs.render_audit_log, None, None))
    assert "refresh.start" in viewer_view and "cli:ops" in viewer_view and "login.fail" not in viewer_view
    assert "login.fail" in admin_view and "10.0.0.1" in admin_view


def _callbacks_triggered_by_ops_or_in_background():
    """(module, function, calls a role check) for every callback that runs in the background or whose Input is
    one of the ops controls, found by reading callbacks/*.py."""
    import ast
    from pathlib import Path

    from callbacks import _auth
    found = []
    for path in sorted((Path(__file__).resolve().parents[1] / "callbacks").glob("[!_]*.py")):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for deco in fn.decorator_list:
                if not (isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "callback"):
                    continue
                background = any(k.arg == "background" and getattr(k.value, "value", False) for k in deco.keywords)
                inputs = [n for n in ast.walk(deco) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Input"]
                ops = any(isinstance(n.args[0], ast.Attribute) and ast.unparse(n.args[0]).startswith("ids.")
                          and _resolve(ast.unparse(n.args[0])) in _auth.OPS_CONTROLS for n in inputs if n.args)
                if background or ops:
                    checks = {getattr(n.func, "id", None) for n in ast.walk(fn) if isinstance(n, ast.Call)}
                    found.append((path.stem, fn.name, bool(checks & {"refusal", "refused_alert"})))
    return found


def _resolve(dotted: str):
    value = ids
    for part in dotted.split(".")[1:]:
        value = getattr(value, part)
    return value


def test_every_background_or_ops_callback_checks_the_role():
    found = _callbacks_triggered_by_ops_or_in_background()
    assert len(found) >= 14  # refresh, quality, data upload/mapping/validate/import, plan x5, inventory x2, ...
    unchecked = [f"{module}.{name}" for module, name, checked in found if not checked]
    assert not unchecked, f"these callbacks start work or write without `refusal`/`refused_alert`: {unchecked}"
