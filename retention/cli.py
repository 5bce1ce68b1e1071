"""The ``retention`` command.

Usage::

    retention report [--notebook PATH]... [-p NAME VALUE]... [--by COLUMN]
                     [--config FILE] [--name NAME] [--output-dir DIR] [--kernel NAME]
                     [--timeout SECONDS] [--progress | --no-progress] [--dry-run]
    retention version

Exit status: 0 when every report succeeded, 1 when any report failed, 2 for a usage or
validation error (nothing was run). The Python API behind ``report`` is
:func:`retention.reports.run.run_reports`.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_REPORT_EPILOG = """\
examples:
  retention report                                   every notebooks/*_report.ipynb
  retention report --notebook notebooks/cohort_retention_report.ipynb -p freq W
  retention report --by channel -p data_path data/transactions.parquet
  retention report --config reports.yml --no-progress

Parameter values (-p) are read as YAML (3 is a number, true a boolean, [a, b] a list),
but stay text when the notebook declares the parameter as str. Relative paths given
to *_path / *_file / *_dir parameters are relative to the current directory.
Each parameter is checked against the notebook's parameters cell before anything runs.

--by COLUMN makes one report per distinct value of COLUMN in the data_path file, plus
the total; the notebook receives segment_column and segment_value.

Output: DIR/<notebook>/<report>.html (code hidden) and .ipynb, DIR/index.html and
DIR/index.json. A failed report keeps DIR/<notebook>/<report>.failed.ipynb and never
replaces the last good HTML.

exit status: 0 all reports ok, 1 some report failed, 2 usage or validation error.
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("retention")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        import retention

        return str(getattr(retention, "__version__", "unknown"))


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``retention`` command.

    Examples
    --------
    >>> build_parser().parse_args(["report", "-p", "freq", "W"]).parameters
    [['freq', 'W']]
    """
    parser = argparse.ArgumentParser(
        prog="retention",
        description="Customer-retention analysis toolkit: run the parameterised report "
        "notebooks in batch and publish them as HTML.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = sub.add_parser(
        "report",
        help="run report notebooks with papermill and publish HTML plus an index page",
        description="Run parameterised report notebooks with papermill, export each to\n"
        "HTML without code, and write an index page with every report's status and\n"
        "key figures.",
        epilog=_REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "--notebook",
        "-n",
        dest="notebooks",
        action="append",
        metavar="PATH",
        help="notebook to run (repeatable); default: every notebooks/*_report.ipynb",
    )
    report.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        action="append",
        nargs=2,
        metavar=("NAME", "VALUE"),
        help="set a notebook parameter for every report (repeatable)",
    )
    report.add_argument(
        "--by",
        metavar="COLUMN",
        help="one report per distinct value of this data column, plus the total",
    )
    report.add_argument(
        "--config", "-c", metavar="FILE", help="YAML file listing the reports to produce"
    )
    report.add_argument(
        "--name", metavar="NAME", help="report name (name prefix with --by); default 'report'"
    )
    report.add_argument(
        "--output-dir",
        "-o",
        default="reports",
        metavar="DIR",
        help="where to write reports and the index (default: %(default)s)",
    )
    report.add_argument(
        "--kernel",
        "-k",
        metavar="NAME",
        help="Jupyter kernel to use; default: the notebook's, or python3 if not installed",
    )
    report.add_argument(
        "--timeout",
        type=_positive,
        metavar="SECONDS",
        help="time limit per notebook cell (default: none)",
    )
    report.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    report.add_argument(
        "--dry-run",
        action="store_true",
        help="check parameters and list the reports that would run, without running them",
    )
    report.set_defaults(handler=_report)

    version = sub.add_parser("version", help="print the package version")
    version.set_defaults(handler=_print_version)
    return parser


def _print_version(args: argparse.Namespace) -> int:
    print(f"retention {_version()}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from retention.reports.parameters import CommandLineValue, ReportError
    from retention.reports.plan import plan_reports
    from retention.reports.run import run_reports

    parameters: dict[str, CommandLineValue] = {}
    for name, value in args.parameters or []:
        parameters[name] = CommandLineValue(value)
    options = {
        "by": args.by,
        "config": args.config,
        "name": args.name,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            if args.dry_run:
                jobs = plan_reports(args.notebooks, parameters, **options)
            else:
                results = run_reports(
                    args.notebooks,
                    parameters,
                    **options,
                    output_dir=args.output_dir,
                    kernel=args.kernel,
                    timeout=args.timeout,
                    progress=args.progress,
                )
        except ReportError as exc:
            _show_warnings(caught)
            print(f"retention report: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    _show_warnings(caught)

    if args.dry_run:
        for job in jobs:
            values = ", ".join(f"{k}={v!r}" for k, v in job.parameters.items())
            print(f"{job.folder}/{job.name}\t{values}")
        print(f"{len(jobs)} report(s) would run", file=sys.stderr)
        return EXIT_OK

    out = Path(args.output_dir)
    failed = [r for r in results if not r.ok]
    for r in results:
        where = f"{r.job.folder}/{r.job.name}"
        if r.ok:
            print(f"ok      {where}  ({r.seconds:.1f} s)")
        else:
            first = (r.error or "").strip().splitlines()
            print(f"FAILED  {where}: {first[0] if first else 'unknown error'}")
            if r.ipynb_path is not None:
                print(f"        see {r.ipynb_path}")
    print(f"{len(results) - len(failed)} ok, {len(failed)} failed; index: {out / 'index.html'}")
    return EXIT_FAILED if failed else EXIT_OK


def _show_warnings(caught: Sequence[warnings.WarningMessage]) -> None:
    for w in caught:
        print(f"retention report: warning: {w.message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``retention`` command; return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Examples
    --------
    >>> main(["version"])  # doctest: +SKIP
    retention 0.1.0
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_USAGE
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
