"""All effects of one panel by group (promotion, holidays, weather), truth matching and the text report.

:func:`estimate_effects` runs, for every group (category, store, region or the whole panel), the log-sales
panel regression of :mod:`analytics._design` once with linear weather terms (the headline effects), once
with binned weather and per-store promotion dummies (curves and the per-store lifts) and, when promotion
intensity is recorded, once with ``log1p(intensity)``. Units follow ``cli.py effects``: relative changes
(0.25 = +25%), per °C for temperature and per mm for precipitation.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics import holidays, promotions, weather
from analytics._design import fit_log_sales, holiday_dummies, panel_groups, sorted_panel, usable
from analytics._rows import EFFECT_COLUMNS

KIND_ORDER = ["promo_lift", "holiday", "temperature", "precipitation"]


def _has_intensity(frame: pd.DataFrame) -> bool:
    """Intensity is informative when it varies among promoted rows (not just a copy of the 0/1 flag)."""
    if not usable(frame, "promo_intensity", 0.0) or "promo" not in frame:
        return False
    on = pd.to_numeric(frame.loc[frame["promo"] > 0, "promo_intensity"], errors="coerce").dropna()
    return on.nunique() > 2


def estimate_effects(frame: pd.DataFrame, freq: str, events: pd.DataFrame | None = None,
                     group_col: str | None = None, season_by: str | None = None, detail: bool = True,
                     level: float = 0.95) -> dict[str, pd.DataFrame]:
    """Promotion, holiday and weather effects with CIs for every group of a panel.

    Parameters
    ----------
    frame : DataFrame
        Bottom-level long panel: ``series_id, ds, y`` plus any of ``is_open, promo, promo_intensity,
        temp_c, precip_mm, store_id, region`` and the ``group_col`` / ``season_by`` columns.
    freq : {"D", "W"}
        Frequency of the data.
    events : DataFrame, optional
        Holidays: ``date, name`` (and optional ``scope, scope_id``).
    group_col : str, optional
        Column whose groups get separate estimates (None: one group "all").
    season_by : str, optional
        Column whose groups get their own seasonal controls inside each group's regression.
    detail : bool
        Also compute response curves and per-store lifts (one more regression per group).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    dict of DataFrame
        ``effects`` (columns ``kind, group, name, estimate, ci_low, ci_high, unit, n, truth``),
        ``holiday_event_study``, ``temperature_curve``, ``precipitation_curve``, ``promo_by_store`` (one
        pooled lift per store) and ``promo_by_store_group`` (per group and store).

    The groups are independent: :func:`group_effects` of each group's rows and :func:`combine_effects` of the
    parts give the same frames (``jobs.effects_job`` runs the groups in a process pool that way).
    """
    if frame.empty:
        raise ValueError("no sales rows to estimate effects from")
    if group_col is not None and group_col not in frame:
        raise ValueError(f"group column {group_col!r} not in the frame")
    frame = sorted_panel(frame)
    parts = [group_effects(sub, str(g), freq, events, season_by, detail, level)  # one group's rows at a time
             for g, sub in panel_groups(frame, group_col)]
    return combine_effects(parts, group_col, level)


def group_effects(sub: pd.DataFrame, group: str, freq: str, events: pd.DataFrame | None = None,
                  season_by: str | None = None, detail: bool = True, level: float = 0.95) -> dict[str, list]:
    """The estimates of one group (its rows sorted by ``series_id, ds``, fresh index) for :func:`combine_effects`:
    ``{"rows": effect dicts, "studies", "curves", "by_store": frames}``. Arguments as :func:`estimate_effects`."""
    out: dict[str, list] = {"rows": [], "studies": [], "curves": [], "by_store": []}
    rows = out["rows"]
    hd = holiday_dummies(sub, events, freq)  # shared by this group's fits
    fit, info = fit_log_sales(sub, freq, events, promo="binary", weather="linear", season_by=season_by,
                              post_promo=3 if freq == "D" else 0, holiday_design=hd)
    rows += promotions.lift_rows(fit, info, group, level)
    rows += holidays.headline_rows(fit, info, freq, group, level)
    rows += weather.slope_rows(fit, group, level)
    out["studies"].append(holidays.event_study(fit, info, group, level))
    del fit
    if _has_intensity(sub):
        ifit, iinfo = fit_log_sales(sub, freq, events, promo="intensity", weather="linear",
                                    season_by=season_by, holiday_design=hd)
        rows += [r for r in promotions.lift_rows(ifit, iinfo, group, level) if r["name"] == "promo_intensity"]
    if detail:
        per_store = "store_id" in sub and sub["store_id"].nunique() > 1 and usable(sub, "promo", 0.0)
        dfit, dinfo = fit_log_sales(sub, freq, events, promo="by_store" if per_store else None,
                                    weather="binned", season_by=season_by, holiday_design=hd)
        out["curves"].append(weather.response_curves(dfit, dinfo, group, level))
        if per_store:
            out["by_store"].append(promotions.by_store(sub, freq, fit=dfit, level=level).assign(group=group))
    return out


def combine_effects(parts: list[dict[str, list]], group_col: str | None,
                    level: float = 0.95) -> dict[str, pd.DataFrame]:
    """The frames of :func:`estimate_effects` from the :func:`group_effects` of every group, in group order."""
    rows, studies, curves, by_store = ([x for p in parts for x in p[key]]
                                       for key in ("rows", "studies", "curves", "by_store"))
    effects = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    effects["_k"] = effects["kind"].map({k: i for i, k in enumerate(KIND_ORDER)})
    effects = effects.sort_values(["_k", "group", "name"], kind="stable").drop(columns="_k")
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=weather.CURVE_COLUMNS)
    store_cols = ["group", "store_id", "estimate", "ci_low", "ci_high", "n"]
    per_cat = pd.concat(by_store, ignore_index=True)[store_cols] if by_store else pd.DataFrame(columns=store_cols)

    def curve_of(var: str, other: str) -> pd.DataFrame:
        return curve[curve["variable"] == var].drop(columns=[other], errors="ignore").reset_index(drop=True)

    return {
        "effects": effects.reset_index(drop=True),
        "holiday_event_study": pd.concat(studies, ignore_index=True) if studies else
        pd.DataFrame(columns=holidays.STUDY_COLUMNS),
        "temperature_curve": curve_of("temp_c", "precip_mm"),
        "precipitation_curve": curve_of("precip_mm", "temp_c"),
        "promo_by_store": pool_by_store(per_cat, level) if group_col != "store_id" else
        effects[(effects["kind"] == "promo_lift") & (effects["name"] == "promotion")]
        [["group", "estimate", "ci_low", "ci_high", "n"]].assign(store_id=lambda d: d["group"]).reset_index(drop=True),
        "promo_by_store_group": per_cat,
    }


def pool_by_store(per_group: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One lift per store from its per-group lifts: inverse-variance weighted mean on the log scale.

    The standard error of each log lift comes back from its interval (half-width / z); groups are treated
    as independent samples (promotion days are drawn per series, so cross-group covariance is small).
    Returns ``group`` (= the store id, the label the dashboard plots), ``store_id, estimate, ci_low,
    ci_high, n, n_groups``.
    """
    cols = ["group", "store_id", "estimate", "ci_low", "ci_high", "n", "n_groups"]
    if per_group.empty:
        return pd.DataFrame(columns=cols)
    from scipy import stats
    z = stats.norm.ppf(0.5 + level / 2)
    d = per_group.copy()
    d["b"] = np.log1p(d["estimate"].astype(float))
    d["se"] = (np.log1p(d["ci_high"].astype(float)) - np.log1p(d["ci_low"].astype(float))) / (2 * z)
    d = d[d["se"] > 0]
    d["w"] = 1 / d["se"] ** 2
    rows = []
    for store_id, g in d.groupby("store_id", sort=True):
        b = float((g["w"] * g["b"]).sum() / g["w"].sum())
        se = float(np.sqrt(1 / g["w"].sum()))
        rows.append({"group": str(store_id), "store_id": str(store_id), "estimate": float(np.expm1(b)),
                     "ci_low": float(np.expm1(b - z * se)), "ci_high": float(np.expm1(b + z * se)),
                     "n": int(g["n"].sum()), "n_groups": int(len(g))})
    return pd.DataFrame(rows, columns=cols)


def attach_truth(effects: pd.DataFrame, truth: pd.DataFrame | None) -> pd.DataFrame:
    """Fill ``truth`` from a planted-truth table (``kind, group, name, value, unit``).

    A row matches on ``(kind, group, name)``, else on ``(kind, "all", name)``; the unit must agree, so a
    value is never compared in the wrong unit. Rows without a match keep ``truth`` = None.
    """
    out = effects.copy()
    out["truth"] = None
    if truth is None or truth.empty or out.empty:
        return out
    table = {(r.kind, str(r.group), r.name): (float(r.value), r.unit) for r in truth.itertuples(index=False)}
    values = []
    for r in out.itertuples(index=False):
        hit = table.get((r.kind, r.group, r.name)) or table.get((r.kind, "all", r.name))
        values.append(hit[0] if hit and hit[1] == r.unit else None)
    out["truth"] = values
    return out


def coverage(effects: pd.DataFrame, kinds=("promo_lift", "temperature")) -> dict:
    """Share of effects with a known truth whose 95% CI contains it: ``{"covered", "total", "share"}``."""
    known = effects[effects["kind"].isin(kinds) & effects["truth"].notna()]
    inside = ((known["ci_low"] <= known["truth"].astype(float)) &
              (known["truth"].astype(float) <= known["ci_high"])).sum()
    return {"covered": int(inside), "total": int(len(known)),
            "share": float(inside / len(known)) if len(known) else math.nan}


def records(effects: pd.DataFrame) -> list[dict]:
    """JSON-ready effect dicts (finite floats or None, plain ints)."""
    out = []
    for r in effects[EFFECT_COLUMNS].itertuples(index=False):
        d = r._asdict()
        for k in ("estimate", "ci_low", "ci_high", "truth"):
            v = d[k]
            d[k] = None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v)
        d["n"] = int(d["n"])
        out.append(d)
    return out


def _fmt(v, unit: str) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return f"{100 * v:+.2f}%" if unit in ("relative", "relative_per_doubling") else f"{100 * v:+.3f}%"


def format_effects(result: dict) -> str:
    """Human-readable report of a ``run_effects`` result; on demo data each estimate sits beside its truth.

    Parameters
    ----------
    result : dict
        ``{"dataset", "level", "seconds", "effects": [...]}`` as returned by ``jobs.effects_job.run_effects``.

    Returns
    -------
    str
        One section per kind with estimate, 95% CI, n and (when known) the planted truth and whether the CI
        covers it.
    """
    eff = pd.DataFrame(result.get("effects") or [], columns=EFFECT_COLUMNS)
    lines = [f"Effects on {result.get('dataset')} at level {result.get('level')} "
             f"({len(eff)} estimates, {result.get('seconds', 0):.1f} s). Relative changes: +25.00% = x1.25."]
    has_truth = eff["truth"].notna().any()
    titles = {"promo_lift": "Promotion", "holiday": "Holidays", "temperature": "Temperature (per °C)",
              "precipitation": "Precipitation (per mm)"}
    for kind in KIND_ORDER:
        part = eff[eff["kind"] == kind]
        if part.empty:
            continue
        if kind == "holiday":
            part = part.sort_values(["group", "estimate"], ascending=[True, False])
        lines.append("")
        lines.append(titles[kind])
        head = f"  {'group':<18} {'name':<32} {'estimate':>10}  {'95% CI':<23} {'n':>7}"
        lines.append(head + (f"  {'truth':>10}  in CI" if has_truth else ""))
        for r in part.itertuples(index=False):
            ci = f"[{_fmt(r.ci_low, r.unit)}, {_fmt(r.ci_high, r.unit)}]"
            line = f"  {r.group[:18]:<18} {r.name[:32]:<32} {_fmt(r.estimate, r.unit):>10}  {ci:<23} {r.n:>7}"
            if has_truth:
                if r.truth is None or pd.isna(r.truth):
                    line += f"  {'-':>10}"
                else:
                    ok = r.ci_low <= float(r.truth) <= r.ci_high
                    line += f"  {_fmt(float(r.truth), r.unit):>10}  {'yes' if ok else 'NO'}"
            lines.append(line)
    if has_truth:
        cov = coverage(eff)
        lines.append("")
        lines.append(f"Planted promotion lifts and temperature slopes inside their 95% CI: "
                     f"{cov['covered']}/{cov['total']}")
    return "\n".join(lines)


def rank_holidays(study: pd.DataFrame | None) -> list[str]:
    """Holidays of an event study, the largest absolute effect on the holiday itself first.

    Parameters
    ----------
    study : DataFrame or None
        The ``holiday_event_study`` frame: ``holiday, offset, estimate`` (one row per group and offset).

    Returns
    -------
    list of str
        Holiday names by decreasing mean ``|estimate|`` at offset 0 (over every offset when no row has offset 0);
        empty when there is no study.
    """
    if study is None or study.empty:
        return []
    at0 = study[study["offset"] == 0] if (study["offset"] == 0).any() else study
    ranked = at0.assign(size=at0["estimate"].abs()).groupby("holiday")["size"].mean().sort_values(ascending=False)
    return [str(h) for h in ranked.index]


def promo_rows(effects: pd.DataFrame) -> pd.DataFrame:
    """The promotion-lift rows to show: the on/off lift, else the markdown-intensity response.

    Parameters
    ----------
    effects : DataFrame
        The ``effects`` frame (``kind, group, name, estimate, ci_low, ci_high, ...``).

    Returns
    -------
    DataFrame
        The ``promo_lift`` rows named ``promotion`` if any, else those named ``promo_intensity``, else no rows
        (the post-promotion dip is never included).
    """
    promo = effects[effects["kind"] == "promo_lift"]
    for name in ("promotion", "promo_intensity"):
        rows = promo[promo["name"] == name]
        if len(rows):
            return rows
    return promo.iloc[0:0]
