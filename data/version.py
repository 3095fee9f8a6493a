"""The data version: a cheap token that changes with every import, run start, publish or failure and effects run,
so memoized dashboard reads are keyed on it and a new run is never hidden by the cache."""
from __future__ import annotations

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import DBAPIError

from data import schema
from data.engine import get_engine
from domain import Frames

_DATASETS = schema.Dataset.__table__
_RUNS = schema.Run.__table__
_RESULTS = schema.AnalysisResult.__table__
_PLAN_LOG = schema.PlanChange.__table__
_INV_PARAMS = schema.InventoryParam.__table__
_INV_ORDERS = schema.InventoryOnOrder.__table__
# Saved Promotions calendars (jobs/promo_saved.py) are a cache keyed on this version, not data: saving one must not
# change it. Nor must a run's accuracy summaries (data/run_accuracy.py), derived from the run that versions them.
_CACHED_RESULTS = ("promo_calendar", Frames.RUN_ACCURACY, Frames.RUN_ACCURACY_FOLDS)


def _scalar(expr, table, *where):
    return select(expr).select_from(table).where(*where).limit(1).scalar_subquery()


# One round trip of scalar subqueries over small tables: the latest import, the run history (a new run, and any
# run that finishes, publishes or fails), the current run and its status, and the latest saved analysis frame.
_VERSION = select(
    _scalar(func.max(_DATASETS.c.id), _DATASETS),
    _scalar(func.count(), _RUNS),
    _scalar(func.max(_RUNS.c.started_at), _RUNS),
    _scalar(func.max(_RUNS.c.finished_at), _RUNS),
    _scalar(_RUNS.c.run_id, _RUNS, _RUNS.c.is_current.is_(True)),
    _scalar(_RUNS.c.status, _RUNS, _RUNS.c.is_current.is_(True)),
    _scalar(func.max(_RESULTS.c.computed_at), _RESULTS, _RESULTS.c.name.not_in(_CACHED_RESULTS)),
)
# The plan and the inventory inputs (a database made before they existed lacks these tables: then the query above
# alone, until `serve`, an import or a refresh creates them).
_VERSION_FULL = _VERSION.add_columns(
    _scalar(func.max(_PLAN_LOG.c.id), _PLAN_LOG),
    _scalar(func.count(), _INV_PARAMS), _scalar(func.max(_INV_PARAMS.c.updated_at), _INV_PARAMS),
    _scalar(func.count(), _INV_ORDERS), _scalar(func.max(_INV_ORDERS.c.updated_at), _INV_ORDERS),
)


def data_version(url: str | None = None) -> str:
    """A token that changes with every import, refresh (start, publish, failure), effects run, plan change and
    inventory edit.

    One query on the happy path; a database without the tables (never imported into) gets a token that names
    the tables it has, so creating them changes it too.
    """
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            try:
                row = conn.execute(_VERSION_FULL).one()
            except DBAPIError:
                conn.rollback()
                row = conn.execute(_VERSION).one()
    except DBAPIError:
        wanted = {_DATASETS.name, _RUNS.name, _RESULTS.name}
        present = wanted & set(inspect(engine).get_table_names())
        if present == wanted:
            raise
        return "tables:" + ",".join(sorted(present))
    return "|".join(str(v) for v in row)
