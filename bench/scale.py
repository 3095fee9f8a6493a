"""Scale benchmark: a synthetic daily data set of about N rows, imported, refreshed, effects, dashboard replayed.

    python bench/scale.py --rows 10000000 [--engine local|spark] [--spark-master URL] --json

Generates ``stores x products x days`` daily rows with the demo's structure (data/demo_spec.py: categories with
their weekly and yearly shapes, store sizes, regions, 3-7-day promotion runs at the demo's depths and lift, US
holidays, regional temperature, log-normal AR(1) noise) and writes them as one CSV in chunks of stores, so the
generator never holds the panel (10M rows: 183 stores x 150 products x 365 days, about 560 MB; a later run in the
same ``--dir`` with the same shape reuses the file). Then each step runs as the user
would run it, in its own process (so each step's memory is its own):

1. ``python cli.py ingest csv FILE --map ...`` (the importer's validation, aggregates and import log);
2. ``python cli.py refresh --json`` with the default models (``--engine spark``: the same refresh as a Spark job);
3. ``python cli.py effects --json``;
4. ``bench/dashboard.py --json`` (callback replay; its p95).

Peak RSS is the largest sum of the resident sets of the step's process and all its descendants (the process
pool's workers; for Spark the JVM and its Python workers), sampled every 0.2 s with psutil. Prints
``{"rows", "series", "import_s", "import_rows_per_s", "refresh_s", "refresh_peak_rss_mb", "effects_s",
"dashboard_p95_ms", "engine"}`` (``series``: store x product series; the refresh also models every aggregate
node) and two more refresh figures: ``refresh_peak_pss_mb`` (the largest sum of proportional set sizes, which
counts a page the processes share once, not once per process) and ``refresh_peak_driver_rss_mb`` (the refresh's
own process); ``--detail`` adds each step's summary.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import demo_spec as spec  # noqa: E402

MAP = ("date=Date,sales=Sales,store=Store,product=Product,category=Category,region=Region,promo=Promo,"
       "promo_intensity=Depth,price=Price,holiday=Holiday,temperature=Temperature")
STEPS = ("import", "refresh", "effects", "dashboard")
FIELDS = ["rows", "series", "import_s", "import_rows_per_s", "refresh_s", "refresh_peak_rss_mb", "effects_s",
          "dashboard_p95_ms", "engine"]


def shape(rows: int, days: int | None = None, products: int | None = None,
          stores: int | None = None) -> tuple[int, int, int]:
    """``(stores, products, days)`` with about ``rows`` rows: a year of 150 products, then as many stores as needed
    (small sizes shrink the year and the assortment first)."""
    days = days or min(365, max(100, rows // 20))
    products = products or min(150, max(2, rows // (days * 2)))
    stores = stores or max(1, round(rows / (days * products)))
    return stores, products, days


def _holidays(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Holiday name per date ("" for none) and its log effect (the demo's effects, US calendar)."""
    import holidays
    cal = holidays.country_holidays("US", years=range(dates[0].year, dates[-1].year + 1))
    names = np.array([cal.get(d, "") or "" for d in dates.date], dtype=object)
    names = np.array([n.split("; ")[0] for n in names], dtype=object)
    effect = np.array([math.log1p(spec.holiday_effect(n)) if n and n not in spec.CLOSED_HOLIDAYS else 0.0
                       for n in names])
    return names, effect


def generate(path: Path, stores: int, products: int, days: int, seed: int = 42, start: str = "2024-01-01") -> int:
    """Write the synthetic CSV (one chunk of rows per store); returns the number of rows written."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    day = (dates - pd.Timestamp("1970-01-01")).days.to_numpy().astype(float)
    cats = list(spec.CATEGORIES)
    regions = list(spec.REGIONS)
    cat_of = np.arange(products) % len(cats)
    weekly = np.stack([spec.weekly_log(c) for c in cats])[:, dates.day_of_week.to_numpy()]
    yearly = np.stack([spec.yearly_log(c, day) for c in cats])
    b_promo = np.array([math.log1p(spec.CATEGORIES[c]["lift"]) for c in cats])
    b_temp = np.array([math.log1p(spec.CATEGORIES[c]["temp"]) for c in cats])
    base = np.array([math.log(spec.CATEGORIES[c]["base"]) for c in cats])[cat_of] + rng.normal(0, 0.35, products)
    price0 = np.round(rng.uniform([spec.CATEGORIES[cats[k]]["price"][0] for k in cat_of],
                                  [spec.CATEGORIES[cats[k]]["price"][1] for k in cat_of]), 2)
    hol_name, hol_log = _holidays(dates)
    doy = dates.day_of_year.to_numpy()
    temps = {r: mean - amp * np.cos(2 * np.pi * (doy - 15) / 365.25) for r, (mean, amp, _) in spec.REGIONS.items()}
    width = max(2, len(str(stores)))
    product_ids = np.array([f"P{j + 1:03d}" for j in range(products)])
    n_written = 0
    phi = spec.NOISE_AR
    for i in range(stores):
        region = regions[i % len(regions)]
        size_log = spec.SIZE_ELASTICITY * math.log(rng.uniform(60_000, 200_000) / spec.SIZE_REF)
        temp = np.round(temps[region] + rng.normal(0, 2.0, days), 1)
        runs = rng.random((products, days)) < spec.PROMO_SHARE / 5  # run starts; runs last 3-7 days
        depth = np.zeros((products, days))
        for p, t in zip(*np.nonzero(runs)):
            depth[p, t:t + rng.integers(3, 8)] = rng.choice(spec.PROMO_DEPTHS)
        shocks = rng.normal(0, spec.NOISE_SD * math.sqrt(1 - phi ** 2), (products, days))
        noise = np.empty_like(shocks)
        noise[:, 0] = shocks[:, 0] / math.sqrt(1 - phi ** 2)
        for t in range(1, days):
            noise[:, t] = phi * noise[:, t - 1] + shocks[:, t]
        log_mu = (base[:, None] + size_log + rng.normal(0, spec.SERIES_LEVEL_SD, products)[:, None]
                  + weekly[cat_of] + yearly[cat_of] + hol_log[None, :]
                  + b_temp[cat_of][:, None] * (temp[None, :] - spec.TEMP_REF_C)
                  + b_promo[cat_of][:, None] * depth / spec.PROMO_REF_DEPTH)
        sales = np.round(np.exp(log_mu + noise), 2)
        chunk = pd.DataFrame({
            "Date": np.tile(dates.strftime("%Y-%m-%d").to_numpy(), products),
            "Store": str(i + 1).zfill(width), "Product": np.repeat(product_ids, days),
            "Category": np.repeat(np.array(cats, dtype=object)[cat_of], days), "Region": region,
            "Sales": sales.ravel(), "Promo": (depth > 0).astype(int).ravel(), "Depth": depth.ravel(),
            "Price": np.round(np.repeat(price0, days) * (1 - depth.ravel()), 2),
            "Holiday": np.tile(hol_name, products), "Temperature": np.tile(temp, products)})
        chunk.to_csv(path, mode="w" if i == 0 else "a", header=i == 0, index=False)
        n_written += len(chunk)
    return n_written


def _tree_memory(proc, with_pss: bool) -> dict[str, int]:
    """Resident bytes of ``proc`` and every descendant (0 for those that ended meanwhile): ``rss`` (their sum),
    ``driver_rss`` (``proc``'s own) and, ``with_pss``, ``pss`` (the sum of proportional set sizes)."""
    import psutil
    out = {"rss": 0, "driver_rss": 0, "pss": 0}
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return out
    for p in procs:
        try:
            rss = p.memory_info().rss
            out["rss"] += rss
            out["driver_rss"] += rss if p.pid == proc.pid else 0
            out["pss"] += p.memory_full_info().pss if with_pss else 0
        except (psutil.Error, AttributeError):  # ended meanwhile, or no PSS on this platform
            pass
    return out


PSS_EVERY_S = 1.0  # PSS reads each process's smaps: sampled less often than RSS


def run_step(cmd: list[str], env: dict) -> tuple[float, dict[str, int], str]:
    """Run one command; returns (wall seconds, peak memory of its process tree in bytes, stdout). Raises on failure.

    The peaks are ``rss`` (the largest sum of the tree's resident sets, sampled every 0.2 s), ``driver_rss`` (the
    command's own process) and ``pss`` (the largest sum of proportional set sizes, every second). The RSS sum
    counts each page the processes share (the pool workers' libraries, pages a fork has not copied) once per
    process; PSS divides a shared page among its sharers, so the PSS sum is the tree's real footprint.
    Each finished step is logged to stderr (seconds, peaks, load average), so a long run reports as it goes."""
    import resource

    import psutil
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        ps, peak, last_pss = psutil.Process(proc.pid), {"rss": 0, "driver_rss": 0, "pss": 0}, 0.0
        while proc.poll() is None:
            with_pss = time.perf_counter() - last_pss >= PSS_EVERY_S
            last_pss = time.perf_counter() if with_pss else last_pss
            peak = {k: max(v, peak[k]) for k, v in _tree_memory(ps, with_pss).items()}
            time.sleep(0.2)
        seconds = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:4])} failed (exit {proc.returncode}): {stderr.strip()[-2000:]}")
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # CPU of the step's reaped process tree: load-independent
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    print(f"scale: {' '.join(cmd[1:3])}: {seconds:.1f} s, {cpu:.1f} CPU s, peak RSS {peak['rss'] / 2**20:.0f} MB "
          f"(driver {peak['driver_rss'] / 2**20:.0f} MB, PSS {peak['pss'] / 2**20:.0f} MB), load "
          f"{os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    return seconds, peak, stdout


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 2)


def _mb(peak: dict | None, key: str = "rss") -> float | None:
    """A step's peak (:func:`run_step`) in MB, None for a step not run or without that figure (PSS off Linux)."""
    return round(peak[key] / 2**20, 1) if peak and peak.get(key) else None


def _json_tail(stdout: str) -> dict:
    """The JSON object a command printed (``--json``), ignoring any line before it."""
    start = stdout.find("{")
    return json.loads(stdout[start:]) if start >= 0 else {}


def run(rows: int, engine: str = "local", spark_master: str | None = None, workdir: Path | None = None,
        models: str | None = None, requests: int = 300, pages: str | None = None, jobs: int | None = None,
        days: int | None = None, products: int | None = None, stores: int | None = None,
        detail: bool = False, steps: tuple[str, ...] = STEPS) -> dict:
    """Generate, import, refresh, estimate effects and replay the dashboard; returns the benchmark's JSON.

    ``steps`` runs a subset (in the fixed order); without ``import`` the database an earlier run left in
    ``workdir`` is used as it is, and the fields of the steps not run are ``None``."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="sales-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    n_stores, n_products, n_days = shape(rows, days, products, stores)
    csv, made = workdir / "scale.csv", workdir / "scale.json"
    t0 = time.perf_counter()
    wanted = {"stores": n_stores, "products": n_products, "days": n_days}
    if csv.exists() and made.exists() and json.loads(made.read_text()).get("shape") == wanted:
        n_rows = json.loads(made.read_text())["rows"]  # the same data set from an earlier run in this --dir
    else:
        made.unlink(missing_ok=True)
        n_rows = generate(csv, n_stores, n_products, n_days)
        made.write_text(json.dumps({"shape": wanted, "rows": n_rows}))
    gen_s = time.perf_counter() - t0
    print(f"scale: generated {n_rows:,} rows ({n_stores} stores x {n_products} products x {n_days} days) in "
          f"{gen_s:.1f} s", file=sys.stderr, flush=True)
    db = workdir / "scale.db"
    if "import" in steps:
        for f in workdir.glob("scale.db*"):
            f.unlink()
    elif not db.exists():
        raise FileNotFoundError(f"{db} does not exist: run the import step first (--steps import,...)")
    env = {**os.environ, "SALES_DB": f"sqlite:///{db}", "SALES_MODELS_DIR": str(workdir / "models"),
           "SALES_CACHE_DIR": str(workdir / "cache"), "PYTHONPATH": str(ROOT),
           "SALES_MAX_UPLOAD_MB": str(max(500, math.ceil(csv.stat().st_size / 2**20) + 1))}  # 10M rows: ~560 MB
    py = sys.executable
    import_s = import_rss = refresh_s = refresh_rss = effects_s = effects_rss = None
    imported, refreshed, dashboard = {}, {}, {}
    if "import" in steps:
        import_s, import_rss, out = run_step([py, "cli.py", "ingest", "csv", str(csv), "--map", MAP, "--name",
                                              "scale", "--json"], env)
        imported = _json_tail(out)
    if "refresh" in steps:
        # --force: a database kept from an earlier run (--steps without import) has a current run of the same
        # data and parameters, which a plain refresh would skip rather than measure
        refresh = [py, "cli.py", "refresh", "--json", "--force", "--engine", engine]
        refresh += ["--spark-master", spark_master] if spark_master else []
        refresh += ["--models", models] if models else []
        refresh += ["--jobs", str(jobs)] if jobs else []
        refresh_s, refresh_rss, out = run_step(refresh, env)
        refreshed = _json_tail(out)
        if refreshed.get("status") != "success":
            raise RuntimeError(f"refresh did not succeed: {refreshed}")
    if "effects" in steps:
        effects_s, effects_rss, _ = run_step([py, "cli.py", "effects", "--json"], env)
    if "dashboard" in steps:
        dash_cmd = [py, "bench/dashboard.py", "--db", str(db), "--json", "--requests", str(requests)]
        dash_cmd += ["--pages", pages] if pages else []
        _, _, out = run_step(dash_cmd, env)
        dashboard = _json_tail(out)
    result = {"rows": n_rows, "series": n_stores * n_products, "import_s": _round(import_s),
              "import_rows_per_s": round(n_rows / import_s) if import_s else None, "refresh_s": _round(refresh_s),
              "refresh_peak_rss_mb": _mb(refresh_rss), "effects_s": _round(effects_s),
              "dashboard_p95_ms": dashboard.get("p95_ms"), "engine": engine,
              "refresh_peak_pss_mb": _mb(refresh_rss, "pss"),
              "refresh_peak_driver_rss_mb": _mb(refresh_rss, "driver_rss")}
    if detail:
        result["detail"] = {"stores": n_stores, "products": n_products, "days": n_days,
                            "generate_s": round(gen_s, 2), "import_peak_rss_mb": _mb(import_rss),
                            "effects_peak_rss_mb": _mb(effects_rss), "effects_peak_pss_mb": _mb(effects_rss, "pss"),
                            "steps": list(steps),
                            "import": {k: imported.get(k) for k in ("rows", "series", "seconds")},
                            "refresh": {k: refreshed.get(k) for k in ("n_series", "timings", "selected")},
                            "dashboard": {k: dashboard.get(k) for k in ("requests", "p50_ms", "p95_ms", "max_ms")},
                            "load_avg": os.getloadavg(), "workdir": str(workdir)}
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="about how many daily rows (default 10,000,000)")
    p.add_argument("--engine", choices=["local", "spark"], default="local", help="refresh engine (default local)")
    p.add_argument("--spark-master", default=None, help="Spark master (default SALES_SPARK_MASTER, else local[*])")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--dir", default=None, help="work directory for the CSV and the database (default: a temp dir)")
    p.add_argument("--models", default=None, help="refresh candidates (default: the refresh's default models)")
    p.add_argument("--jobs", type=int, default=None, help="refresh worker processes (default SALES_JOBS)")
    p.add_argument("--requests", type=int, default=300, help="dashboard callback requests to replay (default 300)")
    p.add_argument("--pages", default=None, help="dashboard pages to replay (default every page)")
    p.add_argument("--stores", type=int, default=None, help="override the shape: stores")
    p.add_argument("--products", type=int, default=None, help="override the shape: products per store")
    p.add_argument("--days", type=int, default=None, help="override the shape: days (default 365)")
    p.add_argument("--detail", action="store_true", help="add each step's details under \"detail\"")
    p.add_argument("--steps", default=",".join(STEPS),
                   help="comma-separated steps to run (default all: import,refresh,effects,dashboard); without "
                        "import, the database of an earlier run in --dir is reused")
    args = p.parse_args(argv)
    steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
    if not steps or set(steps) - set(STEPS):
        print(f"error: --steps takes a comma-separated subset of {','.join(STEPS)}, got {args.steps!r}",
              file=sys.stderr)
        return 2
    if args.rows < 100:
        print("error: --rows must be at least 100", file=sys.stderr)
        return 2
    result = run(args.rows, args.engine, args.spark_master, args.dir, args.models, args.requests, args.pages,
                 args.jobs, args.days, args.products, args.stores, args.detail, steps)
    if args.json:
        print(json.dumps(result))
    else:
        print(", ".join(f"{k} {result[k]}" for k in FIELDS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
