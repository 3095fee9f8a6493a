"""The promotion calendar as a 0/1 integer program, solved with scipy's ``milp`` (HiGHS).

Why ``scipy.optimize.milp``: scipy is already a dependency (no new package to install or pin), and it calls
HiGHS, an open-source branch-and-cut MILP solver that solves programs of this size (thousands of binaries, a few
thousand rows) in well under a second; PuLP or OR-Tools would add a dependency for no gain here.

Program: one binary ``x_i`` per candidate (store x product x week x depth), maximise ``sum v_i x_i`` (expected
incremental margin) subject to
  - at most one depth per store x product x week,
  - at most ``K`` promotions per store x week,
  - optionally ``sum cost_i x_i <= budget`` (expected discount cost),
  - optionally no promotion of the same store x product in two consecutive weeks.
Candidates with ``v_i <= 0`` are never worth choosing under ``<=`` constraints and are left out of the program.
"""
from __future__ import annotations

import contextlib
import os
import sys

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

TIME_LIMIT_S = 60.0


@contextlib.contextmanager
def _quiet_stdout():
    """Send file descriptor 1 to /dev/null while HiGHS runs: some HiGHS builds print a debug line
    ("HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();") to stdout even with output off
    (ERGO-Code/HiGHS#2783), which would corrupt ``--json`` output."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable stdout (e.g. a detached service): nothing to protect
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _group_rows(keys: pd.DataFrame) -> sparse.csr_matrix:
    """One constraint row per distinct key, a 1 for each candidate of that key."""
    rows = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    n = len(rows)
    return sparse.csr_matrix((np.ones(n), (rows, np.arange(n))), shape=(int(rows.max()) + 1, n))


def _back_to_back_rows(cands: pd.DataFrame, mask: np.ndarray) -> sparse.csr_matrix | None:
    """Rows ``x(week w) + x(week w+1) <= 1`` for each store x product (all depths of both weeks) of the
    candidates in ``mask``."""
    sp = cands.groupby(["store_id", "product_id"], sort=False).ngroup().to_numpy()
    week = cands["week"].to_numpy().astype(int)
    if not mask.any():
        return None
    n_weeks = int(week.max()) + 1 if len(week) else 0
    if n_weeks < 2:
        return None
    per = n_weeks - 1
    cols, rows = [], []
    idx = np.arange(len(cands))
    first = mask & (week < per)  # pair (w, w + 1)
    cols.append(idx[first])
    rows.append(sp[first] * per + week[first])
    second = mask & (week > 0)  # pair (w - 1, w)
    cols.append(idx[second])
    rows.append(sp[second] * per + week[second] - 1)
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(int(sp.max() + 1) * per, len(cands)))


def choose(cands: pd.DataFrame, value: np.ndarray, max_per_store_week: int, budget: float | None = None,
           cost: np.ndarray | None = None, no_back_to_back=False, taken: dict | None = None,
           time_limit: float = TIME_LIMIT_S) -> tuple[np.ndarray, str]:
    """Pick the candidates that maximise the total value under the constraints.

    Parameters
    ----------
    cands : DataFrame
        ``store_id, product_id, week`` per candidate (one row per depth).
    value : ndarray
        Value of each candidate (expected incremental margin).
    max_per_store_week : int
        ``K``: most promotions in one store and week (``>= 0``).
    budget : float, optional
        Most total ``cost`` of the chosen candidates.
    cost : ndarray, optional
        Cost of each candidate (needed with ``budget``).
    no_back_to_back : bool or ndarray of bool
        Forbid promoting a store x product in two consecutive weeks (all candidates, or those marked).
    taken : dict, optional
        ``{(store_id, week): n}`` promotions already planned, which use up ``n`` of that store-week's ``K``.
    time_limit : float
        Seconds HiGHS may take; the best calendar found by then is returned with status ``time_limit``.

    Returns
    -------
    chosen : ndarray of bool
        Mask over ``cands``.
    status : {"optimal", "time_limit"}
    """
    value = np.asarray(value, dtype=float)
    chosen = np.zeros(len(cands), dtype=bool)
    keep = np.flatnonzero(value > 0)
    if len(keep) == 0 or max_per_store_week == 0:
        return chosen, "optimal"
    sub = cands.iloc[keep].reset_index(drop=True)
    blocks, upper = [_group_rows(sub[["store_id", "product_id", "week"]])], []
    upper.append(np.ones(blocks[0].shape[0]))
    sw = sub[["store_id", "week"]]
    blocks.append(_group_rows(sw))
    first = sw.drop_duplicates()  # the row order of _group_rows (ngroup with sort=False: order of appearance)
    used = [(taken or {}).get((s, int(w)), 0) for s, w in zip(first["store_id"], first["week"])]
    upper.append(np.clip(float(max_per_store_week) - np.asarray(used, dtype=float), 0, None))
    b2b = np.broadcast_to(np.asarray(no_back_to_back, dtype=bool), (len(cands),))[keep]
    if b2b.any():
        a = _back_to_back_rows(sub, b2b)
        if a is not None:
            blocks.append(a)
            upper.append(np.ones(a.shape[0]))
    if budget is not None:
        blocks.append(sparse.csr_matrix(np.asarray(cost, dtype=float)[keep][None, :]))
        upper.append(np.array([float(budget)]))
    a = sparse.vstack(blocks, format="csr")
    with _quiet_stdout():
        res = milp(c=-value[keep], constraints=LinearConstraint(a, -np.inf, np.concatenate(upper)),
                   integrality=np.ones(len(keep)), bounds=Bounds(0, 1),
                   options={"time_limit": float(time_limit), "mip_rel_gap": 1e-6})
    if res.x is None:
        raise ValueError(f"the promotion program has no solution ({res.message.strip()})")
    chosen[keep] = res.x > 0.5
    return chosen, "optimal" if res.status == 0 else "time_limit"


def random_calendar(cands: pd.DataFrame, n_promotions: int, max_per_store_week: int, rng: np.random.Generator,
                    budget: float | None = None, cost: np.ndarray | None = None,
                    no_back_to_back=False, taken: dict | None = None) -> np.ndarray:
    """A random feasible calendar of (up to) ``n_promotions`` promotions: store x product x week slots in random
    order, each at a random depth among its candidates, kept while the constraints allow (the benchmark's
    "promoting at random under the same constraints"); ``taken``: ``{(store_id, week): n}`` planned promotions
    that count toward ``K``."""
    slots = cands.groupby(["store_id", "product_id", "week"], sort=False).indices
    keys = list(slots)
    order = rng.permutation(len(keys))
    chosen = np.zeros(len(cands), dtype=bool)
    per_sw: dict = dict(taken or {})
    weeks_of: dict = {}
    spent, taken = 0.0, 0
    b2b = np.broadcast_to(np.asarray(no_back_to_back, dtype=bool), (len(cands),))
    for k in order:
        if taken >= n_promotions:
            break
        store, product, week = keys[k]
        if per_sw.get((store, week), 0) >= max_per_store_week:
            continue
        if b2b[slots[keys[k]][0]] and weeks_of.get((store, product), set()) & {week - 1, week + 1}:
            continue
        i = int(rng.choice(slots[keys[k]]))
        if budget is not None and spent + float(cost[i]) > budget:
            continue
        chosen[i] = True
        taken += 1
        spent += float(cost[i]) if cost is not None else 0.0
        per_sw[(store, week)] = per_sw.get((store, week), 0) + 1
        weeks_of.setdefault((store, product), set()).add(week)
    return chosen
