"""Scheduled refreshes: an APScheduler cron job that runs the refresh in this process.

Overlap is prevented by the refresh's own lock (:class:`jobs.lock.RefreshLock`), and a refresh whose data
(``store.data_hash()``) and parameters equal those of the current run is skipped
(``runner.refresh(force=False)``).
"""
from __future__ import annotations

import datetime as dt
import sys

import config
from jobs import runner


def scheduled_refresh(refresh_args: dict, url: str | None = None) -> dict:
    """One scheduled check: refresh unless the data is unchanged or another refresh runs; log one line."""
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    try:
        summary = runner.refresh(**refresh_args, progress=False, force=False, url=url)
    except ValueError as exc:  # e.g. an empty store: report and keep the schedule alive
        summary = {"status": "failed", "error": str(exc), "run_id": None}
    print(f"[{started}] refresh {summary.get('status')}: run {summary.get('run_id')} "
          f"{summary.get('reason') or summary.get('error') or ''}".rstrip(), flush=True)
    if summary.get("status") == "success":
        _refresh_inventory_orders(url)
    return summary


def _refresh_inventory_orders(url: str | None) -> None:
    """Recompute today's inventory orders from the new forecasts, where they were computed before (a store that
    never ran ``cli.py inventory`` does not use them); a failure is logged and leaves the old orders."""
    from data import store
    from domain import Frames
    from jobs import inventory_job
    if store.load_frame(Frames.INVENTORY_ORDERS, "all", url=url) is None:
        return
    try:
        inventory_job.run_inventory(url=url, save=True)
        print("  inventory orders recomputed from the new forecasts", flush=True)
    except ValueError as exc:
        print(f"  inventory orders NOT recomputed: {exc}", flush=True)


def run_schedule(cron: str | None = None, once: bool = False, refresh_args: dict | None = None,
                 url: str | None = None) -> int:
    """Run refreshes on a crontab schedule in this process (blocks until Ctrl-C).

    Parameters
    ----------
    cron : str, optional
        Five-field crontab expression, e.g. ``"0 3 * * *"`` (03:00 every day, local time of this machine);
        default ``config.load().schedule`` (``SALES_SCHEDULE``, else ``"0 3 * * *"``).
    once : bool
        Run one check now and return instead of scheduling.
    refresh_args : dict, optional
        Keyword arguments of :func:`jobs.runner.refresh` (``None`` values are dropped).
    url : str, optional
        Database URL (default ``SALES_DB``).

    Returns
    -------
    int
        Exit code: 0, or 1 when ``once`` and the refresh failed.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    cron = cron or config.load().schedule
    try:
        trigger = CronTrigger.from_crontab(cron)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {cron!r} ({exc}); expected 5 fields like '0 3 * * *'") from None
    args = {k: v for k, v in (refresh_args or {}).items() if v is not None}
    if once:
        summary = scheduled_refresh(args, url)
        return 0 if summary.get("status") in ("success", "skipped") else 1
    nxt = trigger.get_next_fire_time(None, dt.datetime.now(trigger.timezone))
    print(f"Scheduled refreshes '{cron}'; next at {nxt}. Ctrl-C to stop.", file=sys.stderr, flush=True)
    sched = BlockingScheduler()
    sched.add_job(scheduled_refresh, trigger, args=[args, url], id="refresh", max_instances=1, coalesce=True,
                  misfire_grace_time=3600)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0
