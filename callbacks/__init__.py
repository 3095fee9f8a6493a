"""Imports every page's callback module so that `dash.callback` registers them."""
from callbacks import (data, drivers, explain, explore, forecast, inventory, overview, plan, promotions,  # noqa: F401
                       runs, whatif)
