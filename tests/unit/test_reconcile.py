"""Reconciliation on a small hand-built hierarchy: coherence on every date, known solutions, intervals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.keys import node_keys
from models import reconcile as rc

# 3 stores in 2 regions, 3 products in 2 categories; store 3 does not sell product c.
BOTTOM = pd.DataFrame([
    {"node_id": f"store={s}/product={p}", "store_id": s, "product_id": p, "region": reg, "category": cat}
    for s, reg in (("1", "N"), ("2", "N"), ("3", "S"))
    for p, cat in (("a", "Fruit"), ("b", "Fruit"), ("c", "Bakery"))
    if not (s == "3" and p == "c")])
DATES = pd.date_range("2024-01-01", periods=5)


@pytest.fixture
def hier():
    return rc.build_hierarchy(BOTTOM, node_keys=node_keys)


def _base(hier, seed=0, noise=True):
    """Incoherent base forecasts for every node: bottom values plus noisy aggregates, +-10%/20% intervals."""
    rng = np.random.default_rng(seed)
    yb = rng.uniform(5, 20, size=(len(hier.bottom), len(DATES)))
    full = np.asarray(hier.S @ yb)
    if noise:
        full[: hier.n_agg] *= rng.uniform(0.8, 1.2, size=(hier.n_agg, len(DATES)))
    rows = []
    for i, node in enumerate(hier.nodes):
        for j, d in enumerate(DATES):
            y = full[i, j]
            rows.append({"series_id": node, "ds": d, "yhat": y, "yhat_lo_80": y * 0.9, "yhat_hi_80": y * 1.1,
                         "yhat_lo_95": y * 0.8, "yhat_hi_95": y * 1.2})
    return pd.DataFrame(rows)


def _wide(fc, nodes):
    return fc.pivot(index="series_id", columns="ds", values="yhat").loc[list(nodes)].to_numpy()


def test_summing_matrix_structure(hier):
    assert hier.bottom[0] == "store=1/product=a" and len(hier.bottom) == 8
    levels = pd.Series(hier.levels).value_counts().to_dict()
    assert levels == {"total": 1, "region": 2, "store": 3, "category": 2, "product": 3, "store_category": 5,
                      "store_product": 8}
    assert sorted(hier.members("region=S")) == ["store=3/product=a", "store=3/product=b"]
    assert sorted(hier.members("category=Bakery")) == ["store=1/product=c", "store=2/product=c"]
    assert hier.members("store=2/category=Fruit") == ["store=2/product=a", "store=2/product=b"]
    assert hier.S.shape == (len(hier.nodes), 8) and hier.S.sum() == 8 * 7  # each bottom series sits in 7 nodes


def _assert_coherent(fc, hier):
    """Every aggregate equals the sum of its children on every date, checked level by level."""
    w = fc.pivot(index="series_id", columns="ds", values="yhat")
    pairs = {"total": ("region", lambda k: True), "region=N": ("store", lambda k: k in ("store=1", "store=2")),
             "region=S": ("store", lambda k: k == "store=3"),
             "category=Fruit": ("product", lambda k: k in ("product=a", "product=b")),
             "store=1": ("store_category", lambda k: k.startswith("store=1/")),
             "store=1/category=Fruit": ("store_product", lambda k: k in ("store=1/product=a", "store=1/product=b")),
             "product=c": ("store_product", lambda k: k.endswith("product=c"))}
    lv = dict(zip(hier.nodes, hier.levels))
    for parent, (child_level, pick) in pairs.items():
        kids = [k for k in hier.nodes if lv[k] == child_level and pick(k)]
        np.testing.assert_allclose(w.loc[parent].to_numpy(), w.loc[kids].sum().to_numpy(), rtol=1e-9,
                                   err_msg=f"{parent} != sum of {kids}")
    assert rc.coherence_error(fc, hier) < 1e-8
    # the total also equals the sum of categories and of products: both hierarchies agree
    cats = [k for k in hier.nodes if lv[k] == "category"]
    np.testing.assert_allclose(w.loc["total"].to_numpy(), w.loc[cats].sum().to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("method", ["bottom_up", "ols", "mint_shrink"])
def test_reconciled_forecasts_are_coherent(hier, method):
    base = _base(hier)
    assert rc.coherence_error(base, hier) > 0.1  # the base forecasts are not coherent
    res = _base(hier, seed=1)[["series_id", "ds"]].assign(resid=np.random.default_rng(3).normal(
        size=len(hier.nodes) * len(DATES)))
    fc = rc.reconcile(base, hier, method=method, residuals=res if method == "mint_shrink" else None)
    assert set(fc["series_id"]) == set(hier.nodes) and len(fc) == len(hier.nodes) * len(DATES)
    _assert_coherent(fc, hier)
    assert (fc["yhat_lo_95"] <= fc["yhat_lo_80"]).all() and (fc["yhat_lo_80"] <= fc["yhat"]).all()
    assert (fc["yhat"] <= fc["yhat_hi_80"]).all() and (fc["yhat_hi_80"] <= fc["yhat_hi_95"]).all()


def test_bottom_up_keeps_bottom_and_moves_aggregate_intervals(hier):
    base = _base(hier)
    fc = rc.reconcile(base, hier, "bottom_up")
    merged = fc.merge(base, on=["series_id", "ds"], suffixes=("", "_base"))
    bottom = merged[merged["series_id"].isin(hier.bottom)]
    np.testing.assert_allclose(bottom["yhat"], bottom["yhat_base"])
    np.testing.assert_allclose(bottom["yhat_hi_95"], bottom["yhat_hi_95_base"])
    # an aggregate keeps its own interval width, centred on the bottom-up sum
    tot = merged[merged["series_id"] == "total"]
    np.testing.assert_allclose(tot["yhat_hi_80"] - tot["yhat"], tot["yhat_hi_80_base"] - tot["yhat_base"])
    np.testing.assert_allclose(tot["yhat"], base[base["series_id"].isin(hier.bottom)].groupby("ds")["yhat"].sum())


def test_bottom_up_without_aggregate_forecasts_uses_root_sum_of_squares(hier):
    base = _base(hier, noise=False)
    bottom_only = base[base["series_id"].isin(hier.bottom)]
    fc = rc.reconcile(bottom_only, hier, "bottom_up").set_index(["series_id", "ds"])
    kids = bottom_only[bottom_only["series_id"].isin(hier.members("region=S"))]
    width = np.sqrt(((kids["yhat_hi_95"] - kids["yhat"]) ** 2).groupby(kids["ds"]).sum())
    got = fc.loc["region=S"]["yhat_hi_95"] - fc.loc["region=S"]["yhat"]
    np.testing.assert_allclose(got.to_numpy(), width.to_numpy())


def test_ols_matches_textbook_projection(hier):
    base = _base(hier)
    fc = rc.reconcile(base, hier, "ols")
    S = hier.S.toarray()
    yhat = _wide(base, hier.nodes)
    expected = S @ np.linalg.solve(S.T @ S, S.T @ yhat)
    np.testing.assert_allclose(_wide(fc, hier.nodes), expected, rtol=1e-9)


def test_mint_shrink_matches_textbook_formula(hier):
    base = _base(hier)
    rng = np.random.default_rng(11)
    T = 30
    n = len(hier.nodes)
    # a common factor makes the residuals correlated, so the shrinkage is strictly between 0 and 1
    R = rng.normal(size=(T, 1)) @ rng.uniform(0.5, 2, (1, n)) + rng.normal(size=(T, n)) * rng.uniform(0.5, 3, n)
    res = pd.DataFrame({"series_id": np.tile(np.asarray(hier.nodes, dtype=object), T),
                        "ds": np.repeat(pd.date_range("2023-01-01", periods=T).to_numpy(), len(hier.nodes)),
                        "resid": R.ravel()})
    fc = rc.reconcile(base, hier, "mint_shrink", residuals=res)
    # textbook: W = lam*diag + (1-lam)*Sigma, P = (S'W^-1 S)^-1 S'W^-1
    lam, var = rc.shrinkage_covariance_factors(R)
    assert 0 < lam < 1
    sigma = R.T @ R / T
    W = lam * np.diag(np.diag(sigma)) + (1 - lam) * sigma
    S = hier.S.toarray()
    Wi = np.linalg.inv(W)
    expected = S @ np.linalg.solve(S.T @ Wi @ S, S.T @ Wi @ _wide(base, hier.nodes))
    np.testing.assert_allclose(_wide(fc, hier.nodes), expected, rtol=1e-7)


def test_shrinkage_intensity_matches_unblocked_formula():
    rng = np.random.default_rng(5)
    R = rng.normal(size=(20, 700))  # more columns than one block
    R[:, 1] = R[:, 0] + 0.1 * rng.normal(size=20)
    lam, var = rc.shrinkage_covariance_factors(R)
    T = R.shape[0]
    cov = R.T @ R / T
    xs = R / np.sqrt(np.diag(cov))
    v = (xs ** 2).T @ (xs ** 2) - (xs.T @ xs) ** 2 / T
    v /= T * (T - 1)
    np.fill_diagonal(v, 0)
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    np.fill_diagonal(corr, 0)
    assert lam == pytest.approx(min(max(v.sum() / (corr ** 2).sum(), 0), 1), rel=1e-9)
    np.testing.assert_allclose(var, np.diag(cov))


def test_clear_errors(hier):
    base = _base(hier)
    with pytest.raises(ValueError, match="unknown reconciliation method"):
        rc.reconcile(base, hier, "median")
    with pytest.raises(ValueError, match="lack a base forecast"):
        rc.reconcile(base[base["series_id"] != "store=1/product=a"], hier, "bottom_up")
    with pytest.raises(ValueError, match="lack a base forecast"):
        rc.reconcile(base[base["series_id"] != "total"], hier, "ols")
    with pytest.raises(ValueError, match="residuals"):
        rc.reconcile(base, hier, "mint_shrink")
    with pytest.raises(ValueError, match="unknown aggregate level"):
        rc.build_hierarchy(BOTTOM, levels=("total", "country"), node_keys=node_keys)
