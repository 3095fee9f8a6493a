"""Explanations of the global tree models (``lgbm``, ``xgboost``, ``rf``): gain and permutation importance, and
per-forecast feature contributions.

- **Gain**: each feature's total split gain in the fitted trees (``rf``: impurity decrease), as a share of
  the total. Cheap, but in-sample: it says what the trees used, not what helps out of sample.
- **Permutation**: how much the WAPE of a held-out window grows when one feature's values are shuffled among
  its rows (mean and standard deviation over repeats). The refresh computes it on the last backtest fold,
  whose model never saw that window.
- **Contributions**: one value per feature and forecast row, in sales units, that add up with the base value
  to the model's forecast (``yhat = base + sum(contributions)``, before closed days are zeroed). ``lgbm`` and
  ``xgboost`` give TreeSHAP values from their own ``pred_contrib``/``pred_contribs``; ``rf`` gives the
  decision-path (Saabas) contributions of :func:`forest_path_contributions`, which also add up exactly but
  are not Shapley values. Contributions of the scaled target are multiplied by the series' scale.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

IMPORTANCE_COLS = ["model", "group", "feature", "kind", "value", "sd"]


def is_explainable(model) -> bool:
    """Whether ``model`` is a fitted global tree model these functions explain."""
    return getattr(model, "is_fitted_", False) and hasattr(model, "_raw_contributions")


def gain_importance(model) -> pd.DataFrame:
    """``feature, value`` (share of the total gain, summing to 1), largest first."""
    gain = model._gain_importance(model.model_).clip(lower=0)
    total = float(gain.sum())
    share = gain / total if total > 0 else gain * 0.0
    return (share.rename("value").rename_axis("feature").reset_index()
            .sort_values(["value", "feature"], ascending=[False, True], kind="mergesort").reset_index(drop=True))


def _wape(y: np.ndarray, yhat: np.ndarray) -> float:
    return float(np.abs(y - yhat).sum() / max(np.abs(y).sum(), 1e-12))


def permutation_importance(model, X_future: pd.DataFrame, actuals: pd.DataFrame, n_repeats: int = 2,
                           seed: int = 0, max_rows: int | None = 2000) -> pd.DataFrame:
    """Increase of the window's WAPE when each feature is shuffled among the window's rows.

    Parameters
    ----------
    model : GlobalTreeForecaster
        Fitted on data before the window (e.g. a backtest fold's model).
    X_future : DataFrame
        The window's ``series_id, ds`` and exogenous inputs, as the model was given them to forecast.
    actuals : DataFrame
        ``series_id, ds, y`` observed in the window (rows to score; closed days left out by the caller).
    n_repeats : int, default 2
        Shuffles per feature.
    seed : int, default 0
    max_rows : int or None, default 2000
        Score a random subset of at most this many rows: the cost is one prediction of the window per feature
        and repeat, which on the whole demo window (8,400 rows, 37 features, 3 repeats) cost about as much as
        the fit (4,000 rows, 2 repeats: 0.4 fits); the s.d. over repeats stays a tenth of the top values.

    Returns
    -------
    DataFrame
        ``feature, value, sd``: the mean WAPE increase (fraction of sales; negative = noise) and its standard
        deviation over the repeats, largest first; empty when no actual matches a forecast row.
    """
    rows, X = model.future_features(X_future)
    hit = rows.merge(actuals[["series_id", "ds", "y"]], on=["series_id", "ds"], how="left")["y"].to_numpy(float)
    keep = np.isfinite(hit)
    if not keep.any():
        return pd.DataFrame(columns=["feature", "value", "sd"])
    rng = np.random.default_rng(seed)
    if max_rows and keep.sum() > max_rows:
        keep[rng.choice(np.flatnonzero(keep), size=int(keep.sum()) - int(max_rows), replace=False)] = False
    X = X[keep].reset_index(drop=True)
    y = hit[keep]
    sc = rows.loc[keep, "series_id"].map(model.scale_).to_numpy(float)
    base = _wape(y, model._raw_predict(model.model_, X) * sc)
    out = []
    for feat in X.columns:
        scores = []
        for _ in range(int(n_repeats)):
            Xp = X.copy()
            Xp[feat] = X[feat].iloc[rng.permutation(len(X))].reset_index(drop=True)
            scores.append(_wape(y, model._raw_predict(model.model_, Xp) * sc) - base)
        out.append({"feature": feat, "value": float(np.mean(scores)),
                    "sd": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0})
    return (pd.DataFrame(out).sort_values(["value", "feature"], ascending=[False, True], kind="mergesort")
            .reset_index(drop=True))


def contributions(model, X_future: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-forecast feature contributions in sales units.

    Parameters
    ----------
    model : GlobalTreeForecaster
        A fitted global tree model.
    X_future : DataFrame
        ``series_id, ds`` and exogenous inputs of the dates to explain (after each series' last date).

    Returns
    -------
    contrib : DataFrame
        ``series_id, ds, feature, value, feature_value`` (long; one row per forecast row and feature; the
        feature's own value, a category as text).
    totals : DataFrame
        ``series_id, ds, base, yhat``: the base value (the model's average forecast for the series' scale) and
        the forecast, ``yhat = base + sum(value)`` per row.
    """
    rows, X = model.future_features(X_future)
    raw = np.asarray(model._raw_contributions(model.model_, X), dtype=float)
    sc = rows["series_id"].map(model.scale_).to_numpy(float)[:, None]
    raw = raw * sc
    feats = list(X.columns)
    wide = pd.DataFrame(raw[:, :-1], columns=feats)
    contrib = pd.concat([rows, wide], axis=1).melt(id_vars=["series_id", "ds"], var_name="feature",
                                                   value_name="value")
    # The features' own values, in the same (feature-major) order as the melted contributions.
    contrib["feature_value"] = np.concatenate([X[f].astype(object).to_numpy() for f in feats]) if feats else []
    totals = rows.assign(base=raw[:, -1], yhat=raw.sum(axis=1))
    return contrib, totals


def forest_path_contributions(forest, X: np.ndarray) -> np.ndarray:
    """Decision-path contributions of a fitted scikit-learn forest regressor (Saabas' method).

    Along each tree's path, the change of the node value at a split is credited to the split's feature; the
    root value is the base. Per tree the contributions add up to its prediction, so their mean over the trees
    adds up to the forest's. Cost: one sparse ``decision_path`` product per tree.

    Returns
    -------
    ndarray
        ``(n_rows, n_features + 1)``: the contributions, then the base value.
    """
    from scipy import sparse
    n, n_feat = X.shape
    out = np.zeros((n, n_feat + 1))
    for est in forest.estimators_:
        tree = est.tree_
        value = tree.value[:, 0, 0]
        parent = np.full(tree.node_count, -1)
        for side in (tree.children_left, tree.children_right):
            has = side >= 0
            parent[side[has]] = np.nonzero(has)[0]
        child = np.nonzero(parent >= 0)[0]
        delta = sparse.csr_matrix((value[child] - value[parent[child]], (child, tree.feature[parent[child]])),
                                  shape=(tree.node_count, n_feat))
        path = est.decision_path(X)
        out[:, :n_feat] += np.asarray((path @ delta).todense())
        out[:, n_feat] += value[0]
    return out / len(forest.estimators_)
