"""Solved promotion calendars saved in the database, so the Promotions page never solves in a web worker twice.

:func:`cached_optimize` returns the calendar saved for (database, data version, constraints, draws) or solves it
with :func:`jobs.promo_opt_job.optimize_promotions` and saves it (``analysis_results``, name
:data:`NAME`, level = a short hash of the constraints and the data version). Every web worker, visitor and
background process of one database shares it; a refresh, import, effects run or plan change changes the data
version, so the next request solves again. Saving it does not change the data version (``data/version.py`` leaves
:data:`NAME` out), and only the newest :data:`KEEP` calendars are kept.

The first process to miss claims the key (a row with an empty payload, inserted only if absent); the others that
ask meanwhile wait for its result instead of solving the same calendar again. A claim older than :data:`WAIT_S`
(its process died) is ignored, and a failed solve removes its claim.
"""
from __future__ import annotations

import hashlib
import io
import json
import time

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from data import schema, store
from data.engine import get_engine, session_scope, utcnow
from data.writers import upsert_frame
from jobs import promo_opt_job

NAME = "promo_calendar"
KEEP = 20
N_DRAWS = 500
PENDING = ""  # payload of a claimed key whose calendar is being solved
WAIT_S = 600.0  # the longest a request waits for another process's solve (then, or past a claim this old, solves)
POLL_S = 0.5
_TEXT = {"store_id": str, "product_id": str, "category": str}


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def normalized(start, weeks, max_per_store_week, depths, budget) -> dict:
    """The constraints in one canonical form (the key of a saved calendar and the solver's arguments)."""
    return {"start": str(pd.Timestamp(start).date()), "weeks": int(weeks),
            "max_per_store_week": int(max_per_store_week),
            "depths": sorted({float(d) for d in depths}), "budget": None if budget is None else float(budget)}


def calendar_key(params: dict, version: str, n_draws: int = N_DRAWS) -> str:
    """``level`` of the calendar solved for ``params`` on data version ``version``."""
    return _short(json.dumps({"params": params, "version": version, "n_draws": int(n_draws)}, sort_keys=True))


def _encode(result: dict) -> str:
    lines = result["calendar"].copy()
    if "dates" in lines:
        lines["dates"] = lines["dates"].map(lambda ds: [str(pd.Timestamp(d).date()) for d in ds])
    body = {k: v for k, v in result.items() if k != "calendar"}
    body["calendar"] = json.loads(lines.to_json(orient="split", date_format="iso", index=False))
    return json.dumps(body, default=lambda v: v.item() if hasattr(v, "item") else str(v))


def _decode(payload: str) -> dict:
    body = json.loads(payload)
    frame = body.pop("calendar")
    lines = pd.read_json(io.StringIO(json.dumps(frame)), orient="split", dtype=_TEXT, convert_dates=False)
    if lines.empty:
        lines = pd.DataFrame(columns=frame["columns"])
    for col in ("week_start", "week_end"):
        if col in lines:
            lines[col] = pd.to_datetime(lines[col]).dt.tz_localize(None) if len(lines) else pd.to_datetime(lines[col])
    return {**body, "calendar": lines}


def _row(level: str, url: str | None):
    t = schema.AnalysisResult
    with get_engine(url).connect() as conn:
        return conn.execute(select(t.payload, t.computed_at).where(t.name == NAME, t.level == level)).first()


def load_saved(level: str, url: str | None = None) -> dict | None:
    """The calendar saved under ``level`` (``calendar`` as a DataFrame again), or None (also while being solved)."""
    row = _row(level, url)
    return None if row is None or row[0] == PENDING else _decode(row[0])


def _claim(level: str, version: str, url: str | None) -> bool:
    """Insert the pending row of ``level``; False when another process holds it."""
    t = schema.AnalysisResult.__table__
    try:
        with session_scope(url=url) as s:
            s.execute(insert(t).values(name=NAME, level=level, computed_at=utcnow(), data_hash=_short(version),
                                       payload=PENDING))
    except IntegrityError:
        return False
    return True


def _release(level: str, url: str | None) -> None:
    t = schema.AnalysisResult.__table__
    with session_scope(url=url) as s:
        s.execute(delete(t).where(t.c.name == NAME, t.c.level == level, t.c.payload == PENDING))


def _wait_for(level: str, version: str, url: str | None) -> dict | None:
    """The saved calendar of ``level``: at once, or after another process's solve; None when this one must solve
    (it then holds the claim)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        row = _row(level, url)
        if row is not None and row[0] != PENDING:
            return _decode(row[0])
        if row is None:
            if _claim(level, version, url):
                return None
            continue
        abandoned = (utcnow() - row[1]).total_seconds() > WAIT_S
        if abandoned or time.monotonic() > deadline:
            return None
        time.sleep(POLL_S)


def _save(level: str, payload: str, version: str, url: str | None) -> None:
    t = schema.AnalysisResult
    with session_scope(url=url) as s:
        upsert_frame(s, t, pd.DataFrame([{"name": NAME, "level": level, "computed_at": utcnow(),
                                          "data_hash": _short(version), "payload": payload}]))
        stale = s.execute(select(t.level).where(t.name == NAME).order_by(t.computed_at.desc())
                          .offset(KEEP)).scalars().all()
        if stale:
            s.execute(delete(t.__table__).where(t.name == NAME, t.level.in_(stale)))


def cached_optimize(start, weeks, max_per_store_week, depths, budget, url: str | None = None,
                    n_draws: int = N_DRAWS) -> dict:
    """The calendar for these constraints: the one saved for the current data version, else solved and saved.

    Returns the dict of :func:`jobs.promo_opt_job.optimize_promotions` (``calendar`` a DataFrame, ``lines`` its
    JSON records, plus ``dates`` per calendar row) and ``saved_key``; a refusal raises its one-line
    ``ValueError`` before anything is saved.
    """
    promo_opt_job.check_constraints(start, weeks, max_per_store_week, depths, budget)
    params = normalized(start, weeks, max_per_store_week, depths, budget)
    version = store.data_version(url)
    level = calendar_key(params, version, n_draws)
    saved = _wait_for(level, version, url)
    if saved is not None:
        return {**saved, "saved_key": level}
    try:
        result = promo_opt_job.optimize_promotions(params["start"], params["weeks"], params["max_per_store_week"],
                                                   params["depths"], params["budget"], url=url, n_draws=n_draws)
        payload = _encode(result)
        _save(level, payload, version, url)
    except BaseException:
        _release(level, url)
        raise
    return {**_decode(payload), "saved_key": level}


def saved_count(url: str | None = None) -> int:
    """How many rows are saved, claims of calendars being solved included (tests, diagnostics)."""
    t = schema.AnalysisResult
    with get_engine(url).connect() as conn:
        return len(conn.execute(select(t.level).where(t.name == NAME)).all())


def latest_saved(url: str | None = None) -> dict | None:
    """The newest calendar solved for the current data version (any constraints), or None (reports read it)."""
    t = schema.AnalysisResult
    version = _short(store.data_version(url))
    with get_engine(url).connect() as conn:
        row = conn.execute(select(t.payload, t.level).where(t.name == NAME, t.data_hash == version,
                                                            t.payload != PENDING)
                           .order_by(t.computed_at.desc()).limit(1)).first()
    return None if row is None else {**_decode(row[0]), "saved_key": row[1]}
