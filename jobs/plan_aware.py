"""Which stored forecasts carry the plan: the share of each series' chosen model that takes exogenous inputs.

Plan-aware models (those with ``uses_exog``) get the plan's promotions, depths, prices and closures for the
horizon, so their forecast already holds the planned promotions' lift; models without exogenous inputs (naive,
SES, ...) forecast as if nothing were planned (closed days are still 0). A combination (members joined by
``+``, :func:`models.combination.members_of`) averages its members, so it carries about that share of the lift.
The what-if (:mod:`jobs.whatif_job`) and the promotion optimizer (:mod:`jobs.promo_opt_job`) take the planned
lift out of the forecast only in that share (:func:`analytics.scenario.depromote` on ``share x d0``).
"""
from __future__ import annotations

import numpy as np

from data import store
from models.combination import members_of
from models.registry import MODELS


def uses_plan(model: str) -> float:
    """Share of the members of ``model`` (a model or a combination name) that take exogenous inputs; an unknown
    name counts as plan-aware."""
    members = members_of(str(model))
    return float(np.mean([getattr(MODELS.get(m), "uses_exog", True) for m in members]))


def plan_carried_share(series_ids, url: str | None = None) -> np.ndarray:
    """Per series of ``series_ids`` the share of the planned lift its current forecast carries (1 where the run
    recorded no chosen model: the forecast is taken as plan-aware)."""
    sel = store.selections(url=url)
    chosen = dict(zip(sel["series_id"], sel["model"])) if not sel.empty else {}
    return np.array([uses_plan(chosen[s]) if s in chosen else 1.0 for s in series_ids], dtype=float)
