"""The effects job: read the store, estimate promotion/holiday/weather effects (analytics/), save the frames.

``run_effects(level)`` is what ``python cli.py effects`` runs; it also attaches the demo's planted truth. With
``save=True`` it stores these frames (names in ``domain.Frames``) with ``store.save_frame(session, name,
level, df)`` (read them back with ``store.load_frame(name, level)``):

``effects``
    ``kind, group, name, estimate, ci_low, ci_high, unit, n, truth`` - the rows of the JSON output. ``kind`` is
    ``promo_lift`` (names ``promotion``, ``post_promotion_dip``, ``promo_intensity``), ``holiday`` (name = the
    holiday), ``temperature`` (``per_degC``) or ``precipitation`` (``per_mm``). ``group`` is the category,
    store id, region or ``all`` (level ``total``). Units: ``relative`` (0.25 = +25%), ``relative_per_degC``,
    ``relative_per_mm``, ``relative_per_doubling`` (sales change when 1 + promotion intensity doubles).
``holiday_event_study``
    ``group, holiday, offset, estimate, ci_low, ci_high, n, closed_share`` - relative effect at each offset
    (days -7..+3 or weeks -2..+1) from each holiday.
``temperature_curve`` / ``precipitation_curve``
    ``group, variable, bin_low, bin_high, bin_mid, estimate, ci_low, ci_high, n, reference`` and ``temp_c`` /
    ``precip_mm`` (= ``bin_mid``): relative sales per weather bin against the reference bin.
``promo_by_store``
    ``group`` (= store id), ``store_id, estimate, ci_low, ci_high, n`` (+ ``n_groups``): lift per store.
``promo_by_store_group``
    ``group, store_id, estimate, ci_low, ci_high, n``: lift per store within each group (e.g. category).
``correlations``
    ``var1, var2, r, p, ci_low, ci_high, n`` - within-series correlations of log sales and the drivers at
    the level's nodes; ``promo_lag_correlation``: ``lag, r, p, ci_low, ci_high, n``.
``seasonal_profiles``
    ``series_id, profile, period, index, ci_low, ci_high, n`` - day-of-week (daily data) and month-of-year
    indices (1.10 = 10% above the average) per node of the level.
``seasonality``
    ``series_id, period, name, strength, p_value, detected`` - seasonal periods tested per node (STL/MSTL
    components and Hyndman's strengths are computed on demand by ``analytics.decomposition``).
``node_summary``
    per node: ``series_id, mean, median, cv, zero_share, yoy_growth, total, abc, xyz``.
``price_elasticity`` (level ``category`` only)
    ``group, product_id, estimate, ci_low, ci_high, n, n_price_changes, price_levels, ref_depth, unit``: the
    elasticity of units to price per category (``product_id`` = ``*``) and per product (:mod:`analytics.elasticity`).
``promo_reference_depth`` (level ``category`` only)
    ``group, ref_depth``: the median promotion depth each category's ``promotion`` lift refers to.
"""
from __future__ import annotations

import contextlib
import time

import pandas as pd

from analytics import correlations, decomposition, effects, elasticity, summaries
from data import store
from domain import BOTTOM_LEVEL, Frames
from jobs.memory import release_memory


def _one_blas_thread():
    """Limit BLAS to one thread: the regressions are many mid-sized products, and on a shared machine
    multi-threaded BLAS spends more time contending for the cores than computing."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover - the limit is only a speed-up
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


LEVEL_COLUMNS = {"total": None, "region": "region", "store": "store_id", "category": "category"}


def load_panel(url: str | None = None) -> pd.DataFrame:
    """The bottom-level panel with each series' category and region attached."""
    frame = store.bottom_frame(url=url)
    if frame.empty:
        raise ValueError("the database has no sales: run `python cli.py demo` or `python cli.py ingest ...` first")
    nodes = store.nodes(BOTTOM_LEVEL, url=url)[["node_id", "region", "category"]].drop_duplicates("node_id")
    # Labels as categories (sorted, so groups and series keep their order): 2 bytes a row instead of a string,
    # about 250 MB less on the large demo, and taking a group's rows copies codes, not strings.
    frame["store_id"] = frame["store_id"].astype(str)
    for col in ("series_id", "store_id", "product_id"):
        frame[col] = frame[col].astype("category")
    # Region and category looked up per series (a join of 3,000 nodes), not merged row by row (a copy of the panel).
    codes = frame["series_id"].cat.codes.to_numpy()
    per_series = nodes.set_index("node_id").reindex(frame["series_id"].cat.categories)
    for col in ("region", "category"):
        labels = pd.Series(per_series[col].to_numpy()).astype("category")
        frame[col] = pd.Categorical.from_codes(labels.cat.codes.to_numpy()[codes], labels.cat.categories)
    return frame


def extra_frames(level: str, freq: str, url: str | None = None) -> dict[str, pd.DataFrame]:
    """Correlations, seasonal profiles, seasonality tests and node summaries at ``level``."""
    nodes = store.level_frame(level, url=url)
    out: dict[str, pd.DataFrame] = {}
    if nodes.empty:
        return out
    out[Frames.CORRELATIONS] = correlations.correlation_matrix(nodes)
    out[Frames.PROMO_LAG_CORRELATION] = correlations.lagged_correlation(nodes, "promo", freq)
    profiles, tests = [], []
    for sid, part in nodes.groupby("series_id", sort=True):
        part = part.sort_values("ds")
        profiles.append(decomposition.seasonal_profiles(part, freq).assign(series_id=sid))
        tests.append(decomposition.detect_periods(part, freq).assign(series_id=sid))
    out[Frames.SEASONAL_PROFILES] = pd.concat(profiles, ignore_index=True)
    out[Frames.SEASONALITY] = pd.concat(tests, ignore_index=True)
    out[Frames.NODE_SUMMARY] = summaries.node_summary(nodes, freq)
    return out


def run_effects(level: str = "category", save: bool = True, url: str | None = None,
                extras: bool = True) -> dict:
    """Estimate every effect at ``level`` and return the JSON object of ``cli.py effects``.

    Parameters
    ----------
    level : {"total", "region", "store", "category"}
        Grouping of the estimates.
    save : bool
        Store the result frames for the dashboard (see the module docstring).
    url : str, optional
        Database URL (default: ``SALES_DB``).
    extras : bool
        Also compute correlations, seasonal profiles, seasonality tests and node summaries.

    Returns
    -------
    dict
        ``{"dataset", "level", "seconds", "effects": [{"kind", "group", "name", "estimate", "ci_low",
        "ci_high", "unit", "n", "truth"}, ...]}``; ``seconds`` covers reading and estimating (not saving).
    """
    if level not in LEVEL_COLUMNS:
        raise ValueError(f"level must be one of {sorted(LEVEL_COLUMNS)}, got {level!r}")
    t0 = time.perf_counter()
    frame = load_panel(url)
    freq = store.frequency(url)
    events = store.calendar_events(url)
    group_col = LEVEL_COLUMNS[level]
    season_by = "category" if level != "category" and frame["category"].nunique() > 1 else None
    release_memory()
    with _one_blas_thread():
        frames = effects.estimate_effects(frame, freq, events, group_col=group_col, season_by=season_by)
        frames[Frames.EFFECTS] = effects.attach_truth(frames[Frames.EFFECTS], store.demo_truth(url))
        release_memory()
        if extras:
            frames.update(extra_frames(level, freq, url))
        if level == "category":  # the what-if scenarios read these (jobs/whatif_job.py)
            frames[Frames.PRICE_ELASTICITY] = elasticity.price_elasticity(frame, freq, events)
            frames[Frames.PROMO_REFERENCE_DEPTH] = elasticity.promo_reference_depths(frame)
    seconds = round(time.perf_counter() - t0, 2)
    if save:
        version = store.data_hash(url)
        with store.session_scope(url=url) as session:
            for name, df in frames.items():
                store.save_frame(session, name, level, df, version)
    return {"dataset": store.dataset_name(url), "level": level, "seconds": seconds,
            "effects": effects.records(frames[Frames.EFFECTS])}


def elasticity_lines(level: str, url: str | None = None) -> list[str]:
    """The saved price elasticities as text lines for ``cli.py effects`` (none when not computed at ``level``)."""
    frame = store.load_frame(Frames.PRICE_ELASTICITY, level, url=url)
    return [] if frame is None else elasticity.format_rows(elasticity.records(frame))
