"""Decisions from forecasts: the promotion calendar and inventory policies (pure: no database, no UI)."""
