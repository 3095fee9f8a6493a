"""The DVC pipeline (dvc.yaml, params.yaml): `dvc repro` rebuilds import -> effects -> refresh on a tiny demo in a
temporary copy of the repository, offline; `dvc dag` shows the chain; a changed refresh parameter makes only the
refresh stale. (Pushing to and pulling from the local remote of docs/dvc.md was checked by hand: two more DVC calls.)

The reports stage runs the report helper's `python cli.py report ...`; this test reproduces up to the refresh stage.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from data import store

pytest.importorskip("dvc")

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".dvc", "tests", "docs", "bench", "notebooks", "assets",
        "pipeline", "dvc.lock"}
TINY = {"demo": {"seed": 3, "stores": 2, "products": 2, "years": 1}, "effects": {"level": "category"},
        "refresh": {"models": "seasonal_naive", "horizon": 7, "folds": 1, "metric": "wape", "reconcile": "bottom_up",
                    "jobs": 1}}


def _ignore(directory: str, names: list[str]) -> list[str]:
    """Source only: no VCS, caches, databases or the local run-time state under data/."""
    out = [n for n in names if n in SKIP or n.endswith((".db", ".db-wal", ".db-shm", ".pyc"))]
    if Path(directory) == ROOT / "data":
        out += [n for n in names if n in ("models", "cache", "mlruns")]
    return out


@pytest.fixture
def repo(tmp_path) -> Path:
    """A copy of the repository's source with the real dvc.yaml, a tiny params.yaml and a DVC repository (no git)."""
    dst = tmp_path / "repo"
    shutil.copytree(ROOT, dst, ignore=_ignore)
    (dst / "params.yaml").write_text(yaml.safe_dump(TINY))
    (dst / ".dvc").mkdir()  # what `dvc init --no-scm` makes, with the settings below
    # offline and self-contained: no usage analytics, no update check, DVC's site cache under tmp_path
    (dst / ".dvc" / "config").write_text(f"[core]\n    no_scm = True\n    analytics = false\n    check_update = false\n"
                                         f"    site_cache_dir = {tmp_path / 'site'}\n")
    return dst


def _dvc(cwd: Path, *args: str) -> str:
    """Run ``dvc ARGS`` in ``cwd`` with the venv's python first on PATH (the stages run ``python cli.py``)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "DVC_NO_ANALYTICS": "1", "SALES_MLFLOW": "off"}
    env.pop("SALES_DB", None)
    env.pop("SALES_MODELS_DIR", None)
    out = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, f"dvc {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_repo_pipeline_declares_the_four_stages():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert list(spec["stages"]) == ["import", "effects", "refresh", "reports"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert set(params) == set(TINY) and set(params["refresh"]) == set(TINY["refresh"])
    reports = " ".join(spec["stages"]["reports"]["cmd"])
    for kind in ("eda", "model", "executive"):
        assert f"python cli.py report {kind} --format html --out pipeline/reports/{kind}.html" in reports
    assert (ROOT / ".dvc" / "config").exists() and "analytics = false" in (ROOT / ".dvc" / "config").read_text()


def test_dvc_repro_rebuilds_the_pipeline_offline(repo):
    _dvc(repo, "repro", "refresh")
    url = f"sqlite:///{repo / 'pipeline' / 'forecast.db'}"
    run = store.current_run(url)
    summary = json.loads((repo / "pipeline" / "refresh.json").read_text())
    assert run is not None and summary["status"] == "success" and summary["run_id"] == run["run_id"]
    assert summary["horizon"] == 7 and summary["models"] == ["seasonal_naive"]
    assert (repo / "pipeline" / "models" / run["run_id"] / "manifest.json").exists()
    assert store.counts(f"sqlite:///{repo / 'pipeline' / 'import.db'}")["stores"] == 2
    assert json.loads((repo / "pipeline" / "effects.json").read_text())
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"import", "effects", "refresh"}
    assert lock["stages"]["refresh"]["params"]["params.yaml"]["refresh"]["horizon"] == 7

    dag = _dvc(repo, "dag", "--dot")
    for edge in ('"import" -> "effects"', '"effects" -> "refresh"', '"refresh" -> "reports"'):
        assert edge in dag

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["refresh"]["horizon"] = 5
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    stale = json.loads(_dvc(repo, "status", "--json", "--with-deps", "refresh"))
    assert set(stale) == {"refresh"}, stale  # import and effects are up to date: only the refresh reruns
