"""Imports every page's callback module so that `dash.callback` registers them."""
from callbacks import (_auth, customers, data, drivers, explain, explore, forecast, inventory,  # noqa: F401
                       monitoring, overview, plan, promotions, reports, runs, whatif)
