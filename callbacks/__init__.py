"""Imports every page's callback module so that `dash.callback` registers them."""
from callbacks import (_auth, data, drivers, explain, explore, explore_demand, forecast, inventory,  # noqa: F401
                       overview, plan, promotions, runs, whatif)
