"""`cli.py customers [--horizon 12m] [--discount 0.01] [--json]`: segments, churn and lifetime value from order lines."""
from __future__ import annotations

from commands import lazy


def add_parsers(sub, common) -> None:
    """`customers`: RFM segments, cohorts, BG/NBD + Gamma-Gamma CLV and the churn classifier (saved for the page)."""
    c = sub.add_parser("customers", parents=[common],
                       help="customer segments (RFM), churn (BG/NBD P(alive), classifier) and lifetime value")
    c.add_argument("--horizon", default="12m", help="CLV horizon, e.g. 12m, 26w, 90d (default 12m)")
    c.add_argument("--discount", type=float, default=0.01, help="monthly discount rate of the CLV (default 0.01)")
    c.add_argument("--churn-window", default="26w",
                   help="churned = no purchase for this long (default 26w); the classifier is validated on it")
    c.add_argument("--no-save", action="store_true", help="do not store the results for the dashboard")
    c.set_defaults(func=lazy("commands.customers", "run"))


def run(args) -> int:
    """Fit, score and (unless ``--no-save``) save; print the summary or its JSON."""
    import json
    import time

    from jobs import customers_job
    t0 = time.perf_counter()
    summary = customers_job.run_customers(horizon=args.horizon, monthly_discount=args.discount,
                                          churn_window=args.churn_window, save=not args.no_save)
    summary["seconds"]["command"] = round(time.perf_counter() - t0, 2)
    if not args.no_save:
        from auth import commands as auth_commands
        auth_commands.record("customers.compute", {"customers": summary["customers"], "horizon": args.horizon})
    print(json.dumps(summary, indent=2, default=str) if args.json else customers_job.format_summary(summary))
    return 0
