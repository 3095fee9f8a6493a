"""The model report's live accuracy: once actuals arrive after a published run, the report shows the scores the
import stored (data.monitoring), per level and horizon step; before that it says none arrived."""
from __future__ import annotations

import re

from tests.monitor_helpers import MAP, refreshed_store


def _section(page: str, key: str) -> str:
    return re.search(rf'<section id="{key}">(.*?)</section>', page, re.S).group(1)


def test_the_model_report_shows_live_accuracy_after_new_actuals(tmp_path):
    from data import ingest, monitoring
    from reports import render
    url, second, run = refreshed_store(tmp_path, days=120, after=10)
    before = _section(render.build("model", url).to_html(), "live")
    assert "No actuals have arrived" in before and run["run_id"] in before
    ingest.ingest_csv(second, MAP, url=url)
    live = monitoring.read_live_accuracy(by=("level",), run_id=run["run_id"], model="final", url=url)
    assert not live.empty
    section = _section(render.build("model", url).to_html(), "live")
    total = live[live["level"] == "total"].iloc[0]
    row = re.search(r"<tr><td >total</td>(.*?)</tr>", section).group(1)
    cells = re.findall(r"<td [^>]*>([^<]*)</td>", row)
    assert cells[0] == f"{int(total['n']):,}" and cells[1] == f"{total['wape']:.1%}"
    assert "By horizon step" in section and "Every scored run" in section
