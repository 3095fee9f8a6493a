"""The code version recorded with every run and artifact: the git commit of this checkout."""
from __future__ import annotations

import subprocess
from pathlib import Path


def code_version() -> str:
    """``git rev-parse HEAD`` of this checkout, or "unknown"."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parents[1],
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown" if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
