"""Test package marker: lets tests/callbacks and tests/browser hold modules with the same basename."""
