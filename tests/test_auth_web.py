"""auth.web without a web framework: hashing and roles, identify (token before cookie), sessions and their
server-side end, the login rate limit, the CSRF check, open mode vs auth on, the startup refusal, cookies."""
from __future__ import annotations

import datetime as dt

import pytest

import auth
from auth import web
from data import accounts, schema, store


@pytest.fixture
def users_db(tmp_db):
    store.init_db(tmp_db)
    auth.add_user("ann", "analyst", "analyst-pass")
    auth.add_user("vic", "viewer", "viewer-pass")
    return tmp_db


def test_scrypt_hash_verifies_only_the_right_password_and_is_salted():
    first, second = auth.hash_password("s3cret-pw"), auth.hash_password("s3cret-pw")
    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert auth.verify_password("s3cret-pw", first) and auth.verify_password("s3cret-pw", second)
    assert not auth.verify_password("s3cret-pX", first)
    assert not auth.verify_password("s3cret-pw", "md5$abc") and not auth.verify_password("x", "garbage")


def test_roles_are_ordered_viewer_analyst_admin():
    assert auth.role_allows("admin", "analyst") and auth.role_allows("analyst", "viewer")
    assert not auth.role_allows("viewer", "analyst") and not auth.role_allows("analyst", "admin")
    assert not auth.role_allows("nobody", "viewer")
    with pytest.raises(auth.AuthError, match="unknown role"):
        auth.role_allows("viewer", "superuser")


def test_login_starts_a_session_that_the_cookie_identifies(users_db):
    principal, token = web.login("ann", "analyst-pass", "10.0.0.1")
    assert principal == auth.Principal("ann", "analyst", "password")
    assert web.identify({}, {web.SESSION_COOKIE: token}) == auth.Principal("ann", "analyst", "session")
    assert web.identify({}, {web.SESSION_COOKIE: token + "x"}) is None
    assert web.identify({}, {}) is None
    with store.session_scope() as session:  # only the hash is stored, never the cookie's token
        stored = [row.token_hash for row in session.query(schema.WebSession)]
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_a_bearer_token_comes_first_and_a_bad_one_is_not_rescued_by_the_cookie(users_db):
    _principal, session_token = web.login("ann", "analyst-pass", "10.0.0.1")
    _id, bearer, _role = auth.create_token("vic")
    cookies = {web.SESSION_COOKIE: session_token}
    assert web.identify({"authorization": f"Bearer {bearer}"}, cookies) == auth.Principal("vic", "viewer", "token")
    assert web.identify({"Authorization": "Bearer sf_wrong"}, cookies) is None
    assert web.identify({"Authorization": "Basic abc"}, cookies).name == "ann"  # not a bearer header: the cookie


def test_logout_and_user_removal_end_sessions_on_the_server(users_db):
    _p, token = web.login("ann", "analyst-pass", "10.0.0.1")
    _p, other = web.login("vic", "viewer-pass", "10.0.0.1")
    assert web.end_session(token) and not web.end_session(token)
    assert web.identify({}, {web.SESSION_COOKIE: token}) is None  # the same cookie, replayed after logout
    assert accounts.count_sessions("vic") == 1
    auth.remove_user("vic")
    assert web.identify({}, {web.SESSION_COOKIE: other}) is None and accounts.count_sessions("vic") == 0


def test_an_expired_session_is_refused(users_db, monkeypatch):
    monkeypatch.setenv("SALES_SESSION_HOURS", "1")
    _p, token = web.login("ann", "analyst-pass", "10.0.0.1")
    assert web.identify({}, {web.SESSION_COOKIE: token}) is not None
    with store.session_scope() as session:
        session.query(schema.WebSession).update({"expires_at": dt.datetime(2000, 1, 1)})
    assert web.identify({}, {web.SESSION_COOKIE: token}) is None


def test_five_failures_per_user_and_address_then_refused_even_with_the_right_password(users_db):
    for _ in range(web.MAX_FAILURES):
        with pytest.raises(web.LoginRefused, match="wrong user name or password"):
            web.login("ann", "nope-nope", "10.0.0.9")
    with pytest.raises(web.LoginRefused, match=r"too many failed logins for 'ann' from 10\.0\.0\.9: try again in "
                                               r"1[0-5] minute"):
        web.login("ann", "analyst-pass", "10.0.0.9")
    assert web.login("ann", "analyst-pass", "10.0.0.10")[0].name == "ann"  # another address is not locked out
    assert web.login("vic", "viewer-pass", "10.0.0.9")[0].name == "vic"  # nor another user from this address
    log = accounts.audit_log()
    assert (log["action"] == "login.fail").sum() == web.MAX_FAILURES + 1
    assert "rate limited" in log.iloc[0]["detail"]


def test_the_limit_lifts_when_the_failures_age_out_and_a_success_clears_them(users_db):
    for _ in range(web.MAX_FAILURES):
        with pytest.raises(web.LoginRefused):
            web.login("ann", "nope-nope", "10.0.0.9")
    with store.session_scope() as session:  # the failures happened 16 minutes ago
        session.query(schema.LoginFailure).update({"at": dt.datetime.now(dt.UTC).replace(tzinfo=None)
                                                   - dt.timedelta(minutes=16)})
    assert web.login("ann", "analyst-pass", "10.0.0.9")[0].name == "ann"
    assert accounts.login_failures("ann", "10.0.0.9", dt.datetime(2000, 1, 1))[0] == 0


def test_an_unknown_user_fails_like_a_wrong_password(users_db):
    with pytest.raises(web.LoginRefused, match="wrong user name or password"):
        web.login("nobody", "whatever1", "10.0.0.1")


@pytest.mark.parametrize("method,headers,strict,refused", [
    ("GET", {}, True, False),
    ("POST", {"Sec-Fetch-Site": "same-origin"}, True, False),
    ("POST", {"Sec-Fetch-Site": "none"}, True, False),
    ("POST", {"Sec-Fetch-Site": "cross-site"}, False, True),
    ("POST", {"Sec-Fetch-Site": "same-site"}, False, True),
    ("POST", {"Origin": "http://127.0.0.1:8050", "Host": "127.0.0.1:8050"}, True, False),
    ("POST", {"Origin": "https://evil.example", "Host": "127.0.0.1:8050"}, False, True),
    ("POST", {"Origin": "https://sales.example.com", "Host": "10.0.0.5:8050",
              "X-Forwarded-Host": "sales.example.com"}, True, False),
    ("POST", {"Origin": "null", "Host": "127.0.0.1:8050"}, False, True),
    ("POST", {"Referer": "http://127.0.0.1:8050/runs", "Host": "127.0.0.1:8050"}, True, False),
    ("POST", {"Referer": "http://evil.example/x", "Host": "127.0.0.1:8050"}, False, True),
    ("DELETE", {}, True, True),  # a cookie-authenticated request without any browser header
    ("POST", {}, False, False),  # no cookie (open mode, a bearer token): scripts may post
])
def test_csrf_refusal(method, headers, strict, refused):
    assert (web.csrf_refusal(method, headers, strict=strict) is not None) is refused


def test_open_mode_only_for_a_local_server_and_only_while_no_user_exists(tmp_db):
    store.init_db(tmp_db)
    assert web.request_principal({}, {}, host_is_local=True) is auth.OPEN_PRINCIPAL
    assert web.request_principal({}, {}, host_is_local=False) is None
    assert "open mode" in web.mode_message()
    auth.add_user("ann", "analyst", "analyst-pass")
    assert web.request_principal({}, {}, host_is_local=True) is None
    _p, token = web.login("ann", "analyst-pass", "127.0.0.1")
    assert web.request_principal({}, {web.SESSION_COOKIE: token}, host_is_local=False).name == "ann"
    assert web.mode_message().startswith("auth on: 1 user")


def test_startup_refuses_a_public_address_without_a_user(tmp_db):
    for host in ("127.0.0.1", "localhost", "::1", "127.0.1.1"):
        assert web.startup_check(host) is None
    message = web.startup_check("0.0.0.0")
    assert message.startswith("refusing to serve on 0.0.0.0: no user exists")
    assert "python cli.py user add NAME --role admin" in message
    assert web.startup_check("10.1.2.3") is not None
    auth.add_user("root", "admin", "admin-pass")
    assert web.startup_check("0.0.0.0") is None


def test_asking_whether_auth_is_on_does_not_create_a_database(tmp_path, monkeypatch):
    path = tmp_path / "absent.db"
    monkeypatch.setenv("SALES_DB", f"sqlite:///{path}")
    assert web.request_principal({}, {}, host_is_local=True) is auth.OPEN_PRINCIPAL
    assert not path.exists()


def test_cookie_is_http_only_same_site_and_secure_behind_tls(monkeypatch):
    plain = web.cookie_settings({})
    assert plain["httponly"] and plain["samesite"] == "Lax" and plain["path"] == "/" and not plain["secure"]
    assert plain["max_age"] == 12 * 3600
    assert web.cookie_settings({"X-Forwarded-Proto": "https"})["secure"]
    assert web.cookie_settings({"Forwarded": "for=1.2.3.4;proto=https"})["secure"]
    monkeypatch.setenv("SALES_SECURE_COOKIES", "true")
    assert web.cookie_settings({})["secure"]


def test_a_database_made_before_accounts_existed_runs_open_and_knows_no_session(tmp_path, monkeypatch):
    import sqlite3
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE sales (x INTEGER)")
    monkeypatch.setenv("SALES_DB", f"sqlite:///{path}")
    assert web.request_principal({}, {web.SESSION_COOKIE: "abc"}, host_is_local=True) is auth.OPEN_PRINCIPAL
    assert web.identify({}, {web.SESSION_COOKIE: "abc"}) is None
    auth.add_user("ann", "analyst", "analyst-pass")  # creates the account tables
    assert web.request_principal({}, {}, host_is_local=True) is None
