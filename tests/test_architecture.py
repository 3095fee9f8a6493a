"""Import-walking checks of the layering rules in STYLE.md (who may import dash, analytics purity, IDs)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DASH_FAMILY = {"dash", "dash_bootstrap_components", "dash_ag_grid", "plotly", "flask", "flask_caching"}
ANALYTICS_ALLOWED = {"pandas", "numpy", "scipy", "statsmodels", "sklearn", "analytics", "domain", "__future__"}
ID_CALLS = {"Input", "Output", "State"}


def _py_files(*folders: str) -> list[Path]:
    out = []
    for folder in folders:
        path = ROOT / folder
        out += [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
    return [p for p in out if p.exists()]


def _imports(path: Path) -> set[str]:
    """Top-level names of every module imported by ``path`` (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


NON_UI = _py_files("analytics", "data", "models", "config.py", "cli.py")


@pytest.mark.parametrize("path", NON_UI, ids=_rel)
def test_only_ui_modules_import_dash(path):
    bad = _top(_imports(path)) & DASH_FAMILY
    assert not bad, f"{_rel(path)} imports {sorted(bad)}; only app.py, layouts/ and callbacks/ may import dash"


@pytest.mark.parametrize("path", _py_files("analytics"), ids=_rel)
def test_analytics_is_pure(path):
    allowed = ANALYTICS_ALLOWED | set(sys.stdlib_module_names)
    bad = sorted(_top(_imports(path)) - allowed)
    assert not bad, (f"{_rel(path)} imports {bad}; analytics/ may import only pandas, numpy, scipy, "
                     "statsmodels and scikit-learn (read data in models/ or callbacks/, not here)")


@pytest.mark.parametrize("path", _py_files("layouts"), ids=_rel)
def test_layouts_do_not_read_data(path):
    bad = sorted(_top(_imports(path)) & {"data", "models", "analytics", "sqlalchemy"})
    assert not bad, f"{_rel(path)} imports {bad}; layouts only build components (callbacks read the store)"


def _literal_id_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in ID_CALLS and node.args and isinstance(node.args[0], (ast.Constant, ast.Dict, ast.JoinedStr)):
            found.append(f"{name}(...) at line {node.lineno}")
        for kw in node.keywords:
            if kw.arg == "id" and isinstance(kw.value, (ast.Constant, ast.Dict, ast.JoinedStr)) \
                    and not (isinstance(kw.value, ast.Constant) and kw.value.value is None):
                found.append(f"id= literal at line {node.lineno}")
    return found


@pytest.mark.parametrize("path", _py_files("callbacks", "layouts", "app.py"), ids=_rel)
def test_no_string_literal_ids(path):
    if path.name == "ids.py":
        return
    found = _literal_id_uses(path)
    assert not found, f"{_rel(path)} uses literal component IDs ({', '.join(found)}); put them in layouts/ids.py"


def test_literal_id_checker_catches_literals(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('from dash import Input, Output, html\nOutput("my-id", "children")\nhtml.Div(id="x")\n')
    assert len(_literal_id_uses(bad)) == 2


def test_app_is_small():
    n = len((ROOT / "app.py").read_text(encoding="utf-8").splitlines())
    assert n < 80, f"app.py has {n} lines; keep it under 80 (layouts and callbacks live in their packages)"


@pytest.mark.parametrize("path", _py_files("app.py", "layouts", "callbacks", "data", "models", "analytics"),
                         ids=_rel)
def test_every_module_has_a_docstring(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if path.name == "__init__.py" and not tree.body:
        return
    assert ast.get_docstring(tree), f"{_rel(path)} needs a one-line module docstring stating its role"


def test_importing_app_does_no_work(monkeypatch):
    """`import app` must not build the app (the WSGI `server` is created lazily)."""
    import importlib

    import dash
    created = []
    monkeypatch.setattr(dash.Dash, "__init__", lambda self, *a, **k: created.append(1) or None)
    sys.modules.pop("app", None)
    importlib.import_module("app")
    assert created == []
