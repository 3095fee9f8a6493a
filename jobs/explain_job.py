"""What drives a forecast: the global tree models' stored importance and one node's contributions, from a run's
artifacts (no refit).

The refresh stores, per global tree model (``lgbm``, ``xgboost``, ``rf``) and series group (the bottom level,
and the aggregate levels pooled), the gain importance of the final model and the permutation importance of the
last backtest fold (the saved frame ``Frames.FEATURE_IMPORTANCE``, level = run id), and keeps the fitted final
models and the inputs they forecast from in the run's artifacts. :func:`explain` reloads those and computes the
node's per-date contributions (:func:`models.explain.contributions`); they add up, with the base value, to that
model's own forecast of the node (before combination with other models, reconciliation and zeroing closed days).
"""
from __future__ import annotations

import pandas as pd

from data import store
from domain import BOTTOM_LEVEL, Frames
from jobs import artifacts
from models import explain as mx

EXPLAINED = ("lgbm", "xgboost", "rf")  # the global tree models, in the order one is picked when none was chosen
METHODS = {"lgbm": "TreeSHAP (LightGBM pred_contrib)", "xgboost": "TreeSHAP (XGBoost pred_contribs)",
           "rf": "decision-path contributions (Saabas; not Shapley values)"}


def _group(node: str) -> str:
    """The artifact group of ``node``: the bottom level's, or the pooled aggregates'."""
    return BOTTOM_LEVEL if store.parse_node_id(node)["level"] == BOTTOM_LEVEL else "aggregates"


def _pick_model(node: str, run_id: str, group: str, files: list[str],
                url: str | None = None) -> tuple[str, str | None]:
    """The global tree model to explain (a member of the node's chosen model when there is one) and the chosen."""
    saved = [m for m in EXPLAINED if f"{m}__{group}.joblib" in files]
    if not saved:
        raise ValueError(f"run {run_id} has no global tree model ({', '.join(EXPLAINED)}) for the {group} series; "
                         "run `python cli.py refresh --models ...,lgbm` (or xgboost, rf) to explain forecasts")
    sel = store.selection(node, run_id, url=url)
    chosen = str(sel["model"].iloc[0]) if len(sel) else None
    members = chosen.split("+") if chosen else []
    return next((m for m in members if m in saved), saved[0]), chosen


def importance(run_id: str, model: str, group: str, top: int = 10, url: str | None = None) -> list[dict]:
    """``feature, gain, permutation, permutation_sd`` of the top ``top`` features by gain share."""
    imp = store.load_frame(Frames.FEATURE_IMPORTANCE, run_id, url=url,
                           dtype={"feature": str, "model": str, "group": str})
    if imp is None or imp.empty:
        return []
    imp = imp[(imp["model"] == model) & (imp["group"] == group)]
    wide = imp.pivot_table(index="feature", columns="kind", values=["value", "sd"], aggfunc="first")
    out = pd.DataFrame({"feature": wide.index,
                        "gain": wide["value"].get("gain", pd.Series(index=wide.index, dtype=float)).to_numpy(),
                        "permutation": wide["value"].get("permutation", pd.Series(index=wide.index, dtype=float)).to_numpy(),
                        "permutation_sd": wide["sd"].get("permutation", pd.Series(index=wide.index, dtype=float)).to_numpy()})
    out = out.sort_values(["gain", "feature"], ascending=[False, True], na_position="last").head(int(top))
    return [{k: (None if v != v else round(v, 6)) if isinstance(v, float) else v for k, v in r.items()}
            for r in out.to_dict("records")]


def explain(node: str, date: str | None = None, top: int = 10, run_id: str | None = None,
            url: str | None = None) -> dict:
    """The drivers of ``node``'s forecast in the current (or given) run.

    Parameters
    ----------
    node : str
        Series key, e.g. ``"store=01/product=P001"``, ``"store=01"`` or ``"total"``.
    date : str, optional
        An ISO date of the forecast horizon: also the contributions on that date.
    top : int, default 10
        Features listed per table.
    run_id : str, optional
        Default: the current run.
    url : str, optional
        Database URL.

    Returns
    -------
    dict
        The JSON of ``cli.py explain``: ``run_id, node, model, chosen_model, group, method, overall`` (top
        features by gain share, with the last fold's permutation importance: WAPE increase and its s.d.),
        ``node_features`` (top features by mean absolute contribution over the horizon, with the mean signed
        contribution, in sales units), ``dates`` (the horizon), ``base``, ``yhat`` (the model's forecast per
        date), and with ``date``: ``date, date_base, date_yhat, date_features`` (``feature, value,
        feature_value``).
    """
    if run_id is None:
        cur = store.current_run(url) if store.db_exists(url) else None
        run_id = cur["run_id"] if cur else None
    if run_id is None:
        raise ValueError("no forecasts yet: run `python cli.py refresh`")
    group = artifacts.node_group(run_id, node, _group(node))
    files = artifacts.load_manifest(run_id)["files"]
    model_name, chosen = _pick_model(node, run_id, group, files, url)
    model = artifacts.load_model(run_id, f"{model_name}__{group}")
    if f"future__{group}.joblib" not in files:
        raise ValueError(f"run {run_id} did not keep its forecast inputs (made before explanations existed): "
                         "run `python cli.py refresh --force` to explain its forecasts")
    future = artifacts.load_model(run_id, f"future__{group}")
    xf = future[future["series_id"] == node]
    if xf.empty or node not in model.scale_.index:
        raise ValueError(f"no {model_name} forecast of node {node!r} in run {run_id}: not a modelled series "
                         "(check the key with the Forecast page's search, or refresh with every level)")
    contrib, totals = mx.contributions(model, xf)
    per = (contrib.assign(abs=contrib["value"].abs()).groupby("feature")
           .agg(mean_abs_contribution=("abs", "mean"), mean_contribution=("value", "mean")).reset_index()
           .sort_values(["mean_abs_contribution", "feature"], ascending=[False, True]).head(int(top)))
    dates = [d.date().isoformat() for d in totals["ds"]]
    out = {"run_id": run_id, "node": node, "model": model_name, "chosen_model": chosen, "group": group,
           "method": METHODS[model_name], "overall": importance(run_id, model_name, group, top, url),
           "node_features": per.round(6).to_dict("records"), "dates": dates,
           "base": round(float(totals["base"].mean()), 6), "yhat": [round(float(v), 6) for v in totals["yhat"]]}
    if date is not None:
        out.update(_on_date(contrib, totals, date, dates, top))
    return out


def _on_date(contrib: pd.DataFrame, totals: pd.DataFrame, date: str, dates: list[str], top: int) -> dict:
    """The contributions on one forecast date, largest in absolute value first."""
    try:
        day = pd.Timestamp(date)
    except ValueError:
        raise ValueError(f"--date: {date!r} is not a date (use YYYY-MM-DD)") from None
    if day.date().isoformat() not in dates:
        raise ValueError(f"--date {date} is not in the forecast horizon {dates[0]}..{dates[-1]}")
    rows = contrib[contrib["ds"] == day]
    rows = rows.reindex(rows["value"].abs().sort_values(ascending=False, kind="mergesort").index).head(int(top))
    tot = totals[totals["ds"] == day].iloc[0]
    feats = [{"feature": r.feature, "value": round(float(r.value), 6), "feature_value": _plain(r.feature_value)}
             for r in rows.itertuples()]
    return {"date": day.date().isoformat(), "date_base": round(float(tot["base"]), 6),
            "date_yhat": round(float(tot["yhat"]), 6), "date_features": feats}


def _plain(v):
    """A JSON-friendly feature value (numbers as float, categories as text, missing as None)."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    try:
        return round(float(v), 6)
    except (TypeError, ValueError):
        return str(v)


def format_explain(result: dict) -> str:
    """The plain-text report of ``cli.py explain``."""
    lines = [f"run {result['run_id']} · node {result['node']} · model {result['model']} "
             f"(chosen: {result['chosen_model']}) · {result['method']}", "",
             "Top features overall (gain share; permutation = WAPE increase on the last backtest fold ± s.d.):"]
    for r in result["overall"]:
        perm = "n/a" if r["permutation"] is None else f"{r['permutation']:+.4f} ± {r['permutation_sd'] or 0:.4f}"
        gain = "n/a" if r["gain"] is None else f"{r['gain']:.3f}"
        lines.append(f"  {r['feature']:<24} gain {gain:>6}  permutation {perm}")
    lines += ["", f"This node over {result['dates'][0]}..{result['dates'][-1]} (mean |contribution|, mean signed, "
              f"sales units; base {result['base']:.2f}):"]
    for r in result["node_features"]:
        lines.append(f"  {r['feature']:<24} {r['mean_abs_contribution']:>10.3f} {r['mean_contribution']:>+10.3f}")
    if "date" in result:
        lines += ["", f"On {result['date']}: forecast {result['date_yhat']:.2f} = base {result['date_base']:.2f} "
                  "+ contributions:"]
        for r in result["date_features"]:
            lines.append(f"  {r['feature']:<24} {r['value']:>+10.3f}   (value {r['feature_value']})")
    return "\n".join(lines)
