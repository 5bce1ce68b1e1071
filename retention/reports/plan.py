"""Report planning: which notebooks run with which parameters, one job per report, with
safe, unique report names and the segment values that ``by`` splits on.

How reports are planned
-----------------------
- Notebooks: the ones given, or every ``notebooks/*_report.ipynb``.
- Parameters: the notebook's defaults, then a YAML config's ``defaults`` and report
  entries (:mod:`retention.reports.config`), then ``-p NAME VALUE`` options, each value
  checked against the notebook's declaration (:mod:`retention.reports.parameters`).
- Paths: a relative path given for a parameter whose name ends in ``_path``, ``_file``
  or ``_dir`` is taken relative to where you run the command (or to the config file),
  and passed on as an absolute path. The notebook's own defaults are relative to the
  notebook's folder, which is the working directory the notebook runs in.
- ``by=COLUMN`` (``--by``): one report per distinct value of that column of the data
  file (the ``data_path`` parameter; CSV, Parquet or Excel), plus the total. The notebook
  gets ``segment_column`` and ``segment_value``; the value is passed as a **string**
  (``str(value)``) and is ``None`` for the total, so a notebook filters with
  ``tx[tx[segment_column].astype(str) == segment_value]``. Rows without a value are in
  the total only (a warning says how many).
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

__all__ = [
    "DEFAULT_NAME",
    "NOTEBOOK_DIR",
    "REPORT_SUFFIX",
    "TOTAL_NAME",
    "ReportJob",
    "find_report_notebooks",
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


def segment_values(data_path: str | os.PathLike[str], column: str) -> list[str]:
    """Return the distinct values of one column of a data file, as strings, sorted.

    Reads only that column (CSV, TSV, Parquet or Excel; ``.gz``/``.zip``/``.bz2``/``.xz``
    compressed CSV too). Missing values are left out, with a warning giving their count.

    Parameters
    ----------
    data_path : path
        The data file.
    column : str
        The segment column.

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
    >>> _ = csv.write_text("customer_id,channel\\n1,web\\n2,store\\n3,web\\n")
    >>> segment_values(csv, "channel")
    ['store', 'web']
    """
    import pandas as pd

    from retention.io.load import read_table

    path = Path(data_path)
    if not path.is_file():
        raise ReportError(
            f"Data file not found: {data_path} (needed to list the {column!r} values)"
        )
    try:
        series = read_table(path, columns=[column])[column]
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


def _data_path_for(info: NotebookInfo, parameters: Mapping[str, Any]) -> Path:
    if "data_path" in parameters:
        value = parameters["data_path"]
        if not isinstance(value, str):
            raise ReportError(f"{info.path.name}: 'data_path' must be a path to use --by")
        return Path(value)
    declared = info.parameters.get("data_path")
    if declared is None:
        raise ReportError(
            f"{info.path.name}: --by needs a 'data_path' parameter to read the segment "
            "values from, and the notebook declares none"
        )
    try:
        default = declared.default_value()
    except (ValueError, SyntaxError):
        default = None
    if not isinstance(default, str):
        raise ReportError(
            f"{info.path.name}: the default data_path ({declared.default}) is not a literal "
            "path; pass -p data_path FILE to use --by"
        )
    return info.path.parent / default  # the notebook runs in its own folder


def plan_reports(
    notebooks: Sequence[str | os.PathLike[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    by: str | None = None,
    config: str | os.PathLike[str] | None = None,
    name: str | None = None,
    notebook_dir: str | os.PathLike[str] = NOTEBOOK_DIR,
) -> list[ReportJob]:
    """Plan the reports to produce and validate all their parameters, running nothing.

    Parameters
    ----------
    notebooks : sequence of path, optional
        Notebooks to run; default: every ``*_report.ipynb`` in ``notebook_dir``. With a
        config, used for the entries that name no notebook.
    parameters : mapping, optional
        Values for every report; they override the config. Values may be
        :class:`~retention.reports.parameters.CommandLineValue` (command-line text). Relative
        ``*_path``/``*_file``/``*_dir`` values are relative to the current directory.
    by : str, optional
        Segment column: one report per distinct value, plus the total.
    config : path, optional
        YAML config (see :mod:`retention.reports.config`).
    name : str, optional
        Report name (or name prefix with ``by``) for the reports that have none.
    notebook_dir : path
        Where to look for report notebooks by default.

    Returns
    -------
    list of ReportJob

    Raises
    ------
    ReportError
        For anything that would make a report fail before it starts: missing notebook or
        data file, unknown parameter, wrong type, duplicate report name, bad config. All
        problems found are listed.

    Examples
    --------
    >>> jobs = plan_reports(by="channel")  # doctest: +SKIP
    >>> [j.name for j in jobs]  # doctest: +SKIP
    ['total', 'email', 'store', 'web']
    """
    cwd = Path.cwd()
    cli_params = resolve_paths(dict(parameters or {}), cwd)
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

    entries: list[tuple[Path, dict[str, Any]]] = []
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
            }
            entries.extend((Path(t), merged) for t in targets)
    else:
        for nb in default_notebooks():
            entries.append((nb, {"name": name, "by": by, "parameters": cli_params}))

    jobs: list[ReportJob] = []
    problems: list[str] = []
    taken: dict[str, set[str]] = {}
    for nb_path, entry in entries:
        try:
            info = inspect_notebook(nb_path)
            params = validate_parameters(info.path, entry["parameters"])
            folder = taken.setdefault(info.path.stem, set())
            prefix = entry["name"]
            if entry["by"] is None:
                label = prefix or DEFAULT_NAME
                report = slugify(label, fallback=DEFAULT_NAME)
                if report.casefold() in folder:
                    raise ReportError(
                        f"two reports of {info.path.name} would be named {report!r}; "
                        "give them different names"
                    )
                folder.add(report.casefold())
                jobs.append(ReportJob(info.path, report, label, params))
                continue
            column = entry["by"]
            missing = [p for p in ("segment_column", "segment_value") if p not in info.parameters]
            if missing:
                raise ReportError(
                    f"{info.path.name}: --by needs the notebook to declare "
                    f"{' and '.join(missing)} in its parameters cell"
                )
            values = segment_values(_data_path_for(info, params), column)
            pre = f"{slugify(prefix)}-" if prefix else ""
            total_label = f"{prefix} total" if prefix else "Total"
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
        except ReportError as exc:
            problems.append(str(exc))
    if problems:
        raise ReportError("\n".join(dict.fromkeys(problems)))
    return jobs
