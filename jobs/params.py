"""The parameters of a refresh: a frozen, validated value that determines a run's results and is stored with it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import config
from domain import BOTTOM_LEVEL, LEVELS
from models import registry
from models.combination import POINT_METRICS
from models.selection import SPARSE_MODELS

SELECTIONS = ("combination", "series")
BACKTEST_INPUTS = ("as_known", "oracle")
RECONCILE_METHODS = ("bottom_up", "ols", "mint_shrink")
ENGINES = ("local", "spark")  # where the model map runs: the process pool, or a Spark job (jobs.spark_engine)
GLOBAL_GROUP_ROWS = config.Settings.global_group_rows  # SALES_GLOBAL_GROUP_ROWS' default


def _as_list(value, default) -> list[str]:
    """A comma-separated string or a sequence as a list of names; ``None`` or "" gives ``default``."""
    if value is None or value == "":
        return list(default)
    items = value.split(",") if isinstance(value, str) else list(value)
    return [v.strip() for v in items if v and v.strip()]


@dataclass(frozen=True)
class RefreshParams:
    """Validated refresh parameters (see :func:`jobs.runner.refresh` for their meaning).

    ``levels`` always includes the bottom level (reconciliation is built on the bottom series) and is kept in
    hierarchy order. ``to_dict()`` is what the ``runs`` table and the refresh summary store; two runs with equal
    dicts on the same data are the same forecast, which is how an unchanged refresh is skipped.
    """

    freq: str
    horizon: int
    models: tuple[str, ...] = tuple(registry.DEFAULT_MODELS)
    folds: int = 3
    metric: str = "wape"
    reconcile: str = "bottom_up"
    levels: tuple[str, ...] = LEVELS
    tune: bool = False
    ensemble: bool = False
    selection: str = "combination"
    model_params: Mapping[str, Mapping] | None = None  # {model: hyperparameter overrides}
    backtest_inputs: str = "as_known"  # folds' inputs as known at the origin, or the realised ones ("oracle")
    sparse_models: tuple[str, ...] = SPARSE_MODELS  # extra candidates of intermittent/lumpy series (jobs/sparse.py)
    engine: str = "local"  # where the model map runs; not in to_dict(): it never changes the forecasts
    spark_master: str | None = None  # --engine spark: master URL (None: SALES_SPARK_MASTER, else local[*])
    # Largest series group of one global model, in history rows (jobs/tasks.py): it changes the forecasts, so it
    # is a parameter of the run (from SALES_GLOBAL_GROUP_ROWS), and a changed value is not skipped as unchanged.
    global_group_rows: int = GLOBAL_GROUP_ROWS

    def __post_init__(self):
        models = tuple(self.models)
        for name in models:
            registry.require(name)  # raises "unknown model ..." or, e.g. lstm without torch, names `make deep`
        bad = [x for x in self.levels if x not in LEVELS]
        if bad:
            raise ValueError(f"unknown level(s) {bad}; choose from {list(LEVELS)}")
        levels = tuple(x for x in LEVELS if x in self.levels or x == BOTTOM_LEVEL)
        if self.reconcile not in RECONCILE_METHODS:
            raise ValueError(f"unknown reconcile method {self.reconcile!r}; choose bottom_up, ols or mint_shrink")
        if self.reconcile != "bottom_up" and set(levels) != set(LEVELS):
            raise ValueError(f"{self.reconcile} combines the base forecasts of every level: drop --levels or use "
                             "bottom_up")
        if self.selection not in SELECTIONS:
            raise ValueError(f"unknown selection {self.selection!r}; choose from {list(SELECTIONS)}")
        if self.backtest_inputs not in BACKTEST_INPUTS:
            raise ValueError(f"unknown backtest inputs {self.backtest_inputs!r}; choose from {list(BACKTEST_INPUTS)}")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose from {list(ENGINES)}")
        if self.engine == "spark":  # like a model's missing extra: refused before anything is written
            from jobs.spark_engine import require_spark
            require_spark()
        if self.horizon < 1 or self.folds < 1:
            raise ValueError(f"horizon and folds must be >= 1 (got {self.horizon}, {self.folds})")
        for name in self.sparse_models:
            registry.require(name)
        if int(self.global_group_rows) < 1:
            raise ValueError(f"global_group_rows must be >= 1 (got {self.global_group_rows})")
        object.__setattr__(self, "global_group_rows", int(self.global_group_rows))
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "sparse_models", tuple(self.sparse_models))
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "horizon", int(self.horizon))
        object.__setattr__(self, "folds", int(self.folds))
        object.__setattr__(self, "tune", bool(self.tune))
        object.__setattr__(self, "ensemble", bool(self.ensemble))
        object.__setattr__(self, "model_params", {name: dict(p) for name, p in self.model_params.items()}
                           if self.model_params else None)

    @classmethod
    def from_cli(cls, freq: str, horizon=None, models=None, folds=3, metric="wape", reconcile="bottom_up",
                 levels=None, tune=False, ensemble=False, selection="combination",
                 model_params=None, backtest_inputs="as_known", sparse_models=None, engine="local",
                 spark_master=None, global_group_rows=None) -> "RefreshParams":
        """Parameters from command-line style values: comma-separated names, ``None`` for the defaults.

        Parameters
        ----------
        freq : {'D', 'W'}
            The data's frequency (``store.frequency()``); it sets the default horizon.
        horizon : int, optional
            Steps ahead (default ``registry.default_horizon(freq)``: 42 daily, 6 weekly).
        models, levels : str or list of str, optional
            Candidate models and levels with their own base models (default: the registry's defaults, all levels).
        sparse_models : str or list of str, optional
            Extra candidates of the intermittent and lumpy series (default :data:`models.selection.SPARSE_MODELS`;
            "" or [] for none).
        model_params : dict, optional
            ``{model: {hyperparameter: value}}`` overrides.
        engine : {'local', 'spark'}
            The process pool (default) or a Spark job on ``spark_master`` (:mod:`jobs.spark_engine`).
        global_group_rows : int, optional
            Largest series group of one global model (default ``SALES_GLOBAL_GROUP_ROWS``).

        Raises
        ------
        ValueError
            Unknown model, level, reconcile method or selection; horizon or folds below 1; a reconcile method
            other than ``bottom_up`` with a subset of levels.
        """
        return cls(freq=freq, horizon=int(horizon or registry.default_horizon(freq)),
                   models=tuple(_as_list(models, registry.DEFAULT_MODELS)),
                   folds=folds, metric=metric, reconcile=reconcile, levels=tuple(_as_list(levels, LEVELS)),
                   tune=tune, ensemble=ensemble, selection=selection, model_params=model_params or None,
                   backtest_inputs=backtest_inputs or "as_known",
                   sparse_models=tuple(SPARSE_MODELS if sparse_models is None else _as_list(sparse_models, ())),
                   engine=engine or "local", spark_master=spark_master or None,
                   global_group_rows=global_group_rows or config.load().global_group_rows)

    @property
    def combining(self) -> bool:
        """Selection by per-level combinations (needs a metric that can be pooled over series)."""
        return self.selection == "combination" and self.metric in POINT_METRICS

    def to_dict(self) -> dict:
        """The JSON-ready dict stored in ``runs.params`` (lists, not tuples; ``model_params`` only when set)."""
        out = {"freq": self.freq, "horizon": self.horizon, "models": list(self.models), "folds": self.folds,
               "metric": self.metric, "reconcile": self.reconcile, "levels": list(self.levels), "tune": self.tune,
               "ensemble": self.ensemble, "selection": self.selection}
        if self.model_params:
            out["model_params"] = {name: dict(p) for name, p in self.model_params.items()}
        if self.backtest_inputs != "as_known":  # the default is left out, so older runs keep comparing equal
            out["backtest_inputs"] = self.backtest_inputs
        if self.sparse_models != SPARSE_MODELS:  # likewise
            out["sparse_models"] = list(self.sparse_models)
        if self.global_group_rows != GLOBAL_GROUP_ROWS:  # likewise
            out["global_group_rows"] = self.global_group_rows
        return out
