"""Every component ID of the dashboard, one class per page, plus the URL query-string helpers.

URL-state pattern (copy it for every page)
------------------------------------------
1. The page's ``layout(**query)`` reads its query parameters (strings) and turns them into the initial
   control values with :func:`q_str`, :func:`q_list`, :func:`q_int` — never trusting them: unknown values
   fall back to defaults.
2. ONE callback per page (``sync_<page>_url``) writes the controls back into the shell's location::

       @callback(Output(ids.Shell.URL, "search", allow_duplicate=True),
                 Input(ids.Explore.GRAN, "value"), ..., prevent_initial_call=True)
       def sync_explore_url(gran, ...):
           return ids.to_search({"gran": gran, ...})

   ``ids.Shell.URL`` is a ``dcc.Location(refresh=False)``: a new search is pushed onto the browser history
   (so a copied link restores the view) without re-rendering the page. Dash's page router never hears of
   these pushes, so ``assets/url_state.js`` reloads the page when back/forward land on another query of the
   same page; ``layout(**query)`` then rebuilds the controls from the URL. (Back/forward between pages is
   the router's job.) ``allow_duplicate=True`` + ``prevent_initial_call=True`` are required because every
   page writes the same output.
3. Everything else reads the controls (or a page-level filter ``dcc.Store`` when there are more than four).
4. ``ids.Shell.SESSION`` is a ``dcc.Store(storage_type="session")`` for small JSON shared across pages
   (e.g. ``{"node": "store=3"}`` — the node last explored, used as the Forecast page's default).
"""
from __future__ import annotations

import re
from urllib.parse import urlencode


# The navbar groups pages by task; a new page adds one (name, path) pair to its group and passes its path from
# here. Order within a group is the order of the links.
NAV_GROUPS = (
    ("Analyse", (("Overview", "/"), ("Explore", "/explore"), ("Drivers", "/drivers"), ("Customers", "/customers"))),
    ("Forecast & plan", (("Forecast", "/forecast"), ("Plan", "/plan"), ("Promotions", "/promotions"),
                         ("Inventory", "/inventory"))),
    ("Operate", (("Data", "/data"), ("Runs", "/runs"), ("Monitoring", "/monitoring"), ("Reports", "/reports"))),
)
# Every page in navbar order, flattened.
PAGES = tuple(page for _group, pages in NAV_GROUPS for page in pages)


class Shell:
    URL = "shell-url"
    SESSION = "shell-session-store"
    NAVBAR = "shell-navbar"
    CONTENT = "shell-content"
    USER = "shell-user"  # the navbar's signed-in user and logout button, or the "open mode" badge

    @staticmethod
    def nav_group(group: str) -> str:
        """The ID of a navbar group's dropdown, e.g. ``shell-nav-forecast-plan``."""
        return "shell-nav-" + re.sub(r"[^a-z0-9]+", "-", group.lower()).strip("-")


class Overview:
    PERIOD = "overview-period-select"
    KPIS = "overview-kpi-row"
    KPI_NAMES = ("sales", "vs-prev", "vs-ly", "forecast", "accuracy", "freshness")
    FAN = "overview-fan-chart"
    MOVERS_LEVEL = "overview-movers-level"
    MOVERS = "overview-movers-chart"
    MOVERS_TABLE = "overview-movers-table"
    ALERTS = "overview-alerts"


class Explore:
    START = "explore-start-date"
    END = "explore-end-date"
    DATES = "explore-date-range"
    REGION = "explore-region-select"
    STORES = "explore-stores-select"
    CATEGORY = "explore-category-select"
    PRODUCTS = "explore-products-select"
    GRAN = "explore-granularity"
    FILTERS = "explore-filter-store"
    BREADCRUMB = "explore-breadcrumb"
    TITLE = "explore-series-title"
    BREAKDOWN = "explore-breakdown-chart"
    SERIES = "explore-series-chart"
    HEATMAP = "explore-heatmap-chart"
    DECOMP = "explore-decomposition-chart"
    DECOMP_BTN = "explore-decompose-button"
    HIST = "explore-histogram-chart"
    GRID = "explore-summary-grid"
    EXPORT = "explore-export-button"
    FORECAST_LINK = "explore-forecast-link"
    ERROR = "explore-error"
    DEMAND_LEVEL = "explore-demand-level"
    DEMAND_EXPORT = "explore-demand-export-button"
    DEMAND_DOWNLOAD = "explore-demand-download"
    DEMAND_NOTE = "explore-demand-note"
    DEMAND_MATRIX = "explore-demand-matrix"
    DEMAND_TABLE = "explore-demand-matrix-table"
    DEMAND_BASIS = "explore-demand-basis"
    DEMAND_TOP = "explore-demand-top-grid"
    DEMAND_UNDER = "explore-demand-under-grid"
    DEMAND_BADGE = "explore-demand-badge"
    DEMAND_BADGE_TEXT = "explore-demand-badge-text"


def kpi_value(name: str) -> dict:
    """Pattern-matching ID of the big number of one Overview KPI card (``name`` in ``Overview.KPI_NAMES``)."""
    return {"type": "overview-kpi-value", "kpi": name}


def kpi_detail(name: str) -> dict:
    """Pattern-matching ID of the one-line detail under one Overview KPI card."""
    return {"type": "overview-kpi-detail", "kpi": name}


def crumb(level: str) -> dict:
    """Pattern-matching ID of one breadcrumb button on the Explore page (``level`` e.g. ``"region"``)."""
    return {"type": "explore-crumb", "level": level}


class Fcst:
    NODE = "fcst-node-select"
    MODEL = "fcst-model-select"
    QUERY = "fcst-query-store"
    CHART = "fcst-fan-chart"
    MODELS_TABLE = "fcst-models-table"
    PAST = "fcst-past-runs-chart"
    ACF = "fcst-acf-chart"
    RESID_HIST = "fcst-residual-histogram"
    LJUNG = "fcst-ljung-box-text"
    DOWNLOAD_BTN = "fcst-download-button"
    DOWNLOAD = "fcst-download"
    RUN_INFO = "fcst-run-info"
    # the "What drives this forecast" panel (layouts/explain_panel.py, callbacks/explain.py)
    EXPLAIN_DATE = "fcst-explain-date"
    EXPLAIN_INFO = "fcst-explain-info"
    EXPLAIN_OVERALL = "fcst-explain-overall-chart"
    EXPLAIN_NODE = "fcst-explain-node-chart"
    # the what-if scenario panel (layouts/whatif_panel.py, callbacks/whatif.py)
    WHATIF_PROMO = "fcst-whatif-promo-dates"
    WHATIF_DEPTH = "fcst-whatif-depth"
    WHATIF_PRICE = "fcst-whatif-price"
    WHATIF_CLOSED = "fcst-whatif-closed-dates"
    WHATIF_RUN = "fcst-whatif-run-button"
    WHATIF_STATUS = "fcst-whatif-status"
    WHATIF_CHART = "fcst-whatif-chart"
    WHATIF_TABLE = "fcst-whatif-table"


class Inv:
    STATUS = "inv-status"
    SUMMARY = "inv-summary"
    GRID = "inv-orders-grid"
    EXPORT_CSV = "inv-export-csv-button"
    EXPORT_XLSX = "inv-export-xlsx-button"
    DOWNLOAD = "inv-download"
    RISK = "inv-at-risk-table"
    TRADEOFF = "inv-tradeoff-chart"
    TRADEOFF_X = "inv-tradeoff-axis"
    SERIES = "inv-series-select"
    QUERY = "inv-query-store"
    PROJECTION = "inv-projection-chart"
    FORECAST_LINK = "inv-forecast-link"
    GRAIN = "inv-edit-grain"
    SAVE = "inv-edit-save-button"
    EDIT_RESULT = "inv-edit-result"
    ORDERS_LIST = "inv-open-orders"
    ORDER_DATE = "inv-order-date"
    ORDER_QTY = "inv-order-quantity"
    ORDER_ADD = "inv-order-add-button"
    ORDER_CLEAR = "inv-order-clear-button"


class Cust:
    QUERY = "cust-query-store"
    STATUS = "cust-status"
    SUMMARY = "cust-summary"
    SEGMENTS = "cust-segments-chart"
    SEGMENT_TABLE = "cust-segments-table"
    SEGMENT = "cust-segment-select"
    PRODUCTS = "cust-segment-products-chart"
    PRODUCTS_TABLE = "cust-segment-products-table"
    RISK_GRID = "cust-churn-risk-grid"
    EXPORT_CSV = "cust-export-csv-button"
    CLV = "cust-clv-chart"
    COHORTS = "cust-cohort-chart"
    TOP = "cust-top-customers-table"
    MODEL = "cust-model-table"


def inv_input(field: str) -> dict:
    """Pattern-matching ID of the Inventory page's edit box for one input (a field of INVENTORY_PARAM_FIELDS)."""
    return {"type": "inv-input", "field": field}


# ----------------------------------------------------------------------------- drivers, data and runs pages

class Drivers:
    LEVEL = "drivers-level-radio"
    HOLIDAY = "drivers-holiday-select"
    STATUS = "drivers-status"
    PROMO = "drivers-promo-chart"
    PROMO_STORE = "drivers-promo-store-chart"
    EVENT = "drivers-event-study-chart"
    TEMP = "drivers-temperature-chart"
    PRECIP = "drivers-precipitation-chart"
    CORR = "drivers-correlation-chart"


class Data:
    TAB = "data-tabs"
    SUMMARY = "data-summary"
    DATASETS = "data-datasets-table"
    QUALITY = "data-quality-report"
    QUALITY_RUN = "data-quality-run-button"
    QUALITY_STATUS = "data-quality-status"
    UPLOAD = "data-upload"
    FILE = "data-upload-file-store"
    UPLOAD_INFO = "data-upload-info"
    MAPPING = "data-mapping-form"
    EXTRA = "data-mapping-extra"
    DAYFIRST = "data-mapping-dayfirst"
    VALIDATE = "data-validate-button"
    IMPORT = "data-import-button"
    IMPORT_PROGRESS = "data-import-progress"
    REPORT = "data-validation-report"
    KIND = "data-import-kind"             # sales rows or order lines
    SHEET = "data-upload-sheet"           # a workbook's sheet
    SHEET_BOX = "data-upload-sheet-box"


def data_kpi(kpi: str, part: str) -> dict:
    """ID of one Data-page summary card's ``part`` ("value" or "detail"), e.g. ``data_kpi("rows", "value")``."""
    return {"type": f"data-kpi-{part}", "kpi": kpi}


def data_map(field: str) -> dict:
    """Pattern-matching ID of the Data page's mapping dropdown for one importer field (e.g. ``"date"``)."""
    return {"type": "data-map", "field": field}


def data_opt(option: str) -> dict:
    """Pattern-matching ID of an order-line import option on the Data page (``"returns_prefix"``, ``"timezone"``)."""
    return {"type": "data-opt", "option": option}


class Runs:
    STATUS = "runs-status-filter"
    START = "runs-start-button"
    START_RESULT = "runs-start-result"
    POLL = "runs-poll-interval"
    SIGNATURE = "runs-latest-run-store"
    PROGRESS = "runs-progress-bar"
    PROGRESS_MSG = "runs-progress-message"
    CURRENT = "runs-current-run"
    SCHEDULE = "runs-schedule"
    DURATIONS = "runs-duration-chart"
    HISTORY = "runs-history-table"
    AUDIT = "runs-audit-log"


class Reports:
    DOWNLOAD = "reports-download"
    PROGRESS = "reports-progress-bar"
    STATUS = "reports-status"

    @staticmethod
    def button(kind: str, fmt: str) -> dict:
        """Pattern-matching ID of the button that generates report ``kind`` ("eda", "model", "executive") as
        ``fmt`` ("html", "pdf")."""
        return {"type": "reports-generate", "kind": kind, "fmt": fmt}


class Mon:
    LEVEL = "mon-level-select"
    METRIC = "mon-metric-select"
    SUMMARY = "mon-summary"
    OVER_TIME = "mon-accuracy-over-time-chart"
    BY_STEP = "mon-accuracy-by-step-chart"
    COVERAGE = "mon-coverage-chart"
    WORST = "mon-worst-series-table"
    DRIFT = "mon-drift-table"
    ALERTS = "mon-alert-log"
    ACK_ID = "mon-ack-select"
    ACK = "mon-ack-button"
    ACK_RESULT = "mon-ack-result"
    CHECK = "mon-check-button"
    CHECK_RESULT = "mon-check-result"
    RULES = "mon-rules-text"
    RULES_SAVE = "mon-rules-save-button"
    RULES_RESULT = "mon-rules-result"
    SIGNATURE = "mon-alerts-changed-store"


class Plan:
    STORE = "plan-store-select"
    CATEGORY = "plan-category-select"
    PRODUCT = "plan-product-select"
    DATES = "plan-date-range"
    CALENDAR = "plan-calendar-chart"
    TABLE = "plan-rows-table"
    GRAIN = "plan-form-grain"
    FORM_STORE = "plan-form-store"
    FORM_PRODUCT = "plan-form-product"
    FORM_CATEGORY = "plan-form-category"
    FORM_START = "plan-form-start"
    FORM_END = "plan-form-end"
    DEPTH = "plan-form-depth"
    KIND = "plan-form-kind"
    SAVE = "plan-save-button"
    DELETE = "plan-delete-button"
    RESULT = "plan-form-result"
    UPLOAD = "plan-upload"
    FILE = "plan-upload-file-store"
    UPLOAD_INFO = "plan-upload-info"
    MAPPING = "plan-mapping-form"
    DAYFIRST = "plan-mapping-dayfirst"
    VALIDATE = "plan-validate-button"
    IMPORT = "plan-import-button"
    REPORT = "plan-import-report"
    STALE = "plan-stale-forecasts"


def plan_map(field: str) -> dict:
    """Pattern-matching ID of the Plan page's mapping dropdown for one plan-file field (e.g. ``"promo"``)."""
    return {"type": "plan-map", "field": field}


# ----------------------------------------------------------------------------- URL query-string helpers

def to_search(params: dict) -> str:
    """Encode control values as a URL search string (``"?a=1&b=x,y"``); empty values are left out.

    Lists are joined with commas, so ``{"stores": ["1", "2"]}`` becomes ``stores=1,2``; a ``,`` or ``%`` inside an
    item is escaped first (``%2C``, ``%25``) so that :func:`q_list` reads back exactly the items given. Every
    value round-trips: ``urlencode`` percent-encodes what a URL cannot hold (``%``, ``&``, ``#``, ``+``, spaces).
    """
    clean = {}
    for key, value in params.items():
        if value is None or value == "" or value == []:
            continue
        clean[key] = ",".join(_list_item(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    return "?" + urlencode(clean, safe=",=/") if clean else ""


def _list_item(value) -> str:
    return str(value).replace("%", "%25").replace(",", "%2C")


def _unlist_item(value: str) -> str:
    return re.sub("%25|%2C", lambda m: {"%25": "%", "%2C": ","}[m.group(0)], value) if "%" in value else value


def q_str(query: dict, key: str, default: str | None = None, allowed=None) -> str | None:
    """A single query value, or ``default`` when missing or not in ``allowed``."""
    value = query.get(key)
    if value is None or value == "":
        return default
    value = str(value)
    if allowed is not None and value not in allowed:
        return default
    return value


def q_list(query: dict, key: str) -> list[str]:
    """A comma-separated query value as a list of non-empty strings."""
    value = query.get(key)
    if not value:
        return []
    return [_unlist_item(v) for v in str(value).split(",") if v]


def q_int(query: dict, key: str, default: int, allowed=None) -> int:
    """An integer query value, or ``default`` when missing, malformed or not in ``allowed``."""
    try:
        value = int(query.get(key, default))
    except (TypeError, ValueError):
        return default
    if allowed is not None and value not in allowed:
        return default
    return value


class Promo:
    START = "promo-start-date"
    WEEKS = "promo-weeks-input"
    MAX_PER_STORE_WEEK = "promo-max-per-store-week-input"
    DEPTHS = "promo-depths-input"
    BUDGET = "promo-budget-input"
    RUN = "promo-optimize-button"
    APPLY = "promo-apply-button"
    APPLY_RESULT = "promo-apply-result"
    PARAMS = "promo-params-store"  # the constraints of the calendar shown (JSON), whose saved calendar Apply writes
    SUMMARY = "promo-summary"
    CALENDAR = "promo-calendar-chart"
    TABLE = "promo-calendar-table"
    STATUS = "promo-status"  # "Optimizing..." while the background solve runs

    @staticmethod
    def kpi_value(name: str) -> str:
        return f"promo-kpi-{name}"

    @staticmethod
    def kpi_detail(name: str) -> str:
        return f"promo-kpi-{name}-detail"
