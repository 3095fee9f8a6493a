"""The alert rules file (JSON, ``SALES_ALERTS_FILE``, default ``data/alerts.json``): rules, notification channels,
the feedback loop and drift thresholds. A missing file means the defaults below; a bad one is refused with a
one-line message naming the file and the field."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import config
from analytics.drift import DriftThresholds

KINDS = ("accuracy", "coverage", "bias", "drift", "refresh_failed", "stale")
METRICS = ("wape", "mase")
DEFAULT_RULES = {
    "rules": [
        {"name": "accuracy-total", "kind": "accuracy", "metric": "wape", "level": "total", "threshold": 0.25,
         "periods": 3, "severity": "warning"},
        {"name": "coverage-80", "kind": "coverage", "interval": 80, "level": "store_product", "threshold": 0.6,
         "periods": 7, "severity": "warning"},
        {"name": "bias-total", "kind": "bias", "level": "total", "threshold": 0.15, "periods": 7,
         "severity": "warning"},
        {"name": "drift", "kind": "drift", "severity": "warning"},
        {"name": "refresh-failed", "kind": "refresh_failed", "severity": "critical"},
        {"name": "data-stale", "kind": "stale", "days": 8, "severity": "warning"},
    ],
    "notify": {"email": None, "webhook": None},
    "feedback": {"refresh_on": [], "tune": False, "models": None},
    "drift": {},
}


class RulesError(ValueError):
    """A rules file that cannot be used (the message names the file and the field)."""


def path() -> Path:
    return Path(config.load().alerts_file)


def load(file: Path | str | None = None) -> dict:
    """The rules (defaults when the file does not exist); raises :class:`RulesError` on a bad file."""
    p = Path(file) if file else path()
    if not p.exists():
        return copy.deepcopy(DEFAULT_RULES)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RulesError(f"{p}: not a JSON rules file ({str(exc).splitlines()[0]})") from None
    return validate(raw, str(p))


def validate(raw, where: str = "rules") -> dict:
    """Check and complete a rules document (see :data:`DEFAULT_RULES`)."""
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: the rules file must hold a JSON object")
    out = copy.deepcopy(DEFAULT_RULES)
    out.update({k: v for k, v in raw.items() if k in out})
    unknown = sorted(set(raw) - set(DEFAULT_RULES))
    if unknown:
        raise RulesError(f"{where}: unknown field {unknown[0]!r}; use {', '.join(DEFAULT_RULES)}")
    names = set()
    for i, rule in enumerate(out["rules"]):
        at = f"{where}: rules[{i}]"
        if not isinstance(rule, dict) or rule.get("kind") not in KINDS:
            raise RulesError(f"{at}: 'kind' must be one of {', '.join(KINDS)}")
        if not rule.get("name") or rule["name"] in names:
            raise RulesError(f"{at}: every rule needs a unique 'name'")
        names.add(rule["name"])
        for key in ("threshold", "periods", "days", "interval"):
            if key in rule and not (isinstance(rule[key], (int, float)) and rule[key] >= 0):
                raise RulesError(f"{at}: {key!r} must be a non-negative number")
        if rule.get("metric", "wape") not in METRICS:
            raise RulesError(f"{at}: 'metric' must be one of {', '.join(METRICS)}")
        if rule["kind"] in ("accuracy", "coverage", "bias") and "threshold" not in rule:
            raise RulesError(f"{at}: a {rule['kind']} rule needs a 'threshold'")
    refresh_on = out["feedback"].get("refresh_on", [])
    if not isinstance(refresh_on, list) or set(refresh_on) - {"accuracy", "coverage", "bias", "drift"}:
        raise RulesError(f"{where}: feedback.refresh_on must list accuracy, coverage, bias or drift")
    if out["feedback"].get("models") is not None and not isinstance(out["feedback"]["models"], str):
        raise RulesError(f"{where}: feedback.models must be a comma-separated list of model names")
    unknown = sorted(set(out["drift"]) - set(DriftThresholds.__dataclass_fields__) - {"window_days",
                                                                                   "reference_days"})
    if unknown:
        raise RulesError(f"{where}: drift.{unknown[0]} is not a drift threshold")
    return out


def save(rules: dict, file: Path | str | None = None) -> Path:
    """Validate and write the rules file atomically; returns its path."""
    p = Path(file) if file else path()
    checked = validate(rules, str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(checked, indent=2), encoding="utf-8")
    os.replace(tmp, p)
    return p


def drift_settings(rules: dict) -> tuple[DriftThresholds, int, int]:
    """``(thresholds, window_days, reference_days)``: config.py's SALES_DRIFT_* overridden by the file's drift."""
    s = config.load()
    d = rules.get("drift") or {}
    th = DriftThresholds(psi=float(d.get("psi", s.drift_psi)), alpha=float(d.get("alpha", s.drift_alpha)),
                         min_shift=float(d.get("min_shift", s.drift_min_shift)),
                         cusum_k=float(d.get("cusum_k", DriftThresholds.cusum_k)),
                         cusum_h=float(d.get("cusum_h", DriftThresholds.cusum_h)),
                         min_points=int(d.get("min_points", DriftThresholds.min_points)))
    return th, int(d.get("window_days", s.drift_window_days)), int(d.get("reference_days", s.drift_reference_days))
