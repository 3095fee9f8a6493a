"""Dashboard queries: the reads behind the Overview, Explore and Forecast pages (filters, node lists, period sums,
a node's history with its forecasts); the pages' rules on top of them live in ``analytics`` and ``callbacks``."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import bindparam, case, func, select

from data import schema
from data.engine import get_engine, has_table, read_frame
from data.facts import date_bounds
from data.results import forecast, forecast_history
from data.runs import run_or_current
from data.series import series

_AGG = schema.AggSales.__table__
_NODES = schema.Node.__table__
_FILTER_LEVELS = ("region", "store", "category", "product")
# Upper levels first in pickers.
_LEVEL_ORDER = {"total": 0, "region": 1, "store": 2, "category": 3, "product": 4, "store_category": 5}
_MB, _SEL = schema.BacktestMetric.__table__.c, schema.Selection.__table__.c
_MODEL_COMPARISON = (
    select(_MB.model, func.count(_MB.fold.distinct()).label("folds"),
           *[func.avg(_MB[m]).label(m) for m in ("wape", "mase", "rmse", "mae", "smape", "bias", "coverage_80",
                                                 "coverage_95")],
           select(_SEL.model).where(_SEL.run_id == bindparam("rid"), _SEL.series_id == bindparam("sid"))
           .limit(1).scalar_subquery().label("chosen_model"))
    .where(_MB.run_id == bindparam("rid"), _MB.series_id == bindparam("sid")).group_by(_MB.model))


def filter_options(url: str | None = None) -> dict:
    """Values for the Explore filters from ``nodes``: ``regions``, ``categories`` (lists) and ``stores``,
    ``products`` (lists of ``{"value", "label", "region"/"category"}``)."""
    if not has_table("nodes", url):
        return {"regions": [], "categories": [], "stores": [], "products": []}
    n = _NODES.c
    nd = read_frame(select(n.node_id, n.level, n.label, n.region, n.store_id, n.category, n.product_id)
                    .where(n.level.in_(_FILTER_LEVELS)).order_by(n.node_id), url)
    by = {lvl: nd[nd["level"] == lvl] for lvl in _FILTER_LEVELS}
    return {"regions": sorted(by["region"]["region"].dropna().tolist()),
            "categories": sorted(by["category"]["category"].dropna().tolist()),
            "stores": [{"value": r.store_id, "label": r.label, "region": r.region}
                       for r in by["store"].itertuples()],
            "products": [{"value": r.product_id, "label": r.label, "category": r.category}
                         for r in by["product"].itertuples()]}


def has_nodes(url: str | None = None) -> bool:
    """True when the hierarchy table exists (a database that never saw an import has none)."""
    return has_table("nodes", url)


def node_ids(level: str, region: str | None = None, stores=(), category: str | None = None, products=(),
             url: str | None = None) -> list[str]:
    """Keys of the nodes of ``level`` that match every given filter (an empty filter matches all), sorted."""
    n = _NODES.c
    stmt = select(n.node_id).where(n.level == level)
    if region:
        stmt = stmt.where(n.region == region)
    if stores:
        stmt = stmt.where(n.store_id.in_(list(stores)))
    if category:
        stmt = stmt.where(n.category == category)
    if products:
        stmt = stmt.where(n.product_id.in_(list(products)))
    return read_frame(stmt.order_by(n.node_id), url)["node_id"].tolist()


def search_nodes(query: str | None = None, limit: int = 50, url: str | None = None) -> pd.DataFrame:
    """Nodes whose key or label contains ``query`` (case-insensitive), upper levels first (for pickers)."""
    if not has_table("nodes", url):
        return pd.DataFrame(columns=["node_id", "label", "level"])
    n = _NODES.c
    q = f"%{(query or '').strip().lower()}%"
    stmt = (select(n.node_id, n.label, n.level)
            .where(func.lower(n.node_id).like(q) | func.lower(n.label).like(q))
            .order_by(case(_LEVEL_ORDER, value=n.level, else_=6), n.node_id).limit(int(limit)))
    return read_frame(stmt, url)


def period_totals(key: str, periods: dict, url: str | None = None) -> dict:
    """``{name: (sum of sales or None, number of periods with data)}`` of node ``key`` over each named
    ``(start, end)`` date range of ``periods`` (both ends included)."""
    a = _AGG.c
    out = {}
    with get_engine(url).connect() as conn:
        for name, (start, end) in periods.items():
            total, n = conn.execute(select(func.sum(a.sales), func.count())
                                    .where(a.node_id == key, a.date.between(start, end))).one()
            out[name] = ((float(total) if total is not None else None), int(n))
    return out


def chosen_model_wape(run_id: str, url: str | None = None) -> pd.DataFrame:
    """``series_id, wape``: each series' mean backtest WAPE of the model chosen for it in ``run_id``."""
    b, s = schema.BacktestMetric.__table__.c, schema.Selection.__table__.c
    stmt = (select(b.series_id, func.avg(b.wape).label("wape"))
            .join_from(schema.BacktestMetric.__table__, schema.Selection.__table__,
                       (s.run_id == b.run_id) & (s.series_id == b.series_id) & (s.model == b.model))
            .where(b.run_id == run_id).group_by(b.series_id))
    return read_frame(stmt, url)


def level_period_sales(level: str, current: tuple[dt.date, dt.date], previous: tuple[dt.date, dt.date],
                       url: str | None = None) -> pd.DataFrame:
    """``node_id, label, category, sales, prev_sales`` of every node of ``level`` over two date ranges.

    One correlated subquery per node and range range-scans ``agg_sales``' primary key (node_id, date), faster
    than a join and GROUP BY or the (level, date) index.
    """
    a, n = _AGG.c, _NODES.c

    def total(lo, hi):
        return select(func.sum(a.sales)).where(a.node_id == n.node_id, a.date.between(lo, hi)).scalar_subquery()

    stmt = select(n.node_id, n.label, n.category, total(*current).label("sales"),
                  total(*previous).label("prev_sales")).where(n.level == level)
    return read_frame(stmt, url)


def history_and_forecast(key: str, last_days: int | None = None, model: str = "final", run_id: str | None = None,
                         url: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A node's history (``ds, y``; only its last ``last_days`` days when given) and its forecast from the
    current (or given) run."""
    _, last = date_bounds(url)
    if last is None:
        return pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)}), \
            forecast(key, run_id=run_id, model=model, url=url)
    start = (last - pd.Timedelta(days=int(last_days))).date() if last_days is not None else None
    hist = series(key, start=start, url=url)[["ds", "y"]]
    return hist, forecast(key, run_id=run_id, model=model, url=url)


def model_comparison(key: str, run_id: str | None = None, url: str | None = None) -> pd.DataFrame:
    """Backtest metrics of every model for one node (means over folds), the chosen model flagged.

    Columns ``model, folds, wape, mase, rmse, mae, smape, bias, coverage_80, coverage_95, chosen``, best
    WAPE first; empty when the node has no backtest in the run. The database averages (one GROUP BY over the
    node's few metric rows, with the chosen model beside it): the Forecast page reads it for every node opened.
    """
    cols = ["model", "folds", "wape", "mase", "rmse", "mae", "smape", "bias", "coverage_80", "coverage_95", "chosen"]
    rid = run_or_current(run_id, url)
    if rid is None:
        return pd.DataFrame(columns=cols)
    df = read_frame(_MODEL_COMPARISON, url, params={"rid": rid, "sid": key})
    if df.empty:
        return pd.DataFrame(columns=cols)
    df[cols[2:-1]] = df[cols[2:-1]].astype(float)  # a metric NULL on every fold: NaN, not None
    df["chosen"] = df["model"] == df["chosen_model"]
    return df[cols].sort_values(["wape", "model"], na_position="last").reset_index(drop=True)


def past_forecasts(key: str, n_runs: int = 5, url: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Final forecasts of the last ``n_runs`` successful runs restricted to dates that now have actuals,
    and those actuals: ``(actuals[ds, y], past[run_id, started_at, ds, yhat, ...])``."""
    past = forecast_history(key, n_runs=n_runs, url=url)
    empty = pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)})
    if past.empty:
        return empty, past
    first, last = date_bounds(url)
    if last is None:
        return empty, past.iloc[0:0]
    past = past[past["ds"] <= last]
    if past.empty:
        return empty, past
    actuals = series(key, start=past["ds"].min() - pd.Timedelta(days=28), end=past["ds"].max(), url=url)
    return actuals[["ds", "y"]], past.reset_index(drop=True)
