"""Orchestration: the forecast refresh and its stages, scheduling, model artifacts and the effects job."""
