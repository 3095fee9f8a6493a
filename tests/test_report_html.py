"""The generated reports on the small demo (one published run, effects, an inventory plan): each report's sections,
offline self-containment, the figures' validity, the numbers against the store, and the CLI's messages."""
from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest

import cli
from reports import TITLES, render
from tests.report_helpers import report_db  # noqa: F401

SECTIONS = {
    "eda": ["summary", "quality", "trends", "seasonality", "distributions", "correlations", "cleaning"],
    "model": ["run", "candidates", "selection", "tuning", "residuals", "coverage", "live"],
    "executive": ["forecast", "accuracy", "drivers", "inventory", "promotions"],
}
# words each report must contain (what a stakeholder looks for in that section)
WORDS = {
    "eda": ["Missing dates", "Duplicates", "Negative sales", "Outliers", "Coverage", "trend strength",
            "Fisher-z", "dropped at import"],
    "model": ["seasonal_naive", "lgbm", "Ljung-Box", "80%", "95%", "not tuned", "No actuals have arrived"],
    "executive": ["Expected sales", "95% interval", "repeating last season", "Promotions lift sales",
                  "Orders to place", "Calendar for"],
}


@pytest.fixture(scope="module")
def documents(report_db):  # noqa: F811
    return {kind: render.build(kind, report_db) for kind in SECTIONS}


@pytest.mark.parametrize("kind", list(SECTIONS))
def test_each_report_has_its_sections_and_works_offline(kind, documents, tmp_path):
    doc = documents[kind]
    page = doc.to_html()
    assert re.findall(r'<section id="([a-z_]+)">', page) == SECTIONS[kind]
    assert f"<h1>{TITLES[kind]}</h1>" in page
    for word in WORDS[kind]:
        assert word in page, f"{kind} report lacks {word!r}"
    # self-contained: no external script, style sheet or image; plotly.js inlined exactly once
    assert not re.search(r'<(script|link|img)[^>]+(src|href)=', page)
    assert page.count("Plotly.newPlot(") == sum(len(s.figures) for s in doc.sections) > 0
    assert page.count("<script>") == 2
    for section in doc.sections:
        for _div, fig, _height in section.figures:
            go.Figure(fig)  # every embedded figure is a valid plotly figure
            assert all(t.get("type") != "scattergl" for t in fig["data"])  # WebGL does not print


def test_generate_writes_the_file_and_says_what_it_wrote(report_db, tmp_path):  # noqa: F811
    out = tmp_path / "sub" / "model.html"
    seen = []
    summary = render.generate("model", "html", out, url=report_db, progress=lambda f, m: seen.append(f))
    assert out.exists() and summary["bytes"] == out.stat().st_size > 1_000_000  # plotly.js is ~4 MB
    assert summary["sections"][0] == "Published run" and seen[-1] == 1.0 and seen == sorted(seen)


def test_the_executive_numbers_come_from_the_stored_forecasts(report_db):  # noqa: F811
    from data import store
    from reports import executive
    fc = store.forecast(store.node_id("total"), url=report_db)
    tot = executive.horizon_totals(fc, report_db).iloc[0]
    assert tot["forecast"] == pytest.approx(np.clip(fc["yhat"], 0, None).sum())
    assert tot["lo_95"] < tot["lo_80"] < tot["forecast"] < tot["hi_80"] < tot["hi_95"]
    # the interval of the sum is narrower than the sum of the daily bounds (they are not all extreme at once)
    assert tot["hi_95"] - tot["lo_95"] < (fc["yhat_hi_95"] - fc["yhat_lo_95"]).sum()


def test_the_eda_quality_counts_are_the_quality_report(report_db, documents):  # noqa: F811
    from analytics import quality
    from data import store
    r = quality.quality_report(store.sales_columns(url=report_db), store.datasets(url=report_db),
                               frequency=store.frequency(report_db), node_keys=store.node_keys)
    page = documents["eda"].to_html()
    assert f"{r['missing_dates']['total']:,} missing dates" in page
    assert f"{r['outliers']['count']:,} outliers" in page


def test_cli_report_messages(report_db, tmp_path, small_demo_db, monkeypatch, capsys):  # noqa: F811
    # no published run yet: the model and executive reports say which command to run, exit 2
    assert cli.main(["report", "model", "--out", str(tmp_path / "m.html"), "--db", small_demo_db]) == 2
    assert "run `python cli.py refresh` first" in capsys.readouterr().err
    monkeypatch.setenv("SALES_REPORT_BROWSER", str(tmp_path / "no-such-browser"))
    assert cli.main(["report", "eda", "--format", "pdf", "--out", str(tmp_path / "e.pdf"), "--db", report_db]) == 2
    err = capsys.readouterr().err
    assert "is not an executable" in err and "--format html" in err and "Traceback" not in err
    assert not (tmp_path / "e.pdf").exists()


def test_a_share_interval_stays_between_0_and_1():
    import pandas as pd

    from reports.model import mean_ci
    m, lo, hi, n = mean_ci(pd.Series([1.0, 1.0, 0.5]), bounds=(0.0, 1.0))
    assert (m, n) == (pytest.approx(5 / 6), 3) and 0 <= lo < m < hi == 1.0
    m, lo, hi, n = mean_ci(pd.Series([0.2, 0.4]))
    assert lo == pytest.approx(0.3 - 1.959963984540054 * 0.1414213562 / 2 ** 0.5) and hi > 0.4


def test_the_executive_summary_keeps_the_calendar_it_solved_for_the_page(report_db, documents):  # noqa: F811
    from jobs import promo_opt_job, promo_saved
    saved = promo_saved.latest_saved(report_db)  # solved by the executive summary above, for the current data
    assert saved is not None and saved["max_per_store_week"] == promo_opt_job.DEFAULT_MAX_PER_STORE_WEEK
    assert f"Calendar for {saved['start']} to {saved['end']}" in documents["executive"].to_html()
