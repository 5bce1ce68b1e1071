"""The YAML report config (``retention report --config FILE``): a typed pydantic model of the
file, read and checked by :func:`load_config`.

Config file
-----------
A YAML list of reports, or a mapping with ``defaults`` and ``reports``:

.. code-block:: yaml

    data: {path: data/orders.csv, customer: client_id, date: day, amount: total}
    defaults:
      notebook: notebooks/cohort_retention_report.ipynb   # or notebooks: [...]
      parameters: {freq: M}
    reports:
      - name: all-customers
      - name: weekly
        parameters: {freq: W}
      - by: channel                 # one report per channel, plus the total
        notebook: notebooks/clv_breakdown_report.ipynb

Each report entry takes ``notebook``, ``name``, ``parameters``, ``by`` and ``data``;
``defaults`` takes ``notebook`` or ``notebooks``, ``parameters`` and ``by``; a top-level
``data`` section is the data spec of every report (:mod:`retention.reports.spec`: ``path``,
``customer``, ``date``, ``amount``, ``order``, ``sep``, ``decimal`` ...). Parameters go to
each notebook that declares them. Any other key is an error.
Relative notebook paths, and relative values of ``*_path``/``*_file``/``*_dir``
parameters, are relative to the config file. A mapping without ``reports`` is one report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from retention.reports.parameters import ReportError, dates_as_text, describe_value, resolve_paths
from retention.reports.spec import DataSpec

__all__ = ["ReportConfig", "ReportDefaults", "ReportEntry", "load_config"]


def _base(info: ValidationInfo) -> Path:
    """The folder relative paths are taken from: the config file's, else the current one."""
    context = info.context or {}
    return Path(context.get("base", Path.cwd()))


def _number_as_text(value: Any) -> Any:
    """YAML reads ``name: 2024`` as a number; a name or a column is text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _path_text(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        raise ValueError("should be a notebook path")
    return value


def _from_the_file(path: Path, info: ValidationInfo) -> Path:
    return _base(info) / path.expanduser()


def _none_as_empty(value: Any) -> Any:
    return {} if value is None else value


def _parameters_from_the_file(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    return resolve_paths(dates_as_text(value), _base(info))


def _spec_from_the_file(spec: DataSpec, info: ValidationInfo) -> DataSpec:
    return spec.resolved(_base(info))


#: A data spec; a relative path is from the file.
Data = Annotated[DataSpec, AfterValidator(_spec_from_the_file)]
#: A name or a column name: text (a number is taken as its text).
Text = Annotated[StrictStr, BeforeValidator(_number_as_text)]
#: A notebook path, relative to the config file.
NotebookPath = Annotated[Path, BeforeValidator(_path_text), AfterValidator(_from_the_file)]
#: Parameter values by name; YAML dates become ISO text, relative paths are from the file.
Parameters = Annotated[
    dict[StrictStr, Any],
    BeforeValidator(_none_as_empty),
    AfterValidator(_parameters_from_the_file),
]


class _Section(BaseModel):
    """A part of the file: unknown keys are errors, an empty section takes the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_default(cls, data: Any) -> Any:
        return {} if data is None else data


class ReportEntry(_Section):
    """One report entry (with ``by``, one report per segment value plus the total).

    Attributes
    ----------
    notebook : Path or None
        The notebook; ``None`` means the defaults' (or those given on the command line).
    name : str or None
        Report name, or name prefix with ``by``.
    parameters : dict
        Values for this entry; they override the defaults'.
    by : str or None
        Segment column.
    data : DataSpec
        The data this entry reads, where it differs from the config's ``data``.

    Examples
    --------
    >>> ReportEntry(name=2024, parameters={"freq": "W"}).name
    '2024'
    """

    notebook: NotebookPath | None = None
    name: Text | None = None
    parameters: Parameters = {}
    by: Text | None = None
    data: Data = DataSpec()


class ReportDefaults(_Section):
    """What every report entry gets unless it says otherwise.

    Attributes
    ----------
    notebook : Path or None
        The notebook for the entries that name none.
    notebooks : list of Path or None
        Several notebooks instead: each such entry runs on every one.
    parameters : dict
        Values for every entry.
    by : str or None
        Segment column for every entry.

    Examples
    --------
    >>> [p.name for p in ReportDefaults(notebook="a_report.ipynb").targets]
    ['a_report.ipynb']
    """

    notebook: NotebookPath | None = None
    notebooks: list[NotebookPath] | None = None
    parameters: Parameters = {}
    by: Text | None = None

    @property
    def targets(self) -> list[Path] | None:
        """The default notebooks (``notebooks``, else ``[notebook]``), or ``None``."""
        if self.notebooks is not None:
            return list(self.notebooks)
        return None if self.notebook is None else [self.notebook]


def _one_report(value: Any) -> Any:
    return [{}] if value is None else value


class ReportConfig(_Section):
    """A report config file: defaults and report entries.

    A YAML list is read as the ``reports`` of a config without defaults.

    Attributes
    ----------
    data : DataSpec
        The data every report reads (:mod:`retention.reports.spec`).
    defaults : ReportDefaults
        What every entry gets unless it says otherwise.
    reports : list of ReportEntry
        The entries, in file order (one entry with all defaults if the key is missing).

    Examples
    --------
    >>> config = ReportConfig.model_validate([{"name": "weekly"}, {"by": "channel"}])
    >>> [(r.name, r.by) for r in config.reports]
    [('weekly', None), (None, 'channel')]
    """

    data: Data = DataSpec()
    defaults: ReportDefaults = Field(default_factory=ReportDefaults)
    reports: Annotated[list[ReportEntry], BeforeValidator(_one_report)] = Field(
        default_factory=lambda: [ReportEntry()]
    )

    @model_validator(mode="before")
    @classmethod
    def _list_of_reports(cls, data: Any) -> Any:
        return {"reports": data} if isinstance(data, list) else data


# --------------------------------------------------------------------------- errors


def _where(loc: Sequence[int | str]) -> str:
    """Say where in the file an error is: ``report 2: 'name'``, ``'defaults.notebooks' item 1``."""
    parts: list[str] = []
    keys: list[str] = []
    for i, step in enumerate(loc):
        if isinstance(step, int) and i == 1 and loc[0] == "reports":
            parts, keys = [f"report {step + 1}"], []
        elif isinstance(step, int):
            parts.append(f"{'.'.join(keys)!r} item {step + 1}")
            keys = []
        else:
            keys.append(step)
    if keys:
        parts.append(repr(".".join(keys)))
    return ": ".join(parts)


def _at(loc: Sequence[int | str]) -> str:
    where = _where(loc)
    return f"{where}: " if where else ""


def _fields(loc: Sequence[int | str]) -> list[str]:
    section: type[BaseModel] = ReportConfig
    if "data" in loc:
        section = DataSpec
    elif loc:
        section = ReportDefaults if loc[0] == "defaults" else ReportEntry
    return sorted(section.model_fields)


def _problems(error: ValidationError) -> list[str]:
    """One line per problem; the unknown keys of one section on one line, first."""
    unknown: dict[tuple[int | str, ...], list[str]] = {}
    problems: list[str] = []
    for err in error.errors():
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(repr(loc[-1]))
            continue
        message = str(err.get("ctx", {}).get("error", "")) or err["msg"]
        problems.append(f"{_at(loc)}{message}, got {describe_value(err['input'])}")
    keys = [
        f"{_at(loc)}unknown key(s) {', '.join(names)} (expected {', '.join(_fields(loc))})"
        for loc, names in unknown.items()
    ]
    return keys + problems


def load_config(path: str | os.PathLike[str]) -> ReportConfig:
    """Read and check a YAML report config (see the module docstring).

    Relative notebook paths become absolute, relative to the file; so do relative
    ``*_path``/``*_file``/``*_dir`` parameter values. YAML dates become ISO text.

    Parameters
    ----------
    path : path
        The YAML file.

    Returns
    -------
    ReportConfig

    Raises
    ------
    ReportError
        If the file is missing or not valid YAML, or for every key or value not of the
        expected shape (naming the file, the entry and the key).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> cfg = pathlib.Path(tempfile.mkdtemp()) / "jobs.yml"
    >>> _ = cfg.write_text("- name: weekly\\n  parameters: {freq: W}\\n")
    >>> [(r.name, r.parameters) for r in load_config(cfg).reports]
    [('weekly', {'freq': 'W'})]
    >>> _ = cfg.write_text("- name: weekly\\n  parameter: {freq: W}\\n")
    >>> load_config(cfg)
    Traceback (most recent call last):
    ...
    retention.reports.parameters.ReportError: jobs.yml: report 1: unknown key(s) 'parameter' (expected by, data, name, notebook, parameters)
    """  # noqa: E501
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"Cannot read config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ReportError(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(data, list | dict):
        raise ReportError(
            f"{path.name}: expected a list of reports or a mapping with 'reports', "
            f"got {describe_value(data)}"
        )
    try:
        return ReportConfig.model_validate(data, context={"base": path.resolve().parent})
    except ValidationError as exc:
        raise ReportError("\n".join(f"{path.name}: {p}" for p in _problems(exc))) from None
