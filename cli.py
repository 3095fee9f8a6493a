"""Command-line entry point: demo data, imports, quality, effects, forecast refreshes, schedule and serving.

Every command takes ``--db PATH|URL`` (a plain path means SQLite); it sets ``SALES_DB`` for the process
and its workers. Handlers are thin: they parse, call ``data``/``analytics``/``jobs`` and print. Each handler
imports what its command needs, so a command loads only its own stack (``info`` never imports Dash or the
models); nothing imports this module except tests.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import commands
from commands.orders import add_orders_parser, add_sheet_option


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, default=str))


class UserError(Exception):
    """An error the user can fix; printed without a traceback, exit code 2."""


def _audit(action: str, detail: dict | None = None) -> None:
    """Record a write made from the command line in the audit log (actor ``cli:<os user>``)."""
    from auth import commands as auth_commands
    auth_commands.record(action, detail)


# ----------------------------------------------------------------------------- handlers

def cmd_demo(args) -> int:
    from data import demo, guards, store
    lost = None if getattr(args, "force", False) else guards.imported_data()
    if lost:
        raise UserError(guards.describe_loss(lost, store.resolve_url()))
    t0 = time.perf_counter()
    summary = demo.generate(seed=args.seed, n_stores=args.stores, n_products=args.products, years=args.years,
                            progress=not args.json, shift_after=getattr(args, "shift_after", None),
                            shift=getattr(args, "shift", 0.3))
    if getattr(args, "orders", None) is not None:  # demo --orders [CUSTOMERS]: the sales become order lines
        from data import demo_orders
        summary["order_lines"] = demo_orders.add_to_store(seed=args.seed, n_customers=args.orders or None)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    if args.json:
        _print_json(summary)
    else:
        print(demo.format_summary(summary) + ("\n" + demo_orders.format_summary(summary["order_lines"])
                                              if "order_lines" in summary else ""))
    return 0


def cmd_ingest(args) -> int:
    from data import ingest
    t0 = time.perf_counter()
    if args.source == "plan":
        return cmd_ingest_plan(args)
    if args.source == "walmart":
        summary = ingest.ingest_walmart(args.path, dry_run=args.dry_run)
    else:
        summary = ingest.ingest_csv(args.path, mapping=args.map, extra=args.extra, dayfirst=args.dayfirst,
                                    stores_file=args.stores, stores_map=args.stores_map,
                                    dataset_name=args.name, frequency=args.freq, dry_run=args.dry_run,
                                    sheet=args.sheet)
    if not args.dry_run:
        _audit(f"import.{args.source}", {"path": str(args.path), "rows": summary.get("rows")})
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    if args.json:
        _print_json(summary)
    else:
        print(ingest.format_summary(summary))
    return 0


def cmd_ingest_inventory(args) -> int:
    from data import ingest_inventory
    t0 = time.perf_counter()
    summary = ingest_inventory.ingest_inventory(args.path, mapping=args.map, unit=args.unit, dayfirst=args.dayfirst,
                                                dry_run=args.dry_run, sheet=args.sheet)
    if not args.dry_run:
        _audit("import.inventory", {"path": str(args.path)})
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    if args.json:
        _print_json(summary)
    else:
        print(ingest_inventory.format_summary(summary))
    return 0


def cmd_ingest_plan(args) -> int:
    from data import ingest_plan
    t0 = time.perf_counter()
    summary = ingest_plan.ingest_plan(args.path, args.map, dayfirst=args.dayfirst, dry_run=args.dry_run,
                                      sheet=args.sheet)
    if not args.dry_run:
        _audit("plan.import", {"path": str(args.path)})
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    if args.json:
        _print_json(summary)
    else:
        print(ingest_plan.format_summary(summary))
    return 0


def cmd_quality(args) -> int:
    from analytics import quality
    from data import store
    if not store.db_exists():
        raise UserError(f"no sales data in {store.resolve_url()}: run `python cli.py demo` or `python cli.py ingest`")
    t0 = time.perf_counter()
    # Only the columns the report uses, read in chunks (sales_facts() needs ~2.5 GB at 3.3M rows, this ~1 GB).
    report = quality.quality_report(store.sales_columns(), store.datasets(), frequency=store.frequency(),
                                    node_keys=store.node_keys)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    if args.json:
        _print_json(report)
    else:
        print(quality.format_report(report))
    return 0


def cmd_effects(args) -> int:
    from analytics import effects
    from jobs import effects_job
    result = effects_job.run_effects(level=args.level, save=not args.no_save)
    if args.json:
        _print_json(result)
    else:
        print("\n".join([effects.format_effects(result)]
                        + (effects_job.elasticity_lines(args.level) if not args.no_save else [])))
    return 0


def cmd_whatif(args) -> int:
    from jobs import whatif_job
    result = whatif_job.run_whatif(args.node, args.promo, depth=args.depth, price=args.price, closed=args.closed,
                                   n_draws=args.draws, seed=args.seed)
    if args.json:
        _print_json(result)
    else:
        print(whatif_job.format_whatif(result))
    return 0


def _add_whatif_parser(sub, common) -> None:
    """The ``whatif`` command: baseline vs scenario forecast of one node under a promotion."""
    w = sub.add_parser("whatif", parents=[common], help="what-if scenario: a promotion, a price or closed days")
    w.add_argument("--node", required=True, help='series key, e.g. "store=01/product=P001", "store=01", "total"')
    w.add_argument("--promo", required=True, help="START:END of the promotion (ISO dates in the forecast horizon)")
    w.add_argument("--depth", type=float, default=0.2, help="discount depth in [0, 1) (default 0.2)")
    w.add_argument("--price", type=float, default=None, help="unit price on the promotion days (one-product node; "
                   "the response then uses the price elasticity)")
    w.add_argument("--closed", default=None, help="START:END of days the stores are closed (forecast 0)")
    w.add_argument("--draws", type=int, default=2000, help="Monte Carlo draws (default 2000)")
    w.add_argument("--seed", type=int, default=0)
    w.set_defaults(func=cmd_whatif)


def cmd_explain(args) -> int:
    from jobs import explain_job
    result = explain_job.explain(args.node, date=args.date, top=args.top)
    if args.json:
        _print_json(result)
    else:
        print(explain_job.format_explain(result))
    return 0


def _add_explain_parser(sub, common) -> None:
    """The ``explain`` command: what drives one node's forecast (global tree models of the current run)."""
    x = sub.add_parser("explain", parents=[common], help="what drives a forecast: feature importance and "
                       "contributions of the global tree models")
    x.add_argument("--node", required=True, help='series key, e.g. "store=01/product=P001", "store=01", "total"')
    x.add_argument("--date", default=None, help="a forecast date (YYYY-MM-DD): also that day's contributions")
    x.add_argument("--top", type=int, default=10, help="features per table (default 10)")
    x.set_defaults(func=cmd_explain)


def cmd_inventory(args) -> int:
    from jobs import inventory_job
    summary = inventory_job.run_inventory(policy=args.policy, save=not args.no_save)
    _print_json(summary) if args.json else print(inventory_job.format_summary(summary))
    return 0


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt  # `kill` cancels a refresh like Ctrl-C: the run is marked cancelled, the old one stays


def cmd_refresh(args) -> int:
    import signal
    from jobs import runner
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    audit = lambda _params: _audit("refresh.start", {"source": "cli", "models": args.models,  # noqa: E731
                                                     "horizon": args.horizon, "force": args.force})
    summary = runner.refresh(on_start=audit, horizon=args.horizon, models=args.models, jobs=args.jobs,
                             tune=args.tune, folds=args.folds, metric=args.metric, reconcile=args.reconcile,
                             levels=args.levels, progress=not args.json, force=args.force,
                             selection=getattr(args, "selection", "combination"),
                             ensemble=getattr(args, "ensemble", False),
                             backtest_inputs=getattr(args, "backtest_inputs", "as_known"),
                             engine=getattr(args, "engine", "local"), spark_master=getattr(args, "spark_master", None))
    if args.json:
        _print_json(summary)
    else:
        print(runner.format_summary(summary))
    return 0 if summary.get("status") in ("success", "skipped") else 1


def cmd_schedule(args) -> int:
    from jobs import scheduler
    return scheduler.run_schedule(cron=args.cron, once=args.once, refresh_args={
        "horizon": args.horizon, "models": args.models, "jobs": args.jobs})


def cmd_setup_demo(args) -> int:
    """Used by `make run`: create the demo data when the store is empty, and forecasts when there are none."""
    from data import store
    from domain import Frames
    if not store.db_exists() or store.counts()["rows"] == 0:
        print("The store is empty: generating the demo data (python cli.py demo)...", flush=True)
        cmd_demo(argparse.Namespace(seed=42, stores=10, products=20, years=3, json=False, force=False))
    from jobs import effects_job, runner
    if not runner.has_current_run():
        print("No forecasts yet: running a first refresh (python cli.py refresh)...", flush=True)
        runner.refresh(progress=True)
    if store.load_frame(Frames.EFFECTS, "category") is None:
        print("Computing promotion/holiday/weather effects (python cli.py effects)...", flush=True)
        effects_job.run_effects(level="category", save=True)
    if store.load_frame(Frames.INVENTORY_ORDERS, "all") is None:
        print("Computing today's inventory orders (python cli.py inventory)...", flush=True)
        from jobs import inventory_job
        try:
            inventory_job.run_inventory(save=True)
        except ValueError as exc:  # the dashboard still serves; the Inventory page names the command
            print(f"Inventory orders not computed: {exc}", flush=True)
    return 0


def cmd_optimize_promos(args) -> int:
    from jobs import promo_opt_job
    result = promo_opt_job.optimize_promotions(
        args.start, args.weeks, max_per_store_week=args.max_per_store_week,
        depths=promo_opt_job.parse_depths(args.depths), budget=args.budget, apply=args.apply)
    if args.apply:
        _audit("plan.edit", {"op": "apply", "source": "optimizer", "start": args.start, "weeks": args.weeks})
    result.pop("calendar")
    if args.json:
        _print_json(result)
    else:
        print(promo_opt_job.format_result(result))
    return 0


def cmd_serve(args) -> int:
    import config
    from auth import web as auth_web
    from data import store
    settings = config.load()
    if (refusal := auth_web.startup_check(args.host or settings.host)) is not None:
        raise UserError(refusal)
    if store.db_exists():
        store.init_db()  # a database made by an older version gets the tables added since (e.g. the plan)
    if args.prod:  # gunicorn with uvicorn workers on server:application, in this process (see server.py)
        import server
        return server.serve_prod(args.host or settings.host, args.port or settings.port,
                                 args.workers or settings.workers, settings)
    from app import create_app
    app = create_app()
    app.run(host=args.host or settings.host, port=args.port or settings.port,
            debug=args.debug or settings.debug)
    return 0


def cmd_db(args) -> int:
    """``db upgrade`` applies the pending schema migrations; ``db current`` shows where the database is."""
    from data import migrate, store
    result, text = migrate.cli_command(store.get_engine(), args.action)
    _print_json(result) if args.json else print(text)
    return 0


def cmd_info(args) -> int:
    from data import store
    if not store.db_exists():
        raise UserError(f"no sales data in {store.resolve_url()}: run `python cli.py demo` or `python cli.py ingest`")
    info = {"database": store.resolve_url(), **store.counts(), "frequency": store.frequency(),
            "datasets": store.datasets().drop(columns=["details"]).to_dict("records")}
    _print_json(info)
    return 0


# ----------------------------------------------------------------------------- parser

def _add_refresh_parser(sub, common) -> None:
    """The ``refresh`` command and its options (the parameters of :class:`jobs.params.RefreshParams`)."""
    r = sub.add_parser("refresh", parents=[common], help="backtest, select, forecast and publish a new run")
    r.add_argument("--horizon", type=int, default=None, help="steps ahead (default 42 daily / 6 weekly)")
    r.add_argument("--models", default=None, help="comma-separated candidate models (default: "
                   "seasonal_naive,seasonal_svd,seasonal_ses,lgbm; also ets, arima, prophet, rf)")
    r.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    r.add_argument("--folds", type=int, default=3, help="rolling-origin backtest folds")
    r.add_argument("--metric", default="wape", help="selection metric (wape, mase, rmse, smape...)")
    r.add_argument("--selection", choices=["combination", "series"], default="combination",
                   help="combination (default): per level, the average of the candidate subset with the best pooled "
                   "backtest score; series: per series, the single best model")
    r.add_argument("--ensemble", action="store_true",
                   help="with --selection series: also try each series' best-two average")
    r.add_argument("--reconcile", choices=["bottom_up", "ols", "mint_shrink"], default="bottom_up")
    r.add_argument("--levels", default=None, help="comma-separated hierarchy levels to forecast (default all)")
    r.add_argument("--tune", action="store_true", help="tune the gradient-boosting model first")
    r.add_argument("--force", action="store_true", help="refresh even when the data has not changed")
    r.add_argument("--backtest-inputs", choices=["as_known", "oracle"], default="as_known",
                   help="folds' inputs: as known at each origin (default) or the realised ones (comparison only)")
    r.add_argument("--engine", choices=["local", "spark"], default="local",
                   help="local: the process pool (default); spark: a Spark job (needs requirements-spark.txt, Java 17)")
    r.add_argument("--spark-master", default=None, help="Spark master URL (default SALES_SPARK_MASTER, else local[*])")
    r.set_defaults(func=cmd_refresh)


def _add_inventory_ingest_parser(isub, common) -> None:
    """``ingest inventory``: on-hand stock, lead times, costs, service targets, pack sizes and open orders."""
    v = isub.add_parser("inventory", parents=[common], help="inventory inputs per store x product (* = default)")
    v.add_argument("path", help="CSV, CSV.gz, Parquet or workbook file, one line per store x product (or open order)")
    v.add_argument("--map", required=True, help="field=COLUMN pairs: store, product (required; * = every one) and "
                   "any of on_hand, lead_time, lead_time_sd, review_period, unit_cost, holding_rate, lost_sale_cost, "
                   "backorder_cost, target_csl, target_fill_rate, moq, case_pack, shelf_life, on_order_qty with "
                   "arrival_date")
    v.add_argument("--unit", choices=["days", "weeks"], default="days",
                   help="unit of lead_time, lead_time_sd, review_period and shelf_life (default days)")
    v.add_argument("--dayfirst", action="store_true", help="arrival dates are day-first (31/12/2020)")
    v.add_argument("--dry-run", action="store_true", help="validate and summarise without writing")
    add_sheet_option(v)
    v.set_defaults(func=cmd_ingest_inventory)


def _add_ingest_parsers(sub, common) -> None:
    """`ingest walmart|csv|plan|inventory|orders`."""
    ing = sub.add_parser("ingest", help="import sales data (walmart directory, long CSV/Parquet/Excel files, "
                         "order lines)")
    isub = ing.add_subparsers(dest="source", required=True)
    w = isub.add_parser("walmart", parents=[common], help="the Kaggle Walmart files (train, features, stores)")
    w.add_argument("path", help="directory holding train.csv[.gz], features.csv[.gz], stores.csv[.gz]")
    w.add_argument("--dry-run", action="store_true", help="validate and summarise without writing")
    w.set_defaults(func=cmd_ingest)
    c = isub.add_parser("csv", parents=[common], help="a long-format CSV, CSV.gz, Parquet or workbook file")
    c.add_argument("path")
    c.add_argument("--map", required=True,
                   help="field=COLUMN pairs, e.g. date=Date,sales=Sales,store=Store,product=Item,promo=Promo")
    c.add_argument("--extra", default="", help="comma-separated extra numeric columns kept as covariates")
    c.add_argument("--dayfirst", action="store_true", help="dates are day-first (31/12/2020)")
    c.add_argument("--stores", dest="stores", help="optional store attributes file")
    c.add_argument("--stores-map", dest="stores_map", default=None,
                   help="field=COLUMN pairs for the stores file: store=,region=,type=,size=")
    c.add_argument("--name", default=None, help="dataset name (default: the file name)")
    c.add_argument("--freq", choices=["D", "W"], default=None, help="override the detected frequency")
    c.add_argument("--dry-run", action="store_true", help="validate and summarise without writing")
    add_sheet_option(c)
    c.set_defaults(func=cmd_ingest)
    pl = isub.add_parser("plan", parents=[common], help="a plan file: promotions, depths, prices, closures, events, "
                         "unit costs at any grain (CSV, CSV.gz, Parquet or a workbook)")
    pl.add_argument("path")
    pl.add_argument("--map", required=True, help="field=COLUMN pairs: date (required) and any of store, product, "
                    "category (empty cell or unmapped = all), promo, promo_intensity, price, open, event, cost")
    pl.add_argument("--dayfirst", action="store_true", help="dates are day-first (31/12/2020)")
    pl.add_argument("--dry-run", action="store_true", help="validate and summarise without writing")
    add_sheet_option(pl)
    pl.set_defaults(func=cmd_ingest)
    _add_inventory_ingest_parser(isub, common)
    add_orders_parser(isub, common)


def _add_decision_parsers(sub, common) -> None:
    """`optimize-promos` and `inventory`: decisions from the forecasts."""
    inv = sub.add_parser("inventory", parents=[common], help="today's order per store x product from the forecasts")
    inv.add_argument("--policy", choices=["periodic", "continuous"], default=None,
                     help="(R, S) order-up-to or (s, Q) reorder point (default $SALES_INVENTORY_POLICY or periodic)")
    inv.add_argument("--no-save", action="store_true", help="do not store the result for the dashboard")
    inv.set_defaults(func=cmd_inventory)

    op = sub.add_parser("optimize-promos", parents=[common],
                        help="choose promotions (store x product x week x depth) for the most expected margin")
    op.add_argument("--start", required=True, help="first day of the first week (YYYY-MM-DD)")
    op.add_argument("--weeks", type=int, required=True, help="number of weeks (inside the forecast horizon)")
    op.add_argument("--max-per-store-week", type=int, default=3, help="most promotions per store and week")
    op.add_argument("--depths", default="0.1,0.2,0.3", help="candidate discount depths, each in (0, 1)")
    op.add_argument("--budget", type=float, default=None, help="most expected discount cost in total")
    op.add_argument("--apply", action="store_true", help="write the calendar to the plan")
    op.set_defaults(func=cmd_optimize_promos)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _add_serve_parsers(sub, common) -> None:
    """``serve`` (development server, or gunicorn with ``--prod``) and ``db upgrade|current`` (migrations)."""
    sv = sub.add_parser("serve", parents=[common], help="serve the dashboard (and with --prod the API)")
    sv.add_argument("--host", default=None)
    sv.add_argument("--port", type=int, default=None)
    sv.add_argument("--debug", action="store_true")
    sv.add_argument("--prod", action="store_true", help="production server: gunicorn with uvicorn workers serving "
                    "the dashboard and the API (server.py)")
    sv.add_argument("--workers", type=_positive, default=None, help="with --prod: worker processes "
                    "(default $SALES_WORKERS or 2)")
    sv.set_defaults(func=cmd_serve)
    db = sub.add_parser("db", parents=[common], help="schema migrations (Alembic)")
    db.add_argument("action", choices=["upgrade", "current"], help="upgrade: apply the pending migrations; "
                    "current: the database's revision and the newest")
    db.set_defaults(func=cmd_db)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database path or SQLAlchemy URL (default: $SALES_DB or data/sales.db)")
    common.add_argument("--json", action="store_true", help="print one JSON object")

    p = argparse.ArgumentParser(prog="cli.py", description="Sales forecasting dashboard: data and models.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", parents=[common], help="generate synthetic demo data with known effects")
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--stores", type=int, default=10)
    d.add_argument("--products", type=int, default=20)
    d.add_argument("--years", type=int, default=3)
    d.add_argument("--force", action="store_true", help="replace a database that holds imported (non-demo) data")
    d.add_argument("--orders", nargs="?", type=int, const=0, default=None, metavar="CUSTOMERS",
                   help="sales as order lines of customers with planted BG/NBD + Gamma-Gamma parameters (default 6000)")
    d.add_argument("--shift-after", metavar="DATE", help="plant a level shift: sales after DATE times 1 + --shift")
    d.add_argument("--shift", type=float, default=0.3, help="size of the planted shift (default 0.3: +30%%)")
    d.set_defaults(func=cmd_demo)

    _add_ingest_parsers(sub, common)

    q = sub.add_parser("quality", parents=[common], help="data-quality report")
    q.set_defaults(func=cmd_quality)

    e = sub.add_parser("effects", parents=[common], help="promotion, holiday and weather effects with CIs")
    e.add_argument("--level", choices=["total", "region", "store", "category"], default="category")
    e.add_argument("--no-save", action="store_true", help="do not store the results for the dashboard")
    e.set_defaults(func=cmd_effects)

    _add_refresh_parser(sub, common)
    _add_whatif_parser(sub, common)
    _add_explain_parser(sub, common)

    s = sub.add_parser("schedule", parents=[common], help="run refreshes on a cron schedule")
    s.add_argument("--cron", default=None, help='crontab expression (default $SALES_SCHEDULE or "0 3 * * *")')
    s.add_argument("--once", action="store_true", help="run one scheduled check now and exit")
    s.add_argument("--horizon", type=int, default=None)
    s.add_argument("--models", default=None)
    s.add_argument("--jobs", type=int, default=None)
    s.set_defaults(func=cmd_schedule)

    _add_decision_parsers(sub, common)
    commands.add_all(sub, common)

    sd = sub.add_parser("setup-demo", parents=[common], help="demo data and first refresh when missing")
    sd.set_defaults(func=cmd_setup_demo)

    _add_serve_parsers(sub, common)

    i = sub.add_parser("info", parents=[common], help="what the store holds")
    i.set_defaults(func=cmd_info)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "db", None):
        import config
        os.environ["SALES_DB"] = config.database_url(args.db)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
