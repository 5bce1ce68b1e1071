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

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from retention.checks import examples, json_value, require_columns

__all__ = ["CANONICAL", "Finding", "ValidationReport", "load_transactions"]

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


@dataclass(frozen=True)
class Finding:
    """One kind of problem found in one column."""

    column: str
    problem: str
    count: int
    examples: tuple = ()

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
            "examples": [json_value(e) for e in self.examples],
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
      excluded customer_id: 1 rows with a missing customer id (e.g. None)
    """

    source: str
    rows_read: int
    rows_kept: int
    excluded: list[Finding] = field(default_factory=list)
    excluded_rows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    notes: list[Finding] = field(default_factory=list)

    @property
    def rows_excluded(self) -> int:
        return self.rows_read - self.rows_kept

    def __str__(self) -> str:
        lines = [f"{self.source}: {self.rows_read:,} rows read, {self.rows_kept:,} kept"]
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
        attrs = data.attrs.get("validation") if isinstance(data, pd.DataFrame) else data
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
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: action (excluded / kept), column, problem, count, examples."""
        rows = [("excluded", f) for f in self.excluded] + [("kept", f) for f in self.notes]
        return pd.DataFrame(
            [(a, f.column, f.problem, f.count, list(f.examples)) for a, f in rows],
            columns=["action", "column", "problem", "count", "examples"],
        )


def read_table(
    path: str | PathLike, *, columns: Sequence[str] | None = None, **read_kwargs
) -> pd.DataFrame:
    """Read a CSV/TSV/TXT (optionally compressed), Parquet or Excel file by its extension.

    Parameters
    ----------
    path : path
        The file.
    columns : list of str, optional
        Read only these columns; a missing one raises a ValueError naming it and listing
        the columns present.
    **read_kwargs
        Passed to the pandas reader.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = csv.write_text("customer_id,channel\\n1,web\\n2,store\\n")
    >>> read_table(csv, columns=["channel"])["channel"].tolist()
    ['web', 'store']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file at {str(path)!r}.")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    reader = _READERS.get(suffix)
    if reader is None:
        raise ValueError(
            f"Cannot read {path.name!r}: unknown file type {suffix!r}; use one of "
            f"{', '.join(sorted(_READERS))} or pass a DataFrame."
        )
    if path.stat().st_size == 0:
        raise ValueError(f"The file {str(path)!r} is empty (0 bytes).")
    if suffix == ".tsv":
        read_kwargs.setdefault("sep", "\t")
    try:
        if columns is None:
            return reader(path, **read_kwargs)
        if reader is pd.read_parquet:
            import pyarrow.parquet as pq

            header = pd.DataFrame(columns=pq.read_schema(path).names)
        elif reader is pd.read_csv:
            header = reader(path, nrows=0, **read_kwargs)
        else:
            frame = reader(path, **read_kwargs)
            header = frame.iloc[:0]
        require_columns(header, list(columns), what=path.name)
        if reader is pd.read_parquet:
            return reader(path, columns=list(columns), **read_kwargs)
        if reader is pd.read_csv:
            return reader(path, usecols=list(columns), **read_kwargs)
        return frame[list(columns)]
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"The file {str(path)!r} is empty: no header and no rows.") from exc


def _read(source: str | PathLike, read_kwargs: dict, text_columns: list[str]) -> pd.DataFrame:
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"No transaction file at {str(path)!r}.")
    kwargs = dict(read_kwargs)
    if path.suffix.lower() not in (".parquet", ".pq"):
        # identifiers are text: keep leading zeros ("00042") as written
        kwargs.setdefault("dtype", {c: str for c in text_columns})
    return read_table(path, **kwargs)


def load_transactions(
    source: str | PathLike | pd.DataFrame,
    *,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
    order: str | None = None,
    date_format: str | None = None,
    drop_invalid: bool = False,
    as_of: str | pd.Timestamp | None = None,
    return_report: bool = False,
    **read_kwargs,
) -> pd.DataFrame | tuple[pd.DataFrame, ValidationReport]:
    """Read and validate a transaction log, returning it in the canonical schema.

    Parameters
    ----------
    source : path or DataFrame
        A CSV (``.csv``, ``.tsv``, ``.txt``, optionally compressed), Parquet or Excel file,
        or a DataFrame (not modified).
    customer, date, amount, order : str
        The source's column names for the customer, the order date, the order value and
        (optionally) the order id. They are renamed to ``customer_id``, ``order_date``,
        ``revenue`` and ``order_id``.
    date_format : str, optional
        ``strftime`` format of the dates (e.g. ``"%Y%m%d"``); inferred when omitted.
    drop_invalid : bool, default False
        Exclude rows with a missing customer, an unparseable date or a non-numeric amount
        instead of raising. The exclusions are counted in the report and the rows are kept in
        ``report.excluded_rows``; a warning says how many.
    as_of : date-like, optional
        Orders after this date are reported as future-dated (default: now).
    return_report : bool, default False
        Return ``(tx, report)``: the :class:`ValidationReport` too, with the excluded rows.
    **read_kwargs
        Passed to the pandas reader (``sep=``, ``sheet_name=``, ``names=`` ...).

    Returns
    -------
    DataFrame
        Canonical columns first, then every other column of the source.
        ``tx.attrs["validation"]`` holds the report's counts and examples as plain values
        (:meth:`ValidationReport.to_dict`; rebuild it with
        :meth:`ValidationReport.from_attrs`). With ``return_report``, ``(tx, report)``.

    Raises
    ------
    ValueError
        Missing columns (listing those present), an empty source, or invalid values
        (naming the column, the count and examples).

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
      kept total: 1 rows negative (refunds or returns) (e.g. -5.0)
    """
    mapping = {customer: "customer_id", date: "order_date", amount: "revenue"}
    if order is not None:
        mapping[order] = "order_id"
    if isinstance(source, pd.DataFrame):
        raw, name = source, "DataFrame"
    else:
        name = str(source)
        text_columns = [customer, date] + ([order] if order is not None else [])
        raw = _read(source, read_kwargs, text_columns)

    require_columns(raw, what=name, customer=customer, date=date, amount=amount, order=order)
    clash = [c for c in raw.columns if c in mapping.values() and c not in mapping]
    if clash:
        raise ValueError(
            f"{name} already has column(s) {', '.join(map(repr, clash))}, which the mapped "
            "columns would replace; rename or drop them first."
        )
    if len(raw) == 0:
        raise ValueError(f"{name} has no rows: no transactions to load.")

    tx = raw.rename(columns=mapping)
    tx = tx[
        [c for c in CANONICAL if c in tx.columns] + [c for c in tx.columns if c not in CANONICAL]
    ]

    bad: dict[str, tuple[str, pd.Series]] = {}
    no_customer = tx["customer_id"].isna()
    if tx["customer_id"].dtype == object or pd.api.types.is_string_dtype(tx["customer_id"]):
        no_customer |= tx["customer_id"].astype("string").str.strip().eq("").fillna(False)
    bad[customer] = ("with a missing customer id", no_customer)

    dates = tx["order_date"]
    if date_format is not None and pd.api.types.is_numeric_dtype(dates):
        dates = dates.astype("string")  # 19970101 with format "%Y%m%d"
    dates = pd.to_datetime(dates, errors="coerce", format=date_format)
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert(None)
    in_range = dates.between(pd.Timestamp.min, pd.Timestamp.max)  # what datetime64[ns] holds
    bad[date] = ("with a missing, unparseable or out-of-range date", ~in_range)
    tx["order_date"] = dates.where(in_range).astype("datetime64[ns]")

    values = pd.to_numeric(tx["revenue"], errors="coerce").astype("float64")
    bad[amount] = ("with a missing or non-numeric amount", values.isna())
    tx["revenue"] = values

    findings = []
    for column, (problem, mask) in bad.items():
        if mask.any():
            findings.append(
                Finding(column, problem, int(mask.sum()), tuple(examples(raw[column], mask, True)))
            )
    invalid = pd.Series(False, index=tx.index)
    for _, mask in bad.values():
        invalid |= mask
    if findings and not drop_invalid:
        details = "; ".join(map(str, findings))
        raise ValueError(
            f"{name}: {int(invalid.sum()):,} of {len(tx):,} rows cannot be used. {details}. "
            "Fix the data, or pass drop_invalid=True to exclude these rows (they are reported)."
        )
    excluded_rows = raw.loc[invalid.values]
    if findings:
        tx = tx.loc[~invalid.values]
        warnings.warn(
            f"{name}: excluded {len(excluded_rows):,} invalid rows ("
            + "; ".join(map(str, findings))
            + "); see tx.attrs['validation'], or pass return_report=True for the rows.",
            stacklevel=2,
        )
        if tx.empty:
            raise ValueError(f"{name}: every row was invalid; nothing left to load.")

    cutoff = pd.Timestamp.now() if as_of is None else pd.Timestamp(as_of)
    notes = [
        Finding(
            amount,
            "negative (refunds or returns)",
            int(m.sum()),
            tuple(examples(tx["revenue"], m, distinct=True)),
        )
        for m in [tx["revenue"] < 0]
        if m.any()
    ]
    dup = tx.duplicated(keep="first")
    if dup.any():
        notes.append(
            Finding(
                "(all columns)",
                "exact duplicates of an earlier row",
                int(dup.sum()),
                tuple(examples(tx.index, dup, distinct=True)),
            )
        )
    future = tx["order_date"] > cutoff
    if future.any():
        notes.append(
            Finding(
                date,
                f"dated after {cutoff:%Y-%m-%d}",
                int(future.sum()),
                tuple(examples(tx["order_date"].dt.strftime("%Y-%m-%d"), future, distinct=True)),
            )
        )

    report = ValidationReport(
        source=name,
        rows_read=len(raw),
        rows_kept=len(tx),
        excluded=findings,
        excluded_rows=excluded_rows,
        notes=notes,
    )
    tx.attrs = {"validation": report.to_dict()}
    return (tx, report) if return_report else tx
