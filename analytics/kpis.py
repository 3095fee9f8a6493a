"""Overview KPIs: the comparison periods, period totals, forecast and accuracy figures, and the movers ranking."""
from __future__ import annotations

import datetime as dt

import pandas as pd

# Last year's comparison period starts 52 weeks earlier, so weekdays align.
LAST_YEAR_DAYS = 364
MOVERS_COLUMNS = ["node_id", "label", "category", "sales", "prev_sales", "growth", "rank"]


def comparison_periods(last: pd.Timestamp, period_days: int) -> dict[str, tuple[dt.date, dt.date]]:
    """The last ``period_days`` days up to ``last``, the equally long period before and the same dates a year
    earlier.

    Returns
    -------
    dict
        ``{"current": (start, end), "previous": (start, end), "last_year": (start, end)}`` as dates, ends
        included.
    """
    end = last.date()
    start = end - dt.timedelta(days=int(period_days) - 1)
    year = dt.timedelta(days=LAST_YEAR_DAYS)
    return {"current": (start, end),
            "previous": (start - dt.timedelta(days=int(period_days)), start - dt.timedelta(days=1)),
            "last_year": (start - year, end - year)}


def period_kpis(periods: dict, totals: dict) -> dict:
    """Sales of the current, previous and last-year periods and how many dates each has.

    Parameters
    ----------
    periods : dict
        From :func:`comparison_periods`.
    totals : dict
        ``{name: (sum or None, number of dates)}`` for the same names.

    Returns
    -------
    dict
        ``sales, n, prev_sales, prev_n, ly_sales, ly_n, start, end`` (``start``/``end`` as Timestamps).
    """
    out = {}
    for name, prefix in (("current", ""), ("previous", "prev_"), ("last_year", "ly_")):
        out[prefix + "sales"], out[prefix + "n"] = totals[name]
    start, end = periods["current"]
    out["start"], out["end"] = pd.Timestamp(start), pd.Timestamp(end)
    return out


def forecast_kpis(fc: pd.DataFrame) -> dict:
    """Horizon and forecast totals of a forecast frame (``ds, yhat`` and the 80/95% bounds); {} when empty.

    Bounds are summed over the horizon: conservative, as if the errors of all dates were perfectly correlated.
    A total is None when any of its values is missing.
    """
    if not len(fc):
        return {}
    out = {"horizon_start": fc["ds"].min(), "horizon_end": fc["ds"].max(), "horizon_n": len(fc)}
    for col, key in (("yhat", "fc_total"), ("yhat_lo_80", "fc_lo_80"), ("yhat_hi_80", "fc_hi_80"),
                     ("yhat_lo_95", "fc_lo_95"), ("yhat_hi_95", "fc_hi_95")):
        out[key] = float(fc[col].sum()) if fc[col].notna().all() else None
    return out


def accuracy_kpis(wape: pd.DataFrame) -> dict:
    """``wape_total`` (the ``total`` series), ``wape_median`` (over all series) and ``wape_n`` from a frame
    ``series_id, wape`` of each series' chosen-model WAPE (rows with a missing value are left out)."""
    w = wape.dropna()
    is_total = w["series_id"] == "total"
    return {"wape_total": float(w.loc[is_total, "wape"].iloc[0]) if is_total.any() else None,
            "wape_median": float(w["wape"].median()) if len(w) else None,
            "wape_n": int(len(w))}


def last_run_kpis(history: pd.DataFrame) -> dict:
    """Status, error and start of the newest run in ``history`` (newest first); None values without runs."""
    has = len(history) > 0
    return {"last_run_status": history["status"].iloc[0] if has else None,
            "last_run_error": history["error"].iloc[0] if has else None,
            "last_run_started_at": history["started_at"].iloc[0] if has else None}


def rank_movers(sales: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """Top and bottom ``n`` nodes by growth of ``sales`` over ``prev_sales``.

    Parameters
    ----------
    sales : DataFrame
        ``node_id, label, category, sales, prev_sales`` per node.
    n : int
        How many nodes on each side; a node is never both.

    Returns
    -------
    DataFrame
        :data:`MOVERS_COLUMNS`, ``rank`` "top" (highest growth first) or "bottom"; nodes without sales in the
        previous period are left out (growth undefined). Ties are broken by node id.
    """
    df = sales[sales["prev_sales"].fillna(0) > 0].copy()
    df["growth"] = df["sales"] / df["prev_sales"] - 1.0
    df = df.sort_values(["growth", "node_id"], ascending=[False, True])
    top = df.head(n).assign(rank="top")
    bottom = df[~df["node_id"].isin(top["node_id"])].tail(n).assign(rank="bottom")
    return pd.concat([top, bottom], ignore_index=True)
