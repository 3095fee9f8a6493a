"""Drivers page callbacks: read the effects saved by `python cli.py effects` and draw them with their 95% CIs."""
from __future__ import annotations

from dash import Input, Output, callback
from dash.exceptions import PreventUpdate

from analytics.effects import promo_rows, rank_holidays
from callbacks._cache import memo
from data import store
from domain import Frames
from layouts import components, figures, ids

# Names of the frames jobs/effects_job.py saves with store.save_frame(session, name, level, df).
EFFECTS = Frames.EFFECTS
PROMO_BY_STORE = Frames.PROMO_BY_STORE
EVENT_STUDY = Frames.HOLIDAY_EVENT_STUDY
TEMP_CURVE = Frames.TEMPERATURE_CURVE
PRECIP_CURVE = Frames.PRECIPITATION_CURVE
CORRELATIONS = Frames.CORRELATIONS
NO_EFFECTS = "No effects computed yet: run `python cli.py effects`"


def _frame(name: str, level: str):
    return memo(store.load_frame, name, level)


@callback(Output(ids.Shell.URL, "search", allow_duplicate=True), Input(ids.Drivers.LEVEL, "value"),
          Input(ids.Drivers.HOLIDAY, "value"), prevent_initial_call=True)
def sync_drivers_url(level, holiday):
    """Write the level and holiday choice into the URL so the view can be bookmarked."""
    return ids.to_search({"level": None if level == "category" else level, "holiday": holiday})


@callback(Output(ids.Drivers.STATUS, "children"), Input(ids.Drivers.LEVEL, "value"))
def render_drivers_status(level):
    """Say when and at which levels the effects were computed, or how to compute them."""
    index = memo(store.analysis_index)
    eff = index[index["name"] == EFFECTS] if len(index) else index
    if eff.empty:
        return components.info_alert(NO_EFFECTS + " (it estimates every effect with its 95% confidence interval).")
    levels = sorted(eff["level"].astype(str))
    if level not in levels:
        return components.info_alert(f"No effects at the {level} level yet: run `python cli.py effects --level "
                                     f"{level}` (computed so far: {', '.join(levels)}).", color="warning")
    when = eff.loc[eff["level"] == level, "computed_at"].iloc[0]
    return components.info_alert(f"Effects at the {level} level, computed {when:%Y-%m-%d %H:%M} UTC. "
                                 "Effects are relative changes: +0.20 means 20% more sales.", color="light")


@callback(Output(ids.Drivers.PROMO, "figure"), Input(ids.Drivers.LEVEL, "value"))
def render_promo_lift_chart(level):
    """Redraw the promotion-lift error bars when the level changes."""
    if not level:
        raise PreventUpdate
    eff = _frame(EFFECTS, level)
    if eff is None:
        return figures.empty_figure(NO_EFFECTS)
    rows = promo_rows(eff)
    per_doubling = bool(len(rows)) and rows["name"].iloc[0] == "promo_intensity"
    return figures.effect_bars(rows, label="group", x_title="Sales change per doubling of (1 + markdown $)"
                               if per_doubling else "Lift on promotion days (+20% = a fifth more)")


@callback(Output(ids.Drivers.PROMO_STORE, "figure"), Input(ids.Drivers.LEVEL, "value"))
def render_promo_store_chart(level):
    """Redraw the promotion lift per store when the level changes."""
    if not level:
        raise PreventUpdate
    df = _frame(PROMO_BY_STORE, level)
    if df is None:
        return figures.empty_figure(NO_EFFECTS)
    return figures.effect_bars(df, label="group", x_title="Lift on promotion days, by store",
                               color_by_group=False)


@callback(Output(ids.Drivers.HOLIDAY, "options"), Input(ids.Drivers.LEVEL, "value"))
def render_holiday_options(level):
    """List the holidays of the event study (largest effect first) when the level changes."""
    if not level:
        raise PreventUpdate
    study = _frame(EVENT_STUDY, level)
    return [{"label": h, "value": h} for h in rank_holidays(study)]


@callback(Output(ids.Drivers.EVENT, "figure"), Input(ids.Drivers.LEVEL, "value"),
          Input(ids.Drivers.HOLIDAY, "value"))
def render_event_study_chart(level, holiday):
    """Redraw the event study of the chosen holiday (default: the largest) per group when level or holiday change."""
    if not level:
        raise PreventUpdate
    study = _frame(EVENT_STUDY, level)
    if study is None:
        return figures.empty_figure(NO_EFFECTS)
    ranked = rank_holidays(study)
    return figures.event_study(study, holiday if holiday in ranked else (ranked[0] if ranked else ""))


@callback(Output(ids.Drivers.TEMP, "figure"), Input(ids.Drivers.LEVEL, "value"))
def render_temperature_chart(level):
    """Redraw the binned temperature response curves when the level changes."""
    if not level:
        raise PreventUpdate
    curve = _frame(TEMP_CURVE, level)
    if curve is None:
        return figures.empty_figure(NO_EFFECTS)
    return figures.response_curve(curve, "temp_c", "Temperature (°C)",
                                  empty="No temperature recorded in this data set")


@callback(Output(ids.Drivers.PRECIP, "figure"), Input(ids.Drivers.LEVEL, "value"))
def render_precipitation_chart(level):
    """Redraw the precipitation response when the level changes."""
    if not level:
        raise PreventUpdate
    curve = _frame(PRECIP_CURVE, level)
    if curve is None:
        return figures.empty_figure(NO_EFFECTS)
    return figures.response_curve(curve, "precip_mm", "Precipitation (mm)",
                                  empty="No precipitation recorded in this data set")


@callback(Output(ids.Drivers.CORR, "figure"), Input(ids.Drivers.LEVEL, "value"))
def render_correlation_chart(level):
    """Redraw the correlation heatmap when the level changes."""
    if not level:
        raise PreventUpdate
    corr = _frame(CORRELATIONS, level)
    if corr is None:
        return figures.empty_figure(NO_EFFECTS)
    return figures.correlation_heatmap(corr)
