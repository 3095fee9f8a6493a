"""The security headers in a real browser: every page renders under the Content-Security-Policy with an empty
console (a violation is a console error), and a policy without Dash's script hashes is caught (the check works)."""
from __future__ import annotations

import pytest

from layouts import ids
from tests.dash_helpers import publish_fake_run, wait_until

pytestmark = pytest.mark.browser

# One element per page that appears only once its callbacks have drawn it
RENDERED = {"/": "#overview-fan-chart .scatterlayer .trace", "/forecast": "#react-entry-point .js-plotly-plot"}


def test_every_page_renders_under_the_csp(dash_duo, small_demo_db):
    publish_fake_run(small_demo_db, horizon=14)
    from app import create_app
    dash_duo.start_server(create_app())
    for _name, path in ids.PAGES:
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element(RENDERED.get(path, f"#{ids.Shell.NAVBAR}"), timeout=30)
        wait_until(lambda: not dash_duo.driver.find_elements("css selector", "._dash-loading"),
                   message=f"{path} rendered")
        dash_duo.wait_for_element("#react-entry-point .js-plotly-plot, #react-entry-point table, "
                                  "#react-entry-point .card", timeout=30)
        assert dash_duo.get_logs() == [], f"console errors on {path}"
    policy = _header(dash_duo, "/")
    assert "'unsafe-eval'" not in policy and "frame-ancestors 'none'" in policy


def _header(dash_duo, path: str) -> str:
    import urllib.request
    with urllib.request.urlopen(dash_duo.server_url + path) as response:
        return response.headers["Content-Security-Policy"]


def test_a_blocked_inline_script_shows_in_the_console(dash_duo, small_demo_db, monkeypatch):
    """Negative control: without the hashes of Dash's inline scripts the browser refuses them and says so."""
    from auth import headers
    from callbacks import _security
    monkeypatch.setattr(_security, "security_headers",
                        lambda https, hashes, path: headers.security_headers(https, (), path))
    from app import create_app
    dash_duo.start_server(create_app())
    dash_duo.driver.get(dash_duo.server_url + "/")
    logs = wait_until(lambda: dash_duo.get_logs(), message="a CSP violation in the console")
    assert any("Content Security Policy" in entry["message"] for entry in logs)
