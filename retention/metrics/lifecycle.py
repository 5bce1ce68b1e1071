"""Lifecycle (growth accounting) of the customer base, and stickiness.

:func:`lifecycle` splits each period's customers by where they come from, with the
definitions of :func:`retention.metrics.kpis.period_metrics` (a customer is *active* while
their last purchase lies within the inactivity ``window``; refunds never make a customer
active):

==============  ===========================================================================
``new``         first purchase ever in the period (``new_customers``)
``returning``   bought in the period and was active at its start
``resurrected`` bought in the period, had bought before, was not active at its start: a
                lapsed customer who came back (``reactivated``)
``dormant``     active at the start, not at the end: the window ran out (``lost``)
``idle``        active at the start and at the end, without a purchase in the period
``active``      bought in the period: ``new + returning + resurrected`` (``buyers``)
==============  ===========================================================================

so that, with S and E the customers active at the start and at the end of the period,
``S = returning + idle + dormant`` and ``E = active + idle``.

:func:`stickiness` counts, among the customers who bought in a window of periods, how many
periods of the window each of them bought in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retention.checks import date_values, json_value, require_columns, whole_number
from retention.engine import lazy
from retention.engine.frame import AMOUNT, CUSTOMER, DATE, period_activity
from retention.metrics.cohorts import _period_ordinal
from retention.metrics.kpis import DEFAULT_WINDOW, period_metrics
from retention.periods import (
    normalize_freq,
    period_end,
    period_label,
    period_labels,
    period_start,
)

__all__ = ["lifecycle", "stickiness"]

#: Columns of the lifecycle table, in order.
LIFECYCLE_COLUMNS = [
    "new",
    "returning",
    "resurrected",
    "dormant",
    "idle",
    "active",
    "start_customers",
    "end_customers",
    "partial",
]
#: Default number of periods in the stickiness window.
STICKINESS_PERIODS = 8


def _bounds(start: Any, end: Any, freq: str) -> tuple[int | None, int | None]:
    """Period codes of ``start`` and ``end`` (None when not given), refusing start > end."""
    start_code = None if start is None else _period_ordinal(start, freq, "start", "start")
    end_code = None if end is None else _period_ordinal(end, freq, "end", "end")
    if start_code is not None and end_code is not None and start_code > end_code:
        raise ValueError(f"start={start!r} is after end={end!r}.")
    return start_code, end_code


def _until(tx: pd.DataFrame, date: str, end: Any, end_code: int, freq: str) -> pd.DataFrame:
    """The rows of ``tx`` dated in or before period ``end_code`` (``tx`` itself if all are)."""
    if lazy.is_table(tx):
        tx = tx if isinstance(tx, lazy.TransactionTable) else lazy.TransactionTable(tx)
        bound = period_start([end_code + 1], freq)[0]
        first, last = tx[date].min(), tx[date].max()
        if first is None or first >= bound:
            raise ValueError(f"tx has no transaction in or before end={end!r}.")
        return tx if last < bound else tx[tx[date] < bound]
    dates = date_values(tx[date], date, parse=True)
    keep = dates < period_start([end_code + 1], freq)[0].to_datetime64()
    if not keep.any():
        raise ValueError(f"tx has no transaction in or before end={end!r}.")
    return tx if keep.all() else tx[keep]


def lifecycle(
    tx: pd.DataFrame,
    freq: str = "M",
    *,
    window: int | None = None,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
    start: Any = None,
    end: Any = None,
) -> pd.DataFrame:
    """Lifecycle table: per period, the customers who are new, returning, resurrected,
    dormant or idle.

    Parameters
    ----------
    tx : DataFrame
        Transactions (see :func:`retention.load_transactions`). Rows with an amount >= 0 are
        purchases; refunds (negative amounts) never make a customer active.
    freq : {"D", "W", "M", "Q"}
        Period grain (also ``"month"``, ``"week"``, ...).
    window : int, optional
        Inactivity window in periods, as in :func:`retention.period_metrics`: a customer
        stays active until ``window`` periods pass without a purchase. Default: about three
        months (90 days, 13 weeks, 3 months, 1 quarter).
    customer, date, amount : str
        Column names.
    start, end : str, Timestamp or Period, optional
        Periods shown, inclusive, at the ``freq`` grain ("2024-01", a date = the period
        containing it). Nothing after ``end`` is used (the table is as it would have been
        at the end of ``end``); the history before ``start`` is used, so a customer who first
        bought before ``start`` is never new in the table.

    Returns
    -------
    DataFrame
        Indexed by ``period`` (:class:`pandas.Period`), from the first period with a
        transaction (or ``start``) to the last (or ``end``), with the integer columns
        ``new``, ``returning``, ``resurrected``, ``dormant``, ``idle``, ``active`` (see the
        module docstring), ``start_customers`` and ``end_customers`` (S and E), and
        ``partial``: True for a last period that the data do not cover to its end (its
        figures are provisional: purchases are missing, and ``dormant`` counts customers who
        may still buy before the period ends). ``dormant`` is a count
        (>= 0); plots draw it below zero. ``attrs`` records ``freq`` and ``window``.

        The columns agree with :func:`retention.period_metrics` on the same log:
        ``new == new_customers``, ``resurrected == reactivated``, ``dormant == lost``,
        ``active == buyers`` and ``returning + resurrected == returning_buyers``.

    Raises
    ------
    ValueError
        A column is missing or holds bad values, ``window`` is not a whole number >= 1,
        ``start`` is after ``end``, or nothing is dated in or before ``end``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a", "c", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03",
    ...                                   "2024-02-10", "2024-03-31"]),
    ...     "revenue": [10.0, 20.0, 15.0, 5.0, 30.0]})
    >>> table = lifecycle(tx, "M", window=1)
    >>> table[["new", "returning", "resurrected", "dormant", "idle"]].reset_index()
        period  new  returning  resurrected  dormant  idle
    0  2024-01    2          0            0        0     0
    1  2024-02    1          1            0        1     0
    2  2024-03    0          0            1        2     0

    In February "b" lapses (no purchase within one month) and in March comes back.
    """
    freq = normalize_freq(freq)
    window = DEFAULT_WINDOW[freq] if window is None else window
    window = whole_number("window", window, what="a whole number of periods ≥ 1")
    require_columns(tx, customer=customer, date=date, amount=amount)
    start_code, end_code = _bounds(start, end, freq)
    log = tx if end_code is None else _until(tx, date, end, end_code, freq)
    cut = log is not tx  # rows after `end` exist: the last period shown is observed to its end
    kpi = period_metrics(log, freq, window=window, customer=customer, date=date, amount=amount)
    returning = kpi["returning_buyers"] - kpi["reactivated"]
    table = pd.DataFrame(
        {
            "new": kpi["new_customers"],
            "returning": returning,
            "resurrected": kpi["reactivated"],
            "dormant": kpi["lost"],
            "idle": kpi["start_customers"] - returning - kpi["lost"],
            "active": kpi["buyers"],
            "start_customers": kpi["start_customers"],
            "end_customers": kpi["end_customers"],
            "partial": kpi["partial"] & ~cut,
        },
        index=kpi.index,
    ).astype({c: np.int64 for c in LIFECYCLE_COLUMNS[:-1]})
    if start_code is not None:
        table = table[table.index.asi8 >= start_code]
    table.attrs.update(freq=freq, window=window)
    return table


def stickiness(
    tx: pd.DataFrame,
    freq: str = "W",
    *,
    n_periods: int | None = None,
    start: Any = None,
    end: Any = None,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
) -> pd.DataFrame:
    """How many periods of a window the customers who bought in it were active in.

    Of the customers with a purchase in the window (say the last 8 weeks), how many bought
    in exactly 1, 2, ... 8 of its weeks. A customer is active in a period when they have a
    purchase in it (amount >= 0; refunds do not count), however many orders.

    Parameters
    ----------
    tx : DataFrame
        Transactions (see :func:`retention.load_transactions`).
    freq : {"D", "W", "M", "Q"}
        Period grain (weeks run Monday to Sunday).
    n_periods : int, optional
        Length of the window in periods, ending with ``end``. Default 8; not with ``start``.
    start, end : str, Timestamp or Period, optional
        First and last period of the window, inclusive, at the ``freq`` grain (a date = the
        period containing it). Default ``end``: the last period the data cover to its end
        (the period of the last transaction, or the one before when the data stop before
        its last day); default ``start``: ``n_periods`` periods back from ``end``.
    customer, date, amount : str
        Column names.

    Returns
    -------
    DataFrame
        One row per ``active_periods`` = 1 .. length of the window, with ``customers`` (how
        many customers bought in exactly that many periods of the window) and ``share``
        (their fraction of the customers who bought in the window; NaN if nobody did).
        ``attrs`` records ``freq``, ``n_periods``, the ``start`` and ``end`` periods (labels)
        and ``partial`` (whether the data stop before the end of the last period).

    Raises
    ------
    ValueError
        A column is missing or holds bad values, ``n_periods`` is not a whole number >= 1
        or is given with ``start``, ``start`` is after ``end``, or (without ``end``) the data
        cover no period to its end.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-10",
    ...                                   "2024-01-03", "2024-01-20", "2024-01-21"]),
    ...     "revenue": [10.0, 5.0, 8.0, 20.0, 15.0, 7.0]})
    >>> stickiness(tx, "W", n_periods=3)
       active_periods  customers     share
    0               1          1  0.333333
    1               2          2  0.666667
    2               3          0  0.000000
    """
    freq = normalize_freq(freq)
    require_columns(tx, customer=customer, date=date, amount=amount)
    start_code, end_code = _bounds(start, end, freq)
    if start_code is not None and n_periods is not None:
        raise ValueError(
            f"give n_periods or start, not both (got n_periods={n_periods!r}, start={start!r})."
        )
    activity = period_activity(tx, freq, customer=customer, date=date, amount=amount)
    last_code = activity.first_period + len(activity.revenue) - 1
    if end_code is None:
        end_code = last_code - int(activity.last_date < period_end([last_code], freq)[0])
        if end_code < activity.first_period:
            raise ValueError(
                f"the data cover no {freq!r} period to its end (last date "
                f"{activity.last_date.date()}); pass end= to use the incomplete one."
            )
    if start_code is None:
        length = STICKINESS_PERIODS if n_periods is None else n_periods
        start_code = end_code - whole_number("n_periods", length) + 1
    length = end_code - start_code + 1
    code = activity.period + activity.first_period
    in_window = (code >= start_code) & (code <= end_code)
    per_customer = np.bincount(activity.customer[in_window])
    customers = np.bincount(per_customer, minlength=length + 1)[1 : length + 1]
    total = customers.sum()
    share = customers / total if total else np.full(length, np.nan)
    table = pd.DataFrame(
        {
            "active_periods": np.arange(1, length + 1, dtype=np.int64),
            "customers": customers.astype(np.int64),
            "share": share,
        }
    )
    labels = period_labels([start_code, end_code], freq)
    table.attrs.update(
        freq=freq,
        n_periods=int(length),
        start=period_label(labels[0]),
        end=period_label(labels[1]),
        partial=json_value(activity.last_date < period_end([end_code], freq)[0]),
    )
    return table
