"""Transaction logs that stay in their engine: Parquet/CSV globs, database tables, Ibis tables.

:func:`load_table` is what :func:`retention.load_transactions` does for such a source: it maps
the columns to the canonical schema and computes the same validation counts as for a
DataFrame, in the engine, without fetching the rows. The result, a
:class:`retention.engine.lazy.TransactionTable`, goes to every table and summary of the
package, which then run their passes in the engine (:mod:`retention.engine.lazy`).

Sources:

* a path with a glob (``data/tx/*.parquet``, ``exports/2024-*.csv``), a folder of Parquet
  files, or any Parquet/CSV file with ``engine="duckdb"``: read lazily by DuckDB;
* an Ibis connection URL with ``table=``: ``duckdb:///path/shop.db``,
  ``postgres://user:password@host:5432/db``, ``mysql://...``, ``snowflake://...`` ... as
  :func:`ibis.connect` understands them;
* an :class:`ibis.Table` from any backend: the way to a Spark session's tables
  (``ibis.pyspark.connect(spark).table("orders")``), which a new session would not see.
"""

from __future__ import annotations

import functools
import glob
import operator
import re
import warnings
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from retention.engine.lazy import TransactionTable, backend_name, ibis_module, is_table
from retention.io import dialect as dialect_mod

__all__ = ["duplicate_note", "is_engine_source", "load_table", "open_table", "row_notes"]

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_GLOB = re.compile(r"[*?\[]")
_SHOWN = 5  # examples per finding


def is_engine_source(source: Any, engine: str | None = None, table: str | None = None) -> bool:
    """Whether ``source`` is read in an engine rather than into pandas.

    Examples
    --------
    >>> is_engine_source("data/tx/*.parquet"), is_engine_source("data/sample_transactions.csv")
    (True, False)
    >>> is_engine_source("postgres://me@localhost/shop", table="orders")
    True
    """
    if is_table(source) or engine is not None or table is not None:
        return True
    if isinstance(source, (str, PathLike)):
        text = str(source)
        return bool(_URL.match(text) or _GLOB.search(text) or Path(text).is_dir())
    return False


def open_table(source: Any, *, table: str | None = None, engine: str | None = None,
               sep: str | None = None):
    """The :class:`ibis.Table` of a source (see the module docstring).

    Raises
    ------
    ValueError
        A URL without ``table=``, a glob that matches no file, a file kind DuckDB cannot
        read lazily, or an engine other than ``"duckdb"`` for a path.
    """
    ibis = ibis_module()
    if isinstance(source, TransactionTable):
        return source.table
    if is_table(source):
        return source
    text = str(source)
    if _URL.match(text):
        if table is None:
            raise ValueError(f"{text}: a connection URL needs table='NAME' (the transaction "
                             "table to read).")
        # a DuckDB file is opened read-only, so that the reports of a batch read it at once
        options = ({"read_only": True, **duckdb_config()}
                   if text.lower().startswith("duckdb://") else {})
        con = ibis.connect(text, **options)
        try:
            return con.table(table)
        except Exception as exc:
            names = sorted(con.list_tables())[:20]
            raise ValueError(f"{text}: no table {table!r}; tables: {names}.") from exc
    if engine not in (None, "duckdb"):
        raise ValueError(f"engine={engine!r}: files are read lazily by 'duckdb'; for another "
                         "engine pass its connection URL and table=.")
    path = Path(text)
    pattern = str(path / "**" / "*.parquet") if path.is_dir() else text
    files = [Path(f) for f in glob.glob(pattern, recursive=True)]
    if not files:
        raise ValueError(f"{text}: no file matches" + (" (a folder of .parquet files)"
                                                       if path.is_dir() else "") + ".")
    suffixes = {f.suffix.lower() for f in files}
    con = ibis.duckdb.connect(**duckdb_config())
    if suffixes <= {".parquet", ".pq"}:
        return con.read_parquet(pattern)
    if suffixes <= {".csv", ".tsv", ".txt"}:
        options = {} if sep is None else {"delim": sep}
        return con.read_csv(pattern, **options)
    raise ValueError(f"{text}: files of kinds {sorted(suffixes)}; a glob reads Parquet or CSV "
                     "files of one kind.")


def duckdb_config() -> dict[str, str]:
    """Settings of the DuckDB connections the package opens: a memory limit (environment
    variable ``RETENTION_DUCKDB_MEMORY_LIMIT``, e.g. ``"8GB"``; default an eighth of the
    machine's memory, at least 1 GB), beyond which DuckDB spills to a temporary folder
    (``RETENTION_DUCKDB_TEMP_DIRECTORY``, default in the system's temporary folder).

    Examples
    --------
    >>> sorted(duckdb_config())
    ['memory_limit', 'temp_directory']
    """
    import os
    import tempfile

    limit = os.environ.get("RETENTION_DUCKDB_MEMORY_LIMIT")
    if not limit:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        limit = f"{max(1024, total // 8 // 2**20)}MB"
    temp = os.environ.get("RETENTION_DUCKDB_TEMP_DIRECTORY") or str(
        Path(tempfile.gettempdir()) / "retention-duckdb")
    return {"memory_limit": limit, "temp_directory": temp}


def source_name(source: Any, table: str | None = None) -> str:
    """How messages name a source: the path, or the URL without its password, and the table.

    Examples
    --------
    >>> source_name("postgres://me:secret@db.local/shop", "orders")
    'postgres://me@db.local/shop table orders'
    """
    if is_table(source):
        return "ibis table" if table is None else table
    text = str(source)
    if _URL.match(text):
        text = re.sub(r"//([^:@/]*):[^@/]*@", r"//\1@", text)  # never echo a password
    return text if table is None else f"{text} table {table}"


def _examples(t, column: str, condition, distinct: bool = True) -> tuple:
    shown = t.filter(condition).select(column)
    if distinct:
        shown = shown.distinct()
    # ordered, so that the same data always shows the same examples (engines have no row order)
    values = shown.order_by(column).limit(_SHOWN).to_pyarrow().column(0).to_pylist()
    return tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in values)


def load_table(
    source: Any,
    *,
    table: str | None = None,
    engine: str | None = None,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
    order: str | None = None,
    sep: str | None = None,
    date_format: str | None = None,
    drop_invalid: bool = False,
    as_of: Any = None,
    date_range: tuple[Any, Any] | None = (dialect_mod.EARLIEST, None),
) -> TransactionTable:
    """Map and validate a log kept in an engine; see :func:`retention.load_transactions`.

    The findings are those of a DataFrame load, counted in the engine: missing customer ids,
    missing or unparseable dates, missing, non-numeric or infinite amounts (an error naming
    the column, the count and examples, or excluded with ``drop_invalid=True``), and the
    notes on refunds, exact duplicates and dates outside ``date_range``. Examples are values
    (there are no row numbers in a database).

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> raw = ibis.memtable(pd.DataFrame({"user": ["a", "b", "a"], "total": [20.0, -5.0, 7.5],
    ...     "day": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-01-20"])}))
    >>> tx = load_table(raw, customer="user", date="day", amount="total")
    >>> tx
    TransactionTable(3 rows, columns ['customer_id', 'order_date', 'revenue'])
    >>> tx.attrs["validation"]["notes"][0]["problem"]
    'negative (refunds or returns)'
    """
    from retention.io.load import Finding, ValidationReport, refuse_duplicate_columns

    ibis = ibis_module()
    name = source_name(source, table)
    raw = open_table(source, table=table, engine=engine, sep=sep)
    refuse_duplicate_columns(list(raw.columns), name)
    mapping = {customer: "customer_id", date: "order_date", amount: "revenue"}
    if order is not None:
        mapping[order] = "order_id"
    missing = [f"{col!r} ({role}=)" for role, col in
               (("customer", customer), ("date", date), ("amount", amount), ("order", order))
               if col is not None and col not in raw.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}; available columns: "
                         f"{list(raw.columns)}.")
    clash = [c for c in raw.columns if c in mapping.values() and c not in mapping]
    if clash:
        raise ValueError(f"{name}: column(s) {clash} would clash with the canonical names; "
                         "map them or rename them in the source.")

    # dates and amounts as the engine's timestamp and float64 (text parsed, None where not)
    d_raw, a_raw = raw[date], raw[amount]
    if d_raw.type().is_string():
        d_new = d_raw.as_timestamp(date_format) if date_format else d_raw.try_cast("timestamp")
    elif d_raw.type().is_date() or d_raw.type().is_timestamp():
        if d_raw.type().is_timestamp() and d_raw.type().timezone is not None:
            raise ValueError(f"{name}: column {date!r} holds time zone-aware timestamps; "
                             "store local wall time (timestamp without time zone).")
        d_new = d_raw.cast("timestamp")
    else:
        raise ValueError(f"{name}: column {date!r} is {d_raw.type()}, not dates; store dates "
                         "or ISO 8601 text.")
    if a_raw.type().is_numeric():
        a_new = a_raw.cast("float64")
    elif a_raw.type().is_string():
        a_new = a_raw.try_cast("float64")
    else:
        raise ValueError(f"{name}: column {amount!r} is {a_raw.type()}, not amounts.")
    # conditions on the parsed values; examples shown as the source holds them
    checked = raw.mutate(_date=d_new, _amount=a_new)
    bounds = dialect_mod.date_bounds(date_range, as_of)
    low, high = (ibis.timestamp(b.to_pydatetime()) for b in bounds)
    amounts = checked["_amount"]
    infinite = amounts.isinf() if a_raw.type().is_floating() else ibis.literal(False)
    bad = [
        (customer, "with a missing customer id", checked[customer].isnull()),
        (date, "with a missing, unparseable or out-of-range date", checked["_date"].isnull()),
        (amount, "with a missing or non-numeric amount", amounts.isnull() | amounts.isnan()),
        (amount, "with an infinite amount", infinite),
    ]
    outside = [
        (date, f"dated before {bounds[0]:%Y-%m-%d}", checked["_date"] < low),
        (date, f"dated after {bounds[1]:%Y-%m-%d}", checked["_date"] > high),
    ]
    bad = [(col, problem, cond.fill_null(False)) for col, problem, cond in bad]
    outside = [(col, problem, cond.fill_null(False)) for col, problem, cond in outside]
    count = checked.count
    # one pass: the problems as non-null counts where that is all they are (cheaper than a
    # condition per row), the refunds, and the span (whether any date is out of range)
    parsed = checked["_date"]
    negative, before_low, after_high = _note_conditions(amounts, parsed, bounds)
    summary = {"n": count(), "first": parsed.min(), "last": parsed.max(),
               "ids": checked[customer].count(), "dates": parsed.count(),
               "amounts": amounts.count(), "nan": count(where=amounts.isnan()),
               "negative": count(where=negative)}
    if a_raw.type().is_floating():
        summary["inf"] = count(where=amounts.isinf())
    got = checked.aggregate(**summary).to_pyarrow().to_pylist()[0]
    rows_read = int(got["n"])
    if rows_read == 0:
        raise ValueError(f"{name}: the table has no rows.")
    found = [rows_read - got["ids"], rows_read - got["dates"],
             rows_read - got["amounts"] + got["nan"], got.get("inf") or 0]
    invalid = [Finding(col, problem, int(n), _examples(checked, col, cond))
               for (col, problem, cond), n in zip(bad, found, strict=True) if n]
    if invalid and not drop_invalid:
        any_bad = functools.reduce(operator.or_, [cond for *_, cond in bad])
        n_bad = invalid[0].count if len(invalid) == 1 else int(count(where=any_bad).execute())
        raise ValueError(
            f"{name}: {n_bad:,} of {rows_read:,} rows cannot be used. "
            f"{'; '.join(map(str, invalid))}. "
            "Fix the data, or pass drop_invalid=True to exclude these rows (they are reported)."
        )
    excluded: list[Finding] = []
    if drop_invalid:  # each row counted under the first of its problems
        seen = ibis.literal(False)
        for col, problem, cond in bad + outside:
            own = cond & ~seen
            n = int(checked.filter(own).count().execute())
            if n:
                excluded.append(Finding(col, problem, n, _examples(checked, col, own)))
            seen = seen | cond
        if excluded:
            checked = checked.filter(~seen)
    renamed = {new: checked[old] for old, new in mapping.items()}
    renamed.update(order_date=checked["_date"], revenue=checked["_amount"])
    others = [c for c in raw.columns if c not in mapping]
    tx = checked.select(*[renamed[c].name(c) for c in ("customer_id", "order_date", "revenue",
                                                       "order_id") if c in renamed], *others)
    rows_kept = rows_read - sum(f.count for f in excluded)
    if rows_kept == 0:
        raise ValueError(f"{name}: every row was invalid; nothing left to load.")

    known = None
    if not excluded:  # the notes of the rows kept; dates counted only where the span says any
        before = pd.Timestamp(got["first"]) < bounds[0]
        after = pd.Timestamp(got["last"]) > bounds[1]
        known = [int(got["negative"]),
                 int(count(where=before_low).execute()) if before else 0,
                 int(count(where=after_high).execute()) if after else 0]
    notes = row_notes(tx, amount=amount, date=date, as_of=as_of, date_range=bounds,
                      duplicates=False, counts=known)
    report = ValidationReport(source=name, rows_read=rows_read, rows_kept=rows_kept,
                              excluded=excluded, notes=notes,
                              dialect={"engine": backend_name(raw)})
    if excluded:
        warnings.warn(f"{name}: excluded {rows_read - rows_kept:,} invalid rows ("
                      + "; ".join(map(str, excluded)) + "); see tx.attrs['validation'].",
                      stacklevel=3)

    def count_duplicates(attrs: dict) -> None:
        found = duplicate_note(tx)
        if found is not None:  # after the refunds, as a DataFrame load lists them
            listed = attrs["validation"]["notes"]
            at = int(bool(listed) and listed[0]["column"] == amount)
            listed.insert(at, found.to_dict())

    span = None if excluded else (pd.Timestamp(got["first"]), pd.Timestamp(got["last"]))
    return TransactionTable(tx, {"validation": report.to_dict()}, n_rows=rows_kept, span=span,
                            pending=[count_duplicates])


def _note_conditions(revenue, order_date, bounds) -> list:
    """Refunds, and dates before and after ``bounds``: the conditions of the row notes."""
    ibis = ibis_module()
    low, high = (ibis.timestamp(pd.Timestamp(b).to_pydatetime()) for b in bounds)
    return [revenue < 0, order_date < low, order_date > high]


def row_notes(tx: Any, *, amount: str = "revenue", date: str = "order_date", as_of: Any = None,
              date_range: Any = None, duplicates: bool = True,
              counts: Sequence[int] | None = None) -> list:
    """:func:`retention.io.load.row_notes` counted in the engine: refunds, exact duplicates
    (unless ``duplicates=False``; see :func:`duplicate_note`) and dates outside the plausible
    range of a canonical table (a :class:`~retention.engine.lazy.TransactionTable` or an
    :class:`ibis.Table`). ``counts``: the refunds and dates before and after the range,
    when already counted.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"customer_id": [1, 1, 1], "revenue": [5.0, 5.0, -2.0],
    ...     "order_date": pd.to_datetime(["2024-01-01"] * 3)}))
    >>> [str(f) for f in row_notes(t)]  # doctest: +NORMALIZE_WHITESPACE
    ['revenue: 1 rows negative (refunds or returns) (e.g. -2.0)',
     '(all columns): 1 rows exact duplicates of an earlier row (e.g. 1)']
    """
    from retention.io.load import Finding

    t = tx.table if isinstance(tx, TransactionTable) else tx
    bounds = dialect_mod.date_bounds(date_range, as_of)
    conditions = _note_conditions(t.revenue, t.order_date, bounds)
    if counts is None:
        got = t.aggregate(**{f"n{i}": t.count(where=cond) for i, cond in enumerate(conditions)})
        got = got.to_pyarrow().to_pylist()[0]
        counts = [int(got[f"n{i}"] or 0) for i in range(len(conditions))]
    notes = []
    if counts[0]:
        notes.append(Finding(amount, "negative (refunds or returns)", counts[0],
                             _examples(t, "revenue", conditions[0])))
    found = duplicate_note(t) if duplicates else None
    if found is not None:
        notes.append(found)
    for i, problem in ((1, f"dated before {bounds[0]:%Y-%m-%d}"),
                       (2, f"dated after {bounds[1]:%Y-%m-%d}")):
        if counts[i]:
            shown = _examples(t, "order_date", conditions[i])
            notes.append(Finding(date, problem, counts[i],
                                 tuple(pd.Timestamp(v).strftime("%Y-%m-%d") for v in shown)))
    return notes


def duplicate_note(tx: Any):
    """The finding on exact duplicates of a canonical table (None when there are none):
    one grouping of the rows, of which only the repeated groups are kept; examples are
    customer ids.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [5.0, 5.0, 5.0],
    ...     "order_date": pd.to_datetime(["2024-01-01"] * 3)}))
    >>> print(duplicate_note(t))
    (all columns): 1 rows exact duplicates of an earlier row (e.g. 1)
    """
    from retention.io.load import Finding

    ibis = ibis_module()
    t = tx.table if isinstance(tx, TransactionTable) else tx
    key = [c for c in ("customer_id", "order_date", "revenue", "order_id") if c in t.columns]
    groups = t.group_by(key).aggregate(n=t.count())
    dups = groups.filter(groups.n > 1).cache()
    n_dup = int(dups.aggregate(extra=(dups.n - 1).sum()).to_pyarrow().to_pylist()[0]["extra"]
                or 0)
    if not n_dup:
        return None
    return Finding("(all columns)", "exact duplicates of an earlier row", n_dup,
                   _examples(dups, "customer_id", ibis.literal(True)))
