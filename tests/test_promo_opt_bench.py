"""bench/promo_opt.py end to end on a small demo: the JSON fields and the issue's targets (estimated vs planted)."""
from __future__ import annotations

import sys

from tests.conftest import ROOT


def test_bench_small_demo_meets_the_targets(monkeypatch, capsys):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import promo_opt
    finally:
        sys.path.remove(str(ROOT / "bench"))
    monkeypatch.setenv("SALES_DB", "unused")  # the bench sets its own temporary database
    assert promo_opt.main(["--json", "--stores", "3", "--products", "8", "--weeks", "3", "--random-draws", "5"]) == 0
    import json
    out = json.loads(capsys.readouterr().out)
    assert {"optimizer_margin", "oracle_margin", "random_margin", "ratio_to_oracle", "seconds"} <= set(out)
    assert out["oracle_margin"] > 0 and out["promotions"] > 0
    assert out["optimizer_margin"] <= out["oracle_margin"] + 1e-6  # the oracle is the optimum of the true values
    assert out["ratio_to_oracle"] >= 0.90 and out["optimizer_margin"] >= 2 * out["random_margin"]
