"""Worked examples chosen from the data: the period, the customers and the customer history
that the teaching notebooks work through by hand.

Each choice follows a fixed rule, so the same log always gives the same examples, and each
function says clearly when the data hold nothing that fits (a period outside the data, a kind of
customer that nobody is) instead of failing deep inside pandas.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd

from retention.checks import examples as first_examples, require_columns
from retention.periods import PERIOD_DAYS, normalize_freq, unit_name

#: The kinds of example customer, in display order, with the rule that picks each.
EXAMPLE_RULES: dict[str, str] = {
    "loyal, active": "the most frequent repeat buyer who bought in the last two weeks",
    "loyal, lapsed": "the most frequent buyer with five or more repeat purchases and none for "
    "over 40 weeks",
    "one-time, oldest": "the one-time buyer acquired first",
    "one-time, new": "a one-time buyer acquired one to two weeks before the end of the data",
}


def _runs(periods: pd.PeriodIndex) -> str:
    """Periods as contiguous runs: ``"2024-01 to 2024-03, 2024-06"``."""
    if len(periods) == 0:
        return "none"
    ordinals = np.asarray(periods.asi8)
    breaks = np.flatnonzero(np.diff(ordinals) != 1) + 1
    parts = []
    for run in np.split(np.arange(len(periods)), breaks):
        first, last = periods[run[0]], periods[run[-1]]
        parts.append(str(first) if len(run) == 1 else f"{first} to {last}")
    return ", ".join(parts)


def worked_period(kpi: pd.DataFrame, period: str | pd.Period | None = None) -> pd.Period:
    """The period to work through by hand: the one asked for, checked, or a default.

    Parameters
    ----------
    kpi : DataFrame
        :func:`retention.period_metrics` output: one row per period (a ``PeriodIndex``) with the
        columns ``start_customers`` and ``partial``.
    period : str or Period, optional
        The period asked for, e.g. ``"2024-06"`` for monthly periods. Default: the last complete
        (not ``partial``) period with customers at its start.

    Returns
    -------
    Period

    Raises
    ------
    ValueError
        ``period`` is not a period of the data, or has no customers at its start (its retention
        rate is undefined); the message lists the periods that can be used.

    Examples
    --------
    >>> import pandas as pd
    >>> kpi = pd.DataFrame({"start_customers": [0, 5, 6], "partial": [False, False, True]},
    ...                    index=pd.period_range("2024-01", periods=3, freq="M"))
    >>> worked_period(kpi)
    Period('2024-02', 'M')
    >>> worked_period(kpi, "2024-03")
    Period('2024-03', 'M')
    >>> worked_period(kpi, "2025-01")
    Traceback (most recent call last):
    ...
    ValueError: month 2025-01 is not in the data, which has the months 2024-01 to 2024-03; \
choose one with customers at its start: 2024-02 to 2024-03.
    """
    require_columns(kpi, ["start_customers", "partial"], what="kpi")
    index = kpi.index
    if not isinstance(index, pd.PeriodIndex):
        raise ValueError(
            f"kpi must be indexed by period (rt.period_metrics output), got a "
            f"{type(index).__name__}."
        )
    index = pd.PeriodIndex(index)
    freq = index.freqstr
    unit = unit_name(freq[:1], default="period")
    usable = index[np.asarray(kpi["start_customers"] > 0)]
    if period is None:
        complete = index[np.asarray((kpi["start_customers"] > 0) & ~kpi["partial"].astype(bool))]
        if len(complete) == 0:
            raise ValueError(
                f"no complete {unit} of the data ({_runs(index)}) has customers at its start; "
                "the log is too short to work a retention rate through."
            )
        return complete[-1]
    try:
        wanted = pd.Period(period, freq=index.freq)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{unit}={period!r} is not a {unit}; give it like {str(index[-1])!r} "
            f"(the data has the {unit}s {_runs(index)})."
        ) from err
    if wanted not in index:
        raise ValueError(
            f"{unit} {wanted} is not in the data, which has the {unit}s {_runs(index)}; "
            f"choose one with customers at its start: {_runs(usable)}."
        )
    if wanted not in usable:
        raise ValueError(
            f"{unit} {wanted} has no customers at its start (S = 0), so its retention rate is "
            f"undefined; choose one of {_runs(usable)}."
        )
    return wanted


def example_customers(summary: pd.DataFrame, time_unit: str = "W") -> pd.Series:
    """Up to four contrasting customers of an RFM summary, one per rule of :data:`EXAMPLE_RULES`.

    A kind that no customer fits is left out (compare the result's index with
    ``EXAMPLE_RULES``); no customer is picked twice. Ties go to the smallest customer id.

    Parameters
    ----------
    summary : DataFrame
        :func:`retention.rfm_summary` output, indexed by customer, with ``frequency``,
        ``recency`` and ``T``.
    time_unit : {"D", "W", "M", "Q"}, default "W"
        Time unit of ``recency`` and ``T``.

    Returns
    -------
    Series
        Customer ids, indexed by kind (in the order of :data:`EXAMPLE_RULES`).

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"frequency": [12, 6, 0, 0], "recency": [60.0, 20.0, 0.0, 0.0],
    ...                         "T": [61.0, 70.0, 80.0, 30.0]}, index=["a", "b", "c", "d"])
    >>> example_customers(summary, "W").to_dict()
    {'loyal, active': 'a', 'loyal, lapsed': 'b', 'one-time, oldest': 'c'}
    """
    require_columns(summary, ["frequency", "recency", "T"], what="the summary")
    days = PERIOD_DAYS[normalize_freq(time_unit)]
    week = 7 / days
    summary = summary.sort_index(kind="stable")
    frequency, tenure = summary["frequency"], summary["T"]
    idle = tenure - summary["recency"]  # time since the last purchase
    one_time = frequency == 0
    rules = {
        "loyal, active": ((frequency >= 1) & (idle <= 2 * week), "frequency", False),
        "loyal, lapsed": ((frequency >= 5) & (idle > 40 * week), "frequency", False),
        "one-time, oldest": (one_time, "T", False),
        "one-time, new": (one_time & tenure.between(week, 2 * week), "T", True),
    }
    picked: dict[str, Hashable] = {}
    for kind, (mask, by, ascending) in rules.items():
        candidates = summary[np.asarray(mask) & ~summary.index.isin(list(picked.values()))]
        if len(candidates):
            order = candidates.sort_values(by, ascending=ascending, kind="stable")
            picked[kind] = order.index[0]
    return pd.Series(picked, name=summary.index.name or "customer_id", dtype=summary.index.dtype)


def worked_customer(
    tx: pd.DataFrame, customer: Hashable | None = None, *, max_days: int = 6
) -> Hashable:
    """The customer whose RFM summary is worked by hand: the one asked for, checked, or a default.

    The default is the customer whose history shows the most of the summary's rules in the
    fewest rows: two purchases on one day (one occasion), a refund on a purchase day (netted),
    a refund on a day without purchase (left out), three or more purchase days; among customers
    with two to ``max_days`` purchase days when there are any. Ties go to the smallest id.

    Parameters
    ----------
    tx : DataFrame
        Canonical transactions (``customer_id``, ``order_date``, ``revenue``).
    customer : hashable, optional
        The customer asked for.
    max_days : int, default 6
        Most purchase days of a default pick (a short table to follow by hand).

    Returns
    -------
    hashable
        A value of ``tx["customer_id"]``.

    Raises
    ------
    ValueError
        ``customer`` is not in ``tx`` (with the number of customers and a few ids), or ``tx``
        has no purchase.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "b", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05",
    ...                                   "2024-01-05", "2024-01-09", "2024-03-01"]),
    ...     "revenue": [10.0, 12.0, 20.0, 5.0, -5.0, 30.0]})
    >>> worked_customer(tx)
    'b'
    >>> worked_customer(tx, "a")
    'a'
    """
    require_columns(tx, customer="customer_id", date="order_date", amount="revenue")
    ids = tx["customer_id"]
    if customer is not None:
        if bool((ids == customer).any()):
            return customer
        known = pd.Series(pd.unique(ids)).astype(str)
        as_text = str(customer)
        if bool((known == as_text).any()):  # 1159 given for the text id "1159"
            return ids[ids.astype(str) == as_text].iloc[0]
        near = known[known.str.lstrip("0") == as_text.lstrip("0")]
        hint = (f" Did you mean {near.iloc[0]!r}? Ids with leading zeros must be passed as "
                "text (papermill -r)." if len(near) else "")
        raise ValueError(
            f"customer {customer!r} is not in column 'customer_id' ({len(known):,} customers, "
            f"e.g. {first_examples(np.sort(known.to_numpy()))}).{hint}"
        )
    day = tx["order_date"].dt.normalize()
    purchase = tx["revenue"] >= 0
    rows = pd.DataFrame({"customer_id": ids, "day": day, "purchase": purchase,
                         "refund": ~purchase})
    per_day = rows.groupby(["customer_id", "day"], sort=False).agg(
        purchases=("purchase", "sum"), refunds=("refund", "sum"))
    per_day["bought"] = per_day["purchases"] > 0
    per_day["netted"] = per_day["bought"] & (per_day["refunds"] > 0)
    per_day["alone"] = ~per_day["bought"] & (per_day["refunds"] > 0)
    per_day["same_day"] = per_day["purchases"] > 1
    traits = per_day.groupby(level="customer_id", sort=True).agg(
        days=("bought", "sum"), netted=("netted", "any"), alone=("alone", "any"),
        same_day=("same_day", "any"))
    traits = traits[traits["days"] > 0]
    if traits.empty:
        raise ValueError("tx has no purchase (no row with revenue >= 0); nothing to work through.")
    traits["rows"] = ids.value_counts().reindex(traits.index).to_numpy()
    short = traits[traits["days"].between(2, max_days)]
    if len(short):
        traits = short
    score = (traits[["same_day", "netted", "alone"]].sum(axis=1)
             + (traits["days"] >= 3).astype(int))
    ranked = traits.assign(score=score).sort_values(["score", "rows"], ascending=[False, True],
                                                    kind="stable")
    return ranked.index[0]
