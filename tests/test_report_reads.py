"""The reports' whole-run reads (data/report_reads.py) on both back ends: each series' chosen-model backtest rows
and residual diagnostics, joined to the series' hierarchy level."""
from __future__ import annotations

import pandas as pd
import pytest

from data import report_reads, store


@pytest.mark.backends("sqlite", "postgresql")
def test_chosen_backtests_and_diagnostics_by_level(small_demo_db):
    url = small_demo_db
    total, bottom = store.node_id("total"), store.node_ids("store_product", url=url)[0]
    store.create_run("r1", {}, None, None, status="running", url=url)
    metrics = pd.DataFrame({"series_id": [total, total, total, bottom], "model": ["a", "a", "b", "b"],
                            "fold": [0, 1, 0, 0], "wape": [0.1, 0.3, 0.5, 0.2], "coverage_80": [1.0, 0.5, 0.0, 0.8]})
    selections = pd.DataFrame({"series_id": [total, bottom], "model": ["a", "b"], "metric": "wape",
                               "score": [0.2, 0.2]})
    diagnostics = pd.DataFrame({"series_id": [total, bottom], "model": ["a", "b"], "ljung_box_p": [0.01, 0.5],
                                "bias": [1.0, -1.0], "resid_std": [2.0, 3.0], "acf": [[1.0, 0.2], [1.0]],
                                "residuals": [[0.1], [0.2]]})
    with store.session_scope(url=url) as session:
        store.write_run_results(session, "r1", metrics=metrics, selections=selections, diagnostics=diagnostics)
    chosen = report_reads.chosen_backtests("r1", url)
    assert list(zip(chosen["level"], chosen["model"], chosen["fold"], chosen["wape"])) == [
        ("store_product", "b", 0, 0.2), ("total", "a", 0, 0.1), ("total", "a", 1, 0.3)]  # model b of total left out
    diag = report_reads.diagnostics_by_series("r1", url)
    assert diag.set_index("level")["ljung_box_p"].to_dict() == {"store_product": 0.5, "total": 0.01}
    assert report_reads.chosen_backtests("no-such-run", url).empty
