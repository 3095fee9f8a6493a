"""Pure statistical analyses on long-format DataFrames (no Dash, no SQL)."""
