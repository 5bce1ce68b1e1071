"""Speed and memory of the RFM summary and the model fits, against lifetimes.

Usage::

    python benchmarks/bench_rfm_models.py [--customers 1000000] [--orders-per-customer 10]
                                          [--repeats 3] [--lifetimes-repeats N]
                                          [--refund-share 0.0] [--seed 0]
                                          [--models bgnbd,pnbd,bgbb,intervals]
                                          [--lifetimes-python PATH] [--no-lifetimes]

A synthetic log (seeded, vectorised NumPy: int64 customer ids, order timestamps with a time
of day over two years, lognormal revenue, rows sorted by time as in an export; optionally a
share of refund rows) is written once as ``.npy`` files. Each measured step then runs in its
own subprocess, which loads the data, builds the DataFrame, resets the kernel's peak-RSS
counter (``/proc/self/clear_refs``) and runs the step ``--repeats`` times:

* ``rfm``: ``retention.rfm_summary(tx, "D")``;
* ``bgnbd``: ``retention.models.BetaGeo().fit(summary)`` on the customers' summary;
* ``lifetimes-rfm``: ``lifetimes.utils.summary_data_from_transaction_data`` (same definitions);
* ``lifetimes-bgnbd``: ``lifetimes.BetaGeoFitter().fit`` on the same summary;
* ``pnbd`` / ``lifetimes-pnbd``: ``retention.models.ParetoNBD().fit`` and
  ``lifetimes.ParetoNBDFitter().fit`` (its defaults: Nelder-Mead, ``tol=1e-4``) on a
  summary simulated from a Pareto/NBD (same number of customers; see ``generate_pnbd``);
* ``bgbb`` / ``lifetimes-bgbb``: ``retention.models.BetaGeoBetaBinom().fit`` and
  ``lifetimes.BetaGeoBetaBinomFitter().fit`` on one discrete-time history per customer
  (simulated from a BG/BB with 1 to 10 opportunities each, passed unaggregated to both);
* ``intervals``: ``prediction_interval(bgf, "probability_alive", ...)`` (500 parameter
  draws, 90%) for every customer of the summary, the BG/NBD fitted once beforehand.

The fits are penalty-free maximum likelihood on both sides; the script prints the
parameters and the largest relative difference between the two.

Reported: the median and minimum wall time, the peak resident memory of the process during
the step (``VmHWM`` after the reset: the loaded data plus everything the step allocates) and
the resident memory with the data loaded, before the step. When lifetimes does not import in
this interpreter (it needs ``pkg_resources`` and pandas < 2.2), pass ``--lifetimes-python`` a
Python that has it, e.g. a throwaway venv outside the repository::

    python3.11 -m venv /tmp/lt-venv
    /tmp/lt-venv/bin/pip install lifetimes "pandas<2.2" "numpy<2" "scipy<1.14" setuptools

The lifetimes steps run only the standard library, NumPy, pandas and lifetimes in that
interpreter. The script also checks that both summaries agree (without refunds, where the
definitions coincide) and prints both BG/NBD fits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = ("bgnbd", "pnbd", "bgbb")
STEPS = ("rfm", "lifetimes-rfm", *MODELS, *(f"lifetimes-{m}" for m in MODELS), "intervals")
#: Parameter names of the models, in the order of both libraries.
PARAMS = {"bgnbd": ("r", "alpha", "a", "b"), "pnbd": ("r", "alpha", "s", "beta"),
          "bgbb": ("alpha", "beta", "gamma", "delta")}
FIRST = "2022-01-01"
N_DAYS = 730


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def generate(directory: Path, customers: int, per_customer: float, refund_share: float,
             seed: int) -> int:
    """Write customer_id, order_date (int64 ns) and revenue as .npy; return the row count.

    Each customer buys first on a day in the first year, stays active for an exponential
    time (mean 300 days, cut at the end of the second year) and meanwhile buys again at a
    gamma-distributed rate (scaled so that a customer has ``per_customer`` orders on average),
    on uniform days of the active time, at a uniform time of day. Rows are sorted by time.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, 365, customers)
    active = np.minimum(rng.exponential(300.0, customers), N_DAYS - 1 - first_day)
    rate = rng.gamma(2.0, 0.5, customers) * (per_customer - 1) / active.mean()
    counts = 1 + rng.poisson(rate * active)
    cust = np.repeat(np.arange(customers, dtype=np.int64) + 100_000, counts)
    first_row = np.r_[0, np.cumsum(counts)[:-1]]
    day = np.repeat(first_day, counts) + (rng.random(len(cust)) * np.repeat(active, counts)
                                          ).astype(np.int64)
    day[first_row] = first_day
    seconds = rng.integers(0, 86_400, len(cust))
    stamp = (np.datetime64(FIRST, "ns").astype(np.int64)
             + day * 86_400 * 10**9 + seconds * 10**9)
    revenue = np.round(rng.lognormal(3.3, 0.8, len(cust)), 2)
    if refund_share > 0:
        refund = rng.random(len(cust)) < refund_share
        refund[first_row] = False
        revenue[refund] = -revenue[refund]
    order = np.argsort(stamp, kind="stable")
    np.save(directory / "customer_id.npy", cust[order])
    np.save(directory / "order_date.npy", stamp[order])
    np.save(directory / "revenue.npy", revenue[order])
    generate_bgbb(directory, customers, seed)
    generate_pnbd(directory, customers, seed)
    return len(cust)


def generate_pnbd(directory: Path, customers: int, seed: int) -> None:
    """A Pareto/NBD summary in days: the CDNOW estimates of Fader, Hardie & Lee (2005)
    (r = 0.55, alpha = 10.58 weeks, s = 0.61, beta = 11.67 weeks), ages T of 0 to 545 whole
    days, recency rounded down to whole days as in :func:`retention.rfm_summary`. (The log
    above has one exponential lifetime for everyone, a dropout rate without heterogeneity,
    on which the Pareto/NBD's s and beta are not identified.)"""
    import numpy as np

    rng = np.random.default_rng(seed + 2)
    lam = rng.gamma(0.5531, 1 / (10.5763 * 7), customers)
    mu = rng.gamma(0.6062, 1 / (11.6715 * 7), customers)
    T = rng.integers(0, 546, customers).astype(np.float64)
    active = np.minimum(rng.exponential(1.0, customers) / mu, T)
    x = rng.poisson(lam * active)
    tx = np.where(x > 0, np.floor(active * rng.beta(np.maximum(x, 1), 1.0)), 0.0)
    x = np.where(tx > 0, x, 0)  # a repeat purchase on the first day is no repeat day
    for name, values in (("frequency", x), ("recency", tx), ("T", T)):
        np.save(directory / f"pnbd_{name}.npy", values.astype(np.float64))


def generate_bgbb(directory: Path, customers: int, seed: int) -> None:
    """One discrete-time history per customer: n in 1..10 opportunities; every customer is
    alive at the first, transacts at each opportunity while alive with probability
    p ~ Beta(1.2, 0.75) and dies after each with probability theta ~ Beta(0.66, 2.78). (The
    BG/BB lets a customer die before the first opportunity too, so the fitted gamma, delta
    are not these; both libraries fit the same histories.) Written as bgbb_frequency /
    bgbb_recency / bgbb_n .npy files."""
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    n = rng.integers(1, 11, customers)
    p = rng.beta(1.2, 0.75, customers)[:, None]
    theta = rng.beta(0.66, 2.78, customers)[:, None]
    step = np.arange(1, 11)[None, :]
    alive = np.cumprod(rng.random((customers, 10)) >= theta, axis=1)
    # alive at opportunity t if not dead after any of the t - 1 earlier ones
    alive = np.column_stack([np.ones(customers, dtype=bool), alive[:, :-1].astype(bool)])
    buy = alive & (rng.random((customers, 10)) < p) & (step <= n[:, None])
    x = buy.sum(axis=1)
    tx = np.where(x > 0, 10 - np.argmax(buy[:, ::-1], axis=1), 0)
    for name, values in (("frequency", x), ("recency", tx), ("n", n)):
        np.save(directory / f"bgbb_{name}.npy", values.astype(np.float64))


# --------------------------------------------------------------------------------------------
# worker (runs in a subprocess, possibly under another interpreter)
# --------------------------------------------------------------------------------------------


def _status(field: str) -> float:
    """A VmXXX field of /proc/self/status, in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(step: str, directory: Path, repeats: int) -> dict:
    import numpy as np
    import pandas as pd

    result: dict = {"python": sys.version.split()[0], "pandas": pd.__version__,
                    "numpy": np.__version__}
    if step.endswith("rfm"):
        data = pd.DataFrame({
            "customer_id": np.load(directory / "customer_id.npy"),
            "order_date": np.load(directory / "order_date.npy").view("datetime64[ns]"),
            "revenue": np.load(directory / "revenue.npy"),
        })
    elif step.endswith("pnbd"):
        data = pd.DataFrame({c: np.load(directory / f"pnbd_{c}.npy")
                             for c in ("frequency", "recency", "T")})
    elif step.endswith("bgbb"):
        data = pd.DataFrame({c: np.load(directory / f"bgbb_{c}.npy")
                             for c in ("frequency", "recency", "n")})
    else:
        data = pd.DataFrame({c: np.load(directory / f"summary_{c}.npy")
                             for c in ("frequency", "recency", "T")})
    if step == "rfm":
        sys.path.insert(0, str(REPO))
        from retention.metrics.rfm import rfm_summary

        def run():
            return rfm_summary(data, "D")
    elif step == "bgnbd":
        sys.path.insert(0, str(REPO))
        from retention.models import BetaGeo

        def run():
            return BetaGeo().fit(data)
    elif step == "pnbd":
        sys.path.insert(0, str(REPO))
        from retention.models import ParetoNBD

        def run():
            return ParetoNBD().fit(data)
    elif step == "bgbb":
        sys.path.insert(0, str(REPO))
        from retention.models import BetaGeoBetaBinom

        def run():
            return BetaGeoBetaBinom().fit(data, T="n", weights=None)
    elif step == "intervals":
        sys.path.insert(0, str(REPO))
        from retention.models import BetaGeo, prediction_interval

        bgf = BetaGeo().fit(data)
        x, tx, big_t = (data[c].to_numpy() for c in ("frequency", "recency", "T"))

        def run():
            return prediction_interval(bgf, "probability_alive", x, tx, big_t)
    elif step == "lifetimes-pnbd":
        from lifetimes import ParetoNBDFitter

        def run():
            return ParetoNBDFitter(penalizer_coef=0.0).fit(
                data["frequency"], data["recency"], data["T"])
    elif step == "lifetimes-bgbb":
        from lifetimes import BetaGeoBetaBinomFitter

        def run():
            return BetaGeoBetaBinomFitter(penalizer_coef=0.0).fit(
                data["frequency"], data["recency"], data["n"])
    elif step == "lifetimes-rfm":
        from lifetimes.utils import summary_data_from_transaction_data

        def run():
            return summary_data_from_transaction_data(
                data, "customer_id", "order_date", monetary_value_col="revenue", freq="D")
    else:
        from lifetimes import BetaGeoFitter

        def run():
            return BetaGeoFitter(penalizer_coef=0.0).fit(
                data["frequency"], data["recency"], data["T"])

    result["rss_loaded_mb"] = _status("VmRSS")
    try:  # reset the peak-RSS counter so the peak below is that of the step
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        result["peak_method"] = "VmHWM after clear_refs"
    except OSError:
        result["peak_method"] = "VmHWM (process lifetime, includes loading)"
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    result["times"] = times
    result["peak_mb"] = _status("VmHWM")
    if step.endswith("rfm"):
        out = out.sort_index()
        tag = "" if step == "rfm" else "lt_"
        for col in ("frequency", "recency", "T", "monetary_value"):
            np.save(directory / f"{tag}summary_{col}.npy", out[col].to_numpy(dtype=float))
        result["customers"] = len(out)
    elif step in MODELS:
        result["params"] = out.params_
        result["log_likelihood"] = out.log_likelihood_
    elif step == "intervals":
        result["customers"] = int(len(x))
        result["mean_width"] = float(np.mean(np.asarray(out.high) - np.asarray(out.low)))
    else:
        params = out.params_
        result["params"] = {k: float(params[k]) for k in PARAMS[step.split("-", 1)[1]]}
        ll = getattr(out, "log_likelihood_", None)
        result["log_likelihood"] = None if ll is None else float(ll)
    return result


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------


def run_step(python: str, step: str, directory: Path, repeats: int) -> dict | None:
    cmd = [python, str(Path(__file__).resolve()), "--worker", step, "--data", str(directory),
           "--repeats", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        print(f"  {step}: failed under {python}\n{tail}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def lifetimes_importable(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import lifetimes"], capture_output=True, check=False)
    return probe.returncode == 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders-per-customer", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lifetimes-repeats", type=int, default=None,
                        help="repeats of the lifetimes model fits (default: --repeats)")
    parser.add_argument("--models", default="bgnbd,pnbd,bgbb,intervals",
                        help="comma-separated model steps to run after the RFM summary")
    parser.add_argument("--refund-share", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lifetimes-python", default=None,
                        help="interpreter with lifetimes installed (default: this one)")
    parser.add_argument("--no-lifetimes", action="store_true")
    parser.add_argument("--worker", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.repeats)))
        return

    import numpy as np

    lt_python = args.lifetimes_python or sys.executable
    use_lifetimes = not args.no_lifetimes and lifetimes_importable(lt_python)
    with tempfile.TemporaryDirectory(prefix="bench-rfm-") as tmp:
        directory = Path(tmp)
        t0 = time.perf_counter()
        n_rows = generate(directory, args.customers, args.orders_per_customer,
                          args.refund_share, args.seed)
        print(f"data: {n_rows:,} transactions, {args.customers:,} customers, "
              f"{args.refund_share:.0%} refunds (generated in {time.perf_counter() - t0:.1f} s)")
        print(f"machine: {os.cpu_count()} CPUs; repeats: {args.repeats}; "
              f"lifetimes: {lt_python if use_lifetimes else 'not available'}")

        results: dict[str, dict] = {}
        chosen = [m.strip() for m in args.models.split(",") if m.strip()]
        unknown = sorted(set(chosen) - {*MODELS, "intervals"})
        if unknown:
            parser.error(f"--models: unknown {unknown}; choose from {[*MODELS, 'intervals']}")
        lt_repeats = args.lifetimes_repeats or args.repeats
        plan = [("rfm", sys.executable, args.repeats)]
        if use_lifetimes:
            plan.append(("lifetimes-rfm", lt_python, args.repeats))
        for model in chosen:
            plan.append((model, sys.executable, args.repeats))
            if use_lifetimes and model in MODELS:
                plan.append((f"lifetimes-{model}", lt_python, lt_repeats))
        for step, python, repeats in plan:
            res = run_step(python, step, directory, repeats)
            if res is not None:
                results[step] = res

        print(f"\n{'step':<16}{'median s':>10}{'min s':>9}{'peak MB':>10}{'loaded MB':>11}"
              "  versions")
        for step, res in results.items():
            print(f"{step:<16}{statistics.median(res['times']):>10.3f}{min(res['times']):>9.3f}"
                  f"{res['peak_mb']:>10.0f}{res['rss_loaded_mb']:>11.0f}  "
                  f"python {res['python']}, pandas {res['pandas']}, numpy {res['numpy']}")
        method = next(iter(results.values()))["peak_method"] if results else ""
        print(f"(peak MB: {method}; loaded MB: resident with the data loaded, before the step)")

        for ours, theirs in (("rfm", "lifetimes-rfm"),
                             *((m, f"lifetimes-{m}") for m in MODELS)):
            if ours in results and theirs in results:
                a, b = results[ours], results[theirs]
                speedup = statistics.median(b["times"]) / statistics.median(a["times"])
                print(f"{ours}: {speedup:.1f}x faster than lifetimes; peak memory "
                      f"{a['peak_mb']:.0f} MB vs {b['peak_mb']:.0f} MB")

        if "rfm" in results and "lifetimes-rfm" in results:
            diffs = {c: float(np.max(np.abs(np.load(directory / f"summary_{c}.npy")
                                            - np.load(directory / f"lt_summary_{c}.npy"))))
                     for c in ("frequency", "recency", "T", "monetary_value")}
            note = "" if args.refund_share == 0 else " (refunds are counted differently)"
            print(f"summary vs lifetimes, max abs difference{note}: {diffs}")
        for model in MODELS:
            for step in (model, f"lifetimes-{model}"):
                if step in results:
                    params = {k: round(v, 6) for k, v in results[step]["params"].items()}
                    print(f"{step} fit: {params}, log-likelihood "
                          f"{results[step]['log_likelihood']}")
            if model in results and f"lifetimes-{model}" in results:
                ours, theirs = results[model]["params"], results[f"lifetimes-{model}"]["params"]
                rel = max(abs(ours[k] - theirs[k]) / abs(theirs[k]) for k in PARAMS[model])
                print(f"{model}: max relative parameter difference {rel:.2e}")
        if "intervals" in results:
            res = results["intervals"]
            print(f"intervals: P(alive) 90% intervals for {res['customers']:,} customers, "
                  f"mean width {res['mean_width']:.4f}")


if __name__ == "__main__":
    main()
