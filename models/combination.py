"""Forecast combinations: equal-weight averages of candidate models, one chosen per hierarchy level on pooled backtest error.

Why pooled and per level rather than per series: with three folds of a six-week horizon, a single series'
backtest score is mostly noise, and per-series picks among the same candidates forecast worse on a holdout
than the level's single best combination (the README has the Walmart numbers). Averaging models is the most
reliable gain in forecasting practice (the M competitions); which models to average is learned from the whole level.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from domain import interval_columns
from models.backtest import fold_metrics
from models.metrics import METRIC_KEYS, compute_metrics

SEP = "+"
BOUNDS = interval_columns()
POINT_METRICS = ("wape", "mae", "rmse", "smape", "mape", "rmspe", "bias", "pinball")  # poolable over series
BLOCK_SERIES = 1000  # series per block when a level's backtests are scored block by block (~500k rows at 10M)


def name_of(members) -> str:
    """The model name of a combination: its members sorted and joined by '+' (a single model keeps its name)."""
    return SEP.join(sorted(members))


def members_of(name: str) -> list[str]:
    """The member models of a combination name (inverse of :func:`name_of`)."""
    return name.split(SEP)


def candidate_sets(models, fallback: str | None) -> list[tuple[str, ...]]:
    """Every non-empty subset of the non-fallback models, plus the fallback alone (it is the baseline)."""
    pool = sorted(m for m in models if m != fallback)
    sets = [c for r in range(1, len(pool) + 1) for c in combinations(pool, r)]
    return sets + ([(fallback,)] if fallback in models else [])


def average(frame: pd.DataFrame, members, name: str | None = None, keys=("series_id", "ds")) -> pd.DataFrame:
    """Equal-weight average of ``members``' rows in ``frame`` (a ``model`` column), points and interval bounds.

    A (series, date) takes the average of the members present there. Averaging bounds is exact for perfectly
    correlated errors and conservative otherwise.
    """
    keys = list(keys)
    part = frame[frame["model"].isin(list(members))]
    cols = [c for c in ["yhat", *BOUNDS, "y"] if c in part.columns]
    out = part.groupby(keys, as_index=False, sort=True, observed=True)[cols].mean()
    out["model"] = name or name_of(members)
    return out


def pooled_score(bt: pd.DataFrame, metric: str) -> float:
    """Mean over folds of the metric pooled over every (series, date) of the fold (WAPE = sum|e| / sum|y|)."""
    if not _poolable(metric):
        return np.nan  # scaled metrics (MASE...) are not defined on pooled series; the caller averages per series
    scores = []
    for _, g in bt.groupby("fold", sort=True):
        res = compute_metrics(g["y"], g["yhat"], g.get("yhat_lo_80"), g.get("yhat_hi_80"), g.get("yhat_lo_95"),
                              g.get("yhat_hi_95"))
        scores.append(res[metric])
    return _folded(scores, metric)


def _poolable(metric: str) -> bool:
    """Whether ``metric`` can be pooled over series (the point metrics and coverage; not the scaled ones)."""
    return metric in POINT_METRICS or metric.startswith("coverage_")


def _folded(scores: list, metric: str) -> float:
    """The pooled score from the folds' scores: their mean, as a distance from the target for bias and coverage."""
    value = float(np.mean(scores)) if scores else np.nan
    if metric == "bias":
        return abs(value)
    if metric.startswith("coverage_"):
        return abs(value - int(metric.split("_")[1]) / 100)
    return value


_SUMS = ("n", "e", "ae", "e2", "ay", "nz", "ape", "pe2", "sr")
_INTERVALS = ((80, "yhat_lo_80", "yhat_hi_80", 0.1, 0.9), (95, "yhat_lo_95", "yhat_hi_95", 0.025, 0.975))


class PooledSums:
    """Per fold sums from which every pooled metric of :func:`pooled_score` follows, added block by block.

    Every metric of :func:`models.metrics.compute_metrics` that :func:`pooled_score` pools is a ratio of sums
    over the fold's rows (WAPE: sum|e| / sum|y|; MAE, bias, sMAPE, coverage, pinball: a sum over n; RMSE: the
    root of one; MAPE and RMSPE: sums over the rows with y != 0 over their count), so the sums of blocks of
    series add up to the whole level's, and a level's backtests never need to be averaged at once.
    """

    def __init__(self):
        self.folds: dict = {}  # fold -> {sum name: value}
        self.intervals: tuple = ()

    def add(self, frame: pd.DataFrame) -> None:
        """Add the rows of ``frame`` (``fold, y, yhat`` and any interval bounds), as compute_metrics reads them."""
        self.intervals = tuple(iv for iv in _INTERVALS if iv[1] in frame.columns and iv[2] in frame.columns)
        folds = frame["fold"].to_numpy()
        for fold in np.unique(folds):
            at = folds == fold
            sums = self._sums(frame, at)
            acc = self.folds.setdefault(fold.item() if hasattr(fold, "item") else fold, dict.fromkeys(sums, 0.0))
            for k, v in sums.items():
                acc[k] += v

    def _sums(self, frame: pd.DataFrame, at: np.ndarray) -> dict:
        """The sums of the rows ``at`` (same guards and definitions as compute_metrics)."""
        y = frame["y"].to_numpy(dtype=float)[at]
        f = frame["yhat"].to_numpy(dtype=float)[at]
        if np.isnan(y).any() or np.isnan(f).any():
            raise ValueError("y_true and y_pred must not contain NaN; drop those points first")
        e = f - y
        abs_e = np.abs(e)
        nz = y != 0
        denom = np.abs(y) + np.abs(f)
        ratio = np.divide(2 * abs_e, denom, out=np.zeros_like(abs_e), where=denom > 0)
        out = {"n": len(y), "e": np.sum(e), "ae": np.sum(abs_e), "e2": np.sum(e ** 2), "ay": np.sum(np.abs(y)),
               "nz": int(nz.sum()), "ape": np.sum(abs_e[nz] / np.abs(y[nz])), "pe2": np.sum((e[nz] / y[nz]) ** 2),
               "sr": np.sum(ratio)}
        for level, lo_c, hi_c, q_lo, q_hi in self.intervals:
            lo = frame[lo_c].to_numpy(dtype=float)[at]
            hi = frame[hi_c].to_numpy(dtype=float)[at]
            out[f"c{level}"] = np.sum((y >= lo) & (y <= hi))
            for tag, q, bound in (("lo", q_lo, lo), ("hi", q_hi, hi)):
                u = y - bound
                out[f"p{tag}{level}"] = np.sum(np.maximum(q * u, (q - 1) * u))
        return out

    def fold_metric(self, s: dict, metric: str) -> float:
        """One fold's pooled ``metric`` from its sums (compute_metrics' value on the fold's rows)."""
        n, nz = s["n"], s["nz"]
        point = {"rmse": lambda: np.sqrt(s["e2"] / n), "mae": lambda: s["ae"] / n,
                 "mape": lambda: s["ape"] / nz if nz else np.nan, "smape": lambda: s["sr"] / n,
                 "wape": lambda: s["ae"] / s["ay"] if s["ay"] > 0 else np.nan,
                 "rmspe": lambda: np.sqrt(s["pe2"] / nz) if nz else np.nan, "bias": lambda: s["e"] / n}
        if metric in point:
            return float(point[metric]())
        levels = [iv[0] for iv in self.intervals]
        if metric.startswith("coverage_"):
            level = int(metric.split("_")[1])
            return float(s[f"c{level}"] / n) if level in levels else np.nan
        if metric == "pinball":
            pin = [s[f"p{tag}{lv}"] / n for lv in levels for tag in ("lo", "hi")]
            return float(np.mean(pin)) if pin else np.nan
        raise ValueError(f"{metric} cannot be pooled")

    def score(self, metric: str) -> float:
        """:func:`pooled_score` of every row added."""
        if not _poolable(metric):
            return np.nan
        return _folded([self.fold_metric(self.folds[f], metric) for f in sorted(self.folds)], metric)


class SeriesBlocks:
    """The rows of ``frame`` of consecutive blocks of ``ids`` (sorted as text), ``size`` series a block.

    A level's backtests are millions of rows (13.8M at 10M fact rows); taking one block at a time and casting
    its categorical ``series_id``/``model`` back to text lets every per-series computation run on the block as
    it ran on the whole level, holding a block's copies rather than the level's. Blocks follow the sorted ids,
    so per-series results concatenated in block order come out sorted by series as before.
    """

    def __init__(self, frame: pd.DataFrame, ids=None, size: int | None = None):
        self.frame = frame
        col = frame["series_id"]
        cat = isinstance(col.dtype, pd.CategoricalDtype)
        if ids is None:
            ids = col.cat.categories[np.unique(col.cat.codes[col.cat.codes >= 0])] if cat else col.unique()
        self.ids = np.sort(pd.Index(list(ids), dtype=object).astype(str).unique().to_numpy(dtype=object))
        self.size = max(int(size or BLOCK_SERIES), 1)
        self.n_blocks = -(-len(self.ids) // self.size)
        self.block = self._block_of_rows(col, pd.Index(self.ids))

    def _block_of_rows(self, col: pd.Series, index: pd.Index) -> np.ndarray:
        """Each row's block (-1: a series not in ``ids``), a small integer a row: no row-sized transients but
        the result (a categorical column: one gather of its codes; text: looked up a slice at a time)."""
        dtype = np.int16 if self.n_blocks < 2 ** 15 - 1 else np.int32
        if isinstance(col.dtype, pd.CategoricalDtype):
            rank = index.get_indexer(col.cat.categories.astype(str))
            of_cat = np.append(np.where(rank >= 0, rank // self.size, -1), -1).astype(dtype)  # code -1: last
            return of_cat[col.cat.codes.to_numpy()]
        out = np.empty(len(col), dtype=dtype)
        step = 1 << 20
        for start in range(0, len(col), step):
            part = col.iloc[start:start + step]
            rank = index.get_indexer(part.astype(str) if part.dtype != object else part)
            out[start:start + step] = np.where(rank >= 0, rank // self.size, -1)
        return out

    @property
    def mask(self) -> np.ndarray:
        """The rows of the blocks' series."""
        return self.block >= 0

    def rows(self, b: int, columns=None) -> pd.DataFrame:
        """Block ``b``'s rows (``columns`` of them), in the frame's order, series and model as text."""
        rows = np.flatnonzero(self.block == b)
        if columns is None:
            part = self.frame.iloc[rows]
        else:  # copy only the columns asked for
            part = self.frame.iloc[rows, self.frame.columns.get_indexer(list(columns))]
        cats = {c: str for c in ("series_id", "model") if c in part.columns
                and isinstance(part[c].dtype, pd.CategoricalDtype)}
        return part.astype(cats) if cats else part

    def __iter__(self):
        for b in range(self.n_blocks):
            part = self.rows(b)
            if len(part):
                yield part


def models_in(frame: pd.DataFrame, mask: np.ndarray) -> set:
    """The models of ``frame``'s rows ``mask`` (a categorical column: on the codes)."""
    col = frame["model"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()[mask]
        return set(col.cat.categories[np.unique(codes[codes >= 0])].astype(str))
    return set(col[mask].unique())


def choose(bt: pd.DataFrame, models, fallback: str | None, metric: str = "wape", ids=None, columns=None,
           block: int | None = None) -> tuple[tuple[str, ...], pd.DataFrame]:
    """The best candidate set for one group of series by pooled backtest score, and every set's score.

    Parameters
    ----------
    bt : DataFrame
        Backtest forecasts ``series_id, ds, fold, model, y, yhat`` (+ bounds); ``series_id`` and ``model``
        may be categorical.
    models : list of str
        Candidate models.
    fallback : str or None
        The baseline, considered alone only.
    metric : str
    ids : array-like, optional
        The group's series (default: every series of ``bt``), so that a level need not be copied out of ``bt``.
    columns : list of str, optional
        The columns of ``bt`` to score on (default: all).
    block : int, optional
        Series per block (default :data:`BLOCK_SERIES`). The sets are scored block by block and the pooled
        sums added (:class:`PooledSums`): the same scores as on the whole group, up to float summation order.

    Returns
    -------
    (members, scores)
        ``scores`` has ``model, score, n`` (n = scored (series, date, fold) rows). Sets are compared on the
        (series, fold) pairs that every candidate model forecast, so no set is judged on easier series. Ties go
        to the smaller set, then the alphabetically first.
    """
    blocks = SeriesBlocks(bt, ids, block)
    have = models_in(bt, blocks.mask)
    present = [m for m in models if m in have]
    if not present:
        return ((fallback,) if fallback else tuple(models[:1])), pd.DataFrame(columns=["model", "score", "n"])
    sets = candidate_sets(present, fallback if fallback in present else None)
    sums, counts = {s: PooledSums() for s in sets}, dict.fromkeys(sets, 0)
    for b in range(blocks.n_blocks):
        part = blocks.rows(b, columns)
        if not len(part):
            continue
        shared = _shared(part, len(present))
        for members in sets:
            comb = average(shared, members, keys=("series_id", "fold", "ds"))
            counts[members] += len(comb)
            if _poolable(metric) and len(comb):
                sums[members].add(comb)
    rows = [{"model": name_of(s), "members": s, "score": sums[s].score(metric), "n": counts[s]} for s in sets]
    scores = pd.DataFrame(rows)
    ok = scores[np.isfinite(scores["score"].astype(float))]
    if ok.empty:
        return (fallback,) if fallback in present else (present[0],), scores.drop(columns="members")
    ok = ok.assign(size=ok["members"].map(len)).sort_values(["score", "size", "model"], kind="mergesort")
    return tuple(ok.iloc[0]["members"]), scores.drop(columns="members")


def _shared(bt: pd.DataFrame, n_models: int) -> pd.DataFrame:
    """The rows of the (series, fold) pairs that ``n_models`` models forecast (local to a series: per block)."""
    per_pair = bt.groupby(["series_id", "fold"], sort=False, observed=True)["model"].transform("nunique")
    return bt[per_pair.to_numpy() == n_models]  # one copy of the rows (no keyed copies): averages read columns


def pooled_scores(bt: pd.DataFrame, sets, metric: str, ids=None, block: int | None = None) -> dict:
    """``{members: pooled score}`` of each set's equal-weight average over every row of its members (no common
    pairs filter: :func:`pooled_score` of :func:`average`, or of a single model's rows), block by block."""
    sums = {tuple(s): PooledSums() for s in sets}
    for part in SeriesBlocks(bt, ids, block):
        for members in sums:
            rows = part[part["model"] == members[0]] if len(members) == 1 else average(
                part, members, keys=("series_id", "fold", "ds"))
            if len(rows) and _poolable(metric):
                sums[members].add(rows)
    return {m: s.score(metric) for m, s in sums.items()}


def average_blocks(frame: pd.DataFrame, members, name: str | None = None, ids=None, block: int | None = None,
                   keys=("series_id", "ds")) -> pd.DataFrame:
    """:func:`average` of the series ``ids`` of ``frame``, block by block: the same rows in the same order
    (series and model as text), without copying the level's rows out of ``frame`` at once."""
    parts = [average(part, members, name, keys) for part in SeriesBlocks(frame, ids, block)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return average(frame.iloc[:0], members, name, keys)
    return pd.concat(parts, ignore_index=True)


def combination_metrics(bt: pd.DataFrame, members, history: pd.DataFrame, season_length: int, ids=None,
                        block: int | None = None) -> pd.DataFrame:
    """Per series and fold metrics of the combination (like :func:`models.backtest.rolling_origin`'s).

    ``history`` (``series_id, ds, y``) gives each fold's training values (before the level's first forecast
    date of the fold) for MASE's scale. Computed block by block of the series ``ids`` (default: all of
    ``bt``): every metric is per series, so the rows are those of the whole level, in the same order
    (by fold, then series).
    """
    cols = ["series_id", "model", "fold", *METRIC_KEYS]
    blocks = SeriesBlocks(bt, ids, block)
    starts = _fold_starts(bt, blocks.mask & isin(bt["model"], members))
    past = SeriesBlocks(history, blocks.ids, blocks.size)
    parts: dict = {}
    for b in range(blocks.n_blocks):
        comb = average(blocks.rows(b), members, keys=("series_id", "fold", "ds"))
        if not len(comb):
            continue
        hist = past.rows(b)
        for fold, g in comb.groupby("fold", sort=True):
            parts.setdefault(fold, []).append(
                fold_metrics(g, hist[hist["ds"] < starts[fold]], name_of(members), fold, season_length))
    ordered = [p for fold in sorted(parts) for p in parts[fold]]
    return pd.concat(ordered, ignore_index=True)[cols] if ordered else pd.DataFrame(columns=cols)


def isin(col: pd.Series, values) -> np.ndarray:
    """``col.isin(values)`` as an array (a categorical column: on its codes, without a copy of the values)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        wanted = pd.Index(col.cat.categories.astype(str)).isin(list(values))
        codes = col.cat.codes.to_numpy()
        return (codes >= 0) & wanted[np.maximum(codes, 0)]
    return col.isin(list(values)).to_numpy()


def _fold_starts(bt: pd.DataFrame, mask: np.ndarray) -> dict:
    """``{fold: first forecast date}`` over the rows ``mask`` (a level's, of the members): the training cut of
    each fold for MASE's scale is the level's, whichever block a series falls in."""
    folds = bt["fold"].to_numpy()
    ds = bt["ds"]
    out = {}
    for fold in np.unique(folds[mask]):
        out[fold] = ds[mask & (folds == fold)].min()
    return out
