"""The demo's order lines against their planted truth (recovery inside the intervals, churn AUC on the later period,
CLV bias on the holdout), and `cli.py demo --orders` + `cli.py customers` end to end on a small store."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import cli
from data import customers, demo, demo_orders, orders, store
from domain import Frames
from jobs import customers_job


@pytest.fixture(scope="module")
def demo_result():
    """6000 customers over a 3-store x 4-product demo of 3 years (orders seed 0), analysed as `cli.py customers`."""
    dates = pd.date_range("2021-01-01", "2023-12-31")
    frames = demo._simulate(7, 3, 4, dates, False)
    lines, truth = demo_orders.generate(frames["sales"], frames["stores"], frames["products"], seed=0,
                                        n_customers=6000)
    planted = {"bgnbd": truth["bgnbd"], "gamma_gamma": truth["gamma_gamma"]}
    return lines, truth, customers_job.compute(lines, horizon="12m", planted=planted)["summary"]


def test_fitted_parameters_hold_the_planted_ones_inside_their_intervals(demo_result):
    _lines, truth, s = demo_result
    for kind in ("bgnbd", "gamma_gamma"):
        for name, value in truth[kind].items():
            fit = s["models"][kind][name]
            assert fit["planted"] == value and fit["lo95"] <= value <= fit["hi95"], (kind, name, fit)
            assert fit["hi95"] / fit["lo95"] < 2.5  # and the intervals are informative


def test_churn_classifier_auc_on_the_later_period(demo_result):
    c = demo_result[2]["churn"]
    assert c["auc"] >= 0.75 and c["auc_lo95"] < c["auc"] < c["auc_hi95"]
    assert c["valid_cutoff"] > c["train_cutoff"] and c["window_days"] == 182
    assert c["brier"] < c["brier_base_rate"]  # better than predicting the base rate
    rel = demo_result[2]["churn_reliability"]
    assert len(rel) == 10 and sum(r["customers"] for r in rel) == c["customers_valid"]
    assert sum(r["lo95"] <= r["mean_predicted"] <= r["hi95"] for r in rel) >= 7  # calibrated within noise


def test_clv_is_unbiased_on_the_holdout(demo_result):
    h = demo_result[2]["clv_holdout"]
    assert h["cutoff"] == "2023-01-01" and h["end"] == "2023-12-31"
    assert abs(h["bias_purchases"]) <= 0.10 and abs(h["bias_spend"]) <= 0.10
    assert h["corr_spend"] > 0.5
    by_x = demo_result[2]["clv_holdout_by_frequency"]
    assert [r["x_group"] for r in by_x] == list(range(8)) and sum(r["customers"] for r in by_x) == h["customers"]


def test_order_lines_follow_the_demo(demo_result):
    lines, truth, s = demo_result
    assert s["customers"] == truth["customers"] == 6000 and s["orders"] == truth["orders"]
    per_day = lines.groupby(["customer", "date"])["order_id"].nunique()
    assert per_day.max() == 1  # one purchase per customer and day: the models count purchase days
    assert lines["revenue"].gt(0).all() and lines["quantity"].ge(1).all()
    assert not lines["date"].isin(pd.to_datetime(["2021-12-25", "2022-12-25", "2021-11-25"])).any()  # closed days
    assert set(lines["product"]) == {"P001", "P002", "P003", "P004"} and lines["discount"].between(0, 0.5).all()


def test_demo_orders_and_customers_commands(tmp_path, monkeypatch, capsys):
    db = tmp_path / "cust.db"
    assert cli.main(["demo", "--stores", "2", "--products", "3", "--years", "2", "--orders", "300", "--json",
                     "--db", str(db)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["order_lines"]["customers"] == 300 and out["order_lines"]["message"] == "imported"
    url = store.resolve_url()
    lines = orders.read_order_lines(url)
    facts = store.sales_facts(url)
    assert len(lines) == out["order_lines"]["order_lines"] and facts["sales"].sum() == pytest.approx(
        lines["revenue"].sum())
    assert customers.planted(url)["bgnbd"] == demo_orders.PLANTED_BGNBD
    assert cli.main(["customers", "--horizon", "26w", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["customers"] == 300 and s["horizon"] == "26w" and s["horizon_weeks"] == 26
    assert {"segments", "models", "clv_holdout", "churn", "top_customers", "churn_risk", "seconds"} <= set(s)
    assert s["models"]["bgnbd"]["r"]["planted"] == 0.243
    scores = customers.scores(url)
    assert len(scores) == 300 and scores["customer"].str.startswith("C").all()
    assert customers.load(Frames.CUSTOMER_COHORTS, url)["retention"].between(0, 1).all()
    # a second demo without --orders replaces the order lines (no --force needed: the import was the demo's)
    assert cli.main(["demo", "--stores", "2", "--products", "3", "--years", "2", "--json"]) == 0
    capsys.readouterr()
    assert orders.read_order_lines(url).empty
    assert cli.main(["customers", "--horizon", "5x"]) == 2
    assert "horizon must be" in capsys.readouterr().err
    assert cli.main(["customers"]) == 2
    assert "demo --orders" in capsys.readouterr().err
