"""Run parameterised report notebooks in batch: one executed notebook and HTML page per report.

This is the engine behind ``retention report``. :func:`run_reports` plans the reports,
checks every parameter against the notebook's declarations *before* anything runs,
executes each report with papermill, publishes HTML and writes the index page (see
:mod:`retention.reports.publish` for the files written and the key-figure convention).

Report notebooks
----------------
A report notebook has a cell tagged ``parameters`` with typed, commented defaults::

    data_path: str = "../data/sample_transactions.csv"  # transaction file
    freq: str = "M"  # period grain
    segment_column: str | None = None  # column that defines the segment (set by --by)
    segment_value: str | None = None  # segment to report on; None = every row

Declarations are read with :func:`papermill.inspect_notebook`, completed by a parse of
the cell for the forms papermill skips (it does not understand ``str | None``).
Supported annotations: ``str``, ``int``, ``float`` (an ``int`` is accepted), ``bool``,
``None``, ``X | Y``, ``Optional[X]``, ``Union[...]``, ``Literal[...]``, ``list[X]``,
``dict[K, V]``, ``tuple[...]``, ``Any``; undeclared or unknown types accept any value.

How reports are planned
-----------------------
- Notebooks: the ones given, or every ``notebooks/*_report.ipynb``.
- Parameters: the notebook's defaults, then a YAML config's ``defaults`` and report
  entries, then ``-p NAME VALUE`` options. ``-p`` values are parsed as YAML (``3`` is an
  int, ``true`` a bool, ``[a, b]`` a list), except that a value is kept as text when the
  parameter is declared ``str`` and when YAML would read it as a date.
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

Config file
-----------
A YAML list of reports, or a mapping with ``defaults`` and ``reports``:

.. code-block:: yaml

    defaults:
      notebook: notebooks/cohort_retention_report.ipynb   # or notebooks: [...]
      parameters: {freq: M}
    reports:
      - name: all-customers
      - name: weekly
        parameters: {freq: W}
      - by: channel                 # one report per channel, plus the total
        notebook: notebooks/clv_breakdown_report.ipynb

Each report entry takes ``notebook``, ``name``, ``parameters`` and ``by``; relative
notebook paths are relative to the config file.
"""

from __future__ import annotations

import ast
import difflib
import logging
import os
import re
import sys
import tempfile
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from retention.reports.publish import IndexEntry, _file_mode, export_html, read_summary, write_index

__all__ = [
    "CommandLineValue",
    "NotebookParameter",
    "ReportError",
    "ReportJob",
    "ReportResult",
    "find_report_notebooks",
    "load_config",
    "notebook_parameters",
    "plan_reports",
    "resolve_kernel",
    "run_report",
    "run_reports",
    "segment_values",
    "slugify",
    "validate_parameters",
]

#: Default folder searched for report notebooks.
NOTEBOOK_DIR = "notebooks"
#: Report notebooks are the files whose names end with this.
REPORT_SUFFIX = "_report.ipynb"
#: Fallback kernel when the notebook's kernel is not installed.
FALLBACK_KERNEL = "python3"
#: Name of the all-rows report made alongside the segments with ``by``.
TOTAL_NAME = "total"
#: Name of a report without a name or segment.
DEFAULT_NAME = "report"

_PATH_SUFFIXES = ("_path", "_file", "_dir", "_directory")


class ReportError(ValueError):
    """Reports cannot be set up: bad parameter, missing notebook or data, bad config.

    Raised before any notebook runs; the message says what to fix.
    """


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class NotebookParameter:
    """A parameter declared in a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : str
        Variable name.
    type_name : str or None
        The annotation as written (``"str | None"``), or ``None`` if not annotated.
    default : str
        The default value's source code.
    help : str
        The trailing comment.
    """

    name: str
    type_name: str | None
    default: str
    help: str = ""

    def default_value(self) -> Any:
        """Return the default as a Python value if it is a literal, else raise ValueError."""
        return ast.literal_eval(self.default)


@dataclass(frozen=True)
class _NotebookInfo:
    path: Path
    parameters: dict[str, NotebookParameter]
    has_parameters_cell: bool
    kernel_name: str | None


def _cell_definitions(source: str) -> list[NotebookParameter]:
    """Parse top-level assignments of a parameters cell (annotated or not)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)  # %magics -> Python
    except Exception:  # pragma: no cover - IPython is always there with ipykernel
        pass
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    found = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
            annotation: str | None = ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            annotation = None
        else:
            continue
        if node.value is None:
            continue
        tail = lines[node.end_lineno - 1][node.end_col_offset :] if node.end_lineno else ""
        help_text = tail.split("#", 1)[1].strip() if "#" in tail else ""
        for name in names:
            found.append(NotebookParameter(name, annotation, ast.unparse(node.value), help_text))
    return found


@lru_cache(maxsize=64)
def _inspect_cached(path: Path, mtime: float) -> _NotebookInfo:
    import nbformat
    import papermill

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if not cells:
        return _NotebookInfo(path, {}, False, kernel)
    with _quiet_papermill():
        inspected = papermill.inspect_notebook(str(path))
    from_papermill = {}
    for p in inspected.values():
        type_name = p["inferred_type_name"]
        from_papermill[p["name"]] = NotebookParameter(
            p["name"], None if type_name == "None" else type_name, p["default"], p["help"]
        )
    # papermill's line pattern skips `x: str | None = None` and lines with a second '='
    # (even in the comment); the AST finds every assignment, with the exact annotation.
    params: dict[str, NotebookParameter] = {}
    for p in _cell_definitions(cells[0].source):
        pm_param = from_papermill.get(p.name)
        if pm_param is not None:
            p = NotebookParameter(
                p.name, p.type_name or pm_param.type_name, p.default, pm_param.help or p.help
            )
        params[p.name] = p
    for name, p in from_papermill.items():
        params.setdefault(name, p)
    return _NotebookInfo(path, params, True, kernel)


def _inspect(notebook: str | os.PathLike[str]) -> _NotebookInfo:
    path = Path(notebook).resolve()
    if not path.is_file():
        raise ReportError(f"Notebook not found: {notebook}")
    try:
        return _inspect_cached(path, path.stat().st_mtime)
    except ReportError:
        raise
    except Exception as exc:
        raise ReportError(f"Cannot read notebook {notebook}: {exc}") from exc


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, NotebookParameter]:
    """Return the parameters a notebook declares, by name, in declaration order.

    Parameters
    ----------
    notebook : path
        A ``.ipynb`` file with a cell tagged ``parameters``.

    Returns
    -------
    dict of str to NotebookParameter
        Empty if the notebook has no ``parameters`` cell.

    Raises
    ------
    ReportError
        If the notebook does not exist or cannot be read.

    Examples
    --------
    >>> params = notebook_parameters("notebooks/cohort_retention_report.ipynb")  # doctest: +SKIP
    >>> params["data_path"].type_name  # doctest: +SKIP
    'str'
    """
    return dict(_inspect(notebook).parameters)


# --------------------------------------------------------------------------- type checks

_Check = Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _anything(v: Any) -> bool:
    return True


_SIMPLE: dict[str, _Check] = {
    "str": lambda v: isinstance(v, str),
    "int": _is_int,
    "float": _is_number,
    "complex": _is_number,
    "bool": lambda v: isinstance(v, bool),
    "None": lambda v: v is None,
    "NoneType": lambda v: v is None,
    "list": lambda v: isinstance(v, list | tuple),
    "List": lambda v: isinstance(v, list | tuple),
    "Sequence": lambda v: isinstance(v, list | tuple | str),
    "tuple": lambda v: isinstance(v, list | tuple),
    "Tuple": lambda v: isinstance(v, list | tuple),
    "set": lambda v: isinstance(v, list | tuple | set),
    "dict": lambda v: isinstance(v, dict),
    "Dict": lambda v: isinstance(v, dict),
    "Mapping": lambda v: isinstance(v, dict),
    "Path": lambda v: isinstance(v, str),
    "PathLike": lambda v: isinstance(v, str),
    "Any": _anything,
    "object": _anything,
}


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.Optional, pathlib.Path
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _check_for(node: ast.expr) -> _Check | None:
    """Build a value check from an annotation node; ``None`` means 'cannot check'."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "quoted" annotation
        try:
            return _check_for(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Subscript):
        outer = _name_of(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Optional":
            return _union([*args, ast.Constant(None)])
        if outer == "Union":
            return _union(args)
        if outer == "Literal":
            try:
                allowed = [ast.literal_eval(a) for a in args]
            except ValueError:
                return None
            return lambda v: any(type(v) is type(a) and v == a for a in allowed)
        if outer in {"list", "List", "Sequence", "set"} and len(args) == 1:
            item = _check_for(args[0]) or _anything
            return lambda v: isinstance(v, list | tuple) and all(item(x) for x in v)
        if outer in {"dict", "Dict", "Mapping"} and len(args) == 2:
            key, val = _check_for(args[0]) or _anything, _check_for(args[1]) or _anything
            return lambda v: isinstance(v, dict) and all(key(k) and val(x) for k, x in v.items())
        if outer in {"tuple", "Tuple"}:
            if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is ...:
                item = _check_for(args[0]) or _anything
                return lambda v: isinstance(v, list | tuple) and all(item(x) for x in v)
            checks = [_check_for(a) or _anything for a in args]
            return lambda v: (
                isinstance(v, list | tuple)
                and len(v) == len(checks)
                and all(c(x) for c, x in zip(checks, v, strict=True))
            )
        return _SIMPLE.get(outer or "")
    name = _name_of(node)
    return _SIMPLE.get(name) if name is not None else None


def _union(nodes: Sequence[ast.expr]) -> _Check | None:
    checks = [_check_for(n) for n in nodes]
    if any(c is None for c in checks):
        return None
    return lambda v: any(c(v) for c in checks)  # type: ignore[misc]


@lru_cache(maxsize=256)
def _type_check(type_name: str | None) -> _Check | None:
    if not type_name:
        return None
    try:
        return _check_for(ast.parse(type_name, mode="eval").body)
    except SyntaxError:
        return None


def value_matches(value: Any, type_name: str | None) -> bool:
    """Return whether ``value`` fits the annotation ``type_name`` (True if not checkable).

    Examples
    --------
    >>> value_matches(3, "float"), value_matches(True, "int"), value_matches(None, "str | None")
    (True, False, True)
    """
    check = _type_check(type_name)
    return True if check is None else bool(check(value))


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class CommandLineValue:
    """A parameter value typed as text (``-p NAME VALUE``), given its type once checked.

    The text is parsed as YAML; if the notebook declares a type that the parsed value
    does not fit but text does (``str``), the text itself is used. YAML dates stay text.

    Examples
    --------
    >>> CommandLineValue("3").parsed, CommandLineValue("2024-01-31").parsed
    (3, '2024-01-31')
    """

    text: str

    @property
    def parsed(self) -> Any:
        """The text read as YAML (plain text if it is not valid YAML)."""
        import yaml

        try:
            value = yaml.safe_load(self.text)
        except yaml.YAMLError:
            return self.text
        return _dates_as_text(value, self.text)


def _dates_as_text(value: Any, text: str | None = None) -> Any:
    """Turn YAML dates back into ISO strings (papermill cannot pass date objects)."""
    if isinstance(value, date):
        return text if text is not None else value.isoformat()
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def validate_parameters(
    notebook: str | os.PathLike[str], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """Check parameter values against a notebook's declarations and return them ready to pass.

    Every name must be declared in the notebook's ``parameters`` cell and every value
    must fit the declared annotation (an ``int`` is accepted for ``float``).
    :class:`CommandLineValue` items are parsed here (see its docstring).

    Parameters
    ----------
    notebook : path
        The notebook.
    parameters : mapping
        Name -> value.

    Returns
    -------
    dict
        The values to pass to papermill.

    Raises
    ------
    ReportError
        Naming each unknown parameter (with the closest declared names) and each value
        of the wrong type (with the value and the expected type).

    Examples
    --------
    >>> validate_parameters("notebooks/cohort_retention_report.ipynb",
    ...                     {"freq": 3})  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    ReportError: cohort_retention_report.ipynb: parameter 'freq' expects str, got 3 (int)
    """
    info = _inspect(notebook)
    declared = info.parameters
    problems: list[str] = []
    result: dict[str, Any] = {}
    for name, raw in parameters.items():
        if name not in declared:
            if not info.has_parameters_cell:
                problems.append(
                    f"unknown parameter {name!r}: the notebook has no cell tagged 'parameters'"
                )
            else:
                close = difflib.get_close_matches(name, list(declared), n=3)
                hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
                known = ", ".join(declared) or "none"
                problems.append(f"unknown parameter {name!r}{hint} (declared: {known})")
            continue
        type_name = declared[name].type_name
        if isinstance(raw, CommandLineValue):
            value = raw.parsed
            if not value_matches(value, type_name) and value_matches(raw.text, type_name):
                value = raw.text
        else:
            value = _dates_as_text(raw)
        if not value_matches(value, type_name):
            problems.append(f"parameter {name!r} expects {type_name}, got {_describe(value)}")
            continue
        if type_name == "float" and _is_int(value):
            value = float(value)
        result[name] = value
    if problems:
        head = f"{info.path.name}: "
        raise ReportError("\n".join(head + p for p in problems))
    return result


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


def _resolve_paths(parameters: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Make relative ``*_path``/``*_file``/``*_dir`` values absolute against ``base``."""
    out = {}
    for name, value in parameters.items():
        if name.endswith(_PATH_SUFFIXES):
            text = value.text if isinstance(value, CommandLineValue) else value
            if isinstance(text, str) and text and "://" not in text:
                path = Path(text).expanduser()
                if not path.is_absolute():
                    text = os.path.normpath(base / path)
                    value = CommandLineValue(text) if isinstance(value, CommandLineValue) else text
        out[name] = value
    return out


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


_ENTRY_KEYS = {"notebook", "name", "parameters", "by"}
_DEFAULT_KEYS = {"notebook", "notebooks", "parameters", "by"}


def load_config(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a YAML report config: ``(defaults, reports)``.

    Accepts a list of report entries, or a mapping with ``defaults`` and ``reports`` (see
    the module docstring). Relative notebook paths become absolute, relative to the file;
    so do relative ``*_path``/``*_file``/``*_dir`` parameter values.

    Raises
    ------
    ReportError
        If the file is missing, not valid YAML or not of the expected shape.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> cfg = pathlib.Path(tempfile.mkdtemp()) / "jobs.yml"
    >>> _ = cfg.write_text("- name: weekly\\n  parameters: {freq: W}\\n")
    >>> load_config(cfg)[1]
    [{'notebook': None, 'name': 'weekly', 'parameters': {'freq': 'W'}, 'by': None}]
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"Cannot read config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ReportError(f"{path.name} is not valid YAML: {exc}") from exc
    base = path.resolve().parent
    where = path.name

    def mapping(value: Any, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ReportError(f"{where}: {what} must be a mapping, got {_describe(value)}")
        return value

    def notebook_path(value: Any, what: str) -> Path:
        if not isinstance(value, str) or not value:
            raise ReportError(f"{where}: {what} must be a notebook path, got {_describe(value)}")
        return base / Path(value).expanduser()

    def text(value: Any, what: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ReportError(f"{where}: {what} must be text, got {_describe(value)}")

    if isinstance(data, list):
        raw_defaults: dict[str, Any] = {}
        raw_reports: Any = data
    elif isinstance(data, dict):
        extra = set(data) - {"defaults", "reports"}
        if extra:
            raise ReportError(
                f"{where}: unknown key(s) {', '.join(map(repr, sorted(extra)))}; "
                "expected 'defaults' and 'reports'"
            )
        raw_defaults = mapping(data.get("defaults"), "'defaults'")
        raw_reports = data.get("reports")
        if raw_reports is None:
            raw_reports = [{}]
    else:
        raise ReportError(f"{where}: expected a list of reports or a mapping with 'reports'")
    if not isinstance(raw_reports, list):
        raise ReportError(f"{where}: 'reports' must be a list, got {_describe(raw_reports)}")

    extra = set(raw_defaults) - _DEFAULT_KEYS
    if extra:
        raise ReportError(f"{where}: unknown key(s) in 'defaults': {', '.join(sorted(extra))}")
    notebooks = raw_defaults.get("notebooks")
    if notebooks is None and raw_defaults.get("notebook") is not None:
        notebooks = [raw_defaults["notebook"]]
    if notebooks is not None and not isinstance(notebooks, list):
        raise ReportError(f"{where}: 'defaults.notebooks' must be a list")
    defaults = {
        "notebooks": None
        if notebooks is None
        else [notebook_path(n, "'defaults.notebooks'") for n in notebooks],
        "parameters": _resolve_paths(
            _dates_as_text(mapping(raw_defaults.get("parameters"), "'defaults.parameters'")),
            base,
        ),
        "by": text(raw_defaults.get("by"), "'defaults.by'"),
    }
    reports = []
    for i, entry in enumerate(raw_reports, start=1):
        what = f"report {i}"
        entry = mapping(entry, what)
        extra = set(entry) - _ENTRY_KEYS
        if extra:
            raise ReportError(
                f"{where}: {what}: unknown key(s) {', '.join(map(repr, sorted(extra)))} "
                f"(expected {', '.join(sorted(_ENTRY_KEYS))})"
            )
        reports.append(
            {
                "notebook": None
                if entry.get("notebook") is None
                else notebook_path(entry["notebook"], f"{what}: 'notebook'"),
                "name": text(entry.get("name"), f"{what}: 'name'"),
                "parameters": _resolve_paths(
                    _dates_as_text(mapping(entry.get("parameters"), f"{what}: 'parameters'")),
                    base,
                ),
                "by": text(entry.get("by"), f"{what}: 'by'"),
            }
        )
    return defaults, reports


def _data_path_for(info: _NotebookInfo, parameters: Mapping[str, Any]) -> Path:
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
        :class:`CommandLineValue` (text from the command line). Relative
        ``*_path``/``*_file``/``*_dir`` values are relative to the current directory.
    by : str, optional
        Segment column: one report per distinct value, plus the total.
    config : path, optional
        YAML config (see the module docstring).
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
    cli_params = _resolve_paths(dict(parameters or {}), cwd)
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
        defaults, reports = load_config(config)
        if not reports:
            raise ReportError(f"{Path(config).name}: no reports listed")
        for entry in reports:
            if entry["notebook"] is not None:
                targets = [entry["notebook"]]
            else:
                targets = defaults["notebooks"] or default_notebooks()
            merged = {
                "name": entry["name"] if entry["name"] is not None else name,
                "by": by or entry["by"] or defaults["by"],
                "parameters": {**defaults["parameters"], **entry["parameters"], **cli_params},
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
            info = _inspect(nb_path)
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


# --------------------------------------------------------------------------- execution


_kernel_specs: Any = None


def resolve_kernel(kernel_name: str | None, *, requested: str | None = None) -> str:
    """Choose the kernel to run a notebook with.

    Parameters
    ----------
    kernel_name : str or None
        The notebook's kernelspec name.
    requested : str, optional
        A kernel asked for explicitly (``--kernel``); it must exist.

    Returns
    -------
    str
        ``requested`` if given; else ``kernel_name`` if jupyter_client knows it; else
        ``"python3"``, which jupyter_client resolves to the running interpreter.

    Raises
    ------
    ReportError
        If ``requested`` is not an installed kernel.

    Examples
    --------
    >>> resolve_kernel("no-such-kernel")
    'python3'
    """
    global _kernel_specs
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    if _kernel_specs is None:
        _kernel_specs = KernelSpecManager()

    def exists(name: str) -> bool:
        try:
            _kernel_specs.get_kernel_spec(name)
        except NoSuchKernel:
            return False
        return True

    if requested:
        if not exists(requested):
            known = ", ".join(sorted(_kernel_specs.find_kernel_specs())) or "none"
            raise ReportError(f"No kernel named {requested!r} (installed: {known})")
        return requested
    if kernel_name and exists(kernel_name):
        return kernel_name
    return FALLBACK_KERNEL


@dataclass
class ReportResult:
    """The outcome of one report.

    Attributes
    ----------
    job : ReportJob
        What was run.
    status : str
        ``"ok"`` or ``"failed"``.
    error : str or None
        For a failed report, the error (``"ValueError: ..."``).
    ipynb_path : Path or None
        The executed notebook; ``<name>.failed.ipynb`` for a failed report (``None`` if
        the notebook never started).
    html_path : Path or None
        The HTML page written; ``None`` for a failed report (the last good page, if any,
        is left untouched).
    summary : dict
        Key figures recorded by the notebook (see :mod:`retention.reports.publish`).
    kernel : str
        The kernel used.
    seconds : float
        Wall time.
    """

    job: ReportJob
    status: str
    error: str | None = None
    ipynb_path: Path | None = None
    html_path: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    kernel: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the report succeeded."""
        return self.status == "ok"

    @property
    def name(self) -> str:
        """The report name (file stem)."""
        return self.job.name

    @property
    def label(self) -> str:
        """The human-readable report name."""
        return self.job.label


class _DropParameterWarnings(logging.Filter):
    """Hide papermill's warnings about parameters it cannot parse: we parse them ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(("Passed unknown parameter", "Unable to parse line"))


@contextmanager
def _quiet_papermill() -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in ("papermill", "papermill.translators")]
    flt = _DropParameterWarnings()
    for logger in loggers:
        logger.addFilter(flt)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(flt)


def _kernel_arguments(kernel: str) -> list[str]:
    """Extra kernel arguments: keep ipykernel's start-up warnings out of batch output."""
    try:
        argv = _kernel_specs.get_kernel_spec(kernel).argv if _kernel_specs else []
    except Exception:
        return []
    if any("ipykernel" in str(a) for a in argv):
        return ["--IPKernelApp.log_level=ERROR"]
    return []


def _error_text(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename:  # papermill.PapermillExecutionError
        evalue = str(getattr(exc, "evalue", "")).strip()
        count = getattr(exc, "exec_count", None)
        where = f" (in cell [{count}])" if count else ""
        return f"{ename}: {evalue}{where}" if evalue else f"{ename}{where}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_report(
    job: ReportJob,
    output_dir: str | os.PathLike[str] = "reports",
    *,
    kernel: str | None = None,
    timeout: float | None = None,
) -> ReportResult:
    """Run one report: execute the notebook with papermill, then publish HTML.

    The notebook runs in its own folder (so relative data paths work) and is written to
    a temporary file; on success it becomes ``<name>.ipynb`` and its HTML
    ``<name>.html``; on failure it becomes ``<name>.failed.ipynb`` and the previous
    ``<name>.ipynb``/``.html`` are left as they were. Errors are recorded, not raised.

    Parameters
    ----------
    job : ReportJob
        The report (from :func:`plan_reports`).
    output_dir : path
        Output directory; the files go to ``<output_dir>/<notebook stem>/``.
    kernel : str, optional
        Kernel name (already resolved); default: :func:`resolve_kernel` on the notebook's.
    timeout : float, optional
        Time limit per cell, in seconds.

    Returns
    -------
    ReportResult

    Examples
    --------
    >>> result = run_report(plan_reports()[0])  # doctest: +SKIP
    >>> result.status  # doctest: +SKIP
    'ok'
    """
    import papermill

    start = time.perf_counter()
    folder = Path(output_dir).resolve() / job.folder
    folder.mkdir(parents=True, exist_ok=True)
    final_nb = folder / f"{job.name}.ipynb"
    failed_nb = folder / f"{job.name}.failed.ipynb"
    html_path = folder / f"{job.name}.html"
    kernel = kernel or resolve_kernel(_inspect(job.notebook).kernel_name)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{job.name}.", suffix=".running.ipynb")
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, _file_mode())
    result = ReportResult(job, "failed", kernel=kernel)
    try:
        with _quiet_papermill():
            nb = papermill.execute_notebook(
                str(job.notebook),
                str(tmp),
                parameters=dict(job.parameters),
                kernel_name=kernel,
                cwd=str(job.notebook.parent),
                progress_bar=False,
                execution_timeout=timeout,
                extra_arguments=_kernel_arguments(kernel),
            )
        result.summary = read_summary(nb)
        export_html(nb, html_path, title=f"{job.notebook.stem} · {job.label}")
        os.replace(tmp, final_nb)
        failed_nb.unlink(missing_ok=True)
        result.status, result.ipynb_path, result.html_path = "ok", final_nb, html_path
    except Exception as exc:
        result.error = _error_text(exc)
        if tmp.is_file() and tmp.stat().st_size > 0:
            os.replace(tmp, failed_nb)
            result.ipynb_path = failed_nb
        else:
            failed_nb.unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)
        result.seconds = time.perf_counter() - start
    return result


def _index_entry(result: ReportResult, output_dir: Path) -> IndexEntry:
    job = result.job

    def rel(path: Path | None) -> str | None:
        return None if path is None else path.relative_to(output_dir).as_posix()

    html_path = result.html_path
    if html_path is None:  # failed: link the last good page, if there is one
        previous = output_dir / job.folder / f"{job.name}.html"
        html_path = previous if previous.is_file() else None
    return IndexEntry(
        notebook=job.folder,
        name=job.name,
        label=job.label,
        status=result.status,
        error=result.error,
        html=rel(html_path),
        ipynb=rel(result.ipynb_path),
        summary=dict(result.summary),
        parameters=dict(job.parameters),
        segment_column=job.segment_column,
        segment_value=job.segment_value,
    )


def run_reports(
    notebooks: Sequence[str | os.PathLike[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    by: str | None = None,
    config: str | os.PathLike[str] | None = None,
    name: str | None = None,
    output_dir: str | os.PathLike[str] = "reports",
    kernel: str | None = None,
    timeout: float | None = None,
    progress: bool | None = None,
    notebook_dir: str | os.PathLike[str] = NOTEBOOK_DIR,
) -> list[ReportResult]:
    """Produce reports in batch: plan and validate, run each, publish HTML and the index.

    Every parameter of every report is checked before the first notebook runs. A report
    that fails does not stop the others; check ``result.ok`` (the ``retention report``
    command exits with status 1 if any failed). ``index.html`` and ``index.json`` in
    ``output_dir`` list every report, including those of earlier runs still on disk.

    Parameters
    ----------
    notebooks, parameters, by, config, name, notebook_dir
        What to run; see :func:`plan_reports`.
    output_dir : path, default "reports"
        Where reports go: ``<output_dir>/<notebook stem>/<report name>.html`` and
        ``.ipynb``, plus ``index.html``/``index.json``.
    kernel : str, optional
        Kernel for every notebook (must be installed). Default: each notebook's own
        kernel, or ``python3`` (this interpreter) if that is not installed.
    timeout : float, optional
        Time limit per cell, in seconds.
    progress : bool, optional
        Show a progress bar over reports on stderr; default: only if stderr is a terminal.

    Returns
    -------
    list of ReportResult
        One per report, in run order.

    Raises
    ------
    ReportError
        Before anything runs, for bad parameters, notebooks, data or config.

    Examples
    --------
    >>> results = run_reports(by="channel", parameters={"freq": "W"})  # doctest: +SKIP
    >>> [(r.label, r.status) for r in results]  # doctest: +SKIP
    [('Total', 'ok'), ('email', 'ok'), ('store', 'ok'), ('web', 'ok')]
    """
    from tqdm import tqdm

    jobs = plan_reports(
        notebooks, parameters, by=by, config=config, name=name, notebook_dir=notebook_dir
    )
    kernels = {
        job.notebook: resolve_kernel(_inspect(job.notebook).kernel_name, requested=kernel)
        for job in jobs
    }
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    results: list[ReportResult] = []
    with tqdm(jobs, desc="reports", unit="report", file=sys.stderr, disable=not show) as bar:
        for job in bar:
            bar.set_postfix_str(f"{job.folder}/{job.name}", refresh=True)
            results.append(run_report(job, out, kernel=kernels[job.notebook], timeout=timeout))
    write_index([_index_entry(r, out) for r in results], out)
    return results
