"""`monitor`: live accuracy of the published forecasts vs their backtest, drift and alerts (monitoring/)."""
from __future__ import annotations

from commands import lazy


def add_parsers(sub, common) -> None:
    """`monitor [--json] [--check] [--asof DATE] [--ack ID]`."""
    m = sub.add_parser("monitor", parents=[common],
                       help="live accuracy vs the backtest, drift status and open alerts (--check: run the checks)")
    m.add_argument("--check", action="store_true",
                   help="score stored runs on new actuals, check drift and the alert rules (notify, feedback loop)")
    m.add_argument("--asof", metavar="DATE", help="with --check: judge drift on the data up to DATE")
    m.add_argument("--ack", type=int, metavar="ID", help="acknowledge alert ID")
    m.add_argument("--by", default="monitor-cli", help="who acknowledges (with --ack)")
    m.set_defaults(func=lazy("commands.monitor", "run"))


def run(args) -> int:
    """Print the monitoring state (after the checks with --check, after acknowledging with --ack)."""
    import json

    from data import monitor_alerts, monitoring, store
    from monitoring import alerts, rules, status
    if not store.db_exists():
        raise ValueError(f"no database at {store.resolve_url()}: run `python cli.py demo` or `python cli.py ingest`")
    store.init_db()
    out = {}
    if args.ack is not None:
        if not monitor_alerts.acknowledge_alert(args.ack, args.by):
            raise ValueError(f"--ack {args.ack}: no open alert with that id")
        out["acknowledged"] = args.ack
    if args.check:
        out["scored"] = monitoring.score_new_actuals()
        result = alerts.evaluate(rules=rules.load(), asof=args.asof)
        out["fired"] = [{k: a.get(k) for k in ("id", "rule", "kind", "severity", "message", "refresh_run_id")}
                        for a in result["fired"]]
        out["notified"] = result["notified"]
        out["refresh_run_id"] = result["refresh_run_id"]
    state = status.status()
    if args.json:
        print(json.dumps({**out, **state}, indent=2, default=str))
        return 0
    if args.check:
        print(f"scored {out['scored']['points']} new points of {out['scored']['runs']} runs; "
              f"{len(out['fired'])} alerts fired" + (f"; refresh {out['refresh_run_id']} started"
                                                      if out["refresh_run_id"] else ""))
    print(status.format_status(state))
    return 0
