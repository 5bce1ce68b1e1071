"""The ``retention`` command.

Usage::

    retention report [--data PATH [--table NAME]] [--customer COL --date COL --amount COL
                      --order COL]
                     [--sep S --decimal C --thousands C --encoding E --date-format F
                      --dayfirst --sheet NAME --drop-invalid]
                     [--notebook PATH]... [-p NAME VALUE]... [--by COLUMN [--max-segments N]]
                     [--config FILE] [--name NAME] [--output-dir DIR] [--kernel NAME]
                     [--jobs N] [--timeout SECONDS] [--progress | --no-progress] [--dry-run]
    retention version

Exit status: 0 when every report succeeded, 1 when any report failed, 2 for a usage or
validation error or an output folder that cannot be used (nothing was run), 130 after
SIGINT (Ctrl-C) and 143 after SIGTERM (the reports that finished are in the index). The
Python API behind ``report`` is :func:`retention.reports.run.run_reports`.
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
EXIT_INTERRUPTED = 130

_REPORT_EPILOG = """\
examples:
  retention report                                   every notebooks/*_report.ipynb on the sample
  retention report --data orders.csv --customer client_id --date day --amount total
  retention report --data export.csv --sep ";" --decimal , --date-format %d.%m.%Y
  retention report --data "lake/orders/*.parquet" --customer client_id
  retention report --data postgres://analyst@db.local/shop --table orders
  retention report --by channel -p freq W
  retention report --config reports.yml --no-progress

The data options (--data ... --drop-invalid) apply to every report notebook; the file's
dialect (separator, decimal mark, encoding, date order) is detected when not given, and
a date column whose day/month order cannot be told is an error asking for --date-format
or --dayfirst. Paths are relative to the current directory.

Parameter values (-p) go to each selected notebook that declares them; one that none
declares is an error. They are read as YAML (3 is a number, true a boolean, [a, b] a
list), but stay text when the notebook declares the parameter as str; None, none and
null mean None. Each value is checked against the notebook's parameters cell, and the
data file and its columns are checked, before anything runs.

--by COLUMN makes one report per distinct value of COLUMN in the data file, plus the
total (at most 50 unless --max-segments says more); the notebook receives
segment_column and segment_value.

Output: DIR/<notebook>/<report>.html (code hidden) and .ipynb, DIR/index.html and
DIR/index.json. A failed report keeps DIR/<notebook>/<report>.failed.ipynb and never
replaces the last good HTML. Every file is written whole to a temporary file and then
renamed, and the index is rewritten after each report, so an interrupted run or a full
disk leaves each report with its old page and entry or its new ones. Ctrl-C or SIGTERM
stops the kernels, removes the temporary files and writes the index of what finished.

One run at a time per DIR: a run holds DIR/.retention.lock (with its pid) and a second
run into DIR stops at once, naming that pid; a lock left by a process no longer running
is taken over. The same run repeated gives the same pages and notebooks byte for byte;
the index differs only in the run's timestamp, which SOURCE_DATE_EPOCH (seconds since
1970) fixes when set.

exit status: 0 all reports ok, 1 some report failed, 2 usage or validation error or an
unusable output folder (read-only, a file, full, in use), 130 interrupted by Ctrl-C
(SIGINT), 143 stopped by SIGTERM.
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
    data = report.add_argument_group(
        "data", "the transaction log every report reads (default: the bundled sample)"
    )
    data.add_argument(
        "--data", metavar="PATH",
        help="transaction file (CSV/TSV, Parquet or Excel), a Parquet/CSV glob or folder, or "
        "a database URL with --table (duckdb:///shop.db, postgres://user@host/db)",
    )
    data.add_argument("--table", metavar="NAME", help="table to read from the --data database")
    data.add_argument("--customer", metavar="COL", help="customer id column (customer_id)")
    data.add_argument("--date", metavar="COL", help="order date column (order_date)")
    data.add_argument("--amount", metavar="COL", help="order value column (revenue)")
    data.add_argument("--order", metavar="COL", help="order id column, if orders span rows")
    data.add_argument("--sep", metavar="S", help="CSV field separator (detected)")
    data.add_argument("--decimal", metavar="C", help="decimal mark of amounts (detected)")
    data.add_argument("--thousands", metavar="C", help="thousands mark of amounts (detected)")
    data.add_argument("--encoding", metavar="E", help="text encoding (detected)")
    data.add_argument(
        "--date-format", metavar="F", help="strftime format of the dates, e.g. %%d.%%m.%%Y"
    )
    data.add_argument(
        "--dayfirst",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="dates are day-first (--no-dayfirst: month-first); default: from the data",
    )
    data.add_argument("--sheet", metavar="NAME", help="Excel sheet (default: the first)")
    data.add_argument(
        "--drop-invalid",
        action="store_true",
        default=None,
        help="exclude rows that cannot be used (counted and reported) instead of failing",
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
        "--max-segments",
        type=int,
        metavar="N",
        help="allow --by to make up to N segment reports (default: 50)",
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
        "--currency", metavar="CODE",
        help="currency of the money figures, shown in the index (e.g. EUR)",
    )
    report.add_argument(
        "--kernel",
        "-k",
        metavar="NAME",
        help="Jupyter kernel to use; default: the notebook's, or python3 if not installed",
    )
    report.add_argument(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="reports run at the same time (default: the number of cores)",
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
    from retention.reports.run import BatchInterrupted, run_reports

    parameters: dict[str, CommandLineValue] = {}
    for name, value in args.parameters or []:
        parameters[name] = CommandLineValue(value)
    if args.currency:  # for the notebooks that declare it, as well as the index
        parameters.setdefault("currency", CommandLineValue(args.currency))
    from retention.reports.spec import SPEC_PARAMETERS

    spec = {f: getattr(args, "data" if f == "path" else f) for f in SPEC_PARAMETERS}
    options = {
        "data": {k: v for k, v in spec.items() if v is not None},
        "by": args.by,
        "config": args.config,
        "name": args.name,
    }
    if args.max_segments is not None:
        options["max_segments"] = args.max_segments
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
                    jobs=args.jobs,
                    progress=args.progress,
                    currency=args.currency,
                )
        except ReportError as exc:
            _show_warnings(caught)
            print(f"retention report: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except BatchInterrupted as exc:
            _show_warnings(caught)
            print(f"retention report: {exc}; kernels stopped, temporary files removed; "
                  f"index of the finished reports: {Path(args.output_dir) / 'index.html'}",
                  file=sys.stderr)
            return exc.exit_status
        except KeyboardInterrupt:
            print("retention report: interrupted before any report ran", file=sys.stderr)
            return EXIT_INTERRUPTED
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
