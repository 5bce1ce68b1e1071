"""The row passes of :mod:`retention.engine.frame`, run inside a database engine through Ibis.

A :class:`TransactionTable` is a transaction log that stays where it lives: Parquet or CSV
files read by DuckDB, a PostgreSQL table, a Spark DataFrame, any table Ibis reaches. The
functions here compile the same few passes as the NumPy engine (first purchase per
customer, distinct customer x period activity with revenue, purchase occasions, customer
totals) to the engine's SQL, and fetch only their small results; the tables built on top
of them are the same code for both engines.

The rules are those of :mod:`retention.engine.frame`, pinned so that every engine gives
the same answer whatever its own conventions:

* a day is the calendar date of the timestamp as written (naive wall time; Spark sessions
  must run with ``spark.sql.session.timeZone=UTC`` so that it does not shift them), counted
  as days since 1970-01-01; periods are computed from these numbers and the year and month,
  never with the engine's ``date_trunc`` or week functions: weeks start on Monday
  (``(day + 3) // 7 + 1``, the :class:`pandas.Period` ordinal), months and quarters are
  ``12 * (year - 1970) + month - 1`` and ``4 * (year - 1970) + quarter - 1``;
* a purchase is a row with revenue >= 0 (:func:`retention.engine.frame.is_purchase`);
* rows have no order in a database: where the NumPy engine takes the earliest *row* among
  rows with the same timestamp (the segment of a customer's first purchase), this engine
  takes the smallest segment value(s) among them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from retention.checks import as_list
from retention.periods import normalize_freq, period_codes

__all__ = [
    "EngineColumn",
    "TransactionTable",
    "backend_name",
    "ibis_module",
    "in_memory",
    "is_table",
    "select_segment",
]

CUSTOMER, DATE, AMOUNT = "customer_id", "order_date", "revenue"
_INSTALL = "pip install 'ibis-framework[duckdb]' (and the backend's extra: postgres, pyspark, ...)"


def ibis_module():
    """The :mod:`ibis` module, imported on first use, with a clear error when it is missing."""
    try:
        import ibis
    except ImportError as exc:  # pragma: no cover - ibis is a dependency of the package
        raise ImportError(f"database tables need Ibis: {_INSTALL}.") from exc
    return ibis


#: Most rows :func:`in_memory` fetches from an engine (``RETENTION_MAX_FETCH_ROWS`` overrides).
MAX_FETCH_ROWS = 20_000_000


class TransactionTable:
    """A transaction log kept in its engine (an :class:`ibis.Table`), in the canonical schema.

    What :func:`retention.load_transactions` returns for a Parquet/CSV glob, a database
    table or an :class:`ibis.Table`. The cohort tables, period KPIs, RFM summaries and
    customer histories compute their passes in the engine; the other tables fetch the rows
    they need (:func:`in_memory`). It answers the few DataFrame questions a report asks:
    ``len(tx)``, ``"channel" in tx``, ``tx["order_date"].min()``, ``tx[tx["order_date"] <=
    day]``.

    Parameters
    ----------
    table : ibis.Table
        Columns ``customer_id``, ``order_date`` (timestamp), ``revenue`` (float64),
        ``order_id`` when mapped, and the other columns of the source.
    attrs : dict, optional
        ``attrs["validation"]``: the load's validation report as plain values, as on a
        loaded DataFrame.
    n_rows : int, optional
        The number of rows, when known (else counted when asked).
    span : (Timestamp, Timestamp), optional
        The first and last ``order_date``, when known.
    pending : list of callables, optional
        Findings of the report counted when :attr:`attrs` is first read, each called with
        the ``attrs`` dict (the exact-duplicate count of a load groups every row, as costly
        as a cohort table: a log that is only summarised never pays it).

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> raw = ibis.memtable(pd.DataFrame({"customer_id": [1, 2], "revenue": [5.0, 7.0],
    ...     "order_date": pd.to_datetime(["2024-01-02", "2024-02-03"])}))
    >>> tx = TransactionTable(raw)
    >>> list(tx.columns), len(tx), "revenue" in tx
    (['customer_id', 'revenue', 'order_date'], 2, True)
    >>> tx["order_date"].max()
    Timestamp('2024-02-03 00:00:00')
    >>> len(tx[tx["order_date"] <= "2024-01-31"])
    1
    """

    def __init__(self, table: Any, attrs: dict[str, Any] | None = None,
                 n_rows: int | None = None, *, span: tuple[Any, Any] | None = None,
                 pending: list[Any] | None = None) -> None:
        self.table = table
        self._attrs = {} if attrs is None else attrs
        self.n_rows = n_rows
        self.span = span
        self._pending = [] if pending is None else pending

    @property
    def attrs(self) -> dict[str, Any]:
        while self._pending:
            self._pending.pop(0)(self._attrs)
        return self._attrs

    @attrs.setter
    def attrs(self, value: dict[str, Any]) -> None:
        self._attrs, self._pending = value, []

    def derived(self, table: Any) -> TransactionTable:
        """A table computed from this one (a filter, a segment), sharing its load's report."""
        return TransactionTable(table, self._attrs, pending=self._pending)

    @property
    def columns(self) -> pd.Index:
        return pd.Index(list(self.table.columns))

    def __contains__(self, name: object) -> bool:
        return name in self.table.columns

    def __len__(self) -> int:
        if self.n_rows is None:
            self.n_rows = int(self.table.count().execute())
        return self.n_rows

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return EngineColumn(self, key)
        condition = key.expr if isinstance(key, EngineColumn) else key
        return self.filter(condition)

    def filter(self, condition: Any) -> TransactionTable:
        """The rows where an Ibis boolean expression on :attr:`table` holds."""
        return self.derived(self.table.filter(condition))

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows as a DataFrame (datetimes as ``datetime64[ns]``, ``attrs`` kept)."""
        table = self.table if columns is None else self.table.select(*columns)
        frame = table.to_pyarrow().to_pandas()
        for name in frame.columns:
            if frame[name].dtype.kind == "M":
                frame[name] = frame[name].astype("datetime64[ns]")
        frame.attrs = dict(self.attrs)
        return frame

    def __repr__(self) -> str:
        rows = "" if self.n_rows is None else f"{self.n_rows:,} rows, "
        return f"TransactionTable({rows}columns {list(self.table.columns)})"


class EngineColumn:
    """One column of a :class:`TransactionTable`: ``min``/``max`` as values, comparisons as
    filters (``tx[tx["order_date"] <= day]``)."""

    def __init__(self, tx: TransactionTable, name: str, expr: Any = None) -> None:
        self.tx, self.name = tx, name
        self.expr = tx.table[name] if expr is None else expr

    def _value(self, value: Any) -> Any:
        out = value.to_pyarrow().as_py() if hasattr(value, "to_pyarrow") else value
        return pd.Timestamp(out) if self.expr.type().is_timestamp() and out is not None else out

    def min(self) -> Any:
        return self._value(self.expr.min())

    def max(self) -> Any:
        return self._value(self.expr.max())

    def _compare(self, op: str, other: Any) -> EngineColumn:
        ibis = ibis_module()
        if self.expr.type().is_timestamp() and not hasattr(other, "op"):
            other = ibis.timestamp(pd.Timestamp(other).to_pydatetime())
        return EngineColumn(self.tx, self.name, getattr(self.expr, op)(other))

    def __le__(self, other: Any) -> EngineColumn:
        return self._compare("__le__", other)

    def __lt__(self, other: Any) -> EngineColumn:
        return self._compare("__lt__", other)

    def __ge__(self, other: Any) -> EngineColumn:
        return self._compare("__ge__", other)

    def __gt__(self, other: Any) -> EngineColumn:
        return self._compare("__gt__", other)


def in_memory(tx: Any, what: str = "this table") -> pd.DataFrame:
    """``tx`` itself for a DataFrame; the rows of an engine table fetched as a DataFrame
    (for the tables that have no pass in the engine), up to :data:`MAX_FETCH_ROWS` rows.

    Raises
    ------
    ValueError
        The table has more rows than the limit, naming what needed them.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1]})
    >>> in_memory(frame) is frame
    True
    """
    if not is_table(tx):
        return tx
    import os

    if not isinstance(tx, TransactionTable):
        tx = TransactionTable(tx)
    limit = int(os.environ.get("RETENTION_MAX_FETCH_ROWS", MAX_FETCH_ROWS))
    n = len(tx)
    if n > limit:
        raise ValueError(
            f"{what} reads the rows into memory, and the table has {n:,} rows (more than "
            f"{limit:,}); filter it first (tx[tx['order_date'] >= ...]), or raise the limit "
            "with the environment variable RETENTION_MAX_FETCH_ROWS."
        )
    return tx.to_pandas()


def select_segment(tx: Any, column: str, value: Any, *, customer: str = CUSTOMER,
                   date: str = DATE, amount: str = AMOUNT) -> TransactionTable:
    """The rows of the customers whose first purchase has ``column`` = ``value`` (compared
    as text), computed in the engine; see :func:`retention.reports.narrative.select_segment`.
    """
    rows = _rows(tx, customer=customer, date=date, amount=amount, by=[column])
    members = _members(rows, 1)
    chosen = members.filter(members.s0.cast("string") == str(value)).select(c=members.c)
    t = _ibis_table(tx)
    kept = t.semi_join(chosen, t[customer] == chosen.c)
    return tx.derived(kept) if isinstance(tx, TransactionTable) else TransactionTable(kept)


def is_table(tx: Any) -> bool:
    """Whether ``tx`` is a log kept in an engine (a :class:`TransactionTable` or an
    :class:`ibis.Table`) rather than a DataFrame; never imports Ibis.

    Examples
    --------
    >>> import pandas as pd
    >>> is_table(pd.DataFrame())
    False
    """
    return isinstance(tx, TransactionTable) or type(tx).__module__.startswith("ibis.")


def backend_name(t: Any) -> str:
    """Name of the Ibis backend an expression is bound to (``"ibis"`` for an unbound one)."""
    try:
        return t._find_backend().name
    except Exception:  # an unbound memtable
        return "ibis"


def _ibis_table(tx: Any):
    return tx.table if isinstance(tx, TransactionTable) else tx


def _require(t, **roles: str | Sequence[str] | None) -> None:
    present = list(t.columns)
    missing = [
        f"{name!r} ({role}=)"
        for role, names in roles.items()
        for name in as_list(names)
        if name not in present
    ]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)}; available columns: {present}."
        )


# --------------------------------------------------------------------------------------
# the row expressions every pass starts from
# --------------------------------------------------------------------------------------


def day_number(ts):
    """Days since 1970-01-01 of a timestamp expression (its calendar date as written)."""
    return ts.date().epoch_days().cast("int64")


def period_number(ts, day, freq: str):
    """The :func:`retention.periods.period_codes` code of each row, as an Ibis expression."""
    if freq == "D":
        return day
    if freq == "W":
        return (day + 3) // 7 + 1
    year = ts.year().cast("int64") - 1970
    if freq == "M":
        return year * 12 + ts.month().cast("int64") - 1
    return year * 4 + ts.quarter().cast("int64") - 1


def _rows(tx, *, customer, date, amount, order=None, by: Sequence[str] = (),
          include_refunds: bool = False, freq: str | None = None):
    """Canonical row expression: ``c``, ``ts``, ``day``, ``a``, ``q`` (purchase), ``o``,
    ``s0 ..`` (segments) and ``p`` (period code, with ``freq``)."""
    ibis = ibis_module()
    t = _ibis_table(tx)
    _require(t, customer=customer, date=date, amount=amount, order=order, by=list(by))
    cols = {"c": t[customer], "ts": t[date].cast("timestamp"), "a": t[amount].cast("float64")}
    if order is not None:
        cols["o"] = t[order]
    cols.update({f"s{i}": t[name] for i, name in enumerate(by)})
    rows = t.select(**cols)
    rows = rows.mutate(day=day_number(rows.ts))
    q = ibis.literal(True) if include_refunds else rows.a >= 0
    rows = rows.mutate(q=q)
    if freq is not None:
        rows = rows.mutate(p=period_number(rows.ts, rows.day, freq))
    return rows


def _fetch(expr) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


def _members(rows, n_by: int):
    """One row per customer with a purchase: ``c``, ``first_ts``, ``first_day``,
    ``last_ts`` and the segment values ``s0 ..`` of the first purchase."""
    q_rows = rows.filter(rows.q)
    seg = [f"s{i}" for i in range(n_by)]
    agg = q_rows.group_by("c").aggregate(first_ts=q_rows.ts.min(), last_ts=q_rows.ts.max())
    if seg:
        agg = agg.join(_first_segments(rows, seg), "c")
    return agg.mutate(first_day=day_number(agg.first_ts))


def _first_segments(rows, seg: list[str]):
    """``c`` and the segment values ``seg`` of each customer's first purchase (earliest
    timestamp, then the smallest values)."""
    ibis = ibis_module()
    q_rows = rows.filter(rows.q)
    w = ibis.window(group_by=q_rows.c, order_by=[q_rows.ts, *[q_rows[s] for s in seg]])
    first = q_rows.mutate(rn=ibis.row_number().over(w))
    return first.filter(first.rn == 0).select("c", *seg)


def _segment_order(values: pd.DataFrame, by_cols: list[str]) -> pd.DataFrame:
    """Distinct segment values sorted as the NumPy engine numbers them."""
    codes = values.groupby(by_cols, sort=True, dropna=False, observed=True).ngroup()
    first = np.full(int(codes.max()) + 1 if len(codes) else 0, len(codes), dtype=np.int64)
    np.minimum.at(first, codes.to_numpy(np.int64), np.arange(len(codes)))
    return values.take(first).reset_index(drop=True)


# --------------------------------------------------------------------------------------
# cohort activity
# --------------------------------------------------------------------------------------


def cohort_activity(
    tx: Any,
    freq: str = "M",
    *,
    periods: Literal["calendar", "rolling"] = "calendar",
    by: str | Sequence[str] | None = None,
    include_refunds: bool = False,
    until: pd.Timestamp | str | None = None,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
    order: str | None = None,
):
    """:func:`retention.engine.frame.cohort_activity` computed in the table's engine.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> tx = ibis.memtable(pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 20.0, 5.0],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-02-11"])}))
    >>> cohort_activity(tx, "M").cells[["cohort", "period", "customers", "revenue"]]
       cohort  period  customers  revenue
    0     648       0          1     10.0
    1     648       1          1     20.0
    2     649       0          1      5.0
    """
    from retention.engine.frame import ROLLING_DAYS, CohortActivity

    freq = normalize_freq(freq)
    if periods not in ("calendar", "rolling"):
        raise ValueError(f"periods={periods!r}; use 'calendar' or 'rolling'.")
    by_cols = as_list(by)
    until_day = None
    if until is not None:
        until_day = int(pd.Timestamp(until).as_unit("ns").value // 86_400_000_000_000)
    rows = _rows(tx, customer=customer, date=date, amount=amount, order=order, by=by_cols,
                 include_refunds=include_refunds, freq=freq)
    last_day = _last_day(tx, rows, date)
    if until_day is not None:
        rows = rows.filter(rows.day < until_day)
        last_day = None if last_day is None else min(last_day, until_day - 1)
    last_date = None if last_day is None else pd.Timestamp(np.datetime64(last_day, "D")).as_unit(
        "ns")
    ibis = ibis_module()
    num, den = ROLLING_DAYS[freq]
    seg = [f"s{i}" for i in range(len(by_cols))]

    # One query. Units: one row per customer and calendar period (rolling periods: per
    # customer and day, and order id when orders are counted, since a rolling offset is only
    # known once the first purchase is), with ``fd`` its first purchase (a timestamp, or the
    # day of a rolling unit; null: no purchase). Members: per customer, the cohort, first
    # purchase day, last active unit and the segment of the first purchase. Each unit then
    # lands at its offset k from the cohort (-1: before the first purchase, or a customer
    # never acquired: unattributed).
    unit_key = ["c", "p"] if periods == "calendar" else (
        ["c", "day", "o"] if order is not None else ["c", "day"])
    n_orders = (rows.count(where=rows.q) if order is None or periods == "rolling"
                else rows.o.nunique(where=rows.q))
    units = rows.group_by(unit_key).aggregate(
        n_orders=n_orders, revenue=rows.a.sum(), n_rows=rows.count(),
        **({"fd": rows.ts.min(where=rows.q)} if periods == "calendar" else
           {"fd": rows.day.min(where=rows.q), "p": rows.p.min()}))
    active = units.fd.notnull()
    last_unit = units.p if periods == "calendar" else units.day
    members = units.group_by(m=units.c).aggregate(
        cohort=units.p.min(where=active), first_day=units.fd.min(),
        last_unit=last_unit.max(where=active), first_unit=last_unit.min())
    if periods == "calendar":  # the day of the first purchase, from its timestamp
        members = members.mutate(first_day=day_number(members.first_day))
    if seg:
        first = _first_segments(rows, seg).rename(m="c")
        members = members.left_join(first, "m").select(*members.columns, *seg)
    joined = units.join(members, units.c == members.m)
    if periods == "calendar":
        k, last_k = joined.p - joined.cohort, joined.last_unit - joined.cohort
        attributed = joined.p >= joined.cohort
    else:
        k = ((joined.day - joined.first_day) * den) // num
        last_k = ((joined.last_unit - joined.first_day) * den) // num
        attributed = joined.day >= joined.first_day
    unit = joined.p if periods == "calendar" else joined.day
    joined = joined.mutate(k=ibis.ifelse(attributed.fill_null(False), k, -1), last_k=last_k,
                           first=unit == joined.first_unit)
    if periods == "rolling":  # units are days: one row per customer and offset first
        n_per = (joined.o.nunique(where=joined.fd.notnull()) if order is not None
                 else joined.n_orders.sum())
        joined = joined.group_by([*seg, "cohort", "c", "k", "last_k", "first_day"]).aggregate(
            fd=joined.fd.min(), n_orders=n_per, revenue=joined.revenue.sum(),
            n_rows=joined.n_rows.sum(), p=joined.p.min(), first=joined.first.any())
    on = joined.fd.notnull()
    cells_raw = _fetch(joined.group_by([*seg, "cohort", "k"]).aggregate(
        customers=joined.count(where=on), orders=joined.n_orders.sum(),
        revenue=joined.revenue.sum(), n_rows=joined.n_rows.sum(),
        leaving=joined.count(where=on & (joined.k == joined.last_k)),
        first_min=joined.first_day.min(), first_max=joined.first_day.max(),
        never=joined.count(where=joined.cohort.isnull() & joined.first),
        pmin=joined.p.min(), pmax=joined.p.max()))
    n_rows = int(cells_raw["n_rows"].sum())
    lost = cells_raw["k"] < 0
    unattributed = cells_raw[lost]
    customers_without = int(cells_raw["never"].sum())
    if n_rows == 0 or lost.all():
        return _empty_like(tx, by_cols, last_date)._replace(
            unattributed_rows=n_rows,
            unattributed_revenue=float(unattributed["revenue"].sum()),
            customers_without_purchase=customers_without,
        )
    pmin, pmax = int(cells_raw["pmin"].min()), int(cells_raw["pmax"].max())
    n_cal = pmax - pmin + 1
    cells_raw = cells_raw[~lost]
    cohort_raw = cells_raw[cells_raw["k"] == 0].rename(columns={"customers": "cohort_size"})
    n_j = n_cal if periods == "calendar" else int(cells_raw["k"].max()) + 1

    if by_cols:
        seg_values = _segment_order(cohort_raw[seg].set_axis(by_cols, axis=1), by_cols)
    else:
        seg_values = pd.DataFrame(index=range(1))
    n_seg = len(seg_values)
    n_groups = n_seg * n_cal
    n_cells = n_groups * n_j

    def group_code(frame: pd.DataFrame) -> np.ndarray:
        cohort_idx = frame["cohort"].to_numpy(np.int64) - pmin
        if not by_cols:
            return cohort_idx
        keys = frame[seg].set_axis(by_cols, axis=1)
        lookup = seg_values.assign(_code=np.arange(n_seg))
        code = keys.merge(lookup, on=by_cols, how="left")["_code"].to_numpy(np.int64)
        return code * n_cal + cohort_idx

    def dense(frame: pd.DataFrame, k: str, column: str | None, dtype) -> np.ndarray:
        at = group_code(frame) * n_j + frame[k].to_numpy(np.int64)
        weights = None if column is None else frame[column].to_numpy(np.float64)
        return np.bincount(at, weights=weights, minlength=n_cells).astype(dtype)

    customers = dense(cells_raw, "k", "customers", np.int64)
    orders = dense(cells_raw, "k", "orders", np.int64)
    revenue = dense(cells_raw, "k", "revenue", np.float64)
    leaving = dense(cells_raw, "k", "leaving", np.int64).reshape(n_groups, n_j)
    unbounded = np.cumsum(leaving[:, ::-1], axis=1)[:, ::-1].ravel()
    keep = np.flatnonzero((customers > 0) | (unbounded > 0) | (orders > 0) | (revenue != 0))
    cell_group, cell_k = np.divmod(keep, n_j)
    cell_seg, cell_cohort = np.divmod(cell_group, n_cal)
    cells = pd.DataFrame({
        **{c: seg_values[c].take(cell_seg).reset_index(drop=True) for c in by_cols},
        "cohort": cell_cohort + pmin,
        "period": cell_k,
        "customers": customers[keep],
        "customers_unbounded": unbounded[keep],
        "orders": orders[keep],
        "revenue": revenue[keep],
    })

    at = group_code(cohort_raw)
    order_ = np.argsort(at, kind="stable")
    cohort_raw = cohort_raw.take(order_).reset_index(drop=True)
    at = at[order_]
    group_seg = at // n_cal
    cohorts = pd.DataFrame({
        **{c: seg_values[c].take(group_seg).reset_index(drop=True) for c in by_cols},
        "cohort": cohort_raw["cohort"].to_numpy(np.int64),
        "cohort_size": cohort_raw["cohort_size"].to_numpy(np.int64),
        "first_purchase_min": _days(cohort_raw["first_min"]),
        "first_purchase_max": _days(cohort_raw["first_max"]),
    })
    return CohortActivity(
        cells=cells,
        cohorts=cohorts,
        last_date=last_date,
        unattributed_rows=int(unattributed["n_rows"].sum()),
        unattributed_revenue=float(unattributed["revenue"].sum()),
        customers_without_purchase=customers_without,
    )


def _known_span(tx: Any, date: str) -> tuple[Any, Any] | None:
    """First and last ``date`` when the load already counted them, else None."""
    if isinstance(tx, TransactionTable) and date == DATE:
        return tx.span
    return None


def _last_day(tx: Any, rows, date: str) -> int | None:
    """Day number of the last row (known from the load's span, else one query)."""
    if (span := _known_span(tx, date)) is not None:
        return int(pd.Timestamp(span[1]).as_unit("ns").value // 86_400_000_000_000)
    got = _fetch(rows.aggregate(last_day=rows.day.max()))["last_day"].iloc[0]
    return None if pd.isna(got) else int(got)


def _days(values: pd.Series) -> np.ndarray:
    return values.to_numpy(np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def _empty_like(tx: Any, by_cols: list[str], last_date):
    from retention.engine.frame import _empty_activity

    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in by_cols})
    return _empty_activity(frame, by_cols, last_date)


# --------------------------------------------------------------------------------------
# period activity
# --------------------------------------------------------------------------------------


def period_activity(
    tx: Any,
    freq: str = "M",
    *,
    include_refunds: bool = False,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
    order: str | None = None,
):
    """:func:`retention.engine.frame.period_activity` computed in the table's engine.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> tx = ibis.memtable(pd.DataFrame({"customer_id": ["a", "a", "b", "a"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-11", "2024-03-02"]),
    ...     "revenue": [10.0, 0.0, 5.0, -4.0]}))
    >>> act = period_activity(tx, "M")
    >>> act.customer.tolist(), act.period.tolist(), act.orders.tolist(), act.revenue.tolist()
    ([0, 1], [0, 1], [2, 1, 0], [10.0, 5.0, -4.0])
    """
    from retention.engine.frame import PeriodActivity

    freq = normalize_freq(freq)
    rows = _rows(tx, customer=customer, date=date, amount=amount, order=order,
                 include_refunds=include_refunds, freq=freq)
    per = rows.group_by("p").aggregate(
        revenue=rows.a.sum(), n_rows=rows.count(), last_day=rows.day.max(),
        **({} if order is not None else {"orders": rows.count(where=rows.q)}))
    per = _fetch(per)
    if len(per) == 0:
        raise ValueError("tx has no rows: no periods to report.")
    pmin, pmax = int(per["p"].min()), int(per["p"].max())
    n_cal = pmax - pmin + 1
    idx = per["p"].to_numpy(np.int64) - pmin
    revenue = np.bincount(idx, weights=per["revenue"].to_numpy(np.float64), minlength=n_cal)
    q_rows = rows.filter(rows.q)
    if order is not None:
        o = q_rows.group_by(["p", "c"]).aggregate(n=q_rows.o.nunique())
        o = _fetch(o.group_by("p").aggregate(orders=o.n.sum()))
        per_o = o["p"].to_numpy(np.int64) - pmin
        orders = np.bincount(per_o, weights=o["orders"].to_numpy(np.float64), minlength=n_cal)
    else:
        orders = np.bincount(idx, weights=per["orders"].to_numpy(np.float64), minlength=n_cal)
    pairs = _fetch(q_rows.select("c", "p").distinct())
    codes, _ = _customer_codes(pairs["c"])
    period = pairs["p"].to_numpy(np.int64) - pmin
    sort = np.lexsort((period, codes))
    last_date = pd.Timestamp(np.datetime64(int(per["last_day"].max()), "D")).as_unit("ns")
    return PeriodActivity(pmin, codes[sort], period[sort], orders.astype(np.int64), revenue,
                          last_date)


def _customer_codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer code of each id, numbered in sorted order of the ids."""
    codes, uniques = pd.factorize(ids, sort=True)
    return codes.astype(np.int64), pd.Index(uniques)


# --------------------------------------------------------------------------------------
# per-customer totals
# --------------------------------------------------------------------------------------


def customer_totals(
    tx: Any,
    *,
    by: str | Sequence[str] | None = None,
    include_refunds: bool = False,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
    order: str | None = None,
):
    """:func:`retention.engine.frame.customer_totals` computed in the table's engine.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> tx = ibis.memtable(pd.DataFrame({"customer_id": ["b", "a", "a", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-01-20", "2024-03-03"]),
    ...     "revenue": [5.0, 10.0, 0.0, -2.0]}))
    >>> totals = customer_totals(tx)
    >>> totals.customers[["orders", "revenue"]].to_numpy().tolist()
    [[2.0, 10.0], [1.0, 5.0]]
    >>> totals.customers_without_purchase, totals.revenue_without_purchase
    (1, -2.0)
    """
    from retention.engine.frame import CustomerTotals

    by_cols = as_list(by)
    reserved = {"first_purchase", "last_purchase", "orders", "revenue"}
    clash = [c for c in by_cols if c in reserved]
    if clash:
        raise ValueError(f"by column(s) {clash} clash with the output columns {sorted(reserved)}.")
    rows = _rows(tx, customer=customer, date=date, amount=amount, order=order, by=by_cols,
                 include_refunds=include_refunds)
    seg = [f"s{i}" for i in range(len(by_cols))]
    n_orders = rows.o.nunique(where=rows.q) if order is not None else rows.count(where=rows.q)
    per = rows.group_by("c").aggregate(
        first_ts=rows.ts.min(where=rows.q), last_ts=rows.ts.max(where=rows.q),
        orders=n_orders, revenue=rows.a.sum(), last_day=rows.day.max())
    if seg:
        members = _members(rows, len(by_cols)).select("c", *seg)
        per = per.left_join(members, "c").select(
            *per.columns, **{s: members[s] for s in seg})
    got = per.order_by("c").to_pyarrow()
    last = got["last_day"].to_numpy()
    last_date = None if not len(last) else pd.Timestamp(
        np.datetime64(int(last.max()), "D")).as_unit("ns")
    bought = got["first_ts"].is_valid().to_numpy(zero_copy_only=False)
    without = got["revenue"].to_numpy(zero_copy_only=False)[~bought]
    out = _by_customer(got, bought, customer, {
        "first_purchase": ("first_ts", "datetime64[ns]"),
        "last_purchase": ("last_ts", "datetime64[ns]"),
        **{c: (s, None) for c, s in zip(by_cols, seg, strict=True)},
        "orders": ("orders", np.int64),
        "revenue": ("revenue", np.float64),
    })
    return CustomerTotals(
        customers=out,
        last_date=last_date,
        customers_without_purchase=len(without),
        revenue_without_purchase=float(without.sum()),
    )


# --------------------------------------------------------------------------------------
# purchase occasions (the RFM summaries)
# --------------------------------------------------------------------------------------


class LogSpan(NamedTuple):
    """First and last period of a log (what :class:`retention.engine.frame.OccasionCodes`
    says of the whole log, without the rows)."""

    freq: str
    customer: str
    first_period: int
    span: int
    first_date: np.datetime64
    last_date: np.datetime64

    def period_of(self, date: Any) -> int:
        """Period of a date relative to ``first_period``."""
        day = np.array([np.datetime64(date, "ns")])
        return int(period_codes(day, self.freq)[0]) - self.first_period


def log_span(tx: Any, freq: str, *, customer: str = CUSTOMER, date: str = DATE,
             amount: str | None = AMOUNT) -> LogSpan:
    """First and last transaction and their periods.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> tx = ibis.memtable(pd.DataFrame({"customer_id": [7, 5], "revenue": [1.0, 2.0],
    ...     "order_date": pd.to_datetime(["2024-01-02", "2024-02-01"])}))
    >>> log_span(tx, "M").span
    2
    """
    freq = normalize_freq(freq)
    t = _ibis_table(tx)
    _require(t, customer=customer, date=date, amount=amount)
    if (known := _known_span(tx, date)) is not None:
        first, last = (np.datetime64(v, "ns") for v in known)
    else:
        ts = t[date].cast("timestamp")
        got = _fetch(t.aggregate(first=ts.min(), last=ts.max()))
        if got["first"].isna().iloc[0]:
            raise ValueError("the transaction table is empty.")
        first = np.datetime64(got["first"].iloc[0], "ns")
        last = np.datetime64(got["last"].iloc[0], "ns")
    lo = int(period_codes(np.array([first]), freq)[0])
    span = int(period_codes(np.array([last]), freq)[0]) - lo + 1
    return LogSpan(freq, customer, lo, span, first, last)


class OccasionTotals(NamedTuple):
    """Purchase occasions of each customer within a window of periods (see
    :func:`occasion_totals`)."""

    customers: pd.DataFrame  # index id (sorted): count, first, last, revenue, first_revenue
    n_refund_only_periods: int
    refund_only_amount: float
    n_customers_without_purchase: int  # customers whose periods in the window are refunds only


def occasion_totals(tx: Any, span: LogSpan, lo: int | None, hi: int | None, *,
                    customer: str = CUSTOMER, date: str = DATE,
                    amount: str | None = AMOUNT) -> OccasionTotals:
    """Per customer, the purchase occasions in relative periods ``lo .. hi`` (inclusive;
    None: open): their number, first and last period, summed value and the value of the
    first; plus the refund-only periods set aside.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> tx = ibis.memtable(pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-02"]),
    ...     "revenue": [10.0, 5.0, 20.0, -3.0]}))
    >>> occ = occasion_totals(tx, log_span(tx, "D"), None, None)
    >>> occ.customers.to_numpy().tolist(), occ.n_refund_only_periods
    ([[2.0, 0.0, 7.0, 35.0, 15.0]], 1)
    """
    ibis = ibis_module()
    t = _ibis_table(tx)
    daily = span.freq == "D"  # rows grouped by their date, numbered per customer (cheaper)
    if daily:
        key = t[date].cast("timestamp").date()
        start = np.datetime64(span.first_date, "D")
        lo, hi = (None if k is None else ibis.date(str(start + np.timedelta64(k, "D")))
                  for k in (lo, hi))
    else:
        key = _relative_period(t, date, span)
    a = t[amount].cast("float64") if amount is not None else ibis.literal(0.0)
    rows = t.select(c=t[customer], r=key, a=a)
    if lo is not None:
        rows = rows.filter(rows.r >= lo)
    if hi is not None:
        rows = rows.filter(rows.r <= hi)
    periods = rows.group_by(["c", "r"]).aggregate(
        purchase=(rows.a >= 0).any(), value=rows.a.sum())
    buy, value = periods.purchase, periods.value
    per = periods.group_by("c").aggregate(
        count=periods.count(where=buy), first=periods.r.min(where=buy),
        last=periods.r.max(where=buy), revenue=value.sum(where=buy),
        first_revenue=_value_at_min(periods, value, periods.r, buy),
        n_refund=periods.count(where=~buy), refund_amount=value.sum(where=~buy))
    if daily:
        per = per.mutate(**{e: per[e].epoch_days().cast("int64") - span.first_period
                            for e in ("first", "last")})
    got = per.order_by("c").to_pyarrow()
    refund_only = got["n_refund"].to_numpy(zero_copy_only=False)
    bought = got["count"].to_numpy(zero_copy_only=False) > 0
    n_without = int(np.count_nonzero(~bought))
    refund_amount = float(np.nansum(got["refund_amount"].to_numpy(zero_copy_only=False)))
    customers = _by_customer(got, bought, customer, {
        "count": ("count", np.int64),
        "first": ("first", np.int64),
        "last": ("last", np.int64),
        "revenue": ("revenue", np.float64),
        "first_revenue": ("first_revenue", np.float64),
    })
    return OccasionTotals(
        customers=customers,
        n_refund_only_periods=int(refund_only.sum()),
        refund_only_amount=refund_amount,
        n_customers_without_purchase=n_without,
    )


def _by_customer(table, kept: np.ndarray, name: str,
                 columns: dict[str, tuple[str, Any]]) -> pd.DataFrame:
    """The ``kept`` rows of a fetched per-customer :class:`pyarrow.Table` (ids ``c``), as
    ``columns`` (output name: fetched name and dtype, None to keep it) indexed by id, in
    order of the ids: fetched in the engine's order, sorted here where its collation
    differs, unsorted where the ids do not compare."""
    import pyarrow as pa

    def values(column: str, dtype: Any = None) -> Any:
        got = table[column]
        if not (pa.types.is_integer(got.type) or pa.types.is_floating(got.type)
                or pa.types.is_timestamp(got.type)):
            return got.to_pandas()[kept].array
        got = got.to_numpy(zero_copy_only=False)[kept]
        return got if dtype is None else got.astype(dtype, copy=False)

    out = pd.DataFrame({out: values(*got) for out, got in columns.items()},
                       index=pd.Index(values("c"), name=name), copy=False)
    if not out.index.is_monotonic_increasing:
        try:
            out = out.sort_index()
        except TypeError:  # ids of mixed, unorderable types
            pass
    return out


def _value_at_min(table, value, key, where):
    """``value`` at the smallest ``key`` among the rows where ``where`` holds: Ibis's
    ``argmin``, except on DuckDB, where Ibis compiles it to an ordered ``FIRST`` that sorts
    every group, and DuckDB's own ``arg_min`` gives the same value in one pass."""
    if backend_name(table) != "duckdb":
        return value.argmin(key, where=where)
    return _duckdb_arg_min(str(key.type()))(value, key, where=where)


@functools.cache
def _duckdb_arg_min(key_type: str):
    """DuckDB's ``arg_min(arg, key)`` as an Ibis aggregate, for keys of ``key_type``."""

    def arg_min(arg, key):
        """``arg`` at the smallest ``key``."""

    return ibis_module().udf.agg.builtin(
        arg_min, name="arg_min", signature=(("float64", key_type), "float64"))


def rows_after(tx: Any, span: LogSpan, hi: int, *, date: str = DATE) -> int:
    """Rows in relative periods after ``hi`` (none when ``hi`` is the last period: no query).

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> tx = ibis.memtable(pd.DataFrame({"customer_id": [7, 5], "revenue": [1.0, 2.0],
    ...     "order_date": pd.to_datetime(["2024-01-02", "2024-02-01"])}))
    >>> rows_after(tx, log_span(tx, "M"), 0)
    1
    """
    if hi >= span.span - 1:
        return 0
    t = _ibis_table(tx)
    return int(t.count(where=_relative_period(t, date, span) > hi).execute())


def _relative_period(t, date: str, span: LogSpan):
    """Each row's period code relative to the first period of the log."""
    ts = t[date].cast("timestamp")
    return period_number(ts, day_number(ts), span.freq) - span.first_period
