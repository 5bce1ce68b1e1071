"""Whether a purchase-count model fits: its predictions next to what the customers did.

:func:`calibration_vs_holdout`, :func:`frequency_recency_matrix` and
:func:`expected_cumulative_transactions` (the diagnostics of lifetimes'
``plot_calibration_purchases_vs_holdout_purchases``, ``plot_frequency_recency_matrix`` /
``plot_probability_alive_matrix`` and ``expected_cumulative_transactions``), for
:class:`~retention.models.BetaGeo` or any model with the methods of
:class:`~retention.models.base.TransactionModel`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from retention.checks import numeric_values, require_columns, require_transactions, whole_number
from retention.engine import lazy
from retention.engine.frame import period_activity
from retention.models.base import TransactionModel, require_methods
from retention.periods import PERIOD_DAYS, normalize_freq, period_codes, period_end

__all__ = [
    "calibration_vs_holdout",
    "expected_cumulative_transactions",
    "frequency_recency_matrix",
]


def calibration_vs_holdout(
    cal_holdout: pd.DataFrame,
    bgf: TransactionModel,
    *,
    max_frequency: int = 7,
    frequency: str = "frequency_cal",
    recency: str = "recency_cal",
    T: str = "T_cal",
    holdout: str = "frequency_holdout",
    duration: str = "duration_holdout",
) -> pd.DataFrame:
    """Mean actual holdout purchases next to the model's prediction, by calibration frequency.

    The diagnostic of lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``: fit
    the model on the calibration window only, then compare, for the customers with 0, 1, 2,
    ... repeat purchases in the calibration window, the mean number of purchases they made
    in the holdout with the mean the model predicted
    (``conditional_expected_purchases(duration, frequency, recency, T)``). Customers with
    ``max_frequency`` or more calibration purchases are pooled in the last row.

    Parameters
    ----------
    cal_holdout : DataFrame
        :func:`retention.calibration_and_holdout` output.
    bgf : TransactionModel
        Model fitted on the calibration columns (its ``conditional_expected_purchases`` is
        used), e.g.
        ``BetaGeo().fit(cal, frequency="frequency_cal", recency="recency_cal", T="T_cal")``.
    max_frequency : int, default 7
        First frequency pooled with all higher ones (``"7+"``).
    frequency, recency, T, holdout, duration : str
        Column names.

    Returns
    -------
    DataFrame
        One row per calibration frequency: ``frequency`` (0..max_frequency), ``label``
        (``"7+"`` for the pooled row), ``customers``, ``actual`` and ``expected`` (mean holdout
        purchases per customer), ``actual_total`` and ``expected_total``. Frequencies
        without customers are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo
    >>> bgf = BetaGeo()
    >>> bgf.params_ = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}
    >>> cal = pd.DataFrame({"frequency_cal": [0, 0, 1, 3], "recency_cal": [0.0, 0, 20, 30],
    ...                     "T_cal": [39.0, 39, 39, 39], "frequency_holdout": [0, 1, 1, 2],
    ...                     "duration_holdout": [39.0] * 4})
    >>> calibration_vs_holdout(cal, bgf, max_frequency=2)[["label", "customers", "actual"]]
      label  customers  actual
    0     0          2     0.5
    1     1          1     1.0
    2    2+          1     2.0
    """
    require_methods(bgf, TransactionModel, "bgf", "conditional_expected_purchases")
    what = "the calibration/holdout table"
    cols = [frequency, recency, T, holdout, duration]
    require_columns(cal_holdout, cols, what=what,
                    hint="Build it with retention.calibration_and_holdout.")
    max_frequency = whole_number("max_frequency", max_frequency, what="a whole number >= 1")
    x, tx_, big_t, actual, dur = (
        numeric_values(cal_holdout[c], c, what=what, nonnegative=True) for c in cols
    )
    if len(x) == 0:
        raise ValueError("the calibration/holdout table is empty.")
    expected = np.asarray(bgf.conditional_expected_purchases(dur, x, tx_, big_t), dtype=float)
    bucket = np.minimum(x, max_frequency).astype(np.int64)
    frame = pd.DataFrame({"frequency": bucket, "actual": actual, "expected": expected})
    table = frame.groupby("frequency", sort=True).agg(
        customers=("actual", "size"), actual=("actual", "mean"), expected=("expected", "mean"),
        actual_total=("actual", "sum"), expected_total=("expected", "sum"),
    ).reset_index()
    table.insert(1, "label", [f"{f}+" if f == max_frequency else str(f)
                              for f in table["frequency"]])
    table["customers"] = table["customers"].astype(np.int64)
    table.attrs.update(max_frequency=int(max_frequency),
                       duration=float(np.mean(dur)), time_unit=cal_holdout.attrs.get("time_unit"))
    return table


def frequency_recency_matrix(
    bgf: TransactionModel,
    T: float,
    *,
    max_frequency: int = 10,
    max_recency: float | None = None,
    recency_step: float | None = None,
    t: float = 1.0,
    kind: Literal["expected_purchases", "probability_alive"] = "expected_purchases",
) -> pd.DataFrame:
    """Expected purchases (or P(alive)) of customers of age ``T`` by frequency and recency.

    The tables behind lifetimes' ``plot_frequency_recency_matrix`` and
    ``plot_probability_alive_matrix``: for a customer first seen ``T`` time units ago, with
    ``frequency`` repeat purchases, the last one ``recency`` units after the first, the
    expected purchases in the next ``t`` units (``kind="expected_purchases"``) or the
    probability of being alive (``kind="probability_alive"``). Impossible histories
    (repeat purchases at recency 0, or recency > 0 without a repeat purchase) are NaN.

    Parameters
    ----------
    bgf : TransactionModel
        Fitted model (its ``probability_alive`` or ``conditional_expected_purchases`` is used).
    T : float
        Customer age, in the model's time unit (lifetimes uses the largest T observed).
    max_frequency : int, default 10
        Rows 0..max_frequency.
    max_recency : float, optional
        Last recency column, at most ``T`` (default ``T``).
    recency_step : float, optional
        Spacing of the recency columns; by default a whole number of time units giving at
        most 25 steps. The last column is always ``max_recency``.
    t : float, default 1
        Prediction window of ``kind="expected_purchases"``, in the model's time unit.
    kind : {"expected_purchases", "probability_alive"}

    Returns
    -------
    DataFrame
        Index ``frequency`` (0..max_frequency), columns ``recency``; ``attrs`` holds
        ``kind``, ``T``, ``t`` and ``time_unit``.

    Examples
    --------
    >>> from retention.models import BetaGeo
    >>> bgf = BetaGeo()
    >>> bgf.params_ = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}
    >>> m = frequency_recency_matrix(bgf, 39, max_frequency=2, recency_step=13,
    ...                              kind="probability_alive")
    >>> m.round(2)  # doctest: +NORMALIZE_WHITESPACE
    recency    0.0   13.0  26.0  39.0
    frequency
    0           1.0   NaN   NaN   NaN
    1           NaN  0.50  0.66  0.75
    2           NaN  0.36  0.66  0.81
    """
    if kind not in ("expected_purchases", "probability_alive"):
        raise ValueError(f"kind={kind!r}; use 'expected_purchases' or 'probability_alive'.")
    require_methods(bgf, TransactionModel, "bgf",
                    "probability_alive" if kind == "probability_alive"
                    else "conditional_expected_purchases")
    if not (isinstance(T, int | float | np.integer | np.floating) and np.isfinite(T) and T > 0):
        raise ValueError(f"T must be a positive number of time units, got {T!r}.")
    max_frequency = whole_number("max_frequency", max_frequency, what="a whole number >= 1")
    top = float(T) if max_recency is None else float(max_recency)
    if not (np.isfinite(top) and 0 < top <= float(T)):
        raise ValueError(f"max_recency must be in (0, T={T}], got {max_recency!r}.")
    step = float(max(1, math.ceil(top / 25))) if recency_step is None else float(recency_step)
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"recency_step must be positive, got {recency_step!r}.")
    recency = np.arange(0.0, top + 1e-9, step)
    if top - recency[-1] > 1e-9:
        recency = np.r_[recency, top]  # always end with recency = max_recency
    frequency = np.arange(max_frequency + 1)
    x, r = np.meshgrid(frequency.astype(float), recency, indexing="ij")
    big_t = np.full_like(x, float(T))
    impossible = ((x == 0) & (r > 0)) | ((x > 0) & (r == 0))
    r_possible = np.where(x == 0, 0.0, r)  # models refuse impossible histories; masked below
    if kind == "probability_alive":
        values = np.asarray(bgf.probability_alive(x, r_possible, big_t), dtype=float)
    else:
        values = np.asarray(
            bgf.conditional_expected_purchases(t, x, r_possible, big_t), dtype=float
        )
    values = np.where(impossible, np.nan, values)
    out = pd.DataFrame(values, index=pd.Index(frequency, name="frequency"),
                       columns=pd.Index(recency, name="recency"))
    out.attrs.update(kind=kind, T=float(T), t=float(t), time_unit=getattr(bgf, "time_unit_", None))
    return out


def expected_cumulative_transactions(
    tx: pd.DataFrame,
    bgf: TransactionModel,
    *,
    freq: str = "D",
    time_unit: str | None = None,
    interval: str = "W",
    observation_end: Any = None,
    calibration_end: Any = None,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str | None = "revenue",
) -> pd.DataFrame:
    """Actual and model-expected cumulative repeat transactions of the whole base over time.

    The tracking plot of Fader, Hardie & Lee (2005) and lifetimes'
    ``expected_cumulative_transactions``. Purchase occasions are defined as in
    :func:`retention.rfm_summary` (rows with revenue >= 0, one occasion per customer and
    ``freq`` period); a customer's first occasion is their acquisition, later ones are repeat
    transactions. At the end of each ``freq`` period p, a customer acquired in period c has
    been observed for ``T = (p - c)`` periods (as in the RFM summary) and the model expects
    ``E[X(T)]`` repeat transactions from them (``bgf.expected_purchases_new``); the base's
    expectation is the sum over customers acquired so far. Results are reported at the end
    of each ``interval``.

    lifetimes compares the expectation at the start of period p with the repeats made
    before p; here both are taken at the end of p, consistent with the RFM summary's T.

    Parameters
    ----------
    tx : DataFrame
        Transactions.
    bgf : TransactionModel
        Fitted model (usually on the calibration window, so the holdout is out of sample);
        its ``expected_purchases_new`` is used.
    freq : {"D", "W", "M", "Q"}, default "D"
        Grain of the purchase occasions; the ``freq`` of the summary the model was fitted on.
    time_unit : {"D", "W", "M", "Q"}, optional
        Time unit of the model; default ``bgf.time_unit_``.
    interval : {"D", "W", "M", "Q"}, default "W"
        Reporting grain, at least as long as ``freq``.
    observation_end : date-like, optional
        Last day counted; default the day of the last transaction.
    calibration_end : date-like, optional
        End of the calibration window: rows after it are flagged ``holdout``.
    customer, date, amount : str
        Column names (``amount=None``: every row is a purchase).

    Returns
    -------
    DataFrame
        One row per interval: ``period`` (Period), ``date`` (last day counted),
        ``partial`` (the data end before the interval does), ``customers`` (acquired so
        far), ``actual`` and ``expected`` (cumulative repeat transactions),
        ``actual_increment`` and ``expected_increment`` (in the interval) and, with
        ``calibration_end``, ``holdout``.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo
    >>> bgf = BetaGeo()
    >>> bgf.params_ = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 1],
    ...                    "order_date": pd.to_datetime(["2024-01-01", "2024-01-03",
    ...                                                  "2024-01-08", "2024-01-10"]),
    ...                    "revenue": [10.0, 5.0, 8.0, 4.0]})
    >>> out = expected_cumulative_transactions(tx, bgf, time_unit="W")
    >>> out[["date", "customers", "actual"]]
            date  customers  actual
    0 2024-01-07          1       1
    1 2024-01-10          2       2
    >>> direct = bgf.expected_purchases_new(9 / 7) + bgf.expected_purchases_new(2 / 7)
    >>> bool(abs(out["expected"].iloc[-1] - direct) < 1e-12)
    True
    """
    if amount is None:  # the pass below needs an amount column: added in memory
        tx = lazy.in_memory(tx, "expected_cumulative_transactions(amount=None)")
    require_methods(bgf, TransactionModel, "bgf", "expected_purchases_new")
    require_transactions(tx, customer=customer, date=date, amount=amount)
    freq = normalize_freq(freq)
    interval = normalize_freq(interval)
    unit = time_unit or getattr(bgf, "time_unit_", None)
    if unit is None:
        raise ValueError(
            "the model's time unit is unknown; pass time_unit= ('D', 'W', 'M' or 'Q'), the "
            "unit of the recency and T it was fitted on."
        )
    unit = normalize_freq(unit)
    if PERIOD_DAYS[interval] < PERIOD_DAYS[freq]:
        raise ValueError(
            f"interval={interval!r} is shorter than the occasion grain freq={freq!r}; use an "
            "interval at least as long."
        )
    every_row = amount is None
    if every_row:  # every row is a purchase: give the reduction an amount column of zeros
        amount = "_amount"
        while amount in tx.columns:
            amount += "_"
        tx = tx.assign(**{amount: 0.0})
    activity = period_activity(tx, freq, include_refunds=every_row, customer=customer,
                               date=date, amount=amount)
    # distinct (customer, period) purchase pairs, sorted by customer then period: the first
    # pair of each customer is their acquisition, the others are repeat transactions
    cust, period = activity.customer, activity.period
    if len(cust) == 0:
        raise ValueError("the transactions hold no purchase (every revenue is negative).")
    acquisition = np.r_[True, cust[1:] != cust[:-1]]
    end_ts = activity.last_date if observation_end is None else pd.Timestamp(observation_end)
    end_code = int(period_codes(np.array([end_ts.to_datetime64()]), freq)[0])
    end = end_code - activity.first_period  # period index of the end
    keep = period <= end
    if not keep.any():
        raise ValueError(f"observation_end={observation_end!r} is before the first purchase.")
    lo = int(period[keep].min())
    span = end - lo + 1
    acquired = np.bincount(period[keep & acquisition] - lo, minlength=span)
    repeats = np.bincount(period[keep & ~acquisition] - lo, minlength=span)
    lo += activity.first_period  # period code of the first purchase
    scale = PERIOD_DAYS[freq] / PERIOD_DAYS[unit]
    curve = np.asarray(bgf.expected_purchases_new(np.arange(span) * scale), dtype=float)
    expected = np.convolve(acquired, curve)[:span]
    actual = np.cumsum(repeats)
    customers = np.cumsum(acquired)
    # the last freq period of each interval (by the day each freq period ends, capped)
    ends = period_end(np.arange(lo, end_code + 1), freq)
    ends = ends.where(ends <= end_ts.normalize(), end_ts.normalize())
    labels = ends.to_period(interval)
    last = pd.Series(np.arange(span)).groupby(np.asarray(labels.asi8)).max().to_numpy()
    interval_end = labels[last].to_timestamp(how="end").normalize()
    out = pd.DataFrame(
        {
            "period": labels[last],
            "date": ends[last],
            "partial": np.asarray(ends[last] < interval_end),
            "customers": customers[last].astype(np.int64),
            "actual": actual[last].astype(np.int64),
            "expected": expected[last],
        }
    )
    out["actual_increment"] = out["actual"].diff().fillna(out["actual"]).astype(np.int64)
    out["expected_increment"] = out["expected"].diff().fillna(out["expected"])
    attrs: dict[str, Any] = dict(freq=freq, time_unit=unit, interval=interval,
                                 observation_end=pd.Timestamp(end_ts).isoformat(),
                                 n_transactions_after_end=int(activity.orders[end + 1:].sum()))
    if calibration_end is not None:
        cal = pd.Timestamp(calibration_end)
        out["holdout"] = out["date"] > cal
        attrs["calibration_end"] = cal.isoformat()
    out.attrs.update(attrs)
    return out
