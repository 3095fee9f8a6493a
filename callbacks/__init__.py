"""Imports every page's callback module so that `dash.callback` registers them."""
from callbacks import (_auth, data, drivers, explain, explore, forecast, inventory, overview, plan,  # noqa: F401
                       promotions, reports, runs, whatif)
