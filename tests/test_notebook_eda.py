"""notebooks/eda.ipynb runs from top to bottom (nbclient, a kernel on this venv's python) on a tiny demo database,
so the notebook never rots: every cell executes without an error and the figures it promises are there."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "eda.ipynb"
KERNEL = "sales-test-venv"


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch) -> str:
    """A kernelspec in a temporary Jupyter path whose kernel is this interpreter (the project's venv)."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "sales venv (test)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return KERNEL


def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_the_eda_notebook_executes_on_a_tiny_demo(tmp_path, monkeypatch, venv_kernel):
    from data import demo
    db = tmp_path / "tiny.db"
    demo.generate(seed=5, n_stores=2, n_products=3, years=1, url=f"sqlite:///{db}", progress=False)
    monkeypatch.setenv("SALES_DB", str(db))  # the kernel inherits the environment
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=venv_kernel, timeout=120,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError naming the cell on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [json.dumps(o["data"]["application/vnd.plotly.v1+json"]) for o in outputs
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    text = "".join(json.dumps(o.get("data", {})) + o.get("text", "") for o in outputs)
    assert f"database: sqlite:///{db}" in text  # the database SALES_DB named
    for title in ("Daily sales per region", "Daily sales per store x product", "Within-series correlations",
                  "Decomposition of total sales", "Seasonal indices"):
        assert any(title in f for f in figures), title
    heatmap = next(f for f in figures if "Within-series correlations" in f)
    assert '"type": "heatmap"' in heatmap and "log_sales" in heatmap
    decomposition = next(f for f in figures if "Decomposition of total sales" in f)
    assert "trend" in decomposition and "seasonal_7" in decomposition and "resid" in decomposition
