"""Forecasting models, backtests, selection, reconciliation and the refresh runner."""
