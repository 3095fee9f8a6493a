"""Login in a real browser: with a user, a page load goes to the sign-in page; after signing in the page shows,
the navbar names the user, an analyst sees the refresh button, a viewer does not, and logging out ends it."""
from __future__ import annotations

import time

import pytest

import auth
from tests.dash_helpers import wait_until

pytestmark = pytest.mark.browser


def _sign_in(dash_duo, name: str, password: str) -> None:
    driver = dash_duo.driver
    # start_server opened "/" in open mode; its callbacks in flight when the users were added get 401, and
    # session_expiry.js then sends that page to /login?next=/ - possibly after the get below has already
    # reached /login?next=/runs (seen under load). So: ask for /runs until its login page stays for a second.
    for _ in range(3):
        driver.get(dash_duo.server_url + "/runs")
        wait_until(lambda: "/login?next=" in driver.current_url, timeout=30,
                   message="not redirected to the login page")
        time.sleep(1)  # room for the old page's late redirect to land
        if "/login?next=%2Fruns" in driver.current_url:
            break
    assert "/login?next=%2Fruns" in driver.current_url, f"not on the login page for /runs: {driver.current_url}"
    dash_duo.get_logs()  # the 401s of the open-mode page's callbacks (above): expected
    driver.find_element("css selector", "#login-name").send_keys(name)
    driver.find_element("css selector", "#login-password").send_keys(password)
    driver.find_element("css selector", "#login-submit").click()
    wait_until(lambda: driver.current_url.endswith("/runs"), message="not sent back to /runs")
    dash_duo.wait_for_contains_text("#shell-user", name, timeout=15)


def test_login_then_role_gated_refresh_button(dash_duo, small_demo_db):
    from app import create_app
    dash_duo.start_server(create_app())
    auth.add_user("ann", "analyst", "analyst-pass")
    auth.add_user("vic", "viewer", "viewer-pass")

    _sign_in(dash_duo, "ann", "analyst-pass")
    assert "ann (analyst)" in dash_duo.find_element("#shell-user").text
    assert dash_duo.find_element("#runs-start-button").is_displayed()
    dash_duo.wait_for_contains_text("#runs-schedule", "UTC", timeout=10)  # callbacks answer with the session
    assert dash_duo.get_logs() == []
    dash_duo.find_element("#shell-user button").click()  # log out
    wait_until(lambda: "/login" in dash_duo.driver.current_url, message="logout did not reach the login page")

    _sign_in(dash_duo, "vic", "viewer-pass")
    dash_duo.wait_for_contains_text("#runs-schedule", "UTC", timeout=10)
    start = dash_duo.driver.find_elements("css selector", "#runs-start-button")
    assert len(start) == 1 and not start[0].is_displayed()
    assert dash_duo.get_logs() == []


def test_wrong_password_stays_on_the_login_page(dash_duo, small_demo_db):
    from app import create_app
    dash_duo.start_server(create_app())
    auth.add_user("ann", "analyst", "analyst-pass")
    driver = dash_duo.driver
    driver.get(dash_duo.server_url + "/")
    wait_until(lambda: "/login" in driver.current_url, message="not redirected to the login page")
    driver.find_element("css selector", "#login-name").send_keys("ann")
    driver.find_element("css selector", "#login-password").send_keys("not-the-password")
    driver.find_element("css selector", "#login-submit").click()
    error = wait_until(lambda: driver.find_element("css selector", "#login-error"), message="no error shown")
    assert "wrong user name or password" in error.text


def test_background_callbacks_check_the_role_of_the_signed_in_user(dash_duo, small_demo_db):
    """The quality report runs in a background process: an analyst's click computes it; a viewer's button is
    hidden, and a click forced through JavaScript is refused by the server, not just by the page."""
    from app import create_app
    dash_duo.start_server(create_app())
    auth.add_user("ann", "analyst", "analyst-pass")
    auth.add_user("vic", "viewer", "viewer-pass")
    _sign_in(dash_duo, "vic", "viewer-pass")
    dash_duo.driver.get(dash_duo.server_url + "/data?tab=quality")
    button = dash_duo.wait_for_element("#data-quality-run-button", timeout=15)
    wait_until(lambda: not button.is_displayed(), message="the viewer sees the recompute button")
    dash_duo.driver.execute_script("arguments[0].click()", button)
    dash_duo.wait_for_contains_text("#data-quality-status", "Not allowed: this needs the analyst role (vic is a "
                                    "viewer)", timeout=20)
    dash_duo.find_element("#shell-user button").click()
    # The logout POST must land (it redirects to the sign-in page) before the next page load, or that load still
    # carries the old session's cookie.
    wait_until(lambda: "/login" in dash_duo.driver.current_url, timeout=30, message="logout did not finish")
    _sign_in(dash_duo, "ann", "analyst-pass")
    dash_duo.driver.get(dash_duo.server_url + "/data?tab=quality")
    dash_duo.wait_for_element("#data-quality-run-button", timeout=15).click()
    dash_duo.wait_for_contains_text("#data-quality-status", "Report computed", timeout=60)
    assert dash_duo.get_logs() == []


def test_an_ended_session_sends_the_open_page_to_the_login(dash_duo, small_demo_db):
    """Removing the user ends its session on the server; the open page's next callback (the Runs page polls)
    gets 401 and assets/session_expiry.js takes the browser to the sign-in page."""
    from app import create_app
    dash_duo.start_server(create_app())
    auth.add_user("ann", "analyst", "analyst-pass")
    auth.add_user("root", "admin", "admin-pass")
    _sign_in(dash_duo, "ann", "analyst-pass")
    auth.remove_user("ann")
    wait_until(lambda: "/login?next=%2Fruns" in dash_duo.driver.current_url, timeout=15,
               message="the page stayed after its session ended")
