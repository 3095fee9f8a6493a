"""Dash pages (one module per page) plus shared ids, components and figures."""
