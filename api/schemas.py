"""Request and response bodies of the REST API (pydantic models: they are the OpenAPI schemas)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: bool
    run_id: str | None = None
    run_finished_at: str | None = None
    dataset: str | None = None
    data_end: str | None = Field(None, description="last date of the data")
    imported_at: str | None = None


class Dataset(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    name: str
    source: str | None = None
    frequency: str
    start_date: str | None = None
    end_date: str | None = None
    rows_written: int | None = None
    n_series: int | None = None
    imported_at: str | None = None


class Node(BaseModel):
    node_id: str
    level: str
    label: str
    region: str | None = None
    store_id: str | None = None
    category: str | None = None
    product_id: str | None = None


class NodePage(BaseModel):
    total: int
    limit: int
    offset: int
    nodes: list[Node]


class SeriesPoint(BaseModel):
    model_config = ConfigDict(extra="allow")
    ds: str
    y: float | None = None


class SeriesOut(BaseModel):
    key: str
    level: str
    label: str
    points: list[SeriesPoint]


class ForecastPoint(BaseModel):
    ds: str
    yhat: float
    yhat_lo_80: float | None = None
    yhat_hi_80: float | None = None
    yhat_lo_95: float | None = None
    yhat_hi_95: float | None = None


class ForecastOut(BaseModel):
    key: str
    run_id: str
    model: str
    models: list[str] = Field(description="the models with a stored forecast for this key in this run")
    points: list[ForecastPoint]


class Run(BaseModel):
    model_config = ConfigDict(extra="allow")
    run_id: str
    status: str
    is_current: bool
    started_at: str | None = None
    finished_at: str | None = None
    progress: float | None = None
    progress_msg: str | None = None
    n_series: int | None = None
    duration_s: float | None = None
    error: str | None = None
    params: dict[str, Any] = {}
    metrics: dict[str, Any] = {}


class RunList(BaseModel):
    runs: list[Run]


class RunMetrics(BaseModel):
    run_id: str
    level: str | None = None
    models: list[dict[str, Any]] = Field(description="per model: series backtested, times selected, mean metrics")
    summary: dict[str, Any] = Field(description="the run's published metric summary")


class EffectsOut(BaseModel):
    level: str
    effects: list[dict[str, Any]]


class BatchRequest(BaseModel):
    keys: list[str] | None = Field(None, max_length=20000, description="series keys (or give a level)")
    level: str | None = Field(None, description="every node of this level (instead of keys)")
    run: str | None = Field(None, description="run id (default: the current run)")
    model: str = "final"
    start_step: int = Field(1, ge=1, description="first horizon step returned (1 = the first forecast date)")
    horizon: int | None = Field(None, ge=1, description="number of steps returned (default: to the end)")
    format: Literal["json", "csv"] | None = Field(None, description="csv (or Accept: text/csv) for CSV")


class BatchOut(BaseModel):
    run_id: str
    model: str
    start: str | None
    end: str | None
    series: list[dict[str, Any]] = Field(description="one {key, points: [...]} per key, in request order")


class Promotion(BaseModel):
    start: str = Field(description="first day (ISO date)")
    end: str = Field(description="last day (ISO date, included)")
    depth: float | None = Field(None, gt=0, lt=1, description="discount share, 0.2 = 20% off (the plan's promo_intensity); omitted: the intensity the data holds for those days")


class PricePeriod(BaseModel):
    start: str
    end: str
    price: float = Field(gt=0)


class Closure(BaseModel):
    start: str
    end: str


class PlanIn(BaseModel):
    promotions: list[Promotion] = []
    price: list[PricePeriod] = []
    closures: list[Closure] = []


class PredictRequest(BaseModel):
    key: str
    horizon: int | None = Field(None, ge=1, description="steps ahead (default and maximum: the run's horizon)")
    plan: PlanIn | None = None


class PredictOut(BaseModel):
    key: str
    run_id: str
    model: str = Field(description="the model (or '+'-joined combination) chosen for the key in the run")
    reconciled: bool = Field(description="False: the base forecast of the key's own models (see the README)")
    plan_applied: dict[str, int]
    elapsed_ms: float
    points: list[ForecastPoint]


class RefreshRequest(BaseModel):
    force: bool = Field(True, description="refresh even when data and parameters are unchanged")
    horizon: int | None = Field(None, ge=1, le=366)
    models: str | None = Field(None, description="comma-separated candidate models (default set otherwise)")


class RefreshOut(BaseModel):
    run_id: str
    status: str
    poll: str


class ImportOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    dataset: str
    rows_read: int
    rows_valid: int
    rows_rejected: int


class PlanOut(BaseModel):
    rows: list[dict[str, Any]] = Field(description="plan rows at their grain (store, product, category; None = all)")


class InventoryOrdersOut(BaseModel):
    orders: list[dict[str, Any]]
