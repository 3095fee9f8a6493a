"""Typed settings read from SALES_* environment variables; the app runs with none of them set."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent

DEFAULT_SCHEDULE = "0 3 * * *"  # refresh at 03:00 every day (`cli.py schedule` and the Runs page)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(value: str | None, default: bool) -> bool:
    """Parse an env flag explicitly: "false" means False (unlike ``bool("false")``)."""
    if value is None:
        return default
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"cannot read {value!r} as a boolean; use true or false")


def parse_int(value: str | None, default: int, name: str) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not an integer") from None


def parse_positive_int(value: str | None, default: int, name: str) -> int:
    number = parse_int(value, default, name)
    if number < 1:
        raise ValueError(f"{name}={value!r} must be at least 1")
    return number


def parse_float(value: str | None, default: float, name: str, low: float | None = None,
                high: float | None = None, open_interval: bool = False) -> float:
    """A number from the environment within ``[low, high]`` (``(low, high)`` when ``open_interval``)."""
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None
    below = low is not None and (number <= low if open_interval else number < low)
    above = high is not None and (number >= high if open_interval else number > high)
    if below or above or number != number:
        brackets = "()" if open_interval else "[]"
        raise ValueError(f"{name}={value!r} must be in {brackets[0]}{low}, {high if high is not None else 'inf'}"
                         f"{brackets[1]}")
    return number


def parse_rate(value: str | None, default: float, name: str) -> float:
    """A share in [0, 1) from the environment (e.g. ``0.30``); unset or blank means ``default``."""
    number = parse_float(value, default, name, low=0.0, high=1.0)
    if number >= 1.0:
        raise ValueError(f"{name}={value!r} must be at least 0 and below 1")
    return number


def _inventory_policy(value: str | None) -> str:
    """SALES_INVENTORY_POLICY: ``periodic`` (R, S) or ``continuous`` (s, Q); unset or blank means periodic."""
    policy = (value or "periodic").strip().lower() or "periodic"
    if policy not in ("periodic", "continuous"):
        raise ValueError(f"SALES_INVENTORY_POLICY={value!r} must be periodic or continuous")
    return policy


def parse_cron(value: str | None, default: str) -> str:
    """A crontab expression from the environment: surrounding space removed, unset or blank means ``default``.

    Its fields are checked where it is used (the scheduler and the Runs page report a bad expression).
    """
    if value is None or not value.strip():
        return default
    return value.strip()


def database_url(value: str | None) -> str:
    """Turn ``SALES_DB``/``--db`` into a SQLAlchemy URL: a plain path means SQLite."""
    if not value:
        return f"sqlite:///{ROOT / 'data' / 'sales.db'}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def mlflow_uri(value: str | None) -> str:
    """``SALES_MLFLOW_URI``: a tracking server or store URI; unset or blank means ``data/mlflow.db`` (SQLite)."""
    if value is None or not value.strip():
        return f"sqlite:///{ROOT / 'data' / 'mlflow.db'}"
    return value.strip()


@dataclass(frozen=True)
class Settings:
    db_url: str
    host: str
    port: int
    debug: bool
    datasets_dir: Path
    max_upload_mb: int
    country: str
    jobs: int
    cache_dir: Path
    models_dir: Path
    schedule: str = DEFAULT_SCHEDULE
    upload_ttl_hours: int = 24
    # Inventory defaults where no store x product (or "*" grain) input sets them (data/inventory.py)
    inventory_lead_time_days: float = 7.0
    inventory_review_days: float = 7.0
    inventory_target_csl: float = 0.95
    inventory_holding_rate: float = 0.25
    default_margin_rate: float = 0.30  # gross margin share of the regular price where no unit cost is known
    inventory_unit_cost: float = 1.0  # unit cost and lost-sale cost where no inventory input sets them
    inventory_lost_sale_cost: float = 1.0
    inventory_policy: str = "periodic"  # periodic (R, S) | continuous (s, Q)
    secure_cookies: bool = False  # session cookie marked Secure even without X-Forwarded-Proto: https (auth/web.py)
    session_hours: int = 12  # a dashboard login lasts this long
    # Production server (`serve --prod`): gunicorn workers, the shared callback cache, the trusted proxies
    workers: int = 2
    cache_redis_url: str | None = None  # Redis callback cache (needs the `redis` package); else the filesystem
    cache_namespace: str = ""  # set by `serve --prod` for its workers: the shared cache's folder of this start
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-Proto/-For are believed (HSTS, client IP)
    spark_master: str = "local[*]"  # `refresh --engine spark` without --spark-master (e.g. spark://host:7077)
    # Largest series group one global model (lgbm, ...) of a refresh is trained on, in history rows (jobs/tasks.py)
    global_group_rows: int = 250_000
    # MLflow tracking of every published refresh (jobs/tracking.py): on by default, a local SQLite store under data/
    mlflow: bool = True
    mlflow_uri: str = ""
    report_browser: str | None = None  # Chromium/Chrome that prints reports to PDF; None: found on the PATH
    # Monitoring (monitoring/): the alert rules file and the drift thresholds (the rules file's "drift" overrides)
    alerts_file: Path = ROOT / "data" / "alerts.json"
    drift_psi: float = 0.25
    drift_alpha: float = 0.001
    drift_min_shift: float = 0.10
    drift_window_days: int = 14
    drift_reference_days: int = 182
    smtp_user: str | None = None  # login for the alert e-mails (the server is named in the rules file)
    smtp_password: str | None = None

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_request_bytes(self) -> int:
        """Flask's ``MAX_CONTENT_LENGTH``: an upload reaches the server base64-encoded inside the callback's JSON,
        4 bytes for every 3 of the file, so the limit is the file limit times 4/3 plus 1 MB for the rest."""
        return -(-self.max_upload_bytes * 4 // 3) + 1024 * 1024


def load() -> Settings:
    """Build the settings from the environment (called where needed, never at import)."""
    env = os.environ
    datasets = env.get("SALES_DATASETS") or str(ROOT.parent / "shared" / "datasets")
    return Settings(
        db_url=database_url(env.get("SALES_DB")),
        host=env.get("SALES_HOST", "127.0.0.1"),
        port=parse_int(env.get("SALES_PORT"), 8050, "SALES_PORT"),
        debug=parse_bool(env.get("SALES_DEBUG"), False),
        datasets_dir=Path(datasets),
        max_upload_mb=parse_int(env.get("SALES_MAX_UPLOAD_MB"), 500, "SALES_MAX_UPLOAD_MB"),
        country=env.get("SALES_COUNTRY", "US"),
        jobs=parse_int(env.get("SALES_JOBS"), max(1, (os.cpu_count() or 1)), "SALES_JOBS"),
        cache_dir=Path(env.get("SALES_CACHE_DIR") or ROOT / "data" / "cache"),
        models_dir=Path(env.get("SALES_MODELS_DIR") or ROOT / "data" / "models"),
        schedule=parse_cron(env.get("SALES_SCHEDULE"), DEFAULT_SCHEDULE),
        upload_ttl_hours=parse_positive_int(env.get("SALES_UPLOAD_TTL_HOURS"), 24, "SALES_UPLOAD_TTL_HOURS"),
        inventory_lead_time_days=parse_float(env.get("SALES_INVENTORY_LEAD_TIME_DAYS"), 7.0,
                                             "SALES_INVENTORY_LEAD_TIME_DAYS", low=0),
        inventory_review_days=parse_float(env.get("SALES_INVENTORY_REVIEW_DAYS"), 7.0, "SALES_INVENTORY_REVIEW_DAYS",
                                          low=0, open_interval=True),
        inventory_target_csl=parse_float(env.get("SALES_INVENTORY_TARGET_CSL"), 0.95, "SALES_INVENTORY_TARGET_CSL",
                                         low=0, high=1, open_interval=True),
        inventory_holding_rate=parse_float(env.get("SALES_INVENTORY_HOLDING_RATE"), 0.25,
                                           "SALES_INVENTORY_HOLDING_RATE", low=0),
        default_margin_rate=parse_rate(env.get("SALES_DEFAULT_MARGIN_RATE"), 0.30, "SALES_DEFAULT_MARGIN_RATE"),
        inventory_unit_cost=parse_float(env.get("SALES_INVENTORY_UNIT_COST"), 1.0, "SALES_INVENTORY_UNIT_COST", low=0),
        inventory_lost_sale_cost=parse_float(env.get("SALES_INVENTORY_LOST_SALE_COST"), 1.0,
                                             "SALES_INVENTORY_LOST_SALE_COST", low=0),
        inventory_policy=_inventory_policy(env.get("SALES_INVENTORY_POLICY")),
        secure_cookies=parse_bool(env.get("SALES_SECURE_COOKIES"), False),
        session_hours=parse_positive_int(env.get("SALES_SESSION_HOURS"), 12, "SALES_SESSION_HOURS"),
        workers=parse_positive_int(env.get("SALES_WORKERS"), 2, "SALES_WORKERS"),
        cache_redis_url=(env.get("SALES_CACHE_REDIS_URL") or "").strip() or None,
        cache_namespace=(env.get("SALES_CACHE_NAMESPACE") or "").strip(),
        forwarded_allow_ips=(env.get("SALES_FORWARDED_ALLOW_IPS") or "").strip() or "127.0.0.1",
        spark_master=(env.get("SALES_SPARK_MASTER") or "").strip() or "local[*]",
        global_group_rows=parse_positive_int(env.get("SALES_GLOBAL_GROUP_ROWS"), 250_000, "SALES_GLOBAL_GROUP_ROWS"),
        mlflow=parse_bool(env.get("SALES_MLFLOW"), True),
        mlflow_uri=mlflow_uri(env.get("SALES_MLFLOW_URI")),
        report_browser=(env.get("SALES_REPORT_BROWSER") or "").strip() or None,
        alerts_file=Path(env.get("SALES_ALERTS_FILE") or ROOT / "data" / "alerts.json"),
        drift_psi=parse_float(env.get("SALES_DRIFT_PSI"), 0.25, "SALES_DRIFT_PSI", low=0),
        drift_alpha=parse_float(env.get("SALES_DRIFT_ALPHA"), 0.001, "SALES_DRIFT_ALPHA", low=0, high=1,
                                open_interval=True),
        drift_min_shift=parse_float(env.get("SALES_DRIFT_MIN_SHIFT"), 0.10, "SALES_DRIFT_MIN_SHIFT", low=0),
        drift_window_days=parse_positive_int(env.get("SALES_DRIFT_WINDOW_DAYS"), 14, "SALES_DRIFT_WINDOW_DAYS"),
        drift_reference_days=parse_positive_int(env.get("SALES_DRIFT_REFERENCE_DAYS"), 182,
                                                "SALES_DRIFT_REFERENCE_DAYS"),
        smtp_user=(env.get("SALES_SMTP_USER") or "").strip() or None,
        smtp_password=env.get("SALES_SMTP_PASSWORD") or None,
    )
