"""Model registry: name -> class, sane defaults per frequency, small test parameters and the default model set."""
from __future__ import annotations

from models.base import DEFAULT_SEASON, BaseForecaster
from models.arima import ARIMAForecaster
from models.ets import ETSForecaster
from models.gbm import LGBMForecaster, RFForecaster
from models.naive import SeasonalNaive, SeasonalSVD
from models.ses import SeasonalSES
from models.prophet_model import ProphetForecaster

MODELS: dict[str, type[BaseForecaster]] = {
    "seasonal_naive": SeasonalNaive,
    "seasonal_svd": SeasonalSVD,
    "seasonal_ses": SeasonalSES,
    "ets": ETSForecaster,
    "arima": ARIMAForecaster,
    "prophet": ProphetForecaster,
    "lgbm": LGBMForecaster,
    "rf": RFForecaster,
}

# Hyperparameters per model and frequency ('*' = any frequency).
_DEFAULTS: dict[str, dict[str, dict]] = {
    "seasonal_naive": {"*": {}},
    "prophet": {"*": {"uncertainty_samples": 100}},
}

# Small, fast parameters for the contract tests (sktime's get_test_params).
_TEST_PARAMS: dict[str, dict] = {
    "seasonal_naive": {},
    "seasonal_svd": {"rank": 1},
    "seasonal_ses": {},
    "ets": {"maxiter": 30, "trends": ((None, False),)},
    "arima": {"maxiter": 10, "orders": ((1, 0, 0),), "max_train": 200},
    "prophet": {"uncertainty_samples": 20},
    "lgbm": {"n_estimators": 30, "num_leaves": 15, "min_child_samples": 5, "num_threads": 1},
    "rf": {"n_estimators": 20, "max_depth": 8, "num_threads": 1},
}

LOCAL_MODELS = [n for n, c in MODELS.items() if not c.is_global]
GLOBAL_MODELS = [n for n, c in MODELS.items() if c.is_global]
DEFAULT_MODELS = ["seasonal_naive", "seasonal_svd", "seasonal_ses", "lgbm"]
DEFAULT_HORIZON = {"D": 42, "W": 6}


def default_horizon(freq: str) -> int:
    """Six weeks: 42 steps for daily data, 6 for weekly."""
    if freq not in DEFAULT_HORIZON:
        raise ValueError(f"freq must be 'D' or 'W', got {freq!r}")
    return DEFAULT_HORIZON[freq]


def model_class(name: str) -> type[BaseForecaster]:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}") from None


def make_model(name: str, freq: str = "D", **overrides) -> BaseForecaster:
    """An unfitted model with the registry's defaults for ``freq``, updated by ``overrides``.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    freq : {'D', 'W'}
        Data frequency; sets the season length (7 daily, 52 weekly) unless overridden.
    **overrides
        Hyperparameters. ``horizon`` is passed only to models whose class has ``horizon_aware``
        (e.g. the global LightGBM model, whose lags must be at least the horizon) and ignored by others.

    Returns
    -------
    BaseForecaster
    """
    cls = model_class(name)
    if freq not in DEFAULT_SEASON:
        raise ValueError(f"freq must be 'D' or 'W', got {freq!r}")
    params = dict(_DEFAULTS.get(name, {}).get("*", {}))
    params.update(_DEFAULTS.get(name, {}).get(freq, {}))
    params.update(overrides)
    if name == "prophet" and "country" not in params:
        import config  # read the country only when a Prophet model is made, never at import
        params["country"] = config.load().country
    if not cls.horizon_aware:
        params.pop("horizon", None)
    season = params.pop("season_length", None) or DEFAULT_SEASON[freq]
    params.pop("freq", None)
    return cls(freq=freq, season_length=season, **params)


def test_params(name: str) -> dict:
    """Small, fast hyperparameters for tests."""
    model_class(name)
    return dict(_TEST_PARAMS.get(name, {}))


test_params.__test__ = False  # a registry helper, not a pytest test
