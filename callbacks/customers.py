"""Customers page callbacks: page fill (status, risk grid, CLV, cohorts, top customers, models), segment pick from
the chart or the dropdown, the segment drill (chart highlight and its products), URL sync, CSV export."""
from __future__ import annotations

import pandas as pd
from dash import Input, Output, State, callback, ctx, html
from dash.exceptions import PreventUpdate

from callbacks._cache import memo
from callbacks._errors import guarded
from data import customers, store
from domain import Frames
from layouts import components, ids
from layouts import customer_figures as cfig
from layouts.figures import empty_figure

NO_LINES = ("No order lines with customers yet: import an order export with `python cli.py ingest orders FILE "
            "--map date=COL,order=COL,customer=COL,product=COL,quantity=COL,price=COL` or generate the demo's "
            "with `python cli.py demo --orders`, then run `python cli.py customers`.")
NOT_RUN = "Order lines are stored but not analysed yet: run `python cli.py customers` (add `--horizon 26w` etc.)."
SEGMENT_COLUMNS = {"segment": "Segment", "customers": "Customers", "revenue": "Revenue", "revenue_share": "Revenue %",
                   "clv": "CLV", "p_alive": "P(alive)"}
TOP_COLUMNS = {"customer": "Customer", "segment": "Segment", "frequency": "Purchases", "revenue": "Revenue",
               "p_alive": "P(alive)", "clv": "CLV"}
PRODUCT_COLUMNS = {"product": "Product", "revenue": "Revenue", "quantity": "Units", "customers": "Buyers",
                   "share": "Share"}
RISK_FIELDS = ("customer", "segment", "value_at_risk", "churn_probability", "p_alive", "clv", "value_if_active",
               "frequency", "recency_days", "revenue", "last")


def frame(name: str) -> pd.DataFrame | None:
    """A saved customers frame through the cache (None when absent)."""
    return memo(customers.load, name) if memo(store.db_exists) else None


def _fmt(df: pd.DataFrame, columns: dict, pct=("revenue_share", "p_alive", "share")) -> pd.DataFrame:
    view = df[[c for c in columns if c in df]].copy()
    for col in view.columns:
        if col in pct:
            view[col] = view[col].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        elif pd.api.types.is_numeric_dtype(view[col]):
            view[col] = view[col].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}" if v % 1 else f"{v:,.0f}")
    return view.rename(columns=columns)


def _settings(model: pd.DataFrame) -> dict:
    s = model[model["kind"] == "settings"]
    return dict(zip(s["name"], s["value"]))


def horizon_text(model: pd.DataFrame) -> str:
    weeks = _settings(model).get("horizon_weeks")
    return "the horizon" if weeks is None or pd.isna(weeks) else f"{weeks / (365.25 / 12 / 7):.0f} months"


def model_table(model: pd.DataFrame):
    """Parameters with 95% intervals (and the planted value), then the holdout and churn validation numbers."""
    rows = []
    for _, r in model[model["kind"].isin(["bgnbd", "gamma_gamma"]) & model["lo95"].notna()].iterrows():
        truth = "" if pd.isna(r.get("truth")) else f"{r['truth']:.3g}"
        rows.append({"Model": "BG/NBD" if r["kind"] == "bgnbd" else "Gamma-Gamma", "Parameter": r["name"],
                     "Estimate": f"{r['value']:.3g}", "95% interval": f"{r['lo95']:.3g} – {r['hi95']:.3g}",
                     "Planted": truth})
    v = {(k, n): val for k, n, val in zip(model["kind"], model["name"], model["value"])}
    checks = [
        ("CLV holdout: purchases bias", v.get(("clv_holdout", "bias_purchases")),
         v.get(("clv_holdout", "bias_purchases_lo95")), v.get(("clv_holdout", "bias_purchases_hi95")), "{:+.1%}"),
        ("CLV holdout: spend bias", v.get(("clv_holdout", "bias_spend")), v.get(("clv_holdout", "bias_spend_lo95")),
         v.get(("clv_holdout", "bias_spend_hi95")), "{:+.1%}"),
        ("Churn classifier AUC", v.get(("churn", "auc")), v.get(("churn", "auc_lo95")), v.get(("churn", "auc_hi95")),
         "{:.3f}"),
        ("Churn Brier score", v.get(("churn", "brier")), None, None, "{:.3f}"),
    ]
    for name, val, lo, hi, fmt in checks:
        if val is not None and not pd.isna(val):
            rows.append({"Model": "Validation", "Parameter": name, "Estimate": fmt.format(val),
                         "95% interval": "" if lo is None else f"{fmt.format(lo)} – {fmt.format(hi)}", "Planted": ""})
    if not rows:
        return components.empty_state("No model fitted")
    parts = [components.frame_table(pd.DataFrame(rows))]
    rel = frame(Frames.CUSTOMER_CHURN_RELIABILITY)
    if rel is not None and len(rel):
        view = pd.DataFrame({"Churn decile": rel["bin"] + 1, "Customers": rel["customers"],
                             "Predicted": rel["mean_predicted"].map("{:.1%}".format),
                             "Observed [95%]": [f"{o:.1%} [{lo:.1%}, {hi:.1%}]" for o, lo, hi
                                                in zip(rel["observed"], rel["lo95"], rel["hi95"])]})
        parts += [html.H6("Churn calibration on the later period", className="mt-3 mb-1 small fw-bold"),
                  components.frame_table(view)]
    return html.Div(parts)


def _summary(scores: pd.DataFrame, model: pd.DataFrame) -> str:
    v = {(k, n): val for k, n, val in zip(model["kind"], model["name"], model["value"])}
    auc = v.get(("churn", "auc"))
    return (f"{len(scores):,} customers · revenue to date {scores['revenue'].sum():,.0f} · expected CLV over "
            f"{horizon_text(model)} {scores['clv'].sum():,.0f} · value at risk {scores['value_at_risk'].sum():,.0f}"
            + (f" · churn AUC {auc:.2f} on a later period" if auc is not None and not pd.isna(auc) else ""))


def _records(df: pd.DataFrame) -> list[dict]:
    out = df[[c for c in RISK_FIELDS if c in df]].copy()
    if "last" in out:
        out["last"] = pd.to_datetime(out["last"]).dt.strftime("%Y-%m-%d")
    return out.astype(object).where(out.notna(), None).to_dict("records")


def _empty(message: str):
    blank = empty_figure(message)
    return ([components.info_alert(message, color="warning")], "", [], [], blank, blank,
            components.empty_state(message), components.empty_state(message))


@callback(Output(ids.Cust.STATUS, "children"), Output(ids.Cust.SUMMARY, "children"),
          Output(ids.Cust.SEGMENT, "options"), Output(ids.Cust.RISK_GRID, "rowData"), Output(ids.Cust.CLV, "figure"),
          Output(ids.Cust.COHORTS, "figure"), Output(ids.Cust.TOP, "children"), Output(ids.Cust.MODEL, "children"),
          Input(ids.Cust.QUERY, "data"))
@guarded(lambda msg: _empty(msg))
def render_customers(_query):
    """Fill the page from the saved customers frames when it opens (or say how to get them)."""
    scores, model = frame(Frames.CUSTOMER_SCORES), frame(Frames.CUSTOMER_MODEL)
    if scores is None or model is None:
        has_lines = memo(store.db_exists) and memo(customers.has_order_lines)
        return _empty(NOT_RUN if has_lines else NO_LINES)
    seg = frame(Frames.CUSTOMER_SEGMENTS)
    options = [{"label": f"{s} ({n:,})", "value": s} for s, n in zip(seg["segment"], seg["customers"])]
    risk = scores.sort_values("value_at_risk", ascending=False)
    top = _fmt(scores.sort_values("clv", ascending=False).head(15), TOP_COLUMNS)
    return ([], _summary(scores, model), options, _records(risk), cfig.clv_histogram(scores, horizon_text(model)),
            cfig.cohort_heatmap(frame(Frames.CUSTOMER_COHORTS)), components.frame_table(top), model_table(model))


@callback(Output(ids.Cust.SEGMENT, "value"), Input(ids.Cust.SEGMENT, "options"),
          Input(ids.Cust.SEGMENTS, "clickData"), State(ids.Cust.SEGMENT, "value"))
def select_cust_segment(options, click, current):
    """Pick the segment clicked in the chart; when the options arrive keep the URL's segment or take the first."""
    values = [o["value"] for o in options or []]
    if ctx.triggered_id == ids.Cust.SEGMENTS and click and click.get("points"):
        picked = click["points"][0].get("x")
        if picked in values:
            return picked
        raise PreventUpdate
    if not values:
        raise PreventUpdate
    return current if current in values else values[0]


@callback(Output(ids.Cust.SEGMENTS, "figure"), Output(ids.Cust.PRODUCTS, "figure"),
          Output(ids.Cust.PRODUCTS_TABLE, "children"), Output(ids.Cust.SEGMENT_TABLE, "children"),
          Input(ids.Cust.SEGMENT, "value"))
@guarded(lambda msg: (empty_figure(msg), empty_figure(msg), components.empty_state(msg),
                      components.empty_state(msg)))
def render_cust_segment(segment):
    """Highlight the segment and show the products its customers buy."""
    seg = frame(Frames.CUSTOMER_SEGMENTS)
    if seg is None:
        message = "No segments yet"
        return empty_figure(message), empty_figure(message), components.empty_state(message), \
            components.empty_state(message)
    prod = frame(Frames.CUSTOMER_SEGMENT_PRODUCTS)
    part = prod[prod["segment"] == segment] if prod is not None and segment else None
    table = components.frame_table(_fmt(part, PRODUCT_COLUMNS)) if part is not None and len(part) else \
        components.empty_state("Pick a segment (click a bar or use the list)")
    return (cfig.segments_chart(seg, segment), cfig.products_chart(part, segment), table,
            components.frame_table(_fmt(seg, SEGMENT_COLUMNS)))


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True), Input(ids.Cust.SEGMENT, "value"),
          prevent_initial_call=True)
def sync_customers_url(segment):
    """Write the segment shown into the URL."""
    if not segment:
        raise PreventUpdate
    return ids.to_search({"segment": segment})


@callback(Output(ids.Cust.RISK_GRID, "exportDataAsCsv"), Input(ids.Cust.EXPORT_CSV, "n_clicks"),
          prevent_initial_call=True)
def export_cust_csv(n_clicks):
    """Export the churn-risk list as shown (filters and sort applied) to CSV in the browser."""
    if not n_clicks:
        raise PreventUpdate
    return True
