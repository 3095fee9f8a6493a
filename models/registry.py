"""Model registry: name -> class, the factory ``make_model``, small test parameters and the default model set."""
from __future__ import annotations

from domain import DEFAULT_SEASON
from models.base import DEFAULT_HORIZON, BaseForecaster
from models.arima import ARIMAForecaster
from models.ets import ETSForecaster
from models.gbm import LGBMForecaster, RFForecaster
from models.intermittent import TSB, CrostonSBA
from models.lstm import LSTMForecaster
from models.naive import SeasonalNaive, SeasonalSVD
from models.ses import SeasonalSES
from models.xgb import XGBForecaster
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
    "xgboost": XGBForecaster,
    "lstm": LSTMForecaster,  # needs the deep extra (torch, `make deep`); never a default candidate
    # Intermittent demand: candidates of the series classed intermittent or lumpy (jobs/sparse.py), not defaults.
    "croston_sba": CrostonSBA,
    "tsb": TSB,
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
    "xgboost": {"n_estimators": 30, "max_depth": 4, "min_child_weight": 1.0, "num_threads": 1},
    "croston_sba": {"alphas": (0.1, 0.3)},
    "tsb": {"alphas": (0.1,), "betas": (0.05, 0.2)},
    "lstm": {"hidden_size": 8, "max_epochs": 3, "windows_per_epoch": 128, "batch_size": 32, "num_threads": 1},
}

DEFAULT_MODELS = ["seasonal_naive", "seasonal_svd", "seasonal_ses", "lgbm"]


def default_horizon(freq: str) -> int:
    """Six weeks: 42 steps for daily data, 6 for weekly."""
    if freq not in DEFAULT_HORIZON:
        raise ValueError(f"freq must be 'D' or 'W', got {freq!r}")
    return DEFAULT_HORIZON[freq]


def model_class(name: str) -> type[BaseForecaster]:
    """The class registered as ``name`` (ValueError listing the names when unknown)."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}") from None


def missing_dependency(name: str) -> str | None:
    """Why model ``name`` cannot run in this environment (an optional package is not installed), or None.

    Raises ValueError for an unknown name. Models with an optional dependency define ``missing_dependency()``.
    """
    check = getattr(model_class(name), "missing_dependency", None)
    return check() if check else None


def require(name: str) -> None:
    """Raise ValueError when model ``name`` is unknown or cannot run here (e.g. ``lstm`` without torch: the message
    names ``make deep``)."""
    message = missing_dependency(name)
    if message:
        raise ValueError(message)


def accepts(name: str, param: str) -> bool:
    """Whether model ``name`` has the hyperparameter ``param`` (an argument of its class's ``__init__``).

    Callers ask before passing run settings such as ``horizon`` or ``num_threads`` that only some models take.
    """
    return param in model_class(name)._get_param_names()


def make_model(name: str, freq: str = "D", **overrides) -> BaseForecaster:
    """An unfitted model ``name`` for ``freq`` with hyperparameters ``overrides`` (class defaults otherwise).

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    freq : {'D', 'W'}
        Data frequency; sets the season length (7 daily, 52 weekly) unless ``season_length`` is given.
    **overrides
        Hyperparameters of the model's class (its ``__init__`` arguments), each of which must exist: ask
        :func:`accepts` before passing a setting such as ``horizon`` that only some models take. Prophet gets
        ``country`` from the configuration unless given.

    Returns
    -------
    BaseForecaster

    Raises
    ------
    ValueError
        For an unknown model, frequency or hyperparameter name (e.g. a misspelt ``n_estimatorz``), or a model
        whose optional dependency is missing (:func:`missing_dependency`).
    """
    cls = model_class(name)
    require(name)
    if freq not in DEFAULT_SEASON:
        raise ValueError(f"freq must be 'D' or 'W', got {freq!r}")
    accepted = cls._get_param_names()
    params = dict(overrides)
    params.pop("freq", None)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"model {name!r} has no hyperparameter(s) {unknown}; "
                         f"its hyperparameters are {[p for p in accepted if p != 'freq']}")
    if "country" in accepted and "country" not in params:
        import config  # read the country only when a model that needs it is made, never at import
        params["country"] = config.load().country
    params["season_length"] = params.get("season_length") or DEFAULT_SEASON[freq]
    return cls(freq=freq, **params)


def test_params(name: str) -> dict:
    """Small, fast hyperparameters for tests."""
    model_class(name)
    return dict(_TEST_PARAMS.get(name, {}))


test_params.__test__ = False  # a registry helper, not a pytest test
