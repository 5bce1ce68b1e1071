"""The passes over the full transaction log.

Everything else in the package works on the small tables these functions return, so this
module is the only place that touches every transaction. Each function is a handful of
vectorised NumPy passes over integer keys:

* customers are turned into integer *slots* once (``id - min(id)`` when the ids are integers
  in a dense range, :func:`pandas.factorize` otherwise; the same encoder as every other
  table, :func:`retention.checks.encode_customers`);
* a row is a purchase by one rule everywhere, :func:`is_purchase` (revenue >= 0; negative
  rows are refunds);
* dates are turned into integer day numbers, and days into period indexes through a small
  lookup table (one entry per day in the data) that agrees with
  :func:`retention.periods.period_codes`;
* distinct (customer, period) activity is a boolean bitmap indexed by
  ``slot * n_periods + period`` (or, when that bitmap would be too large, a sort of the same
  integer keys), and every count or sum is a :func:`numpy.bincount` over small integer keys.

No datetime group-by, no Python loop over rows or customers, no copy of the input frame.

The contract the second engine, :mod:`retention.engine.lazy` (Ibis: DuckDB, PostgreSQL,
Spark ...), implements, and to which the public functions here hand a
:class:`~retention.engine.lazy.TransactionTable` or an :class:`ibis.Table`: the functions
below, with the same inputs (a transaction table plus the names of its ``customer``,
``date`` (datetime64, tz-naive), ``amount`` and optional ``order`` columns) and the same
small typed outputs; the tables built on top of them do not change.

==============================  ==========================================================
function                        returns
==============================  ==========================================================
:func:`cohort_activity`         :class:`CohortActivity`: per (segment, cohort, offset) cell
                                customers, orders, revenue; per cohort its size
:func:`customer_periods`        distinct (customer, period) pairs with orders and revenue
:func:`period_activity`         :class:`PeriodActivity`: distinct (customer, period) pairs
                                with a purchase; orders and net revenue per period
:func:`customer_totals`         :class:`CustomerTotals`: first / last purchase, segment,
                                orders and revenue per customer
:func:`occasion_codes`          :class:`OccasionCodes`: customer code and period of every
                                row (the input of :func:`purchase_occasions`)
:func:`purchase_occasions`      :class:`PurchaseOccasions`: per customer code the number of
                                purchase periods, the first and the last
:func:`occasion_revenue`        per customer code, the revenue of its purchase periods
==============================  ==========================================================

Rules every engine keeps:

* purchase = revenue >= 0 (:func:`is_purchase`); a refund counts in revenue, never in
  activity (unless ``include_refunds``); a customer with refunds only is counted, not listed;
* calendar periods are those of :func:`retention.periods.period_codes` (``D``; ``W`` weeks
  starting Monday; ``M``; ``Q``), identified by their :class:`pandas.Period` ordinal; rolling
  periods are :data:`ROLLING_DAYS` long, counted from each customer's first purchase day;
* a purchase occasion is a distinct (customer, period) pair with a purchase; its value is
  the net revenue of all the customer's rows in that period; a period with refunds only is
  not an occasion and its rows and amount are reported apart;
* customer ids are coded by :func:`retention.checks.encode_customers`; outputs are indexed
  by the ids themselves, sorted when they can be ordered;
* missing ids, dates or amounts are refused with the column, the count and examples.

The SQL equivalent of :func:`cohort_activity` (calendar months, ``include_refunds=False``)
is::

    WITH t AS (SELECT customer_id, date_trunc('month', order_date) AS p, revenue FROM tx),
         first AS (SELECT customer_id, min(p) AS cohort FROM t WHERE revenue >= 0 GROUP BY 1),
         pairs AS (SELECT DISTINCT customer_id, p FROM t WHERE revenue >= 0)
    SELECT cohort, datediff('month', cohort, p) AS period, count(*) AS customers, ...
    FROM pairs JOIN first USING (customer_id) GROUP BY 1, 2
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from retention.checks import (
    IdCodes,
    _small_pages,
    amount_values,
    as_list,
    bad_rows,
    date_values,
    encode_customers,
    encode_ids,
    require_columns,
)
from retention.engine import lazy
from retention.periods import normalize_freq, period_codes

#: Canonical column names of a transaction log.
CUSTOMER = "customer_id"
DATE = "order_date"
AMOUNT = "revenue"

#: Rolling period lengths as exact fractions of a day, ``(numerator, denominator)``:
#: a day, a week, an average Gregorian month (365.25 / 12 = 30.4375 days) and an average
#: quarter (365.25 / 4 = 91.3125 days). Matches :data:`retention.periods.PERIOD_DAYS`.
ROLLING_DAYS: dict[str, tuple[int, int]] = {
    "D": (1, 1),
    "W": (7, 1),
    "M": (487, 16),
    "Q": (1461, 16),
}

_TICKS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_CHUNK = 1 << 17  # rows per chunk in the row passes (their temporaries stay in the CPU cache)
_BITMAP_BYTES = 1 << 24  # a distinct-pairs bitmap may use this many bytes,
_BITMAP_BYTES_PER_ROW = 8  # or this many per transaction row; else keys are sorted


# --------------------------------------------------------------------------------------
# input checks and encoding
# --------------------------------------------------------------------------------------


def is_purchase(amount: np.ndarray) -> np.ndarray:
    """The purchase rule, used by every table and summary: which rows are purchases.

    A row with revenue >= 0 is a purchase (a zero-value order is still an order: free
    samples, fully discounted orders, and the zero-value orders of the CDNOW data on which
    the published BG/NBD fit is estimated). A negative row is a refund or return: it counts
    in revenue but never makes a customer active, unless an ``include_refunds`` option says
    so.

    Examples
    --------
    >>> import numpy as np
    >>> is_purchase(np.array([12.5, 0.0, -3.0])).tolist()
    [True, True, False]
    """
    return amount >= 0


def _date_ticks(series: pd.Series, name: str) -> tuple[np.ndarray, int]:
    """Integer timestamps of a date column (strings are parsed) and the ticks in a day."""
    values = date_values(series, name, parse=True)
    unit, _ = np.datetime_data(values.dtype)
    return values.view(np.int64), _TICKS_PER_DAY[unit]


def _days(ticks: np.ndarray, per_day: int) -> np.ndarray:
    """Day number (days since 1970-01-01) of each timestamp, int32 when it fits."""
    if len(ticks) == 0:
        return np.empty(0, dtype=np.int32)
    lo, hi = int(ticks.min()) // per_day, int(ticks.max()) // per_day
    fits = np.iinfo(np.int32).min < lo and hi < np.iinfo(np.int32).max
    day = np.empty(len(ticks), dtype=np.int32 if fits else np.int64)
    np.floor_divide(ticks, per_day, out=day, casting="unsafe")  # buffered, no int64 copy
    return day


@dataclass
class _Log:
    """A transaction log reduced to flat integer / float arrays (row order kept)."""

    customers: IdCodes  # customer slot of each row (``.codes``) and the ids of the slots
    day: np.ndarray  # days since 1970-01-01 (int32, or int64 for extreme dates)
    ticks: np.ndarray  # raw int64 timestamps (same unit for all rows)
    amount: np.ndarray  # float64
    qualifying: np.ndarray  # bool: the row makes its customer active / is an order
    order: np.ndarray | None  # order codes, -1 where the row has no order id
    n_orders: int
    positions: np.ndarray | None  # row positions in the input when rows were cut by `until`
    last_day: int | None  # last day with data, before the `until` cut (None: no rows)

    @property
    def slot(self) -> np.ndarray:
        """Customer slot of each row, ``0 <= slot < n_slots``."""
        return self.customers.codes

    @property
    def n_slots(self) -> int:
        return self.customers.n

    @property
    def n_rows(self) -> int:
        return len(self.day)


@_small_pages()
def _encode(
    tx: pd.DataFrame,
    *,
    customer: str,
    date: str,
    amount: str,
    order: str | None,
    include_refunds: bool,
    until_day: int | None = None,
) -> _Log:
    require_columns(tx, customer=customer, date=date, amount=amount, order=order)
    index = tx.index
    ticks, per_day = _date_ticks(tx[date], date)
    values = amount_values(tx[amount], amount)
    day = _days(ticks, per_day)
    last_day = int(day.max()) if len(day) else None
    customers: Any = tx[customer]
    orders: Any = tx[order] if order is not None else None
    positions = None
    if until_day is not None and last_day is not None and last_day >= until_day:
        keep = day < until_day
        positions = np.flatnonzero(keep)
        ticks, day, values = ticks[keep], day[keep], values[keep]
        customers = customers.to_numpy()[keep] if customers.dtype.kind in "iu" else customers[keep]
        orders = orders[keep] if orders is not None else None
        index = index[keep]
    customer_codes = encode_customers(customers, customer, index)
    qualifying = np.ones(len(day), dtype=bool) if include_refunds else is_purchase(values)
    order_codes, n_orders = None, 0
    if orders is not None:
        order_codes, n_orders, _, _ = encode_ids(orders)
        missing = (order_codes < 0) & qualifying
        if missing.any():
            raise ValueError(
                bad_rows(order, "orders without an order id", missing, index)
                + "; fill them or call without order=."
            )
    return _Log(
        customers=customer_codes,
        day=day,
        ticks=ticks,
        amount=values,
        qualifying=qualifying,
        order=order_codes,
        n_orders=n_orders,
        positions=positions,
        last_day=last_day,
    )


def _chunks(n: int) -> list[slice]:
    """Slices of ``range(n)``: the row passes run chunk by chunk to keep temporaries small."""
    return [slice(a, min(a + _CHUNK, n)) for a in range(0, n, _CHUNK)]


def sorted_in_halves(blocks: Iterable[np.ndarray], n: int, pivot: int, dtype: Any) -> np.ndarray:
    """The ``n`` values of ``blocks``, sorted, the two halves at once.

    Values below ``pivot`` are gathered at the front of the output and the others at its
    back, block by block; each part is then sorted in its own thread (NumPy sorts without
    the GIL), which leaves the whole output sorted.

    Examples
    --------
    >>> import numpy as np
    >>> sorted_in_halves([np.array([5, 1]), np.array([9, 2, 7])], 5, 5, np.int64).tolist()
    [1, 2, 5, 7, 9]
    """
    out = np.empty(n, dtype=dtype)
    front, back = 0, n
    for block in blocks:
        low = block < pivot
        k = int(np.count_nonzero(low))
        out[front : front + k] = block[low]
        front += k
        out[back - (len(block) - k) : back] = block[~low]
        back -= len(block) - k
    worker = threading.Thread(target=out[front:].sort)
    worker.start()
    out[:front].sort()
    worker.join()
    return out


def _small_int(bound: int) -> type[np.signedinteger]:
    """Smallest signed integer type holding ``-bound .. bound``."""
    for dtype in (np.int16, np.int32):
        if bound < np.iinfo(dtype).max:
            return dtype
    return np.int64


def _calendar_index(day: np.ndarray, freq: str) -> tuple[np.ndarray, int, int, np.ndarray, int]:
    """Calendar period index of each row, through a one-entry-per-day lookup table.

    Returns ``(index per row, first period code, number of periods, lookup table, first
    day)``; the lookup table maps ``day - first day`` to the period index, and agrees with
    :func:`retention.periods.period_codes`.
    """
    first_day, last_day = int(day.min()), int(day.max())
    days = np.arange(first_day, last_day + 1, dtype=np.int64).astype("datetime64[D]")
    codes = period_codes(days, freq)
    n_periods = int(codes[-1] - codes[0] + 1)
    lookup = (codes - codes[0]).astype(_small_int(n_periods))
    index = np.empty(len(day), dtype=lookup.dtype)
    for part in _chunks(len(day)):
        np.take(lookup, day[part] - first_day, out=index[part])
    return index, int(codes[0]), n_periods, lookup, first_day


def _distinct_pairs(
    slot: np.ndarray,
    j: np.ndarray,
    q: np.ndarray,
    n_slots: int,
    n_j: int,
    chunks: list[slice],
):
    """Distinct (slot, j) pairs of the qualifying rows, in chunks sorted by slot then j.

    A boolean bitmap indexed by ``slot * n_j + j`` when it is small enough (a byte per cell,
    at most 8 bytes per row); otherwise a sort of the same integer keys.
    """
    size = n_slots * n_j
    key_type = np.int32 if size < np.iinfo(np.int32).max else np.int64
    if size <= max(_BITMAP_BYTES_PER_ROW * len(slot), _BITMAP_BYTES):
        bitmap = np.zeros(size, dtype=bool)
        for part in chunks:
            keys = slot[part].astype(key_type) * key_type(n_j)
            keys += j[part]
            bitmap[keys[q[part]]] = True
        grid = bitmap.reshape(n_slots, n_j)
        step = max(1, _CHUNK // max(n_j, 1))
        for first in range(0, n_slots, step):
            rows, cols = np.nonzero(grid[first : first + step])
            yield rows + first, cols
        return
    keys = slot[q].astype(np.int64) * n_j + j[q]
    keys.sort()
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys
    for part in _chunks(len(keys)):
        pair_slot, pair_j = np.divmod(keys[part], n_j)
        yield pair_slot, pair_j


def _count_orders(
    log: _Log, j: np.ndarray, n_j: int, shift: np.ndarray, n_cells: int, chunks: list[slice]
) -> np.ndarray:
    """Distinct (order id, customer, j) among the qualifying rows, counted per cell.

    Almost every order lies within one customer and one period: those are found with a
    min / max of the (customer, j) key per order and counted once; the few others are
    de-duplicated explicitly.
    """
    slot, q, order = log.slot, log.qualifying, log.order
    low = np.full(log.n_orders, np.iinfo(np.int64).max, dtype=np.int64)
    high = np.full(log.n_orders, -1, dtype=np.int64)
    for part in chunks:
        keep = q[part]
        key = slot[part][keep].astype(np.int64) * n_j + j[part][keep]
        code = order[part][keep]
        np.minimum.at(low, code, key)
        np.maximum.at(high, code, key)
    single = low[(low == high)]
    count = np.bincount(shift[single // n_j] + single % n_j, minlength=n_cells)
    spanning = (low != high) & (high >= 0)
    if spanning.any():
        rows = np.flatnonzero(q & spanning[np.maximum(order, 0)])
        pairs = pd.DataFrame({"o": order[rows], "s": slot[rows], "j": j[rows]})
        rows = rows[~pairs.duplicated().to_numpy()]
        count += np.bincount(shift[slot[rows]] + j[rows], minlength=n_cells)
    return count


def _days_to_datetime(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[ns]")


def _first_purchase_rows(log: _Log, slots: np.ndarray, first_day: np.ndarray) -> np.ndarray:
    """Input row position of each listed customer's first qualifying transaction.

    Earliest timestamp first, then earliest row in the input. Only the qualifying rows on
    each customer's first day (``first_day``, per slot) are candidates.
    """
    q = np.concatenate(
        [
            np.flatnonzero(log.qualifying[part] & (log.day[part] == first_day[log.slot[part]]))
            + part.start
            for part in _chunks(log.n_rows)
        ]
    )
    first_tick = np.full(log.n_slots, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_tick, log.slot[q], log.ticks[q])
    q = q[log.ticks[q] == first_tick[log.slot[q]]]
    first_row = np.full(log.n_slots, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_row, log.slot[q], q)
    rows = first_row[slots]
    return rows if log.positions is None else log.positions[rows]


def _segments(
    tx: pd.DataFrame, log: _Log, by: list[str], slots: np.ndarray, first_day: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame]:
    """Segment code of each listed customer (value of `by` on their first purchase)."""
    rows = _first_purchase_rows(log, slots, first_day)
    values = tx[by].take(rows).reset_index(drop=True)
    codes = values.groupby(by, sort=True, dropna=False, observed=True).ngroup().to_numpy(np.int64)
    n_segments = int(codes.max()) + 1 if len(codes) else 0
    first = np.full(n_segments, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return codes, values.take(first).reset_index(drop=True)


# --------------------------------------------------------------------------------------
# cohort activity
# --------------------------------------------------------------------------------------


class CohortActivity(NamedTuple):
    """Result of :func:`cohort_activity`: everything a cohort table is built from.

    Attributes
    ----------
    cells : DataFrame
        One row per (segment, cohort, period offset) with any activity: the ``by`` columns
        (if any), ``cohort`` (int period code of the acquisition period), ``period`` (int
        offset k >= 0), ``customers`` (cohort members active in k), ``customers_unbounded``
        (members whose last activity is in k or later), ``orders`` and ``revenue``.
    cohorts : DataFrame
        One row per (segment, cohort) with at least one customer: the ``by`` columns,
        ``cohort``, ``cohort_size``, ``first_purchase_min`` and ``first_purchase_max`` (first
        and last acquisition day in the cohort, datetime64).
    last_date : Timestamp or None
        Last day the activity covers (the day of the last transaction, or the day before
        ``until``); ``None`` for an empty log.
    unattributed_rows : int
        Rows that belong to no cohort cell (refunds of customers who never qualified, or
        dated before the customer's first purchase); their revenue is ``unattributed_revenue``.
    unattributed_revenue : float
    customers_without_purchase : int
        Customers whose every row is a refund (never acquired).
    """

    cells: pd.DataFrame
    cohorts: pd.DataFrame
    last_date: pd.Timestamp | None
    unattributed_rows: int
    unattributed_revenue: float
    customers_without_purchase: int


def cohort_activity(
    tx: pd.DataFrame,
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
) -> CohortActivity:
    """Count active customers, orders and revenue per acquisition cohort and period offset.

    The one pass behind :func:`retention.metrics.cohorts.cohort_table`. A customer's cohort is the
    period of their first *qualifying* transaction (a purchase, revenue >= 0, see
    :func:`is_purchase`; or any row when ``include_refunds``) over the whole log. With
    ``by``, a customer belongs to the segment given by the ``by`` value(s) on that first
    purchase, and all their later transactions count in it.

    Parameters
    ----------
    tx : DataFrame
        Transaction log (one row per transaction line).
    freq : {"D", "W", "M", "Q"}
        Period grain.
    periods : {"calendar", "rolling"}
        ``"calendar"``: offset k = calendar period of the transaction minus the cohort's.
        ``"rolling"``: k = floor(days since the customer's first purchase / period length),
        with lengths 1, 7, 30.4375 (365.25 / 12) and 91.3125 days (see :data:`ROLLING_DAYS`).
    by : str or list of str, optional
        Segment column(s).
    include_refunds : bool
        Whether refund rows (revenue < 0) make a customer active and count as orders.
        Their revenue is always counted.
    until : Timestamp or str, optional
        Ignore transactions dated on or after this day (for "as of" reports). Cohorts
        acquired before ``until`` are unaffected.
    customer, date, amount, order : str
        Column names. With ``order``, orders are distinct order ids per customer and period;
        otherwise each qualifying row is an order.

    Returns
    -------
    CohortActivity

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 1, 2],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-02-11"]),
    ...     "revenue": [10.0, 20.0, 5.0],
    ... })
    >>> cohort_activity(tx, "M").cells[["cohort", "period", "customers", "revenue"]]
       cohort  period  customers  revenue
    0     648       0          1     10.0
    1     648       1          1     20.0
    2     649       0          1      5.0
    """
    if lazy.is_table(tx):
        return lazy.cohort_activity(tx, freq, periods=periods, by=by,
                                    include_refunds=include_refunds, until=until,
                                    customer=customer, date=date, amount=amount, order=order)
    freq = normalize_freq(freq)
    if periods not in ("calendar", "rolling"):
        raise ValueError(f"periods={periods!r}; use 'calendar' or 'rolling'.")
    by_cols = as_list(by)
    require_columns(tx, customer=customer, date=date, amount=amount, order=order, by=by_cols)
    until_day = None
    if until is not None:
        until_day = int(pd.Timestamp(until).as_unit("ns").value // _TICKS_PER_DAY["ns"])
    log = _encode(
        tx,
        customer=customer,
        date=date,
        amount=amount,
        order=order,
        include_refunds=include_refunds,
        until_day=until_day,
    )
    return _cohort_activity(tx, log, freq, periods, by_cols, until_day)


def _empty_activity(tx: pd.DataFrame, by_cols: list[str], last_date) -> CohortActivity:
    seg = {c: pd.Series([], dtype=tx[c].dtype) for c in by_cols}
    cells = pd.DataFrame(
        {
            **seg,
            "cohort": np.array([], dtype=np.int64),
            "period": np.array([], dtype=np.int64),
            "customers": np.array([], dtype=np.int64),
            "customers_unbounded": np.array([], dtype=np.int64),
            "orders": np.array([], dtype=np.int64),
            "revenue": np.array([], dtype=np.float64),
        }
    )
    cohorts = pd.DataFrame(
        {
            **seg,
            "cohort": np.array([], dtype=np.int64),
            "cohort_size": np.array([], dtype=np.int64),
            "first_purchase_min": np.array([], dtype="datetime64[ns]"),
            "first_purchase_max": np.array([], dtype="datetime64[ns]"),
        }
    )
    return CohortActivity(cells, cohorts, last_date, 0, 0.0, 0)


@_small_pages()
def _cohort_activity(
    tx: pd.DataFrame,
    log: _Log,
    freq: str,
    periods: str,
    by_cols: list[str],
    until_day: int | None,
) -> CohortActivity:
    last_day = log.last_day
    if until_day is not None and last_day is not None:
        last_day = min(last_day, until_day - 1)
    last_date = (
        None if last_day is None else pd.Timestamp(np.datetime64(last_day, "D")).as_unit("ns")
    )
    q = log.qualifying
    if log.n_rows == 0 or not q.any():
        unattributed = _empty_activity(tx, by_cols, last_date)
        n_cust = len(np.unique(log.slot)) if log.n_rows else 0
        return unattributed._replace(
            unattributed_rows=log.n_rows,
            unattributed_revenue=float(log.amount.sum()),
            customers_without_purchase=n_cust,
        )

    cal, pmin, n_cal, lookup, day0 = _calendar_index(log.day, freq)
    slot, day, amount = log.slot, log.day, log.amount
    n_slots, n_rows = log.n_slots, log.n_rows
    chunks = _chunks(n_rows)

    # Each customer's first qualifying day (a far-future sentinel for refund-only customers).
    never = np.iinfo(day.dtype).max
    first_day = np.full(n_slots, never, dtype=day.dtype)
    for part in chunks:
        np.minimum.at(first_day, slot[part], np.where(q[part], day[part], never))
    members = np.flatnonzero(first_day < never)  # acquired customers, ascending slots
    member_day = first_day[members].astype(np.int64)
    cohort_idx = lookup[member_day - day0].astype(np.int64)

    # Column j of each row in the activity bitmap: the calendar period index, or the rolling
    # offset from the first purchase (-1 before it, or for customers never acquired).
    if periods == "calendar":
        j, n_j = cal, n_cal
    else:
        del cal
        num, den = ROLLING_DAYS[freq]

        def rolling(part: slice) -> np.ndarray:
            offset = (day[part] - first_day[slot[part]].astype(np.int64)) * den
            offset //= num
            return np.maximum(offset, -1, out=offset)

        n_j = max(int(rolling(part).max()) for part in chunks) + 1
        j = np.empty(n_rows, dtype=_small_int(n_j))
        for part in chunks:
            j[part] = rolling(part)

    # Segment of each acquired customer; group = segment * n_cal + cohort index.
    if by_cols:
        seg_code, seg_values = _segments(tx, log, by_cols, members, first_day)
        n_seg = len(seg_values)
    else:
        seg_code = np.zeros(len(members), dtype=np.int64)
        seg_values = pd.DataFrame(index=range(1))
        n_seg = 1
    n_groups = n_seg * n_cal
    group_of_member = seg_code * n_cal + cohort_idx
    n_cells = n_groups * n_j
    size = np.bincount(group_of_member, minlength=n_groups)

    # Per-customer lookups: a row's offset is k = j - base (base = cohort index for calendar
    # periods, 0 for rolling ones) and its cell is shift + j (shift = group * n_j - base).
    # Customers never acquired get a base above any j, so their offsets are negative.
    member_base = cohort_idx if periods == "calendar" else np.zeros(len(members), np.int64)
    base = np.full(n_slots, n_j, dtype=_small_int(2 * n_j + 1))
    base[members] = member_base
    shift = np.zeros(n_slots, dtype=np.int64)  # int64 (intp): what np.bincount counts
    shift[members] = group_of_member * n_j - member_base

    # Active customers per cell, from the distinct (customer, j) pairs; and the last active
    # offset of each customer, for the unbounded counts. Pairs come sorted by (slot, j).
    customers = np.zeros(n_cells, dtype=np.int64)
    last_j = np.full(n_slots, -1, dtype=np.int64)
    for pair_slot, pair_j in _distinct_pairs(slot, j, q, n_slots, n_j, chunks):
        if len(pair_slot) == 0:
            continue
        customers += np.bincount(shift[pair_slot] + pair_j, minlength=n_cells)
        last = np.flatnonzero(np.concatenate((pair_slot[1:] != pair_slot[:-1], [True])))
        last_j[pair_slot[last]] = pair_j[last]
    last_k = last_j[members] - member_base
    leaving = np.bincount(group_of_member * n_j + last_k, minlength=n_cells).reshape(n_groups, n_j)
    unbounded = np.cumsum(leaving[:, ::-1], axis=1)[:, ::-1].ravel()

    # Orders and revenue per cell, from the rows (rows at a negative offset go to the extra
    # "unattributed" bin n_cells).
    revenue = np.zeros(n_cells + 1, dtype=np.float64)
    orders = np.zeros(n_cells + 1, dtype=np.int64)
    n_unattributed = 0
    lost_slots = []
    for part in chunks:
        s_part, j_part, q_part = slot[part], j[part], q[part]
        cell = shift[s_part] + j_part
        # qualifying rows are never before the first purchase: check only the others
        other = np.flatnonzero(~q_part)
        if len(other):
            before = j_part[other] < base[s_part[other]]
            if before.any():
                cell[other[before]] = n_cells
                n_unattributed += int(np.count_nonzero(before))
                lost = s_part[other[before]]
                lost_slots.append(lost[base[lost] == n_j])
        revenue += np.bincount(cell, weights=amount[part], minlength=n_cells + 1)
        if log.order is None:
            orders += np.bincount(cell[q_part], minlength=n_cells + 1)
    if log.order is not None:
        orders[:n_cells] = _count_orders(log, j, n_j, shift, n_cells, chunks)
    without_purchase = len(np.unique(np.concatenate(lost_slots))) if lost_slots else 0

    # Sparse cell table.
    orders, revenue_cells = orders[:n_cells], revenue[:n_cells]
    keep = np.flatnonzero((customers > 0) | (unbounded > 0) | (orders > 0) | (revenue_cells != 0))
    cell_group, cell_k = np.divmod(keep, n_j)
    cell_seg, cell_cohort = np.divmod(cell_group, n_cal)
    cells = pd.DataFrame(
        {
            **{c: seg_values[c].take(cell_seg).reset_index(drop=True) for c in by_cols},
            "cohort": cell_cohort + pmin,
            "period": cell_k,
            "customers": customers[keep],
            "customers_unbounded": unbounded[keep],
            "orders": orders[keep].astype(np.int64),
            "revenue": revenue_cells[keep],
        }
    )

    # Cohort table: size and range of first-purchase days.
    present = np.flatnonzero(size)
    first_min = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    first_max = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first_min, group_of_member, member_day)
    np.maximum.at(first_max, group_of_member, member_day)
    group_seg, group_cohort = np.divmod(present, n_cal)
    cohorts = pd.DataFrame(
        {
            **{c: seg_values[c].take(group_seg).reset_index(drop=True) for c in by_cols},
            "cohort": group_cohort + pmin,
            "cohort_size": size[present],
            "first_purchase_min": _days_to_datetime(first_min[present]),
            "first_purchase_max": _days_to_datetime(first_max[present]),
        }
    )
    return CohortActivity(
        cells=cells,
        cohorts=cohorts,
        last_date=last_date,
        unattributed_rows=n_unattributed,
        unattributed_revenue=float(revenue[n_cells]),
        customers_without_purchase=without_purchase,
    )


# --------------------------------------------------------------------------------------
# customer x period activity
# --------------------------------------------------------------------------------------


def customer_periods(
    tx: pd.DataFrame,
    freq: str = "M",
    *,
    include_refunds: bool = False,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
    order: str | None = None,
) -> pd.DataFrame:
    """Distinct (customer, period) pairs with orders and revenue, and each customer's cohort.

    Parameters
    ----------
    tx : DataFrame
        Transaction log.
    freq : {"D", "W", "M", "Q"}
        Period grain.
    include_refunds : bool
        Whether refund rows (revenue < 0) make a customer active and count as orders.
    customer, date, amount, order : str
        Column names (see :func:`cohort_activity`).

    Returns
    -------
    DataFrame
        One row per customer and calendar period with at least one transaction, sorted by
        customer (in order of first appearance in ``tx``) then period:

        - the customer column (ids as given);
        - ``period``: int period code (:func:`retention.periods.period_labels` turns codes
          into :class:`pandas.Period`);
        - ``cohort``: period code of the customer's first qualifying transaction over the
          whole log (nullable ``Int64``; missing for customers with refunds only);
        - ``active``: the customer has a qualifying transaction in the period;
        - ``orders``: orders in the period; ``revenue``: revenue, refunds included.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-03-02"]),
    ...     "revenue": [10.0, -4.0, 5.0],
    ... })
    >>> customer_periods(tx, "M")
      customer_id  period  cohort  active  orders  revenue
    0           a     648     648    True       1     10.0
    1           a     650     648   False       0     -4.0
    2           b     650     650    True       1      5.0
    """
    freq = normalize_freq(freq)
    log = _encode(
        tx,
        customer=customer,
        date=date,
        amount=amount,
        order=order,
        include_refunds=include_refunds,
    )
    columns = [customer, "period", "cohort", "active", "orders", "revenue"]
    if log.n_rows == 0:
        out = pd.DataFrame({c: [] for c in columns})
        return out.astype(
            {
                "period": np.int64,
                "cohort": "Int64",
                "active": bool,
                "orders": np.int64,
                "revenue": np.float64,
            }
        )
    cal, pmin, n_cal, _, _ = _calendar_index(log.day, freq)
    # order of first appearance for the customers, whatever the slot encoding
    first_row = np.full(log.n_slots, log.n_rows, dtype=np.int64)
    np.minimum.at(first_row, log.slot, np.arange(log.n_rows))
    present = np.flatnonzero(first_row < log.n_rows)
    by_rank = present[np.argsort(first_row[present], kind="stable")]  # slot of each rank
    rank = np.empty(log.n_slots, dtype=np.int64)
    rank[by_rank] = np.arange(len(by_rank))
    del first_row, present
    keys = rank[log.slot] * n_cal + cal
    del rank
    size = len(by_rank) * n_cal
    if size <= max(_BITMAP_BYTES_PER_ROW * log.n_rows, _BITMAP_BYTES):
        bitmap = np.zeros(size, dtype=bool)
        bitmap[keys] = True
        position = np.cumsum(bitmap, dtype=np.int64 if size >= 2**31 else np.int32)
        pair = position[keys] - 1
        n_pairs = int(position[-1])
        del position
        pairs = np.flatnonzero(bitmap)
    else:
        order_ = np.argsort(keys)
        sorted_keys = keys[order_]
        new = np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))
        pair = np.empty(log.n_rows, dtype=np.int64)
        pair[order_] = np.cumsum(new) - 1
        pairs = sorted_keys[new]
        n_pairs = len(pairs)
    q = log.qualifying
    if log.order is None:
        orders = np.bincount(pair[q], minlength=n_pairs)
    else:
        qi = np.flatnonzero(q)
        dup = pd.DataFrame({"p": pair[qi], "o": log.order[qi]}).duplicated().to_numpy()
        orders = np.bincount(pair[qi[~dup]], minlength=n_pairs)
    active = np.bincount(pair[q], minlength=n_pairs) > 0
    revenue = np.bincount(pair, weights=log.amount, minlength=n_pairs)
    pair_rank, pair_cal = np.divmod(pairs, n_cal)
    first = np.full(len(by_rank), n_cal, dtype=np.int64)
    np.minimum.at(first, pair_rank[active], pair_cal[active])
    cohort = pd.array(first[pair_rank] + pmin, dtype="Int64")
    cohort[first[pair_rank] == n_cal] = pd.NA
    ids = log.customers.ids(by_rank[pair_rank])
    return pd.DataFrame(
        {
            customer: ids,
            "period": pair_cal + pmin,
            "cohort": cohort,
            "active": active,
            "orders": orders.astype(np.int64),
            "revenue": revenue,
        }
    )


# --------------------------------------------------------------------------------------
# period activity
# --------------------------------------------------------------------------------------


class PeriodActivity(NamedTuple):
    """Result of :func:`period_activity`: what the period KPI table is built from.

    Attributes
    ----------
    first_period : int
        Period code of period index 0 (the period of the first transaction).
    customer, period : ndarray of int
        The distinct (customer, period index) pairs with a purchase, sorted by customer then
        period; customers are integer codes (the same customer, the same code).
    orders : ndarray of int64
        Orders per period index (distinct order ids per customer and period with ``order``,
        purchase rows otherwise).
    revenue : ndarray of float64
        Net revenue per period index, refunds included.
    last_date : Timestamp
        Day of the last transaction.
    """

    first_period: int
    customer: np.ndarray
    period: np.ndarray
    orders: np.ndarray
    revenue: np.ndarray
    last_date: pd.Timestamp


def period_activity(
    tx: pd.DataFrame,
    freq: str = "M",
    *,
    include_refunds: bool = False,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
    order: str | None = None,
) -> PeriodActivity:
    """Distinct (customer, period) purchase pairs, and orders and revenue per period.

    The one pass behind :func:`retention.metrics.kpis.period_metrics`. In SQL (monthly)::

        SELECT DISTINCT customer_id, date_trunc('month', order_date) AS p
        FROM tx WHERE revenue >= 0 ORDER BY 1, 2

    plus the orders and the revenue of each month.

    Parameters
    ----------
    tx : DataFrame
        Transaction log with at least one row.
    freq : {"D", "W", "M", "Q"}
        Period grain.
    include_refunds : bool
        Whether refund rows (revenue < 0) make a customer active and count as orders.
    customer, date, amount, order : str
        Column names (see :func:`cohort_activity`).

    Returns
    -------
    PeriodActivity

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "a"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-11", "2024-03-02"]),
    ...     "revenue": [10.0, 0.0, 5.0, -4.0],
    ... })
    >>> act = period_activity(tx, "M")
    >>> act.customer.tolist(), act.period.tolist()
    ([0, 1], [0, 1])
    >>> act.orders.tolist(), act.revenue.tolist()
    ([2, 1, 0], [10.0, 5.0, -4.0])
    """
    if lazy.is_table(tx):
        return lazy.period_activity(tx, freq, include_refunds=include_refunds,
                                    customer=customer, date=date, amount=amount, order=order)
    freq = normalize_freq(freq)
    log = _encode(
        tx,
        customer=customer,
        date=date,
        amount=amount,
        order=order,
        include_refunds=include_refunds,
    )
    if log.n_rows == 0:
        raise ValueError("tx has no rows: no periods to report.")
    cal, pmin, n_cal, _, _ = _calendar_index(log.day, freq)
    chunks = _chunks(log.n_rows)
    pairs = list(_distinct_pairs(log.slot, cal, log.qualifying, log.n_slots, n_cal, chunks))
    pair_slot = np.concatenate([s for s, _ in pairs]) if pairs else np.empty(0, np.intp)
    pair_period = np.concatenate([j for _, j in pairs]) if pairs else np.empty(0, np.intp)
    revenue = np.zeros(n_cal, dtype=np.float64)
    orders = np.zeros(n_cal, dtype=np.int64)
    for part in chunks:
        revenue += np.bincount(cal[part], weights=log.amount[part], minlength=n_cal)
        if log.order is None:
            orders += np.bincount(cal[part][log.qualifying[part]], minlength=n_cal)
    if log.order is not None:
        shift = np.zeros(log.n_slots, dtype=np.int64)
        orders = _count_orders(log, cal, n_cal, shift, n_cal, chunks)
    last_date = pd.Timestamp(np.datetime64(log.last_day, "D")).as_unit("ns")
    return PeriodActivity(pmin, pair_slot, pair_period, orders, revenue, last_date)


# --------------------------------------------------------------------------------------
# per-customer totals
# --------------------------------------------------------------------------------------


class CustomerTotals(NamedTuple):
    """Result of :func:`customer_totals`.

    Attributes
    ----------
    customers : DataFrame
        One row per customer with a qualifying transaction, indexed by customer id (sorted,
        or in order of first appearance when the ids cannot be ordered):
        ``first_purchase`` and ``last_purchase`` (dates of the first and last qualifying
        transaction), the ``by`` columns (their values on the first purchase: earliest
        date, then earliest row), ``orders`` (distinct order ids among the qualifying rows
        with ``order``, qualifying rows otherwise) and ``revenue`` (net, refunds included).
    last_date : Timestamp or None
        Day of the last transaction; ``None`` for an empty log.
    customers_without_purchase : int
        Customers whose every row is a refund (no row in ``customers``).
    revenue_without_purchase : float
        Their revenue.
    """

    customers: pd.DataFrame
    last_date: pd.Timestamp | None
    customers_without_purchase: int
    revenue_without_purchase: float


def customer_totals(
    tx: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    include_refunds: bool = False,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
    order: str | None = None,
) -> CustomerTotals:
    """Each customer's first and last purchase, segment, orders and net revenue.

    The one pass behind :func:`retention.metrics.value.customer_history`. In SQL::

        SELECT customer_id,
               min(order_date) FILTER (WHERE revenue >= 0) AS first_purchase,
               max(order_date) FILTER (WHERE revenue >= 0) AS last_purchase,
               count(*) FILTER (WHERE revenue >= 0) AS orders,
               sum(revenue) AS revenue
        FROM tx GROUP BY 1

    plus the ``by`` values of each customer's first purchase row.

    Parameters
    ----------
    tx : DataFrame
        Transaction log.
    by : str or list of str, optional
        Segment column(s), taken from each customer's first purchase.
    include_refunds : bool
        Whether refund rows (revenue < 0) count as purchases.
    customer, date, amount, order : str
        Column names (see :func:`cohort_activity`).

    Returns
    -------
    CustomerTotals

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["b", "a", "a", "c", "a"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-02", "2024-01-05", "2024-01-20", "2024-03-03", "2024-03-09"]),
    ...     "revenue": [5.0, 10.0, 0.0, -2.0, -3.0],
    ... })
    >>> totals = customer_totals(tx)
    >>> totals.customers  # doctest: +NORMALIZE_WHITESPACE
                first_purchase last_purchase  orders  revenue
    customer_id
    a               2024-01-05    2024-01-20       2      7.0
    b               2024-01-02    2024-01-02       1      5.0
    >>> totals.customers_without_purchase, totals.revenue_without_purchase
    (1, -2.0)
    """
    if lazy.is_table(tx):
        return lazy.customer_totals(tx, by=by, include_refunds=include_refunds,
                                    customer=customer, date=date, amount=amount, order=order)
    by_cols = as_list(by)
    require_columns(tx, customer=customer, date=date, amount=amount, order=order, by=by_cols)
    reserved = {"first_purchase", "last_purchase", "orders", "revenue"}
    clash = [c for c in by_cols if c in reserved]
    if clash:
        raise ValueError(f"by column(s) {clash} clash with the output columns {sorted(reserved)}.")
    log = _encode(
        tx,
        customer=customer,
        date=date,
        amount=amount,
        order=order,
        include_refunds=include_refunds,
    )
    slot, q, day, ticks = log.slot, log.qualifying, log.day, log.ticks
    n_slots, chunks = log.n_slots, _chunks(log.n_rows)
    rows = np.zeros(n_slots, dtype=np.int64)
    revenue = np.zeros(n_slots, dtype=np.float64)
    never = np.iinfo(day.dtype).max
    first_day = np.full(n_slots, never, dtype=day.dtype)
    last_tick = np.full(n_slots, np.iinfo(np.int64).min, dtype=np.int64)
    for part in chunks:
        s, keep = slot[part], q[part]
        rows += np.bincount(s, minlength=n_slots)
        revenue += np.bincount(s, weights=log.amount[part], minlength=n_slots)
        np.minimum.at(first_day, s[keep], day[part][keep])
        np.maximum.at(last_tick, s[keep], ticks[part][keep])
    bought = first_day < never
    buyers = np.flatnonzero(bought)
    first_row = (
        _first_purchase_rows(log, buyers, first_day) if len(buyers) else np.empty(0, np.int64)
    )
    last_row = np.full(n_slots, -1, dtype=np.int64)
    for part in chunks:
        hit = np.flatnonzero(q[part] & (ticks[part] == last_tick[slot[part]])) + part.start
        np.maximum.at(last_row, slot[hit], hit)
    if log.order is None:
        orders = np.zeros(n_slots, dtype=np.int64)
        for part in chunks:
            orders += np.bincount(slot[part][q[part]], minlength=n_slots)
    else:  # distinct (order id, customer) pairs: the per-period count, with one period
        one_period = np.zeros(log.n_rows, dtype=np.int8)
        cell = np.arange(n_slots, dtype=np.int64)
        orders = _count_orders(log, one_period, 1, cell, n_slots, chunks)
    dates = tx[date]
    index = pd.Index(log.customers.ids(buyers), name=customer)
    segments = tx[by_cols].take(first_row).set_axis(index)
    frame = pd.DataFrame(
        {
            "first_purchase": date_values(dates.take(first_row), date, parse=True),
            "last_purchase": date_values(dates.take(last_row[buyers]), date, parse=True),
            **{c: segments[c] for c in by_cols},
            "orders": orders[buyers].astype(np.int64),
            "revenue": revenue[buyers],
        },
        index=index,
    )
    if not index.is_monotonic_increasing:
        try:
            frame = frame.sort_index()
        except TypeError:  # ids of mixed, unorderable types: keep first-appearance order
            pass
    without = (rows > 0) & ~bought
    last_date = None
    if log.last_day is not None:
        last_date = pd.Timestamp(np.datetime64(log.last_day, "D")).as_unit("ns")
    return CustomerTotals(
        customers=frame,
        last_date=last_date,
        customers_without_purchase=int(np.count_nonzero(without)),
        revenue_without_purchase=float(revenue[without].sum()),
    )


# --------------------------------------------------------------------------------------
# purchase occasions (the RFM summaries)
# --------------------------------------------------------------------------------------


class OccasionCodes(NamedTuple):
    """A transaction log as integer codes for purchase occasions (see :func:`occasion_codes`).

    ``period`` is each row's period code minus ``first_period`` (int32), so periods run
    ``0 .. span - 1`` from the first to the last transaction.
    """

    freq: str
    customer: str  # name of the customer column (the index name of the summaries)
    codes: np.ndarray  # customer code of each row
    labels: pd.Index  # customer id of each code
    period: np.ndarray  # period of each row, relative to first_period (int32)
    revenue: np.ndarray | None  # float64 amount of each row, None without an amount column
    first_period: int  # period code (:func:`retention.periods.period_codes`) of the first row
    span: int  # number of periods from the first to the last transaction
    first_date: np.datetime64
    last_date: np.datetime64

    def period_of(self, date: Any) -> int:
        """Period of a date relative to ``first_period``."""
        day = np.array([np.datetime64(date, "ns")])
        return int(period_codes(day, self.freq)[0]) - self.first_period


def occasion_codes(
    tx: pd.DataFrame,
    freq: str,
    *,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str | None = AMOUNT,
) -> OccasionCodes:
    """Customer codes, relative period codes and amounts of every row, in one pass.

    Periods are those of :func:`retention.periods.period_codes` (calendar periods);
    dates must be datetime64 and tz-naive, ids and amounts present.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [7, 5, 7],
    ...                    "order_date": pd.to_datetime(["2024-01-02", "2024-01-09", "2024-02-01"]),
    ...                    "revenue": [10.0, 5.0, -2.0]})
    >>> log = occasion_codes(tx, "M")
    >>> log.codes.tolist(), log.period.tolist(), log.span, list(log.labels)
    ([2, 0, 2], [0, 0, 1], 2, [5, 6, 7])
    """
    require_columns(tx, customer=customer, date=date, amount=amount)
    freq = normalize_freq(freq)
    dates = date_values(tx[date], date)
    revenue = None if amount is None else amount_values(tx[amount], amount)
    if len(dates) == 0:
        raise ValueError("the transaction table is empty.")
    first_date, last_date = dates.min(), dates.max()
    lo = int(period_codes(np.array([first_date]), freq)[0])
    span = int(period_codes(np.array([last_date]), freq)[0]) - lo + 1
    # period codes in chunks, straight into int32 (no full-size int64 temporaries)
    period = np.empty(len(dates), dtype=np.int32)
    for start in range(0, len(dates), _CHUNK):
        chunk = period_codes(dates[start:start + _CHUNK], freq)
        np.subtract(chunk, lo, out=period[start:start + _CHUNK], casting="unsafe")
    ids = encode_customers(tx[customer], customer, tx.index)
    return OccasionCodes(freq, customer, ids.codes, ids.index(), period, revenue, lo, span,
                         first_date, last_date)


def _sorted_occasion_keys(
    codes: np.ndarray, period: np.ndarray, refund: np.ndarray | None, span: int, n_customers: int
) -> np.ndarray:
    """``2 * (code * span + period) + is_refund`` of every row (``refund`` None: no refunds),
    sorted; uint32 when every key fits (it sorts twice as fast as int64)."""
    dtype = np.uint32 if 2 * n_customers * span <= np.iinfo(np.uint32).max else np.int64
    scale = dtype(span)

    def blocks():
        for part in _chunks(len(codes)):
            out = np.multiply(codes[part], scale, dtype=dtype, casting="unsafe")
            np.add(out, period[part], out=out, casting="unsafe")
            np.left_shift(out, dtype(1), out=out)
            if refund is not None:
                np.add(out, refund[part], out=out, casting="unsafe")
            yield out

    # customers below the middle code have the smaller keys
    pivot = 2 * (n_customers // 2) * span
    return sorted_in_halves(blocks(), len(codes), pivot, dtype)


class PurchaseOccasions(NamedTuple):
    """Purchase occasions per customer code (see :func:`purchase_occasions`)."""

    count: np.ndarray  # number of occasions of each customer code
    first: np.ndarray  # period of the first occasion (int32; 0 without one)
    last: np.ndarray  # period of the last occasion (int32; 0 without one)
    outside: np.ndarray  # positions of refund rows in a period without purchase
    n_refund_only_periods: int  # (customer, period) pairs with refunds only
    refund_only_amount: float  # their summed amount


def purchase_occasions(
    codes: np.ndarray,
    period: np.ndarray,
    revenue: np.ndarray | None,
    span: int,
    n_customers: int,
) -> PurchaseOccasions:
    """Distinct (customer, period) pairs with a purchase, summarised per customer code.

    A row is a purchase by :func:`is_purchase` (revenue >= 0; every row when ``revenue``
    is None). A period with only refunds is not an occasion: its rows are returned in
    ``outside`` and counted.

    Parameters
    ----------
    codes, period : ndarray
        Customer code and relative period of each row (e.g. of :func:`occasion_codes`, or
        a subset of its rows); ``0 <= period < span``, ``0 <= code < n_customers``.
    revenue : ndarray or None
        Amount of each row.

    Examples
    --------
    >>> import numpy as np
    >>> occ = purchase_occasions(np.array([0, 0, 0, 1]), np.array([0, 0, 2, 1]),
    ...                          np.array([10.0, 5.0, 20.0, -3.0]), 3, 2)
    >>> occ.count.tolist(), occ.first.tolist(), occ.last.tolist(), occ.outside.tolist()
    ([2, 0], [0, 0], [2, 0], [3])
    """
    # One sort of 2 * (customer * span + period) + is_refund over all rows.
    refund = None if revenue is None else ~is_purchase(revenue)
    has_refunds = refund is not None and bool(refund.any())
    keys = _sorted_occasion_keys(codes, period, refund if has_refunds else None, span,
                                 n_customers)
    if len(keys):
        flag = np.empty(len(keys), dtype=bool)
        flag[0] = True
        np.not_equal(keys[1:], keys[:-1], out=flag[1:])
        keys = keys[flag]
        del flag
    # distinct (customer, period, is_refund); a period with both comes as (k, 0), (k, 1)
    refund_entry = np.bitwise_and(keys, 1).astype(bool) if has_refunds else None
    keys >>= 1
    outside = np.empty(0, dtype=np.intp)
    n_refund_only = 0
    refund_only_amount = 0.0
    if has_refunds:
        pos = np.flatnonzero(refund_entry)
        alone = np.ones(len(pos), dtype=bool)
        inner = pos > 0
        alone[inner] = keys[pos[inner] - 1] != keys[pos[inner]]
        refund_only = keys[pos[alone]]  # refund-only periods (sorted): not purchase occasions
        keys = keys[~refund_entry]
        del refund_entry
        n_refund_only = len(refund_only)
        if len(refund_only):
            rows = np.flatnonzero(refund)
            row_keys = codes[rows].astype(keys.dtype) * keys.dtype.type(span)
            row_keys += period[rows].astype(keys.dtype)
            at = np.searchsorted(refund_only, row_keys)
            np.minimum(at, len(refund_only) - 1, out=at)
            outside = rows[refund_only[at] == row_keys]
            refund_only_amount = float(revenue[outside].sum())

    cust = np.floor_divide(keys, span, out=np.empty(len(keys), dtype=codes.dtype),
                           casting="unsafe")
    count = np.bincount(cust, minlength=n_customers)
    first = np.zeros(n_customers, dtype=np.int32)
    last = np.zeros(n_customers, dtype=np.int32)
    if len(cust):
        flag = np.empty(len(cust), dtype=bool)
        flag[0] = True
        np.not_equal(cust[1:], cust[:-1], out=flag[1:])
        starts = np.flatnonzero(flag)
        ends = np.r_[starts[1:] - 1, len(cust) - 1]
        who = cust[starts]
        first[who] = keys[starts] - who.astype(np.int64) * span
        last[who] = keys[ends] - who.astype(np.int64) * span
    return PurchaseOccasions(count, first, last, outside, int(n_refund_only),
                             float(refund_only_amount))


def occasion_revenue(
    occasions: PurchaseOccasions, codes: np.ndarray, revenue: np.ndarray, n_customers: int
) -> np.ndarray:
    """Summed revenue of the rows that belong to a purchase occasion, per customer code.

    Examples
    --------
    >>> import numpy as np
    >>> codes, rev = np.array([0, 0, 1]), np.array([10.0, 5.0, -3.0])
    >>> occ = purchase_occasions(codes, np.array([0, 0, 0]), rev, 1, 2)
    >>> occasion_revenue(occ, codes, rev, 2).tolist()
    [15.0, 0.0]
    """
    total = np.bincount(codes, weights=revenue, minlength=n_customers)
    if len(occasions.outside):
        outside = occasions.outside
        total -= np.bincount(codes[outside], weights=revenue[outside], minlength=n_customers)
    return total
