"""The model report: candidates and their backtest metrics, the chosen models per level, tuning, residual
diagnostics and interval coverage of the published (current) run, and its live accuracy since publication (the
forecasts scored against the actuals imported after it, ``data.monitoring``).

Backtests are the refresh's rolling-origin folds (stored per series, model and fold); a level's figure is the mean
over its series and folds, with a 95% interval from the spread over those rows (normal approximation).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from data import monitoring, report_reads, store
from domain import LEVELS
from layouts import figures
from reports import TITLES, charts
from reports._common import num, num2, pct, pct_signed, published_run
from reports.document import Document

Z95 = 1.959963984540054


def build(url: str | None = None) -> Document:
    """The model report of the current run in the database at ``url``."""
    run = published_run(url)
    doc = Document(TITLES["model"], f"Run {run['run_id']} on data set {store.dataset_name(url)!r}")
    _run(doc, run)
    _candidates(doc, run["run_id"], url)
    chosen = report_reads.chosen_backtests(run["run_id"], url)
    _selection(doc, run["run_id"], chosen, url)
    _tuning(doc, run["run_id"], url)
    _residuals(doc, run["run_id"], url)
    _coverage(doc, chosen)
    _live(doc, run, chosen, url)
    return doc


def _level_order(levels) -> list[str]:
    return [lv for lv in LEVELS if lv in set(levels)] + sorted(set(levels) - set(LEVELS))


def mean_ci(values: pd.Series, bounds: tuple[float, float] = (-np.inf, np.inf)) -> tuple[float, float, float, int]:
    """Mean of ``values`` with a 95% normal interval from their spread (NaN interval below two values), the interval
    kept inside ``bounds`` (a share's lies in [0, 1])."""
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(v) == 0:
        return np.nan, np.nan, np.nan, 0
    m = float(v.mean())
    if len(v) < 2:
        return m, np.nan, np.nan, 1
    half = Z95 * float(v.std(ddof=1)) / np.sqrt(len(v))
    return m, max(m - half, bounds[0]), min(m + half, bounds[1]), len(v)


def _run(doc: Document, run: dict) -> None:
    s = doc.section("run", "Published run")
    params = run.get("params") or {}
    params = json.loads(params) if isinstance(params, str) else params
    s.kpis([("Series", num(run.get("n_series")), f"{len(params.get('levels') or [])} levels"),
            ("Horizon", f"{params.get('horizon', '–')} steps", f"frequency {params.get('freq', '–')}"),
            ("Backtest", f"{params.get('folds', '–')} folds", f"selection by {params.get('metric', '–')}"),
            ("Duration", f"{float(run.get('duration_s') or 0):.0f} s", f"finished {str(run.get('finished_at'))[:16]}")])
    s.bullets([f"Candidate models: {', '.join(params.get('models') or [])}",
               f"Selection: {params.get('selection', '–')}; reconciliation: {params.get('reconcile', '–')}; "
               f"tuning: {'yes' if params.get('tune') else 'no'}",
               f"Code version {str(run.get('code_version') or '–')[:12]}, data hash {str(run.get('data_hash'))[:12]}"])


def _candidates(doc: Document, run_id: str, url: str | None) -> None:
    s = doc.section("candidates", "Candidates and their backtest metrics")
    summary = store.model_summary(run_id, url=url)
    s.text("Mean over every series and fold of the run (all levels); n_selected counts the series that chose it.")
    s.table(summary, {"wape": pct, "mase": num2, "rmse": num2, "mae": num2, "smape": pct, "bias": num2,
                      "coverage_80": pct, "coverage_95": pct, "pinball": num2})
    rows = []
    for level in _level_order(store.LEVELS):
        per = store.model_summary(run_id, level=level, url=url)
        rows += [{"level": level, "model": r.model, "wape": r.wape} for r in per.itertuples() if r.n_series]
    by_level = pd.DataFrame(rows)
    if not by_level.empty:
        s.heading("WAPE by level and candidate (lower is better)")
        s.figure(charts.grouped_bars(by_level, "level", "wape", "model", "WAPE"), height=340)


def _selection(doc: Document, run_id: str, chosen: pd.DataFrame, url: str | None) -> None:
    s = doc.section("selection", "Chosen models per level")
    sel = store.selections(run_id, url=url)
    nodes = store.nodes(url=url)[["node_id", "level"]].rename(columns={"node_id": "series_id"})
    sel = sel.merge(nodes, on="series_id", how="left")
    counts = sel.groupby(["level", "model"]).size().rename("series").reset_index()
    acc = chosen.groupby(["level", "model"]).agg(wape=("wape", "mean"), mase=("mase", "mean")).reset_index()
    counts = counts.merge(acc, on=["level", "model"], how="left")
    counts["level"] = pd.Categorical(counts["level"], _level_order(counts["level"].unique()), ordered=True)
    counts = counts.sort_values(["level", "series"], ascending=[True, False])
    s.text("Per level, the models the series chose and their backtest accuracy (mean over series and folds). "
           "A name joined by '+' is the average of those candidates.")
    s.table(counts.astype({"level": str}), {"wape": pct, "mase": num2}, max_rows=40)


def _tuning(doc: Document, run_id: str, url: str | None) -> None:
    s = doc.section("tuning", "Tuning results")
    trials = store.tuning_trials(run_id, url=url)
    if trials.empty:
        s.text("This run was not tuned (`python cli.py refresh --tune` searches the gradient-boosting model's "
               "hyperparameters on the backtest folds).")
        return
    trials = trials.sort_values("score").reset_index(drop=True)
    best, default = trials.iloc[0], trials[trials["trial"] == 0]
    s.text(f"{len(trials)} trials; the best scored {best['score']:.4f} (trial {int(best['trial'])})"
           + (f" against {float(default['score'].iloc[0]):.4f} for trial 0 (the defaults)." if len(default) else "."))
    trials["params"] = trials["params"].map(lambda p: ", ".join(f"{k}={v}" for k, v in p.items()))
    s.table(trials[["trial", "score", "params"]], {"score": lambda v: f"{v:.4f}"}, max_rows=10)


def _residuals(doc: Document, run_id: str, url: str | None) -> None:
    s = doc.section("residuals", "Residual diagnostics")
    diag = report_reads.diagnostics_by_series(run_id, url)
    if diag.empty:
        s.text("No residual diagnostics were stored for this run.")
        return
    rows = []
    for level, d in diag.groupby("level"):
        p = pd.to_numeric(d["ljung_box_p"], errors="coerce")
        rows.append({"level": level, "series": len(d), "ljung_box_p<0.05": float((p < 0.05).mean()),
                     "median_bias": float(d["bias"].median()), "median_resid_sd": float(d["resid_std"].median())})
    table = pd.DataFrame(rows)
    table = table.set_index("level").loc[_level_order(table["level"])].reset_index()
    s.text("In-sample residuals of each series' chosen model (models.diagnostics): the Ljung-Box test asks whether "
           "autocorrelation is left (a small p means structure the model missed); bias is the mean residual.")
    s.table(table, {"ljung_box_p<0.05": pct, "median_bias": num2, "median_resid_sd": num2})
    total = store.diagnostics(store.node_id("total"), run_id, url=url)
    if not total.empty:
        row = total.iloc[0]
        s.heading(f"Total sales, model {row['model']}: residual autocorrelation and distribution")
        s.figure(figures.acf_bars(row["acf"], len(row["residuals"])), height=240)
        s.figure(figures.residual_histogram(row["residuals"]), height=240)


def _coverage(doc: Document, chosen: pd.DataFrame) -> None:
    s = doc.section("coverage", "Interval coverage")
    if chosen.empty:
        s.text("No backtest rows of the chosen models in this run.")
        return
    rows = []
    for level in _level_order(chosen["level"].unique()):
        d = chosen[chosen["level"] == level]
        for nominal, col in ((0.80, "coverage_80"), (0.95, "coverage_95")):
            m, lo, hi, n = mean_ci(d[col], bounds=(0.0, 1.0))
            rows.append({"level": level, "interval": f"{nominal:.0%}", "coverage": m, "ci_low": lo, "ci_high": hi,
                         "rows": n, "gap": m - nominal})
    table = pd.DataFrame(rows)
    s.text("Share of backtest actuals inside the chosen models' 80% and 95% intervals, per level (mean over series "
           "and folds, with its 95% interval). A coverage below nominal means intervals too narrow.")
    s.table(table, {"coverage": pct, "ci_low": pct, "ci_high": pct, "gap": pct_signed})
    s.figure(charts.interval_points(table[table["interval"] == "95%"], "level", "coverage", "ci_low", "ci_high",
                                    0.95, "Coverage of the 95% interval (dashed: nominal)"), height=280)


def _live(doc: Document, run: dict, chosen: pd.DataFrame, url: str | None) -> None:
    s = doc.section("live", "Live accuracy since publication")
    live = monitoring.read_live_accuracy(by=("level",), run_id=run["run_id"], model="final", url=url)
    if live.empty:
        s.text(f"No actuals have arrived for the forecast dates of run {run['run_id']} yet: its forecasts are "
               "scored on every import after it was published, and this section shows how they fared.")
    else:
        expected = chosen.groupby("level")["wape"].mean().rename("backtest_wape")
        live = live.merge(expected, left_on="level", right_index=True, how="left")
        live["level"] = pd.Categorical(live["level"], _level_order(live["level"]), ordered=True)
        s.text("The published (reconciled) forecasts of this run against the actuals imported since, per level; "
               "backtest_wape is what the backtests led us to expect.")
        s.table(live.sort_values("level").astype({"level": str})[
            ["level", "n", "wape", "backtest_wape", "mase", "bias_pct", "coverage_80", "coverage_95"]],
            {"n": num, "wape": pct, "backtest_wape": pct, "mase": num2, "bias_pct": pct_signed, "coverage_80": pct,
             "coverage_95": pct})
        steps = monitoring.read_live_accuracy(by=("step",), run_id=run["run_id"], model="final", url=url)
        s.heading("By horizon step (all levels)").table(
            steps, {"n": num, "wape": pct, "mase": num2, "bias": num2, "bias_pct": pct_signed, "coverage_80": pct,
                    "coverage_95": pct}, max_rows=15)
    runs = monitoring.read_live_accuracy(by=("run_id",), model="final", url=url)
    if not runs.empty:
        s.heading("Every scored run (newest last)").table(
            runs[["run_id", "n", "wape", "mase", "bias_pct", "coverage_80", "coverage_95"]],
            {"n": num, "wape": pct, "mase": num2, "bias_pct": pct_signed, "coverage_80": pct, "coverage_95": pct},
            max_rows=10)
