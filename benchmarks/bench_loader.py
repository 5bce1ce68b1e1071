"""Whole user path, read + validate + compute, from a DataFrame, Parquet and CSV.

Usage::

    python benchmarks/bench_loader.py [--rows 10000000] [--customers 1000000] [--repeat 3]
                                      [--data-dir /tmp/retention-bench-loader] [--seed 0]
                                      [--inputs dataframe,parquet,csv,csv_text]

The synthetic log of ``bench_cohorts.make_transactions`` (integer customer ids, 2021-2023,
lognormal amounts, 3 % refunds) is cut to whole days and written once into ``--data-dir``
(reused when present) as

* ``tx.parquet``: ``customer_id`` int64, ``order_date`` timestamp, ``revenue`` double (what
  ``DataFrame.to_parquet`` writes);
* ``tx.csv``: the same with ISO dates (``2021-01-01``), the typical export;
* ``tx_text.csv``: the same with text ids (``C0100042``).

Each run of each method is a fresh interpreter (``--repeat`` runs, medians), timed from the
parent as the wall time of the whole process (start-up and imports included) with its peak
resident memory from ``os.wait4`` on that child. The ``dataframe`` input reads ``tx.parquet``
into pandas first; that read is timed inside the process, reported on its own row ("read
parquet into pandas") and subtracted from the other rows, while peak RSS stays the whole
process; CPU seconds (user + system, all threads, start-up included) are printed too, since
DuckDB and polars use every core while a loaded machine stretches their wall time. Methods,
each for the monthly retention matrix and for the daily RFM summary with recency and T in
weeks:

* ``retention``: ``rt.load_transactions(src)`` then ``rt.retention_matrix(tx, "M")`` or
  ``rt.rfm_summary(tx, "D", time_unit="W")``;
* ``duckdb``: hand-written SQL over ``read_parquet`` / ``read_csv`` / the DataFrame (the
  matrix query and pivot of ``bench_cohorts``; the RFM query below), fetched into pandas;
* ``polars``: lazy ``scan_parquet`` / ``scan_csv`` (``pl.from_pandas`` for the DataFrame),
  ``group_by`` plus a window ``min().over(customer)``, collected into pandas.

DuckDB and polars do no validation (missing ids, bad dates, duplicates), which
``load_transactions`` does; that is part of what is measured. The three tables of each kind are
checked equal (matrices exactly, RFM columns to 1e-9 relative) and any mismatch is printed.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cohorts import make_transactions, run_duckdb, same_matrix  # noqa: E402

INPUTS = ("dataframe", "parquet", "csv", "csv_text")
FILES = {"parquet": "tx.parquet", "csv": "tx.csv", "csv_text": "tx_text.csv"}
METHODS = ("retention", "duckdb", "polars")
TABLES = ("matrix", "rfm")
TIME = Path("/usr/bin/time")  # GNU time, for the peak RSS of each run

# RFM summary with lifetimes' definitions as retention.metrics.rfm implements them: one
# purchase occasion per customer-day with a purchase (revenue >= 0); refunds on such a day are
# netted into its value; refund-only days are no occasion; recency and T in weeks (days / 7)
# with T measured to the day of the last transaction of the log.
DUCKDB_RFM_SQL = """
WITH days AS (
    SELECT customer_id, CAST(order_date AS DATE) AS day, sum(revenue) AS value,
           bool_or(revenue >= 0) AS purchase
    FROM tx GROUP BY ALL
),
customers AS (
    SELECT customer_id, count(*) - 1 AS frequency, min(day) AS first, max(day) AS last,
           sum(value) - arg_min(value, day) AS repeat_value
    FROM days WHERE purchase GROUP BY customer_id
),
log_end AS (SELECT max(CAST(order_date AS DATE)) AS end_day FROM tx)
SELECT customer_id, frequency,
       datediff('day', first, last) / 7.0 AS recency,
       datediff('day', first, end_day) / 7.0 AS T,
       CASE WHEN frequency > 0 THEN repeat_value / frequency ELSE 0.0 END AS monetary_value
FROM customers, log_end
ORDER BY customer_id
"""


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def write_data(data_dir: Path, rows: int, customers: int, seed: int) -> None:
    """Generate the log once and write the three files (skipped when they are present)."""
    stamp = data_dir / f"rows{rows}_customers{customers}_seed{seed}.ok"
    if stamp.exists() and all((data_dir / f).exists() for f in FILES.values()):
        return
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob("*.ok"):
        old.unlink()
    print(f"writing {rows:,} transactions into {data_dir} ...", flush=True)
    tx = make_transactions(rows, customers, seed, "dense")
    days = tx["order_date"].to_numpy().astype("datetime64[D]")
    # the log covers every day of its last month, so no matrix cell is partial
    days[-1] = np.datetime64("2023-12-31")
    table = pa.table(
        {
            "customer_id": pa.array(tx["customer_id"].to_numpy()),
            "order_date": pa.array(days.astype("datetime64[us]")),
            "revenue": pa.array(tx["revenue"].to_numpy()),
        }
    )
    del tx
    pq.write_table(table, data_dir / FILES["parquet"])
    csv = table.set_column(1, "order_date", pa.array(days))  # date32: ISO 2021-01-01
    options = pacsv.WriteOptions(quoting_style="none")
    pacsv.write_csv(csv, data_dir / FILES["csv"], options)
    text = pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pc.cast(csv["customer_id"], pa.string()), 7, "0"), ""
    )
    pacsv.write_csv(csv.set_column(0, "customer_id", text), data_dir / FILES["csv_text"], options)
    stamp.touch()


# --------------------------------------------------------------------------------------------
# methods (run inside the worker process)
# --------------------------------------------------------------------------------------------


def run_retention(src, table: str):
    import retention as rt

    tx = rt.load_transactions(src)
    if table == "matrix":
        return rt.retention_matrix(tx, "M")
    return rt.rfm_summary(tx, "D", time_unit="W")


def run_duckdb_sql(src, table: str, kind: str):
    import duckdb

    con = duckdb.connect()
    if kind == "dataframe":
        con.register("tx", src)
    elif kind == "parquet":
        con.sql(f"CREATE VIEW tx AS SELECT * FROM read_parquet('{src}')")
    else:
        con.sql(f"CREATE VIEW tx AS SELECT * FROM read_csv('{src}')")
    if table == "rfm":
        return con.sql(DUCKDB_RFM_SQL).df().set_index("customer_id")
    # bench_cohorts' query and pivot, on this connection (its view ``tx``)
    previous = duckdb.default_connection()
    duckdb.set_default_connection(con)
    try:
        return run_duckdb(None)
    finally:
        duckdb.set_default_connection(previous)


def run_polars(src, table: str, kind: str):
    import polars as pl

    if kind == "dataframe":
        lf = pl.from_pandas(src).lazy()
    elif kind == "parquet":
        lf = pl.scan_parquet(src)
    else:
        lf = pl.scan_csv(src, try_parse_dates=True)
    date = pl.col("order_date")
    if table == "matrix":
        month = (date.dt.year() - 1970) * 12 + date.dt.month() - 1  # pandas Period ordinal
        active = (
            lf.filter(pl.col("revenue") >= 0)
            .select("customer_id", month.alias("month"))
            .unique()
            .with_columns(cohort=pl.col("month").min().over("customer_id"))
        )
        counts = (
            active.group_by("cohort", (pl.col("month") - pl.col("cohort")).alias("period"))
            .len()
            .collect()
            .to_pandas()
        )
        import pandas as pd

        counts["cohort"] = pd.PeriodIndex.from_ordinals(counts["cohort"], freq="M")
        counts = counts.pivot(index="cohort", columns="period", values="len")
        return counts.div(counts[0], axis=0)
    days = lf.group_by("customer_id", date.cast(pl.Date).alias("day")).agg(
        value=pl.col("revenue").sum(), purchase=(pl.col("revenue") >= 0).any()
    )
    summary = (
        days.filter("purchase")
        .group_by("customer_id")
        .agg(
            frequency=pl.len() - 1,
            first=pl.col("day").min(),
            last=pl.col("day").max(),
            repeat_value=pl.col("value").sum() - pl.col("value").sort_by("day").first(),
        )
        .join(lf.select(end=date.max().cast(pl.Date)), how="cross")
        .select(
            "customer_id",
            "frequency",
            recency=(pl.col("last") - pl.col("first")).dt.total_days() / 7.0,
            T=(pl.col("end") - pl.col("first")).dt.total_days() / 7.0,
            monetary_value=pl.when(pl.col("frequency") > 0)
            .then(pl.col("repeat_value") / pl.col("frequency"))
            .otherwise(0.0),
        )
        .sort("customer_id")
        .collect()
    )
    return summary.to_pandas().set_index("customer_id")


def worker(args: argparse.Namespace) -> None:
    """One measured process: (read parquet into pandas,) compute one table, report back."""
    read_s = 0.0
    src: object = str(Path(args.data_dir) / FILES.get(args.input, FILES["parquet"]))
    if args.input == "dataframe":
        import pandas as pd

        start = time.perf_counter()
        src = pd.read_parquet(src)
        read_s = time.perf_counter() - start
    result = None
    if args.method == "retention":
        result = run_retention(src, args.table)
    elif args.method == "duckdb":
        result = run_duckdb_sql(src, args.table, args.input)
    elif args.method == "polars":
        result = run_polars(src, args.table, args.input)
    start = time.perf_counter()
    with open(args.out, "wb") as fh:
        pickle.dump({"result": result if args.keep else None, "read_s": read_s}, fh)
    dump_s = time.perf_counter() - start
    with open(args.out, "ab") as fh:
        pickle.dump(dump_s, fh)


# --------------------------------------------------------------------------------------------
# parent: runs, checks, tables
# --------------------------------------------------------------------------------------------


def run_process(args: argparse.Namespace, kind: str, method: str, table: str, out: Path,
                keep: bool) -> dict:
    """One fresh interpreter; wall seconds (read and result dump excluded) and peak RSS MiB."""
    command = [
        sys.executable, __file__, "--worker", "--input", kind, "--method", method,
        "--table", table, "--data-dir", str(args.data_dir), "--out", str(out),
    ] + (["--keep"] if keep else [])
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    # ``ru_maxrss`` of a forked child starts at the parent's size, which holds the data and
    # results here; GNU time forks from its own small process, so it reports the child alone
    rss_file = out.with_suffix(".rss")
    if TIME.exists():
        command = [str(TIME), "-f", "%M", "-o", str(rss_file)] + command
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{method} {table} on {kind} failed with exit code {code}")
    with open(out, "rb") as fh:
        report = pickle.load(fh)
        dump_s = pickle.load(fh)
    kib = int(rss_file.read_text().split()[-1]) if TIME.exists() else usage.ru_maxrss
    return {
        "seconds": wall - report["read_s"] - dump_s,
        "read_s": report["read_s"],
        "rss": kib / 1024,  # Linux reports KiB
        "cpu": usage.ru_utime + usage.ru_stime,  # the whole process tree, all threads
        "result": report["result"],
    }


def same_rfm(a, b) -> str:
    """Compare two RFM summaries (ids compared as text, rows in id order)."""
    import numpy as np

    a = a.set_axis(a.index.astype(str)).sort_index()
    b = b.set_axis(b.index.astype(str)).sort_index()
    if not a.index.equals(b.index):
        return f"different customers: {len(a):,} vs {len(b):,} rows"
    problems = []
    for column in ("frequency", "recency", "T", "monetary_value"):
        x = a[column].to_numpy(np.float64)
        y = b[column].to_numpy(np.float64)
        if not np.allclose(x, y, rtol=1e-9, atol=1e-9):
            bad = ~np.isclose(x, y, rtol=1e-9, atol=1e-9)
            problems.append(f"{column}: {int(bad.sum()):,} rows differ, max abs "
                            f"{np.nanmax(np.abs(x - y)):.3g}")
    return "; ".join(problems) or "equal"


def fill_observed(matrix):
    """Zero the observable cells a pivot of counts leaves empty (no customer came back)."""
    import numpy as np

    last = matrix.index.max()
    matrix = matrix.reindex(columns=range(last.ordinal - matrix.index.min().ordinal + 1))
    cohort = np.asarray([p.ordinal for p in matrix.index])[:, None]
    period = np.asarray(matrix.columns, dtype=np.int64)[None, :]
    observable = cohort + period <= last.ordinal
    values = matrix.to_numpy(np.float64, copy=True)
    values[observable & np.isnan(values)] = 0.0
    return matrix.__class__(values, index=matrix.index, columns=matrix.columns)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/retention-bench-loader"))
    parser.add_argument("--inputs", default=",".join(INPUTS))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", choices=INPUTS, help=argparse.SUPPRESS)
    parser.add_argument("--method", choices=(*METHODS, "read"), help=argparse.SUPPRESS)
    parser.add_argument("--table", choices=TABLES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return

    import duckdb
    import numpy as np
    import pandas as pd
    import polars as pl

    write_data(args.data_dir, args.rows, args.customers, args.seed)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"duckdb {duckdb.__version__}, polars {pl.__version__}, {os.cpu_count()} CPUs"
    )
    print(
        f"{args.rows:,} transactions, {args.customers:,} customers, data in {args.data_dir}; "
        f"median of {args.repeat} runs, one process per run (start-up and imports included)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.inputs.split(","):
            if kind not in INPUTS:
                raise SystemExit(f"--inputs: unknown input {kind!r}; use {', '.join(INPUTS)}")
            size = ""
            if kind in FILES:
                size = f" ({(args.data_dir / FILES[kind]).stat().st_size / 2**20:,.0f} MiB)"
            print(f"\n== input: {kind}{size}")
            print(f"{'method':<26}{'median s':>10}{'runs s':>22}{'vs duckdb':>11}"
                  f"{'vs polars':>11}{'peak RSS MiB':>14}{'CPU s':>8}")
            if kind == "dataframe":
                runs = [run_process(args, kind, "read", "matrix", Path(tmp) / "r.pkl", False)
                        for _ in range(args.repeat)]
                reads = [r["read_s"] for r in runs]
                print(f"{'read parquet into pandas':<26}{statistics.median(reads):>10.2f}"
                      f"{' '.join(f'{t:.2f}' for t in reads):>22}{'':>22}"
                      f"{max(r['rss'] for r in runs):>14.0f}")
            for table in TABLES:
                stats: dict[str, dict] = {}
                for method in METHODS:
                    runs = [
                        run_process(args, kind, method, table, Path(tmp) / "r.pkl", i == 0)
                        for i in range(args.repeat)
                    ]
                    stats[method] = {
                        "median": statistics.median(r["seconds"] for r in runs),
                        "runs": [r["seconds"] for r in runs],
                        "rss": statistics.median(r["rss"] for r in runs),
                        "cpu": statistics.median(r["cpu"] for r in runs),
                        "result": runs[0]["result"],
                    }
                for method, s in stats.items():
                    vs_duckdb = s["median"] / stats["duckdb"]["median"]
                    vs_polars = s["median"] / stats["polars"]["median"]
                    print(f"{method + ' ' + table:<26}{s['median']:>10.2f}"
                          f"{' '.join(f'{t:.2f}' for t in s['runs']):>22}"
                          f"{vs_duckdb:>11.2f}{vs_polars:>11.2f}{s['rss']:>14.0f}"
                          f"{s['cpu']:>8.1f}", flush=True)
                ours = stats["retention"]["result"]
                for other in ("duckdb", "polars"):
                    theirs = stats[other]["result"]
                    if table == "matrix":
                        verdict = same_matrix(ours, fill_observed(theirs))
                    else:
                        verdict = same_rfm(ours, theirs)
                    flag = "" if verdict in ("identical", "equal") else "  <-- MISMATCH"
                    print(f"  {table}: retention vs {other}: {verdict}{flag}")


if __name__ == "__main__":
    main()
