"""Value tables that need no model: customer history, historical value, concentration of
value across customers and the list of valuable customers at risk.

This module turns transactions and per-customer tables into small tidy tables (the
model-based predictions are :mod:`retention.models.clv`, the model diagnostics
:mod:`retention.models.diagnostics`):

* **who the customers are**: :func:`customer_history` (acquisition cohort, segment at the
  first purchase, orders and net revenue so far) and :func:`default_calibration_end`;
* **historical value by group**: :func:`historical_value`;
* **how concentrated the value is**: :func:`value_deciles`, :func:`concentration_curve`,
  :func:`top_share`, :func:`gini`;
* **whom to call back**: :func:`churn_risk`, valuable customers who are probably gone
  (from a table with P(alive), e.g. :func:`retention.customer_value`).

Shares are fractions (0.63, not 63); notebooks and plots show them as percentages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from retention.checks import (
    as_list,
    bad_rows,
    date_values,
    fraction,
    json_value,
    numeric_values,
    require_columns,
    require_transactions,
    whole_number,
)
from retention.engine import lazy
from retention.engine.frame import customer_totals
from retention.periods import normalize_freq, period_codes, period_end, unit_name

__all__ = [
    "churn_risk",
    "concentration_curve",
    "customer_history",
    "default_calibration_end",
    "gini",
    "historical_value",
    "top_share",
    "value_deciles",
]

# --------------------------------------------------------------------------------------------
# input checks (the wording of :mod:`retention.checks`)
# --------------------------------------------------------------------------------------------


def _as_frame(data: pd.DataFrame | pd.Series, value: str | None, what: str
              ) -> tuple[pd.DataFrame, str]:
    """Accept a Series (its values) or a DataFrame plus column name."""
    if isinstance(data, pd.Series):
        name = data.name if isinstance(data.name, str) else "value"
        return data.to_frame(name), name
    if value is None:
        raise ValueError(f"{what}: pass the name of the value column, e.g. value='clv'.")
    require_columns(data, [value], what=what)
    return data, value


def _share_text(share: float) -> str:
    """0.4 -> "40%", 0.0027 -> "0.3%": at least one significant digit for small shares."""
    return f"{share:.1%}" if share < 0.095 else f"{share:.0%}"


# --------------------------------------------------------------------------------------------
# customers: cohort, segment, history
# --------------------------------------------------------------------------------------------


def customer_history(
    tx: pd.DataFrame,
    freq: str = "M",
    *,
    segments: str | Sequence[str] | None = None,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
    order: str | None = None,
) -> pd.DataFrame:
    """One row per customer: acquisition cohort, segment at the first purchase, orders, revenue.

    The same rules as :func:`retention.cohort_table`: a *purchase* is a row with revenue
    >= 0 (:func:`retention.engine.frame.is_purchase`), a customer's cohort is the ``freq``
    period of their first purchase, and their segment is the value of each ``segments``
    column on that first purchase (the row that comes first in ``tx`` among purchases at
    the same time). Revenue is net: refunds count. The one pass over the transactions is
    :func:`retention.engine.frame.customer_totals`.

    Parameters
    ----------
    tx : DataFrame
        Transactions (see :func:`retention.load_transactions`).
    freq : {"D", "W", "M", "Q"}, default "M"
        Grain of the cohorts.
    segments : str or list of str, optional
        Segment columns to carry (``"channel"``, ``["channel", "country"]``).
    customer, date, amount, order : str
        Column names. With ``order``, orders are distinct order ids among the purchases;
        otherwise every purchase row is an order.

    Returns
    -------
    DataFrame
        Indexed by customer id (sorted), columns ``cohort`` (Period), ``first_purchase``,
        ``last_purchase``, the segment columns, ``orders`` and ``revenue``. Customers with
        refunds only have no row; ``attrs`` counts them (``n_customers_without_purchase``,
        ``revenue_without_purchase``) and records ``freq`` and ``last_date`` (the day of the
        last transaction).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "a"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-02-11", "2024-02-12"]),
    ...     "revenue": [10.0, 20.0, 5.0, -4.0],
    ...     "channel": ["email", "social", "social", "social"]})
    >>> customer_history(tx, segments="channel")[["cohort", "channel", "orders", "revenue"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                  cohort channel  orders  revenue
    customer_id
    a            2024-01   email       2     26.0
    b            2024-02  social       1      5.0
    """
    freq = normalize_freq(freq)
    seg_cols = as_list(segments)
    require_transactions(tx, customer=customer, date=date, amount=amount, order=order,
                         segments=seg_cols)
    reserved = {"cohort", "first_purchase", "last_purchase", "orders", "revenue"}
    clash = [c for c in seg_cols if c in reserved]
    if clash:
        raise ValueError(f"segment column(s) {clash} clash with the output columns {reserved}.")
    totals = customer_totals(tx, by=seg_cols, customer=customer, date=date, amount=amount,
                             order=order)
    out = totals.customers
    out.insert(0, "cohort", out["first_purchase"].dt.to_period(freq))
    out.attrs.update(
        freq=freq,
        last_date=json_value(totals.last_date),
        n_customers_without_purchase=totals.customers_without_purchase,
        revenue_without_purchase=totals.revenue_without_purchase,
    )
    return out


def default_calibration_end(
    tx: pd.DataFrame,
    holdout: float = 0.25,
    *,
    date: str = "order_date",
    align: str | None = "M",
) -> pd.Timestamp:
    """End of a calibration window that leaves the last ``holdout`` share of the period out.

    The split day is ``first + (1 - holdout) * (last - first)`` (whole days, rounded down),
    moved back to the last day of the previous ``align`` period unless it is already the
    last day of its own: a calibration window then ends on a month end, say, which reads
    better. When aligning would leave no calibration data, the unaligned day is used.

    Parameters
    ----------
    tx : DataFrame
        Transactions.
    holdout : float, default 0.25
        Share of the observed period kept for the holdout, in (0, 1).
    date : str
        Date column.
    align : {"D", "W", "M", "Q"} or None, default "M"
        Period whose end the calibration window is moved back to; None for the exact day.

    Returns
    -------
    Timestamp

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"order_date": pd.to_datetime(["2023-01-01", "2024-12-31"])})
    >>> default_calibration_end(tx)
    Timestamp('2024-06-30 00:00:00')
    >>> default_calibration_end(tx, align=None)
    Timestamp('2024-07-01 00:00:00')
    """
    holdout = fraction("holdout", holdout, open_low=True)
    if holdout >= 1:
        raise ValueError(f"holdout must be below 1, got {holdout!r}.")
    if lazy.is_table(tx):  # only the first and the last date are needed
        if not isinstance(tx, lazy.TransactionTable):
            tx = lazy.TransactionTable(tx)
        span = [v for v in (tx[date].min(), tx[date].max()) if v is not None]
        dates = np.array(span, dtype="datetime64[ns]")
    else:
        require_columns(tx, date=date)
        dates = date_values(tx[date], date)
    if len(dates) == 0:
        raise ValueError(f"column {date!r} has no date.")
    first, last = pd.Timestamp(dates.min()).normalize(), pd.Timestamp(dates.max()).normalize()
    days = (last - first).days
    if days < 2:
        raise ValueError(
            f"the transactions cover {days + 1} day(s) ({first:%Y-%m-%d} to {last:%Y-%m-%d}); "
            "too short to split into calibration and holdout windows."
        )
    split = first + pd.Timedelta(days=int(math.floor((1 - holdout) * days)))
    if align is None:
        return split
    freq = normalize_freq(align)
    code = int(period_codes(np.array([split.to_datetime64()]), freq)[0])
    if split != period_end([code], freq)[0]:
        code -= 1
    aligned = period_end([code], freq)[0]
    return aligned if aligned >= first else split


def historical_value(
    history: pd.DataFrame,
    by: str | Sequence[str] = "cohort",
    *,
    revenue: str = "revenue",
    orders: str = "orders",
) -> pd.DataFrame:
    """Customers, revenue and orders so far, per acquisition cohort or segment.

    Older cohorts have had more time to buy, so their revenue per customer is higher for
    that reason alone; compare cohorts at the same age with
    :func:`retention.cohort_table`'s ``cumulative_revenue_per_customer``, or on predicted
    value (:func:`retention.predicted_value`).

    Parameters
    ----------
    history : DataFrame
        One row per customer, as returned by :func:`customer_history`.
    by : str or list of str, default "cohort"
        Group column(s): ``"cohort"`` or segment columns. Missing values form their own
        group (nothing is dropped).
    revenue, orders : str
        Column names.

    Returns
    -------
    DataFrame
        One row per group, sorted: the group column(s), ``customers``, ``orders``,
        ``revenue``, ``revenue_per_customer``, ``orders_per_customer``,
        ``average_order_value``, ``share_of_customers`` and ``share_of_revenue``.

    Examples
    --------
    >>> import pandas as pd
    >>> history = pd.DataFrame({"channel": ["email", "email", "social"],
    ...                         "orders": [3, 1, 1], "revenue": [90.0, 30.0, 20.0]})
    >>> historical_value(history, "channel")[["channel", "customers", "revenue_per_customer",
    ...                                       "orders_per_customer"]]
      channel  customers  revenue_per_customer  orders_per_customer
    0   email          2                  60.0                  2.0
    1  social          1                  20.0                  1.0
    """
    cols = as_list(by)
    require_columns(history, [*cols, revenue, orders], what="the customer history",
                    hint="Build it with retention.customer_history(tx, segments=[...]).")
    rev = numeric_values(history[revenue], revenue, what="the customer history")
    n_orders = numeric_values(history[orders], orders, what="the customer history",
                              nonnegative=True)
    frame = history[cols].assign(_customers=1, _orders=n_orders, _revenue=rev)
    table = (frame.groupby(cols, sort=True, dropna=False, observed=True)
             [["_customers", "_orders", "_revenue"]].sum().reset_index())
    table.columns = [*cols, "customers", "orders", "revenue"]
    table["customers"] = table["customers"].astype(np.int64)
    if np.all(n_orders == np.round(n_orders)):
        table["orders"] = table["orders"].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["revenue_per_customer"] = table["revenue"] / table["customers"]
        table["orders_per_customer"] = table["orders"] / table["customers"]
        table["average_order_value"] = table["revenue"] / table["orders"].where(
            table["orders"] > 0)
    table["share_of_customers"] = table["customers"] / table["customers"].sum()
    total = table["revenue"].sum()
    table["share_of_revenue"] = table["revenue"] / total if total != 0 else np.nan
    return table


# --------------------------------------------------------------------------------------------
# concentration
# --------------------------------------------------------------------------------------------


class _Ranked(NamedTuple):
    frame: pd.DataFrame
    value: str  # the value column
    order: np.ndarray  # row positions, from the highest value down
    values: np.ndarray  # the values in that order
    scaled: np.ndarray  # the same values times a power of two: the largest in [0.5, 1)
    exponent: int  # values = scaled * 2 ** exponent


def _ranked(data: pd.DataFrame | pd.Series, value: str | None, what: str) -> _Ranked:
    """The values from the highest down, and the same values scaled for computing shares.

    Ties keep the order of the input (a stable sort), so the result is deterministic. Shares
    are computed on the values divided by a power of two that brings the largest into
    [0.5, 1): exact for ordinary values (same results to the last bit), while a total of
    tiny (subnormal) values no longer underflows and one of huge values no longer overflows.
    """
    frame, value = _as_frame(data, value, what)
    values = numeric_values(
        frame[value], value, what=what, nonnegative=True,
        negative_hint="; shares of value need values >= 0 (clip them with .clip(lower=0) or "
        "leave those customers out first).")
    if len(values) == 0:
        raise ValueError(f"{what}: there is no customer.")
    if not values.any():
        raise ValueError(f"{what}: column {value!r} sums to 0; there is no value to share.")
    order = np.argsort(-values, kind="stable")
    values = values[order]
    exponent = int(np.frexp(values[0])[1])
    return _Ranked(frame, value, order, values, np.ldexp(values, -exponent), exponent)


def value_deciles(
    data: pd.DataFrame | pd.Series,
    value: str | None = "clv",
    *,
    groups: int = 10,
    compare: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Customers ranked by value and cut into equal groups: who holds how much of the value.

    Group 1 holds the most valuable customers. Customers are ranked from the highest value
    down (ties keep the input order) and cut into ``groups`` groups whose sizes differ by at
    most one.

    Parameters
    ----------
    data : DataFrame or Series
        One row per customer (a Series: its values).
    value : str, default "clv"
        Column to rank and share (non-negative, not all 0).
    groups : int, default 10
        Number of groups (10: deciles, 5: quintiles); at most the number of customers.
    compare : list of str, optional
        Other numeric columns totalled per group with their share (e.g. the actual holdout
        revenue of customers ranked by predicted value).

    Returns
    -------
    DataFrame
        One row per group: ``decile`` (1..groups), ``customers``, ``share_of_customers``,
        ``min``, ``max``, ``mean``, ``total``, ``share_of_value``,
        ``cumulative_share_of_value``, and for each ``compare`` column its total (same name)
        and ``<name>_share``.

    Examples
    --------
    >>> import pandas as pd
    >>> clv = pd.Series([50.0, 30.0, 10.0, 5.0, 5.0], name="clv")
    >>> value_deciles(clv, groups=5)[["decile", "customers", "total", "share_of_value"]]
       decile  customers  total  share_of_value
    0       1          1   50.0            0.50
    1       2          1   30.0            0.30
    2       3          1   10.0            0.10
    3       4          1    5.0            0.05
    4       5          1    5.0            0.05
    """
    what = "value_deciles"
    ranked = _ranked(data, value, what)
    frame, value, order, values = ranked.frame, ranked.value, ranked.order, ranked.values
    n = len(order)
    groups = whole_number("groups", groups)
    if groups > n:
        raise ValueError(f"groups={groups} is more than the {n} customer(s); use fewer groups.")
    group = (np.arange(n) * groups) // n  # 0..groups-1, sizes differ by at most one
    sizes = np.bincount(group, minlength=groups)
    sums = np.bincount(group, weights=ranked.scaled, minlength=groups)  # scaled, see _ranked
    total = ranked.scaled.sum()
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    ends = np.cumsum(sizes) - 1
    with np.errstate(over="ignore"):  # a total beyond the float range is inf
        totals = np.ldexp(sums, ranked.exponent)
    table = pd.DataFrame(
        {
            "decile": np.arange(1, groups + 1),
            "customers": sizes.astype(np.int64),
            "share_of_customers": sizes / n,
            "min": values[ends],
            "max": values[starts],
            "mean": np.ldexp(sums / sizes, ranked.exponent),
            "total": totals,
            "share_of_value": sums / total,
            "cumulative_share_of_value": np.cumsum(sums) / total,
        }
    )
    for col in compare or []:
        require_columns(frame, [col], what=what)
        other = numeric_values(frame[col], col, what=what)[order]
        col_sums = np.bincount(group, weights=other, minlength=groups)
        table[col] = col_sums
        other_total = other.sum()
        table[f"{col}_share"] = col_sums / other_total if other_total != 0 else np.nan
    table.attrs["value"] = value
    return table


def concentration_curve(data: pd.DataFrame | pd.Series, value: str | None = "clv"
                        ) -> pd.DataFrame:
    """Share of the value held by the top x % of customers, for every x (a Lorenz-type curve).

    Customers are ranked from the most valuable down; the curve runs from (0, 0) to (1, 1)
    and is concave: the further it bows above the diagonal, the more concentrated the value.

    Parameters
    ----------
    data : DataFrame or Series
        One row per customer.
    value : str, default "clv"
        Non-negative value column.

    Returns
    -------
    DataFrame
        ``n + 1`` rows: ``customers`` (0..n, the top customers counted), ``share_of_customers``
        and ``share_of_value`` (cumulative).

    Examples
    --------
    >>> import pandas as pd
    >>> concentration_curve(pd.Series([1.0, 3.0], name="clv"))
       customers  share_of_customers  share_of_value
    0          0                 0.0            0.00
    1          1                 0.5            0.75
    2          2                 1.0            1.00
    """
    values = _ranked(data, value, "concentration_curve").scaled
    n = len(values)
    return pd.DataFrame(
        {
            "customers": np.arange(n + 1),
            "share_of_customers": np.arange(n + 1) / n,
            "share_of_value": np.r_[0.0, np.cumsum(values)] / values.sum(),
        }
    )


def top_share(data: pd.DataFrame | pd.Series, value: str | None = "clv", top: float = 0.2
              ) -> float:
    """Share of the total value held by the most valuable ``top`` fraction of customers.

    When ``top * n`` is not a whole number of customers, the concentration curve is
    interpolated linearly (the next customer counts for the fraction). The result lies
    between ``top`` (everyone equal) and 1.

    Parameters
    ----------
    data : DataFrame or Series
        One row per customer.
    value : str, default "clv"
        Non-negative value column.
    top : float, default 0.2
        Fraction of customers, in (0, 1].

    Examples
    --------
    >>> import pandas as pd
    >>> clv = pd.Series([100.0, 60.0, 10, 10, 5, 5, 4, 3, 2, 1], name="clv")
    >>> top_share(clv)  # the top 2 of 10 customers: 160 of 200
    0.8
    """
    top = fraction("top", top, open_low=True)
    values = _ranked(data, value, "top_share").scaled
    k = top * len(values)
    whole = int(math.floor(k + 1e-9))
    part = values[:whole].sum()
    if whole < len(values):
        part += (k - whole) * values[whole] if k - whole > 1e-9 else 0.0
    return float(min(part / values.sum(), 1.0))


def gini(data: pd.DataFrame | pd.Series, value: str | None = "clv") -> float:
    """Gini coefficient of the value across customers: 0 when equal, near 1 when concentrated.

    ``G = sum_i (2 i - n - 1) x_(i) / (n sum x)`` with the values sorted ascending; at most
    ``(n - 1) / n`` (one customer holds everything).

    Examples
    --------
    >>> import pandas as pd
    >>> gini(pd.Series([0.0, 0.0, 0.0, 4.0], name="clv"))
    0.75
    >>> gini(pd.Series([2.0, 2.0], name="clv"))
    0.0
    """
    values = np.sort(_ranked(data, value, "gini").scaled)
    n = len(values)
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * values).sum() / (n * values.sum()))


# --------------------------------------------------------------------------------------------
# churn risk
# --------------------------------------------------------------------------------------------


def churn_risk(
    values: pd.DataFrame,
    *,
    value: str = "revenue",
    alive: str = "probability_alive",
    top_value: float = 0.2,
    max_alive: float = 0.5,
    n: int | None = None,
    columns: Sequence[str] | None = None,
    time_unit: str | None = None,
) -> pd.DataFrame:
    """Valuable customers who have probably stopped buying, most value at risk first.

    A customer is listed when they are among the top ``top_value`` of customers by
    ``value`` and their probability of being alive is below ``max_alive``. The list is
    ranked by *value at risk*, ``value * (1 - P(alive))`` (ties: higher value first, then the
    input order). The usual ``value`` is the historical revenue: the model's predicted CLV
    already discounts a customer who is probably gone.

    Parameters
    ----------
    values : DataFrame
        One row per customer with ``value`` and ``alive``, e.g.
        :func:`retention.customer_value` with ``history=``. With ``frequency``, ``recency``
        and ``T`` the list also gives the time since the last purchase and the customer's
        usual gap between purchases.
    value : str, default "revenue"
        Value column used to select and rank.
    alive : str, default "probability_alive"
        P(alive) column.
    top_value : float, default 0.2
        Fraction of customers (by value) considered valuable.
    max_alive : float, default 0.5
        Customers with P(alive) below this are at risk.
    n : int, optional
        Keep the first ``n`` rows.
    columns : list of str, optional
        Further columns carried into the list (``["cohort", "channel"]``).
    time_unit : {"D", "W", "M", "Q"}, optional
        Unit of recency and T, for the ``reason`` text; default ``values.attrs``'s
        ``model_time_unit``.

    Returns
    -------
    DataFrame
        Indexed by customer: ``value``'s column, ``value_rank`` (1 = most valuable; ties
        share the best rank), ``top_fraction`` (``value_rank / customers``),
        ``probability_alive``, ``value_at_risk``, when available ``frequency``,
        ``time_since_last_purchase`` (``T - recency``) and ``usual_gap``
        (``recency / frequency``), then ``columns`` and a ``reason`` sentence.

    Examples
    --------
    >>> import pandas as pd
    >>> values = pd.DataFrame({"revenue": [900.0, 800.0, 700.0, 50.0, 40.0],
    ...                        "probability_alive": [0.9, 0.1, 0.3, 0.05, 0.2]},
    ...                       index=["a", "b", "c", "d", "e"])
    >>> risk = churn_risk(values, top_value=0.6)
    >>> risk[["revenue", "value_rank", "value_at_risk"]]
       revenue  value_rank  value_at_risk
    b    800.0           2          720.0
    c    700.0           3          490.0
    >>> risk["reason"].iloc[0]
    'top 40% by revenue (rank 2 of 5); P(alive) 10%'
    """
    require_columns(values, [value, alive], what="the per-customer table")
    top_value = fraction("top_value", top_value, open_low=True)
    max_alive = fraction("max_alive", max_alive, open_low=True)
    val = numeric_values(values[value], value, what="the per-customer table")
    p_alive = numeric_values(values[alive], alive, what="the per-customer table")
    bad = (p_alive < 0) | (p_alive > 1)
    if bad.any():
        raise ValueError(
            bad_rows(alive, "value(s) that are not probabilities (outside [0, 1])", bad,
                     values.index) + "."
        )
    extra = list(columns or [])
    require_columns(values, extra, what="the per-customer table")
    total = len(values)
    rank = pd.Series(val).rank(method="min", ascending=False).to_numpy()
    top_fraction = rank / total if total else rank
    risk = val * (1 - p_alive)
    keep = (top_fraction <= top_value + 1e-12) & (p_alive < max_alive) & (val > 0)
    pos = np.flatnonzero(keep)
    # rank by value at risk, then value, then input order (np.lexsort: last key first)
    pos = pos[np.lexsort((pos, -val[pos], -risk[pos]))]
    if n is not None:
        n = whole_number("n", n, minimum=0, what="a non-negative whole number")
        pos = pos[:n]
    out = pd.DataFrame(
        {
            value: val[pos],
            "value_rank": rank[pos].astype(np.int64),
            "top_fraction": top_fraction[pos],
            "probability_alive": p_alive[pos],
            "value_at_risk": risk[pos],
        },
        index=values.index[pos],
    )
    unit = unit_name(time_unit or values.attrs.get("model_time_unit")
                     or values.attrs.get("time_unit"), default="time unit")
    has_rfm = {"frequency", "recency", "T"} <= set(values.columns)
    if has_rfm:
        freq_ = values["frequency"].to_numpy(dtype=float)[pos]
        rec = values["recency"].to_numpy(dtype=float)[pos]
        out["frequency"] = freq_.astype(np.int64) if np.all(freq_ == np.round(freq_)) else freq_
        out["time_since_last_purchase"] = values["T"].to_numpy(dtype=float)[pos] - rec
        with np.errstate(invalid="ignore", divide="ignore"):
            out["usual_gap"] = np.where(freq_ > 0, rec / np.where(freq_ > 0, freq_, 1), np.nan)
    for col in extra:
        out[col] = values[col].to_numpy()[pos]
    reasons = []
    for i in range(len(out)):
        share, p = out["top_fraction"].iat[i], out["probability_alive"].iat[i]
        text = (f"top {_share_text(share)} by {value} (rank {out['value_rank'].iat[i]:,} of "
                f"{total:,}); P(alive) {'<1%' if p < 0.005 else f'{p:.0%}'}")
        if has_rfm:
            text += f"; last purchase {out['time_since_last_purchase'].iat[i]:.0f} {unit}s ago"
            gap = out["usual_gap"].iat[i]
            if np.isfinite(gap):
                text += f", usually every {gap:.1f} {unit}s"
        reasons.append(text)
    out["reason"] = pd.Series(reasons, index=out.index, dtype=object)
    out.index.name = values.index.name
    out.attrs.update(customers=total, top_value=top_value, max_alive=max_alive, value=value,
                     n_at_risk=int(keep.sum()))
    return out
