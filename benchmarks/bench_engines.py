"""The DuckDB engine (a log that stays in Parquet) against hand-written SQL, NumPy and Spark.

Usage::

    python benchmarks/bench_engines.py [--rows 10000000] [--customers 1000000] [--repeat N]
                                       [--data-dir /tmp/retention-bench-engines] [--seed 0]
                                       [--scenarios 10m,100m,spark] [--methods engine,sql,numpy]
                                       [--memory-cap-gb 20] [--profile]

The synthetic log of ``bench_cohorts.make_transactions`` (integer ids, 2021-2023, lognormal
amounts, 3 % refunds), cut to whole days as in ``bench_loader``, is written once into
``--data-dir`` (reused when present) in parts of at most 10M rows: part ``i`` holds its own
customers (ids offset so that parts never share one) and is generated and written on its own,
so that generation fits in memory at any size. One part (``--rows``) is exactly
``bench_loader``'s ``tx.parquet``.

Every run is a fresh interpreter timed from the parent: wall seconds of the whole process
(start-up, imports, read, validation, computation; the pickling of the result for the checks
excluded), peak resident memory of the process (``ru_maxrss`` just before that pickling; GNU
time's figure when the process failed) and CPU seconds (user + system, all threads). Scenarios:

* ``10m``: ``--rows`` transactions (``--customers`` customers), one Parquet file;
  ``rt.load_transactions(path, engine="duckdb", ...)`` followed by
  ``rt.retention_matrix(tx, "M")`` or ``rt.rfm_summary(tx, "D", time_unit="W")`` against the
  hand-written DuckDB SQL of ``bench_loader`` (``bench_cohorts.DUCKDB_SQL`` and its pivot,
  ``bench_loader.DUCKDB_RFM_SQL``) over ``read_parquet`` of the same file, fetched to pandas.
  ``--repeat`` runs each (default 3), medians, ratios; target at most 1.2x in time and memory.
* ``100m``: ten times ``--rows`` and ``--customers``, a folder of Parquet parts; the same four
  runs once each (target: the engine under 4 GB), and the NumPy engine on the same data
  (``pd.read_parquet`` + ``rt.load_transactions(DataFrame)`` + the matrix), run under an
  address-space cap of ``--memory-cap-gb`` so that it fails instead of exhausting the machine.
* ``spark``: the ``10m`` file on local Spark (``local[2]``, session time zone UTC, driver
  memory 2g, the other settings Spark's defaults) through
  ``ibis.pyspark.connect``: ``con.read_parquet`` then ``rt.load_transactions(table)`` and the
  two calls, once each, with a DuckDB engine run for the ratio and the check unless ``10m``
  ran; peak memory and CPU seconds are the Python process's plus the JVM's.

All DuckDB runs leave DuckDB's settings at their defaults (one thread per core). The tables of
each scenario are checked equal: matrices identically (the SQL pivot's empty observable cells
counted as 0), RFM summaries to 1e-9 relative. ``--profile`` runs the engine once more per
table in a process that times every query the package issues (compilation and execution) and
prints them with the function that issued them.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cohorts import make_transactions  # noqa: E402
from bench_loader import fill_observed, run_duckdb_sql, same_matrix, same_rfm  # noqa: E402

SCENARIOS = ("10m", "100m", "spark")
TABLES = ("matrix", "rfm")
PART_ROWS = 10_000_000  # rows per Parquet part: what one generation holds in memory
LARGE = 10  # the 100m scenario is this many times --rows and --customers
TIME = Path("/usr/bin/time")  # GNU time: the peak RSS of a run that failed
COLUMNS = {"customer": "customer_id", "date": "order_date", "amount": "revenue"}


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def data_folder(data_dir: Path, rows: int, customers: int, seed: int) -> Path:
    return data_dir / f"rows{rows}_customers{customers}_seed{seed}"


def write_parts(folder: Path, rows: int, customers: int, seed: int) -> None:
    """Write the log as Parquet parts of at most ``PART_ROWS`` rows (skipped when present).

    Part ``i`` is ``make_transactions`` with seed ``seed + i`` on its share of the rows and
    customers, ids offset by the customers of the parts before it, cut to whole days with the
    last row on 2023-12-31 (the last month complete), as ``bench_loader`` writes it.
    """
    stamp = folder.with_suffix(".ok")  # beside the folder: it holds Parquet files only
    if stamp.exists():
        return
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    n_parts = max(1, math.ceil(rows / PART_ROWS))
    row_cuts = np.linspace(0, rows, n_parts + 1).astype(np.int64)
    customer_cuts = np.linspace(0, customers, n_parts + 1).astype(np.int64)
    for i in range(n_parts):
        n_rows = int(row_cuts[i + 1] - row_cuts[i])
        n_customers = int(customer_cuts[i + 1] - customer_cuts[i])
        print(f"  part {i + 1}/{n_parts}: {n_rows:,} rows, {n_customers:,} customers",
              flush=True)
        tx = make_transactions(n_rows, n_customers, seed + i, "dense")
        days = tx["order_date"].to_numpy().astype("datetime64[D]")
        days[-1] = np.datetime64("2023-12-31")
        table = pa.table({
            "customer_id": pa.array(tx["customer_id"].to_numpy() + int(customer_cuts[i])),
            "order_date": pa.array(days.astype("datetime64[us]")),
            "revenue": pa.array(tx["revenue"].to_numpy()),
        })
        del tx, days
        pq.write_table(table, folder / f"part-{i:03d}.parquet")
        del table
    stamp.touch()


def ensure_data(args: argparse.Namespace, rows: int, customers: int) -> Path:
    """The folder of the log, generated in a child process the first time."""
    folder = data_folder(args.data_dir, rows, customers, args.seed)
    if not folder.with_suffix(".ok").exists():
        print(f"writing {rows:,} transactions into {folder} ...", flush=True)
        start = time.perf_counter()
        command = [sys.executable, __file__, "--worker", "generate", "--rows", str(rows),
                   "--customers", str(customers), "--seed", str(args.seed),
                   "--data-dir", str(args.data_dir)]
        subprocess.run(command, check=True, env=child_env())
        print(f"  written in {time.perf_counter() - start:.0f} s", flush=True)
    return folder


def parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


# --------------------------------------------------------------------------------------------
# methods (run inside the worker process)
# --------------------------------------------------------------------------------------------


def compute(tx, table: str, phases: dict[str, float]):
    """The monthly retention matrix or the daily RFM summary (weeks) of a loaded log, timed."""
    import retention as rt

    start = time.perf_counter()
    if table == "matrix":
        result = rt.retention_matrix(tx, "M")
    else:
        result = rt.rfm_summary(tx, "D", time_unit="W")
    phases["compute"] = time.perf_counter() - start
    return result


def run_engine(source: str, table: str, phases: dict[str, float]):
    """``rt.load_transactions(source, engine="duckdb")`` and the table, in DuckDB."""
    import retention as rt

    start = time.perf_counter()
    tx = rt.load_transactions(source, engine="duckdb", **COLUMNS)
    phases["load"] = time.perf_counter() - start
    return compute(tx, table, phases)


def run_sql(source: str, table: str, phases: dict[str, float]):
    """``bench_loader``'s hand-written DuckDB SQL over ``read_parquet(source)``."""
    start = time.perf_counter()
    result = run_duckdb_sql(source, table, "parquet")
    phases["compute"] = time.perf_counter() - start
    return result


def run_numpy(source: str, table: str, phases: dict[str, float]):
    """The NumPy engine: the Parquet read into pandas, loaded and computed in memory."""
    import pandas as pd

    import retention as rt

    start = time.perf_counter()
    frame = pd.read_parquet(source)
    phases["read"] = time.perf_counter() - start
    start = time.perf_counter()
    tx = rt.load_transactions(frame, **COLUMNS)
    del frame
    phases["load"] = time.perf_counter() - start
    return compute(tx, table, phases)


def spark_session():
    """A local Spark session (2 cores, UTC, no UI), its logs quiet."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("bench_engines")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def jvm_usage(session) -> dict[str, float]:
    """The JVM's peak resident memory (VmHWM, MiB) and CPU seconds, read while it runs."""
    try:
        pid = session.sparkContext._gateway.proc.pid
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        peak = next(int(ln.split()[1]) for ln in status if ln.startswith("VmHWM:"))
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        return {"jvm_mib": peak / 1024, "jvm_cpu": ticks / os.sysconf("SC_CLK_TCK")}
    except (AttributeError, OSError, ValueError, StopIteration):
        return {}


def run_spark(source: str, table: str, phases: dict[str, float]):
    """``con.read_parquet`` on local Spark, then ``rt.load_transactions(table)`` and the table."""
    import ibis

    import retention as rt

    start = time.perf_counter()
    session = spark_session()
    con = ibis.pyspark.connect(session)
    phases["start"] = time.perf_counter() - start
    try:
        start = time.perf_counter()
        tx = rt.load_transactions(con.read_parquet(source), **COLUMNS)
        phases["load"] = time.perf_counter() - start
        result = compute(tx, table, phases)
        phases.update(jvm_usage(session))
    finally:
        session.stop()
    return result


METHODS = {"engine": run_engine, "sql": run_sql, "numpy": run_numpy, "spark": run_spark}
LABELS = {"engine": "DuckDB engine", "sql": "DuckDB SQL", "numpy": "NumPy engine",
          "spark": "Spark engine"}


def worker(args: argparse.Namespace) -> None:
    """One measured process: compute one table from ``--source``, report back."""
    if args.worker == "generate":
        write_parts(data_folder(args.data_dir, args.rows, args.customers, args.seed),
                    args.rows, args.customers, args.seed)
        return
    if args.worker == "profile":
        profile(args.source, args.table)
        return
    phases: dict[str, float] = {}
    result = METHODS[args.worker](args.source, args.table, phases)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before pickling
    start = time.perf_counter()
    with open(args.out, "wb") as fh:
        pickle.dump({"result": result if args.keep else None, "phases": phases,
                     "rss_kib": rss_kib}, fh)
    dump_s = time.perf_counter() - start
    with open(args.out, "ab") as fh:
        pickle.dump(dump_s, fh)


# --------------------------------------------------------------------------------------------
# profile: every query of one engine run, with its cost and the function that issued it
# --------------------------------------------------------------------------------------------


def profile(source: str, table: str) -> None:
    """Run the DuckDB engine once, timing each compilation and query of the Ibis backend."""
    import traceback

    from ibis.backends.duckdb import Backend

    root = str(Path(__file__).resolve().parents[1] / "retention")
    calls: list[dict] = []

    def caller() -> str:
        frames = [f for f in traceback.extract_stack() if f.filename.startswith(root)]
        helpers = [f.name for f in frames if f.name in ("_fetch", "_examples")]
        frames = [f for f in frames if f.name not in ("_fetch", "_examples", "__len__")]
        if not frames:
            return "?"
        f = frames[-1]
        via = f" ({helpers[-1]})" if helpers else ""
        return f"{Path(f.filename).stem}.{f.name}:{f.lineno}{via}"

    def timed(name, method):
        def wrapper(self, *a, **kw):
            start = time.perf_counter()
            compiled = self._compile_s
            out = method(self, *a, **kw)
            seconds = time.perf_counter() - start
            if name == "to_pyarrow_batches":  # the query runs as the batches are read
                out = out.read_all()
                seconds = time.perf_counter() - start
            rows = getattr(out, "num_rows", None)  # a pyarrow table
            if rows is None and hasattr(out, "shape"):  # a DataFrame, Series or scalar
                rows = out.shape[0] if out.shape else 1
            calls.append({"call": name, "where": caller(), "s": seconds, "rows": rows,
                          "compile": self._compile_s - compiled})
            return out
        return wrapper

    original_compile = Backend.compile

    def compile_(self, *a, **kw):
        start = time.perf_counter()
        out = original_compile(self, *a, **kw)
        self._compile_s += time.perf_counter() - start
        return out

    Backend._compile_s = 0.0
    Backend.compile = compile_
    for name in ("execute", "to_pyarrow", "create_table"):
        setattr(Backend, name, timed(name, getattr(Backend, name)))

    phases: dict[str, float] = {}
    start = time.perf_counter()
    run_engine(source, table, phases)
    total = time.perf_counter() - start
    print(f"\n-- profile: DuckDB engine, {table} (load {phases['load']:.2f} s, "
          f"{table} {phases['compute']:.2f} s, total {total:.2f} s in {len(calls)} queries)")
    print(f"{'#':>3} {'s':>7} {'compile':>8} {'rows out':>10}  {'call':<13} issued by")
    for i, c in enumerate(calls, 1):
        rows = "-" if c["rows"] is None else f"{c['rows']:,}"
        print(f"{i:>3} {c['s']:>7.3f} {c['compile']:>8.3f} {rows:>10}  {c['call']:<13} "
              f"{c['where']}")
    queried = sum(c["s"] for c in calls)
    print(f"    {queried:.2f} s in queries ({sum(c['compile'] for c in calls):.2f} s compiling), "
          f"{total - queried:.2f} s in Python around them")


# --------------------------------------------------------------------------------------------
# parent: runs, checks, tables
# --------------------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_process(method: str, table: str, source: str, out: Path, keep: bool,
                cap_gb: float | None = None) -> dict:
    """One fresh interpreter: wall seconds (result pickling excluded), peak RSS MiB, CPU s.

    With ``cap_gb`` the child's address space is limited (``RLIMIT_AS``), so that running out
    of memory ends it with an error rather than the machine's OOM killer.
    """
    command = [sys.executable, __file__, "--worker", method, "--table", table,
               "--source", source, "--out", str(out)] + (["--keep"] if keep else [])
    rss_file = out.with_suffix(".rss")
    rss_file.unlink(missing_ok=True)
    out.unlink(missing_ok=True)
    if TIME.exists():
        command = [str(TIME), "-f", "%M", "-o", str(rss_file)] + command

    def limit() -> None:
        if cap_gb is not None:
            cap = int(cap_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    err_file = out.with_suffix(".err")
    start = time.perf_counter()
    with open(err_file, "wb") as err:
        process = subprocess.Popen(command, env=child_env(), stderr=err, preexec_fn=limit)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    time_kib = None
    if rss_file.exists():
        numbers = [w for w in rss_file.read_text().split() if w.isdigit()]
        time_kib = int(numbers[-1]) if numbers else None
    if code != 0 or not out.exists():
        lines = err_file.read_bytes().decode(errors="replace").strip().splitlines()
        why = next((ln for ln in reversed(lines) if "Error" in ln or "Killed" in ln),
                   lines[-1] if lines else f"exit code {code}")
        if rss_file.exists() and "signal" in rss_file.read_text():
            why = rss_file.read_text().splitlines()[0] + "; " + why
        return {"failed": f"exit code {code}: {why.strip()}", "seconds": wall, "cpu": cpu,
                "rss": (time_kib or usage.ru_maxrss) / 1024, "phases": {}, "result": None}
    with open(out, "rb") as fh:
        report = pickle.load(fh)
        dump_s = pickle.load(fh)
    phases = report["phases"]
    rss = report["rss_kib"] / 1024 + phases.get("jvm_mib", 0.0)
    cpu += phases.get("jvm_cpu", 0.0)  # the JVM is not a reaped child of the run
    return {"failed": None, "seconds": wall - dump_s, "cpu": cpu, "rss": rss,
            "phases": phases, "result": report["result"]}


def measure(method: str, table: str, source: str, tmp: Path, repeat: int,
            cap_gb: float | None = None) -> dict:
    """``repeat`` runs; medians of seconds, RSS and phases; the first run's result kept."""
    runs = []
    for i in range(repeat):
        run = run_process(method, table, source, tmp / f"{method}_{table}.pkl", i == 0, cap_gb)
        runs.append(run)
        if run["failed"]:
            break
    ok = [r for r in runs if not r["failed"]]
    if not ok:
        return {**runs[0], "runs": [runs[0]["seconds"]], "median": runs[0]["seconds"]}
    phase_names = ok[0]["phases"].keys()
    return {
        "failed": None,
        "runs": [r["seconds"] for r in ok],
        "median": statistics.median(r["seconds"] for r in ok),
        "rss": statistics.median(r["rss"] for r in ok),
        "cpu": statistics.median(r["cpu"] for r in ok),
        "phases": {k: statistics.median(r["phases"][k] for r in ok) for k in phase_names},
        "result": ok[0]["result"],
    }


HEADER = (f"{'table':<8}{'method':<16}{'median s':>10}{'runs s':>20}{'time ratio':>12}"
          f"{'peak RSS MiB':>14}{'mem ratio':>11}{'CPU s':>8}  phases s")


def print_row(table: str, method: str, s: dict, reference: dict | None) -> None:
    if s["failed"]:
        print(f"{table:<8}{LABELS[method]:<16}{'failed':>10}{s['seconds']:>20.1f}{'-':>12}"
              f"{s['rss']:>14.0f}{'-':>11}{s['cpu']:>8.1f}  {s['failed']}", flush=True)
        return
    ratio = mem = "-"
    if reference is not None and not reference["failed"]:
        ratio = f"{s['median'] / reference['median']:.2f}"
        mem = f"{s['rss'] / reference['rss']:.2f}"
    runs = " ".join(f"{t:.2f}" for t in s["runs"])
    named = {k: v for k, v in s["phases"].items() if not k.startswith("jvm_")}
    rest = s["median"] - sum(named.values())
    phases = ", ".join([f"{k} {v:.2f}" for k, v in named.items()]
                       + [f"start-up/imports/exit {rest:.2f}"])
    if "jvm_mib" in s["phases"]:
        phases += f" (JVM {s['phases']['jvm_mib']:.0f} MiB, {s['phases']['jvm_cpu']:.1f} CPU s)"
    print(f"{table:<8}{LABELS[method]:<16}{s['median']:>10.2f}{runs:>20}{ratio:>12}"
          f"{s['rss']:>14.0f}{mem:>11}{s['cpu']:>8.1f}  {phases}", flush=True)


def check(table: str, ours: dict, other: dict, name: str) -> None:
    if ours["result"] is None or other["result"] is None:
        return
    if table == "matrix":
        theirs = other["result"]
        if name == "DuckDB SQL":
            theirs = fill_observed(theirs)
        verdict = same_matrix(ours["result"], theirs)
    else:
        verdict = same_rfm(ours["result"], other["result"])
    flag = "" if verdict in ("identical", "equal") else "  <-- MISMATCH"
    print(f"  {table}: DuckDB engine vs {name}: {verdict}{flag}", flush=True)


def scenario_10m(args, source: str, tmp: Path, repeat: int, store: dict) -> None:
    print(f"\n== 10m: {args.rows:,} transactions, {args.customers:,} customers, {source} "
          f"({Path(source).stat().st_size / 2**20:,.0f} MiB); median of {repeat}")
    print(HEADER)
    for table in TABLES:
        got = {m: measure(m, table, source, tmp, repeat) for m in ("sql", "engine")
               if m in args.methods}
        for method in ("engine", "sql"):
            if method in got:
                print_row(table, method, got[method], got.get("sql"))
        if len(got) == 2:
            check(table, got["engine"], got["sql"], "DuckDB SQL")
        store[table] = got


def scenario_100m(args, folder: Path, tmp: Path, repeat: int, cap_gb: float) -> None:
    files = parts(folder)
    size = sum(f.stat().st_size for f in files) / 2**20
    rows, customers = LARGE * args.rows, LARGE * args.customers
    print(f"\n== 100m: {rows:,} transactions, {customers:,} customers, {len(files)} files in "
          f"{folder} ({size:,.0f} MiB); {repeat} run(s) each; NumPy capped at {cap_gb:g} GB "
          "of address space")
    print(HEADER)
    glob = str(folder / "*.parquet")
    for table in TABLES:
        got = {}
        if "engine" in args.methods:
            got["engine"] = measure("engine", table, str(folder), tmp, repeat)
        if "sql" in args.methods:
            got["sql"] = measure("sql", table, glob, tmp, repeat)
        if table == "matrix" and "numpy" in args.methods:
            got["numpy"] = measure("numpy", table, str(folder), tmp, 1, cap_gb)
        for method, s in got.items():
            print_row(table, method, s, got.get("sql") if method != "sql" else None)
        engine = got.get("engine")
        if engine is not None:
            verdict = "under" if not engine["failed"] and engine["rss"] < 4096 else "NOT under"
            print(f"  {table}: DuckDB engine peak {engine['rss']:,.0f} MiB: {verdict} 4 GB")
            for method in ("sql", "numpy"):
                if method in got:
                    check(table, engine, got[method], LABELS[method])
        got.clear()  # 10M-row summaries: free them before the next table


def scenario_spark(args, source: str, tmp: Path, repeat: int, store: dict) -> None:
    print(f"\n== spark: the 10m file on local Spark (local[2], UTC, driver memory 2g); "
          f"{repeat} run(s) each, no target; peak RSS and CPU s: Python + JVM; ratios to the "
          "DuckDB engine")
    try:
        import ibis  # noqa: F401
        import pyspark
    except ImportError as exc:
        print(f"Spark cannot run here: {exc}")
        return
    print(f"pyspark {pyspark.__version__}")
    print(HEADER)
    for table in TABLES:
        spark = measure("spark", table, source, tmp, repeat)
        reference = store.get(table)
        if not reference or "engine" not in reference:
            reference = {"engine": measure("engine", table, source, tmp, 1)}
            store[table] = reference
        print_row(table, "spark", spark, reference["engine"])
        if spark["failed"]:
            print(f"  Spark could not compute the {table}: {spark['failed']}")
            continue
        check(table, reference["engine"], spark, "Spark engine")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000,
                        help="transactions of the 10m scenario (100m: ten times as many)")
    parser.add_argument("--customers", type=int, default=1_000_000,
                        help="customers of the 10m scenario (100m: ten times as many)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per variant (default 3 for 10m, 1 for 100m and spark)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/retention-bench-engines"))
    parser.add_argument("--scenarios", default="10m,100m,spark")
    parser.add_argument("--methods", default="engine,sql,numpy",
                        help="which of engine, sql, numpy the 10m and 100m scenarios run")
    parser.add_argument("--memory-cap-gb", type=float, default=20.0,
                        help="address-space cap of the NumPy engine run of the 100m scenario")
    parser.add_argument("--profile", action="store_true",
                        help="time each query of one DuckDB engine run per table (10m data)")
    parser.add_argument("--worker", choices=(*METHODS, "generate", "profile"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--table", choices=TABLES, help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    scenarios = [s for s in args.scenarios.split(",") if s]
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise SystemExit(f"--scenarios: unknown {unknown}; use {', '.join(SCENARIOS)}")

    import duckdb
    import ibis
    import numpy as np
    import pandas as pd

    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas "
          f"{pd.__version__}, duckdb {duckdb.__version__}, ibis {ibis.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("one process per run: seconds are its wall time with start-up and imports; peak RSS "
          "is the whole process")
    store: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        small = None
        if {"10m", "spark"} & set(scenarios) or args.profile:
            small = str(parts(ensure_data(args, args.rows, args.customers))[0])
        if "10m" in scenarios:
            scenario_10m(args, small, tmp, args.repeat or 3, store)
        if "100m" in scenarios:
            folder = ensure_data(args, LARGE * args.rows, LARGE * args.customers)
            scenario_100m(args, folder, tmp, args.repeat or 1, args.memory_cap_gb)
        if "spark" in scenarios:
            scenario_spark(args, small, tmp, args.repeat or 1, store)
        if args.profile:
            for table in TABLES:
                subprocess.run([sys.executable, __file__, "--worker", "profile", "--table",
                                table, "--source", small], check=True, env=child_env())


if __name__ == "__main__":
    main()
