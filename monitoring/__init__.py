"""Monitoring: live accuracy of the stored forecasts, drift, alert rules, notifications and the feedback loop.

``rules`` (the alert rules file), ``drift`` (data and forecast-error drift on the store's data, statistics in
``analytics.drift``), ``alerts`` (evaluate the rules, log, notify, start a refresh), ``notify`` (e-mail, webhook),
``status`` (what ``cli.py monitor`` and the Monitoring page show). The live scores themselves are written by
``data.monitoring`` at every import.
"""
