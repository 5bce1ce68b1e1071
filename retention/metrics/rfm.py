"""Per-customer recency / frequency / monetary summaries, the input of BG/NBD and Gamma-Gamma.

The definitions are those of lifetimes' ``summary_data_from_transaction_data`` (and of the
BG/NBD and Gamma-Gamma papers):

* transactions are grouped into ``freq`` periods; all purchases of a customer in one period
  are **one purchase occasion** whose value is the period's summed revenue;
* ``frequency`` = number of *repeat* occasions (distinct purchase periods - 1);
* ``recency`` = time from the first to the last purchase period;
* ``T`` = time from the first purchase period to the period of ``observation_end``;
* ``monetary_value`` = mean value of the repeat occasions (0 when ``frequency`` is 0).

Refunds (negative revenue) are handled as follows, and everything set aside is counted in
``DataFrame.attrs``:

* a row with revenue >= 0 is a purchase (a zero-value order is still an order, as in
  lifetimes and in the published CDNOW analyses); this is the rule of every table in the
  package, :func:`retention.engine.frame.is_purchase`;
* a refund in a period where the customer also purchased is netted into that occasion's value;
* a period with only refunds is *not* a purchase occasion, and its amount is left out of
  ``monetary_value`` (``attrs["n_refund_only_periods"]``, ``attrs["refund_only_amount"]``);
* a customer with no purchase occasion at all has no row
  (``attrs["n_customers_without_purchase"]``).

Netting can make an occasion's value, hence ``monetary_value``, zero or negative; the
Gamma-Gamma model refuses such customers with a message naming them.

The pass over the rows is the engine's (:func:`retention.engine.frame.occasion_codes` and
:func:`retention.engine.frame.purchase_occasions`); this module only computes the summaries
from the per-customer counts and periods it returns.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from retention.checks import _small_pages, naive_timestamp
from retention.engine import lazy
from retention.engine.frame import (
    OccasionCodes,
    occasion_codes,
    occasion_revenue,
    purchase_occasions,
)
from retention.periods import PERIOD_DAYS, normalize_freq

__all__ = ["calibration_and_holdout", "rfm_summary"]


class _Codes(NamedTuple):
    """The log's occasion codes plus the unit of recency and T."""

    log: OccasionCodes
    time_unit: str
    scale: float  # length of one ``freq`` period expressed in ``time_unit``


@_small_pages()
def _codes(tx: pd.DataFrame, freq: str, time_unit: str | None, customer: str, date: str,
           amount: str | None) -> _Codes:
    log = occasion_codes(tx, freq, customer=customer, date=date, amount=amount)
    unit = log.freq if time_unit is None else normalize_freq(time_unit)
    return _Codes(log, unit, PERIOD_DAYS[log.freq] / PERIOD_DAYS[unit])


def _end_period(log: OccasionCodes, end: Any, arg: str) -> tuple[int, pd.Timestamp]:
    """Period of an end date relative to the first period, and the date itself.

    Default: the last transaction.
    """
    if end is None:
        return log.span - 1, pd.Timestamp(log.last_date)
    ts = naive_timestamp(end, arg)
    return log.period_of(ts.to_datetime64()), ts


@_small_pages()
def _windows(log: Any, calibration_end: Any, observation_end: Any
             ) -> tuple[int, pd.Timestamp, int, pd.Timestamp]:
    """Periods and dates of the calibration end and the observation end, the holdout not
    empty."""
    cal_code, cal_ts = _end_period(log, calibration_end, "calibration_end")
    end_code, end_ts = _end_period(log, observation_end, "observation_end")
    if end_code <= cal_code:
        raise ValueError(
            f"observation_end ({end_ts}) must fall in "
            f"a later {log.freq!r} period than calibration_end ({cal_ts}); the holdout is empty."
        )
    return cal_code, cal_ts, end_code, end_ts


def _summary(prep: _Codes, keep: np.ndarray | None, end_code: int
             ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Calibration-style summary of the rows selected by ``keep`` (all rows when None)."""
    log = prep.log
    codes = log.codes if keep is None else log.codes[keep]
    rel = log.period if keep is None else log.period[keep]
    revenue = None if log.revenue is None else (
        log.revenue if keep is None else log.revenue[keep])
    n_codes = len(log.labels)
    occ = purchase_occasions(codes, rel, revenue, log.span, n_codes)
    count, first, last = occ.count, occ.first, occ.last

    present = count > 0
    frequency = count - 1
    columns: dict[str, np.ndarray] = {
        "frequency": frequency[present],
        "recency": (last - first)[present] * prep.scale,
        "T": (end_code - first[present]) * prep.scale,
    }
    if revenue is not None:
        # repeat revenue = occasion revenue - revenue of the first period's rows
        total = occasion_revenue(occ, codes, revenue, n_codes)
        in_first = np.flatnonzero(rel == first[codes])
        total -= np.bincount(codes[in_first], weights=revenue[in_first], minlength=n_codes)
        with np.errstate(invalid="ignore", divide="ignore"):
            monetary = np.where(frequency > 0, total / np.maximum(frequency, 1), 0.0)
        columns["monetary_value"] = monetary[present]

    # customers whose rows are all refunds in periods without purchase
    refund_only_customer = np.zeros(n_codes, dtype=bool)
    refund_only_customer[codes[occ.outside]] = True
    info = {
        "n_refund_only_periods": int(occ.n_refund_only_periods),
        "refund_only_amount": float(occ.refund_only_amount),
        "n_customers_without_purchase": int(np.count_nonzero(refund_only_customer & ~present)),
    }
    index = log.labels[present]
    frame = pd.DataFrame(columns, index=index)
    frame.index.name = log.customer
    return _sorted(frame), info


def _from_totals(occ: lazy.OccasionTotals, end_code: int, scale: float, monetary: bool
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`_summary` from the per-customer occasion totals of a table kept in its engine."""
    per = occ.customers
    frequency = per["count"].to_numpy(np.int64) - 1
    first = per["first"].to_numpy(np.int64)
    columns: dict[str, np.ndarray] = {
        "frequency": frequency,
        "recency": (per["last"].to_numpy(np.int64) - first) * scale,
        "T": (end_code - first) * scale,
    }
    if monetary:
        repeat = per["revenue"].to_numpy(np.float64) - per["first_revenue"].to_numpy(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns["monetary_value"] = np.where(frequency > 0,
                                                 repeat / np.maximum(frequency, 1), 0.0)
    info = {
        "n_refund_only_periods": occ.n_refund_only_periods,
        "refund_only_amount": occ.refund_only_amount,
        "n_customers_without_purchase": occ.n_customers_without_purchase,
    }
    return pd.DataFrame(columns, index=per.index), info


def _table_span(tx: Any, freq: str, time_unit: str | None, customer: str, date: str,
                amount: str | None) -> tuple[lazy.LogSpan, str, float]:
    span = lazy.log_span(tx, freq, customer=customer, date=date, amount=amount)
    unit = span.freq if time_unit is None else normalize_freq(time_unit)
    return span, unit, PERIOD_DAYS[span.freq] / PERIOD_DAYS[unit]


def _table_summary(tx: Any, freq: str, observation_end: Any, time_unit: str | None,
                   customer: str, date: str, amount: str | None) -> pd.DataFrame:
    """:func:`rfm_summary` of a table kept in its engine (Ibis)."""
    span, unit, scale = _table_span(tx, freq, time_unit, customer, date, amount)
    end_code, end_ts = _end_period(span, observation_end, "observation_end")
    n_after = lazy.rows_after(tx, span, end_code, date=date)
    if end_code < 0:  # period 0 holds the first transaction
        raise ValueError(
            f"observation_end={observation_end!r} is before the first transaction "
            f"({pd.Timestamp(span.first_date)}); no transaction is left to summarise."
        )
    occ = lazy.occasion_totals(tx, span, None, end_code if n_after else None,
                               customer=customer, date=date, amount=amount)
    frame, info = _from_totals(occ, end_code, scale, amount is not None)
    frame.attrs.update(freq=span.freq, time_unit=unit, observation_end=end_ts.isoformat(),
                       n_transactions_after_end=n_after, **info)
    return frame


def _table_calibration(tx: Any, calibration_end: Any, observation_end: Any, freq: str,
                       time_unit: str | None, customer: str, date: str, amount: str | None
                       ) -> pd.DataFrame:
    """:func:`calibration_and_holdout` of a table kept in its engine (Ibis)."""
    span, unit, scale = _table_span(tx, freq, time_unit, customer, date, amount)
    cal_code, cal_ts, end_code, end_ts = _windows(span, calibration_end, observation_end)
    if cal_code < 0:  # period 0 holds the first transaction
        raise ValueError(
            f"calibration_end={calibration_end!r} is before the first transaction "
            f"({pd.Timestamp(span.first_date)}); the calibration window is empty."
        )
    n_after = lazy.rows_after(tx, span, end_code, date=date)
    names = {"customer": customer, "date": date, "amount": amount}
    cal_occ = lazy.occasion_totals(tx, span, None, cal_code, **names)
    cal, info = _from_totals(cal_occ, cal_code, scale, amount is not None)
    cal.columns = [f"{c}_cal" for c in cal.columns]
    hold_occ = lazy.occasion_totals(tx, span, cal_code + 1, end_code, **names)
    per = hold_occ.customers
    hold = pd.DataFrame({"frequency_holdout": per["count"].to_numpy(np.int64)}, index=per.index)
    if amount is not None:
        hold["monetary_value_holdout"] = per["revenue"].to_numpy(np.float64) / per["count"]
    n_holdout_only = int((~per.index.isin(cal.index)).sum())
    out = cal.join(hold, how="left")
    out["frequency_holdout"] = out["frequency_holdout"].fillna(0).astype(np.int64)
    if amount is not None:
        out["monetary_value_holdout"] = out["monetary_value_holdout"].fillna(0.0)
    out["duration_holdout"] = (end_code - cal_code) * scale
    out.attrs.update(
        freq=span.freq,
        time_unit=unit,
        calibration_end=cal_ts.isoformat(),
        observation_end=end_ts.isoformat(),
        n_transactions_after_end=n_after,
        n_holdout_only_customers=n_holdout_only,
        n_refund_only_periods=int(info["n_refund_only_periods"]
                                  + hold_occ.n_refund_only_periods),
        refund_only_amount=float(info["refund_only_amount"] + hold_occ.refund_only_amount),
        n_customers_without_purchase=info["n_customers_without_purchase"],
    )
    return out


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.index.is_monotonic_increasing:
        return frame
    try:
        return frame.sort_index()
    except TypeError:  # ids of mixed, unorderable types: keep first-appearance order
        return frame


# --------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------


def rfm_summary(
    tx: pd.DataFrame,
    freq: str = "D",
    observation_end: Any = None,
    *,
    time_unit: str | None = None,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str | None = "revenue",
) -> pd.DataFrame:
    """Frequency, recency, T and monetary value of each customer (lifetimes definitions).

    Parameters
    ----------
    tx : DataFrame
        Transactions, one row per order line (canonical schema: ``customer_id``,
        ``order_date`` datetime64, ``revenue`` float; negative revenue = refund).
    freq : {"D", "W", "M", "Q"}, default "D"
        Period that defines a purchase occasion: purchases of a customer within the same
        period count once, their revenue summed.
    observation_end : date-like, optional
        End of the observation window. Transactions in later periods are excluded (and
        counted in ``attrs["n_transactions_after_end"]``). Default: the last transaction date.
    time_unit : {"D", "W", "M", "Q"}, optional
        Unit of ``recency`` and ``T``; default ``freq``. ``freq="D", time_unit="W"`` gives
        days / 7, the weeks of the BG/NBD papers. Months and quarters are 365.25/12 and
        365.25/4 days when converting between units.
    customer, date, amount : str
        Column names. ``amount=None`` leaves out ``monetary_value``.

    Returns
    -------
    DataFrame
        Index = customer id (sorted); columns ``frequency`` (int), ``recency``, ``T``,
        ``monetary_value`` (floats). ``attrs`` (plain JSON values) holds ``freq``,
        ``time_unit``, ``observation_end`` (ISO string) and the counts of anything set
        aside: ``n_transactions_after_end``, ``n_refund_only_periods``,
        ``refund_only_amount``, ``n_customers_without_purchase``.

    Notes
    -----
    Refunds: a refund in a period with a purchase is netted into that occasion; a period with
    only refunds is not a purchase occasion and its amount is not part of ``monetary_value``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-05"]),
    ...     "revenue": [10.0, 5.0, 20.0, 7.0],
    ... })
    >>> rfm_summary(tx, observation_end="2024-01-15")  # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency     T  monetary_value
    customer_id
    1                    1      7.0  14.0            20.0
    2                    0      0.0  10.0             0.0
    """
    if lazy.is_table(tx):
        return _table_summary(tx, freq, observation_end, time_unit, customer, date, amount)
    prep = _codes(tx, freq, time_unit, customer, date, amount)
    log = prep.log
    end_code, end_ts = _end_period(log, observation_end, "observation_end")
    keep = log.period <= end_code
    n_after = int(len(keep) - np.count_nonzero(keep))
    if n_after == len(keep):
        raise ValueError(
            f"observation_end={observation_end!r} is before the first transaction "
            f"({pd.Timestamp(log.first_date)}); no transaction is left to summarise."
        )
    frame, info = _summary(prep, None if n_after == 0 else keep, end_code)
    frame.attrs.update(
        freq=log.freq,
        time_unit=prep.time_unit,
        observation_end=end_ts.isoformat(),
        n_transactions_after_end=n_after,
        **info,
    )
    return frame


def calibration_and_holdout(
    tx: pd.DataFrame,
    calibration_end: Any,
    observation_end: Any = None,
    *,
    freq: str = "D",
    time_unit: str | None = None,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str | None = "revenue",
) -> pd.DataFrame:
    """RFM summary of a calibration window and purchases in the following holdout window.

    Same definitions as :func:`rfm_summary` (and lifetimes' ``calibration_and_holdout_data``).
    The calibration summary covers transactions up to ``calibration_end``; the holdout counts,
    for the customers of the calibration window, the purchase occasions after
    ``calibration_end`` up to ``observation_end``.

    Parameters
    ----------
    tx : DataFrame
        Transactions (see :func:`rfm_summary`).
    calibration_end : date-like
        Last day of the calibration window.
    observation_end : date-like, optional
        Last day of the holdout window; default the last transaction date.
    freq, time_unit, customer, date, amount
        As in :func:`rfm_summary`.

    Returns
    -------
    DataFrame
        Index = customer id; columns ``frequency_cal``, ``recency_cal``, ``T_cal``,
        ``monetary_value_cal``, ``frequency_holdout`` (number of purchase occasions in the
        holdout; every one counts, there is no "first" to leave out), ``monetary_value_holdout``
        (mean occasion value in the holdout, 0 without one) and ``duration_holdout`` (length of
        the holdout in ``time_unit``). Customers whose first purchase falls in the holdout have
        no row (``attrs["n_holdout_only_customers"]``).

    Notes
    -----
    Two differences from lifetimes, both for consistency with the calibration columns:
    lifetimes averages raw transaction values for ``monetary_value_holdout`` (here: the mean
    occasion value), and it cuts the windows on raw timestamps, so that a purchase at 15:00 on
    ``calibration_end`` falls in its holdout; here windows are cut by ``freq`` period, as in
    :func:`rfm_summary`.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-12", "2024-01-02"]),
    ...     "revenue": [10.0, 5.0, 20.0, 7.0],
    ... })
    >>> out = calibration_and_holdout(tx, "2024-01-05", "2024-01-15")
    >>> out[["frequency_cal", "T_cal", "frequency_holdout"]]  # doctest: +NORMALIZE_WHITESPACE
                 frequency_cal  T_cal  frequency_holdout
    customer_id
    1                        1    4.0                  1
    2                        0    3.0                  0
    >>> out["monetary_value_holdout"].tolist(), out["duration_holdout"].tolist()
    ([20.0, 0.0], [10.0, 10.0])
    """
    if lazy.is_table(tx):
        return _table_calibration(tx, calibration_end, observation_end, freq, time_unit,
                                  customer, date, amount)
    prep = _codes(tx, freq, time_unit, customer, date, amount)
    log = prep.log
    cal_code, cal_ts, end_code, end_ts = _windows(log, calibration_end, observation_end)
    in_cal = log.period <= cal_code
    if not in_cal.any():
        raise ValueError(
            f"calibration_end={calibration_end!r} is before the first transaction "
            f"({pd.Timestamp(log.first_date)}); the calibration window is empty."
        )
    in_hold = ~in_cal & (log.period <= end_code)
    n_after = int(np.count_nonzero(log.period > end_code))

    cal, info = _summary(prep, in_cal, cal_code)
    cal.columns = [f"{c}_cal" for c in cal.columns]

    # Holdout occasions per customer code.
    n_codes = len(log.labels)
    codes = log.codes[in_hold]
    revenue = None if log.revenue is None else log.revenue[in_hold]
    occ = purchase_occasions(codes, log.period[in_hold], revenue, log.span, n_codes)
    count = occ.count
    hold = pd.DataFrame({"frequency_holdout": count}, index=log.labels)
    if revenue is not None:
        total = occasion_revenue(occ, codes, revenue, n_codes)
        with np.errstate(invalid="ignore", divide="ignore"):
            hold["monetary_value_holdout"] = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    in_cal_customers = hold.index.isin(cal.index)
    n_holdout_only = int(((count > 0) & ~in_cal_customers).sum())
    out = cal.join(hold, how="left")
    out["duration_holdout"] = (end_code - cal_code) * prep.scale
    out.attrs.update(
        freq=log.freq,
        time_unit=prep.time_unit,
        calibration_end=cal_ts.isoformat(),
        observation_end=end_ts.isoformat(),
        n_transactions_after_end=n_after,
        n_holdout_only_customers=n_holdout_only,
        n_refund_only_periods=int(info["n_refund_only_periods"] + occ.n_refund_only_periods),
        refund_only_amount=float(info["refund_only_amount"] + occ.refund_only_amount),
        n_customers_without_purchase=info["n_customers_without_purchase"],
    )
    return out
