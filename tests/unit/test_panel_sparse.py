"""The fixed-effects fit with sparse 0/1 regressors equals a direct dense computation on the whole n x k matrix."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics._design import fit_log_sales
from analytics._panel import Design, fit_within
from analytics._synthetic import panel

RTOL = 1e-8  # float64 sums in another order differ by ~1e-14 here; 1e-8 leaves room for the solve's conditioning


def _direct(y, X: pd.DataFrame, series, dates, weights=None, level=0.95):
    """Textbook two-way clustered within estimator on the whole n x k matrix (Cameron, Gelbach & Miller 2011:
    V = V_series + V_date - V_series x date, each with its G/(G-1) factor, floored at the largest one-way
    variance), written out with pandas group means and numpy products."""
    X = X.astype(float)
    Xd = X - X.groupby(series).transform("mean")
    yd = pd.Series(y) - pd.Series(y).groupby(series).transform("mean")
    keep = [c for c in X.columns if np.sqrt((Xd[c] ** 2).sum()) > 1e-9 * max(1.0, np.sqrt((X ** 2).sum()).max())]
    Xd = Xd[keep].to_numpy()
    yd = yd.to_numpy()
    if weights is not None:
        sw = np.sqrt(weights / weights.mean())
        Xd, yd = Xd * sw[:, None], yd * sw
    bread = np.linalg.inv(Xd.T @ Xd)
    beta = bread @ Xd.T @ yd
    scores = Xd * (yd - Xd @ beta)[:, None]
    n, k, n_s = len(y), len(keep), len(set(series))

    def meat(labels):
        sums = pd.DataFrame(scores).groupby(np.asarray(labels)).sum().to_numpy()
        g = len(sums)
        return g / (g - 1) * sums.T @ sums

    inter = [f"{s}|{d}" for s, d in zip(series, dates)]
    meats = [meat(series), meat(dates), meat(inter)]
    small = (n - 1) / (n - k - n_s)
    cov = small * bread @ (meats[0] + meats[1] - meats[2]) @ bread
    floors = small * np.max([np.diag(bread @ m @ bread) for m in meats], axis=0)
    v = np.diag(cov)
    f = np.where(v > 0, np.sqrt(np.maximum(1.0, floors / np.where(v > 0, v, 1.0))), 0.0)
    cov = cov * np.outer(f, f)
    cov[np.diag_indices(k)] = np.maximum(np.diag(cov), floors)  # a non-positive two-way variance: the floor
    t = stats.t.ppf(0.5 + level / 2, min(n_s, len(set(dates))) - 1)
    se = np.sqrt(np.diag(cov))
    return keep, beta, beta - t * se, beta + t * se


def _panel(seed, n_series=9, t=40, duplicate=False):
    rng = np.random.default_rng(seed)
    series = np.repeat([f"s{i}" for i in range(n_series)], t)
    dates = np.tile(np.arange(t), n_series)
    if duplicate:  # two rows on some series-dates: the intersection clusters are not single rows
        dates = np.tile(np.repeat(np.arange(t // 2), 2), n_series)
    x = rng.normal(size=len(series))
    flag = (rng.random(len(series)) < 0.2).astype(float)
    X = pd.DataFrame({"x": x, "flag": flag, "twice_x": 2 * x, "level": np.repeat(rng.normal(size=n_series), t),
                      "common": np.tile(rng.normal(size=t), n_series), "rare": np.where(flag > 0, 1 + x, 0.0)})
    y = (np.repeat(rng.normal(0, 3, n_series), t) + 0.5 * x - 0.3 * flag + X["common"] + 0.2 * X["rare"]
         + rng.normal(0, 1, len(x)))
    return y, X, series, dates, np.repeat(rng.uniform(1, 50, n_series), t)


@pytest.mark.parametrize("duplicate", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_and_dense_paths_equal_the_direct_computation(duplicate, weighted):
    y, X, series, dates, w = _panel(7, duplicate=duplicate)
    w = w if weighted else None
    fast = fit_within(y, X, series, dates, weights=w)  # "flag" (0/1) and "rare" (80% zeros) are sparse columns
    dense = fit_within(y, Design.stack([(c, X[c].to_numpy()) for c in X.columns], sparse_flags=False), series,
                       dates, weights=w)
    keep, beta, lo, hi = _direct(y, X.drop(columns="twice_x"), series, dates, w)
    assert fast.names == dense.names == keep and fast.dropped == ["twice_x", "level"]
    for fit in (fast, dense):
        np.testing.assert_allclose(fit.coef, beta, rtol=RTOL)
        got = np.array([fit.interval(c)[1:] for c in keep])
        np.testing.assert_allclose(got[:, 0], lo, rtol=RTOL)
        np.testing.assert_allclose(got[:, 1], hi, rtol=RTOL)
    assert fast.n_nonzero == dense.n_nonzero and fast.n_nonzero["flag"] == int(X["flag"].sum())


def test_compact_design_holds_the_same_values():
    y, X, series, dates, _ = _panel(8)
    rows = np.arange(len(X)) % 3 > 0
    d = Design.stack([(c, X[c].to_numpy()) for c in X.columns], rows)
    assert d.flags.shape == (rows.sum(), 2) and list(d.flag_pos) == [1, 5]  # "flag" and "rare"
    full = np.empty((d.n, len(d.names)))
    full[:, d.flag_pos] = d.flags.toarray()
    full[:, d.value_pos] = d.values
    np.testing.assert_array_equal(full, X[rows].to_numpy())
    np.testing.assert_array_equal(d.nonzero, np.count_nonzero(X[rows].to_numpy(), axis=0))


def test_effects_fit_with_sparse_flags_equals_the_dense_fit(monkeypatch):
    """The effects regression (holiday windows, day-of-week, promotion, weather, calendar; sales weights) with
    its 0/1 columns sparse equals the fit with every column dense, estimates and covariance."""
    import analytics._design as design_module
    df, ev = panel(seed=3, n_series=6, periods=400)
    fast, _ = fit_log_sales(df, "D", ev, post_promo=3, weather="binned")

    class Dense(Design):
        @classmethod
        def stack(cls, columns, rows=None, sparse_flags=True):
            return Design.stack(columns, rows, sparse_flags=False)

    monkeypatch.setattr(design_module, "Design", Dense)
    dense, _ = fit_log_sales(df, "D", ev, post_promo=3, weather="binned")
    assert fast.names == dense.names and len(fast.names) > 20
    np.testing.assert_allclose(fast.coef, dense.coef, rtol=RTOL)
    np.testing.assert_allclose(fast.cov, dense.cov, rtol=RTOL, atol=1e-14)
