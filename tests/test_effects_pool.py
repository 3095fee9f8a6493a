"""The effects job's groups as tasks (each reads only its own rows; a process pool runs them) against the direct
computation on the whole panel in one process, and the filtered fact read they use (jobs/effects_job.py)."""
import pandas as pd
import pytest


def _saved_frames(monkeypatch) -> dict:
    """Every frame ``run_effects`` saves, as computed (before ``save_frame`` rounds it to JSON)."""
    from data import store
    saved, save = {}, store.save_frame

    def keep(session, name, level, df, *args, **kwargs):
        saved[name] = df.copy()
        return save(session, name, level, df, *args, **kwargs)

    monkeypatch.setattr(store, "save_frame", keep)
    return saved


def _whole_panel(url: str, level: str) -> dict:
    """The frames as the job computed them before its groups were tasks: the whole panel read at once and every
    group estimated from it in this process."""
    from analytics import effects, elasticity
    from data import store
    from domain import Frames
    from jobs import effects_job
    frame = effects_job.load_panel(url)
    freq, events = store.frequency(url), store.calendar_events(url)
    season_by = "category" if level != "category" and frame["category"].nunique() > 1 else None
    out = effects.estimate_effects(frame, freq, events, group_col=effects_job.LEVEL_COLUMNS[level], season_by=season_by)
    out[Frames.EFFECTS] = effects.attach_truth(out[Frames.EFFECTS], store.demo_truth(url))
    out.update(effects_job.extra_frames(level, freq, url))
    if level == "category":
        out[Frames.PRICE_ELASTICITY] = elasticity.price_elasticity(frame, freq, events)
        out[Frames.PROMO_REFERENCE_DEPTH] = elasticity.promo_reference_depths(frame)
    return out


@pytest.mark.parametrize("level, jobs", [("category", 2), ("store", 1)])
def test_group_tasks_equal_the_whole_panel_computation(small_demo_db, monkeypatch, level, jobs):
    from jobs import effects_job
    saved = _saved_frames(monkeypatch)
    result = effects_job.run_effects(level=level, save=True, url=small_demo_db, jobs=jobs)
    expected = _whole_panel(small_demo_db, level)
    assert set(saved) == set(expected)
    for name, want in expected.items():
        # every frame has rows on the demo (the comparison is not vacuous), but per store within a store
        assert len(want) or (level, name) == ("store", "promo_by_store_group"), name
        pd.testing.assert_frame_equal(saved[name].reset_index(drop=True), want.reset_index(drop=True),
                                      check_dtype=False, rtol=1e-9, atol=0, obj=name)
    assert set(result) == {"dataset", "level", "seconds", "effects"}
    assert len(result["effects"]) == len(expected["effects"])


@pytest.mark.backends("sqlite", "postgresql")
def test_bottom_frame_of_some_stores_and_products_is_the_full_read_filtered(small_demo_db):
    from data import store
    full = store.bottom_frame(url=small_demo_db)
    stores, products = sorted(full["store_id"].unique())[:2], sorted(full["product_id"].unique())[1:3]
    part = store.bottom_frame(url=small_demo_db, stores=stores, products=products)
    want = full[full["store_id"].isin(stores) & full["product_id"].isin(products)].reset_index(drop=True)
    assert len(want) and len(want) < len(full)
    pd.testing.assert_frame_equal(part, want)
    lo = full["ds"].min() + pd.Timedelta(days=60)
    hi = lo + pd.Timedelta(days=30)
    dated = store.bottom_frame(start=lo.date(), end=hi.date(), url=small_demo_db, products=products)
    assert dated["ds"].between(lo, hi).all() and set(dated["product_id"]) == set(products)
    assert dated["ds"].nunique() == 31
