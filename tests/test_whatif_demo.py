"""What-if scenarios and price elasticity on the demo data, where the promotion response is planted.

The default demo (seed 42, 10 stores x 20 products x 3 years) gets one quick refresh of its store x product
series (seasonal naive, 14 days) and the category effects; the scenarios then run against them.
"""
from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cli
from data import demo_spec as spec
from data import store
from domain import BOTTOM_LEVEL, Frames

HORIZON = 14


@pytest.fixture(scope="module")
def whatif_db(demo_db_master, tmp_path_factory) -> str:
    """A copy of the default demo with a store x product refresh and the category effects."""
    from jobs import effects_job, runner
    store.get_engine(f"sqlite:///{demo_db_master}").dispose()
    path = tmp_path_factory.mktemp("whatif") / "demo.db"
    shutil.copy(demo_db_master, path)
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SALES_DB", url)
        summary = runner.refresh(models="seasonal_naive", horizon=HORIZON, folds=1, jobs=1, progress=False,
                                 levels="store_product")
        assert summary["status"] == "success"
        effects_job.run_effects(level="category", save=True, url=url, extras=False)
    return url


@pytest.fixture
def env_db(whatif_db, monkeypatch) -> str:
    monkeypatch.setenv("SALES_DB", whatif_db)
    return whatif_db


def _horizon(url: str) -> pd.DatetimeIndex:
    fc = store.forecast("store=01/product=P001", url=url)
    return pd.DatetimeIndex(fc["ds"])


def _planted_elasticity(panel: pd.DataFrame, category: str) -> float:
    """The constant elasticity the planted response implies on this sample: the least-squares slope of the
    true log units (``b * d / d_ref - log(1 - d)`` plus terms unrelated to price) on log price ``log(1 - d)``
    over the category's open rows with sales (the planted lift is log-linear in depth, so log-log is an
    approximation whose best-fitting slope depends on the depths that occurred)."""
    sub = panel[(panel["category"] == category) & (panel["is_open"] == 1) & (panel["y"] > 0)]
    d = sub["promo_intensity"].fillna(0).to_numpy()
    g = np.log(1 - d)
    f = math.log1p(spec.CATEGORIES[category]["lift"]) * d / spec.PROMO_REF_DEPTH - g
    g_c = g - g.mean()
    return float((g_c * (f - f.mean())).sum() / (g_c ** 2).sum())


def test_price_elasticity_recovers_the_planted_response(whatif_db):
    from jobs.effects_job import load_panel
    frame = store.load_frame(Frames.PRICE_ELASTICITY, "category", url=whatif_db)
    panel = load_panel(whatif_db)
    cats = frame[frame["product_id"] == "*"].set_index("group")
    assert sorted(cats.index) == sorted(spec.CATEGORIES)
    for cat, row in cats.iterrows():
        truth = _planted_elasticity(panel, cat)
        assert row["ci_low"] <= truth <= row["ci_high"], (cat, truth, row.to_dict())
        assert row["ci_high"] - row["ci_low"] < 0.5
    products = frame[frame["product_id"] != "*"]
    assert len(products) == 20  # every demo product's price varies (promotions), so each gets an estimate
    inside = [r.ci_low <= _planted_elasticity(panel[panel["product_id"] == r.product_id], r.group) <= r.ci_high
              for r in products.itertuples()]
    assert np.mean(inside) >= 0.8, products
    depths = store.load_frame(Frames.PROMO_REFERENCE_DEPTH, "category", url=whatif_db)
    assert np.allclose(depths["ref_depth"], spec.PROMO_REF_DEPTH)


def test_scenario_lift_recovers_the_planted_category_lift(env_db):
    """Issue 13 §3: for 40 sampled store x product series the scenario's promotion lift at the reference depth
    holds the planted category lift inside its 95% interval for at least 90% of them."""
    from jobs import whatif_job
    days = _horizon(env_db)
    nodes = store.nodes(BOTTOM_LEVEL, url=env_db)
    sample = nodes.sample(40, random_state=0)
    window = f"{days[2].date()}:{days[8].date()}"
    inside, rows = 0, []
    for r in sample.itertuples():
        out = whatif_job.run_whatif(r.node_id, window, depth=spec.PROMO_REF_DEPTH, n_draws=1000, url=env_db)
        truth = spec.CATEGORIES[r.category]["lift"]
        lf = out["promo_lift"]
        ok = lf["lo_95"] <= truth <= lf["hi_95"]
        inside += ok
        rows.append((r.node_id, truth, lf["lo_95"], lf["estimate"], lf["hi_95"]))
        assert lf["lo_95"] <= lf["lo_80"] <= lf["estimate"] <= lf["hi_80"] <= lf["hi_95"]
        rev = out["revenue"]["difference"]
        assert rev["lo_95"] < rev["estimate"] < rev["hi_95"] and rev["lo_95"] > 0  # a planted lift sells more
    assert inside >= 36, rows


def test_aggregate_closed_days_and_json(env_db, capsys):
    days = _horizon(env_db)
    args = ["whatif", "--node", "store=01", "--promo", f"{days[1].date()}:{days[3].date()}", "--closed",
            f"{days[10].date()}:{days[11].date()}", "--json", "--draws", "500"]
    assert cli.main(args) == 0
    import json
    out = json.loads(capsys.readouterr().out)
    assert out["series"] == 20 and len(out["categories"]) == 4
    daily = pd.DataFrame(out["daily"])
    closed = daily["ds"].isin([str(days[10].date()), str(days[11].date())])
    assert (daily.loc[closed, "scenario"] == 0).all() and (daily.loc[closed, "scenario_hi_95"] == 0).all()
    assert out["closed"]["steps"] == 2 and out["post_promotion_steps"] == 3
    for m in ("units", "revenue"):
        t = out[m]
        for part in ("baseline", "scenario", "difference"):
            v = t[part]
            assert v["lo_95"] <= v["lo_80"] <= v["hi_80"] <= v["hi_95"]
    assert out["margin"] is None and "unit cost" in out["margin_note"]


def _digest(url: str) -> str:
    store.get_engine(url).dispose()
    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


@pytest.mark.parametrize("extra, message", [
    (["--node", "store=99/product=P001"], "unknown node 'store=99/product=P001'"),
    (["--node", "not a key"], "unknown node"),
    (["--promo", "END"], "--promo: expected START:END"),
    (["--promo", "REVERSED"], "is before start"),
    (["--promo", "2030-01-01:2030-01-05"], "outside the forecast horizon"),
    (["--depth", "1.0"], "--depth must be in [0, 1)"),
    (["--depth", "-0.2"], "--depth must be in [0, 1)"),
    (["--price", "-3"], "--price must be a positive unit price"),
    (["--node", "store=01", "--price", "2"], "--price needs a node with one product"),
    (["--closed", "OVERLAP"], "--closed overlaps --promo"),
])
def test_bad_inputs_are_one_line_refusals(env_db, capsys, extra, message):
    days = _horizon(env_db)
    promo = f"{days[2].date()}:{days[5].date()}"
    subst = {"END": str(days[2].date()), "REVERSED": f"{days[5].date()}:{days[2].date()}",
             "OVERLAP": f"{days[4].date()}:{days[6].date()}"}
    args = {"--node": "store=01/product=P001", "--promo": promo}
    it = iter(extra)
    for flag in it:
        value = next(it)
        args[flag] = subst.get(value, value)
    before = _digest(env_db)
    argv = ["whatif"] + [x for kv in args.items() for x in kv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert _digest(env_db) == before


def test_refusals_without_effects_or_forecasts(small_demo_db, capsys):
    from jobs import runner
    argv = ["whatif", "--node", "store=01/product=P001", "--promo", "2030-01-01:2030-01-02"]
    assert cli.main(argv) == 2
    assert "no forecasts yet: run `python cli.py refresh`" in capsys.readouterr().err
    runner.refresh(models="seasonal_naive", horizon=7, folds=1, jobs=1, progress=False, levels="store_product")
    days = _horizon(small_demo_db)
    argv = ["whatif", "--node", "store=01/product=P001", "--promo", f"{days[1].date()}:{days[2].date()}"]
    assert cli.main(argv) == 2
    assert "no promotion effects computed yet: run `python cli.py effects`" in capsys.readouterr().err


def test_price_scenario_uses_the_products_elasticity(env_db):
    from jobs import whatif_job
    days = _horizon(env_db)
    out = whatif_job.run_whatif("product=P001", f"{days[1].date()}:{days[4].date()}", price=1.0, n_draws=500,
                                url=env_db)
    el = store.load_frame(Frames.PRICE_ELASTICITY, "category", url=env_db).set_index("product_id").loc["P001"]
    assert out["series"] == 10 and out["elasticity"]
    for r in out["elasticity"]:
        assert r["elasticity"] == pytest.approx(el["estimate"])
        assert r["units_change"] == pytest.approx((1.0 / r["regular_price"]) ** el["estimate"] - 1)
    assert out["promo_units_lift"]["lo_95"] > 0  # a lower price sells more units (negative elasticity)


def test_unit_costs_and_planned_promotions_come_from_the_plan(env_db, monkeypatch):
    """With the plan API present (issue 13 §1), a plan ``unit_cost`` gives the margin, and promotions the plan
    already holds in the window are pointed out."""
    from jobs import whatif_job
    days = _horizon(env_db)

    def expanded_plan(start=None, end=None, url=None):
        return pd.DataFrame({"store_id": ["01", "01"], "product_id": ["P001", "P001"],
                             "date": [days[0], days[2]], "promo": [np.nan, 1.0], "promo_intensity": [np.nan, 0.2],
                             "price": [np.nan, np.nan], "is_open": [np.nan, np.nan], "event": [None, None],
                             "unit_cost": [0.9, np.nan]})

    monkeypatch.setattr(store, "expanded_plan", expanded_plan, raising=False)
    out = whatif_job.run_whatif("store=01/product=P001", f"{days[2].date()}:{days[5].date()}", n_draws=500,
                                url=env_db)
    m, u, r = out["margin"], out["units"], out["revenue"]
    assert out["margin_note"] is None
    assert m["baseline"]["estimate"] == pytest.approx(r["baseline"]["estimate"] - 0.9 * u["baseline"]["estimate"])
    assert m["difference"]["lo_95"] <= m["difference"]["estimate"] <= m["difference"]["hi_95"]
    assert out["notes"] and "already promotes 1 series x days" in out["notes"][0]


def test_whatif_equal_to_the_demo_plan_changes_nothing(env_db, monkeypatch):
    """The demo plans promotions into the horizon. With a plan-aware forecast (the share is forced to 1 here; the
    fixture's seasonal naive never sees the plan) a what-if repeating a planned promotion adds nothing, a deeper
    one adds less than the same depth on an unplanned forecast, and the lift is the whole promotion's."""
    from jobs import whatif_job
    days = _horizon(env_db)
    plan = store.expanded_plan(days[0].date(), days[-1].date(), url=env_db)
    promoted = plan[plan["promo"] == 1].sort_values(["store_id", "product_id", "date"])
    r = promoted.iloc[0]
    mine = promoted[(promoted["store_id"] == r["store_id"]) & (promoted["product_id"] == r["product_id"])]
    run = mine[(mine["promo_intensity"] == r["promo_intensity"])
               & ((mine["date"] - r["date"]).dt.days == np.arange(len(mine)))]
    node, d0 = f"store={r['store_id']}/product={r['product_id']}", float(r["promo_intensity"])
    window = f"{run['date'].iloc[0].date()}:{run['date'].iloc[-1].date()}"
    unplanned = whatif_job.run_whatif(node, window, depth=min(d0 + 0.1, 0.9), n_draws=300, url=env_db)
    monkeypatch.setattr(whatif_job, "plan_carried_share", lambda ids, url=None: np.ones(len(ids)))
    same = whatif_job.run_whatif(node, window, depth=d0, n_draws=300, url=env_db)
    assert same["notes"] and "already promotes" in same["notes"][0]
    for m in ("units", "revenue"):
        d = same[m]["difference"]
        assert max(abs(d[k]) for k in ("estimate", "lo_95", "hi_95")) < 1e-6, (m, d)
    assert same["promo_lift"]["estimate"] > 0.05  # against the level without promotion
    deeper = whatif_job.run_whatif(node, window, depth=min(d0 + 0.1, 0.9), n_draws=300, url=env_db)
    assert 0 < deeper["revenue"]["difference"]["estimate"] < unplanned["revenue"]["difference"]["estimate"]
    assert deeper["promo_lift"]["estimate"] == pytest.approx(unplanned["promo_lift"]["estimate"])
