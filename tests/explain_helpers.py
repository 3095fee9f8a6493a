"""A small store with a real refresh of a global tree model (artifacts and importance), for the explain tests."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from jobs import runner
from tests.test_refresh import make_store

NODE = "store=1/product=a"
FAST = {"lgbm": {"n_estimators": 20, "num_leaves": 7, "min_child_samples": 5},
        "xgboost": {"n_estimators": 20, "max_depth": 3, "min_child_weight": 1.0},
        "rf": {"n_estimators": 10, "max_depth": 6}}


def tree_run(url: str, models: str = "seasonal_naive,lgbm", horizon: int = 7, folds: int = 1) -> str:
    """Fill ``url`` with the hand-made 3 stores x 3 products and publish one refresh of ``models``; its run id.

    Set ``SALES_MODELS_DIR`` first: the run's artifacts go there.
    """
    make_store(url)
    summary = runner.refresh(horizon=horizon, models=models, jobs=1, folds=folds, progress=False, url=url,
                             model_params={k: v for k, v in FAST.items() if k in models.split(",")})
    assert summary["status"] == "success", summary
    return summary["run_id"]


@contextmanager
def tree_run_env(tmp: Path, models: str = "seasonal_naive,lgbm", folds: int = 1):
    """``(url, run_id)`` of :func:`tree_run` in a new database under ``tmp``, with ``SALES_DB`` and
    ``SALES_MODELS_DIR`` pointing there while the block runs (for module-scoped fixtures)."""
    mp = pytest.MonkeyPatch()
    url = f"sqlite:///{tmp / 'sales.db'}"
    mp.setenv("SALES_DB", url)
    mp.setenv("SALES_MODELS_DIR", str(tmp / "models"))
    try:
        yield url, tree_run(url, models=models, folds=folds)
    finally:
        mp.undo()
