"""Effects orchestration: groups, truth matching (with units), JSON records and the text report."""
import math

import pandas as pd

from analytics import effects
from analytics._synthetic import panel


def test_estimate_effects_per_group():
    df, ev = panel(seed=31, n_series=8, periods=500, lift=0.2)
    df["category"] = ["A" if int(s[1:]) % 2 else "B" for s in df["series_id"]]
    out = effects.estimate_effects(df, "D", ev, group_col="category")
    eff = out["effects"]
    promo = eff[(eff["kind"] == "promo_lift") & (eff["name"] == "promotion")]
    assert list(promo["group"]) == ["A", "B"]
    assert ((promo["ci_low"] < 0.2) & (0.2 < promo["ci_high"])).all()
    assert {"temperature", "precipitation", "holiday"} <= set(eff["kind"])
    assert len(out["promo_by_store"]) == df["store_id"].nunique()
    assert set(out["holiday_event_study"]["group"]) == {"A", "B"}
    assert "temp_c" in out["temperature_curve"] and "precip_mm" in out["precipitation_curve"]


def test_attach_truth_matches_group_then_all_and_checks_units():
    eff = pd.DataFrame([
        {"kind": "promo_lift", "group": "A", "name": "promotion", "estimate": 0.2, "ci_low": 0.1, "ci_high": 0.3,
         "unit": "relative", "n": 5, "truth": None},
        {"kind": "holiday", "group": "A", "name": "Xmas", "estimate": -1.0, "ci_low": -1.0, "ci_high": -1.0,
         "unit": "relative", "n": 0, "truth": None},
        {"kind": "temperature", "group": "A", "name": "per_degC", "estimate": 0.01, "ci_low": 0.0, "ci_high": 0.02,
         "unit": "relative_per_degC", "n": 9, "truth": None}])
    truth = pd.DataFrame([("promo_lift", "A", "promotion", 0.25, "relative"),
                          ("holiday", "all", "Xmas", -1.0, "relative"),
                          ("temperature", "A", "per_degC", 1.0, "log_per_degC")],
                         columns=["kind", "group", "name", "value", "unit"])
    out = effects.attach_truth(eff, truth)
    assert list(out["truth"][:2]) == [0.25, -1.0]
    assert pd.isna(out["truth"].iloc[2])  # unit mismatch: never compared
    cov = effects.coverage(out, kinds=("promo_lift",))
    assert cov == {"covered": 1, "total": 1, "share": 1.0}


def test_records_and_report():
    eff = pd.DataFrame([{"kind": "promo_lift", "group": "A", "name": "promotion", "estimate": 0.2,
                         "ci_low": 0.1, "ci_high": math.inf, "unit": "relative", "n": 5, "truth": 0.25}])
    rec = effects.records(eff)
    assert rec[0]["ci_high"] is None and rec[0]["n"] == 5
    text = effects.format_effects({"dataset": "demo", "level": "category", "seconds": 1.0,
                                   "effects": effects.records(eff.assign(ci_high=0.3))})
    assert "+20.00%" in text and "+25.00%" in text and "yes" in text


def test_rank_holidays_by_the_size_of_the_effect_on_the_day():
    study = pd.DataFrame({"holiday": ["A", "A", "B", "B", "C"], "offset": [0, -1, 0, -1, 0],
                          "estimate": [0.1, 0.9, -0.5, 0.0, 0.3]})
    assert effects.rank_holidays(study) == ["B", "C", "A"]
    assert effects.rank_holidays(study.assign(offset=-1)) == ["A", "C", "B"]  # no offset 0: every offset
    assert effects.rank_holidays(None) == [] and effects.rank_holidays(study.iloc[0:0]) == []


def test_promo_rows_prefer_the_on_off_lift():
    eff = pd.DataFrame({"kind": ["promo_lift"] * 3 + ["holiday"],
                        "name": ["post_promotion_dip", "promo_intensity", "promotion", "promotion"]})
    assert list(effects.promo_rows(eff).index) == [2]
    assert list(effects.promo_rows(eff.iloc[:2])["name"]) == ["promo_intensity"]
    assert effects.promo_rows(eff.iloc[:1]).empty
