"""Imports every page's callback module so that `dash.callback` registers them."""
from callbacks import (_auth, customers, data, drivers, explain, explore, explore_demand, forecast,  # noqa: F401
                       inventory, monitoring, overview, plan, promotions, reports, runs, whatif)
