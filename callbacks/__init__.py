"""Imports every page's callback module so that `dash.callback` registers them."""
from callbacks import data, drivers, explore, forecast, overview, runs  # noqa: F401
from callbacks import plan  # noqa: F401
