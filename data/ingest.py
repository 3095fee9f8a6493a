"""Import dispatcher: run an importer's ``prepare`` and write the result all-or-nothing with :func:`commit`.

The two importers (:mod:`data.ingest_walmart`, :mod:`data.ingest_csv`) only *prepare* pandas frames and
validate them; :func:`commit` then checks the target database (frequency, content hash) and writes everything
in one ``store.session_scope()`` transaction, which first takes the database's write lock and checks again
(:mod:`data.guards`), so two imports started at once never mix frequencies. Nothing touches the database before validation has passed, so a
failed import leaves the database file byte-identical (and a new path is not even created).
"""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from data import ingest_csv as _csv
from data import ingest_walmart as _walmart
from data import guards, monitoring, schema, store
from data.ingest_common import IngestError, Prepared, read_table
from data.writers import bulk_write_cache, driver_fast_path, load_facts

__all__ = ["IngestError", "Prepared", "read_table", "ingest_walmart", "ingest_csv", "commit", "summary_of",
           "format_summary"]


def ingest_walmart(path, dry_run: bool = False, url: str | None = None) -> dict:
    """Import the Kaggle Walmart files (train, features, stores) from directory ``path``; see data/ingest_walmart.py."""
    return commit(_walmart.prepare(path), url=url, dry_run=dry_run)


def ingest_csv(path, mapping, extra="", dayfirst: bool = False, stores_file=None, stores_map=None,
               dataset_name: str | None = None, frequency: str | None = None, dry_run: bool = False,
               url: str | None = None, sheet: str | None = None) -> dict:
    """Import a long-format CSV, CSV.gz, Parquet or workbook file with a column ``mapping``; see data/ingest_csv.py."""
    prep = _csv.prepare(path, mapping, extra=extra, dayfirst=dayfirst, stores_file=stores_file,
                        stores_map=stores_map, dataset_name=dataset_name, frequency=frequency, sheet=sheet)
    return commit(prep, url=url, dry_run=dry_run)


# ----------------------------------------------------------------------------- commit

def _existing_state(url: str | None) -> dict | None:
    """What the target database already holds, read without creating anything; None for an empty store."""
    if not store.db_exists(url):
        return None
    ds = store.datasets(url)
    return {"frequency": store.frequency(url), "counts": store.counts(url),
            "last_hash": ds["content_hash"].iloc[0] if len(ds) else None,
            "last_name": ds["name"].iloc[0] if len(ds) else None,
            "stores": store.stores(url), "products": store.products(url)}


def summary_of(prep: Prepared) -> dict:
    s = prep.sales
    return {
        "dataset": prep.name, "source": prep.source, "frequency": prep.frequency,
        "rows_read": int(prep.rows_read), "rows_valid": int(len(s)),
        "rows_rejected": int(sum(prep.rejected.values())), "rejected_reasons": dict(prep.rejected),
        "duplicates": int(prep.duplicates),
        "start": str(s["date"].min().date()) if len(s) else None,
        "end": str(s["date"].max().date()) if len(s) else None,
        "dates": int(s["date"].nunique()),
        "series": int(len(s[["store_id", "product_id"]].drop_duplicates())),
        "stores": int(s["store_id"].nunique()), "products": int(s["product_id"].nunique()),
        "closed_rows": int((s["is_open"] == 0).sum()),
        "covariates": sorted(prep.covariates["name"].unique().tolist()) if prep.covariates is not None
        and len(prep.covariates) else [],
        "calendar_events": int(len(prep.events)) if prep.events is not None else 0,
        "weather_rows": int(len(prep.weather)) if prep.weather is not None else 0,
        "content_hash": prep.content_hash, "warnings": list(prep.warnings),
        "plan_rows": int(len(prep.plan)) if prep.plan is not None else 0,
    }


def commit(prep: Prepared, url: str | None = None, dry_run: bool = False, also_write=None) -> dict:
    """Check the prepared import against the database and write it in one transaction (unless ``dry_run``).

    ``also_write(session)``, when given, writes an importer's own rows (the order lines) in that transaction.

    Returns the summary dict. Raises :class:`IngestError` on a frequency mismatch. Re-importing content whose
    hash equals the latest import's is reported as ``already_imported`` and writes nothing.
    """
    summary = summary_of(prep)
    summary.update(dry_run=bool(dry_run), already_imported=False, rows_written=0, rows_new=0, rows_changed=0,
                   database=store.resolve_url(url))
    state = _existing_state(url)
    if _check_against(prep, state, summary):
        return summary
    if dry_run:
        if state and state["counts"]["rows"] > 0:
            with store.session_scope(read_only=True, url=url) as session:
                summary["rows_changed"] = guards.changed_facts(session, prep.sales)
        summary["message"] = (f"dry run: validated, nothing written ({len(prep.sales):,} rows would be written, "
                              f"{summary['rows_changed']:,} stored facts would change)")
        return summary
    store.init_db(url)
    details = {"rejected": prep.rejected, "duplicates": int(prep.duplicates), "options": prep.options,
               "warnings": prep.warnings, "closed_rows": summary["closed_rows"]}
    dataset_row = pd.DataFrame([{
        "name": prep.name, "source": prep.source, "frequency": prep.frequency,
        "start_date": prep.sales["date"].min(), "end_date": prep.sales["date"].max(),
        "rows_read": int(prep.rows_read), "rows_written": int(len(prep.sales)),
        "rows_rejected": summary["rows_rejected"], "duplicates": int(prep.duplicates),
        "n_series": summary["series"], "n_stores": summary["stores"], "n_products": summary["products"],
        "content_hash": prep.content_hash, "imported_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        "details": json.dumps(details, default=str)}])
    with store.session_scope(url=url) as session:
        # Under the write lock, check again against what the database holds now: another import may have
        # committed since the check above (two imports into a new database must not mix frequencies).
        _lock(session)
        state = _existing_state(url)
        if _check_against(prep, state, summary):
            return summary
        before = state["counts"]["rows"] if state else 0
        stores_df, products_df = _merge_dims(prep, state)
        with bulk_write_cache(session):
            changed = guards.changed_facts(session, prep.sales) if before else 0
            store.upsert_frame(session, schema.StoreDim, stores_df)
            store.upsert_frame(session, schema.ProductDim, products_df)
            for table, frame in ((schema.Covariate, prep.covariates), (schema.CalendarEvent, prep.events),
                                 (schema.Weather, prep.weather)):
                if frame is not None and len(frame):
                    store.upsert_frame(session, table, frame)
            # Into an empty SQLite fact table the aggregates are summed from the frame in a thread while the
            # facts are inserted (it reads the dimensions, weather and events written above).
            pending = store.aggregates_in_background(session, prep.sales) \
                if not before and driver_fast_path(session) else None
            written = load_facts(session, schema.Sale, prep.sales, fresh=not before)
            store.upsert_frame(session, schema.Dataset, dataset_row)
            if prep.plan is not None and len(prep.plan):
                store.write_plan(prep.plan, source="sales-import", session=session, keep_unset=True)
            if also_write is not None:
                also_write(session)
            store.rebuild_aggregates(session, facts=None if before else prep.sales, computed=pending)
    summary["rows_written"] = int(written)
    summary["rows_new"] = int(store.counts(url)["rows"] - before)
    summary["rows_changed"] = int(changed)
    summary["message"] = "imported"
    summary["live_scoring"] = monitoring.after_import(url)  # scores stored runs on the new actuals; never raises
    return summary


def _check_against(prep: Prepared, state: dict | None, summary: dict) -> bool:
    """Raise :class:`IngestError` when the database holds data of another frequency; True (and ``summary``
    marked ``already_imported``) when its latest import has the same content hash, so nothing is to be written."""
    if state and state["counts"]["rows"] > 0 and state["frequency"] != prep.frequency:
        names = {"D": "daily (D)", "W": "weekly (W)"}
        raise IngestError(
            f"{prep.source}: frequency mismatch: this data is {names[prep.frequency]} but the database already "
            f"holds {names.get(state['frequency'], state['frequency'])} data (dataset '{state['last_name']}'); "
            "import it into another database with --db PATH")
    if state and state["last_hash"] == prep.content_hash:
        summary["already_imported"] = True
        summary["message"] = "already imported (same content hash as the latest import): nothing changed"
        return True
    return False


def _lock(session) -> None:
    """The database's write lock for the import's transaction; a timeout becomes an :class:`IngestError`."""
    try:
        guards.lock_for_import(session)
    except guards.WriteLockTimeout as exc:
        raise IngestError(str(exc)) from None


def _merge_dims(prep: Prepared, state: dict | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep attributes the database already has for stores/products this import knows nothing about."""
    stores_df, products_df = prep.stores, prep.products
    if state is not None:
        if prep.weak_store_attrs and len(state["stores"]):
            known = state["stores"].set_index("store_id")
            stores_df = stores_df[~stores_df["store_id"].isin(known.index)]
        if prep.weak_product_attrs and len(state["products"]):
            known = state["products"].set_index("product_id")
            products_df = products_df[~products_df["product_id"].isin(known.index)]
    return stores_df, products_df


# ----------------------------------------------------------------------------- summary text

def format_summary(summary: dict) -> str:
    """The import summary as a few human-readable lines."""
    lines = []
    head = "DRY RUN - nothing written. " if summary.get("dry_run") else ""
    if summary.get("already_imported"):
        head = "Already imported - nothing changed. "
    lines.append(f"{head}Dataset '{summary.get('dataset')}' from {summary.get('source')}")
    lines.append(f"  rows read     {summary.get('rows_read', 0):>12,}")
    lines.append(f"  rows valid    {summary.get('rows_valid', 0):>12,}")
    lines.append(f"  rows written  {summary.get('rows_written', 0):>12,}   (new facts: {summary.get('rows_new', 0):,}, "
                 f"changed facts: {summary.get('rows_changed', 0):,})")
    lines.append(f"  rows rejected {summary.get('rows_rejected', 0):>12,}")
    for reason, n in (summary.get("rejected_reasons") or {}).items():
        lines.append(f"      {n:,} x {reason}")
    lines.append(f"  duplicates    {summary.get('duplicates', 0):>12,}   (identical rows dropped)")
    lines.append(f"  date range    {summary.get('start')} .. {summary.get('end')}  ({summary.get('dates', 0):,} dates, "
                 f"frequency {summary.get('frequency')})")
    lines.append(f"  series {summary.get('series', 0):,}   stores {summary.get('stores', 0):,}   "
                 f"products {summary.get('products', 0):,}   closed rows {summary.get('closed_rows', 0):,}")
    if summary.get("covariates"):
        lines.append(f"  covariates    {', '.join(summary['covariates'])}")
    lines.append(f"  calendar events {summary.get('calendar_events', 0):,}   weather rows {summary.get('weather_rows', 0):,}")
    if summary.get("plan_rows"):
        lines.append(f"  plan rows     {summary['plan_rows']:>12,}   (future rows without sales and unit costs, kept "
                     "as the plan)")
    for w in summary.get("warnings") or ():
        lines.append(f"  warning: {w}")
    if "seconds" in summary:
        lines.append(f"  took {summary['seconds']} s")
    return "\n".join(lines)

