"""Within-series correlations and the lagged promotion correlation."""
import numpy as np
import pandas as pd
import pytest

from analytics import correlations as C


def _frame(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s, level in enumerate([1.0, 5.0, 9.0]):  # big level differences must not create correlation
        n = 400
        promo = (rng.random(n) < 0.2).astype(int)
        temp = rng.normal(15, 5, n)
        log_y = level + 0.3 * promo - 0.3 * np.r_[0, promo[:-1]] + rng.normal(0, 0.1, n)
        rows.append(pd.DataFrame({"series_id": f"s{s}", "ds": pd.date_range("2022-01-01", periods=n),
                                  "y": np.exp(log_y), "promo": promo, "temp_c": temp + 10 * s}))
    return pd.concat(rows, ignore_index=True)


def test_matrix_within_series():
    m = C.correlation_matrix(_frame())
    row = m[(m["var1"] == "log_sales") & (m["var2"] == "promo")].iloc[0]
    assert row["r"] > 0.3 and row["p"] < 1e-6 and row["ci_low"] < row["r"] < row["ci_high"]
    temp = m[(m["var1"] == "log_sales") & (m["var2"] == "temp_c")].iloc[0]
    # temperature is unrelated within series, although its level differs with the series' sales level
    assert temp["ci_low"] < 0 < temp["ci_high"]
    assert set(m.columns) == {"var1", "var2", "r", "p", "ci_low", "ci_high", "n"}


def test_lagged_correlation_shows_post_promotion_dip():
    lag = C.lagged_correlation(_frame(), "promo", "D", lags=range(-2, 3)).set_index("lag")
    assert lag.loc[0, "r"] > 0 and lag.loc[0, "ci_low"] > 0
    assert lag.loc[1, "ci_high"] < 0  # the day after a promotion sells less
    assert lag.loc[-1, "ci_low"] < 0 < lag.loc[-1, "ci_high"]


def test_missing_columns_error():
    with pytest.raises(ValueError, match="series_id"):
        C.correlation_matrix(pd.DataFrame({"y": [1.0]}))
