"""Dockerfile, .dockerignore and docker-compose.yml: structure checks (Docker is not installed where the tests run).

docker-compose.yml is parsed with PyYAML when it is installed, else with the small block-YAML reader below, which
accepts only the subset the file uses (mappings, lists, quoted or plain scalars, comments) and fails on anything
else, so the file stays plain.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _scalar(text: str):
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return json.loads(text)  # flow lists are written as JSON arrays of strings
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text == "":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    assert not re.search(r"[{}&*!|>%@`]", text), f"unsupported YAML scalar: {text!r}"
    return text


def parse_block_yaml(source: str):
    """Parse the block-YAML subset: ``key: value``, ``key:`` + an indented block, ``- item`` lists."""
    lines = []
    for raw in source.splitlines():
        assert "\t" not in raw, "tabs are not allowed in YAML indentation"
        stripped = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if stripped.strip():
            lines.append((len(stripped) - len(stripped.lstrip()), stripped.strip()))

    def block(i: int, indent: int):
        if lines[i][1].startswith("- "):
            out = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                out.append(_scalar(lines[i][1][2:]))
                i += 1
            return out, i
        out = {}
        while i < len(lines) and lines[i][0] == indent:
            key, sep, rest = lines[i][1].partition(":")
            assert sep and not key.startswith("- "), f"line {lines[i][1]!r}: expected 'key: value'"
            assert key not in out, f"duplicate key {key!r}"
            i += 1
            if rest.strip():
                out[key] = _scalar(rest)
            elif i < len(lines) and lines[i][0] > indent:
                out[key], i = block(i, lines[i][0])
            else:
                out[key] = None
        return out, i

    result, end = block(0, lines[0][0])
    assert end == len(lines), f"unparsed YAML from line {lines[end][1]!r}"
    return result


def load_compose() -> dict:
    source = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    mine = parse_block_yaml(source)
    try:
        import yaml
    except ImportError:
        return mine
    assert yaml.safe_load(source) == mine
    return mine


def test_the_yaml_reader_rejects_what_it_does_not_know():
    with pytest.raises(AssertionError):
        parse_block_yaml("a: 1\na: 2\n")
    with pytest.raises(AssertionError):
        parse_block_yaml("a:\n  - x\n  y: 1\n")
    assert parse_block_yaml("a:\n  b: \"1\"\n  c:\n    - x\n    - 'y'\nd: [\"p\", \"q\"]\n") == \
        {"a": {"b": "1", "c": ["x", "y"]}, "d": ["p", "q"]}


def test_compose_has_app_scheduler_and_postgres_16():
    compose = load_compose()
    services = compose["services"]
    assert set(services) == {"app", "scheduler", "postgres"}
    app, scheduler, pg = services["app"], services["scheduler"], services["postgres"]
    assert pg["image"] == "postgres:16"
    assert any(v.endswith(":/var/lib/postgresql/data") and not v.startswith((".", "/")) for v in pg["volumes"])
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert set(compose["volumes"]) >= {"pgdata"}
    user, password, name = (pg["environment"][k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"))
    for service in (app, scheduler):
        assert service["environment"]["SALES_DB"] == f"postgresql+psycopg://{user}:{password}@postgres:5432/{name}"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["build"] == "." and service["image"] == app["image"]
    assert scheduler["command"] == ["python", "cli.py", "schedule"]
    assert "python cli.py serve --prod" in " ".join(app["command"])
    assert "python cli.py db upgrade" in " ".join(app["command"])
    assert app["environment"]["SALES_HOST"] == "0.0.0.0" and "8050:8050" in app["ports"]


def _dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [(line.split()[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_is_slim_non_root_with_a_health_check():
    steps = _dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    assert "pip install -r requirements.txt -c constraints.txt" in runs
    assert "useradd" in runs
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    last_user = max(i for i, (op, _) in enumerate(steps) if op == "USER")
    assert last_user > max(i for i, (op, _) in enumerate(steps) if op in ("RUN", "COPY"))  # nothing runs as root later
    health = [arg for op, arg in steps if op == "HEALTHCHECK"]
    assert len(health) == 1 and "/api/v1/health" in health[0]
    cmd = [arg for op, arg in steps if op == "CMD"]
    assert json.loads(cmd[-1]) == ["python", "cli.py", "serve", "--prod"]
    env = " ".join(arg for op, arg in steps if op == "ENV")
    assert "SALES_HOST=0.0.0.0" in env and "SALES_DB=/data/sales.db" in env


def test_dockerignore_keeps_databases_and_the_venv_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "data/*.db", "data/cache", "data/models"} <= ignored
    for needed in ("requirements.txt", "constraints.txt", "cli.py", "server.py", "data", "assets"):
        assert needed not in ignored
