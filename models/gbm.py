"""Global tree models (LightGBM, and a RandomForest variant): one model over all series, direct multi-horizon, conformal intervals.

Strategy: **direct**, not recursive. Every y-derived feature uses lags >= ``horizon`` (see
:func:`models.features.lag_set`), so all ``h <= horizon`` future rows are predicted from observed values
only: no recursion, no accumulated error, no leakage. Targets and lags are divided by each series'
mean absolute value, so one model serves big and small series.

Intervals are split-conformal: a calibration model is fitted on everything but the last ``horizon``
steps of each series, its scaled errors on those steps are standardised by a per-series spread (shrunk
to the pooled spread) and their empirical quantiles (2.5/10/90/97.5% for the 80%/95% intervals) give the
bounds of the final model, fitted on all data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from domain import HIERARCHY_COLS, freq_step
from models.base import DEFAULT_HORIZON, BaseForecaster, exog_columns
from models.features import build_features, hierarchy_codes
from models.intervals import nest_intervals, tail

# Rows per prediction call of the in-sample fits: a block's design (about 50 float columns) is some 25 MB.
PREDICT_BLOCK = 65_536


def shared_params(values: dict) -> dict:
    """The :class:`GlobalTreeForecaster` hyperparameters among ``values`` (a subclass's ``locals()`` in its
    ``__init__``), to hand to ``super().__init__`` without listing them again."""
    return {k: values[k] for k in GlobalTreeForecaster._get_param_names()}


class GlobalTreeForecaster(BaseForecaster):
    """Shared machinery of the global tree models; subclasses add their own hyperparameters and write ``_train``,
    ``_raw_predict`` and, for :mod:`models.explain`, ``_raw_contributions`` and ``_gain_importance``.

    The shared hyperparameters are documented on :class:`LGBMForecaster`.
    """

    uses_exog = True
    is_global = True
    fitted_on_demand = True
    horizon_aware = True

    def __init__(self, freq: str = "D", season_length: int | None = None, horizon: int | None = None,
                 num_threads: int = 2, seed: int = 0, conformal: bool = True, weight_by_scale: bool = True,
                 spread_shrinkage: float = 5.0, min_calibration_train: int = 50, min_calibration_test: int = 10,
                 hierarchy_cols: tuple = HIERARCHY_COLS):
        super().__init__(freq=freq, season_length=season_length)
        self.horizon = horizon
        self.num_threads = num_threads
        self.seed = seed
        self.conformal = conformal
        self.weight_by_scale = weight_by_scale
        self.spread_shrinkage = spread_shrinkage
        self.min_calibration_train = min_calibration_train
        self.min_calibration_test = min_calibration_test
        self.hierarchy_cols = hierarchy_cols

    @property
    def horizon_steps(self) -> int:
        """The largest horizon the model is fitted for (``horizon``, default six weeks)."""
        return int(self.horizon) if self.horizon else DEFAULT_HORIZON.get(self.freq, 6)

    def _features(self, df: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """The model's feature frame of ``df`` (``rows``: only those rows, see :func:`build_features`)."""
        X = build_features(df, self.horizon_steps, self.m, self.freq, self.scale_, self.hierarchy_, rows=rows)
        for c, cats in self.categories_.items():
            X[c] = pd.Categorical(X[c].astype(str), categories=cats)
        return X[self.feature_names_]

    def _design(self, X: pd.DataFrame, rows: np.ndarray | None = None):
        """What ``_train`` and ``_raw_predict`` take for the rows ``rows`` (a boolean mask or positions; None:
        all) of the feature frame ``X``: here the rows as a frame; a subclass may build a leaner matrix."""
        if rows is None:
            return X
        return X.iloc[np.flatnonzero(rows) if rows.dtype == bool else rows]

    def _fit(self, df: pd.DataFrame) -> None:
        H = self.horizon_steps
        cols = ["series_id", "ds", "y", *exog_columns(df)]
        self.history_ = df[cols].reset_index(drop=True)
        scale = df.groupby("series_id")["y"].apply(lambda s: float(np.mean(np.abs(s))))
        self.scale_ = scale.where(scale > 0, 1.0)
        self.hierarchy_ = hierarchy_codes(df, self.hierarchy_cols)
        X = build_features(self.history_, H, self.m, self.freq, self.scale_, self.hierarchy_)
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
        self.weights_ = sc / np.mean(sc) if self.weight_by_scale else np.ones(len(sc))
        # Only the usable rows are ever trained on or scored: their design is made once and the whole feature
        # frame freed before the fits, so a worker holds one copy of the features, not three. The final model
        # is fitted first: the calibration fit (an independent model) may then reuse the design's memory.
        design = self._design(X, usable)
        del X
        y, w = target[usable], self.weights_[usable]
        self.model_ = self._train(design, y, w)
        self.spread_, self.calibration_z_ = self._calibrate(design, y, w, usable)
        self.fitted_values_ = None  # computed on first use: backtest folds never need them

    def fitted_values(self) -> pd.DataFrame:
        """In-sample fits, predicted on demand (predicting every training row costs about a fifth of a fit)."""
        if getattr(self, "is_fitted_", False) and self.fitted_values_ is None:
            X = self._features(self.history_)
            usable = X[f"lag_{self.horizon_steps}"].notna().to_numpy()
            sc = self.history_["series_id"].map(self.scale_).to_numpy()
            fitted = np.full(len(X), np.nan)
            fitted[usable] = self._predict_rows(self.model_, X, np.flatnonzero(usable)) * sc[usable]
            self.fitted_values_ = self.history_[["series_id", "ds", "y"]].assign(yhat=fitted)
        return super().fitted_values()

    def _predict_rows(self, model, X: pd.DataFrame, rows: np.ndarray, block: int = PREDICT_BLOCK) -> np.ndarray:
        """``_raw_predict`` of the rows at positions ``rows`` of ``X``, ``block`` rows at a time: a tree model
        predicts each row on its own, so the result is the same, and only one block's design exists at once."""
        parts = [self._raw_predict(model, self._design(X, rows[i:i + block])) for i in range(0, len(rows), block)]
        return np.concatenate(parts) if parts else np.empty(0)

    def _keep_rows(self, design, keep: np.ndarray):
        """The rows ``keep`` (a mask) of ``design``, which is not used afterwards (a subclass may reuse it)."""
        return design[keep]

    def _calibrate(self, design, target: np.ndarray, weights: np.ndarray, usable: np.ndarray):
        """Split-conformal spread per series and the standardised calibration residuals (``design``, ``target``
        and ``weights``: the usable rows of the history, ``usable`` their mask). ``design`` is consumed: it
        may hold other rows afterwards."""
        H = self.horizon_steps
        hist = self.history_
        last = hist["series_id"].map(self.last_ds_)
        cal = (hist["ds"] > last - freq_step(self.freq) * H).to_numpy()[usable]
        sids = hist["series_id"].to_numpy()[usable]
        if self.conformal and (~cal).sum() >= self.min_calibration_train and cal.sum() >= self.min_calibration_test:
            test = design[cal]
            model = self._train(self._keep_rows(design, ~cal), target[~cal], weights[~cal])
            resid = target[cal] - self._raw_predict(model, test)
            sids = sids[cal]
        else:  # no room for a calibration window: in-sample residuals (too narrow; documented)
            model = self._train(design, target, weights)
            resid = target - self._raw_predict(model, design)
        r = pd.DataFrame({"sid": sids, "r2": resid ** 2})
        pooled = float(np.mean(r["r2"])) if len(r) else 1.0
        agg = r.groupby("sid")["r2"].agg(["sum", "count"])
        k = float(self.spread_shrinkage)  # each series' spread is shrunk toward the pooled one with k pseudo-observations
        spread = np.sqrt((agg["sum"] + k * pooled) / (agg["count"] + k))
        spread = spread.reindex(self.scale_.index).fillna(np.sqrt(pooled)).clip(lower=1e-9)
        return spread, resid / spread.reindex(sids).to_numpy()

    def future_features(self, X_future: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The ``series_id, ds`` rows of ``X_future`` after each series' last training date and their feature
        matrix (lags from the stored history): what the model predicts from, and what explanations read."""
        fut = X_future.copy()
        fut["y"] = np.nan
        # Features are per series (categories fixed at fit), so only the asked series' history is needed.
        hist = self.history_
        if fut["series_id"].nunique() < len(self.scale_):
            hist = hist[hist["series_id"].isin(set(fut["series_id"]))]
        comb = pd.concat([hist, fut[[c for c in self.history_.columns if c in fut.columns or c == "y"]]],
                         ignore_index=True).sort_values(["series_id", "ds"], kind="mergesort").reset_index(drop=True)
        is_future = comb["y"].isna().to_numpy() & (comb["ds"] > comb["series_id"].map(self.last_ds_)).to_numpy()
        X = self._features(comb, rows=is_future).reset_index(drop=True)  # only the rows it predicts
        return comb.loc[is_future, ["series_id", "ds"]].reset_index(drop=True), X

    def _predict(self, h: int, X_future: pd.DataFrame | None, levels: tuple[int, ...]) -> pd.DataFrame:
        if h > self.horizon_steps:
            raise ValueError(f"{self.name} was fitted for horizon {self.horizon_steps}; refit with horizon={h} "
                             f"(make_model('{self.name}', freq, horizon={h})) to forecast {h} steps")
        rows, X = self.future_features(X_future)
        sc = rows["series_id"].map(self.scale_).to_numpy()
        pred = self._raw_predict(self.model_, X)
        out = rows.assign(yhat=pred * sc)
        spread = rows["series_id"].map(self.spread_).to_numpy()
        z = self.calibration_z_
        for lv in levels:
            for side, q in (("lo", tail(lv)), ("hi", 1 - tail(lv))):
                zq = float(np.quantile(z, q)) if len(z) else 0.0
                out[f"yhat_{side}_{lv}"] = (pred + zq * spread) * sc
        # The conformal bounds are quantiles of the calibration model's errors: when those errors are biased
        # (e.g. the calibration window was a growth spurt), yhat can fall outside a narrow interval. Widen the
        # intervals to contain yhat and each narrower interval.
        nest_intervals(out, levels)
        return out


class LGBMForecaster(GlobalTreeForecaster):
    """Global LightGBM regressor over all series (deterministic: fixed seed, ``num_threads`` threads).

    Parameters
    ----------
    freq : {'D', 'W'}, default 'D'
    season_length : int, optional
        Season length ``m`` (default 7 daily, 52 weekly).
    horizon : int, optional
        Largest step ahead the model will forecast; every lag feature is at least this far back (default
        42 daily, 6 weekly). ``make_model`` sets it to the refresh's horizon.
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM boosting settings
        Defaults 150, 0.1, 31, 20: LightGBM's usual leaf size with a short, fast boosting run; ``--tune``
        searches them.
    feature_fraction, bagging_fraction, bagging_freq : float, float, int
        Defaults 0.8, 0.8, 1: row and feature subsampling per tree, a little randomness against overfitting.
    lambda_l2 : float, default 1.0
        L2 penalty of the leaf values (mild).
    objective : str, default 'l2'
        The loss on the scaled targets.
    max_bin : int, default 63
        Histogram bins per feature: a quarter of LightGBM's 255, nearly as accurate and faster to build.
    max_cat_to_onehot : int, default 4
        Categoricals with at most this many values are one-hot split (LightGBM's default).
    cat_smooth : float, default 10.0
        Smoothing of the categorical split statistics (LightGBM's default).
    num_threads : int, default 2
        Threads of training and prediction.
    seed : int, default 0
    conformal : bool, default True
        Split-conformal intervals from a calibration fit; False: from in-sample residuals (too narrow).
    weight_by_scale : bool, default True
        Weight rows by their series' scale, so the squared error on scaled targets tracks errors in sales
        units (what WAPE/WMAE score) instead of letting tiny, noisy series dominate.
    spread_shrinkage : float, default 5.0
        Pseudo-observations shrinking each series' calibration spread toward the pooled spread: a series
        has only ``horizon`` calibration errors, too few for its own spread.
    min_calibration_train, min_calibration_test : int, default 50, 10
        Fewest usable training and calibration rows for a conformal calibration; below, in-sample residuals.
    hierarchy_cols : tuple of str, default ``domain.HIERARCHY_COLS``
        Columns of the training frame naming each series' members (``category, product_id, region,
        store_id``): each becomes a categorical feature, in this order, ``""`` where a series has no such
        member (missing value); a column absent from the frame, or missing for every series, is left out.
        The model never reads the series keys: without these columns it knows a series only by its id.
    """

    name = "lgbm"

    def __init__(self, freq: str = "D", season_length: int | None = None, horizon: int | None = None,
                 n_estimators: int = 150, learning_rate: float = 0.1, num_leaves: int = 31, min_child_samples: int = 20,
                 feature_fraction: float = 0.8, bagging_fraction: float = 0.8, bagging_freq: int = 1,
                 lambda_l2: float = 1.0, objective: str = "l2", max_bin: int = 63, max_cat_to_onehot: int = 4,
                 cat_smooth: float = 10.0, num_threads: int = 2, seed: int = 0, conformal: bool = True,
                 weight_by_scale: bool = True, spread_shrinkage: float = 5.0, min_calibration_train: int = 50,
                 min_calibration_test: int = 10, hierarchy_cols: tuple = HIERARCHY_COLS):
        super().__init__(**shared_params(locals()))
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.bagging_freq = bagging_freq
        self.lambda_l2 = lambda_l2
        self.objective = objective
        self.max_bin = max_bin
        self.max_cat_to_onehot = max_cat_to_onehot
        self.cat_smooth = cat_smooth

    def _design(self, X: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
        """The rows ``rows`` (mask or positions; None: all) of ``X`` as the float64 matrix LightGBM reads from a
        frame (categoricals as their codes, missing as NaN), filled column by column: LightGBM would otherwise
        convert a frame of the rows (itself a copy) into one more matrix, holding three copies at once."""
        idx = None if rows is None else (np.flatnonzero(rows) if rows.dtype == bool else rows)
        # Row-major, so that a leading block of rows is itself a matrix LightGBM reads in place (_keep_rows).
        out = np.empty((len(X) if idx is None else len(idx), len(self.feature_names_)), dtype=np.float64)
        for j, c in enumerate(self.feature_names_):
            col = X[c]
            if isinstance(col.dtype, pd.CategoricalDtype):
                if list(col.cat.categories) != self.categories_[c]:
                    col = col.cat.set_categories(self.categories_[c])
                values = col.cat.codes.to_numpy().astype(np.float64)
                values[values < 0] = np.nan
            else:
                values = col.to_numpy(dtype=np.float64)
            out[:, j] = values if idx is None else values[idx]
        return out

    def _keep_rows(self, design: np.ndarray, keep: np.ndarray, block: int = PREDICT_BLOCK) -> np.ndarray:
        """The rows ``keep`` of ``design`` moved to its front, block by block, and returned as a view: no second
        matrix. Safe in place: the k-th kept row comes from row ``>= k``, so no row is overwritten before it
        is moved."""
        idx = np.flatnonzero(keep)
        for i in range(0, len(idx), block):
            design[i:i + len(idx[i:i + block])] = design[idx[i:i + block]]
        return design[:len(idx)]

    def _train(self, X: np.ndarray, y: np.ndarray, w: np.ndarray):
        import lightgbm as lgb
        params = {"objective": self.objective, "learning_rate": self.learning_rate,
                  "num_leaves": int(self.num_leaves), "min_child_samples": int(self.min_child_samples),
                  "feature_fraction": self.feature_fraction, "bagging_fraction": self.bagging_fraction,
                  "bagging_freq": int(self.bagging_freq), "lambda_l2": self.lambda_l2,
                  "num_threads": int(self.num_threads), "seed": int(self.seed),
                  "deterministic": True, "force_row_wise": True, "verbosity": -1,
                  "max_cat_to_onehot": self.max_cat_to_onehot, "cat_smooth": self.cat_smooth,
                  "max_bin": int(self.max_bin or 255)}
        names = self.feature_names_
        data = lgb.Dataset(self._as_design(X), label=y, weight=w, feature_name=names,
                           categorical_feature=[names.index(c) for c in self.categories_], free_raw_data=True)
        booster = lgb.train(params, data, num_boost_round=int(self.n_estimators))
        # As trained from a frame: the categories of each categorical column, so the booster maps a frame's
        # categories to the same codes (and its saved text is unchanged).
        booster.pandas_categorical = [list(self.categories_[c]) for c in names if c in self.categories_]
        return booster

    def _as_design(self, X) -> np.ndarray:
        """``X`` as the design matrix: a feature frame (e.g. from :mod:`models.explain`) is converted."""
        return self._design(X) if isinstance(X, pd.DataFrame) else X

    def _raw_predict(self, model, X) -> np.ndarray:
        return model.predict(self._as_design(X), num_threads=int(self.num_threads))

    def _raw_contributions(self, model, X) -> np.ndarray:
        """TreeSHAP values (LightGBM's ``pred_contrib``): one column per feature, the base value last."""
        return model.predict(self._as_design(X), num_threads=int(self.num_threads), pred_contrib=True)

    def _gain_importance(self, model) -> pd.Series:
        """Total split gain per feature."""
        return pd.Series(model.feature_importance("gain"), index=self.feature_names_, dtype=float)


class RFForecaster(GlobalTreeForecaster):
    """Global scikit-learn RandomForest on the same features as :class:`LGBMForecaster` (categoricals as codes).

    Parameters
    ----------
    freq, season_length, horizon, num_threads, seed, conformal, weight_by_scale, spread_shrinkage,
    min_calibration_train, min_calibration_test, hierarchy_cols
        As for :class:`LGBMForecaster`.
    n_estimators : int, default 100
        Trees: beyond about a hundred the forecast barely changes while the cost grows linearly.
    max_depth : int, default 14
        Depth limit, which bounds the model's size and fit time on hundreds of thousands of rows.
    min_samples_leaf : int, default 5
        Smallest leaf: averages a few rows, against fitting single noisy weeks.
    max_samples, max_features : float, default 0.5, 0.5
        Share of rows and of features each tree sees: decorrelates the trees and halves their cost.
    """

    name = "rf"

    def __init__(self, freq: str = "D", season_length: int | None = None, horizon: int | None = None,
                 n_estimators: int = 100, max_depth: int | None = 14, min_samples_leaf: int = 5,
                 max_samples: float = 0.5, max_features: float = 0.5, num_threads: int = 2, seed: int = 0,
                 conformal: bool = True, weight_by_scale: bool = True, spread_shrinkage: float = 5.0,
                 min_calibration_train: int = 50, min_calibration_test: int = 10,
                 hierarchy_cols: tuple = HIERARCHY_COLS):
        super().__init__(**shared_params(locals()))
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_samples = max_samples
        self.max_features = max_features

    def _codes(self, X: pd.DataFrame) -> np.ndarray:
        X = X.copy()
        for c in self.categories_:
            X[c] = X[c].cat.codes.astype(float)
        return X.to_numpy(dtype=np.float32)

    def _train(self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray):
        from sklearn.ensemble import RandomForestRegressor
        model = RandomForestRegressor(
            n_estimators=int(self.n_estimators), max_depth=self.max_depth,
            min_samples_leaf=int(self.min_samples_leaf), max_samples=self.max_samples,
            max_features=self.max_features, n_jobs=int(self.num_threads), random_state=int(self.seed))
        return model.fit(self._codes(X), y, sample_weight=w)

    def _raw_predict(self, model, X: pd.DataFrame) -> np.ndarray:
        return model.predict(self._codes(X))

    def _raw_contributions(self, model, X: pd.DataFrame) -> np.ndarray:
        """Decision-path contributions (Saabas; scikit-learn has no TreeSHAP), the base value last."""
        from models.explain import forest_path_contributions
        return forest_path_contributions(model, self._codes(X))

    def _gain_importance(self, model) -> pd.Series:
        """Impurity (squared-error) decrease per feature, scikit-learn's ``feature_importances_``."""
        return pd.Series(model.feature_importances_, index=self.feature_names_, dtype=float)
