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
from dataclasses import dataclass

import pandas as pd

import config
from analytics import correlations, decomposition, effects, elasticity, summaries
from analytics._design import sorted_panel
from data import store
from domain import BOTTOM_LEVEL, Frames
from jobs.executor import map_series
from jobs.memory import release_memory


def _one_blas_thread():
    """Limit BLAS to one thread: the regressions are many mid-sized products, and on a shared machine
    multi-threaded BLAS spends more time contending for the cores than computing."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover - the limit is only a speed-up
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


NO_SALES = "the database has no sales: run `python cli.py demo` or `python cli.py ingest ...` first"
POOL_MIN_ROWS = 500_000  # fact rows from which run_effects starts a process pool (workers take ~3 s to start)
LEVEL_COLUMNS = {"total": None, "region": "region", "store": "store_id", "category": "category"}


def load_panel(url: str | None = None, nodes: pd.DataFrame | None = None, stores=None,
               products=None) -> pd.DataFrame:
    """The bottom-level panel with each series' category and region attached (from ``nodes``: ``node_id, region,
    category`` of the bottom level, read when None), only the ``stores`` and ``products`` given, when given."""
    frame = store.bottom_frame(url=url, stores=stores, products=products)
    if frame.empty:
        raise ValueError(NO_SALES)
    if nodes is None:
        nodes = store.nodes(BOTTOM_LEVEL, url=url)[["node_id", "region", "category"]].drop_duplicates("node_id")
    return _labelled(frame, nodes)


def _labelled(frame: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its id columns as categories and each series' region and category from ``nodes``."""
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


@dataclass(frozen=True)
class GroupTask:
    """One group's estimates (a process-pool task): its rows are read by the worker, never by the driver."""

    label: str                      # the group ("all" when the level has one group)
    nodes: pd.DataFrame             # the group's bottom nodes: node_id, store_id, product_id, region, category
    group_col: str | None           # the panel column of the group (None: every series)
    url: str
    freq: str
    events: pd.DataFrame
    season_by: str | None
    prices: bool                    # also the price elasticity and the promotions' reference depth


@dataclass(frozen=True)
class ExtrasTask:
    """Correlations, seasonal profiles, seasonality tests and node summaries at a level (:func:`extra_frames`)."""

    level: str
    freq: str
    url: str


def group_rows(task: GroupTask) -> pd.DataFrame:
    """The group's panel rows, sorted by ``series_id, ds``: the rows ``estimate_effects`` gives the group."""
    nodes = task.nodes
    full = task.group_col is None  # one group of every series: read everything
    frame = store.bottom_frame(url=task.url, stores=None if full else sorted(nodes["store_id"].astype(str).unique()),
                               products=None if full else sorted(nodes["product_id"].astype(str).unique()))
    if frame.empty:
        return frame
    frame = _labelled(frame, nodes[["node_id", "region", "category"]])
    if not full:  # the stores x products read may hold series of other groups; labels come from the nodes
        keep = (frame[task.group_col].astype(str) == task.label).to_numpy()
        if not keep.all():
            frame = frame[keep].reset_index(drop=True)
    return sorted_panel(frame)


def run_task(task):
    """One task of the effects pool: a group's estimates (``{"effects": parts of
    :func:`analytics.effects.group_effects`, "elasticity": rows, "depth": rows}``) or the level's extra frames."""
    try:
        if isinstance(task, ExtrasTask):
            return extra_frames(task.level, task.freq, task.url)
        sub = group_rows(task)
        if sub.empty:  # a group of nodes without sales: no estimates, as when its rows are taken from the panel
            return None
        out = {"effects": effects.group_effects(sub, task.label, task.freq, task.events, task.season_by),
               "elasticity": [], "depth": []}
        if task.prices:
            release_memory()  # the effects fits' freed heap, before the elasticity fit
            out["elasticity"] = elasticity.group_elasticity(sub, task.label, task.freq, task.events)
            out["depth"] = [{"group": task.label, "ref_depth": elasticity.reference_depth(sub)}]
        return out
    finally:
        release_memory()


def group_tasks(level: str, nodes: pd.DataFrame, url: str, freq: str, events: pd.DataFrame) -> list[GroupTask]:
    """A task per group of ``level`` (in the sorted order of ``estimate_effects``) from the bottom ``nodes``."""
    nodes = nodes[["node_id", "store_id", "product_id", "region", "category"]].drop_duplicates("node_id")
    group_col = LEVEL_COLUMNS[level]
    season_by = "category" if level != "category" and nodes["category"].nunique() > 1 else None
    common = dict(group_col=group_col, url=url, freq=freq, events=events, season_by=season_by,
                  prices=level == "category")
    if group_col is None:
        return [GroupTask("all", nodes, **common)]
    labels = nodes[group_col].astype(str) if group_col == "store_id" else nodes[group_col]
    return [GroupTask(str(g), part.reset_index(drop=True), **common)
            for g, part in nodes.groupby(labels.to_numpy(), sort=True) if pd.notna(g)]


def run_effects(level: str = "category", save: bool = True, url: str | None = None,
                extras: bool = True, jobs: int | None = None) -> dict:
    """Estimate every effect at ``level`` and return the JSON object of ``cli.py effects``.

    Long because it hands out the groups and gathers their parts. Each group (category, store, region or the
    whole panel) is an independent task that reads only its own rows, so the panel is never held at once; the
    tasks run in a process pool of ``jobs`` workers (``config.load().jobs``; 1: in this process, one at a time).

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
    jobs : int, optional
        Worker processes (default ``config.load().jobs``, or 1 below :data:`POOL_MIN_ROWS` fact rows).

    Returns
    -------
    dict
        ``{"dataset", "level", "seconds", "effects": [{"kind", "group", "name", "estimate", "ci_low",
        "ci_high", "unit", "n", "truth"}, ...]}``; ``seconds`` covers reading and estimating (not saving).
    """
    if level not in LEVEL_COLUMNS:
        raise ValueError(f"level must be one of {sorted(LEVEL_COLUMNS)}, got {level!r}")
    t0 = time.perf_counter()
    url = store.resolve_url(url)
    nodes = store.nodes(BOTTOM_LEVEL, url=url)
    if nodes.empty:
        raise ValueError(NO_SALES)
    freq = store.frequency(url)
    events = store.calendar_events(url)
    tasks: list = group_tasks(level, nodes, url, freq, events)
    if extras:
        tasks.insert(0, ExtrasTask(level, freq, url))
    if jobs is None:  # starting the pool's workers costs seconds: worth it only for a large panel
        jobs = config.load().jobs if store.data_summary(url)["rows"] >= POOL_MIN_ROWS else 1
    if url in ("sqlite://", "sqlite:///:memory:"):
        jobs = 1  # workers cannot see this process's in-memory database
    with _one_blas_thread():
        results = map_series(run_task, tasks, jobs=min(jobs, len(tasks)), preload=())
    frames: dict[str, pd.DataFrame] = {}
    extra = results.pop(0) if extras else {}
    results = [r for r in results if r is not None]
    if not results:
        raise ValueError(NO_SALES)
    frames.update(effects.combine_effects([r["effects"] for r in results], LEVEL_COLUMNS[level]))
    frames[Frames.EFFECTS] = effects.attach_truth(frames[Frames.EFFECTS], store.demo_truth(url))
    frames.update(extra)
    if level == "category":  # the what-if scenarios read these (jobs/whatif_job.py)
        frames[Frames.PRICE_ELASTICITY] = elasticity.elasticity_frame([x for r in results for x in r["elasticity"]])
        frames[Frames.PROMO_REFERENCE_DEPTH] = pd.DataFrame([x for r in results for x in r["depth"]],
                                                            columns=["group", "ref_depth"])
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
