"""Settings parse explicitly: "false" is False, a missing port gets a default, a plain path means SQLite."""
import pytest

import config


def test_defaults_without_env(monkeypatch):
    for var in ("SALES_DB", "SALES_PORT", "SALES_DEBUG", "SALES_HOST"):
        monkeypatch.delenv(var, raising=False)
    s = config.load()
    assert s.port == 8050 and s.host == "127.0.0.1" and s.debug is False
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("data/sales.db")


@pytest.mark.parametrize("raw, expected", [("false", False), ("False", False), ("0", False), ("true", True),
                                           ("1", True)])
def test_bool_parsing(monkeypatch, raw, expected):
    monkeypatch.setenv("SALES_DEBUG", raw)
    assert config.load().debug is expected


def test_bad_values_say_what_is_wrong(monkeypatch):
    monkeypatch.setenv("SALES_PORT", "eighty")
    with pytest.raises(ValueError, match="SALES_PORT"):
        config.load()
    monkeypatch.setenv("SALES_PORT", "8080")
    monkeypatch.setenv("SALES_DEBUG", "maybe")
    with pytest.raises(ValueError, match="boolean"):
        config.load()


def test_database_url_forms(tmp_path):
    assert config.database_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert config.database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"


def test_schedule_setting(monkeypatch):
    monkeypatch.delenv("SALES_SCHEDULE", raising=False)
    assert config.load().schedule == config.DEFAULT_SCHEDULE == "0 3 * * *"
    monkeypatch.setenv("SALES_SCHEDULE", "  30 4 * * sat ")
    assert config.load().schedule == "30 4 * * sat"
    monkeypatch.setenv("SALES_SCHEDULE", "")
    assert config.load().schedule == "0 3 * * *"
