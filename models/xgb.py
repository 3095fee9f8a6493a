"""Global XGBoost model: the lgbm model's features, direct multi-horizon strategy and conformal intervals, with
XGBoost's histogram trees on the CPU.

Everything but the booster itself (features, per-series scaling, calibration, intervals, explanations) is
:class:`models.gbm.GlobalTreeForecaster`'s; this module only says how to train, predict and read
contributions and gains with ``xgboost``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from domain import HIERARCHY_COLS
from models.gbm import GlobalTreeForecaster, shared_params


class XGBForecaster(GlobalTreeForecaster):
    """Global XGBoost regressor over all series (``tree_method='hist'`` on the CPU, ``nthread`` threads).

    Parameters
    ----------
    freq, season_length, horizon, num_threads, seed, conformal, weight_by_scale, spread_shrinkage,
    min_calibration_train, min_calibration_test, hierarchy_cols
        As for :class:`models.gbm.LGBMForecaster`; ``num_threads`` is XGBoost's ``nthread`` (the refresh sets
        it to 1 per worker process, like LightGBM's).
    n_estimators, learning_rate : int, float, default 150, 0.1
        Boosting rounds and shrinkage: the same short run as ``lgbm``; ``--tune`` searches them.
    max_depth : int, default 6
        XGBoost's default depth-wise growth (at most 64 leaves, about ``lgbm``'s 31 in practice).
    min_child_weight : float, default 5.0
        Smallest hessian sum in a leaf; rows are weighted by series scale (mean 1), so about five rows.
    subsample, colsample_bytree : float, default 0.8, 0.8
        Row and feature subsampling per tree (``lgbm``'s bagging and feature fractions).
    reg_lambda : float, default 1.0
        L2 penalty of the leaf values.
    objective : str, default 'reg:squarederror'
        The loss on the scaled targets (``reg:absoluteerror`` for L1).
    max_bin : int, default 63
        Histogram bins per feature, as for ``lgbm``.
    max_cat_to_onehot : int, default 4
        Categoricals with fewer values are one-hot split, others partitioned (native categorical support).
    """

    name = "xgboost"

    def __init__(self, freq: str = "D", season_length: int | None = None, horizon: int | None = None,
                 n_estimators: int = 150, learning_rate: float = 0.1, max_depth: int = 6,
                 min_child_weight: float = 5.0, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 reg_lambda: float = 1.0, objective: str = "reg:squarederror", max_bin: int = 63,
                 max_cat_to_onehot: int = 4, num_threads: int = 2, seed: int = 0, conformal: bool = True,
                 weight_by_scale: bool = True, spread_shrinkage: float = 5.0, min_calibration_train: int = 50,
                 min_calibration_test: int = 10, hierarchy_cols: tuple = HIERARCHY_COLS):
        super().__init__(**shared_params(locals()))
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.objective = objective
        self.max_bin = max_bin
        self.max_cat_to_onehot = max_cat_to_onehot

    def _matrix(self, X: pd.DataFrame, y: np.ndarray | None = None, w: np.ndarray | None = None):
        import xgboost as xgb
        return xgb.DMatrix(X, label=y, weight=w, enable_categorical=True, nthread=int(self.num_threads))

    def _train(self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray):
        import xgboost as xgb
        params = {"objective": self.objective, "eta": self.learning_rate, "max_depth": int(self.max_depth),
                  "min_child_weight": self.min_child_weight, "subsample": self.subsample,
                  "colsample_bytree": self.colsample_bytree, "lambda": self.reg_lambda,
                  "tree_method": "hist", "device": "cpu", "max_bin": int(self.max_bin or 256),
                  "max_cat_to_onehot": int(self.max_cat_to_onehot), "nthread": int(self.num_threads),
                  "seed": int(self.seed), "verbosity": 0}
        return xgb.train(params, self._matrix(X, y, w), num_boost_round=int(self.n_estimators))

    def _raw_predict(self, model, X: pd.DataFrame) -> np.ndarray:
        return model.predict(self._matrix(X))

    def _raw_contributions(self, model, X: pd.DataFrame) -> np.ndarray:
        """TreeSHAP values (XGBoost's ``pred_contribs``): one column per feature, the base value last."""
        return model.predict(self._matrix(X), pred_contribs=True)

    def _gain_importance(self, model) -> pd.Series:
        """Total split gain per feature (0 for a feature never split on)."""
        gains = model.get_score(importance_type="total_gain")
        return pd.Series({f: float(gains.get(f, 0.0)) for f in self.feature_names_})
