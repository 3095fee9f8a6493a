"""The Spark engine of a refresh (``refresh --engine spark``): the same task list, mapped by Spark.

The refresh's model map is a list of pure tasks (:mod:`jobs.tasks`: batches of local series and the folds and
final fit of each global model); :func:`map_tasks` runs ``run_task`` over them as one Spark job::

    sc.parallelize(list(enumerate(tasks)), len(tasks)).map(run).toLocalIterator()

one partition per task (frames that several tasks share, a global model's group, are broadcast once), results
streamed back in task order, so the runner selects, reconciles, writes and
publishes them exactly as it does the process pool's. pyspark is imported inside the functions: the rest of the
project runs without it (``requirements-spark.txt``, Java 17).

Why an RDD of tasks and not ``groupBy(series).applyInPandas``: the global models (LightGBM over every series)
need the whole group in one call, the local models' batches already amortize per-call overhead, and a result is
several frames plus fitted models, which a pandas UDF would have to flatten into one schema and pickle into a
binary column anyway (README "Scale out" has the measurements).
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterable

import config
from jobs.spill import FRAME_FIELDS, resolve

ROOT = Path(__file__).resolve().parents[1]
DRIVER_MEMORY = "4g"  # JVM heap of a driver started here (spark-submit sets its own with --driver-memory)
INSTALL_HINT = ("the Spark engine needs PySpark and Java 17: pip install -r requirements-spark.txt -c constraints.txt "
                "and install Java 17 (Debian: apt-get install openjdk-17-jre-headless), or use --engine local")


def master_url(master: str | None = None) -> str:
    """The Spark master: ``master``, else ``SALES_SPARK_MASTER``, else ``local[*]``."""
    return (master or "").strip() or config.load().spark_master


def require_spark() -> None:
    """Raise ``ValueError`` naming requirements-spark.txt and Java 17 when pyspark or java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ValueError(f"pyspark is not installed; {INSTALL_HINT}") from None
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        raise ValueError(f"no java on PATH (nor in JAVA_HOME); {INSTALL_HINT}")


def _environment(master: str) -> None:
    """Workers run this interpreter with the project importable; a local master binds to the loopback."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(ROOT) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *paths])


def session(master: str | None = None, app_name: str = "sales-refresh"):
    """The active SparkSession, or a new one on ``master``; returns ``(spark, created)``.

    A session already running (a test's, a notebook's) is reused and left running; one made here is the
    caller's to stop. Under ``spark-submit`` without ``--spark-master``, the submit's ``--master`` is used.
    """
    require_spark()
    from pyspark.sql import SparkSession
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    submitted = not master and os.environ.get("PYSPARK_GATEWAY_PORT")  # under spark-submit: its --master wins
    url = os.environ.get("MASTER", "") if submitted else master_url(master)
    _environment(url)
    builder = SparkSession.builder if submitted else SparkSession.builder.master(url)
    if not submitted:  # every task's frames pass through the driver's JVM heap (Spark's default 1 GB is too small)
        builder = builder.config("spark.driver.memory", DRIVER_MEMORY)
    spark = (builder.appName(app_name)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")  # the refresh has its own progress bar
             .config("spark.driver.maxResultSize", "0")           # results stream back per task; no cap
             .config("spark.python.worker.reuse", "true")
             .config("spark.executorEnv.PYTHONPATH", str(ROOT))
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    if not spark.sparkContext.master.startswith("local"):
        spark.sparkContext.addPyFile(str(_project_zip()))
    return spark, True


def _project_zip() -> Path:
    """The project's packages as one zip for a remote cluster's executors (``addPyFile``)."""
    import tempfile
    import zipfile
    out = Path(tempfile.mkdtemp(prefix="sales-spark-")) / "sales_project.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for pkg in ("analytics", "data", "decisions", "jobs", "models"):
            for f in (ROOT / pkg).rglob("*.py"):
                z.write(f, f.relative_to(ROOT))
        for f in ("config.py", "domain.py"):
            z.write(ROOT / f, f)
    return out


def parallelism(master: str | None = None) -> int:
    """Task slots of the cluster (``defaultParallelism``): the refresh sizes its local batches for them."""
    spark, _ = session(master)
    return max(1, int(spark.sparkContext.defaultParallelism))


def _share_frames(tasks: list) -> tuple[list, dict]:
    """Tasks with every frame that several of them carry replaced by a key, and ``{key: frame}`` to broadcast.

    A global model's backtest folds and final fit are separate tasks over the same group's frames: sent inside
    each task, the bottom panel would cross the driver's JVM once per task; broadcast, it crosses once.
    """
    uses: dict[int, int] = {}
    for task in tasks:
        for name in FRAME_FIELDS:
            frame = getattr(task, name, None)
            if frame is not None:
                uses[id(frame)] = uses.get(id(frame), 0) + 1
    shared: dict[int, object] = {}
    slim = []
    for task in tasks:
        refs = {}
        for name in FRAME_FIELDS:
            frame = getattr(task, name, None)
            if frame is not None and uses[id(frame)] > 1:
                shared[id(frame)] = frame
                refs[name] = id(frame)
        slim.append((dataclasses.replace(task, **{n: None for n in refs}), refs))
    return slim, shared


def _runner(shared):
    """The worker-side function: one BLAS thread (Spark already runs one task per core), the broadcast frames
    put back into the task, then the task; the task's index is kept for ordering."""
    def run(item):
        from jobs.executor import _init_worker, run_task
        _init_worker()
        index, (task, refs) = item
        if refs:
            task = dataclasses.replace(task, **{name: shared.value[key] for name, key in refs.items()})
        return index, run_task(task)
    return run


def map_tasks(tasks: Iterable, master: str | None = None, on_result: Callable | None = None,
              stop: bool = False) -> list:
    """``run_task`` over every task as one Spark job; results in the order of ``tasks``.

    Parameters
    ----------
    tasks : iterable
        :class:`jobs.executor.SeriesTask` and :class:`jobs.executor.GlobalTask` objects (picklable).
    master : str, optional
        Spark master URL (default ``SALES_SPARK_MASTER``, else ``local[*]``); ignored when a session is active.
    on_result : callable, optional
        Called with each result as it reaches the driver (progress reporting).
    stop : bool
        Stop the session afterwards (default: keep it for the next job of this process; it ends with the
        process).

    Returns
    -------
    list
        One :class:`jobs.executor.SeriesResult` per task, in task order.
    """
    cache: dict = {}  # frames the driver wrote to its disk are read here: executors may run on other machines
    tasks = [resolve(task, cache) for task in tasks]
    del cache
    spark, _ = session(master)
    try:
        if not tasks:
            return []
        sc = spark.sparkContext
        slim, frames = _share_frames(tasks)
        shared = sc.broadcast(frames)
        rdd = sc.parallelize(list(enumerate(slim)), len(tasks)).map(_runner(shared))
        results: list = [None] * len(tasks)
        for index, res in rdd.toLocalIterator(prefetchPartitions=True):
            results[index] = res
            if on_result:
                on_result(res)
        shared.unpersist()
        return results
    finally:
        if stop:
            spark.stop()
