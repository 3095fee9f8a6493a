"""Fixed-effects panel regression on log sales with two-way cluster-robust standard errors (shared engine).

Why this design: promotion, holiday and weather effects are multiplicative, so they are estimated as
coefficients of a regression of ``log(sales)`` on open days with positive sales. Series fixed effects are
absorbed by demeaning within series (the "within" transformation), so a 438k-row panel needs only a dense
solve with ~150 columns. Residuals of a sales panel are correlated over time within a series *and* across
series on the same date (weather, holidays and common shocks hit every store at once), so the covariance is
two-way cluster-robust (Cameron, Gelbach & Miller 2011) by series and by date, and intervals use a t
distribution with ``min(G_series, G_date) - 1`` degrees of freedom. Each variance is floored at the largest
one-way clustered variance, which keeps intervals honest for regressors that touch only a few series.
Optional weights, constant within each series (the effects use each series' mean sales), make it weighted
least squares: the demeaned rows are scaled by the square root of the weight, so the scores and the clustered
covariance are the weighted ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse, stats


@dataclass
class PanelFit:
    """Coefficients of a within (series fixed-effects) regression and their covariance.

    Attributes
    ----------
    names : list of str
        Column names of the estimated coefficients.
    coef : ndarray
        Estimated coefficients (log scale).
    cov : ndarray
        Two-way cluster-robust covariance matrix of ``coef``.
    dof : int
        Degrees of freedom used for t-based intervals.
    n : int
        Observations in the regression.
    n_nonzero : dict
        For every column, the number of observations where the regressor was non-zero before demeaning.
    dropped : list of str
        Columns dropped because they were constant within series or collinear with others.
    """

    names: list[str]
    coef: np.ndarray
    cov: np.ndarray
    dof: int
    n: int
    n_nonzero: dict = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self._index

    def __post_init__(self) -> None:
        self._index = {n: i for i, n in enumerate(self.names)}

    def interval(self, name: str, level: float = 0.95) -> tuple[float, float, float]:
        """``(estimate, low, high)`` of one coefficient on the log scale."""
        i = self._index[name]
        se = float(np.sqrt(max(self.cov[i, i], 0.0)))
        t = stats.t.ppf(0.5 + level / 2, self.dof)
        b = float(self.coef[i])
        return b, b - t * se, b + t * se

    def combination(self, weights: dict[str, float], level: float = 0.95) -> tuple[float, float, float]:
        """``(estimate, low, high)`` of a linear combination ``sum(w * coef)`` (log scale)."""
        idx = [self._index[k] for k in weights]
        w = np.array(list(weights.values()), dtype=float)
        b = float(w @ self.coef[idx])
        se = float(np.sqrt(max(w @ self.cov[np.ix_(idx, idx)] @ w, 0.0)))
        t = stats.t.ppf(0.5 + level / 2, self.dof)
        return b, b - t * se, b + t * se


def _codes(values) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(np.asarray(values), sort=False)
    return codes.astype(np.int64), len(uniques)


def _indicator(codes: np.ndarray, n_groups: int) -> sparse.csr_matrix:
    n = len(codes)
    return sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, n_groups))


def _blocks(codes: np.ndarray) -> np.ndarray | None:
    """Start offsets when every group occupies one contiguous run of rows (sorted panel), else None."""
    change = np.flatnonzero(np.diff(codes)) + 1
    starts = np.r_[0, change]
    return starts if len(starts) == codes.max(initial=-1) + 1 else None


def group_sums(matrix: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``matrix`` per group (contiguous runs use ``np.add.reduceat``, else a sparse product or,
    for a column-major matrix, one ``np.bincount`` per column, which needs no row-major copy)."""
    starts = _blocks(codes)
    if starts is not None:
        return np.add.reduceat(matrix, starts, axis=0)
    if matrix.ndim == 2 and matrix.flags.f_contiguous and not matrix.flags.c_contiguous:
        return np.column_stack([np.bincount(codes, weights=matrix[:, j], minlength=n_groups)
                                for j in range(matrix.shape[1])])
    return _indicator(codes, n_groups).T @ matrix


def demean(matrix: np.ndarray, codes: np.ndarray, n_groups: int, inplace: bool = False) -> np.ndarray:
    """Subtract the group mean from every column of ``matrix`` (the within transformation).

    ``inplace=True`` overwrites ``matrix`` and returns it: on a 400k x 40 panel each fresh n x k array costs
    more (page faults) than the arithmetic, so the effects fit allocates as few as it can.
    """
    counts = np.bincount(codes, minlength=n_groups)
    means = group_sums(matrix, codes, n_groups) / np.maximum(counts, 1)[:, None]
    if not inplace:
        return matrix - means[codes]
    starts = _blocks(codes)
    if starts is None:
        matrix -= means[codes]
        return matrix
    ends = np.r_[starts[1:], len(codes)]
    for a, b in zip(starts, ends):  # one run of rows per group
        matrix[a:b] -= means[codes[a]]
    return matrix


def _series_weights(weights, s_codes: np.ndarray, n_s: int) -> np.ndarray:
    """Row weights scaled to mean 1, after checking they are finite, positive and constant within series."""
    w = np.asarray(weights, dtype=float)
    if w.shape != s_codes.shape or not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError("weights must be finite, positive and one per row")
    lo = np.full(n_s, np.inf)
    hi = np.full(n_s, -np.inf)
    np.minimum.at(lo, s_codes, w)
    np.maximum.at(hi, s_codes, w)
    if (hi - lo > 1e-9 * hi).any():
        raise ValueError("weights must be constant within each series (e.g. the series' mean sales)")
    return w / w.mean()


def fit_within(y: np.ndarray, X: pd.DataFrame, series, dates, level_tol: float = 1e-9,
               weights: np.ndarray | None = None, overwrite_x: bool = False) -> PanelFit:
    """Regress ``y`` on ``X`` with series fixed effects and two-way (series, date) clustered errors.

    Long because the one n x k array is demeaned, weighted and turned into scores in place, and every other
    step works on k x k matrices: split into functions, the steps would have to hand that array around.

    Parameters
    ----------
    y : ndarray
        Response, already on the log scale.
    X : DataFrame
        Regressors (no intercept: the series fixed effects absorb it).
    series, dates : array-like
        Series and date labels of every row; the fixed effects are by series, clusters by both.
    level_tol : float
        Relative tolerance below which a column counts as constant or collinear and is dropped.
    weights : ndarray, optional
        Positive weight of every row, constant within each series (e.g. the series' mean sales); None weighs
        every row equally. Only relative weights matter.
    overwrite_x : bool
        Allow the fit to overwrite ``X``'s data (saves a copy of the n x k matrix when the caller discards it).

    Returns
    -------
    PanelFit
        Coefficients, covariance and bookkeeping.

    Raises
    ------
    ValueError
        If there are fewer rows than regressors or no usable regressor.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    s_codes, n_s = _codes(series)
    d_codes, n_d = _codes(dates)
    raw = X.to_numpy(dtype=float, copy=not overwrite_x)
    if overwrite_x and not raw.flags.writeable:
        try:  # copy-on-write pandas hands out read-only views; the caller has given its data away
            raw.setflags(write=True)
        except ValueError:
            raw = raw.copy()
    if not raw.flags.writeable:
        raw = raw.copy()
    names = list(X.columns)
    n_nonzero = dict(zip(names, np.count_nonzero(raw, axis=0).astype(int)))
    raw_norm = np.sqrt(np.einsum("ij,ij->j", raw, raw))
    Xw = demean(raw, s_codes, n_s, inplace=True)  # raw is ours (a copy, or overwrite_x)
    del raw
    yw = demean(y[:, None], s_codes, n_s).ravel()
    if weights is not None:
        w = _series_weights(weights, s_codes, n_s)
        # Weights constant within a series leave the within transformation unchanged; scaling the demeaned rows
        # by sqrt(w) turns everything below (coefficients, scores, clustered meat) into its weighted version.
        sw = np.sqrt(w)
        Xw *= sw[:, None]
        yw = yw * sw

    # All products with the n x k matrix happen once; column selection and scaling work on k x k matrices.
    xtx_all = Xw.T @ Xw
    xty_all = Xw.T @ yw
    scale_all = np.sqrt(np.clip(np.diag(xtx_all), 0, None))
    keep = scale_all > level_tol * max(1.0, float(raw_norm.max(initial=1.0)))
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        raise ValueError("no usable regressor: every column is constant within series")
    corr = xtx_all[np.ix_(idx, idx)] / np.outer(scale_all[idx], scale_all[idx])
    eig = np.linalg.eigvalsh(corr)
    if eig.min() < 1e-10 * eig.max():
        # Columns that are linear combinations of others (e.g. overlapping holiday windows): a pivoted QR of
        # the (small) correlation matrix keeps a maximal independent set in a stable order.
        from scipy.linalg import qr
        _, r, piv = qr(corr, pivoting=True)
        diag = np.abs(np.diag(r))
        idx = np.sort(idx[piv[diag > 1e-10 * diag.max()]])
    dropped = [names[i] for i in range(len(names)) if i not in set(idx)]
    names_k = [names[i] for i in idx]
    k = len(idx)
    if n <= k + n_s:
        raise ValueError(f"too few observations ({n}) for {k} regressors and {n_s} series")
    scale = scale_all[idx]
    bread = np.linalg.inv(xtx_all[np.ix_(idx, idx)] / np.outer(scale, scale)) / np.outer(scale, scale)
    beta = bread @ xty_all[idx]
    full_beta = np.zeros(len(names))
    full_beta[idx] = beta
    resid = yw - Xw @ full_beta
    scores = Xw  # scored in place (no second n x k array); columns dropped above are cut from the k x k meats
    scores *= resid[:, None]
    del Xw
    sel = np.ix_(idx, idx)

    def meat(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, int]:
        sums = group_sums(scores, codes, n_groups)
        g = n_groups
        return (g / max(g - 1, 1)) * (sums.T @ sums)[sel], g

    m_s, g_s = meat(s_codes, n_s)
    m_d, g_d = meat(d_codes, n_d)
    inter, n_i = _codes(s_codes * n_d + d_codes)
    if n_i == n:  # one row per series and date: the intersection clusters are the rows themselves
        m_i = (n / max(n - 1, 1)) * (scores.T @ scores)[sel]
    else:
        m_i, _ = meat(inter, n_i)
    small = (n - 1) / max(n - k - n_s, 1)
    cov = small * bread @ (m_s + m_d - m_i) @ bread
    # Floor every variance at the largest one-way (series, date or row) variance: the two-way sum can fall
    # below them, and a regressor that touches few series (a per-store promotion) makes V_series too small.
    # Rescaling rows and columns keeps the correlations of the two-way matrix.
    floors = np.max([np.diag(bread @ m @ bread) for m in (m_s, m_d, m_i)], axis=0) * small
    diag = np.diag(cov)
    factor = np.sqrt(np.where(diag > floors, 1.0, floors / np.where(diag > 0, diag, np.inf)))
    factor = np.where(diag > 0, factor, 0.0)
    cov = cov * np.outer(factor, factor)
    cov[np.diag_indices(k)] = np.maximum(np.diag(cov), floors)
    return PanelFit(names=names_k, coef=beta, cov=cov, dof=max(min(g_s, g_d) - 1, 1), n=n,
                    n_nonzero={nm: int(n_nonzero[nm]) for nm in names_k}, dropped=dropped)
