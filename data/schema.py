"""SQLAlchemy 2.0 tables of the sales store: facts, dimensions, aggregates, forecasts and analytics results.

Series keys (one scheme everywhere, see README "Series keys"):
``total``, ``region=R``, ``store=S``, ``category=C``, ``product=P``,
``store=S/category=C`` and the bottom level ``store=S/product=P``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain import DEFAULT_MEMBER, MAX_ID_LENGTH, MAX_KEY_LENGTH


class Base(DeclarativeBase):
    pass


class Dataset(Base):
    """One row per import (demo generation, Walmart, CSV): the store's provenance log."""
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500))
    frequency: Mapped[str] = mapped_column(String(1))  # "D" or "W"
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    n_series: Mapped[int] = mapped_column(Integer, default=0)
    n_stores: Mapped[int] = mapped_column(Integer, default=0)
    n_products: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    details: Mapped[str | None] = mapped_column(Text)  # JSON: rejection reasons, options used


class StoreDim(Base):
    __tablename__ = "stores"
    store_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), default=DEFAULT_MEMBER)
    type: Mapped[str | None] = mapped_column(String(50))
    size: Mapped[float | None] = mapped_column(Float)
    attrs: Mapped[str | None] = mapped_column(Text)  # JSON of free attributes


class ProductDim(Base):
    __tablename__ = "products"
    product_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), default=DEFAULT_MEMBER)


class Sale(Base):
    """The fact table, one row per store x product x date (the bottom of the hierarchy)."""
    __tablename__ = "sales"
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.store_id"), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.product_id"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sales: Mapped[float] = mapped_column(Float)
    units: Mapped[float | None] = mapped_column(Float)
    promo: Mapped[int] = mapped_column(Integer, default=0)
    promo_intensity: Mapped[float | None] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float)
    is_open: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (Index("ix_sales_date", "date"), {"sqlite_with_rowid": False})


class Covariate(Base):
    """Extra numeric covariates in long form; store_id/product_id are ALL when they apply to every one."""
    __tablename__ = "covariates"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)


class CalendarEvent(Base):
    """Holidays and events; scope is "all", "region" or "store" with scope_id naming which (ALL for "all")."""
    __tablename__ = "calendar_events"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="holiday")  # holiday | event | closure


class Weather(Base):
    """Daily or weekly weather per store or region (scope "store" or "region")."""
    __tablename__ = "weather"
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    temp_c: Mapped[float | None] = mapped_column(Float)
    precip_mm: Mapped[float | None] = mapped_column(Float)


class Node(Base):
    """Every node of the hierarchy with its attributes, so drill-down is a filter on this table."""
    __tablename__ = "nodes"
    node_id: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))  # total|region|store|category|product|store_category|store_product
    label: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    region: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    store_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    category: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    product_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    __table_args__ = (Index("ix_nodes_level", "level"),)


class AggSales(Base):
    """Pre-aggregated sales per non-bottom node and date (rebuilt after every import)."""
    __tablename__ = "agg_sales"
    node_id: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    sales: Mapped[float] = mapped_column(Float)
    units: Mapped[float | None] = mapped_column(Float)
    promo_share: Mapped[float | None] = mapped_column(Float)
    open_share: Mapped[float | None] = mapped_column(Float)
    n_rows: Mapped[int] = mapped_column(Integer)
    is_holiday: Mapped[int] = mapped_column(Integer, default=0)
    temp_c: Mapped[float | None] = mapped_column(Float)
    precip_mm: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (Index("ix_agg_level_date", "level", "date"), {"sqlite_with_rowid": False})


class DemoTruth(Base):
    """Ground truth of the synthetic demo: the planted effects, in the units of `cli.py effects`."""
    __tablename__ = "demo_truth"
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    group: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))


class Run(Base):
    """One forecast refresh. Exactly one successful run is current (is_current) at a time."""
    __tablename__ = "runs"
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))  # running | success | failed | cancelled | skipped
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    data_hash: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[str | None] = mapped_column(Text)  # JSON
    code_version: Mapped[str | None] = mapped_column(String(64))
    n_series: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[str | None] = mapped_column(Text)  # JSON summary
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1, for the UI
    progress_msg: Mapped[str | None] = mapped_column(String(300))


class Forecast(Base):
    """Forecasts of a run; model "final" is the selected, reconciled forecast the dashboard shows."""
    __tablename__ = "forecasts"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True)
    series_id: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True)
    ds: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    yhat: Mapped[float] = mapped_column(Float)
    yhat_lo_80: Mapped[float | None] = mapped_column(Float)
    yhat_hi_80: Mapped[float | None] = mapped_column(Float)
    yhat_lo_95: Mapped[float | None] = mapped_column(Float)
    yhat_hi_95: Mapped[float | None] = mapped_column(Float)
    __table_args__ = ({"sqlite_with_rowid": False},)


class BacktestMetric(Base):
    """Rolling-origin backtest metrics per series, model and fold."""
    __tablename__ = "backtest_metrics"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True)
    series_id: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True)
    fold: Mapped[int] = mapped_column(Integer, primary_key=True)
    rmse: Mapped[float | None] = mapped_column(Float)
    mae: Mapped[float | None] = mapped_column(Float)
    mape: Mapped[float | None] = mapped_column(Float)
    mape_excluded: Mapped[int | None] = mapped_column(Integer)
    smape: Mapped[float | None] = mapped_column(Float)
    wape: Mapped[float | None] = mapped_column(Float)
    mase: Mapped[float | None] = mapped_column(Float)
    rmspe: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    coverage_80: Mapped[float | None] = mapped_column(Float)
    coverage_95: Mapped[float | None] = mapped_column(Float)
    pinball: Mapped[float | None] = mapped_column(Float)
    __table_args__ = ({"sqlite_with_rowid": False},)


class Selection(Base):
    """The model chosen per series in a run, with the score that chose it."""
    __tablename__ = "selections"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True)
    series_id: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    model: Mapped[str] = mapped_column(String(120))
    metric: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float)


class Diagnostic(Base):
    """Residual diagnostics of the chosen model per series (acf is a JSON list)."""
    __tablename__ = "diagnostics"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True)
    series_id: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True)
    ljung_box_p: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    resid_std: Mapped[float | None] = mapped_column(Float)
    acf: Mapped[str | None] = mapped_column(Text)
    residuals: Mapped[str | None] = mapped_column(Text)  # JSON list of the in-sample residuals (for the histogram)


class TuningTrial(Base):
    __tablename__ = "tuning_trials"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True)
    trial: Mapped[int] = mapped_column(Integer, primary_key=True)
    params: Mapped[str] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)


class AnalysisResult(Base):
    """Precomputed analytics frames (effects, curves, correlations...) stored as JSON records by name and level."""
    __tablename__ = "analysis_results"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    level: Mapped[str] = mapped_column(String(40), primary_key=True)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    data_hash: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # JSON: {"columns": [...], "data": [[...]]} (pandas split orient)


class Lock(Base):
    """Named advisory locks (e.g. "refresh") so two refreshes never run at once."""
    __tablename__ = "locks"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("name"),)


class PlanEntry(Base):
    """The plan: known future (and past) promotions, prices, closures, events and unit costs, at any grain.

    ``store_id``, ``product_id`` and ``category`` are ALL ("*") where the row applies to every one: a store x
    product row names both; a store x category row names the store and the category; a product in all stores
    names the product; an all-stores row names none. A NULL field is not set at this grain, so a less specific
    row's value applies (see :func:`data.plans.expanded_plan`).
    """
    __tablename__ = "plans"
    store_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    category: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    promo: Mapped[int | None] = mapped_column(Integer)
    promo_intensity: Mapped[float | None] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float)
    is_open: Mapped[int | None] = mapped_column(Integer)
    event: Mapped[str | None] = mapped_column(String(200))
    unit_cost: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(40), default="manual")  # import | manual | optimizer | sales-import
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_plans_date", "date"),)


class PlanChange(Base):
    """One row per change of the plan (write or delete), so a page can tell which forecasts predate it."""
    __tablename__ = "plan_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    action: Mapped[str] = mapped_column(String(10))  # write | delete
    source: Mapped[str] = mapped_column(String(40))
    store_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))  # the change's scope (ALL = several or all)
    product_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    category: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    start: Mapped[dt.date | None] = mapped_column(Date)
    end: Mapped[dt.date | None] = mapped_column(Date)
    rows: Mapped[int] = mapped_column(Integer)


class InventoryParam(Base):
    """Inventory inputs per store x product; ``*`` (ALL) at either key is a default for that grain (data/inventory.py
    expands them: the most specific grain wins field by field, config defaults fill the rest). NULL = not set here."""
    __tablename__ = "inventory_params"
    store_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    on_hand: Mapped[float | None] = mapped_column(Float)
    lead_time_days: Mapped[float | None] = mapped_column(Float)
    lead_time_sd_days: Mapped[float | None] = mapped_column(Float)
    review_period_days: Mapped[float | None] = mapped_column(Float)
    unit_cost: Mapped[float | None] = mapped_column(Float)
    holding_rate: Mapped[float | None] = mapped_column(Float)  # per year, share of unit cost
    lost_sale_cost: Mapped[float | None] = mapped_column(Float)
    backorder_cost: Mapped[float | None] = mapped_column(Float)
    target_csl: Mapped[float | None] = mapped_column(Float)
    target_fill_rate: Mapped[float | None] = mapped_column(Float)
    moq: Mapped[float | None] = mapped_column(Float)
    case_pack: Mapped[float | None] = mapped_column(Float)
    shelf_life_days: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class InventoryOnOrder(Base):
    """Open orders per store x product: the quantity due on each arrival date."""
    __tablename__ = "inventory_on_order"
    store_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    arrival_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    quantity: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class User(Base):
    """A dashboard/API account (auth/): name, role (viewer < analyst < admin) and a scrypt password hash."""
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """A bearer token of a user (only its SHA-256 is stored); it carries the user's role until revoked."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """Who did what when: imports, refreshes, plan edits, user and token changes (data/accounts.py writes it)."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


class WebSession(Base):
    """A dashboard login session (auth/web.py): only the SHA-256 of the cookie's random token is stored, so
    logging out, removing the user or deleting the row ends it at once on every worker."""
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LoginFailure(Base):
    """One failed login (user name as typed, client address): the login rate limit counts these per name and
    address over a window, in the database so that every worker sees the same count."""
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_name_address_at", "name", "address", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class OrderLine(Base):
    """One line of an imported order export (data/orders.py), kept for customer analytics; the ``sales`` facts hold
    their store x product x day sums. ``line`` is the line's position within its order in the file, so re-importing
    an overlapping export replaces its lines instead of adding them again. A return (negative quantity, or an
    order id with the returns prefix) has ``is_return=1`` and, when its sale was found, ``matched_order`` and
    ``matched_line``; ``discount`` is the share of the list value taken off (0..1)."""
    __tablename__ = "order_lines"
    __table_args__ = (Index("ix_order_lines_customer", "customer"), Index("ix_order_lines_date", "date"),
                      Index("ix_order_lines_product", "product"))
    order_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    date: Mapped[dt.date] = mapped_column(Date)                  # local calendar date
    ts: Mapped[dt.datetime | None] = mapped_column(DateTime)     # local time of day, when the file has one
    product: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    store: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), default=DEFAULT_MEMBER)
    quantity: Mapped[float] = mapped_column(Float)
    revenue: Mapped[float] = mapped_column(Float)
    discount: Mapped[float | None] = mapped_column(Float)
    is_return: Mapped[int] = mapped_column(Integer, default=0)
    matched_order: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    matched_line: Mapped[int | None] = mapped_column(Integer)
    dataset: Mapped[str] = mapped_column(String(200))


class LiveScore(Base):
    """One stored forecast point scored against the actual that arrived after its run (data/monitoring.py):
    no foreign key to ``runs``, so the live record of a pruned run stays. ``scale`` is the series' MASE scale
    (in-sample seasonal-naive MAE of the run's training history); ``in_80``/``in_95`` 1 when inside the interval."""
    __tablename__ = "live_scores"
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    series_id: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True)
    ds: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    step: Mapped[int] = mapped_column(Integer)  # 1 = the first period after the run's training data
    y: Mapped[float] = mapped_column(Float)
    yhat: Mapped[float] = mapped_column(Float)
    scale: Mapped[float | None] = mapped_column(Float)
    in_80: Mapped[int | None] = mapped_column(Integer)
    in_95: Mapped[int | None] = mapped_column(Integer)
    scored_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_live_scores_ds", "ds"), {"sqlite_with_rowid": False})


class MonitorAlert(Base):
    """The alert log (monitoring/alerts.py): one row per fired alert; acknowledged by an operator; a refresh the
    feedback loop started for it is linked by ``refresh_run_id``."""
    __tablename__ = "monitor_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fired_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    rule: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))  # accuracy | coverage | bias | drift | refresh_failed | stale
    severity: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))  # what it is about (level, run, series...)
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    run_id: Mapped[str | None] = mapped_column(String(64))  # the published run it was judged on
    notified: Mapped[str | None] = mapped_column(Text)  # JSON: channel -> "sent" | error message
    refresh_run_id: Mapped[str | None] = mapped_column(String(64))  # the refresh the feedback loop started
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
