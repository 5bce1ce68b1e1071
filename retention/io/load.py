"""Load a transaction log into the canonical schema, with a validation report.

Canonical columns: ``customer_id`` (kept as given), ``order_date`` (datetime64[ns], tz-naive),
``revenue`` (float; negative = refund) and, when mapped, ``order_id``. Every other column is
kept as a segment attribute.

Rows that cannot be used (missing customer, unparseable date, non-numeric amount) stop the
load with a :class:`ValueError` naming the column, the count and examples — unless
``drop_invalid=True``, in which case they are excluded and the report says how many and which.
Rows that are valid but worth knowing about (refunds, exact duplicates, future dates) are kept
and counted in the report. The frame carries its counts and a few examples as plain values in
``tx.attrs["validation"]`` (so it saves to Parquet); ``return_report=True`` also returns the
:class:`ValidationReport` itself, with the excluded rows.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import threading
import warnings
import zipfile
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from retention.checks import _small_pages, examples, json_value, require_columns
from retention.engine.frame import sorted_in_halves
from retention.io import dialect as dialect_mod, tables
from retention.io.cache import cache_file, write_cache

__all__ = ["CANONICAL", "Finding", "ValidationReport", "duplicated_rows", "load_transactions",
           "read_header", "read_table", "row_notes"]

CANONICAL = ("customer_id", "order_date", "revenue", "order_id")

_READERS = {
    ".csv": pd.read_csv,
    ".tsv": pd.read_csv,
    ".txt": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
    ".xlsx": pd.read_excel,
    ".xlsm": pd.read_excel,
    ".xls": pd.read_excel,
}
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
#: Longest value an error message or a finding echoes (longer ones end in an ellipsis).
SHOWN_CHARS = 60


def shorten(value: Any, limit: int = SHOWN_CHARS) -> Any:
    """``value``, or the first ``limit - 1`` characters of a long text (or of the ``repr`` of
    a long object) and an ellipsis.

    Examples
    --------
    >>> shorten("x" * 2_000_000)[-3:], len(shorten("x" * 2_000_000))
    ('xx…', 60)
    >>> shorten(12.5)
    12.5
    """
    if isinstance(value, str | bytes) or not isinstance(value, int | float | type(None)):
        text = value if isinstance(value, str) else repr(value)
        if len(text) > limit:
            return text[: limit - 1] + "…"
    return value


@dataclass(frozen=True)
class Finding:
    """One kind of problem found in one column."""

    column: str
    problem: str
    count: int
    examples: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "column", shorten(self.column))
        object.__setattr__(self, "examples", tuple(shorten(e) for e in self.examples))

    def __str__(self) -> str:
        shown = ", ".join(repr(e) for e in self.examples)
        return f"{self.column}: {self.count:,} rows {self.problem}" + (
            f" (e.g. {shown})" if shown else ""
        )

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain (JSON-serialisable) values."""
        return {
            "column": str(self.column),
            "problem": self.problem,
            "count": int(self.count),
            "examples": [repr(e) if isinstance(e, float) and math.isinf(e) else json_value(e)
                         for e in self.examples],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The finding :meth:`to_dict` wrote."""
        return cls(data["column"], data["problem"], int(data["count"]), tuple(data["examples"]))


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`load_transactions` read, kept, excluded and noticed.

    Attributes
    ----------
    source : str
        File path or ``"DataFrame"``.
    rows_read, rows_kept : int
        Rows in the input and in the returned frame.
    excluded : list of Finding
        Reasons rows were dropped (only with ``drop_invalid=True``), with counts and examples.
    excluded_rows : DataFrame
        The dropped rows themselves, as read, so nothing is lost (empty in a report rebuilt
        by :meth:`from_attrs`).
    notes : list of Finding
        Rows kept but worth knowing about: refunds, exact duplicates, future-dated orders.
    dialect : dict
        How the source was read, as plain values: ``encoding``, ``sep``, ``decimal``,
        ``thousands``, ``compression`` (text files), ``sheet`` and ``other_sheets`` (Excel),
        ``date_format`` and ``dayfirst`` (every source), and ``detected``: the names of those
        found rather than given.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"customer_id": ["a", None], "order_date": ["2024-01-03", "2024-01-04"],
    ...                     "revenue": [20.0, 5.0]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     tx, report = load_transactions(raw, drop_invalid=True, return_report=True)
    >>> report.rows_excluded, len(report.excluded_rows)
    (1, 1)
    >>> tx.attrs["validation"]["rows_excluded"]
    1
    >>> print(ValidationReport.from_attrs(tx))
    DataFrame: 2 rows read, 1 kept
      dates ISO8601 (detected: date_format)
      excluded customer_id: 1 rows with a missing customer id (e.g. None)
    """

    source: str
    rows_read: int
    rows_kept: int
    excluded: list[Finding] = field(default_factory=list)
    excluded_rows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    notes: list[Finding] = field(default_factory=list)
    dialect: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_excluded(self) -> int:
        return self.rows_read - self.rows_kept

    def __str__(self) -> str:
        lines = [f"{self.source}: {self.rows_read:,} rows read, {self.rows_kept:,} kept"]
        described = describe_dialect(self.dialect)
        lines += [f"  {described}"] if described else []
        lines += [f"  excluded {f}" for f in self.excluded]
        lines += [f"  kept {f}" for f in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Counts and examples as plain (JSON-serialisable) values, without the excluded rows:
        what ``tx.attrs["validation"]`` holds."""
        return {
            "source": self.source,
            "rows_read": int(self.rows_read),
            "rows_kept": int(self.rows_kept),
            "rows_excluded": int(self.rows_excluded),
            "excluded": [f.to_dict() for f in self.excluded],
            "notes": [f.to_dict() for f in self.notes],
            "dialect": json_value(self.dialect),
        }

    @classmethod
    def from_attrs(cls, data: pd.DataFrame | dict[str, Any]) -> ValidationReport:
        """The report of a loaded frame (or of its ``attrs["validation"]`` dict), rebuilt from
        the plain values; ``excluded_rows`` is empty (ask ``load_transactions`` for
        ``return_report=True`` to keep the rows).

        Raises
        ------
        ValueError
            The frame carries no validation report (it did not come from
            :func:`load_transactions`, or its ``attrs`` were lost).
        """
        attrs = data.attrs.get("validation") if hasattr(data, "attrs") else data
        if not isinstance(attrs, dict):
            raise ValueError(
                "no validation report in attrs['validation']; load the data with "
                "retention.load_transactions (pass return_report=True to keep the report)."
            )
        return cls(
            source=attrs["source"],
            rows_read=int(attrs["rows_read"]),
            rows_kept=int(attrs["rows_kept"]),
            excluded=[Finding.from_dict(f) for f in attrs.get("excluded", [])],
            notes=[Finding.from_dict(f) for f in attrs.get("notes", [])],
            dialect=dict(attrs.get("dialect", {})),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: action (excluded / kept), column, problem, count, examples."""
        rows = [("excluded", f) for f in self.excluded] + [("kept", f) for f in self.notes]
        return pd.DataFrame(
            [(a, f.column, f.problem, f.count, list(f.examples)) for a, f in rows],
            columns=["action", "column", "problem", "count", "examples"],
        )


def describe_dialect(dialect: dict[str, Any]) -> str:
    """One line saying how a source was read (empty when there is nothing to say).

    Examples
    --------
    >>> print(describe_dialect({"encoding": "cp1251", "sep": ";", "decimal": ",",
    ...                         "thousands": None, "date_format": "%d.%m.%Y", "dayfirst": True,
    ...                         "detected": ["encoding", "sep", "decimal", "date_format"]}))
    read as ';'-separated, decimal ',', cp1251; dates day-first %d.%m.%Y (detected: encoding, \
sep, decimal, date_format)
    """
    parts = []
    if dialect.get("sep") is not None:
        sep = {"\t": "tab"}.get(dialect["sep"], repr(dialect["sep"]))
        text = f"read as {sep}-separated, decimal {dialect.get('decimal') or '.'!r}"
        if dialect.get("thousands"):
            text += f", thousands {dialect['thousands']!r}"
        if dialect.get("encoding"):
            text += f", {dialect['encoding']}"
        if dialect.get("compression"):
            text += f", {dialect['compression']}-compressed"
        parts.append(text)
    if dialect.get("sheet") is not None:
        text = f"read sheet {dialect['sheet']!r}"
        if dialect.get("other_sheets"):
            text += " (other sheets: " + ", ".join(map(repr, dialect["other_sheets"])) + ")"
        parts.append(text)
    if dialect.get("date_format"):
        order = {True: "day-first ", False: "month-first "}.get(dialect.get("dayfirst"), "")
        parts.append(f"dates {order}{dialect['date_format']}")
    if not parts:
        return ""
    detected = dialect.get("detected") or []
    return "; ".join(parts) + (f" (detected: {', '.join(detected)})" if detected else "")


def _file_kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in _READERS:
        raise ValueError(
            f"Cannot read {path.name!r}: unknown file type {suffix!r}; use one of "
            f"{', '.join(sorted(_READERS))} or pass a DataFrame."
        )
    return suffix


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"No file at {str(path)!r}.")
    if path.stat().st_size == 0:
        raise ValueError(f"The file {str(path)!r} is empty (0 bytes).")


def _sheet_choice(path: Path, sheet: str | int | None) -> tuple[str, list[str]]:
    try:
        with pd.ExcelFile(path) as workbook:
            names = list(workbook.sheet_names)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"{path.name!r} is not a readable Excel workbook ({shorten(str(exc))}): it looks "
            f"like {dialect_mod.looks_like(path)}. Name the file after its format (.csv, "
            ".parquet)."
        ) from None
    if sheet is None:
        return names[0], names[1:]
    if isinstance(sheet, bool) or not isinstance(sheet, str | int):
        raise ValueError(f"sheet must be a sheet name or a 0-based index, got {sheet!r}.")
    if isinstance(sheet, int):
        if not -len(names) <= sheet < len(names):
            raise ValueError(
                f"{path.name!r} has {len(names)} sheet(s) {names}; there is no sheet {sheet}."
            )
        chosen = names[sheet]
    elif sheet not in names:
        raise ValueError(f"{path.name!r} has no sheet {sheet!r}; its sheets are {names}.")
    else:
        chosen = sheet
    return chosen, [n for n in names if n != chosen]


def _read_excel(path: Path, sheet, text_columns, columns, read_kwargs) -> tuple[pd.DataFrame, dict]:
    chosen, others = _sheet_choice(path, sheet)
    kwargs = dict(read_kwargs)
    if text_columns:
        kwargs.setdefault("dtype", {c: str for c in text_columns})
    frame = pd.read_excel(path, sheet_name=chosen, **kwargs)
    if _first_row_is_header(kwargs) and _renamed_duplicates(frame.columns):
        # pandas renamed a repeated name ("x", "x.1"): the first row tells
        header = pd.read_excel(path, sheet_name=chosen, header=None, nrows=1)
        refuse_duplicate_columns(header.iloc[0].tolist() if len(header) else [], path.name)
    if columns is not None:
        require_columns(frame, list(columns), what=path.name)
        frame = frame[list(columns)]
    dialect = {"sheet": chosen, "other_sheets": others,
               "detected": ["sheet"] if sheet is None else []}
    return frame, dialect


def _read_parquet(path: Path, columns, date: str | None, customer: str | None = None
                  ) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path, memory_map=True)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{path.name!r} is not a readable Parquet file ({exc}).") from None
    refuse_duplicate_columns(file.schema_arrow.names, path.name)
    if columns is not None:
        require_columns(pd.DataFrame(columns=file.schema_arrow.names), list(columns),
                        what=path.name)
    table = file.read(columns=list(columns) if columns is not None else None,
                      use_pandas_metadata=True)
    if date is not None and date in table.column_names:
        i = table.column_names.index(date)
        if pa.types.is_string(table.schema.field(i).type) or pa.types.is_large_string(
            table.schema.field(i).type
        ):
            # few distinct days: parse the dictionary, not every row
            table = table.set_column(i, date, pc.dictionary_encode(table.column(i)))
    return _to_pandas(_categorical_ids(table, customer))


def _first_row_is_header(read_kwargs: dict) -> bool:
    return read_kwargs.get("header", 0) == 0 and "names" not in read_kwargs


def _renamed_duplicates(columns: pd.Index) -> bool:
    """Whether some name looks like pandas' renaming of a repeated one (``x.1`` beside
    ``x``)."""
    names = set(map(str, columns))
    return any(
        (m := re.fullmatch(r"(.*)\.\d+", name)) is not None and m.group(1) in names
        for name in names
    )


def refuse_duplicate_columns(names: Sequence[Any], what: str) -> None:
    """Raise a ValueError naming each column name that occurs more than once (with how many
    times and where), since reading would keep one and rename or hide the others.

    Examples
    --------
    >>> refuse_duplicate_columns(["id", "day", "total", "total"], "tx.csv")
    Traceback (most recent call last):
    ...
    ValueError: tx.csv has 2 columns named 'total' (columns 3 and 4): rename them so that each \
column has its own name.
    """
    seen: dict[Any, list[int]] = {}
    for i, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(i)
    repeated = {name: at for name, at in seen.items() if len(at) > 1}
    if repeated:
        listed = "; ".join(
            f"{len(at)} columns named {shorten(name)!r} (columns "
            f"{', '.join(map(str, at[:-1]))} and {at[-1]})" for name, at in repeated.items()
        )
        raise ValueError(
            f"{what} has {listed}: rename them so that each column has its own name."
        )


def _to_pandas(table) -> pd.DataFrame:
    """The table as a DataFrame, freeing the Arrow buffers as they are converted and handing
    the freed memory back to the system."""
    import pyarrow as pa

    # a large dictionary of text (the customer ids) is handed over as it is: pyarrow would
    # make a Python string of each entry, which pandas then turns back into Arrow text
    large = {
        name: column.chunk(0)
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.num_chunks == 1 and pa.types.is_dictionary(column.type)
        and pa.types.is_string(column.type.value_type) and len(column.chunk(0).dictionary) > 1024
    }
    names = table.column_names
    if len(set(names)) < len(names):
        large = {}
    rest = table.drop_columns(list(large)) if large else table
    del table
    frame = rest.to_pandas(self_destruct=True, split_blocks=True)
    del rest
    if large:
        columns = {}
        for name in names:
            column = large.pop(name, None)
            if column is None:
                columns[name] = frame[name]
                continue
            indices = column.indices.fill_null(-1) if column.null_count else column.indices
            columns[name] = pd.Categorical.from_codes(
                indices.to_numpy(), categories=pd.Index(column.dictionary.to_pandas()),
                ordered=column.type.ordered)
        frame = pd.DataFrame(columns, copy=False)  # the codes stay in the Arrow buffer
    pa.default_memory_pool().release_unused()
    return frame


def _csv_options(options: dict, column_types: dict, names: list[str] | None) -> dict:
    """The pyarrow CSV options of a dialect."""
    import pyarrow.csv as pacsv

    return {
        "read_options": pacsv.ReadOptions(
            encoding=options["encoding"], block_size=1 << 22
        ),
        "parse_options": pacsv.ParseOptions(
            delimiter=options["sep"], newlines_in_values=options["multiline"]
        ),
        "convert_options": pacsv.ConvertOptions(
            column_types=column_types,
            decimal_point=options["decimal"],
            strings_can_be_null=True,
            include_columns=names,
            timestamp_parsers=[],
        ),
    }


def _arrow_csv(path, options: dict, column_types: dict, names: list[str] | None):
    """Read a CSV with pyarrow; a column whose values defeat the inferred type is re-read as
    text (once per such column)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    column_types = dict(column_types)
    for _ in range(64):
        source = _arrow_source(path, options["compression"])
        try:
            # the streaming reader holds one block of text at a time: half the memory of
            # read_csv, and as fast
            return pacsv.open_csv(
                source, **_csv_options(options, column_types, names)).read_all()
        except pa.ArrowInvalid as exc:
            message = str(exc)
            found = re.search(r"In CSV column #(\d+): .*conversion error", message)
            if found is None:
                raise
            header = _arrow_header(path, options)
            column = header[int(found.group(1))]
            if column in column_types:
                raise
            column_types[column] = pa.string()
    raise ValueError(f"cannot read {Path(path).name!r}")  # pragma: no cover


def _arrow_source(path: Path, compression: str | None):
    import pyarrow as pa

    if compression is None:
        return str(path)
    if compression in ("gzip", "bz2", "zstd"):
        return pa.CompressedInputStream(pa.OSFile(str(path)), compression)
    return dialect_mod.open_binary(path)


def _arrow_header(path: Path, options: dict) -> list[str]:
    text = options["sample"]
    first = text.splitlines()[0] if text else ""
    return next(csv.reader([first], delimiter=options["sep"]))


def _first_non_ascii(path: Path) -> bytes:
    with dialect_mod.open_binary(path) as f:
        while chunk := f.read(1 << 24):
            if not chunk.isascii():
                at = re.search(rb"[\x80-\xff]", chunk).start()
                return chunk[max(0, at - 4096): at + dialect_mod.SAMPLE_BYTES]
    return b""


def _read_csv(
    path: Path,
    *,
    kind: str,
    sep: str | None,
    decimal: str | None,
    thousands: str | None,
    encoding: str | None,
    amount: str | None,
    text_columns: Sequence[str],
    date: str | None,
    columns: Sequence[str] | None,
    read_kwargs: dict,
    customer: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    import pyarrow as pa

    with open(path, "rb") as f:
        head = f.read(8)
    compression = dialect_mod.compression_of(head)
    sample = dialect_mod.sample_bytes(path)
    dialect_mod.refuse_binary(sample, path.name, compression)
    detected = []
    if encoding is None:
        encoding = _file_encoding(sample, path)
        detected.append("encoding")
    if len(sample) == dialect_mod.SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # whole lines only
    text = sample.decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    if sep is None:
        sep = "\t" if kind == ".tsv" else None
        if sep is None:
            try:
                sep = dialect_mod.detect_separator(text)
            except ValueError as exc:
                raise ValueError(f"{path.name!r}: {exc}") from None
            detected.append("sep")
    lines = text.splitlines()
    body = "\n".join(lines)
    header = next(csv.reader([lines[0]], delimiter=sep)) if lines and len(sep) == 1 else []
    if _first_row_is_header(read_kwargs):
        refuse_duplicate_columns(header, path.name)
    if decimal is None or thousands is None:
        values: list[str] = []
        if amount is not None and amount in header and "header" not in read_kwargs:
            k = header.index(amount)
            rows = csv.reader(io.StringIO(body), delimiter=sep)
            next(rows, None)
            values = [r[k] for r in rows if len(r) > k]
        decimal, thousands = _number_marks(decimal, thousands, values, detected)
    dialect = {
        "encoding": encoding,
        "sep": sep,
        "decimal": decimal,
        "thousands": thousands,
        "compression": compression,
        "detected": detected,
    }
    multiline = '"' in body and sum(1 for _ in csv.reader(io.StringIO(body), delimiter=sep)) < len(
        [x for x in body.split("\n")]
    )
    arrow_ok = (len(sep) == 1 and not read_kwargs and len(decimal) == 1)
    if columns is not None and header and not read_kwargs:
        require_columns(pd.DataFrame(columns=header), list(columns), what=path.name)
    if not arrow_ok:
        kwargs = dict(read_kwargs)
        kwargs.setdefault("dtype", {c: str for c in [*text_columns, date] if c is not None})
        if columns is not None:
            kwargs.setdefault("usecols", list(columns))
        with dialect_mod.open_binary(path) as f:
            frame = pd.read_csv(f, sep=sep, decimal=decimal, thousands=thousands,
                                encoding=encoding, **kwargs)
        if columns is not None:
            require_columns(frame, list(columns), what=path.name)
        return frame, dialect
    column_types: dict[str, Any] = {c: pa.string() for c in text_columns if c in header}
    if date is not None and date in header:
        column_types[date] = pa.dictionary(pa.int32(), pa.string())
    if thousands is not None and amount in header:
        column_types[amount] = pa.string()
    options = {"sep": sep, "decimal": decimal, "encoding": _arrow_encoding(encoding),
               "compression": compression, "multiline": multiline, "sample": text}
    include = list(columns) if columns else None
    try:
        table = _arrow_csv(path, options, column_types, include)
        if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types):
            raise pa.ArrowInvalid("invalid UTF8 text in a column read as binary")
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "UTF-8" in message or "utf-8" in message:
            if "encoding" not in detected or encoding not in ("utf-8", "utf-8-sig"):
                raise ValueError(
                    f"{path.name!r} is not valid {encoding} text; pass encoding=."
                ) from None
            # the sample was ASCII; the first non-ASCII bytes tell the encoding
            later = _first_non_ascii(path)
            encoding = dialect_mod.detect_encoding(later) if later else "utf-8"
            dialect["encoding"] = encoding
            options["encoding"] = _arrow_encoding(encoding)
            table = _arrow_csv(path, options, column_types, include)
        elif "Empty CSV file" in message:
            raise ValueError(f"The file {str(path)!r} is empty: no header and no rows.") from None
        else:
            raise ValueError(
                f"cannot read {path.name!r} as CSV ({shorten(message, 3 * SHOWN_CHARS)}); it "
                f"looks like {dialect_mod.looks_like(path)}."
            ) from None
    table = _integer_ids(table, [c for c in text_columns if c in table.column_names])
    return _to_pandas(_categorical_ids(table, customer)), dialect


def _file_encoding(sample: bytes, path: Path) -> str:
    """The detected encoding of a file's first bytes; a ValueError naming the file."""
    try:
        return dialect_mod.detect_encoding(sample)
    except ValueError as exc:
        raise ValueError(
            f"{path.name!r}: {exc} It looks like {dialect_mod.looks_like(path)}."
        ) from None


@contextmanager
def _reading(path: Path):
    """Errors of decoding, decompressing or splitting a text file, as ValueErrors naming
    the file and saying what it looks like."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path.name!r} is not valid {exc.encoding} text (at byte {exc.start:,}: "
            f"{exc.reason}); it looks like {dialect_mod.looks_like(path)}. Pass encoding= "
            "(e.g. encoding='cp1252'), or check that it is a CSV file."
        ) from None
    except (csv.Error, pd.errors.ParserError) as exc:
        raise ValueError(
            f"cannot read {path.name!r} as CSV ({shorten(str(exc), 3 * SHOWN_CHARS)}); it "
            f"looks like {dialect_mod.looks_like(path)}."
        ) from None
    except (FileNotFoundError, PermissionError):
        raise
    except dialect_mod.DECOMPRESSION_ERRORS + (OSError,) as exc:
        raise ValueError(
            f"cannot read {path.name!r}: its compressed data is damaged or ends early "
            f"({shorten(str(exc))}); it looks like {dialect_mod.looks_like(path)}. Download "
            "or export it again."
        ) from None


def _arrow_encoding(encoding: str) -> str:
    return "utf8" if encoding.replace("-", "").lower() in ("utf8", "utf8sig") else encoding


def _plain_integers(column) -> bool:
    """Whether every value of an Arrow string column is a plain integer: digits only, no sign,
    no leading zero, nothing missing (checked on the raw buffers: first byte and length)."""
    import pyarrow as pa

    if column.null_count:
        return False
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        if len(chunk) == 0:
            continue
        kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        _, offsets, data = chunk.buffers()
        offsets = np.frombuffer(offsets, dtype=kind)[chunk.offset: chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        lengths = np.diff(offsets)
        if (lengths == 0).any() or (lengths > 18).any():
            return False
        first = data[offsets[:-1]]
        if ((first == ord("0")) & (lengths > 1)).any() or not (
            (first >= ord("0")) & (first <= ord("9"))
        ).all():
            return False
    return True


def _integer_ids(table, names: Sequence[str]):
    """Id columns read as text that hold only plain integers (no sign, no leading zero, no
    missing value) become int64, as pandas would read them; others stay text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name in names:
        i = table.column_names.index(name)
        col = table.column(i)
        if len(col) == 0 or not _plain_integers(col):
            continue
        try:
            as_int = pc.cast(col, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        table = table.set_column(i, name, as_int)
        del col
        pa.default_memory_pool().release_unused()  # the text's memory, back to the system
    return table


def _categorical_ids(table, name: str | None):
    """The table with its text column ``name`` (if any) dictionary-encoded, the dictionary
    sorted: read into pandas as a categorical, whose integer codes every later pass groups
    on instead of hashing the text again."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if name is None or name not in table.column_names:
        return table
    i = table.column_names.index(name)
    kind = table.schema.field(i).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return table
    encoded = _numbered_ids(table.column(i))
    if encoded is None:
        column = table.column(i).combine_chunks()
        hashed = pc.dictionary_encode(column)
        order = pc.array_sort_indices(hashed.dictionary)
        rank = np.empty(len(order), dtype=np.int32)
        rank[order.to_numpy()] = np.arange(len(order), dtype=np.int32)
        encoded = pa.DictionaryArray.from_arrays(
            pc.take(pa.array(rank), hashed.indices), hashed.dictionary.take(order)
        )
    return table.set_column(i, name, encoded)


def _id_chars(chunk, width: int | None):
    """The characters of an Arrow string array whose values all have ``width`` characters
    (that of the first value when None), as an ``(n, width)`` uint8 view; None when some value
    has another length."""
    import pyarrow as pa

    n = len(chunk)
    kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    _, offsets, data = chunk.buffers()
    offsets = np.frombuffer(offsets, dtype=kind)[chunk.offset: chunk.offset + n + 1]
    width = int(offsets[1] - offsets[0]) if width is None else width
    if not 0 < width <= 24 or int(offsets[-1] - offsets[0]) != n * width or (
        np.diff(offsets) != width
    ).any():
        return None
    return np.frombuffer(data, dtype=np.uint8)[offsets[0]: offsets[-1]].reshape(n, width)


def _numbered_ids(column):
    """Ids of one length made of a common text prefix and digits (``C0100042``), as a
    dictionary array coded by their number (no hashing), dictionary sorted; None for other
    ids or a missing one. ``column``: an Arrow string array or chunked array, read chunk by
    chunk (no copy of the text)."""
    import pyarrow as pa

    n = len(column)
    if n == 0 or column.null_count:
        return None
    chunks = [c for c in getattr(column, "chunks", [column]) if len(c)]
    first = _id_chars(chunks[0], None)
    if first is None:
        return None
    width = first.shape[1]
    head = first[0].copy()
    prefix = next((k for k, c in enumerate(head.tolist()) if 48 <= c <= 57), width)
    n_digits = width - prefix
    if not 0 < n_digits <= 18:
        return None
    kind = np.int32 if n_digits <= 9 else np.int64
    number = np.empty(n, dtype=kind)
    at = 0
    for chunk in chunks:
        chars = first if at == 0 else _id_chars(chunk, width)
        if chars is None:
            return None
        for start in range(0, len(chars), _HASH_ROWS):  # a block of rows in the CPU cache
            part = chars[start: start + _HASH_ROWS]
            digits = part[:, prefix:] - np.uint8(ord("0"))  # below "0" wraps above 9
            if (prefix and (part[:, :prefix] != head[:prefix]).any()) or digits.max() > 9:
                return None
            out = number[at + start: at + start + len(part)]
            out[:] = digits[:, 0]
            for k in range(1, n_digits):  # Horner: out = 10 * out + digit
                out *= kind(10)
                out += digits[:, k]
        at += len(chars)
    lo, hi = int(number.min()), int(number.max())
    if hi - lo > 2 * n + 1024:
        return None
    number -= kind(lo)
    present = np.zeros(hi - lo + 1, dtype=bool)
    present[number] = True
    values = np.flatnonzero(present) + lo
    if len(values) * width >= np.iinfo(np.int32).max:
        return None
    if len(values) == len(present):  # every number in the range: the code is the number
        codes = number.astype(np.int32, copy=False)
    else:
        codes = (np.cumsum(present, dtype=np.int32) - 1).take(number)
    del number, present
    # the dictionary's text: the prefix, then the digits padded with zeros to their width
    text = np.empty((len(values), width), dtype=np.uint8)
    text[:, :prefix] = head[:prefix]
    for k in range(width - 1, prefix - 1, -1):
        values, digit = np.divmod(values, 10)
        text[:, k] = digit + ord("0")
    offsets = np.arange(0, (len(text) + 1) * width, width, dtype=np.int32)
    dictionary = pa.StringArray.from_buffers(len(text), pa.py_buffer(offsets),
                                             pa.py_buffer(text))
    return pa.DictionaryArray.from_arrays(pa.array(codes), dictionary)


_POOL_LOCK = threading.Lock()
_pool_users = 0
_pool_before: Any = None


@contextmanager
def _system_pool():
    """Run the block with Arrow's default memory pool set to the system allocator.

    Arrow's own allocator asks for huge pages, whose first touch can cost several times that
    of ordinary pages (virtual machines, memory that must be compacted first): reading a
    file of 10M rows spent up to a second of system time on it. The pool is process-wide: it
    is switched while at least one read runs (in any thread) and restored after the last;
    left alone when ``ARROW_DEFAULT_MEMORY_POOL`` chooses it in the environment. Buffers go
    back to the pool they came from, so only speed depends on it.
    """
    global _pool_users, _pool_before
    import pyarrow as pa

    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        yield
        return
    with _POOL_LOCK:
        if _pool_users == 0:
            _pool_before = pa.default_memory_pool()
            pa.set_memory_pool(pa.system_memory_pool())
        _pool_users += 1
    try:
        yield
    finally:
        with _POOL_LOCK:
            _pool_users -= 1
            if _pool_users == 0:
                pa.set_memory_pool(_pool_before)
                _pool_before = None


@_system_pool()
def _read_file(
    path: Path,
    *,
    sep=None,
    decimal=None,
    thousands=None,
    encoding=None,
    sheet=None,
    amount: str | None = None,
    text_columns: Sequence[str] = (),
    date: str | None = None,
    columns: Sequence[str] | None = None,
    read_kwargs: dict | None = None,
    customer: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    _check_file(path)
    kind = _file_kind(path)
    read_kwargs = dict(read_kwargs or {})
    if kind in (".parquet", ".pq"):
        if read_kwargs:
            return pd.read_parquet(path, columns=columns, **read_kwargs), {}
        return _read_parquet(path, columns, date, customer), {}
    if kind in (".xlsx", ".xlsm", ".xls"):
        sheet = read_kwargs.pop("sheet_name", sheet)
        return _read_excel(path, sheet, list(text_columns), columns, read_kwargs)
    with _reading(path):
        frame, dialect = _read_csv(
            path, kind=kind, sep=sep, decimal=decimal, thousands=thousands, encoding=encoding,
            amount=amount, text_columns=list(text_columns), date=date, columns=columns,
            read_kwargs=read_kwargs, customer=customer)
    refuse_duplicate_columns(frame.columns, path.name)
    return frame, dialect


def read_table(
    path: str | PathLike, *, columns: Sequence[str] | None = None, **read_kwargs
) -> pd.DataFrame:
    """Read a CSV/TSV/TXT (any dialect, optionally compressed), Parquet or Excel file.

    The CSV dialect (encoding, separator, decimal mark) is detected as in
    :func:`load_transactions`; ``sep=``, ``decimal=``, ``thousands=``, ``encoding=`` and
    ``sheet=`` settle it, other keywords go to the pandas reader.

    Parameters
    ----------
    path : path
        The file.
    columns : list of str, optional
        Read only these columns; a missing one raises a ValueError naming it and listing
        the columns present.
    **read_kwargs
        ``sep``, ``decimal``, ``thousands``, ``encoding``, ``sheet``, or pandas reader options.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = csv.write_text("customer_id;channel\\n1;web\\n2;store\\n")
    >>> read_table(csv, columns=["channel"])["channel"].tolist()
    ['web', 'store']
    """
    spec = {k: read_kwargs.pop(k, None) for k in ("sep", "decimal", "thousands", "encoding",
                                                  "sheet")}
    frame, _ = _read_file(Path(path), columns=columns, read_kwargs=read_kwargs, **spec)
    return frame


def read_header(
    path: str | PathLike,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    **spec: Any,
) -> list[str]:
    """The column names of a data file, read in its dialect without reading the rows.

    Takes the keywords of :func:`load_transactions` (those that do not change the header,
    such as ``customer=`` or ``date_format=``, are accepted and ignored).

    Raises
    ------
    FileNotFoundError, ValueError
        No such file; an empty, unknown or non-text file; an unknown sheet.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = csv.write_text("client;day;total\\n1;01.02.2024;12,50\\n")
    >>> read_header(csv, customer="client", date_format="%d.%m.%Y")
    ['client', 'day', 'total']
    """
    path = Path(path)
    _check_file(path)
    kind = _file_kind(path)
    if kind in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(f"{path.name!r} is not a readable Parquet file ({exc}).") from None
    if kind in (".xlsx", ".xlsm", ".xls"):
        chosen, _ = _sheet_choice(path, sheet)
        return [str(c) for c in pd.read_excel(path, sheet_name=chosen, nrows=0).columns]
    with open(path, "rb") as f:
        compression = dialect_mod.compression_of(f.read(8))
    with _reading(path):
        sample = dialect_mod.sample_bytes(path)
    dialect_mod.refuse_binary(sample, path.name, compression)
    if encoding is None:
        encoding = _file_encoding(sample, path)
    if len(sample) == dialect_mod.SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise ValueError(f"The file {str(path)!r} is empty: no header and no rows.")
    if sep is None:
        try:
            sep = "\t" if kind == ".tsv" else dialect_mod.detect_separator(text)
        except ValueError as exc:
            raise ValueError(f"{path.name!r}: {exc}") from None
    first = text.splitlines()[0]
    if len(sep) != 1:
        return re.split(sep, first.strip())
    return next(csv.reader([first], delimiter=sep))


# ---------------------------------------------------------------------------------------------
# columns of the canonical schema


def _missing_ids(series: pd.Series, read: bool = False) -> np.ndarray:
    """Missing or blank ids (blank categories too for ids ``read`` from a file, which
    :func:`_categorical_ids` encoded)."""
    dtype = series.dtype
    if read and isinstance(dtype, pd.CategoricalDtype):
        blank = _missing_ids(pd.Series(dtype.categories, copy=False))
        codes = series.cat.codes.to_numpy()
        return np.append(blank, True)[codes]  # code -1 (missing) takes the True appended
    missing = series.isna().to_numpy()
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(series.array)
        blank = pc.fill_null(pc.or_(pc.equal(pc.utf8_length(arr), 0), pc.utf8_is_space(arr)),
                             False)
        return missing | np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)
    if dtype == np.dtype(object) or pd.api.types.is_string_dtype(dtype):
        blank = series.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
        missing = missing | blank
    return missing


#: A note on converted rows: the problem, which rows (of those read), a few examples.
Conversion = tuple[str, np.ndarray, tuple]


def _date_column(
    series: pd.Series, column: str, date_format: str | None, dayfirst: bool | None,
    bounds: tuple[pd.Timestamp, pd.Timestamp],
) -> tuple[np.ndarray, dict, list[Conversion]]:
    """datetime64[ns] values (NaT where unusable), what parse_dates found and what was
    converted (dates with an offset or a time zone kept at their local wall time, numbers
    read as dates); the distinct values are parsed once each."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        values = dialect_mod._to_ns(series.dt.tz_localize(None).to_numpy())
        shown = tuple(examples(series.iloc[:1000].dropna().astype("str"), distinct=True))
        return values, {}, [(f"timezone-aware ({dtype.tz}): local wall time kept, time zone "
                             "dropped", ~np.isnat(values), shown)]
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        values = series.to_numpy()
        if values.dtype == "datetime64[ns]":
            return values, {}, []
        return dialect_mod._to_ns(values), {}, []
    if isinstance(dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        uniques = series.cat.categories
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    parsed, info = dialect_mod.parse_dates(
        pd.Series(uniques, copy=False), column=column, date_format=date_format,
        dayfirst=dayfirst, date_range=bounds,
    )
    parsed = np.append(parsed, np.datetime64("NaT", "ns"))
    conversions = []
    for key, problem in (
        ("offsets", "with a UTC offset or a time zone: local wall time kept, offset dropped"),
        ("numeric", f"numbers read as {info.get('numbers')}"
                    + (" (days since 1899-12-30)" if info.get("numbers", "")[:5] == "Excel"
                       else " dates")),
    ):
        if key in info:
            which = info.pop(key)
            conversions.append((problem, np.append(which, False)[codes],
                                tuple(examples(pd.Index(uniques), which))))
    return parsed.take(codes), info, conversions  # code -1 takes the NaT appended


def _number_marks(
    decimal: str | None, thousands: str | None, values: Any, detected: list[str]
) -> tuple[str, str | None]:
    """The decimal and thousands marks: those given, the others detected from ``values``
    (appending their names to ``detected``)."""
    found_decimal, found_thousands = (
        dialect_mod.detect_number_marks(values) if len(values) else (".", None)
    )
    if decimal is None:
        decimal = found_decimal
        detected.append("decimal")
    if thousands is None:
        thousands = found_thousands
        if thousands is not None:
            detected.append("thousands")
    return decimal, thousands


def _refuse_boolean_amounts(series: pd.Series, column: str, name: str) -> None:
    """Raise a ValueError when the amount column holds true/false values."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or (
        dtype == np.dtype(object) and pd.api.types.infer_dtype(series, skipna=True) == "boolean"
    ):
        raise ValueError(
            f"{name}: column {shorten(column)!r} holds true/false values, not amounts "
            f"({int(series.notna().sum()):,} rows, e.g. "
            f"{', '.join(map(repr, examples(series.dropna().head(1000), distinct=True)))}). "
            "Map amount= to the column of order values, or convert this one to numbers first."
        )


def _amount_column(
    series: pd.Series, decimal: str | None, thousands: str | None
) -> tuple[np.ndarray, dict]:
    """float64 amounts (NaN where missing or not a number) and the marks used for text."""
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), {}
    detected: list[str] = []
    if decimal is None or thousands is None:
        sample = series.dropna().head(100_000)
        if sample.dtype == object:
            sample = sample[sample.map(lambda v: isinstance(v, str))]
        decimal, thousands = _number_marks(decimal, thousands, sample.unique()[:20_000], detected)
    values = dialect_mod.parse_amounts(series, decimal=decimal, thousands=thousands)
    return values.to_numpy(dtype=np.float64), {
        "decimal": decimal, "thousands": thousands, "detected": detected}


_WHOLE_DECIMAL = r"^(-?\d+)\.0+$"


def _normal_text(values) -> tuple[Any, np.ndarray, np.ndarray]:
    """Text ids (an Arrow string array) without surrounding whitespace and with whole-number
    decimals (``1.0``) written as integers; and which were stripped, which rewritten."""
    import pyarrow.compute as pc

    stripped = pc.utf8_trim_whitespace(values)
    spaced = pc.fill_null(pc.not_equal(stripped, values), False).to_numpy(zero_copy_only=False)
    decimal = np.zeros(len(values), dtype=bool)
    if pc.any(pc.match_substring(stripped, ".")).as_py():  # a plain search first: fast
        decimal = pc.fill_null(pc.match_substring_regex(stripped, _WHOLE_DECIMAL), False)
        decimal = decimal.to_numpy(zero_copy_only=False)
        if decimal.any():
            stripped = pc.replace_substring_regex(stripped, _WHOLE_DECIMAL, r"\1")
    return stripped, spaced, decimal


_SPACED = "customer ids with surrounding spaces: stripped"
_DECIMAL = "customer ids written as whole-number decimals (1.0): read as integers"
_MIXED = "customer ids mixing numbers and text: all read as text"


def _normalized_ids(series: pd.Series, column: str, integers: bool
                    ) -> tuple[pd.Series, list[Finding]]:
    """The ids with surrounding whitespace stripped and whole-number decimals (``1.0``, as
    floats or as text) written as integers, numbers mixed with text written as text; and a
    finding for each kind of change. Categories (ids read from a file) are normalised once
    each; ``integers``: such ids that end up all plain integers become int64 (as the ids of
    a text file are read)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _normalized_categories(series, column, integers)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = series.to_numpy()
        if not (np.isfinite(values).all() and (values == np.floor(values)).all()):
            return series, []
        shown = tuple(examples(series.head(1000), distinct=True))
        return (series.astype(np.int64),
                [Finding(column, _DECIMAL, len(series), shown)])
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("floating", "mixed-integer-float"):
        values = series.to_numpy(dtype=np.float64)
        if not (np.isfinite(values).all() and (values == np.floor(values)).all()):
            return series, []
        floats = series.map(type).isin([float, np.float64, np.float32]).to_numpy()
        return (pd.Series(values.astype(np.int64), index=series.index, name=series.name),
                [Finding(column, _DECIMAL, int(floats.sum()),
                         tuple(examples(series, floats, distinct=True)))])
    if kind not in ("string", "mixed-integer", "mixed"):
        return series, []
    import pyarrow as pa

    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        text = pa.array(series.array)
    else:
        text = pa.array(series.astype("str").to_numpy(dtype=object), type=pa.string())
    new, spaced, decimal = _normal_text(text)
    findings = []
    if kind != "string":
        numbers = np.not_equal(series.to_numpy(dtype=object), text.to_numpy(zero_copy_only=False))
        findings.append(Finding(column, _MIXED, int(numbers.sum()),
                                tuple(examples(series, numbers, distinct=True))))
    for problem, mask in ((_SPACED, spaced), (_DECIMAL, decimal)):
        if mask.any():
            findings.append(Finding(column, problem, int(mask.sum()),
                                    tuple(examples(series, mask, distinct=True))))
    if not findings:
        return series, []
    text_dtype = pd.api.types.is_string_dtype(dtype) and dtype != np.dtype(object)
    out_dtype = dtype if text_dtype else object
    return pd.Series(new.to_numpy(zero_copy_only=False), index=series.index, name=series.name,
                     dtype=out_dtype), findings


def _normalized_categories(series: pd.Series, column: str, integers: bool
                           ) -> tuple[pd.Series, list[Finding]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    categories = series.cat.categories
    dtype = categories.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        text = pa.array(categories.array)  # no copy
    elif pd.api.types.infer_dtype(categories) == "string":
        text = pa.array(categories.to_numpy(dtype=object), type=pa.string())
    else:
        return series, []
    new, spaced, decimal = _normal_text(text)
    if not (spaced.any() or decimal.any()):
        return series, []
    codes = series.cat.codes.to_numpy()
    rows = np.bincount(codes, minlength=len(categories))
    findings = [
        Finding(column, problem, int(rows[mask].sum()),
                tuple(examples(categories, mask & (rows > 0))))
        for problem, mask in ((_SPACED, spaced), (_DECIMAL, decimal)) if mask.any()
    ]
    hashed = pc.dictionary_encode(new)
    order = pc.array_sort_indices(hashed.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    codes = rank[hashed.indices.to_numpy()].take(codes)
    dictionary = hashed.dictionary.take(pa.array(order))
    if integers and _plain_integers(dictionary):
        values = pc.cast(dictionary, pa.int64()).to_numpy().take(codes)
        return pd.Series(values, index=series.index, name=series.name), findings
    labels = pd.Index(dictionary.to_numpy(zero_copy_only=False), dtype=categories.dtype)
    return pd.Series(pd.Categorical.from_codes(codes, labels), index=series.index,
                     name=series.name), findings


_PRIME = np.uint64(0x9E3779B97F4A7C15)
_HASH_ROWS = 1 << 17  # rows hashed at a time, so that the temporaries stay in the CPU cache


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _row_keys(series: pd.Series) -> np.ndarray:
    """uint64 values equal for equal entries (as DataFrame.duplicated compares them); a view
    of the data where it can be."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.uint64)
    if isinstance(dtype, np.dtype) and dtype.kind in "iuMm" and dtype.itemsize == 8:
        return series.to_numpy().view(np.uint64)
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.to_numpy().astype(np.uint64)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = series.to_numpy().astype(np.float64, copy=False)
        nan = np.isnan(values)
        negative_zero = (values == 0) & np.signbit(values)
        if nan.any() or negative_zero.any():
            values = values + 0.0  # -0.0 == 0.0
            values[nan] = np.nan  # one NaN
        return values.view(np.uint64)
    codes, _ = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.int64).view(np.uint64)


def _row_hash(keys: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The high 32 bits of a 64-bit hash of each row's ``keys`` (uint64 arrays of ``n``
    entries), computed a block of rows at a time; and the same hashes sorted."""
    top = np.empty(n, dtype=np.uint32)
    block = np.empty(min(n, _HASH_ROWS), dtype=np.uint64)
    spare = np.empty_like(block)
    shift = np.uint64(29)

    def blocks():
        for start in range(0, n, _HASH_ROWS):
            stop = min(start + _HASH_ROWS, n)
            h, tmp = block[: stop - start], spare[: stop - start]
            h.fill(0)
            for values in keys:
                np.bitwise_xor(h, values[start:stop], out=h)
                np.multiply(h, _PRIME, out=h)
                np.right_shift(h, shift, out=tmp)
                np.bitwise_xor(h, tmp, out=h)
            _mix(h)
            out = top[start:stop]
            np.right_shift(h, np.uint64(32), out=out, casting="unsafe")
            yield out

    return top, sorted_in_halves(blocks(), n, 1 << 31, np.uint32)


def duplicated_rows(frame: pd.DataFrame, key: Sequence[str] | None = None) -> np.ndarray:
    """Which rows repeat an earlier row exactly (as ``frame.duplicated()``), by hashing.

    The ``key`` columns (default: all) are mixed into one 64-bit hash per row; only rows whose
    hash (its high 32 bits, which sort fast) occurs more than once are compared exactly, on
    every column. Equal rows have equal keys, so a few cheap key columns (customer, date,
    amount) find every duplicate.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 1, 1], "b": ["x", "y", "x", "z"]})
    >>> duplicated_rows(df).tolist()
    [False, False, True, False]
    >>> duplicated_rows(df, key=["a"]).tolist()
    [False, False, True, False]
    """
    n = len(frame)
    if n < 2 or frame.shape[1] == 0:
        return np.zeros(n, dtype=bool)
    names = frame.columns if key is None else key
    # 32 bits sort twice as fast as 64; the few rows whose hash repeats by chance (about
    # n**2 / 2**33 pairs) are told apart by the exact comparison below
    top, ordered = _row_hash([_row_keys(frame[name]) for name in names], n)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return np.zeros(n, dtype=bool)
    repeated = np.unique(ordered[1:][same])
    del ordered, same
    # rows whose hash is repeated: a small bit table on the low bits first, then exactly
    bits = max(16, min(26, int(len(repeated)).bit_length() + 4))
    low = np.uint32((1 << bits) - 1)
    table = np.zeros(1 << bits, dtype=bool)
    table[repeated & low] = True
    maybe = np.flatnonzero(table[top & low])
    candidates = maybe[np.isin(top[maybe], repeated)]
    out = np.zeros(n, dtype=bool)
    out[candidates] = frame.iloc[candidates].duplicated(keep="first").to_numpy()
    return out


def _replace(frame: pd.DataFrame, name: str, values: np.ndarray) -> None:
    """Put ``values`` in column ``name`` without copying them (nothing to do when the column
    already holds exactly these values)."""
    current = frame[name]
    if isinstance(current.dtype, np.dtype) and current.dtype == values.dtype and (
        np.shares_memory(current.to_numpy(), values)
    ):
        return
    frame[name] = pd.Series(values, index=frame.index, name=name, copy=False)


def _refuse_invalid(name: str, n: int, bad: list[tuple[str, str, np.ndarray]],
                    raw: pd.DataFrame) -> None:
    """Raise a ValueError naming each column with invalid values, their count and examples."""
    findings = [Finding(column, problem, int(mask.sum()),
                        tuple(examples(raw[column], mask, True)))
                for column, problem, mask in bad if mask.any()]
    if findings:
        invalid = np.logical_or.reduce([mask for _, _, mask in bad])
        raise ValueError(
            f"{name}: {int(invalid.sum()):,} of {n:,} rows cannot be used. "
            f"{'; '.join(map(str, findings))}. Fix the data, or pass drop_invalid=True to "
            "exclude these rows (they are reported)."
        )


def _out_of_range(dates: np.ndarray, column: str, bounds: tuple[pd.Timestamp, pd.Timestamp]
                  ) -> list[tuple[str, str, np.ndarray]]:
    low, high = (np.datetime64(b.to_datetime64(), "ns") for b in bounds)
    return [(column, f"dated before {bounds[0]:%Y-%m-%d}", dates < low),
            (column, f"dated after {bounds[1]:%Y-%m-%d}", dates > high)]


def _exclusions(reasons: list[tuple[str, str, np.ndarray]], raw: pd.DataFrame
                ) -> tuple[list[Finding], np.ndarray]:
    """One finding per reason that excludes rows, each row counted under its first reason;
    and which rows are excluded."""
    findings = []
    invalid = np.zeros(len(raw), dtype=bool)
    for column, problem, mask in reasons:
        own = mask & ~invalid if findings else mask
        if own.any():
            shown = raw[column] if column in raw.columns else pd.Series(mask)
            findings.append(Finding(column, problem, int(own.sum()),
                                    tuple(examples(shown, own, True))))
            invalid |= own
    return findings, invalid


def row_notes(tx: pd.DataFrame, *, amount: str = "revenue", date: str = "order_date",
              as_of: Any = None, date_range: Sequence[Any] | None = None) -> list[Finding]:
    """The notes of a loaded log that its rows alone decide: refunds, exact duplicates and
    orders dated outside the plausible range (what :func:`load_transactions` reports,
    recounted on any subset of its rows, e.g. one segment's).

    Parameters
    ----------
    tx : DataFrame
        Canonical columns (``customer_id``, ``order_date``, ``revenue``, ...).
    amount, date : str
        The source's names of the amount and date columns, for the findings.
    as_of : date-like, optional
        The latest plausible date when ``date_range`` leaves it open; default now.
    date_range : (earliest, latest), optional
        Plausible order dates (:func:`retention.io.dialect.date_bounds`); default from
        1990-01-01 to ``as_of``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [5.0, -5.0, 3.0],
    ...                    "order_date": pd.to_datetime(["2024-01-01"] * 3)})
    >>> [str(f) for f in row_notes(tx)]
    ['revenue: 1 rows negative (refunds or returns) (e.g. -5.0)']
    """
    bounds = dialect_mod.date_bounds(date_range, as_of)
    revenue = tx["revenue"].to_numpy()
    notes = []
    negative = revenue < 0
    if negative.any():
        notes.append(Finding(amount, "negative (refunds or returns)", int(negative.sum()),
                             tuple(examples(revenue, negative, distinct=True))))
    dup = duplicated_rows(tx, key=[c for c in CANONICAL if c in tx.columns])
    if dup.any():
        notes.append(
            Finding(
                "(all columns)",
                "exact duplicates of an earlier row",
                int(dup.sum()),
                tuple(examples(tx.index, dup, distinct=True)),
            )
        )
    order_dates = tx["order_date"].to_numpy()
    for _, problem, outside in _out_of_range(order_dates, date, bounds):
        if outside.any():
            shown = pd.DatetimeIndex(order_dates[outside][:1000]).strftime("%Y-%m-%d")
            notes.append(Finding(date, problem, int(outside.sum()),
                                 tuple(examples(shown, distinct=True))))
    return notes


@_small_pages()
def load_transactions(
    source: str | PathLike | pd.DataFrame,
    *,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
    order: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    sheet: str | int | None = None,
    drop_invalid: bool = False,
    as_of: str | pd.Timestamp | None = None,
    date_range: tuple[Any, Any] | None = (dialect_mod.EARLIEST, None),
    normalize_ids: bool = True,
    return_report: bool = False,
    table: str | None = None,
    engine: str | None = None,
    **read_kwargs,
) -> pd.DataFrame | tuple[pd.DataFrame, ValidationReport]:
    """Read and validate a transaction log, returning it in the canonical schema.

    Parameters
    ----------
    source : path, DataFrame, glob, connection URL or ibis.Table
        A CSV (``.csv``, ``.tsv``, ``.txt``, optionally compressed: gzip, bz2, xz, zip,
        zstd, recognised by content), Parquet or Excel file, or a DataFrame (not modified).
        A glob (``data/tx/*.parquet``), a folder of Parquet files, an Ibis connection URL
        with ``table=`` (``duckdb:///shop.db``, ``postgres://user@host/db``)
        or an :class:`ibis.Table` stays in its engine: the result is then a
        :class:`retention.engine.lazy.TransactionTable`, validated in the engine (the
        same findings; examples are values, not row numbers), which every table and
        summary accepts (:mod:`retention.io.tables`).
    customer, date, amount, order : str
        The source's column names for the customer, the order date, the order value and
        (optionally) the order id. They are renamed to ``customer_id``, ``order_date``,
        ``revenue`` and ``order_id``.
    sep, decimal, thousands, encoding : str, optional
        The CSV dialect: field separator (``,`` ``;`` tab ``|``), decimal mark (``.`` ``,``),
        thousands mark (``,`` ``.`` space, no-break space, ``'``) and encoding (UTF-8 with or
        without BOM, ``cp1251``, ``cp1252`` ...). Each is detected from the first megabyte
        when omitted; the report says which were.
    date_format : str, optional
        ``strftime`` format of the dates (e.g. ``"%d.%m.%Y"``): every date is parsed strictly
        with it. When omitted, ISO 8601 and ``YYYYMMDD`` dates are read directly, and
        ``D.M.Y`` / ``M/D/Y`` dates only when some value shows which comes first (a number
        above 12); otherwise a ValueError shows both readings. A numeric date column is read
        as ``YYYYMMDD`` when every number is such a date, else as Excel day numbers when every
        number is one within ``date_range``, else refused (a note says which reading). Dates
        with a UTC offset or a time zone keep their local wall time, each its own (a note
        counts them).
    dayfirst : bool, optional
        Read ``D/M/Y``-or-``M/D/Y`` dates day-first (True) or month-first (False).
    sheet : str or int, optional
        Excel sheet, by name or 0-based index; default the first (the report names the others).
    drop_invalid : bool, default False
        Exclude rows with a missing customer, an unparseable date, a non-numeric or infinite
        amount, or a date outside ``date_range``, instead of raising (or, for the dates, of
        keeping them with a note). Each excluded row is counted once, under the first of these
        problems it has; the rows are kept in ``report.excluded_rows``; a warning says how
        many.
    as_of : date-like, optional
        The latest plausible order date when ``date_range`` leaves it open (default: now).
    date_range : (earliest, latest), default ("1990-01-01", None)
        Plausible order dates; ``None`` as latest means ``as_of``, ``None`` as earliest no
        lower bound. Dates outside are kept with a note ("dated before ...", "dated after
        ..."), or excluded with ``drop_invalid=True``. It also bounds the Excel day numbers
        a numeric date column may hold.
    normalize_ids : bool, default True
        Strip whitespace around customer ids and write whole-number decimals (``1.0``, as
        numbers or text) as integers, and numbers mixed with text ids as text, so that one
        customer is one id; each kind of change is a note with its count. ``False`` keeps
        the ids as given.
    return_report : bool, default False
        Return ``(tx, report)``: the :class:`ValidationReport` too, with the excluded rows.
    table : str, optional
        The table to read when ``source`` is a database connection URL.
    engine : {"duckdb"}, optional
        Read a Parquet/CSV file lazily with DuckDB (as globs and folders always are).
    **read_kwargs
        Passed to the pandas reader (``header=``, ``names=``, a regular-expression ``sep``
        ...); the file is then read by pandas rather than pyarrow.

    Returns
    -------
    DataFrame
        Canonical columns first, then every other column of the source. Text amounts
        (``"1.234,50 €"``, ``"(12.50)"``) are read as numbers; ids keep their text
        (``"00042"``), except ids in a text file that are all plain integers, which are
        int64 as pandas reads them. ``tx.attrs["validation"]`` holds the report's counts,
        examples and dialect as plain values (:meth:`ValidationReport.to_dict`; rebuild it
        with :meth:`ValidationReport.from_attrs`). With ``return_report``, ``(tx, report)``.

    Raises
    ------
    ValueError
        Missing columns (listing those present), a column name that occurs twice, an empty
        source, a file that is not text or not what its name says (saying what it looks
        like), an unknown sheet, dates that could be read day-first or month-first, numbers
        that are not dates, true/false amounts, or invalid values (naming the column, the
        count and examples, each shortened to 60 characters).

    Notes
    -----
    When the environment variable ``RETENTION_CACHE_DIR`` names a folder (``retention
    report`` sets it for the reports of a batch), the loaded log of a file is kept there as
    Parquet, and a later load of the same, unchanged file with the same options reads it
    back instead of parsing and validating the file again. ``return_report=True`` always
    reads the file (the excluded rows are not cached).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"user": ["a", "a", "b"],
    ...                     "day": ["2024-01-03", "2024-02-10", "2024-01-20"],
    ...                     "total": [20.0, -5.0, 12.5]})
    >>> tx = load_transactions(raw, customer="user", date="day", amount="total")
    >>> list(tx.columns)
    ['customer_id', 'order_date', 'revenue']
    >>> tx.attrs["validation"]["notes"][0]["count"]
    1
    >>> print(ValidationReport.from_attrs(tx))
    DataFrame: 3 rows read, 3 kept
      dates ISO8601 (detected: date_format)
      kept total: 1 rows negative (refunds or returns) (e.g. -5.0)
    """
    if tables.is_engine_source(source, engine, table):
        tx = tables.load_table(source, table=table, engine=engine, customer=customer, date=date,
                               amount=amount, order=order, sep=sep, date_format=date_format,
                               drop_invalid=drop_invalid, as_of=as_of, date_range=date_range)
        return (tx, ValidationReport.from_attrs(tx.attrs["validation"])) if return_report else tx
    options = {k: v for k, v in locals().items() if k not in ("source", "return_report")}
    cache = None if return_report else cache_file(source, options)
    if cache is not None and cache.is_file():
        try:
            tx = pd.read_parquet(cache)
        except Exception:  # an unreadable cache entry is read again from the source
            cache.unlink(missing_ok=True)
        else:
            excluded = tx.attrs.get("validation", {}).get("excluded", [])
            if excluded:
                warnings.warn(
                    f"{source}: excluded {tx.attrs['validation']['rows_excluded']:,} invalid "
                    "rows (" + "; ".join(str(Finding.from_dict(f)) for f in excluded)
                    + "); see tx.attrs['validation'], or pass return_report=True for the rows.",
                    stacklevel=2,
                )
            return tx
    mapping = {customer: "customer_id", date: "order_date", amount: "revenue"}
    if order is not None:
        mapping[order] = "order_id"
    if isinstance(source, pd.DataFrame):
        raw, name, dialect = source, "DataFrame", {}
    else:
        name = str(source)
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"No transaction file at {str(path)!r}.")
        raw, dialect = _read_file(
            path, sep=sep, decimal=decimal, thousands=thousands, encoding=encoding,
            sheet=sheet, amount=amount,
            text_columns=[customer] + ([order] if order is not None else []), date=date,
            read_kwargs=read_kwargs, customer=customer,
        )
    dialect.setdefault("detected", [])

    refuse_duplicate_columns(raw.columns, name)
    require_columns(raw, what=name, customer=customer, date=date, amount=amount, order=order)
    clash = [c for c in raw.columns if c in mapping.values() and c not in mapping]
    if clash:
        raise ValueError(
            f"{name} already has column(s) {', '.join(map(repr, clash))}, which the mapped "
            "columns would replace; rename or drop them first."
        )
    if len(raw) == 0:
        raise ValueError(f"{name} has no rows: no transactions to load.")

    # copy-on-write: renaming and selecting share the source's data; the canonical columns
    # are replaced by new arrays below, so the source is never modified
    tx = raw.rename(columns=mapping)
    tx.attrs = {}  # the source's own attrs are not the log's
    tx = tx[
        [c for c in CANONICAL if c in tx.columns] + [c for c in tx.columns if c not in CANONICAL]
    ]

    bounds = dialect_mod.date_bounds(date_range, as_of)
    bad = [(customer, "with a missing customer id",
            _missing_ids(tx["customer_id"], read=raw is not source))]

    dates, date_info, conversions = _date_column(tx["order_date"], date, date_format,
                                                 dayfirst, bounds)
    if date_info:
        dialect["date_format"] = date_info.get("date_format")
        dialect["dayfirst"] = date_info.get("dayfirst")
        if date_info.get("detected") and date_info.get("date_format"):
            dialect["detected"].append("date_format")
    bad.append((date, "with a missing, unparseable or out-of-range date", np.isnat(dates)))
    _replace(tx, "order_date", dates)

    _refuse_boolean_amounts(tx["revenue"], amount, name)
    values, amount_info = _amount_column(
        tx["revenue"], decimal if decimal is not None else dialect.get("decimal"),
        thousands if thousands is not None else dialect.get("thousands"),
    )
    if amount_info:
        for key in ("decimal", "thousands"):
            if key in amount_info["detected"] and key not in dialect["detected"]:
                dialect["detected"].append(key)
            dialect[key] = amount_info[key]
    bad.append((amount, "with a missing or non-numeric amount", np.isnan(values)))
    bad.append((amount, "with an infinite amount", np.isinf(values)))
    _replace(tx, "revenue", values)

    if not drop_invalid:
        _refuse_invalid(name, len(tx), bad, raw)
    findings, invalid = _exclusions(
        bad + (_out_of_range(dates, date, bounds) if drop_invalid else []), raw)
    excluded_rows = raw.iloc[np.flatnonzero(invalid)] if findings else raw.iloc[:0]
    if raw is not source:
        # dates and text ids read as a dictionary of their text: the excluded rows show the text
        excluded_rows = excluded_rows.assign(**{
            c: excluded_rows[c].astype("str") for c in (date, customer)
            if isinstance(excluded_rows[c].dtype, pd.CategoricalDtype)
        })
    if findings:
        kept = np.flatnonzero(~invalid)
        tx = tx.iloc[kept]
        conversions = [(problem, rows[kept], shown) for problem, rows, shown in conversions]
        if raw is not source and isinstance(tx["customer_id"].dtype, pd.CategoricalDtype):
            tx = tx.assign(customer_id=tx["customer_id"].cat.remove_unused_categories())
        warnings.warn(
            f"{name}: excluded {len(excluded_rows):,} invalid rows ("
            + "; ".join(map(str, findings))
            + "); see tx.attrs['validation'], or pass return_report=True for the rows.",
            stacklevel=2,
        )
        if tx.empty:
            raise ValueError(f"{name}: every row was invalid; nothing left to load.")
    rows_read = len(raw)
    del raw

    notes = [Finding(date, problem, int(rows.sum()), shown)
             for problem, rows, shown in conversions if rows.any()]
    if normalize_ids:
        ids, id_notes = _normalized_ids(tx["customer_id"], customer,
                                        integers=dialect.get("sep") is not None)
        if id_notes:
            tx = tx.assign(customer_id=ids)
            notes += id_notes
    notes += row_notes(tx, amount=amount, date=date, as_of=as_of, date_range=bounds)

    report = ValidationReport(
        source=name,
        rows_read=rows_read,
        rows_kept=len(tx),
        excluded=findings,
        excluded_rows=excluded_rows,
        notes=notes,
        dialect={k: v for k, v in dialect.items()},
    )
    # plain JSON values only, so that pandas can compare the attrs of two frames (concat, merge)
    tx.attrs = {"validation": json.loads(json.dumps(report.to_dict()))}
    if cache is not None:
        write_cache(tx, cache)
    return (tx, report) if return_report else tx
