"""Supervised churn classifier on time-split features, validated on a later period.

Features are computed from transactions up to a cutoff only; the label is whether the customer buys nothing in
the ``window`` after it (churn = 1). Validation never peeks: the model is trained with features at
``end - 2 * window`` and labels from ``(end - 2w, end - w]``, then scored with features at ``end - w`` against
labels from ``(end - w, end]`` (AUC with a bootstrap interval, Brier score, reliability table). The current
scores use a model refitted one window later (features at ``end - w``, labels up to ``end``) applied to the
features at ``end``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ("recency_days", "frequency", "monetary", "revenue", "tenure_days", "trend", "gap_days")
TREND_DAYS = 90


def features(tx: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per customer with a purchase on or before ``cutoff``: the :data:`FEATURES` (from data up to ``cutoff``).

    ``trend`` is purchases in the last 90 days minus purchases in the 90 days before; ``gap_days`` the mean time
    between purchases (tenure when there is one purchase).
    """
    cutoff = pd.Timestamp(cutoff)
    past = tx[tx["date"] <= cutoff]
    g = past.groupby("customer", sort=True)
    out = g.agg(first=("date", "min"), last=("date", "max"), frequency=("date", "size"), revenue=("revenue", "sum"))
    age = (cutoff - past["date"]).dt.days
    recent = (age < TREND_DAYS).groupby(past["customer"]).sum()
    before = ((age >= TREND_DAYS) & (age < 2 * TREND_DAYS)).groupby(past["customer"]).sum()
    out["recency_days"] = (cutoff - out["last"]).dt.days.astype(float)
    out["tenure_days"] = (cutoff - out["first"]).dt.days.astype(float)
    out["monetary"] = out["revenue"] / out["frequency"]
    out["trend"] = (recent - before).reindex(out.index).astype(float)
    out["gap_days"] = np.where(out["frequency"] > 1, (out["last"] - out["first"]).dt.days
                               / (out["frequency"] - 1).clip(lower=1), out["tenure_days"])
    out["frequency"] = out["frequency"].astype(float)
    return out[list(FEATURES)].reset_index()


def labels(tx: pd.DataFrame, customers, cutoff: pd.Timestamp, window_days: int) -> np.ndarray:
    """1 when the customer makes no purchase in ``(cutoff, cutoff + window_days]`` (churned), else 0."""
    cutoff = pd.Timestamp(cutoff)
    later = tx[(tx["date"] > cutoff) & (tx["date"] <= cutoff + pd.Timedelta(days=window_days))]
    return (~pd.Index(customers).isin(later["customer"].unique())).astype(int)


def _matrix(feat: pd.DataFrame) -> np.ndarray:
    x = feat[list(FEATURES)].to_numpy(float)
    return np.sign(x) * np.log1p(np.abs(x))  # heavy-tailed counts and money: compress, keep the sign of trend


def _model():
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def reliability(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Reliability table over probability deciles: ``bin, customers, mean_predicted, observed, lo95, hi95``.

    The observed churn rate carries a Wilson 95% interval.
    """
    df = pd.DataFrame({"y": y, "p": prob})
    df["bin"] = pd.qcut(df["p"].rank(method="first"), min(bins, len(df)), labels=False)
    g = df.groupby("bin")
    out = g.agg(customers=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean")).reset_index()
    n, ph, z = out["customers"], out["observed"], 1.959963984540054
    centre = (ph + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    out["lo95"], out["hi95"] = centre - half, centre + half
    return out


def auc_ci(y: np.ndarray, prob: np.ndarray, n_boot: int = 500, seed: int = 0) -> tuple[float, float, float]:
    """ROC AUC and its percentile-bootstrap 95% interval (resampling customers).

    Every resample's AUC is the Mann-Whitney statistic with the resample's counts as weights, computed for all
    resamples at once over the sorted scores (ties count one half).
    """
    y, prob = np.asarray(y, dtype=int), np.asarray(prob, dtype=float)
    auc = float(roc_auc_score(y, prob))
    n = len(y)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, (n_boot, n))
    w = np.bincount((idx + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n).reshape(n_boot, n)
    order = np.argsort(prob, kind="stable")
    _, starts = np.unique(prob[order], return_index=True)
    w, ys = w[:, order], y[order]
    pos = np.add.reduceat(w * (ys == 1), starts, axis=1)
    neg = np.add.reduceat(w * (ys == 0), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    den = pos.sum(axis=1) * neg.sum(axis=1)
    stats = (pos * (below + 0.5 * neg)).sum(axis=1)[den > 0] / den[den > 0]
    return auc, float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))


def validate_and_score(tx: pd.DataFrame, end: pd.Timestamp, window_days: int = 182, seed: int = 0) -> dict:
    """Train on an earlier window, validate on the later one, then score every customer as of ``end``.

    Returns
    -------
    dict
        ``validation`` (AUC and interval, Brier score, churn base rate, customers per split, the cutoffs),
        ``reliability`` (table) and ``scores`` (``customer, churn_probability`` as of ``end`` for the next
        ``window_days``).
    """
    end = pd.Timestamp(end)
    w = pd.Timedelta(days=window_days)
    c_train, c_valid = end - 2 * w, end - w
    f_train, f_valid = features(tx, c_train), features(tx, c_valid)
    y_train = labels(tx, f_train["customer"], c_train, window_days)
    y_valid = labels(tx, f_valid["customer"], c_valid, window_days)
    if len(f_train) < 20 or len(set(y_train)) < 2 or len(set(y_valid)) < 2:
        raise ValueError(f"churn classifier: too little history for two {window_days}-day windows before {end.date()}")
    model = _model().fit(_matrix(f_train), y_train)
    p_valid = model.predict_proba(_matrix(f_valid))[:, 1]
    auc, lo, hi = auc_ci(y_valid, p_valid, seed=seed)
    validation = {"auc": auc, "auc_lo95": lo, "auc_hi95": hi, "brier": float(brier_score_loss(y_valid, p_valid)),
                  "brier_base_rate": float(np.mean((y_valid - y_valid.mean()) ** 2)),
                  "churn_rate_valid": float(y_valid.mean()), "customers_train": int(len(y_train)),
                  "customers_valid": int(len(y_valid)), "train_cutoff": str(c_train.date()),
                  "valid_cutoff": str(c_valid.date()), "window_days": int(window_days), "model": "logistic"}
    current = _model().fit(_matrix(f_valid), y_valid)
    f_now = features(tx, end)
    scores = pd.DataFrame({"customer": f_now["customer"],
                           "churn_probability": current.predict_proba(_matrix(f_now))[:, 1]})
    return {"validation": validation, "reliability": reliability(y_valid, p_valid), "scores": scores}
