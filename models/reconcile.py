"""Hierarchical reconciliation: the summing matrix of the sales hierarchy and bottom-up, OLS and MinT-shrink.

Every method returns coherent forecasts: on every date each aggregate equals the sum of the bottom
(store x product) series below it. Means are reconciled as ``y~ = S P y^``:

* ``bottom_up``: ``y~ = S y^_bottom`` (aggregates' own base forecasts are ignored for the mean);
* ``ols``: ``P = (S'S)^-1 S'`` (Hyndman et al. 2011);
* ``mint_shrink``: ``P = (S'W^-1 S)^-1 S'W^-1`` with ``W`` the in-sample one-step residual covariance shrunk
  towards its diagonal (Schafer-Strimmer intensity, as in Wickramasuriya, Athanasopoulos & Hyndman 2019).

Both OLS and MinT are computed with the equivalent constraint form ``y~_b = y^_b - (W U)_b (U'W U)^-1 U'y^``
with ``U' = [I, -C]`` (one row per aggregate), so only ``n x n_agg`` matrices are formed and the full
``n x n`` covariance never is (a hierarchy of thousands of nodes typically has only hundreds of aggregates).

Intervals. Sums of bottom quantiles are not quantiles of the sum, so intervals are not summed. Each node keeps
its own base model's interval offsets (``lo - yhat``, ``hi - yhat``) moved to the reconciled mean. A node
without a base forecast (a level that was not modelled) gets offsets of ``sqrt(sum of squared bottom
offsets)``, which assumes independent bottom errors and is therefore narrow when they are positively correlated.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from domain import AGG_LEVELS, BOTTOM_LEVEL, FORECAST_COLS, interval_columns

METHODS = ("bottom_up", "ols", "mint_shrink")
BOUNDS = tuple(interval_columns())


@dataclass(frozen=True)
class Hierarchy:
    """The summing matrix ``S`` (nodes x bottom series, sparse 0/1) and the node order it uses.

    ``nodes`` lists the aggregates first (``n_agg`` of them) and then the bottom series, so
    ``S = [C; I]``; ``levels`` gives each node's level.
    """

    S: sparse.csr_matrix
    nodes: tuple[str, ...]
    levels: tuple[str, ...]
    bottom: tuple[str, ...]

    @property
    def n_agg(self) -> int:
        """The number of aggregate nodes (they come first in ``nodes``)."""
        return len(self.nodes) - len(self.bottom)

    @property
    def C(self) -> sparse.csr_matrix:
        """The aggregation rows of ``S`` (aggregates x bottom)."""
        return self.S[: self.n_agg]

    def members(self, node: str) -> list[str]:
        """The bottom series that add up to ``node``."""
        row = self.S[self.nodes.index(node)]
        return [self.bottom[j] for j in row.indices]


def build_hierarchy(bottom: pd.DataFrame, levels=AGG_LEVELS, *,
                    node_keys: Callable[[str, pd.DataFrame], pd.Series]) -> Hierarchy:
    """Build the summing matrix from the bottom nodes and their attributes.

    Parameters
    ----------
    bottom : DataFrame
        One row per bottom series with ``store_id, product_id, region, category`` and its key in
        ``node_id`` or ``series_id`` (e.g. ``store.nodes("store_product")``).
    levels : iterable of str
        Aggregate levels to include, from ``total, region, store, category, product, store_category``.
    node_keys : callable
        ``node_keys(level, bottom)``: the key of each bottom row's node of ``level`` (``data.keys.node_keys``,
        passed in so the key scheme has one home and models never build or parse keys).

    Returns
    -------
    Hierarchy
    """
    key_col = "node_id" if "node_id" in bottom.columns else "series_id"
    need = [key_col, "store_id", "product_id", "region", "category"]
    missing = [c for c in need if c not in bottom.columns]
    if missing:
        raise ValueError(f"build_hierarchy needs bottom columns {need}; missing {missing}")
    unknown = [lv for lv in levels if lv not in AGG_LEVELS]
    if unknown:
        raise ValueError(f"unknown aggregate level(s) {unknown}; choose from {list(AGG_LEVELS)}")
    b = bottom.drop_duplicates(key_col).sort_values(key_col).reset_index(drop=True)
    if b.empty:
        raise ValueError("build_hierarchy: no bottom series")
    bottom_ids = tuple(b[key_col].astype(str))
    nodes, node_levels, rows, cols = [], [], [], []
    for level in (lv for lv in AGG_LEVELS if lv in levels):
        keys = list(node_keys(level, b))
        order = sorted(set(keys))
        index = {k: len(nodes) + i for i, k in enumerate(order)}
        nodes.extend(order)
        node_levels.extend([level] * len(order))
        rows.extend(index[k] for k in keys)
        cols.extend(range(len(b)))
    n_agg = len(nodes)
    rows.extend(n_agg + np.arange(len(b)))
    cols.extend(range(len(b)))
    nodes.extend(bottom_ids)
    node_levels.extend([BOTTOM_LEVEL] * len(b))
    S = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(b)))
    return Hierarchy(S=S, nodes=tuple(nodes), levels=tuple(node_levels), bottom=bottom_ids)


def _wide(frame: pd.DataFrame, col: str, nodes, dates) -> np.ndarray:
    """(len(nodes) x len(dates)) matrix of ``col``; NaN where a node has no row."""
    w = frame.pivot_table(index="series_id", columns="ds", values=col, aggfunc="first", dropna=False)
    return w.reindex(index=list(nodes), columns=dates).to_numpy(dtype=float)


def shrinkage_covariance_factors(residuals: np.ndarray) -> tuple[float, np.ndarray]:
    """Schafer-Strimmer shrinkage intensity of a residual covariance towards its diagonal.

    Parameters
    ----------
    residuals : ndarray, shape (T, n)
        In-sample one-step residuals, one column per node (missing values as 0).

    Returns
    -------
    lam : float
        Shrinkage intensity in [0, 1]: ``W = lam * diag(Sigma) + (1 - lam) * Sigma`` with ``Sigma = R'R / T``.
    var : ndarray, shape (n,)
        The diagonal of ``Sigma``.

    Notes
    -----
    Follows ``shrink.estim`` of the R ``hts`` package; the off-diagonal sums are accumulated in column
    blocks so memory stays ``O(n * block)`` rather than ``O(n^2)``.
    """
    R = np.asarray(residuals, dtype=float)
    T, n = R.shape
    if T < 2:
        raise ValueError("mint_shrink needs at least 2 in-sample residual dates per node")
    var = (R ** 2).sum(axis=0) / T
    sd = np.sqrt(np.where(var > 0, var, 1.0))
    xs = R / sd
    xs2 = xs ** 2
    num = den = 0.0
    block = 512
    for start in range(0, n, block):
        stop = min(start + block, n)
        c1 = xs.T @ xs[:, start:stop]
        c2 = xs2.T @ xs2[:, start:stop]
        v = (c2 - c1 ** 2 / T) / (T * (T - 1))
        corr = c1 / T  # xs has unit mean square, so this is the correlation (uncentred, as in hts)
        idx = np.arange(start, stop)
        v[idx, idx - start] = 0.0
        corr[idx, idx - start] = 0.0
        num += v.sum()
        den += (corr ** 2).sum()
    lam = 1.0 if den <= 0 else float(min(max(num / den, 0.0), 1.0))
    return lam, var


def _reconcile_means(yhat: np.ndarray, hier: Hierarchy, method: str, residuals: np.ndarray | None) -> np.ndarray:
    """Reconciled means for all nodes from base means ``yhat`` (n x H)."""
    n_agg = hier.n_agg
    yb = yhat[n_agg:]
    if method == "bottom_up" or n_agg == 0:
        return np.asarray(hier.S @ yb)
    C = hier.C.toarray()
    U = np.vstack([np.eye(n_agg), -C.T])  # n x n_agg, U'y = y_agg - C y_bottom
    if method == "ols":
        WU = U
    elif method == "mint_shrink":
        if residuals is None:
            raise ValueError("mint_shrink needs in-sample residuals of every node")
        R = np.nan_to_num(residuals, nan=0.0)
        lam, var = shrinkage_covariance_factors(R)
        var = np.where(var > 0, var, max(var.max(), 1e-12) * 1e-6)  # a constant series must not zero W
        WU = lam * var[:, None] * U + (1 - lam) * (R.T @ (R @ U)) / R.shape[0]
    else:
        raise ValueError(f"unknown reconciliation method {method!r}; choose from {list(METHODS)}")
    incoherence = U.T @ yhat  # n_agg x H
    adj = WU[n_agg:] @ np.linalg.solve(U.T @ WU, incoherence)
    return np.asarray(hier.S @ (yb - adj))


def reconcile(base: pd.DataFrame, hier: Hierarchy, method: str = "bottom_up",
              residuals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Make base forecasts coherent over the hierarchy.

    Parameters
    ----------
    base : DataFrame
        Base forecasts ``series_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95``. ``bottom_up``
        needs every bottom series; ``ols`` and ``mint_shrink`` need every node of ``hier``.
    hier : Hierarchy
        From :func:`build_hierarchy`.
    method : {'bottom_up', 'ols', 'mint_shrink'}
        Reconciliation method (see the module docstring).
    residuals : DataFrame, optional
        ``series_id, ds, resid`` in-sample one-step residuals of each node's base model (``mint_shrink``).
        Dates are aligned across nodes; a node without a residual on a date counts as 0 there.

    Returns
    -------
    DataFrame
        ``series_id, ds, yhat`` and 80/95% bounds for every node of ``hier``, coherent on every date, with
        ``lo_95 <= lo_80 <= yhat <= hi_80 <= hi_95``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown reconciliation method {method!r}; choose from {list(METHODS)}")
    missing = [c for c in FORECAST_COLS if c not in base.columns]
    if missing:
        raise ValueError(f"reconcile: base forecasts lack column(s) {missing}")
    frame = base[FORECAST_COLS].copy()
    frame["series_id"] = frame["series_id"].astype(str)
    frame["ds"] = pd.to_datetime(frame["ds"])
    dates = pd.DatetimeIndex(sorted(frame["ds"].unique()))
    yhat = _wide(frame, "yhat", hier.nodes, dates)
    need = slice(hier.n_agg, None) if method == "bottom_up" else slice(None)
    gaps = np.isnan(yhat[need]).any(axis=1)
    if gaps.any():
        names = np.asarray(hier.nodes[need])[gaps]
        raise ValueError(f"reconcile ({method}): {len(names)} node(s) lack a base forecast on some of the "
                         f"{len(dates)} dates, e.g. {names[0]!r}; every node needs the same forecast dates")
    R = None
    if method == "mint_shrink":
        if residuals is None or residuals.empty:
            raise ValueError("mint_shrink needs in-sample residuals (series_id, ds, resid) of every node")
        res = residuals.assign(series_id=residuals["series_id"].astype(str), ds=pd.to_datetime(residuals["ds"]))
        rdates = pd.DatetimeIndex(sorted(res["ds"].unique()))
        R = _wide(res, "resid", hier.nodes, rdates).T  # T x n
    mean = _reconcile_means(np.nan_to_num(yhat), hier, method, R)
    out = {"yhat": mean}
    for col in BOUNDS:
        off = _wide(frame, col, hier.nodes, dates) - yhat  # the node's own interval around its own mean
        fallback = np.sqrt(np.asarray(hier.S @ (np.nan_to_num(off[hier.n_agg:]) ** 2)))
        fallback *= -1.0 if "_lo_" in col else 1.0
        out[col] = mean + np.where(np.isnan(off), fallback, off)
    out["yhat_lo_80"] = np.minimum(out["yhat_lo_80"], mean)
    out["yhat_hi_80"] = np.maximum(out["yhat_hi_80"], mean)
    out["yhat_lo_95"] = np.minimum(out["yhat_lo_95"], out["yhat_lo_80"])
    out["yhat_hi_95"] = np.maximum(out["yhat_hi_95"], out["yhat_hi_80"])
    n, H = mean.shape
    result = pd.DataFrame({"series_id": np.repeat(np.asarray(hier.nodes, dtype=object), H),
                           "ds": np.tile(dates.to_numpy(), n)})
    for col in ("yhat", *BOUNDS):
        result[col] = out[col].ravel()
    return result


def coherence_error(fc: pd.DataFrame, hier: Hierarchy, col: str = "yhat") -> float:
    """The largest absolute gap, over aggregates and dates, between an aggregate and the sum of its bottom series."""
    frame = fc.assign(series_id=fc["series_id"].astype(str), ds=pd.to_datetime(fc["ds"]))
    dates = pd.DatetimeIndex(sorted(frame["ds"].unique()))
    wide = _wide(frame, col, hier.nodes, dates)
    if hier.n_agg == 0:
        return 0.0
    gap = wide[: hier.n_agg] - np.asarray(hier.C @ wide[hier.n_agg:])
    return float(np.nanmax(np.abs(gap))) if gap.size else 0.0
