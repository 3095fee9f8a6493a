"""Global tree models (LightGBM, and a RandomForest variant): one model over all series, direct multi-horizon, conformal intervals.

Strategy: **direct**, not recursive. Every y-derived feature uses lags >= ``horizon`` (see
:func:`models.features.lag_set`), so all ``h <= horizon`` future rows are predicted from observed values
only: no recursion, no accumulated error, no leakage. Targets and lags are divided by each series'
mean absolute value, so one model serves big and small series.

Intervals are split-conformal: a calibration model is fitted on everything but the last ``horizon``
steps of each series, its scaled errors on those steps are standardised by a per-series spread (shrunk
to the pooled spread) and their empirical 2.5/10/90/97.5% quantiles give the 80%/95% bounds of the
final model, fitted on all data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import BaseForecaster, exog_columns, freq_step
from models.features import build_features

QUANTILES = {"yhat_lo_95": 0.025, "yhat_lo_80": 0.1, "yhat_hi_80": 0.9, "yhat_hi_95": 0.975}
LGBM_DEFAULTS = {"n_estimators": 150, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
                 "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
                 "objective": "l2", "num_threads": 2, "seed": 0, "conformal": True, "horizon": None,
                 "weight_by_scale": True, "max_bin": 63}
RF_DEFAULTS = {"n_estimators": 100, "max_depth": 14, "min_samples_leaf": 5, "max_samples": 0.5,
               "max_features": 0.5, "num_threads": 2, "seed": 0, "conformal": True, "horizon": None,
               "weight_by_scale": True}


class GlobalTreeForecaster(BaseForecaster):
    """Shared machinery of the global tree models; subclasses write ``_train`` and ``_raw_predict``."""

    uses_exog = True
    is_global = True
    horizon_aware = True
    _defaults: dict = {}

    def _hp(self, key):
        return self.hyperparams.get(key, self._defaults.get(key))

    @property
    def horizon(self) -> int:
        h = self._hp("horizon")
        return int(h) if h else {"D": 42, "W": 6}.get(self.freq, 6)

    def _features(self, df: pd.DataFrame) -> pd.DataFrame:
        X = build_features(df, self.horizon, self.m, self.freq, self.scale_)
        for c, cats in self.categories_.items():
            X[c] = pd.Categorical(X[c].astype(str), categories=cats)
        return X[self.feature_names_]

    def _fit(self, df: pd.DataFrame) -> None:
        H = self.horizon
        cols = ["series_id", "ds", "y", *exog_columns(df)]
        self.history_ = df[cols].reset_index(drop=True)
        scale = df.groupby("series_id")["y"].apply(lambda s: float(np.mean(np.abs(s))))
        self.scale_ = scale.where(scale > 0, 1.0)
        X = build_features(self.history_, H, self.m, self.freq, self.scale_)
        self.categories_ = {c: list(X[c].cat.categories) for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)}
        self.feature_names_ = list(X.columns)
        sc = self.history_["series_id"].map(self.scale_).to_numpy()
        target = self.history_["y"].to_numpy() / sc
        usable = X[f"lag_{H}"].notna().to_numpy()
        if usable.sum() < 10:
            raise ValueError(f"{self.name}: too little history for horizon {H}: every series needs more than {H} "
                             f"observations (got at most {int(df.groupby('series_id').size().max())})")
        # Weighting rows by the series scale makes the squared error on scaled targets track errors in
        # sales units (what WAPE/WMAE score), instead of letting tiny, noisy series dominate.
        self.weights_ = sc / np.mean(sc) if self._hp("weight_by_scale") else np.ones(len(sc))
        self.spread_, self.zq_ = self._calibrate(X, target, usable)
        self.model_ = self._train(X[usable], target[usable], self.weights_[usable])
        self.fitted_values_ = None  # computed on first use: backtest folds never need them

    def fitted_values(self) -> pd.DataFrame:
        """In-sample fits, predicted on demand (predicting every training row costs about a fifth of a fit)."""
        if getattr(self, "is_fitted_", False) and self.fitted_values_ is None:
            X = self._features(self.history_)
            usable = X[f"lag_{self.horizon}"].notna().to_numpy()
            sc = self.history_["series_id"].map(self.scale_).to_numpy()
            fitted = np.full(len(X), np.nan)
            fitted[usable] = self._raw_predict(self.model_, X[usable]) * sc[usable]
            self.fitted_values_ = self.history_[["series_id", "ds", "y"]].assign(yhat=fitted)
        return super().fitted_values()

    def _calibrate(self, X: pd.DataFrame, target: np.ndarray, usable: np.ndarray):
        """Split-conformal spread per series and standardised residual quantiles."""
        H = self.horizon
        hist = self.history_
        last = hist["series_id"].map(self.last_ds_)
        cal = (hist["ds"] > last - freq_step(self.freq) * H).to_numpy()
        train = usable & ~cal
        test = usable & cal
        if self._hp("conformal") and train.sum() >= 50 and test.sum() >= 10:
            model = self._train(X[train], target[train], self.weights_[train])
            resid = target[test] - self._raw_predict(model, X[test])
            sids = hist["series_id"].to_numpy()[test]
        else:  # no room for a calibration window: in-sample residuals (too narrow; documented)
            model = self._train(X[usable], target[usable], self.weights_[usable])
            resid = target[usable] - self._raw_predict(model, X[usable])
            sids = hist["series_id"].to_numpy()[usable]
        r = pd.DataFrame({"sid": sids, "r2": resid ** 2})
        pooled = float(np.mean(r["r2"])) if len(r) else 1.0
        agg = r.groupby("sid")["r2"].agg(["sum", "count"])
        k = 5.0  # shrink each series' spread toward the pooled spread with k pseudo-observations
        spread = np.sqrt((agg["sum"] + k * pooled) / (agg["count"] + k))
        spread = spread.reindex(self.scale_.index).fillna(np.sqrt(pooled)).clip(lower=1e-9)
        z = resid / spread.reindex(sids).to_numpy()
        zq = {col: float(np.quantile(z, q)) if len(z) else 0.0 for col, q in QUANTILES.items()}
        return spread, zq

    def _predict(self, h: int, X_future: pd.DataFrame | None) -> pd.DataFrame:
        if h > self.horizon:
            raise ValueError(f"{self.name} was fitted for horizon {self.horizon}; refit with horizon={h} "
                             f"(make_model('{self.name}', freq, horizon={h})) to forecast {h} steps")
        fut = X_future.copy()
        fut["y"] = np.nan
        comb = pd.concat([self.history_, fut[[c for c in self.history_.columns if c in fut.columns or c == "y"]]],
                         ignore_index=True).sort_values(["series_id", "ds"], kind="mergesort").reset_index(drop=True)
        is_future = comb["y"].isna().to_numpy() & (comb["ds"] > comb["series_id"].map(self.last_ds_)).to_numpy()
        X = self._features(comb)[is_future]
        rows = comb.loc[is_future, ["series_id", "ds"]].reset_index(drop=True)
        sc = rows["series_id"].map(self.scale_).to_numpy()
        pred = self._raw_predict(self.model_, X)
        out = rows.assign(yhat=pred * sc)
        spread = rows["series_id"].map(self.spread_).to_numpy()
        for col, zq in self.zq_.items():
            out[col] = (pred + zq * spread) * sc
        return out


class LGBMForecaster(GlobalTreeForecaster):
    """Global LightGBM regressor (deterministic, fixed seed, ``num_threads`` threads)."""

    name = "lgbm"
    _defaults = LGBM_DEFAULTS

    def _train(self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray):
        import lightgbm as lgb
        params = {"objective": self._hp("objective"), "learning_rate": self._hp("learning_rate"),
                  "num_leaves": int(self._hp("num_leaves")), "min_child_samples": int(self._hp("min_child_samples")),
                  "feature_fraction": self._hp("feature_fraction"), "bagging_fraction": self._hp("bagging_fraction"),
                  "bagging_freq": int(self._hp("bagging_freq")), "lambda_l2": self._hp("lambda_l2"),
                  "num_threads": int(self._hp("num_threads")), "seed": int(self._hp("seed")),
                  "deterministic": True, "force_row_wise": True, "verbosity": -1,
                  "max_cat_to_onehot": 4, "cat_smooth": 10.0, "max_bin": int(self._hp("max_bin") or 255)}
        data = lgb.Dataset(X, label=y, weight=w, categorical_feature=list(self.categories_), free_raw_data=True)
        return lgb.train(params, data, num_boost_round=int(self._hp("n_estimators")))

    def _raw_predict(self, model, X: pd.DataFrame) -> np.ndarray:
        return model.predict(X, num_threads=int(self._hp("num_threads")))


class RFForecaster(GlobalTreeForecaster):
    """Global scikit-learn RandomForest on the same features (categoricals as integer codes)."""

    name = "rf"
    _defaults = RF_DEFAULTS

    def _codes(self, X: pd.DataFrame) -> np.ndarray:
        X = X.copy()
        for c in self.categories_:
            X[c] = X[c].cat.codes.astype(float)
        return X.to_numpy(dtype=np.float32)

    def _train(self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray):
        from sklearn.ensemble import RandomForestRegressor
        model = RandomForestRegressor(
            n_estimators=int(self._hp("n_estimators")), max_depth=self._hp("max_depth"),
            min_samples_leaf=int(self._hp("min_samples_leaf")), max_samples=self._hp("max_samples"),
            max_features=self._hp("max_features"), n_jobs=int(self._hp("num_threads")),
            random_state=int(self._hp("seed")))
        return model.fit(self._codes(X), y, sample_weight=w)

    def _raw_predict(self, model, X: pd.DataFrame) -> np.ndarray:
        return model.predict(self._codes(X))
