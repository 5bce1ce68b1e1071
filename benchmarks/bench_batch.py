"""Wall time of the batch ``retention report --by channel`` (what ``make report`` runs),
for an earlier tree of the package against this one, in the same run.

Usage::

    python benchmarks/bench_batch.py [--before /tmp/retention_before] [--repeat 3]
                                     [--jobs N] [--by channel] [--keep DIR]

``--before`` is a source tree of the package to compare with, for example the last commit::

    git archive HEAD | tar -x -C /tmp/retention_before

Each variant is a fresh ``retention report --by channel -o <tmp> --no-progress`` process,
run from its own tree (so with that tree's notebooks and bundled data) with
``PYTHONPATH=<tree>``. The report kernels inherit ``PYTHONPATH``; before timing, the script
starts each tree's notebook kernel the same way and checks that ``import retention`` there
loads that tree's code. Variants alternate (before, after, before, ...) so that the load of
a shared machine falls on both; the script prints every run, the median of each variant and
the ratio after / before, and checks that both produced the same reports, all ``ok``.
Extra arguments after ``--`` go to both commands.
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

HERE = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
COMMAND = "import sys; from retention.cli import main; sys.exit(main())"
KERNEL_CHECK = "import retention, pathlib; print(pathlib.Path(retention.__file__).resolve())"


def environment(tree: Path) -> dict[str, str]:
    """The environment of a variant: ``PYTHONPATH`` pointing at its tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    return env


def kernel_imports(tree: Path) -> Path:
    """Start the report notebooks' kernel as the runner does and return ``retention.__file__``."""
    script = f"""
import json, sys
from jupyter_client.manager import start_new_kernel
nb = json.load(open(sys.argv[1], encoding="utf-8"))
name = nb["metadata"].get("kernelspec", {{}}).get("name", "python3")
km, kc = start_new_kernel(kernel_name=name, cwd=sys.argv[2])
def show(msg):
    if msg["msg_type"] == "stream":
        print(msg["content"]["text"], end="")
try:
    kc.execute_interactive({KERNEL_CHECK!r}, timeout=60, output_hook=show)
finally:
    kc.stop_channels(); km.shutdown_kernel(now=True)
"""
    notebook = next((tree / "notebooks").glob("*_report.ipynb"))
    done = subprocess.run(
        [PYTHON, "-c", script, str(notebook), str(notebook.parent)],
        cwd=tree,
        env=environment(tree),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return Path(done.stdout.strip().splitlines()[-1])


def run_batch(tree: Path, out: Path, by: str, jobs: int | None, extra: list[str]) -> float:
    """Run the batch command of ``tree`` once; return its wall time in seconds."""
    args = [PYTHON, "-c", COMMAND, "report", "--by", by, "-o", str(out), "--no-progress"]
    if jobs is not None:
        args += ["--jobs", str(jobs)]
    start = time.perf_counter()
    done = subprocess.run(
        args + extra, cwd=tree, env=environment(tree), capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{tree}: exit status {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return seconds


def reports(out: Path) -> list[tuple[str, str, str]]:
    """(notebook, report, status) of every report in ``out``'s index."""
    data = json.loads((out / "index.json").read_text(encoding="utf-8"))
    return sorted((r["notebook"], r["name"], r["status"]) for r in data["reports"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, default=Path("/tmp/retention_before"))
    parser.add_argument("--after", type=Path, default=HERE, help="default: this checkout")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, help="--jobs for the new tree (default: its own)")
    parser.add_argument("--by", default="channel")
    parser.add_argument("--keep", type=Path, help="write the reports here instead of a temp dir")
    parser.add_argument("extra", nargs="*", help="more arguments for both commands (after --)")
    args = parser.parse_args(argv)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for variant, tree in trees.items():
        loaded = kernel_imports(tree)
        print(f"{variant:6}  {tree}  (kernel imports {loaded})")
        if not loaded.is_relative_to(tree):
            raise SystemExit(f"the {variant} kernel imported {loaded}, not the code in {tree}")

    base = args.keep or Path(tempfile.mkdtemp(prefix="bench_batch_"))
    times: dict[str, list[float]] = {v: [] for v in trees}
    for i in range(args.repeat):
        for variant, tree in trees.items():
            out = base / f"{variant}_{i}"
            jobs = args.jobs if variant == "after" else None
            seconds = run_batch(tree, out, args.by, jobs, args.extra)
            times[variant].append(seconds)
            print(f"run {i + 1}  {variant:6}  {seconds:6.1f} s", flush=True)

    made = {v: reports(base / f"{v}_0") for v in trees}
    if made["before"] != made["after"]:
        raise SystemExit(f"different reports:\n{made['before']}\n{made['after']}")
    failed = [r for r in made["after"] if r[2] != "ok"]
    if failed:
        raise SystemExit(f"failed reports: {failed}")
    median = {v: statistics.median(t) for v, t in times.items()}
    print(f"\n{len(made['after'])} reports each, {os.cpu_count()} CPUs, median of {args.repeat}:")
    print("| variant | median s | runs |\n|---|---|---|")
    for variant, t in times.items():
        print(f"| {variant} | {median[variant]:.1f} | {', '.join(f'{x:.1f}' for x in t)} |")
    print(f"\nratio after / before: {median['after'] / median['before']:.2f}")
    if args.keep is None:
        print(f"reports kept in {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
