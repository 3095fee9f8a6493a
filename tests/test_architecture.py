"""Import-walking checks of STYLE.md: the layering, no import cycles, who may import dash, IDs, module sizes."""
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


NON_UI = _py_files("analytics", "data", "models", "jobs", "decisions", "api", "config.py", "domain.py", "cli.py")


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
    loaded = sys.modules.pop("app", None)
    try:
        importlib.import_module("app")
    finally:  # later tests share the process's one app, held by the original module
        if loaded is not None:
            sys.modules["app"] = loaded
    assert created == []


# ----------------------------------------------------------------------------- layering and cycles
# The project's layers (top-level packages and modules) and the project layers each may import; a layer may always
# import its own modules. Layers that do not exist yet (jobs/, decisions/, api/) are checked once they appear.
BOTTOM = {"config", "domain"}
LAYER_IMPORTS = {
    "app": {"layouts", "callbacks", "auth"} | BOTTOM,
    "layouts": BOTTOM,
    "callbacks": {"layouts", "data", "analytics", "jobs", "auth", "reports", "monitoring"} | BOTTOM,
    # reports: generated HTML/PDF documents; draws with layouts' figure builders (so it may import plotly, not dash)
    "reports": {"layouts", "data", "analytics", "models", "jobs", "decisions"} | BOTTOM,
    "api": {"data", "jobs", "models", "analytics", "decisions", "auth"} | BOTTOM,
    "auth": {"data"} | BOTTOM,
    "monitoring": {"jobs", "models", "analytics", "data"} | BOTTOM,
    "jobs": {"models", "analytics", "decisions", "data"} | BOTTOM,
    "decisions": {"models", "analytics"} | BOTTOM,
    "models": {"analytics"} | BOTTOM,
    "analytics": {"domain"},
    "data": BOTTOM,
    "config": set(),
    "domain": set(),
}
DATA_ALLOWED = {"sqlalchemy", "pandas", "numpy", "alembic",  # alembic: schema migrations (data/migrate.py)
                "holidays"}  # holidays: the country calendars of the synthetic demo data
# Entry points may import any layer: server.py composes the API and the Dash app; commands/ holds cli.py's groups.
ENTRY_POINTS = {"cli", "server", "commands"}
NOT_PROJECT = {"tests", "bench", "docs"}


def _project_names() -> set[str]:
    """Top-level project modules and packages (the layers, cli, and whatever else sits at the root)."""
    names = {p.stem for p in ROOT.glob("*.py")} | {p.parent.name for p in ROOT.glob("*/__init__.py")}
    return names - NOT_PROJECT


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_files(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in root.rglob("*.py")
                  if not any(part.startswith(".") or part in NOT_PROJECT | {"venv"}
                             for part in p.relative_to(root).parts))


def _imported_modules(path: Path, root: Path, known: set[str]) -> set[str]:
    """Project modules imported anywhere in ``path`` (inside functions too), resolved to the most specific module:
    ``from data import store`` is ``data.store``, ``from data.store import x`` is ``data.store``."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            candidates = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in candidates:
            while name and name not in known:  # `import a.b.c` where c is not a module: its package
                name = name.rpartition(".")[0]
            if name and name != module:
                out.add(name)
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """``{module: project modules it imports}`` for every project module under ``root``."""
    files = _project_files(root)
    known = {_module_name(p, root) for p in files}
    return {_module_name(p, root): _imported_modules(p, root, known) for p in files}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
                on_stack.discard(comp[-1])
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    """``"a.b imports c.d"`` for every import between layers that LAYER_IMPORTS does not allow."""
    bad = []
    for module, imported in sorted(graph.items()):
        layer = module.split(".")[0]
        if layer in ENTRY_POINTS or layer not in LAYER_IMPORTS:
            continue
        allowed = LAYER_IMPORTS[layer] | {layer}
        bad += [f"{module} imports {name}" for name in sorted(imported) if name.split(".")[0] not in allowed]
    return bad


GRAPH = import_graph()
LAYERS = sorted({m.split(".")[0] for m in GRAPH} & set(LAYER_IMPORTS))


def test_every_project_module_has_a_layer():
    unknown = sorted({m.split(".")[0] for m in GRAPH} - set(LAYER_IMPORTS) - ENTRY_POINTS)
    assert not unknown, f"add {unknown} to LAYER_IMPORTS in tests/test_architecture.py (and to STYLE.md)"


@pytest.mark.parametrize("layer", LAYERS)
def test_layering(layer):
    bad = layering_violations({m: v for m, v in GRAPH.items() if m.split(".")[0] == layer})
    allowed = sorted(LAYER_IMPORTS[layer]) or "no project module"
    assert not bad, f"{layer} may import only {allowed}:\n  " + "\n  ".join(bad)


def test_no_import_cycles():
    cycles = import_cycles(GRAPH)
    assert not cycles, ("import cycles (an import inside a function counts too: restructure instead):\n  "
                        + "\n  ".join(" <-> ".join(c) for c in cycles))


@pytest.mark.parametrize("path", _py_files("data"), ids=_rel)
def test_data_uses_only_sqlalchemy_and_pandas(path):
    allowed = DATA_ALLOWED | set(sys.stdlib_module_names) | _project_names() | {"__future__"}
    bad = sorted(_top(_imports(path)) - allowed)
    assert not bad, f"{_rel(path)} imports {bad}; data/ may import only SQLAlchemy, pandas and numpy"


def test_cycle_and_layering_checkers_catch_bad_imports(tmp_path):
    files = {"data/__init__.py": "", "data/store.py": "def f():\n    from models import base\n",
             "models/__init__.py": "", "models/base.py": "from models.naive import Naive\n",
             "models/naive.py": "from . import base\n", "config.py": "import os\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path)
    assert graph["data.store"] == {"models.base"} and graph["models.naive"] == {"models.base"}
    assert import_cycles(graph) == [["models.base", "models.naive"]]
    assert layering_violations(graph) == ["data.store imports models.base"]


# ----------------------------------------------------------------------------- sizes
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
LONG_REASON = "Long because"


def long_functions(path: Path) -> list[str]:
    """``"name (n lines, line k)"`` for every function over MAX_FUNCTION_LINES whose docstring gives no reason.

    The docstring does not count: a numpydoc docstring documents, it does not make a function harder to read.
    """
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                n -= first.end_lineno - first.lineno + 1
            if n > MAX_FUNCTION_LINES and LONG_REASON not in (ast.get_docstring(node) or ""):
                out.append(f"{node.name} ({n} lines, line {node.lineno})")
    return out


def module_lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


SIZED = _project_files() + _py_files("bench", "docs", "tests")


@pytest.mark.parametrize("path", SIZED, ids=_rel)
def test_module_size(path):
    n = module_lines(path)
    assert n <= MAX_MODULE_LINES, f"{_rel(path)} has {n} lines; split it (modules stay under {MAX_MODULE_LINES})"


@pytest.mark.parametrize("path", SIZED, ids=_rel)
def test_function_size(path):
    found = long_functions(path)
    assert not found, (f"{_rel(path)}: {', '.join(found)}; split functions over {MAX_FUNCTION_LINES} lines or "
                       f"say why in the docstring (a line starting '{LONG_REASON}')")


def test_size_checkers_catch_long_code(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES - 1))  # with the def line: at the limit
    bad = tmp_path / "bad.py"
    doc = '    """Documented.\n\n' + "    More words.\n" * 20 + '    """\n'
    bad.write_text(f'def long():\n{body}    x = 0\n\n\ndef fine():\n    """Long because it must be."""\n{body}    x = 0\n'
                   f'\n\ndef documented():\n{doc}{body}')
    assert [f.split(" (")[0] for f in long_functions(bad)] == ["long"]
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert module_lines(big) == MAX_MODULE_LINES + 1


def test_importer_fields_and_ui_levels_use_the_domain_names():
    import domain
    assert set(domain.FIELD_LABELS) <= set(domain.IMPORT_FIELDS) >= set(domain.FIELD_SYNONYMS)
    assert set(domain.REQUIRED_FIELDS) <= set(domain.FIELD_LABELS)
    from app import create_app
    create_app()  # loads the page modules
    from layouts import drivers, overview
    assert set(drivers.LEVELS) <= set(domain.LEVELS) and set(overview.MOVER_LEVELS) <= set(domain.LEVELS)
