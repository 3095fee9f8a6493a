"""The data layer's public API in one namespace: ``from data import store; store.series(...)``.

A thin facade over the modules split by concern: :mod:`data.engine` (engine, sessions, reads),
:mod:`data.writers` (bulk writes), :mod:`data.keys` (series keys), :mod:`data.facts` (import log, dimensions,
facts), :mod:`data.series` (series readers), :mod:`data.aggregates` (nodes and ``agg_sales``),
:mod:`data.runs` and :mod:`data.results` (refresh runs and their results), :mod:`data.locks`,
:mod:`data.frames` (saved analysis frames), :mod:`data.plans` (the plan), :mod:`data.version`,
:mod:`data.views` (dashboard queries) and :mod:`data.inventory` (inventory inputs).
"""
from __future__ import annotations

from data.aggregates import compute_in_background as aggregates_in_background
from data.aggregates import rebuild_aggregates
from data.engine import db_exists, get_engine, init_db, resolve_url, session_scope
from data.facts import (QUALITY_COLUMNS, calendar_events, counts, covariates, data_hash, data_summary, dataset_name,
                        datasets, date_bounds, demo_truth, frequency, latest_dataset, nodes, products, sales_columns,
                        sales_facts, stores, weather)
from data.frames import analysis_index, load_frame, save_frame
from data.inventory import (InventoryInputError, bottom_keys, delete_inventory_params, delete_on_order,
                            inputs_updated_at, inventory_params, on_order, series_params, set_on_order,
                            upsert_inventory_params)
from data.keys import node_id, node_keys, parse_node_id
from data.locks import acquire_lock, lock_info, refresh_lock, release_lock
from data.plans import PLAN_FIELDS, delete_plan, expanded_plan, plan_changes, plan_rows, write_plan
from data.results import (METRIC_COLS, backtest_metrics, diagnostics, forecast, forecast_history, forecast_models,
                          forecasts_for_level, model_summary, selection, selections, tuning_trials,
                          write_run_results)
from data.runs import (abandon_running_runs, create_run, current_run, mark_failed, prune_runs, publish_run,
                       run_info, running_run_ids, runs, update_progress)
from data.run_accuracy import chosen_folds, chosen_wape
from data.series import bottom_frame, level_frame, nodes_series, nodes_totals, series
from data.version import data_version
from data.views import (chosen_model_wape, filter_options, has_nodes, history_and_forecast, level_period_sales,
                        model_comparison, node_ids, past_forecasts, period_totals, search_nodes)
from data.writers import FACT_TABLES, bulk_insert, clear_facts, upsert_frame
from domain import ALL, BOTTOM_LEVEL, FORECAST_COLS, LEVELS

__all__ = [
    "PLAN_FIELDS", "delete_plan", "expanded_plan", "plan_changes", "plan_rows", "write_plan",
    "ALL", "BOTTOM_LEVEL", "FACT_TABLES", "FORECAST_COLS", "LEVELS", "METRIC_COLS", "QUALITY_COLUMNS",
    "InventoryInputError", "bottom_keys", "delete_inventory_params", "delete_on_order", "inputs_updated_at", "inventory_params",
    "on_order",
    "series_params", "set_on_order", "upsert_inventory_params",
    "abandon_running_runs", "acquire_lock", "analysis_index", "backtest_metrics", "bottom_frame", "bulk_insert",
    "calendar_events", "chosen_folds", "chosen_model_wape", "chosen_wape", "clear_facts", "counts", "covariates", "create_run", "current_run",
    "data_hash", "data_summary", "data_version", "dataset_name", "datasets", "date_bounds", "db_exists",
    "demo_truth", "diagnostics", "filter_options", "forecast", "forecast_history", "forecast_models",
    "forecasts_for_level", "frequency", "get_engine", "has_nodes", "history_and_forecast",
    "init_db", "latest_dataset", "level_frame", "level_period_sales", "load_frame", "lock_info", "mark_failed",
    "model_comparison", "model_summary", "node_id", "node_ids", "node_keys", "nodes", "nodes_series", "nodes_totals",
    "parse_node_id", "past_forecasts", "period_totals", "products", "prune_runs", "publish_run",
    "aggregates_in_background", "rebuild_aggregates", "refresh_lock", "release_lock", "resolve_url", "run_info",
    "running_run_ids",
    "runs", "sales_columns", "sales_facts", "save_frame", "search_nodes", "selection",
    "selections", "series", "session_scope", "stores", "tuning_trials", "update_progress",
    "upsert_frame", "weather", "write_run_results",
]
