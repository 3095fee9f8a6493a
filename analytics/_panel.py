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


CHUNK_BYTES = 48 * 2**20  # float64 rows of the design held at once by :func:`fit_within` (whole series per block)


class Design:
    """The regressors of a panel regression, stored compactly and handed out as float64 blocks of rows.

    0/1 columns (holiday windows, day-of-week, bins, promotion flags) are stored as uint8 and the others as
    float64, both column-major; :meth:`rows` rebuilds any block of rows as float64 in the original column order.
    0 and 1 are exact in uint8, so a fit on the blocks equals one on the float64 matrix. On the large demo's
    category panels (820k rows, about 200 columns, 185 of them 0/1) this is 0.25 GB instead of 1.3 GB.
    """

    def __init__(self, names: list[str], flags: np.ndarray, flag_pos, values: np.ndarray, value_pos):
        self.names = list(names)
        self.flags, self.flag_pos = flags, np.asarray(flag_pos, dtype=np.int64)
        self.values, self.value_pos = values, np.asarray(value_pos, dtype=np.int64)
        self.n = flags.shape[0] if len(self.flag_pos) else values.shape[0]

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, len(self.names)

    @classmethod
    def stack(cls, columns: list[tuple[str, np.ndarray]], rows: np.ndarray) -> "Design":
        """A design from named 1-D columns, keeping the rows where the mask ``rows`` is true."""
        rows = np.asarray(rows, dtype=bool)
        is_flag = np.array([_zero_one(v) for _, v in columns], dtype=bool)
        n = int(rows.sum())
        flags = np.empty((n, int(is_flag.sum())), dtype=np.uint8, order="F")
        values = np.empty((n, int((~is_flag).sum())), order="F")
        fi = vi = 0
        for (_, v), flag in zip(columns, is_flag):
            v = np.asarray(v)
            v = (v if v.dtype.kind in "biuf" else v.astype(float))[rows]  # one column at a time: no n x k copy
            if flag:
                flags[:, fi] = v
                fi += 1
            else:
                values[:, vi] = v
                vi += 1
        pos = np.arange(len(columns))
        return cls([c for c, _ in columns], flags, pos[is_flag], values, pos[~is_flag])

    @classmethod
    def of(cls, X) -> "Design":
        """``X`` itself when it is a Design, else a DataFrame's columns as float64 (a view when they already are)."""
        if isinstance(X, Design):
            return X
        values = X.to_numpy(dtype=float)
        return cls(list(X.columns), np.empty((len(values), 0), np.uint8), [], values, np.arange(values.shape[1]))

    def rows(self, a: int, b: int) -> np.ndarray:
        """Rows ``a:b`` as a new float64 column-major array (the caller may overwrite it)."""
        out = np.empty((b - a, len(self.names)), order="F")
        if len(self.flag_pos):
            out[:, self.flag_pos] = self.flags[a:b]
        if len(self.value_pos):
            out[:, self.value_pos] = self.values[a:b]
        return out


def _zero_one(v) -> bool:
    """Whether a column holds only the numbers 0 and 1."""
    v = np.asarray(v)
    if v.dtype == bool:
        return True
    return v.dtype.kind in "iuf" and bool(((v == 0) | (v == 1)).all())


def row_blocks(s_codes: np.ndarray, k: int, chunk_bytes: int) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` of whole series, each about ``chunk_bytes`` of float64 ``k``-column rows (a longer
    series is a block of its own); one block of every row when the series are not in contiguous runs."""
    n = len(s_codes)
    starts = _blocks(s_codes)
    if starts is None or n == 0:
        return [(0, n)]
    per = max(1, chunk_bytes // (8 * max(k, 1)))
    cuts = starts[np.searchsorted(starts, np.arange(per, n, per), side="right") - 1]
    bounds = np.unique(np.r_[0, cuts, n])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


class _Within:
    """Demeaned, weighted blocks of rows of one regression (each block holds whole series, so demeaning a block
    alone is exact): the same block comes out bit for bit the same each time it is built."""

    def __init__(self, y, design: Design, s_codes, n_s, sw, blocks):
        self.y, self.design, self.s_codes, self.n_s, self.sw = y, design, s_codes, n_s, sw
        self.blocks = blocks

    def block(self, a: int, b: int, raw_stats: list | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """``(X block, y block, local series codes, local series count)``; appends the raw block's non-zero counts
        and squared norms to ``raw_stats`` when given."""
        X = self.design.rows(a, b)
        if raw_stats is not None:
            raw_stats.append((np.count_nonzero(X, axis=0), np.einsum("ij,ij->j", X, X)))
        if len(self.blocks) == 1:
            codes, g = self.s_codes[a:b], self.n_s
        else:  # whole series in appearance order: their codes are consecutive
            codes = self.s_codes[a:b] - self.s_codes[a]
            g = int(codes[-1]) + 1
        X = demean(X, codes, g, inplace=True)
        yb = demean(self.y[a:b, None], codes, g).ravel()
        if self.sw is not None:
            X *= self.sw[a:b, None]
            yb = yb * self.sw[a:b]
        return X, yb, codes, g


def _moments(within: _Within) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First pass: ``X'X`` and ``X'y`` of the demeaned weighted rows, with the raw columns' non-zero counts and
    norms, summed block by block."""
    k = len(within.design.names)
    xtx, xty, stats_ = np.zeros((k, k)), np.zeros(k), []
    for a, b in within.blocks:
        X, yb, _, _ = within.block(a, b, stats_)
        xtx += X.T @ X
        xty += X.T @ yb
    nnz = np.sum([s[0] for s in stats_], axis=0)
    norm = np.sqrt(np.sum([s[1] for s in stats_], axis=0))
    return xtx, xty, nnz, norm


def _meats(within: _Within, beta: np.ndarray, d_codes: np.ndarray, n_d: int, inter: np.ndarray | None):
    """Second pass: the score cross-products clustered by series, by date and by series x date (``inter``: the
    intersection codes, None when every row is its own intersection), summed block by block. Series and
    intersection clusters lie inside one block; date clusters are summed over blocks first."""
    k = len(beta)
    m_s, m_i, d_sums = np.zeros((k, k)), np.zeros((k, k)), np.zeros((n_d, k))
    for a, b in within.blocks:
        X, yb, codes, g = within.block(a, b)
        resid = yb - X @ beta
        X *= resid[:, None]  # scores, in place
        sums = group_sums(X, codes, g)
        m_s += sums.T @ sums
        d_sums += _indicator(d_codes[a:b], n_d).T @ X
        if inter is None:
            m_i += X.T @ X
        else:
            ic, n_ic = _codes(inter[a:b])
            sums = group_sums(X, ic, n_ic)
            m_i += sums.T @ sums
    return m_s, d_sums.T @ d_sums, m_i


def fit_within(y: np.ndarray, X, series, dates, level_tol: float = 1e-9,
               weights: np.ndarray | None = None, chunk_bytes: int | None = None) -> PanelFit:
    """Regress ``y`` on ``X`` with series fixed effects and two-way (series, date) clustered errors.

    Long because the column selection and the clustered covariance are one chain of k x k steps between the two
    passes over the rows. The n x k matrix is never built: rows are read in blocks of whole series (``X`` sorted
    by series), demeaned and weighted per block, and summed into ``X'X``, ``X'y`` (first pass) and the clustered
    score sums (second pass). Demeaning is within series and every product is a sum over rows, so the blocks give
    the estimates of the one-matrix computation (to rounding: sums in another order).

    Parameters
    ----------
    y : ndarray
        Response, already on the log scale.
    X : DataFrame or Design
        Regressors (no intercept: the series fixed effects absorb it).
    series, dates : array-like
        Series and date labels of every row; the fixed effects are by series, clusters by both.
    level_tol : float
        Relative tolerance below which a column counts as constant or collinear and is dropped.
    weights : ndarray, optional
        Positive weight of every row, constant within each series (e.g. the series' mean sales); None weighs
        every row equally. Only relative weights matter.
    chunk_bytes : int, optional
        Size of one float64 block of rows (default :data:`CHUNK_BYTES`); series that are not in contiguous runs
        are fitted in one block.

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
    design = Design.of(X)
    s_codes, n_s = _codes(series)
    d_codes, n_d = _codes(dates)
    sw = None
    if weights is not None:
        # Weights constant within a series leave the within transformation unchanged; scaling the demeaned rows
        # by sqrt(w) turns everything below (coefficients, scores, clustered meat) into its weighted version.
        sw = np.sqrt(_series_weights(weights, s_codes, n_s))
    names = design.names
    within = _Within(y, design, s_codes, n_s, sw, row_blocks(s_codes, len(names), chunk_bytes or CHUNK_BYTES))
    xtx_all, xty_all, nnz, raw_norm = _moments(within)
    n_nonzero = dict(zip(names, nnz.astype(int)))
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
    inter, n_i = _codes(s_codes * n_d + d_codes)
    # Scores of dropped columns are computed too (their beta is 0) and cut from the k x k meats here.
    sel = np.ix_(idx, idx)
    m_s, m_d, m_i = (m[sel] for m in _meats(within, full_beta, d_codes, n_d, None if n_i == n else inter))
    g_s, g_d = n_s, n_d
    m_s *= g_s / max(g_s - 1, 1)
    m_d *= g_d / max(g_d - 1, 1)
    m_i *= n_i / max(n_i - 1, 1)
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
