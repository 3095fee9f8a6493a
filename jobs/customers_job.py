"""The customers job (`cli.py customers`): RFM segments, cohorts, BG/NBD + Gamma-Gamma CLV and the churn classifier.

``compute(lines, ...)`` is pure (order lines in, frames and a JSON-able summary out); ``run_customers`` reads the
order lines from the store, computes and saves the frames the Customers page reads (names in ``domain.Frames``,
level ``all``):

``customer_scores``
    per customer: ``customer, first, last, revenue, tenure_days, recency_days, frequency (purchase days), r, f, m,
    rfm, segment,
    p_alive, expected_purchases, expected_spend, clv, value_if_active, churn_probability, value_at_risk``.
    ``churn_probability`` is the classifier's probability of no purchase in the churn window after the last date;
    ``value_at_risk = churn_probability x value_if_active`` (the horizon's revenue were the customer active).
``customer_segments``
    ``segment, customers, revenue, mean_recency_days, mean_frequency, clv, p_alive, value_at_risk, share,
    revenue_share``.
``customer_cohorts``
    ``cohort, period, customers, active, retention`` (monthly, by first-purchase month).
``customer_segment_products``
    ``segment, product, revenue, quantity, customers, share`` (each segment's top products).
``customer_model``
    ``kind, name, value, lo95, hi95, truth``: the fitted parameters (kinds ``bgnbd``, ``gamma_gamma``, with 95%
    intervals and the planted value on the demo), the holdout check (``clv_holdout``) and the churn validation
    (``churn``).
``customer_churn_reliability``
    the churn classifier's reliability table on the validation period.
``customer_holdout``
    ``x_group, customers, predicted, actual``: mean holdout purchases by calibration repeat purchases.
"""
from __future__ import annotations

import time

import pandas as pd

from analytics import btyd, churn, clv, rfm
from domain import Frames

MIN_CUSTOMERS = 30
CHURN_WINDOW = "26w"  # churned = no purchase in the 26 weeks after the cutoff


def _split(tx: pd.DataFrame, horizon_weeks: float, churn_weeks: float) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """The end date, the calibration cutoff (holdout = the horizon, at most a third of the history) and the
    churn window in days (at most a third of the history: the classifier needs two windows and a past)."""
    start, end = tx["date"].min(), tx["date"].max()
    span = (end - start).days
    days = int(min(round(horizon_weeks * 7), span // 3))
    window = int(min(round(churn_weeks * 7), span // 3))
    if min(days, window) < 14:
        raise ValueError(f"customers: {span + 1} days of order history is too short (need at least 6 weeks)")
    return end, end - pd.Timedelta(days=days), window


def _model_rows(fits: dict, planted: dict | None) -> list[dict]:
    rows = []
    for kind, fit in fits.items():
        for row in fit.table():
            truth = (planted or {}).get(kind, {}).get(row["param"])
            rows.append({"kind": kind, "name": row["param"], "value": row["estimate"], "lo95": row["lo95"],
                         "hi95": row["hi95"], "truth": truth})
        rows.append({"kind": kind, "name": "loglik", "value": fit.loglik, "lo95": None, "hi95": None, "truth": None})
        rows.append({"kind": kind, "name": "seconds", "value": fit.seconds, "lo95": None, "hi95": None,
                     "truth": None})
    return rows


def compute(lines: pd.DataFrame, horizon: str = "12m", monthly_discount: float = 0.01,
            planted: dict | None = None, churn_window: str = CHURN_WINDOW) -> dict:
    """Every customer analysis of ``lines`` as of its last date.

    Parameters
    ----------
    lines : pandas.DataFrame
        Order lines (``order_id, customer, date, product, store, quantity, revenue``).
    horizon : str
        CLV horizon such as ``12m``, ``26w`` or ``90d``; also the length of the holdout (at most a third of the
        history).
    monthly_discount : float
        Monthly discount rate of the CLV.
    planted : dict, optional
        The demo's planted parameters (``{"bgnbd": {...}, "gamma_gamma": {...}}``), shown beside the estimates.
    churn_window : str
        A customer has churned who buys nothing in this long after the cutoff (default 26 weeks; at most a third
        of the history).

    Returns
    -------
    dict
        ``frames`` (name -> DataFrame, see the module docstring) and ``summary`` (JSON-able).
    """
    t0 = time.perf_counter()
    weeks = rfm.parse_horizon(horizon)
    if not 0 <= monthly_discount < 1:
        raise ValueError(f"monthly discount must be in [0, 1), got {monthly_discount!r}")
    tx = rfm.transactions(lines)
    if tx["customer"].nunique() < MIN_CUSTOMERS:
        raise ValueError(f"customers: {tx['customer'].nunique()} customers with purchases; the models need at "
                         f"least {MIN_CUSTOMERS}")
    end, cutoff, window = _split(tx, weeks, rfm.parse_horizon(churn_window))
    summ = rfm.summary(tx, end)
    scores = rfm.rfm(summ)
    bg = btyd.fit_bgnbd(summ["x"], summ["t_x"], summ["T"])
    gg = btyd.fit_gamma_gamma(summ["x"], summ["m_x"])
    value = clv.clv(bg.params, gg.params, summ, weeks, monthly_discount)
    t_churn = time.perf_counter()
    ch = churn.validate_and_score(tx, end, window_days=window)
    t_churn = time.perf_counter() - t_churn
    hold = clv.holdout_validation(tx, cutoff, end)
    scores = (summ[["customer", "first", "last", "revenue", "tenure_days"]]
              .merge(scores.drop(columns=["monetary"]), on="customer")
              .merge(value, on="customer").merge(ch["scores"], on="customer", how="left"))
    scores["value_at_risk"] = scores["churn_probability"] * scores["value_if_active"]
    scores = scores.sort_values("clv", ascending=False).reset_index(drop=True)
    model = pd.DataFrame(_model_rows({"bgnbd": bg, "gamma_gamma": gg}, planted)
                         + [{"kind": "clv_holdout", "name": k, "value": v, "lo95": None, "hi95": None, "truth": None}
                            for k, v in hold["aggregate"].items() if isinstance(v, (int, float))]
                         + [{"kind": "churn", "name": k, "value": v, "lo95": None, "hi95": None, "truth": None}
                            for k, v in ch["validation"].items() if isinstance(v, (int, float))]
                         + [{"kind": "settings", "name": k, "value": v, "lo95": None, "hi95": None, "truth": None}
                            for k, v in (("horizon_weeks", weeks), ("monthly_discount", monthly_discount))])
    frames = {Frames.CUSTOMER_SCORES: scores, Frames.CUSTOMER_SEGMENTS: rfm.segment_table(scores, "revenue"),
              Frames.CUSTOMER_COHORTS: rfm.cohorts(tx), Frames.CUSTOMER_SEGMENT_PRODUCTS:
                  rfm.segment_products(lines, scores), Frames.CUSTOMER_MODEL: model,
              Frames.CUSTOMER_CHURN_RELIABILITY: ch["reliability"], Frames.CUSTOMER_HOLDOUT: hold["by_frequency"]}
    summary = _summary(lines, tx, scores, frames, {"bgnbd": bg, "gamma_gamma": gg}, hold, ch, planted)
    summary.update({"horizon": horizon, "horizon_weeks": round(weeks, 2), "monthly_discount": monthly_discount,
                    "seconds": {"bgnbd": bg.seconds, "gamma_gamma": gg.seconds, "churn": round(t_churn, 3),
                                "holdout_fits": round(hold["fits"]["bgnbd"].seconds
                                                      + hold["fits"]["gamma_gamma"].seconds, 3),
                                "total": round(time.perf_counter() - t0, 2)}})
    return {"frames": frames, "summary": summary}


def _records(df: pd.DataFrame, cols: list[str], n: int) -> list[dict]:
    out = df[cols].head(n).copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
            for row in out.to_dict("records")]


def _summary(lines, tx, scores, frames, fits, hold, ch, planted) -> dict:
    """The JSON of `cli.py customers --json`."""
    models = {}
    for kind, fit in fits.items():
        models[kind] = {k: {"estimate": fit.params[k], "lo95": fit.lower[k], "hi95": fit.upper[k],
                            **({"planted": planted[kind][k], "inside_ci": bool(fit.lower[k] <= planted[kind][k]
                                                                              <= fit.upper[k])}
                               if planted and k in planted.get(kind, {}) else {})}
                        for k in fit.names}
        models[kind]["loglik"] = fit.loglik
        models[kind]["customers_fitted"] = fit.n
    risk = scores.sort_values("value_at_risk", ascending=False)
    return {
        "customers": int(len(scores)), "orders": int(lines["order_id"].nunique()), "lines": int(len(lines)),
        "purchase_days": int(len(tx)), "start": str(tx["date"].min().date()), "end": str(tx["date"].max().date()),
        "revenue": float(scores["revenue"].sum()), "expected_clv": float(scores["clv"].sum()),
        "segments": _records(frames[Frames.CUSTOMER_SEGMENTS], ["segment", "customers", "revenue", "share",
                                                                "revenue_share", "clv"], 99),
        "models": models, "clv_holdout": hold["aggregate"],
        "clv_holdout_by_frequency": _records(hold["by_frequency"], list(hold["by_frequency"].columns), 99),
        "churn": ch["validation"],
        "churn_reliability": _records(ch["reliability"], list(ch["reliability"].columns), 99),
        "top_customers": _records(scores, ["customer", "segment", "frequency", "revenue", "p_alive", "clv"], 10),
        "churn_risk": _records(risk, ["customer", "segment", "churn_probability", "p_alive", "clv",
                                      "value_at_risk"], 10),
    }


def run_customers(url: str | None = None, horizon: str = "12m", monthly_discount: float = 0.01,
                  churn_window: str = CHURN_WINDOW, save: bool = True) -> dict:
    """Read the stored order lines, compute every customer analysis and (``save``) store its frames."""
    from data import customers
    rfm.parse_horizon(horizon), rfm.parse_horizon(churn_window)  # refuse a bad option before reading anything
    lines = customers.order_lines(url)
    if lines.empty:
        raise ValueError("no order lines with customers in the store: import them with `python cli.py ingest orders "
                         "FILE --map ...` or generate the demo's with `python cli.py demo --orders`")
    result = compute(lines, horizon=horizon, monthly_discount=monthly_discount, planted=customers.planted(url),
                     churn_window=churn_window)
    if save:
        customers.save_results(result["frames"], url)
    return result["summary"]


def format_summary(s: dict) -> str:
    """The text of `cli.py customers`."""
    h, c = s["clv_holdout"], s["churn"]
    lines = [f"Customers: {s['customers']:,} ({s['orders']:,} orders, {s['start']} .. {s['end']}), "
             f"revenue {s['revenue']:,.0f}; expected CLV over {s['horizon']}: {s['expected_clv']:,.0f}",
             "  segments: " + ", ".join(f"{r['segment']} {r['customers']}" for r in s["segments"])]
    for kind, params in s["models"].items():
        est = ", ".join(f"{k}={v['estimate']:.3g} [{v['lo95']:.3g}, {v['hi95']:.3g}]"
                        + (f" (planted {v['planted']:.3g})" if "planted" in v else "")
                        for k, v in params.items() if isinstance(v, dict))
        lines.append(f"  {kind}: {est}")
    lines.append(f"  CLV holdout ({h['cutoff']} .. {h['end']}): purchases bias {h['bias_purchases']:+.1%} "
                 f"[{h['bias_purchases_lo95']:+.1%}, {h['bias_purchases_hi95']:+.1%}], spend bias "
                 f"{h['bias_spend']:+.1%} [{h['bias_spend_lo95']:+.1%}, {h['bias_spend_hi95']:+.1%}]")
    lines.append(f"  churn classifier (no purchase in {c['window_days']} days, validated after {c['valid_cutoff']}): "
                 f"AUC {c['auc']:.3f} [{c['auc_lo95']:.3f}, {c['auc_hi95']:.3f}], Brier {c['brier']:.3f} "
                 f"(base rate {c['brier_base_rate']:.3f})")
    top = s["churn_risk"][:3]
    if top:
        lines.append("  highest value at risk: " + ", ".join(f"{r['customer']} {r['value_at_risk']:,.0f}" for r in top))
    lines.append(f"  time: {s['seconds']['total']} s (BG/NBD fit {s['seconds']['bgnbd']} s, Gamma-Gamma "
                 f"{s['seconds']['gamma_gamma']} s, churn {s['seconds']['churn']} s)")
    return "\n".join(lines)

