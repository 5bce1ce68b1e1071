"""Period KPI table: customers at start and end, new, lost, reactivated, CRR, churn, AOV ...

A customer is *active* at the end of a period while their last purchase lies within the
inactivity ``window`` (counted in periods, the current one included). So with monthly periods
and ``window=3`` a customer who bought in January is active at the end of January, February and
March, and is counted as *lost* in April unless they buy again by then. A lost customer who
buys again later is *reactivated*, not new.

For each period: S = active at the start (= active at the end of the previous period),
N = first purchase ever, E = active at the end, and E = S − lost + N + reactivated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention.checks import whole_number
from retention.engine.frame import period_activity
from retention.periods import normalize_freq, period_end, period_labels

#: Default inactivity window, in periods of each grain (about three months).
DEFAULT_WINDOW = {"D": 90, "W": 13, "M": 3, "Q": 1}


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def period_metrics(
    tx: pd.DataFrame,
    freq: str = "M",
    *,
    window: int | None = None,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
    order: str | None = None,
) -> pd.DataFrame:
    """One row per period with the retention KPIs of the customer base.

    Parameters
    ----------
    tx : DataFrame
        Transactions (see :func:`retention.load_transactions`). Rows with an amount >= 0
        are purchases (a zero-value order is still an order; the rule of every table,
        :func:`retention.engine.frame.is_purchase`); negative rows (refunds) count in revenue
        but do not make a customer active.
    freq : {"D", "W", "M", "Q"}
        Period grain.
    window : int, optional
        Inactivity window in periods: a customer stays active until ``window`` periods pass
        without a purchase. Default: about three months (90 days, 13 weeks, 3 months,
        1 quarter).
    customer, date, amount, order : str
        Column names. With ``order``, orders are distinct order ids among a customer's
        purchases in the period; otherwise each purchase row is an order.

    Returns
    -------
    DataFrame
        Indexed by ``period`` (:class:`pandas.Period`), with columns

        - ``start_customers`` (S), ``new_customers`` (N), ``reactivated``, ``lost``,
          ``end_customers`` (E);
        - ``retention_rate``: the seed formula (E − N) / S;
        - ``retained_share``: (S − lost) / S, the exact share of S still active at the end.
          It differs from the formula when lapsed customers come back (they inflate E);
        - ``churn_rate``: lost / S;
        - ``buyers`` (distinct purchasing customers), ``returning_buyers`` (buyers who had
          bought before), ``orders``, ``revenue`` (net of refunds), ``average_order_value``
          (revenue / orders), ``purchase_frequency`` (orders / buyers),
          ``repeat_customer_rate`` (returning buyers / buyers);
        - ``partial``: True for a last period that the data does not cover to its end. Its
          figures are incomplete (lost and churn especially) and should not be read as a
          collapse.

        Rates are NaN where their denominator is zero.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a", "c", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-03",
    ...                                   "2024-02-10", "2024-03-31"]),
    ...     "revenue": [10.0, 20.0, 15.0, 5.0, 30.0]})
    >>> kpi = period_metrics(tx, "M", window=1)
    >>> cols = ["start_customers", "new_customers", "reactivated", "lost", "end_customers"]
    >>> kpi[cols].to_numpy().tolist()
    [[0, 2, 0, 0, 2], [2, 1, 0, 1, 2], [2, 0, 1, 2, 1]]
    >>> kpi[["retention_rate", "retained_share"]].round(2).to_numpy().tolist()
    [[nan, nan], [0.5, 0.5], [0.5, 0.0]]

    In March nobody from the start of the month is still active, but the seed formula says
    50%: customer "b" came back and counts in E.
    """
    freq = normalize_freq(freq)
    window = DEFAULT_WINDOW[freq] if window is None else window
    window = whole_number("window", window, what="a whole number of periods ≥ 1")
    activity = period_activity(tx, freq, customer=customer, date=date, amount=amount, order=order)
    orders, net_revenue = activity.orders, activity.revenue
    n_periods = len(net_revenue)
    first_code, last_code = activity.first_period, activity.first_period + n_periods - 1

    def per_period(values: np.ndarray) -> np.ndarray:
        return np.bincount(values, minlength=n_periods)[:n_periods]

    # distinct (customer, period) purchase pairs, sorted by customer then period
    c, p = activity.customer, activity.period
    change = c[1:] != c[:-1]
    first = np.r_[True, change][: len(c)]  # first purchase period of each customer
    last = np.r_[change, True][: len(c)]
    gap = np.r_[0, np.diff(p)][: len(c)]  # periods since the customer's previous purchase
    lapsed_before = ~first & (gap > window)  # purchases that reactivate a lost customer
    # each purchase period starts an active spell; it lapses `window` periods later unless
    # the next purchase comes first
    ends_spell = last | np.r_[lapsed_before[1:], False][: len(c)]
    lost_at = p[ends_spell] + window
    lost_at = lost_at[lost_at < n_periods]

    new = per_period(p[first])
    reactivated = per_period(p[lapsed_before])
    lost = per_period(lost_at)
    end = np.cumsum(new + reactivated - lost)
    start = np.r_[0, end[:-1]]
    buyers = per_period(p)
    returning = buyers - new

    labels = period_labels(np.arange(first_code, last_code + 1), freq)
    partial = np.zeros(n_periods, dtype=bool)
    partial[-1] = activity.last_date < period_end([last_code], freq)[0]
    return pd.DataFrame(
        {
            "start_customers": start,
            "new_customers": new,
            "reactivated": reactivated,
            "lost": lost,
            "end_customers": end,
            "retention_rate": _safe_ratio(end - new, start),
            "retained_share": _safe_ratio(start - lost, start),
            "churn_rate": _safe_ratio(lost, start),
            "buyers": buyers,
            "returning_buyers": returning,
            "orders": orders,
            "revenue": net_revenue,
            "average_order_value": _safe_ratio(net_revenue, orders),
            "purchase_frequency": _safe_ratio(orders, buyers),
            "repeat_customer_rate": _safe_ratio(returning, buyers),
            "partial": partial,
        },
        index=pd.Index(labels, name="period"),
    )
