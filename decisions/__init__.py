"""Decisions from forecasts: inventory policies and promotion optimization (pure: no database, no UI)."""
