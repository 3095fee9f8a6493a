"""docker-compose.spark.yml, Dockerfile.spark and .ci/run: structure checks (Docker is not installed here)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MASTER = "spark://spark-master:7077"


def _pin(name: str) -> str:
    return re.search(rf"^{name}==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M).group(1)


def test_compose_has_a_master_two_workers_and_a_refresh_that_targets_them():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "docker-compose.spark.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"spark-master", "spark-worker-1", "spark-worker-2", "refresh"}
    assert services["spark-master"]["image"] == f"apache/spark:{_pin('pyspark')}"
    assert "org.apache.spark.deploy.master.Master" in services["spark-master"]["command"]
    for name in ("spark-worker-1", "spark-worker-2"):
        worker = services[name]
        assert worker["build"]["dockerfile"] == "Dockerfile.spark"
        assert worker["command"][-2:] == ["org.apache.spark.deploy.worker.Worker", MASTER]
    refresh = services["refresh"]["command"]
    assert refresh[:3] == ["python", "cli.py", "refresh"]
    assert refresh[refresh.index("--engine") + 1] == "spark" and refresh[refresh.index("--spark-master") + 1] == MASTER


def test_spark_image_matches_the_pyspark_pin_and_the_driver_python():
    """Driver and executors must run one Spark version and one Python minor version (PySpark refuses a mix)."""
    text = (ROOT / "Dockerfile.spark").read_text(encoding="utf-8")
    assert f"ARG SPARK_VERSION={_pin('pyspark')}" in text
    assert "FROM python:3.11-slim" in text and "FROM python:3.11-slim" in (ROOT / "Dockerfile").read_text()
    assert "openjdk-17-jre-headless" in text and "requirements-spark.txt" in text


def test_ci_installs_java_17_when_missing():
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "command -v java" in text and "apt-get install -y -qq openjdk-17-jre-headless" in text
