"""Report planning: which notebooks run with which parameters, one job per report, with
safe, unique report names and the segment values that ``by`` splits on.

How reports are planned
-----------------------
- Notebooks: the ones given, or every ``notebooks/*_report.ipynb``.
- Data: one data spec (:mod:`retention.reports.spec`: file, column mapping, dialect) for
  every notebook, from ``--data ...`` or a config's ``data`` section; each notebook must
  declare its parameters.
- Parameters: the notebook's defaults, then a YAML config's ``defaults`` and report
  entries (:mod:`retention.reports.config`), then ``-p NAME VALUE`` options. Each goes to
  every notebook of the entry that declares it (a name none declares is an error) and is
  checked against the declaration (:mod:`retention.reports.parameters`).
- Paths: a relative path given for the data or for a parameter whose name ends in
  ``_path``, ``_file`` or ``_dir`` is taken relative to where you run the command (or to
  the config file), and passed on as an absolute path.
- Checks: before anything runs, the data file of every report must exist, be readable and
  have the mapped columns (and the ``by`` and ``breakdown`` columns), and ``by`` may make at
  most ``max_segments`` (50) segment reports.
- ``by=COLUMN`` (``--by``): one report per distinct value of that column of the data
  file, plus the total. The notebook gets ``segment_column`` and ``segment_value``; the
  value is passed as a **string** (``str(value)``) and is ``None`` for the total, so a
  notebook filters with ``tx[tx[segment_column].astype(str) == segment_value]``. Rows
  without a value are in the total only (a warning says how many).
- Report names are file names: segment values are made safe with :func:`slugify`
  (the original value is kept as the report's label).
"""

from __future__ import annotations

import os
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retention.reports.config import load_config
from retention.reports.parameters import (
    NotebookInfo,
    ReportError,
    inspect_notebook,
    resolve_paths,
    validate_parameters,
)
from retention.reports.spec import SPEC_PARAMETERS, DataSpec

__all__ = [
    "DEFAULT_NAME",
    "NOTEBOOK_DIR",
    "REPORT_SUFFIX",
    "TOTAL_NAME",
    "ReportJob",
    "MAX_SEGMENTS",
    "check_data",
    "find_report_notebooks",
    "job_spec",
    "plan_reports",
    "segment_values",
    "slugify",
]

#: Default folder searched for report notebooks.
NOTEBOOK_DIR = "notebooks"
#: Report notebooks are the files whose names end with this.
REPORT_SUFFIX = "_report.ipynb"
#: Name of the all-rows report made alongside the segments with ``by``.
TOTAL_NAME = "total"
#: Name of a report without a name or segment.
DEFAULT_NAME = "report"


# --------------------------------------------------------------------------- names

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)
}
_OUR_SUFFIXES = (".failed", ".running", ".tmp")


def slugify(value: Any, *, max_length: int = 64, fallback: str = "segment") -> str:
    """Make a safe, portable file name from any value.

    Keeps ``A-Z a-z 0-9 . _ -`` (accents are transliterated, anything else becomes
    ``_``), never returns ``..``, a leading dot or dash, a Windows device name or a name
    ending in a suffix the runner uses, and cuts to ``max_length`` characters. Different
    values can give the same slug: :func:`plan_reports` adds ``-2``, ``-3`` ... to keep
    report names unique.

    Examples
    --------
    >>> slugify("<script>alert(1)</script>"), slugify("web/app"), slugify("São Paulo")
    ('script_alert_1_script', 'web_app', 'Sao_Paulo')
    >>> slugify(".."), slugify("東京")
    ('segment', 'segment')
    """
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"_{2,}", "_", text).strip("._-")
    text = text[:max_length].rstrip("._-")
    if not text:
        return fallback
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = f"{text}_"
    if text.lower().endswith(_OUR_SUFFIXES):
        text = text[: text.rfind(".")] + "_" + text[text.rfind(".") + 1 :]
    return text


def _unique(slug: str, taken: set[str]) -> str:
    """Return ``slug`` or ``slug-2``, ``slug-3`` ..., unused in ``taken`` (case-insensitive)."""
    candidate, n = slug, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{slug}-{n}"
    taken.add(candidate.casefold())
    return candidate


# --------------------------------------------------------------------------- jobs


@dataclass
class ReportJob:
    """One report to produce: a notebook and the parameters to run it with.

    Attributes
    ----------
    notebook : Path
        The notebook (absolute path).
    name : str
        Report name, a safe file stem: output is ``<output_dir>/<notebook stem>/<name>.html``.
    label : str
        Human-readable name (the segment value as it is in the data).
    parameters : dict
        Validated values passed to the notebook (its defaults cover the rest).
    segment_column, segment_value : str or None
        Set for reports made with ``by``; ``segment_value`` is ``None`` for the total.
    """

    notebook: Path
    name: str
    label: str
    parameters: dict[str, Any] = field(default_factory=dict)
    segment_column: str | None = None
    segment_value: str | None = None

    @property
    def folder(self) -> str:
        """Sub-folder of the output directory: the notebook's stem."""
        return self.notebook.stem


def find_report_notebooks(directory: str | os.PathLike[str] = NOTEBOOK_DIR) -> list[Path]:
    """Return the report notebooks (``*_report.ipynb``) in a folder, sorted by name.

    Examples
    --------
    >>> [p.name for p in find_report_notebooks("notebooks")]  # doctest: +SKIP
    ['clv_breakdown_report.ipynb', 'cohort_retention_report.ipynb']
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"*{REPORT_SUFFIX}") if p.is_file())


def segment_values(
    data_path: str | os.PathLike[str], column: str, **dialect: Any
) -> list[str]:
    """Return the distinct values of one column of a data file, as strings, sorted.

    Reads only that column (CSV, TSV, Parquet or Excel; ``.gz``/``.zip``/``.bz2``/``.xz``
    compressed CSV too), in the file's dialect (detected, or ``sep=``, ``encoding=``,
    ``sheet=`` ... as :func:`retention.load_transactions` takes them). Missing values are
    left out, with a warning giving their count.

    Parameters
    ----------
    data_path : path
        The data file.
    column : str
        The segment column.
    **dialect
        ``sep``, ``decimal``, ``thousands``, ``encoding``, ``sheet``: how to read the file.

    Returns
    -------
    list of str
        ``str(value)`` of each distinct value, in the column's natural order.

    Raises
    ------
    ReportError
        If the file is missing, of an unknown type, or has no such column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = csv.write_text("customer_id;channel\\n1;web\\n2;store\\n3;web\\n")
    >>> segment_values(csv, "channel")
    ['store', 'web']
    """
    import pandas as pd

    from retention.io import tables
    from retention.io.load import read_table

    path = Path(data_path)
    table = dialect.pop("table", None)
    try:
        if tables.is_engine_source(str(data_path), table=table):
            source = tables.open_table(str(data_path), table=table, sep=dialect.get("sep"))
            series = source.select(column).distinct().to_pyarrow().to_pandas()[column]
        elif not path.is_file():
            raise ReportError(
                f"Data file not found: {data_path} (needed to list the {column!r} values)"
            )
        else:
            series = read_table(path, columns=[column], **dialect)[column]
    except ReportError:
        raise
    except Exception as exc:  # any reader error becomes a report-planning error
        raise ReportError(f"Cannot list the {column!r} values: {exc}") from exc
    missing = int(series.isna().sum())
    if missing:
        warnings.warn(
            f"{missing} row(s) of {path.name} have no {column!r} value: they are in the "
            "total report only",
            UserWarning,
            stacklevel=2,
        )
    unique = pd.Series(series.dropna().unique())
    try:
        unique = unique.sort_values(kind="stable")
    except TypeError:
        unique = unique.iloc[sorted(range(len(unique)), key=lambda i: str(unique.iloc[i]))]
    return [str(v.item() if hasattr(v, "item") else v) for v in unique]


def _defaults(info: NotebookInfo) -> dict[str, Any]:
    """The notebook's literal defaults."""
    values = {}
    for name, declared in info.parameters.items():
        try:
            values[name] = declared.default_value()
        except (ValueError, SyntaxError):
            continue
    return values


def job_spec(info: NotebookInfo, parameters: Mapping[str, Any]) -> DataSpec:
    """The data spec a report runs with: its parameters over the notebook's defaults, with
    the bundled sample for a ``data_path`` of ``None``."""
    from retention.io.sample import sample_path

    values = {**_defaults(info), **parameters}
    given = {f: values.get(p) for f, p in SPEC_PARAMETERS.items()}
    if not isinstance(given["path"], str):
        given["path"] = str(sample_path())
    elif "://" not in given["path"] and not Path(given["path"]).is_absolute():
        given["path"] = str(info.path.parent / given["path"])  # the notebook runs in its folder
    return DataSpec.model_validate({k: v for k, v in given.items() if v is not None})


def _shown(spec: DataSpec) -> str:
    """The data source of a spec as a message shows it (never a password)."""
    from retention.io.tables import source_name

    return source_name(spec.path, spec.table)


def check_data(spec: DataSpec, columns: Mapping[str, str] | None = None) -> None:
    """Check, before any report runs, that the data file exists, can be read and has the
    mapped columns, and the ``columns`` other options name (role -> column, e.g.
    ``{"--by": "channel"}``).

    Raises
    ------
    ReportError
        Naming the file and what is wrong: missing, unreadable, or the missing columns
        (with the near matches and the columns present).
    """
    import difflib

    from retention.io import tables
    from retention.io.load import read_header

    path = Path(spec.path or "")
    if tables.is_engine_source(spec.path, table=spec.table):
        try:
            present = list(tables.open_table(spec.path, table=spec.table,
                                             sep=spec.sep).columns)
        except Exception as exc:  # a connection error becomes a planning error
            raise ReportError(f"Cannot read the data {_shown(spec)}: {exc}") from exc
    else:
        if not path.is_file():
            raise ReportError(f"Data file not found: {path}")
        if not os.access(path, os.R_OK):
            raise ReportError(f"Data file not readable (permission denied): {path}")
        try:
            present = read_header(path, **spec.load_options())
        except Exception as exc:  # a reader error becomes a planning error naming the file
            raise ReportError(f"Cannot read the data file {path}: {exc}") from exc
    wanted = {f"{k} column": v for k, v in spec.columns().items()} | dict(columns or {})
    missing = {role: c for role, c in wanted.items() if c not in present}
    if not missing:
        return
    close = [m for c in missing.values() for m in difflib.get_close_matches(c, present, n=1)]
    raise ReportError(
        f"{path.name if path.is_file() else _shown(spec)} has no column "
        + ", ".join(f"{c!r} ({role})" for role, c in missing.items())
        + "."
        + (f" Did you mean {', '.join(map(repr, close))}?" if close else "")
        + f" Its columns: {', '.join(map(repr, present))}."
        + " Map yours with --customer/--date/--amount/--order."
    )


#: Most segments ``--by`` makes without ``max_segments``.
MAX_SEGMENTS = 50


def plan_reports(
    notebooks: Sequence[str | os.PathLike[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    data: DataSpec | Mapping[str, Any] | None = None,
    by: str | None = None,
    config: str | os.PathLike[str] | None = None,
    name: str | None = None,
    notebook_dir: str | os.PathLike[str] = NOTEBOOK_DIR,
    max_segments: int = MAX_SEGMENTS,
) -> list[ReportJob]:
    """Plan the reports to produce and check all their parameters and data, running nothing.

    Parameters
    ----------
    notebooks : sequence of path, optional
        Notebooks to run; default: every ``*_report.ipynb`` in ``notebook_dir``. With a
        config, used for the entries that name no notebook.
    parameters : mapping, optional
        Values that override the config. Each goes to every notebook that declares it; one
        that none of the notebooks declares is an error. Values may be
        :class:`~retention.reports.parameters.CommandLineValue` (command-line text). Relative
        ``*_path``/``*_file``/``*_dir`` values are relative to the current directory.
    data : DataSpec or mapping, optional
        The data spec of every report (:mod:`retention.reports.spec`), over the config's;
        every notebook must declare its parameters. A relative path is relative to the
        current directory.
    by : str, optional
        Segment column: one report per distinct value, plus the total.
    config : path, optional
        YAML config (see :mod:`retention.reports.config`).
    name : str, optional
        Report name (or name prefix with ``by``) for the reports that have none.
    notebook_dir : path
        Where to look for report notebooks by default.
    max_segments : int, default 50
        Most segment values ``by`` may make reports for.

    Returns
    -------
    list of ReportJob

    Raises
    ------
    ReportError
        For anything that would make a report fail before it starts: missing notebook,
        missing or unreadable data file, columns not in the file, unknown parameter, wrong
        type, duplicate report name, too many segments, bad config. All problems found
        are listed.

    Examples
    --------
    >>> jobs = plan_reports(by="channel")  # doctest: +SKIP
    >>> [j.name for j in jobs]  # doctest: +SKIP
    ['total', 'email', 'store', 'web']
    """
    cwd = Path.cwd()
    cli_params = resolve_paths(dict(parameters or {}), cwd)
    cli_spec = DataSpec.model_validate(data or {}).resolved(cwd)
    given = [Path(n) for n in notebooks] if notebooks else None

    def default_notebooks() -> list[Path]:
        if given:
            return given
        found = find_report_notebooks(notebook_dir)
        if not found:
            raise ReportError(
                f"No report notebooks (*{REPORT_SUFFIX}) in {notebook_dir}/; "
                "pass one with --notebook"
            )
        return found

    entries: list[tuple[list[Path], dict[str, Any]]] = []
    if config is not None:
        loaded = load_config(config)
        defaults = loaded.defaults
        if not loaded.reports:
            raise ReportError(f"{Path(config).name}: no reports listed")
        for report in loaded.reports:
            if report.notebook is not None:
                targets = [report.notebook]
            else:
                targets = defaults.targets or default_notebooks()
            merged = {
                "name": report.name if report.name is not None else name,
                "by": by or report.by or defaults.by,
                "parameters": {**defaults.parameters, **report.parameters, **cli_params},
                "spec": loaded.data.merged(report.data).merged(cli_spec),
            }
            entries.append(([Path(t) for t in targets], merged))
    else:
        entries.append(
            (default_notebooks(), {"name": name, "by": by, "parameters": cli_params,
                                   "spec": cli_spec})
        )

    jobs: list[ReportJob] = []
    problems: list[str] = []
    taken: dict[str, set[str]] = {}
    checked: set[tuple] = set()
    for targets, entry in entries:
        try:
            infos = [inspect_notebook(t) for t in targets]
        except ReportError as exc:
            problems.append(str(exc))
            continue
        routed, unrouted = _route(infos, entry["parameters"], entry["spec"])
        problems.extend(unrouted)
        for info, given_params in zip(infos, routed, strict=True):
            try:
                jobs.extend(
                    _jobs_for(info, given_params, entry, taken, checked, max_segments)
                )
            except ReportError as exc:
                problems.append(str(exc))
    if problems:
        raise ReportError("\n".join(dict.fromkeys(problems)))
    return jobs


def _route(
    infos: Sequence[NotebookInfo], parameters: Mapping[str, Any], spec: DataSpec
) -> tuple[list[dict[str, Any]], list[str]]:
    """The parameters of each notebook (those it declares, plus the whole data spec), and
    the problems: a parameter none of several notebooks declares, a spec field a notebook
    lacks. A single notebook gets every parameter: its own check names the unknown ones."""
    import difflib

    problems = []
    declared = {n for info in infos for n in info.parameters}
    if len(infos) > 1:
        names = ", ".join(info.path.name for info in infos)
        for p in parameters:
            if p not in declared:
                close = difflib.get_close_matches(p, sorted(declared), n=3)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                problems.append(f"unknown parameter {p!r}: none of {names} declares it{hint}")
    spec_params = spec.parameters()
    for info in infos:
        lacking = [p for p in spec_params if p not in info.parameters]
        if lacking:
            problems.append(
                f"{info.path.name} does not declare the data-spec parameter(s) "
                f"{', '.join(map(repr, lacking))} in its parameters cell"
            )
    routed = [
        {**{k: v for k, v in parameters.items() if len(infos) == 1 or k in info.parameters},
         **spec_params}
        for info in infos
    ]
    return routed, problems


def _jobs_for(
    info: NotebookInfo,
    given: Mapping[str, Any],
    entry: Mapping[str, Any],
    taken: dict[str, set[str]],
    checked: set[tuple],
    max_segments: int,
) -> list[ReportJob]:
    """The reports of one notebook of one entry, after checking its data."""
    params = validate_parameters(info.path, given)
    column = entry["by"]
    spec = job_spec(info, params)
    asked = {
        role: c for role, c in (("--by", column), ("breakdown", params.get("breakdown")))
        if isinstance(c, str)
    }
    key = (spec.model_dump_json(), tuple(asked.items()))
    if key not in checked:  # each data spec is checked once
        check_data(spec, asked)
        checked.add(key)
    folder = taken.setdefault(info.path.stem, set())
    prefix = entry["name"]
    if column is None:
        label = prefix or DEFAULT_NAME
        report = slugify(label, fallback=DEFAULT_NAME)
        if report.casefold() in folder:
            raise ReportError(
                f"two reports of {info.path.name} would be named {report!r}; "
                "give them different names"
            )
        folder.add(report.casefold())
        return [ReportJob(info.path, report, label, params)]
    missing = [p for p in ("segment_column", "segment_value") if p not in info.parameters]
    if missing:
        raise ReportError(
            f"{info.path.name}: --by needs the notebook to declare "
            f"{' and '.join(missing)} in its parameters cell"
        )
    dialect = {k: v for k, v in spec.load_options().items()
               if k in ("sep", "decimal", "thousands", "encoding", "sheet", "table")}
    values = segment_values(spec.path, column, **dialect)
    if len(values) > max_segments:
        raise ReportError(
            f"--by {column}: {len(values):,} distinct values in {Path(spec.path).name} "
            f"(e.g. {', '.join(map(repr, values[:3]))}) would make {len(values) + 1:,} "
            f"reports of {info.path.name}; pass --max-segments {len(values)} to make them "
            f"all, or choose a column with at most {max_segments} values"
        )
    pre = f"{slugify(prefix)}-" if prefix else ""
    total_label = f"{prefix} total" if prefix else "Total"
    jobs = []
    for value in [None, *values]:
        seg = {"segment_column": column, "segment_value": value}
        job_params = validate_parameters(info.path, {**params, **seg})
        slug = pre + (TOTAL_NAME if value is None else slugify(value))
        jobs.append(
            ReportJob(
                info.path,
                _unique(slug, folder),
                total_label if value is None else value,
                job_params,
                column,
                value,
            )
        )
    return jobs
