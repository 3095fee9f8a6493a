"""Acceptance on the real Walmart data at level total: holiday ranking, markdown and temperature rows, speed."""
import math

import pandas as pd
import pytest

pytestmark = [pytest.mark.walmart, pytest.mark.slow]


@pytest.fixture(scope="module")
def walmart_effects(walmart_db):
    """``run_effects`` at level total on the shared Walmart import (not saved: the import tests hash the file)."""
    from jobs import effects_job
    url, _ = walmart_db
    result = effects_job.run_effects(level="total", save=False, url=url)
    return result, pd.DataFrame(result["effects"])


def test_thanksgiving_and_christmas_are_the_largest_positive_holiday_effects(walmart_effects):
    _, eff = walmart_effects
    hol = eff[eff["kind"] == "holiday"].sort_values("estimate", ascending=False)
    assert set(hol["name"]) == {"Super Bowl", "Labor Day", "Thanksgiving", "Christmas"}
    assert set(hol["name"].head(2)) == {"Thanksgiving", "Christmas"}, hol
    assert (hol["estimate"].head(2) > 0).all(), hol


def test_markdown_and_temperature_are_reported_with_intervals(walmart_effects):
    _, eff = walmart_effects
    for kind in ("promo_lift", "temperature"):
        rows = eff[eff["kind"] == kind]
        assert len(rows), kind
        for r in rows.itertuples(index=False):  # whatever the sign: the data decide it
            assert all(math.isfinite(v) for v in (r.ci_low, r.estimate, r.ci_high)), r
            assert r.ci_low <= r.estimate <= r.ci_high, r
    assert "promotion" in set(eff.loc[eff["kind"] == "promo_lift", "name"])


def test_walmart_effects_within_a_minute(walmart_effects):
    result, _ = walmart_effects
    assert set(result) == {"dataset", "level", "seconds", "effects"} and result["level"] == "total"
    assert 0 < result["seconds"] < 60
