"""Speed and memory of the monthly retention matrix against DuckDB SQL and a pandas recipe.

Usage::

    python benchmarks/bench_cohorts.py [--transactions 10000000] [--customers 1000000]
                                       [--repeat 3] [--ids dense|sparse] [--seed 0]

A synthetic log (seeded, generated with vectorised NumPy: int64 customer ids, order dates
over 2021-2023, lognormal revenue with 3 % refunds, rows sorted by date) is built in a fresh
subprocess for each variant, which then computes the monthly retention matrix ``--repeat``
times:

* ``retention``: ``retention.metrics.cohorts.retention_matrix(tx, "M")`` (the full cohort table:
  customers, orders, revenue, observability; then the pivot);
* ``duckdb``: hand-written SQL over the in-memory DataFrame (first month per customer,
  distinct active customer-months, count by cohort x offset), pivoted and normalised in
  pandas;
* ``pandas``: the usual tutorial recipe (``to_period("M")``, ``groupby.transform("min")``,
  ``groupby([cohort, period]).nunique()``, ``pivot``), with the offset computed from year and
  month numbers instead of the very slow ``.apply(attrgetter("n"))``;
* ``data``: generation only, the memory baseline.

All variants count customers with a purchase (revenue >= 0, the package's purchase rule;
refunds do not make a customer active). The script checks that the three matrices are
identical and prints the median wall time of each, the ratio to DuckDB and the peak resident
memory of each subprocess (``ru_maxrss`` from ``os.wait4`` on that child: the whole process,
data included).
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

import numpy as np
import pandas as pd

FIRST_DAY = np.datetime64("2021-01-01", "D")
N_DAYS = 3 * 365  # 2021-01-01 .. 2023-12-31, so the last month is complete
VARIANTS = ("data", "retention", "duckdb", "pandas")


def make_transactions(
    n_transactions: int, n_customers: int, seed: int = 0, ids: str = "dense"
) -> pd.DataFrame:
    """Synthetic transaction log: every customer buys once on acquisition, then repeats.

    Acquisitions grow over time; each customer has an exponential active life and a gamma
    distributed buying rate; repeat purchases fall uniformly inside the active life. About
    3 % of rows are refunds (a customer whose only row is a refund is never acquired).
    """
    rng = np.random.default_rng(seed)
    acquired = (N_DAYS * rng.random(n_customers) ** 0.7).astype(np.int64)
    life = np.minimum(rng.exponential(300.0, n_customers), N_DAYS - 1 - acquired)
    cdf = np.cumsum(rng.gamma(0.8, 1.0, n_customers) * (life + 30))
    n = max(n_transactions, n_customers)
    # who: every customer once (the acquisition), then repeat buyers in proportion to rate
    customer = np.empty(n, dtype=np.int32)
    customer[:n_customers] = np.arange(n_customers)
    draw = rng.random(n - n_customers)
    draw *= cdf[-1]
    customer[n_customers:] = np.searchsorted(cdf, draw, side="right")
    # when: acquisition day, plus a uniform share of the active life for repeats
    draw = rng.random(n - n_customers)
    draw *= life[customer[n_customers:]] + 1
    ticks = acquired[customer]
    ticks[n_customers:] += draw.astype(np.int64)
    del draw
    ticks *= 86_400
    ticks += rng.integers(0, 86_400, n)
    ticks += FIRST_DAY.astype("datetime64[s]").astype(np.int64)
    ticks *= 10**9
    order = np.argsort(ticks, kind="stable")  # a log sorted by date
    ticks = ticks[order]
    customer = customer[order]
    del order
    if ids == "dense":
        customer_ids = 100_000 + rng.permutation(n_customers).astype(np.int64)
    else:
        customer_ids = rng.integers(1, 2**62, n_customers, dtype=np.int64)
    customer_ids = customer_ids[customer]
    del customer
    # how much: lognormal order values, 3 % of rows are refunds
    revenue = np.round(rng.lognormal(3.5, 0.8, n), 2)
    revenue[rng.random(n) < 0.03] *= -1
    return pd.DataFrame(
        {
            "customer_id": customer_ids,
            "order_date": ticks.view("datetime64[ns]"),
            "revenue": revenue,
        },
        copy=False,
    )


def run_retention(tx: pd.DataFrame) -> pd.DataFrame:
    from retention.metrics.cohorts import retention_matrix  # imported before timing, see worker()

    return retention_matrix(tx, "M")


DUCKDB_SQL = """
WITH purchases AS (
    SELECT customer_id, date_trunc('month', order_date) AS month
    FROM tx WHERE revenue >= 0
),
cohorts AS (
    SELECT customer_id, min(month) AS cohort FROM purchases GROUP BY customer_id
),
active AS (
    SELECT DISTINCT customer_id, month FROM purchases
)
SELECT cohort, datediff('month', cohort, month) AS period, count(*) AS customers
FROM active JOIN cohorts USING (customer_id)
GROUP BY cohort, period
"""


def run_duckdb(tx: pd.DataFrame) -> pd.DataFrame:
    import duckdb  # imported before timing, see worker()

    counts = duckdb.sql(DUCKDB_SQL).df()
    counts["cohort"] = counts["cohort"].dt.to_period("M")
    counts = counts.pivot(index="cohort", columns="period", values="customers")
    return counts.div(counts[0], axis=0)


def run_pandas(tx: pd.DataFrame) -> pd.DataFrame:
    df = tx[tx["revenue"] >= 0].copy()
    df["order_month"] = df["order_date"].dt.to_period("M")
    df["cohort"] = df.groupby("customer_id")["order_month"].transform("min")
    df["period"] = (df["order_month"].dt.year - df["cohort"].dt.year) * 12 + (
        df["order_month"].dt.month - df["cohort"].dt.month
    )
    counts = df.groupby(["cohort", "period"])["customer_id"].nunique().reset_index()
    pivot = counts.pivot(index="cohort", columns="period", values="customer_id")
    return pivot.divide(pivot.iloc[:, 0], axis=0)


RUNNERS = {"retention": run_retention, "duckdb": run_duckdb, "pandas": run_pandas}


def worker(args: argparse.Namespace) -> None:
    if args.worker == "retention":
        import retention.metrics.cohorts  # noqa: F401  (import time is not part of the measure)
    elif args.worker == "duckdb":
        import duckdb  # noqa: F401
    tx = make_transactions(args.transactions, args.customers, args.seed, args.ids)
    times: list[float] = []
    result = None
    if args.worker != "data":
        runner = RUNNERS[args.worker]
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = runner(tx)
            times.append(time.perf_counter() - start)
    with open(args.out, "wb") as fh:
        pickle.dump({"times": times, "matrix": result, "rows": len(tx)}, fh)


def run_variant(variant: str, args: argparse.Namespace, out: Path) -> tuple[dict, float]:
    """Run one variant in a fresh interpreter; return its results and peak RSS in MiB."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        variant,
        "--out",
        str(out),
        "--transactions",
        str(args.transactions),
        "--customers",
        str(args.customers),
        "--repeat",
        str(args.repeat),
        "--seed",
        str(args.seed),
        "--ids",
        args.ids,
    ]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"variant {variant!r} failed with exit code {process.returncode}")
    with open(out, "rb") as fh:
        result = pickle.load(fh)
    return result, usage.ru_maxrss / 1024  # Linux reports KiB


def same_matrix(a: pd.DataFrame, b: pd.DataFrame) -> str:
    a = pd.DataFrame(a.to_numpy(np.float64), index=a.index.astype(str), columns=list(a.columns))
    b = pd.DataFrame(b.to_numpy(np.float64), index=b.index.astype(str), columns=list(b.columns))
    if a.shape != b.shape or not a.index.equals(b.index) or list(a.columns) != list(b.columns):
        return f"different shapes/labels: {a.shape} vs {b.shape}"
    x, y = a.to_numpy(), b.to_numpy()
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        return "different NaN cells"
    diff = np.nanmax(np.abs(x - y)) if np.isfinite(x).any() else 0.0
    return "identical" if diff == 0 else f"max abs difference {diff:.3g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ids",
        choices=("dense", "sparse"),
        default="dense",
        help="dense: ids in a contiguous integer range; sparse: random 62-bit ids",
    )
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return

    import duckdb

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"duckdb {duckdb.__version__}, {os.cpu_count()} CPUs"
    )
    print(
        f"{args.transactions:,} transactions, {args.customers:,} customers ({args.ids} int64 "
        f"ids), months 2021-01..2023-12, median of {args.repeat} runs, one process per variant"
    )
    results: dict[str, tuple[dict, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants.split(","):
            results[variant] = run_variant(variant, args, Path(tmp) / f"{variant}.pkl")

    reference = statistics.median(results["duckdb"][0]["times"]) if "duckdb" in results else None
    print()
    print(f"{'variant':<12}{'median s':>10}{'runs s':>24}{'vs duckdb':>11}{'peak RSS MiB':>14}")
    for variant, (result, rss) in results.items():
        times = result["times"]
        if times:
            median = statistics.median(times)
            runs = " ".join(f"{t:.2f}" for t in times)
            ratio = f"{median / reference:.2f}" if reference else "-"
            print(f"{variant:<12}{median:>10.3f}{runs:>24}{ratio:>11}{rss:>14.0f}")
        else:
            print(f"{variant:<12}{'-':>10}{'-':>24}{'-':>11}{rss:>14.0f}")
    matrices = {v: r["matrix"] for v, (r, _) in results.items() if r["matrix"] is not None}
    if "retention" in matrices:
        print()
        for variant, matrix in matrices.items():
            if variant != "retention":
                print(f"retention vs {variant}: {same_matrix(matrices['retention'], matrix)}")
        shape = matrices["retention"].shape
        print(f"matrix shape {shape[0]} cohorts x {shape[1]} periods")


if __name__ == "__main__":
    main()
