"""Issue 13 §2b: backtests give each fold only what was known at its origin (the plan), not the realised inputs.

The trap is a model that reads the promotion column of ``X_future``: on data whose sales are driven by the
realised promotions it scores perfectly when the folds are fed the realised calendar (oracle), while the
published forecast, made with an empty plan, knows no promotion. An as-known backtest must show it promo 0.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from domain import BOTTOM_LEVEL
from jobs import runner, stages
from jobs.params import RefreshParams
from models import registry
from models.backtest import rolling_origin
from models.local import LocalForecaster
from tests.test_refresh import make_store

SEEN: list[pd.DataFrame] = []


class PromoPeek(LocalForecaster):
    """Forecasts 10 + 10 x the promotion flag it is given for each future date (and records what it saw)."""

    name = "promo_peek"
    uses_exog = True

    def min_length(self) -> int:
        return 1

    def _fit_one(self, g: pd.DataFrame):
        return {}

    def _predict_one(self, state, h: int, xf, levels) -> dict:
        SEEN.append(xf[["series_id", "ds", "promo"]].copy())
        yhat = 10.0 + 10.0 * xf["promo"].to_numpy(dtype=float)
        return {"yhat": yhat, **{f"yhat_{s}_{lv}": yhat for lv in levels for s in ("lo", "hi")}}


@pytest.fixture
def peek_registered(monkeypatch):
    monkeypatch.setitem(registry.MODELS, "promo_peek", PromoPeek)
    SEEN.clear()
    yield
    SEEN.clear()


def _promo_frame(days: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    promo = (rng.random(days) < 0.3).astype(float)
    return pd.DataFrame({"series_id": "s", "ds": pd.date_range("2023-01-02", periods=days), "y": 10 + 10 * promo,
                         "promo": promo, "is_holiday": 0.0, "temp_c": 10.0})


def test_oracle_inputs_let_a_promo_reader_score_perfectly(peek_registered):
    df = _promo_frame()
    metrics, _ = rolling_origin(df, "promo_peek", "D", 14, folds=3)
    assert metrics["wape"].max() < 1e-12  # the realised promotions: a perfect score nobody gets in production
    assert max(s["promo"].max() for s in SEEN) == 1.0


def test_as_known_inputs_with_an_empty_plan_show_promo_zero(peek_registered):
    df = _promo_frame()
    window = df[df["ds"] > df["ds"].max() - pd.Timedelta(days=42)]
    known = window[["series_id", "ds"]].assign(promo=0.0, is_holiday=0.0, temp_c=10.0)  # nothing planned
    metrics, fc = rolling_origin(df, "promo_peek", "D", 14, folds=3, known_future=known)
    assert len(SEEN) == 3 and all((s["promo"] == 0).all() for s in SEEN)
    assert (fc["yhat"] == 10.0).all()
    assert metrics["wape"].min() > 0.1  # the promotions it cannot know cost it accuracy


def test_refresh_catches_a_model_that_reads_realised_promotions(tmp_db, tmp_path, monkeypatch, peek_registered):
    """End to end: the store's facts have promotions, its plan is empty; the as-known folds show promo 0 and
    the run summary says as_known; the oracle comparison run scores the same model better and says oracle."""
    monkeypatch.setenv("SALES_MODELS_DIR", str(tmp_path / "models"))
    make_store(tmp_db)
    params = RefreshParams.from_cli("D", horizon=14, models="promo_peek", levels=BOTTOM_LEVEL)
    inputs = stages.load(params, stages.Progress(None, tmp_db, False, None), tmp_db)
    known, hist = inputs.knowns[BOTTOM_LEVEL], inputs.frames[BOTTOM_LEVEL]
    window = hist[hist["ds"].isin(known["ds"])]
    assert window["promo"].sum() > 0 and (known["promo"] == 0).all()
    assert known["ds"].nunique() == 3 * 14 and known["series_id"].nunique() == hist["series_id"].nunique()

    SEEN.clear()
    known_run = runner.refresh(horizon=14, models="promo_peek", jobs=1, progress=False, url=tmp_db,
                               levels=BOTTOM_LEVEL, force=True)
    assert known_run["status"] == "success" and known_run["backtest_inputs"] == "as_known"
    seen = pd.concat(SEEN)
    backtest_seen = seen[seen["ds"] <= hist["ds"].max()]  # later dates: the published forecast
    assert len(backtest_seen) == 3 * 14 * hist["series_id"].nunique() and (backtest_seen["promo"] == 0).all()
    oracle_run = runner.refresh(horizon=14, models="promo_peek", jobs=1, progress=False, url=tmp_db,
                                levels=BOTTOM_LEVEL, force=True, backtest_inputs="oracle")
    assert oracle_run["status"] == "success" and oracle_run["backtest_inputs"] == "oracle"
    w_known = known_run["metrics"]["promo_peek"]["wape"]
    w_oracle = oracle_run["metrics"]["promo_peek"]["wape"]
    assert w_oracle < w_known  # the oracle number flatters the model; the as-known one is what is shown


def test_backtest_inputs_must_be_named():
    with pytest.raises(ValueError, match="backtest inputs"):
        RefreshParams.from_cli("D", backtest_inputs="future")
    assert "backtest_inputs" not in RefreshParams.from_cli("D").to_dict()
    assert RefreshParams.from_cli("D", backtest_inputs="oracle").to_dict()["backtest_inputs"] == "oracle"
