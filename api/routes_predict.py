"""POST /api/v1/predict: a fresh forecast of one key from the current run's stored models, with an optional plan."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from api import csv, deps
from api.problems import CONFLICT, NOT_FOUND, READ_ERRORS, Problem
from api.routes_data import node_or_404
from api.schemas import PredictOut, PredictRequest

router = APIRouter()


@router.post("/predict", tags=["forecasts"], response_model=PredictOut,
             responses={**READ_ERRORS, **NOT_FOUND, **CONFLICT},
             summary="Real-time forecast of one key from the current run's stored models (no refit), with an "
                     "optional plan: promotions, prices, closures", dependencies=[Depends(deps.viewer)])
def predict(body: PredictRequest) -> dict:
    from jobs import predict as job
    node_or_404(body.key)
    try:
        out = job.predict(body.key, body.horizon, body.plan.model_dump() if body.plan else None)
    except job.PredictError as exc:
        errors = [{"field": exc.field, "message": str(exc)}] if exc.field else None
        raise Problem(exc.status, str(exc), kind="validation" if exc.status == 422 else "predict",
                      title="Invalid request" if exc.status == 422 else None, errors=errors) from None
    except FileNotFoundError as exc:
        raise Problem(409, f"the current run's models are not on this server: {exc}", kind="no-models") from None
    return {**out, "points": csv.records(out["points"])}
