"""The domain vocabulary every layer shares: hierarchy levels, column names, frequencies, sentinels, frame names.

Like ``config``, this module sits below every layer (data, analytics, models, jobs, callbacks, layouts may all
import it) and imports nothing of the project, so each constant has exactly one home.
"""
from __future__ import annotations

import pandas as pd

# --- the hierarchy -------------------------------------------------------------------------------------------
BOTTOM_LEVEL = "store_product"
AGG_LEVELS = ("total", "region", "store", "category", "product", "store_category")
LEVELS = (*AGG_LEVELS, BOTTOM_LEVEL)
# The columns naming the members a series belongs to (one per part of a series key), in alphabetical order: the
# order the global tree models use them as categorical features.
HIERARCHY_COLS = ("category", "product_id", "region", "store_id")

# Key columns hold ALL where a row applies to every store or product (store-level covariates, national holidays).
ALL = "*"
# Scope of a calendar event or weather row that applies everywhere (``calendar_events.scope``).
SCOPE_ALL = "all"
# The one store, product, region or category of data that has no such column (a real member, named "All ...").
DEFAULT_MEMBER = "all"
# Longest store, product, category or region id an import accepts (a 10 MB id once grew a 340 KB database to 221 MB).
MAX_ID_LENGTH = 200
# The longest series key: two escaped id parts (each character may take 3) with their names, e.g.
# "store=<id>/product=<id>"; the database's key columns are declared this wide.
MAX_KEY_LENGTH = 2 * (len("category=") + 3 * MAX_ID_LENGTH) + 1

# --- long frames ---------------------------------------------------------------------------------------------
EXOG_COLS = ("promo", "is_holiday", "temp_c")
# Optional: weather, and the plan's depth, price and open flag (issue 13 §2; NaN open = open).
OPTIONAL_EXOG = ("precip_mm", "promo_intensity", "price", "is_open")
DEFAULT_LEVELS = (80, 95)


def interval_columns(levels=DEFAULT_LEVELS) -> list[str]:
    """``yhat_lo_80, yhat_hi_80, yhat_lo_95, ...``: the interval columns of a forecast at coverage ``levels``."""
    return [f"yhat_{side}_{int(lv)}" for lv in levels for side in ("lo", "hi")]


FORECAST_COLS = ["series_id", "ds", "yhat", *interval_columns()]

# --- frequencies ---------------------------------------------------------------------------------------------
FREQ_STEP = {"D": pd.Timedelta(days=1), "W": pd.Timedelta(days=7)}
DEFAULT_SEASON = {"D": 7, "W": 52}
YEAR_LENGTH = {"D": 365, "W": 52}


def freq_step(freq: str) -> pd.Timedelta:
    """The time between two observations for ``freq`` ('D' or 'W')."""
    try:
        return FREQ_STEP[freq]
    except KeyError:
        raise ValueError(f"freq must be 'D' (daily) or 'W' (weekly), got {freq!r}") from None


# --- saved analysis frames -----------------------------------------------------------------------------------
class Frames:
    """Names of the result frames saved with ``store.save_frame(session, name, level, df)`` and read back with
    ``store.load_frame(name, level)``; the effects job writes all but ``QUALITY_REPORT`` (see
    :mod:`jobs.effects_job` for their columns)."""

    EFFECTS = "effects"
    HOLIDAY_EVENT_STUDY = "holiday_event_study"
    TEMPERATURE_CURVE = "temperature_curve"
    PRECIPITATION_CURVE = "precipitation_curve"
    PROMO_BY_STORE = "promo_by_store"
    PROMO_BY_STORE_GROUP = "promo_by_store_group"
    CORRELATIONS = "correlations"
    PROMO_LAG_CORRELATION = "promo_lag_correlation"
    SEASONAL_PROFILES = "seasonal_profiles"
    SEASONALITY = "seasonality"
    NODE_SUMMARY = "node_summary"
    QUALITY_REPORT = "quality_report"  # level "all": the data-quality report as JSON
    INVENTORY_ORDERS = "inventory_orders"  # level "all": recommended orders per store x product (cli.py inventory)
    INVENTORY_TRADEOFF = "inventory_tradeoff"  # level "all": service vs inventory per policy (cli.py inventory)
    PRICE_ELASTICITY = "price_elasticity"  # effects job (level "category"): analytics.elasticity, read by whatif
    PROMO_REFERENCE_DEPTH = "promo_reference_depth"  # effects job (level "category"): depth the lift refers to
    FEATURE_IMPORTANCE = "feature_importance"  # level = run id: the refresh's global tree models (models.explain)
    # level = run id, written when the run is published (data/run_accuracy.py): its chosen models' backtest accuracy
    RUN_ACCURACY = "run_accuracy"  # one row: wape_total, wape_median, wape_n (the Overview's accuracy KPIs)
    RUN_ACCURACY_FOLDS = "run_accuracy_folds"  # per level and fold: summed errors and actuals (Monitoring's band)
    # level "all", written by `cli.py customers` (jobs/customers_job.py documents their columns)
    CUSTOMER_SCORES = "customer_scores"
    CUSTOMER_SEGMENTS = "customer_segments"
    CUSTOMER_COHORTS = "customer_cohorts"
    CUSTOMER_SEGMENT_PRODUCTS = "customer_segment_products"
    CUSTOMER_MODEL = "customer_model"
    CUSTOMER_CHURN_RELIABILITY = "customer_churn_reliability"
    CUSTOMER_HOLDOUT = "customer_holdout"
    MONITOR_DRIFT = "monitor_drift"  # level "all": the last drift check, one row per level and test (monitoring/)
    DEMAND_CLASSES = "demand_classes"  # level = a hierarchy level: demand class, ABC/XYZ, margin (jobs/sparse.py)


# --- importer fields -----------------------------------------------------------------------------------------
# The fields of `cli.py ingest csv --map field=COLUMN,...` (and of the upload form), and of `--stores-map`.
IMPORT_FIELDS = ("date", "sales", "store", "product", "category", "region", "promo", "promo_intensity", "holiday",
                 "open", "temperature", "precipitation", "price", "units", "cost")
REQUIRED_FIELDS = ("date", "sales")
# Largest magnitude an imported number may have (sales, price, units, weather, covariates...). Sums over millions
# of rows and their squares (variances, MinT covariances) must stay finite in float64: 1e308 sales were accepted
# once and every aggregate became inf. 1e15 is far above any real sales figure yet leaves ~1e290 of headroom.
MAX_ABS_VALUE = 1e15
# Dates an import accepts: older or later dates are typos (or Excel's 1899/1900 epoch) and would make pandas'
# nanosecond timestamps overflow (they end in 2262).
DATE_MIN = pd.Timestamp("1900-01-01")
DATE_MAX = pd.Timestamp("2100-12-31")
STORE_FIELDS = ("store", "name", "region", "type", "size")
# The fields the upload form offers, in its order, with their labels (required ones marked *).
FIELD_LABELS = {"date": "Date *", "sales": "Sales *", "store": "Store", "product": "Product", "category": "Category",
                "region": "Region", "promo": "Promotion flag", "holiday": "Holiday flag", "open": "Open flag",
                "temperature": "Temperature (°C)", "precipitation": "Precipitation (mm)", "price": "Price",
                "cost": "Unit cost"}
# Normalised column names (lower case, letters and digits only) that suggest each field; the first match wins.
FIELD_SYNONYMS = {
    "date": ("date", "ds", "day", "week", "weekdate", "orderdate", "period"),
    "sales": ("sales", "weeklysales", "y", "revenue", "amount", "turnover", "netsales", "value"),
    "store": ("store", "storeid", "storenbr", "shop", "location", "outlet"),
    "product": ("product", "productid", "item", "itemid", "sku", "dept", "department", "article"),
    "category": ("category", "family", "productcategory", "group", "categoryname"),
    "region": ("region", "state", "area", "storetype", "type"),
    "promo": ("promo", "promotion", "onpromotion", "promoflag", "ispromo"),
    "holiday": ("holiday", "isholiday", "stateholiday", "schoolholiday"),
    "open": ("open", "isopen", "storeopen"),
    "temperature": ("temperature", "temp", "tempc", "temperaturec"),
    "precipitation": ("precipitation", "precip", "precipmm", "rain", "rainfall"),
    "price": ("price", "unitprice", "sellprice"),
    "cost": ("cost", "unitcost", "costprice", "cogs"),
}


# --- inventory inputs ----------------------------------------------------------------------------------------
# The per store x product inputs of the inventory policies (table ``inventory_params``, data/inventory.py), in the
# order the page and the import summary show them. Durations are in days; rates and service levels are shares.
INVENTORY_PARAM_FIELDS = ("on_hand", "lead_time_days", "lead_time_sd_days", "review_period_days", "unit_cost",
                          "holding_rate", "lost_sale_cost", "backorder_cost", "target_csl", "target_fill_rate", "moq",
                          "case_pack", "shelf_life_days")
# `cli.py ingest inventory FILE --map field=COLUMN,...`: importer field -> the column it fills. ``lead_time``,
# ``lead_time_sd``, ``review_period`` and ``shelf_life`` are in days (``--unit weeks`` for weeks); ``on_order_qty``
# with ``arrival_date`` is one open order per line.
INVENTORY_IMPORT_FIELDS = {
    "store": "store_id", "product": "product_id", "on_hand": "on_hand", "lead_time": "lead_time_days",
    "lead_time_sd": "lead_time_sd_days", "review_period": "review_period_days", "unit_cost": "unit_cost",
    "holding_rate": "holding_rate", "lost_sale_cost": "lost_sale_cost", "backorder_cost": "backorder_cost",
    "target_csl": "target_csl", "target_fill_rate": "target_fill_rate", "moq": "moq", "case_pack": "case_pack",
    "shelf_life": "shelf_life_days", "on_order_qty": "quantity", "arrival_date": "arrival_date",
}
