"""Imports every page's callback module so that `dash.callback` registers them."""
