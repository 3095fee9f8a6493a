"""`guarded`: an exception becomes the fallback built from its short message; PreventUpdate passes through."""
from __future__ import annotations

import logging

import pytest
from dash.exceptions import PreventUpdate

from callbacks._errors import guarded, short_error


def test_an_exception_returns_the_fallback_and_is_logged(caplog):
    @guarded(lambda msg: f"empty: {msg}")
    def render(x):
        """Docstring kept."""
        if x == "boom":
            raise RuntimeError("database is locked\nSELECT ... (long SQL)")
        if x == "skip":
            raise PreventUpdate
        return x

    assert render("ok") == "ok"
    with caplog.at_level(logging.ERROR, logger="callbacks._errors"):
        assert render("boom") == "empty: database is locked"
    assert "render" in caplog.text and "SELECT" in caplog.text  # the whole error stays in the server log
    with pytest.raises(PreventUpdate):
        render("skip")
    assert render.__name__ == "render" and render.__doc__ == "Docstring kept."


def test_short_error_is_the_first_line():
    assert short_error(ValueError("first\nsecond")) == "first"
    assert short_error(KeyError()) == "KeyError"
    assert len(short_error(ValueError("x" * 1000))) == 300
