"""Storage layer: schema, the data-access module, demo generator and importers."""
