"""RefreshParams: defaults, normalisation, validation messages and the dict stored with a run."""
from __future__ import annotations

import dataclasses

import pytest

from domain import LEVELS
from jobs.params import RefreshParams


def test_defaults_and_stored_dict():
    p = RefreshParams.from_cli("D")
    assert p.to_dict() == {"freq": "D", "horizon": 42, "models": ["seasonal_naive", "seasonal_svd", "seasonal_ses",
                                                                  "lgbm"],
                           "folds": 3, "metric": "wape", "reconcile": "bottom_up", "levels": list(LEVELS),
                           "tune": False, "ensemble": False, "selection": "combination"}
    assert RefreshParams.from_cli("W").horizon == 6
    assert p.combining and not RefreshParams.from_cli("D", metric="mase").combining


def test_cli_values_are_normalised():
    p = RefreshParams.from_cli("D", horizon=7, models=" seasonal_naive, ets ", levels="store,total",
                               model_params={"lgbm": {"num_leaves": 7}})
    assert p.models == ("seasonal_naive", "ets")
    assert p.levels == ("total", "store", "store_product")  # hierarchy order, bottom level always included
    assert p.to_dict()["model_params"] == {"lgbm": {"num_leaves": 7}}
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.horizon = 3


@pytest.mark.parametrize("kwargs, message", [
    ({"models": "seasonal_naive,crystal_ball"}, "unknown model"),
    ({"levels": "galaxy"}, "unknown level"),
    ({"reconcile": "magic"}, "unknown reconcile method"),
    ({"levels": "store", "reconcile": "ols"}, "drop --levels"),
    ({"selection": "vote"}, "unknown selection"),
    ({"folds": 0}, "horizon and folds must be >= 1"),
    ({"horizon": -2}, "horizon and folds must be >= 1"),
])
def test_bad_values_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RefreshParams.from_cli("D", **kwargs)



def test_global_group_rows_is_a_parameter_of_the_run(monkeypatch):
    """SALES_GLOBAL_GROUP_ROWS changes the forecasts (global models per group), so a changed value must change
    the stored parameters (and an otherwise unchanged refresh is then not skipped); the default is left out."""
    assert "global_group_rows" not in RefreshParams.from_cli("D").to_dict()
    monkeypatch.setenv("SALES_GLOBAL_GROUP_ROWS", "1000")
    p = RefreshParams.from_cli("D")
    assert p.global_group_rows == 1000 and p.to_dict()["global_group_rows"] == 1000
    assert RefreshParams.from_cli("D", global_group_rows=500).global_group_rows == 500
    with pytest.raises(ValueError, match="global_group_rows must be >= 1"):
        RefreshParams("D", 7, global_group_rows=0)
