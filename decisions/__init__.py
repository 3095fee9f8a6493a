"""Decisions: pure optimisation on top of forecasts and effects (promotion calendar; no database, no Dash)."""
