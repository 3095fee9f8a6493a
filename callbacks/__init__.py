"""Imports every page's callback module so that `dash.callback` registers them."""
from callbacks import (_auth, data, drivers, explore, forecast, inventory, overview, plan, promotions, runs,  # noqa: F401
                       whatif)
