"""The alert log of the monitoring (``monitor_alerts``): record, list, acknowledge, link to a refresh run."""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import insert, select, update

from data import schema
from data.engine import has_table, read_frame, session_scope, utcnow

_ALERTS = schema.MonitorAlert.__table__
COLUMNS = [c.name for c in _ALERTS.columns]


def record_alert(alert: dict, url: str | None = None) -> int:
    """Insert one fired alert (``rule, kind, severity, subject, message`` and optional ``value, threshold,
    run_id``); returns its id."""
    row = {k: alert.get(k) for k in ("rule", "kind", "severity", "subject", "message", "value", "threshold",
                                      "run_id")}
    row["fired_at"] = alert.get("fired_at") or utcnow()
    with session_scope(url=url) as session:
        return int(session.execute(insert(_ALERTS).values(**row).returning(_ALERTS.c.id)).scalar_one())


def set_notified(alert_id: int, notified: dict, url: str | None = None) -> None:
    """Store how each notification channel fared (``{"email": "sent", "webhook": "HTTP 500"}``)."""
    with session_scope(url=url) as session:
        session.execute(update(_ALERTS).where(_ALERTS.c.id == int(alert_id)).values(notified=json.dumps(notified)))


def link_refresh(alert_ids, run_id: str, url: str | None = None) -> None:
    """Link alerts to the refresh run the feedback loop started for them."""
    with session_scope(url=url) as session:
        session.execute(update(_ALERTS).where(_ALERTS.c.id.in_([int(i) for i in alert_ids]))
                        .values(refresh_run_id=run_id))


def acknowledge_alert(alert_id: int, by: str, url: str | None = None) -> bool:
    """Acknowledge an alert (once); False when it does not exist or was already acknowledged."""
    with session_scope(url=url) as session:
        result = session.execute(update(_ALERTS).where(_ALERTS.c.id == int(alert_id),
                                                       _ALERTS.c.acknowledged_at.is_(None))
                                 .values(acknowledged_at=utcnow(), acknowledged_by=str(by)[:120]))
        return bool(result.rowcount)


def alerts(limit: int = 200, open_only: bool = False, url: str | None = None) -> pd.DataFrame:
    """The newest alerts first (``open_only``: not acknowledged yet)."""
    if not has_table(_ALERTS.name, url):
        return pd.DataFrame(columns=COLUMNS)
    stmt = select(_ALERTS).order_by(_ALERTS.c.id.desc()).limit(int(limit))
    if open_only:
        stmt = stmt.where(_ALERTS.c.acknowledged_at.is_(None))
    return read_frame(stmt, url, parse_dates=["fired_at", "acknowledged_at"])


def open_alert_exists(rule: str, subject: str, run_id: str | None, url: str | None = None) -> bool:
    """True when an unacknowledged alert of ``rule`` about ``subject`` (judged on ``run_id``) is in the log."""
    if not has_table(_ALERTS.name, url):
        return False
    c = _ALERTS.c
    stmt = select(c.id).where(c.rule == rule, c.subject == subject, c.acknowledged_at.is_(None))
    stmt = stmt.where(c.run_id.is_(None) if run_id is None else c.run_id == run_id)
    return len(read_frame(stmt.limit(1), url)) > 0
