"""Named advisory locks in the database (e.g. "refresh"), so two processes never run the same job at once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from data import schema
from data.engine import has_table, init_db, read_frame, session_scope, utcnow
from data.writers import dialect_insert


def acquire_lock(name: str, owner: str, stale_after_s: float = 3600.0, steal_from: str | None = None,
                 url: str | None = None) -> bool:
    """Take the named lock for ``owner`` in one transaction; True when ``owner`` now holds it.

    A free lock is inserted; a lock whose holder has not refreshed it (:func:`refresh_lock`) for
    ``stale_after_s`` seconds is taken over, as is one held by ``steal_from`` (a holder known to be dead).
    Works across processes because the database serialises the writes.
    """
    init_db(url)
    locks_t = schema.Lock.__table__
    now = utcnow()
    with session_scope(url=url) as s:
        ins = dialect_insert(s)(locks_t).values(name=name, owner=owner, acquired_at=now)
        s.execute(ins.on_conflict_do_nothing(index_elements=["name"]))
        cutoff = now - dt.timedelta(seconds=float(stale_after_s))
        takeover = locks_t.c.acquired_at < cutoff
        if steal_from is not None:
            takeover = takeover | (locks_t.c.owner == steal_from)
        s.execute(locks_t.update().where(locks_t.c.name == name, locks_t.c.owner != owner, takeover)
                  .values(owner=owner, acquired_at=now))
        holder = s.execute(select(locks_t.c.owner).where(locks_t.c.name == name)).scalar_one()
    return holder == owner


def refresh_lock(name: str, owner: str, url: str | None = None) -> bool:
    """Heartbeat: renew ``owner``'s hold on the lock (so it does not go stale); False when it is not the holder."""
    locks_t = schema.Lock.__table__
    with session_scope(url=url) as s:
        n = s.execute(locks_t.update().where(locks_t.c.name == name, locks_t.c.owner == owner)
                      .values(acquired_at=utcnow())).rowcount
    return n == 1


def release_lock(name: str, owner: str, url: str | None = None) -> bool:
    """Release the lock if ``owner`` holds it; True when released."""
    locks_t = schema.Lock.__table__
    with session_scope(url=url) as s:
        n = s.execute(delete(locks_t).where(locks_t.c.name == name, locks_t.c.owner == owner)).rowcount
    return n == 1


def lock_info(name: str, url: str | None = None) -> dict | None:
    """The holder of a named lock (``owner``, ``acquired_at``) or None when free."""
    if not has_table("locks", url):
        return None
    df = read_frame(select(schema.Lock.__table__).where(schema.Lock.name == name), url, parse_dates=["acquired_at"])
    return df.iloc[0].to_dict() if len(df) else None
