"""Notebook parameters: what a report notebook declares in its ``parameters`` cell, and the
values given for them, checked against the declared types with pydantic.

Report notebooks
----------------
A report notebook has a cell tagged ``parameters`` with typed, commented defaults::

    data_path: str = "../data/sample_transactions.csv"  # transaction file
    freq: str = "M"  # period grain
    segment_column: str | None = None  # column that defines the segment (set by --by)
    segment_value: str | None = None  # segment to report on; None = every row

Declarations are read from the notebook's JSON by a parse of the cell (every top-level
assignment, annotated or not, with its trailing comment as help), without starting
papermill or nbformat.

Each annotation becomes a :class:`pydantic.TypeAdapter` (:func:`type_adapter`). Supported:
``str``, ``int``, ``float`` (an ``int`` is accepted and passed as ``float``), ``bool``,
``None``, ``X | Y``, ``Optional[X]``, ``Union[...]``, ``Literal[...]``, ``list[X]``,
``set[X]``, ``dict[K, V]``, ``tuple[...]``, ``Sequence[X]``, ``Mapping[K, V]``, ``Path``
(given as text) and ``Any``. Values are never converted between kinds: text is not a number,
a bool is not an int, a number is not text. Undeclared or unknown types accept any value.
A checked value is passed on as papermill passes it, with JSON types: a tuple or set as a
list, a dict with text keys.

Values typed on the command line (``-p NAME VALUE``, :class:`CommandLineValue`) are parsed
as YAML (``3`` is an int, ``true`` a bool, ``[a, b]`` a list), except that a value is kept as
text when the parameter is declared ``str`` and when YAML would read it as a date.
"""

from __future__ import annotations

import ast
import difflib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    BeforeValidator,
    ConfigDict,
    PydanticSchemaGenerationError,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticSerializationError

__all__ = [
    "NONE_TEXTS",
    "PATH_SUFFIXES",
    "CommandLineValue",
    "NotebookInfo",
    "NotebookParameter",
    "ReportError",
    "dates_as_text",
    "describe_value",
    "inspect_notebook",
    "notebook_parameters",
    "quiet_papermill",
    "resolve_paths",
    "type_adapter",
    "validate_parameters",
    "value_matches",
]

#: Texts that mean ``None`` for a parameter that accepts ``None`` (``-p breakdown None``).
NONE_TEXTS = ("none", "null", "~")

#: Parameters whose names end like this hold paths (made absolute by :func:`resolve_paths`).
PATH_SUFFIXES = ("_path", "_file", "_dir", "_directory")


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

    Examples
    --------
    >>> NotebookParameter("freq", "str", "'M'", "period grain").default_value()
    'M'
    """

    name: str
    type_name: str | None
    default: str
    help: str = ""

    def default_value(self) -> Any:
        """Return the default as a Python value if it is a literal, else raise ValueError."""
        return ast.literal_eval(self.default)


@dataclass(frozen=True)
class NotebookInfo:
    """What running a notebook needs to know about it.

    Attributes
    ----------
    path : Path
        The notebook (absolute path).
    parameters : dict of str to NotebookParameter
        The declared parameters, in declaration order.
    has_parameters_cell : bool
        Whether a cell is tagged ``parameters``.
    kernel_name : str or None
        The kernelspec name in the notebook's metadata.
    """

    path: Path
    parameters: dict[str, NotebookParameter]
    has_parameters_cell: bool
    kernel_name: str | None


class _DropParameterWarnings(logging.Filter):
    """Hide papermill's warnings about parameters it cannot parse: they are parsed here."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(("Passed unknown parameter", "Unable to parse line"))


@contextmanager
def quiet_papermill() -> Iterator[None]:
    """Silence papermill's warnings about parameter lines it cannot parse, for the block.

    Examples
    --------
    >>> with quiet_papermill():
    ...     pass
    """
    loggers = [logging.getLogger(n) for n in ("papermill", "papermill.translators")]
    flt = _DropParameterWarnings()
    for logger in loggers:
        logger.addFilter(flt)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(flt)


def _cell_definitions(source: str) -> list[NotebookParameter]:
    """Parse top-level assignments of a parameters cell (annotated or not), with the trailing
    comment as help; IPython magics and shell lines are skipped."""
    lines = [
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    ]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
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
def _inspect_cached(path: Path, mtime: float) -> NotebookInfo:
    import json

    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [
        c for c in nb.get("cells", [])
        if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if not cells:
        return NotebookInfo(path, {}, False, kernel)
    source = cells[0]["source"]
    source = "".join(source) if isinstance(source, list) else source
    params = {p.name: p for p in _cell_definitions(source)}
    return NotebookInfo(path, params, True, kernel)


def inspect_notebook(notebook: str | os.PathLike[str]) -> NotebookInfo:
    """Read a notebook's parameter declarations and kernel (cached until the file changes).

    Raises
    ------
    ReportError
        If the notebook does not exist or cannot be read.

    Examples
    --------
    >>> inspect_notebook("nowhere.ipynb")
    Traceback (most recent call last):
    ...
    retention.reports.parameters.ReportError: Notebook not found: nowhere.ipynb
    """
    path = Path(notebook).resolve()
    if not path.is_file():
        raise ReportError(f"Notebook not found: {notebook}")
    try:
        return _inspect_cached(path, path.stat().st_mtime)
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
    return dict(inspect_notebook(notebook).parameters)


# --------------------------------------------------------------------------- types

#: Annotation names and what they mean for a value passed to a notebook. Scalars are
#: strict (no conversion between text, numbers and bools; an int is a valid float);
#: containers take any sequence or mapping, because YAML has no tuples or sets. A path is
#: passed as text, a set as a list in the order given.
_TYPES: dict[str, Any] = {
    "str": StrictStr,
    "int": StrictInt,
    # a complex parameter takes a real number: papermill passes values as JSON
    **dict.fromkeys(["float", "complex"], Annotated[float, Strict()]),
    "bool": StrictBool,
    "Mapping": Mapping,
    "Sequence": Sequence,
    "Optional": Optional,
    "Union": Union,
    "Literal": Literal,
    **dict.fromkeys(["None", "NoneType"], None),
    **dict.fromkeys(["Any", "object"], Any),
    **dict.fromkeys(["Path", "PathLike"], StrictStr),
    **dict.fromkeys(["list", "List", "set", "Set", "frozenset", "FrozenSet"], list),
    **dict.fromkeys(["tuple", "Tuple"], tuple),
    **dict.fromkeys(["dict", "Dict"], dict),
}


def _exact_literal(values: tuple[Any, ...]) -> Any:
    """``Literal[values]`` that also requires the value's type (``True`` is not ``1``)."""

    def same_type(value: Any) -> Any:
        if any(type(value) is type(v) and value == v for v in values):
            return value
        raise ValueError(f"Input should be one of {', '.join(map(repr, values))}")

    return Annotated[Literal[values], BeforeValidator(same_type)]


def _annotation(node: ast.expr) -> Any:
    """Build a type from an annotation's syntax tree, from the names in ``_TYPES`` only.

    Nothing is evaluated: names are looked up, subscripts and ``|`` are applied. Raises
    ``KeyError``, ``TypeError`` or ``ValueError`` for anything else.
    """
    if isinstance(node, ast.Constant):
        if node.value is None or node.value is Ellipsis:
            return node.value
        if isinstance(node.value, str):  # a quoted annotation
            return _annotation(ast.parse(node.value, mode="eval").body)
    elif isinstance(node, ast.Name):
        return _TYPES[node.id]
    elif isinstance(node, ast.Attribute):  # typing.Optional, pathlib.Path
        return _TYPES[node.attr]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return Union[_annotation(node.left), _annotation(node.right)]  # noqa: UP007 (None | None)
    elif isinstance(node, ast.Subscript):
        origin = _annotation(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if origin is Literal:
            return _exact_literal(tuple(ast.literal_eval(item) for item in items))
        args = tuple(_annotation(item) for item in items)
        return origin[args if len(args) > 1 else args[0]]
    raise ValueError(f"unsupported annotation: {ast.unparse(node)}")


#: Infinite floats stay floats when a value is turned into what papermill passes.
_PASSED_AS_JSON = ConfigDict(ser_json_inf_nan="constants")


@lru_cache(maxsize=256)
def type_adapter(type_name: str | None) -> TypeAdapter[Any] | None:
    """Return the pydantic validator for an annotation, or ``None`` if it cannot be checked.

    Parameters
    ----------
    type_name : str or None
        The annotation as written in the notebook (``"str | None"``, ``"list[int]"``).

    Returns
    -------
    pydantic.TypeAdapter or None
        ``None`` for a missing annotation or one made of unknown names (any value fits).

    Examples
    --------
    >>> type_adapter("float").validate_python(3)
    3.0
    >>> type_adapter("tuple[int, int]").validate_python([1, 2])
    (1, 2)
    >>> type_adapter("SomeClass[int]") is None
    True
    """
    if not type_name:
        return None
    try:
        annotation = _annotation(ast.parse(type_name, mode="eval").body)
        return TypeAdapter(annotation, config=_PASSED_AS_JSON)
    except (KeyError, TypeError, ValueError, SyntaxError, PydanticSchemaGenerationError):
        return None


def value_matches(value: Any, type_name: str | None) -> bool:
    """Return whether ``value`` fits the annotation ``type_name`` (True if not checkable).

    Examples
    --------
    >>> value_matches(3, "float"), value_matches(True, "int"), value_matches(None, "str | None")
    (True, False, True)
    >>> value_matches("3", "int"), value_matches(["a"], "list[str]")
    (False, True)
    """
    adapter = type_adapter(type_name)
    if adapter is None:
        return True
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


# --------------------------------------------------------------------------- values


def dates_as_text(value: Any, text: str | None = None) -> Any:
    """Turn YAML dates back into ISO strings (papermill cannot pass date objects).

    ``text``, if given, replaces a date at the top level (the text it was read from).

    Examples
    --------
    >>> import datetime
    >>> dates_as_text({"end": datetime.date(2024, 1, 31), "n": [datetime.date(2024, 2, 1)]})
    {'end': '2024-01-31', 'n': ['2024-02-01']}
    """
    if isinstance(value, date):
        return text if text is not None else value.isoformat()
    if isinstance(value, dict):
        return {k: dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dates_as_text(v) for v in value]
    return value


def describe_value(value: Any) -> str:
    """Show a value with its type, as error messages do.

    Examples
    --------
    >>> describe_value(2.5)
    '2.5 (float)'
    """
    return f"{value!r} ({type(value).__name__})"


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
        return dates_as_text(value, self.text)


def resolve_paths(parameters: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Make relative ``*_path``/``*_file``/``*_dir`` values absolute against ``base``.

    Other values, absolute paths and URLs are kept as they are.

    Examples
    --------
    >>> from pathlib import Path
    >>> resolve_paths({"data_path": "tx.csv", "freq": "M"}, Path("/srv/jobs"))
    {'data_path': '/srv/jobs/tx.csv', 'freq': 'M'}
    """
    out = {}
    for name, value in parameters.items():
        if name.endswith(PATH_SUFFIXES):
            text = value.text if isinstance(value, CommandLineValue) else value
            if isinstance(text, str) and text and "://" not in text:
                path = Path(text).expanduser()
                if not path.is_absolute():
                    text = os.path.normpath(base / path)
                    value = CommandLineValue(text) if isinstance(value, CommandLineValue) else text
        out[name] = value
    return out


def _validated(value: Any, adapter: TypeAdapter[Any] | None) -> Any:
    """Check ``value`` and return it as papermill passes it: JSON types (tuples as lists)."""
    if adapter is None:
        return value
    checked = adapter.validate_python(value)
    try:
        return adapter.dump_python(checked, mode="json")
    except PydanticSerializationError:  # Any holding an object: passed as given
        return checked


def validate_parameters(
    notebook: str | os.PathLike[str], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """Check parameter values against a notebook's declarations and return them ready to pass.

    Every name must be declared in the notebook's ``parameters`` cell and every value
    must fit the declared annotation (see :func:`type_adapter`; an ``int`` given for a
    ``float`` is passed as ``float``). :class:`CommandLineValue` items are parsed here.
    ``None``, ``none`` and ``null`` (:data:`NONE_TEXTS`) mean ``None`` for a parameter
    that accepts ``None``.

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
    info = inspect_notebook(notebook)
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
        adapter = type_adapter(type_name)
        value = raw.parsed if isinstance(raw, CommandLineValue) else dates_as_text(raw)
        text = raw.text if isinstance(raw, CommandLineValue) else value
        if (
            isinstance(text, str)
            and text.strip().lower() in NONE_TEXTS
            and value_matches(None, type_name)
        ):
            result[name] = None  # None, none, null: None wherever None is allowed
            continue
        try:
            result[name] = _validated(value, adapter)
            continue
        except ValidationError:
            pass
        if isinstance(raw, CommandLineValue):
            try:  # the text itself, for a parameter declared as text
                result[name] = _validated(raw.text, adapter)
                continue
            except ValidationError:
                pass
        problems.append(f"parameter {name!r} expects {type_name}, got {describe_value(value)}")
    if problems:
        head = f"{info.path.name}: "
        raise ReportError("\n".join(head + p for p in problems))
    return result
