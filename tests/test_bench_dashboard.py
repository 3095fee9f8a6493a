"""bench/dashboard.py replays real callback requests: every page loads, filters change, drill-downs fire, no errors."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_dashboard", ROOT / "bench" / "dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # ~10 s alone (Explore decomposition dominates), ~30 s on a busy machine
def test_replay_on_the_small_demo(small_demo_db):
    bench = _bench()
    result = bench.run(small_demo_db, n_requests=1, pages=["/explore", "/drivers", "/data", "/runs"])
    assert set(result) >= {"requests", "p50_ms", "p95_ms", "max_ms", "rss_mb", "by_callback"}
    assert result["passes"] == 1 and result["page_loads"] == 8  # each page: load, drill down, load, change
    assert result["filter_changes"] > 0 and result["drill_downs"] > 0
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["max_ms"]
    # the pages' own callbacks ran (not only the router), each timed under its function name
    for name in ("pages_router (page layout)", "render_promo_lift_chart", "render_run_history",
                 "render_store_summary"):
        assert name in result["by_callback"], name


def test_payload_helpers():
    bench = _bench()
    assert bench._split_outputs("..a.children...b.figure..") == [("a", "children"), ("b", "figure")]
    assert bench._split_outputs('{"type":"x","k":["ALL"]}.value') == [({"type": "x", "k": ["ALL"]}, "value")]
    assert bench._is_pattern({"type": "x", "k": ["ALL"]}) and not bench._is_pattern({"type": "x", "k": "a"})
    assert bench._matches({"type": "x", "k": ["ALL"]}, {"type": "x", "k": "a"})
    assert bench._array({"dtype": "f8", "bdata": "AAAAAAAA8D8AAAAAAAAAQA=="}) == [1.0, 2.0]
