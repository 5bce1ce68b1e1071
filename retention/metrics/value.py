"""CLV breakdowns and model diagnostics: the tables of the CLV report.

The models live in :mod:`retention.models`; this module turns transactions, an RFM summary
and fitted models into small tidy tables:

* **who the customers are**: :func:`customer_history` (acquisition cohort, segment at the
  first purchase, orders and net revenue so far);
* **historical and predicted value by group**: :func:`historical_value`,
  :func:`customer_value` (one row per customer: P(alive), expected purchases, expected order
  value, discounted CLV) and :func:`predicted_value`;
* **how concentrated the value is**: :func:`value_deciles`, :func:`concentration_curve`,
  :func:`top_share`, :func:`gini`;
* **whom to call back**: :func:`churn_risk`, valuable customers who are probably gone;
* **whether the BG/NBD model fits**: :func:`calibration_vs_holdout`,
  :func:`frequency_recency_matrix`, :func:`expected_cumulative_transactions` (the
  diagnostics of lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``,
  ``plot_frequency_recency_matrix`` / ``plot_probability_alive_matrix`` and
  ``expected_cumulative_transactions``);
* **the written summary**: :func:`clv_highlights` and :func:`describe_clv`.

Shares are fractions (0.63, not 63); notebooks and plots show them as percentages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from retention.checks import bad_rows, date_values, require_columns
from retention.models import BetaGeo, GammaGamma, predict_clv
from retention.periods import PERIOD_DAYS, UNIT_NAMES, normalize_freq, period_codes, period_end
from retention.engine.frame import customer_totals, period_activity

__all__ = [
    "calibration_vs_holdout",
    "churn_risk",
    "clv_highlights",
    "concentration_curve",
    "customer_history",
    "customer_value",
    "default_calibration_end",
    "describe_clv",
    "expected_cumulative_transactions",
    "frequency_recency_matrix",
    "gini",
    "historical_value",
    "predicted_value",
    "top_share",
    "value_deciles",
]

# --------------------------------------------------------------------------------------------
# input checks (the wording of :mod:`retention.checks`)
# --------------------------------------------------------------------------------------------


def _numeric(data: pd.DataFrame, column: str, what: str, *, nonnegative: bool = False
             ) -> np.ndarray:
    """Float values of a column; ValueError naming missing, infinite or negative entries."""
    col = data[column]
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        raise ValueError(f"column {column!r} of {what} must be numeric, got dtype {col.dtype}.")
    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(bad_rows(column, "missing or infinite value(s)", bad, data.index) + ".")
    if nonnegative:
        neg = values < 0
        if neg.any():
            raise ValueError(
                bad_rows(column, "negative value(s)", neg, data.index)
                + "; shares of value need values >= 0 (clip them with .clip(lower=0) or leave "
                "those customers out first)."
            )
    return values


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


def _check_tx(tx: Any, *, customer: str, date: str, amount: str | None,
              **more: str | Sequence[str] | None) -> None:
    """Columns present, datetime64 dates (as :func:`retention.rfm_summary` requires) and at
    least one row; the reductions check the values themselves."""
    require_columns(tx, customer=customer, date=date, amount=amount, **more)
    dtype = tx[date].dtype
    if not (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        date_values(tx[date], date)  # raises: dates not parsed, or timezone-aware
    if len(tx) == 0:
        raise ValueError("the transaction table is empty.")


def _fraction(name: str, value: Any, *, low: float = 0.0, high: float = 1.0,
              open_low: bool = True) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > low if open_low else value >= low)
    if not ok or value > high:
        raise ValueError(f"{name} must be a fraction in ({low}, {high}], got {value!r}.")
    return float(value)


def _share_text(share: float) -> str:
    """0.4 -> "40%", 0.0027 -> "0.3%": at least one significant digit for small shares."""
    return f"{share:.1%}" if share < 0.095 else f"{share:.0%}"


def _group_columns(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def _unit_name(unit: str | None) -> str:
    return UNIT_NAMES.get(unit or "", "time unit")


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
    seg_cols = [] if segments is None else _group_columns(segments)
    _check_tx(tx, customer=customer, date=date, amount=amount, order=order, segments=seg_cols)
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
        last_date=totals.last_date,
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
    require_columns(tx, date=date)
    holdout = _fraction("holdout", holdout)
    if holdout >= 1:
        raise ValueError(f"holdout must be below 1, got {holdout!r}.")
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
    value (:func:`predicted_value`).

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
    cols = _group_columns(by)
    require_columns(history, [*cols, revenue, orders], what="the customer history",
                    hint="Build it with retention.metrics.value.customer_history(tx, segments=[...]).")
    rev = _numeric(history, revenue, "the customer history")
    n_orders = _numeric(history, orders, "the customer history", nonnegative=True)
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
# predicted value
# --------------------------------------------------------------------------------------------


def customer_value(
    summary: pd.DataFrame,
    bgf: BetaGeo,
    ggf: GammaGamma,
    *,
    history: pd.DataFrame | None = None,
    horizon: int = 12,
    time_unit: str = "M",
    discount_rate: float = 0.01,
    model_time_unit: str | None = None,
) -> pd.DataFrame:
    """Per-customer predictions: P(alive), expected purchases, order value and discounted CLV.

    Parameters
    ----------
    summary : DataFrame
        RFM summary (:func:`retention.rfm_summary`) with ``frequency``, ``recency``, ``T``
        and ``monetary_value``, in the time unit the models were fitted in.
    bgf, ggf : BetaGeo, GammaGamma
        Fitted models.
    history : DataFrame, optional
        :func:`customer_history` of the same transactions: its columns (cohort, segments,
        orders, revenue) are joined on the customer id.
    horizon, time_unit, discount_rate, model_time_unit
        As in :func:`retention.predict_clv`: ``horizon`` periods of ``time_unit``,
        ``discount_rate`` per ``time_unit`` period.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: its four columns, ``probability_alive``,
        ``expected_purchases`` (over the horizon, undiscounted),
        ``expected_average_order_value``, ``clv`` (discounted), then the history columns.
        ``attrs`` holds ``horizon``, ``time_unit``, ``discount_rate``, ``model_time_unit``
        and ``n_without_history`` (customers of the summary absent from ``history``; their
        history columns are missing values).

    Raises
    ------
    ValueError
        Missing columns, or a ``history`` that shares no customer with the summary.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo, GammaGamma
    >>> bgf, ggf = BetaGeo(), GammaGamma()
    >>> bgf.params_ = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}
    >>> ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> summary = pd.DataFrame({"frequency": [0, 4], "recency": [0.0, 30.0], "T": [38.0, 38.0],
    ...                         "monetary_value": [0.0, 25.0]}, index=["a", "b"])
    >>> out = customer_value(summary, bgf, ggf, horizon=12, model_time_unit="W")
    >>> out["probability_alive"].round(3).tolist()
    [1.0, 0.739]
    >>> bool(out.loc["b", "clv"] > out.loc["a", "clv"])
    True
    """
    cols = ["frequency", "recency", "T", "monetary_value"]
    require_columns(summary, cols, what="the summary",
                    hint="Build it with retention.rfm_summary.")
    clv = predict_clv(bgf, ggf, summary, horizon=horizon, time_unit=time_unit,
                      discount_rate=discount_rate, model_time_unit=model_time_unit)
    out = summary[cols].copy()
    out["probability_alive"] = np.asarray(
        bgf.probability_alive(summary["frequency"], summary["recency"], summary["T"]), dtype=float)
    for c in ("expected_purchases", "expected_average_order_value", "clv"):
        out[c] = clv[c].to_numpy()
    n_without = 0
    if history is not None:
        if not isinstance(history, pd.DataFrame):
            raise TypeError(f"history must be a DataFrame, got {type(history).__name__}.")
        extra = [c for c in history.columns if c not in out.columns]
        found = summary.index.isin(history.index)
        if len(summary) and not found.any():
            raise ValueError(
                "history shares no customer id with the summary (e.g. summary ids "
                f"{list(summary.index[:3])}, history ids {list(history.index[:3])}); build both "
                "from the same transactions."
            )
        n_without = int((~found).sum())
        out = out.join(history[extra], how="left")
    out.attrs.update(clv.attrs, n_without_history=n_without)
    return out


def predicted_value(
    values: pd.DataFrame,
    by: str | Sequence[str] = "cohort",
    *,
    clv: str = "clv",
    alive: str | None = "probability_alive",
    expected_purchases: str | None = "expected_purchases",
) -> pd.DataFrame:
    """Predicted CLV per acquisition cohort or segment.

    Parameters
    ----------
    values : DataFrame
        One row per customer with the prediction and the group columns, as returned by
        :func:`customer_value` with ``history=``.
    by : str or list of str, default "cohort"
        Group column(s). Missing values form their own group.
    clv : str
        Predicted value column.
    alive, expected_purchases : str or None
        Optional columns averaged per group; None to leave out.

    Returns
    -------
    DataFrame
        One row per group, sorted: the group column(s), ``customers``, ``clv`` (total),
        ``clv_per_customer``, ``share_of_clv``, ``expected_purchases_per_customer`` and
        ``probability_alive`` (mean) when available.

    Examples
    --------
    >>> import pandas as pd
    >>> values = pd.DataFrame({"channel": ["email", "email", "social"],
    ...                        "clv": [120.0, 60.0, 20.0], "probability_alive": [0.9, 0.5, 0.4]})
    >>> predicted_value(values, "channel", expected_purchases=None)
      channel  customers    clv  clv_per_customer  share_of_clv  probability_alive
    0   email          2  180.0              90.0           0.9                0.7
    1  social          1   20.0              20.0           0.1                0.4
    """
    cols = _group_columns(by)
    require_columns(values, [*cols, clv], what="the per-customer table",
                    hint="Join the cohort and segment columns with customer_value(..., "
                    "history=customer_history(tx, segments=[...])).")
    frame = values[cols].assign(_customers=1, _clv=_numeric(values, clv, "the per-customer table"))
    means = {}
    for name, col in (("expected_purchases_per_customer", expected_purchases),
                      ("probability_alive", alive)):
        if col is not None and col in values.columns:
            frame[name] = _numeric(values, col, "the per-customer table")
            means[name] = "mean"
    grouped = frame.groupby(cols, sort=True, dropna=False, observed=True)
    table = grouped.agg(customers=("_customers", "sum"), clv=("_clv", "sum"),
                        **{k: (k, v) for k, v in means.items()}).reset_index()
    table["customers"] = table["customers"].astype(np.int64)
    table.insert(len(cols) + 2, "clv_per_customer", table["clv"] / table["customers"])
    total = table["clv"].sum()
    table.insert(len(cols) + 3, "share_of_clv", table["clv"] / total if total != 0 else np.nan)
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
    values = _numeric(frame, value, what, nonnegative=True)
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
    if isinstance(groups, bool) or not isinstance(groups, int | np.integer) or groups < 1:
        raise ValueError(f"groups must be a positive whole number, got {groups!r}.")
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
        other = _numeric(frame, col, what)[order]
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
    top = _fraction("top", top)
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
        One row per customer with ``value`` and ``alive``, e.g. :func:`customer_value` with
        ``history=``. With ``frequency``, ``recency`` and ``T`` the list also gives the time
        since the last purchase and the customer's usual gap between purchases.
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
    top_value = _fraction("top_value", top_value)
    max_alive = _fraction("max_alive", max_alive)
    val = _numeric(values, value, "the per-customer table")
    p_alive = _numeric(values, alive, "the per-customer table")
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
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n must be a non-negative whole number, got {n!r}.")
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
    unit = _unit_name(time_unit or values.attrs.get("model_time_unit")
                      or values.attrs.get("time_unit"))
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


# --------------------------------------------------------------------------------------------
# BG/NBD diagnostics
# --------------------------------------------------------------------------------------------


def calibration_vs_holdout(
    cal_holdout: pd.DataFrame,
    bgf: BetaGeo,
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
    bgf : BetaGeo
        Model fitted on the calibration columns, e.g.
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
    cols = [frequency, recency, T, holdout, duration]
    require_columns(cal_holdout, cols, what="the calibration/holdout table",
                    hint="Build it with retention.calibration_and_holdout.")
    if isinstance(max_frequency, bool) or not isinstance(max_frequency, int | np.integer) \
            or max_frequency < 1:
        raise ValueError(f"max_frequency must be a whole number >= 1, got {max_frequency!r}.")
    what = "the calibration/holdout table"
    x = _numeric(cal_holdout, frequency, what, nonnegative=True)
    tx_ = _numeric(cal_holdout, recency, what, nonnegative=True)
    big_t = _numeric(cal_holdout, T, what, nonnegative=True)
    actual = _numeric(cal_holdout, holdout, what, nonnegative=True)
    dur = _numeric(cal_holdout, duration, what, nonnegative=True)
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
    bgf: BetaGeo,
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
    bgf : BetaGeo
        Fitted model.
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
    if not isinstance(bgf, BetaGeo):
        raise TypeError(f"bgf must be a fitted BetaGeo, got {type(bgf).__name__}.")
    bgf._check_fitted()
    if kind not in ("expected_purchases", "probability_alive"):
        raise ValueError(f"kind={kind!r}; use 'expected_purchases' or 'probability_alive'.")
    if not (isinstance(T, int | float | np.integer | np.floating) and np.isfinite(T) and T > 0):
        raise ValueError(f"T must be a positive number of time units, got {T!r}.")
    if isinstance(max_frequency, bool) or not isinstance(max_frequency, int | np.integer) \
            or max_frequency < 1:
        raise ValueError(f"max_frequency must be a whole number >= 1, got {max_frequency!r}.")
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
    if kind == "probability_alive":
        values = np.asarray(bgf.probability_alive(x, r, big_t), dtype=float)
    else:
        values = np.asarray(bgf.conditional_expected_purchases(t, x, r, big_t), dtype=float)
    impossible = ((x == 0) & (r > 0)) | ((x > 0) & (r == 0))
    values = np.where(impossible, np.nan, values)
    out = pd.DataFrame(values, index=pd.Index(frequency, name="frequency"),
                       columns=pd.Index(recency, name="recency"))
    out.attrs.update(kind=kind, T=float(T), t=float(t), time_unit=getattr(bgf, "time_unit_", None))
    return out


def expected_cumulative_transactions(
    tx: pd.DataFrame,
    bgf: BetaGeo,
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
    bgf : BetaGeo
        Fitted model (usually on the calibration window, so the holdout is out of sample).
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
    if not isinstance(bgf, BetaGeo):
        raise TypeError(f"bgf must be a fitted BetaGeo, got {type(bgf).__name__}.")
    bgf._check_fitted()
    _check_tx(tx, customer=customer, date=date, amount=amount)
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
                                 observation_end=end_ts,
                                 n_transactions_after_end=int(activity.orders[end + 1:].sum()))
    if calibration_end is not None:
        cal = pd.Timestamp(calibration_end)
        out["holdout"] = out["date"] > cal
        attrs["calibration_end"] = cal
    out.attrs.update(attrs)
    return out


# --------------------------------------------------------------------------------------------
# written summary
# --------------------------------------------------------------------------------------------


def clv_highlights(
    values: pd.DataFrame,
    *,
    clv: str = "clv",
    alive: str = "probability_alive",
    revenue: str | None = "revenue",
    top: float = 0.2,
    groups: pd.DataFrame | None = None,
    holdout: pd.DataFrame | None = None,
    tracking: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Key figures of a CLV analysis, for :func:`describe_clv` and the report index.

    Parameters
    ----------
    values : DataFrame
        :func:`customer_value` output (one row per customer).
    clv, alive, revenue : str
        Column names; ``revenue`` (historical) is optional.
    top : float, default 0.2
        Fraction of customers for the concentration figure.
    groups : DataFrame, optional
        :func:`predicted_value` by one segment column: the best and worst groups by CLV per
        customer (groups of fewer than 30 customers are not ranked).
    holdout : DataFrame, optional
        :func:`calibration_vs_holdout` output: total actual vs expected holdout purchases.
    tracking : DataFrame, optional
        :func:`expected_cumulative_transactions` output: actual vs expected at the end.

    Returns
    -------
    dict
        ``customers``, ``clv_total``, ``clv_mean``, ``clv_median``, ``top``,
        ``top_share``, ``gini``, ``expected_alive`` (sum of P(alive)), ``mean_alive``,
        ``one_time_buyers`` (share with frequency 0, NaN without the column),
        ``revenue_total``, ``horizon``, ``time_unit``, ``discount_rate``, and when given
        ``group_column``, ``best_group``, ``best_group_clv``, ``worst_group``,
        ``worst_group_clv``, ``holdout_actual``, ``holdout_expected``, ``tracking_actual``,
        ``tracking_expected``.

    Examples
    --------
    >>> import pandas as pd
    >>> values = pd.DataFrame({"clv": [100.0, 60.0, 10, 10, 5, 5, 4, 3, 2, 1],
    ...                        "probability_alive": [0.9] * 5 + [0.5] * 5})
    >>> h = clv_highlights(values, revenue=None)
    >>> h["customers"], h["clv_total"], h["top_share"], round(h["expected_alive"], 1)
    (10, 200.0, 0.8, 7.0)
    """
    require_columns(values, [clv, alive], what="the per-customer table")
    amounts = _numeric(values, clv, "the per-customer table")
    p_alive = _numeric(values, alive, "the per-customer table")
    out: dict[str, Any] = {
        "customers": len(values),
        "clv_total": float(amounts.sum()),
        "clv_mean": float(amounts.mean()) if len(amounts) else math.nan,
        "clv_median": float(np.median(amounts)) if len(amounts) else math.nan,
        "top": float(top),
        "top_share": top_share(values, clv, top) if amounts.sum() > 0 else math.nan,
        "gini": gini(values, clv) if amounts.sum() > 0 else math.nan,
        "expected_alive": float(p_alive.sum()),
        "mean_alive": float(p_alive.mean()) if len(p_alive) else math.nan,
        "one_time_buyers": float((values["frequency"] == 0).mean())
        if "frequency" in values.columns and len(values) else math.nan,
        "revenue_total": float(values[revenue].sum())
        if revenue is not None and revenue in values.columns else math.nan,
        "horizon": values.attrs.get("horizon"),
        "time_unit": values.attrs.get("time_unit"),
        "discount_rate": values.attrs.get("discount_rate"),
    }
    if groups is not None:
        require_columns(groups, ["customers", "clv_per_customer"], what="groups",
                        hint="Pass predicted_value(values, by=column).")
        label_col = groups.columns[0]
        ranked = groups[groups["customers"] >= 30].dropna(subset=["clv_per_customer"])
        out["group_column"] = str(label_col)
        if len(ranked) >= 2:
            best = ranked.loc[ranked["clv_per_customer"].idxmax()]
            worst = ranked.loc[ranked["clv_per_customer"].idxmin()]
            out.update(best_group=str(best[label_col]),
                       best_group_clv=float(best["clv_per_customer"]),
                       worst_group=str(worst[label_col]),
                       worst_group_clv=float(worst["clv_per_customer"]))
    if holdout is not None:
        require_columns(holdout, ["actual_total", "expected_total"], what="holdout",
                        hint="Pass calibration_vs_holdout(...).")
        out["holdout_actual"] = float(holdout["actual_total"].sum())
        out["holdout_expected"] = float(holdout["expected_total"].sum())
        out["holdout_duration"] = holdout.attrs.get("duration")
    if tracking is not None:
        require_columns(tracking, ["actual", "expected"], what="tracking",
                        hint="Pass expected_cumulative_transactions(...).")
        out["tracking_actual"] = float(tracking["actual"].iloc[-1])
        out["tracking_expected"] = float(tracking["expected"].iloc[-1])
    return out


def _model_gap(actual: float, expected: float) -> str:
    """``"the model is 16.9% below"`` (expected vs actual)."""
    if actual == 0:
        return "no actual value to compare with"
    gap = (expected - actual) / actual
    if abs(gap) < 0.0005:
        return "the model matches"
    return f"the model is {abs(gap):.1%} {'below' if gap < 0 else 'above'}"


def describe_clv(highlights: Mapping[str, Any]) -> str:
    """A few sentences of Markdown summarising :func:`clv_highlights`.

    Examples
    --------
    >>> print(describe_clv({"customers": 10, "clv_total": 200.0, "clv_mean": 20.0,
    ...     "clv_median": 5.0, "top": 0.2, "top_share": 0.8, "gini": 0.6,
    ...     "expected_alive": 7.0, "mean_alive": 0.7, "one_time_buyers": 0.5,
    ...     "revenue_total": float("nan"), "horizon": 12, "time_unit": "M",
    ...     "discount_rate": 0.008}))  # doctest: +NORMALIZE_WHITESPACE
    - **10** customers; predicted value over the next 12 months (discounted at 0.80% a month):
      **200** in total, **20.00** per customer on average (median 5.00).
    - The top 20% of customers hold **80.0%** of the predicted value (Gini 0.60).
    - 50.0% of the customers have bought only once; the model expects **7** (70.0%) to be still
      active (in BG/NBD a customer can only drop out after a repeat purchase, so one-time buyers
      count as active).
    """
    h = highlights
    unit = _unit_name(h.get("time_unit"))
    horizon = h.get("horizon")
    when = f" over the next {horizon} {unit}s" if horizon else ""
    rate = h.get("discount_rate")
    disc = f" (discounted at {rate:.2%} a {unit})" if rate else ""
    lines = [
        f"- **{h['customers']:,}** customers; predicted value{when}{disc}: "
        f"**{h['clv_total']:,.0f}** in total, **{h['clv_mean']:,.2f}** per customer on average "
        f"(median {h['clv_median']:,.2f})."
    ]
    if not math.isnan(h.get("top_share", math.nan)):
        lines.append(
            f"- The top {h['top']:.0%} of customers hold **{h['top_share']:.1%}** of the "
            f"predicted value (Gini {h['gini']:.2f})."
        )
    alive = (f"the model expects **{h['expected_alive']:,.0f}** ({h['mean_alive']:.1%}) to be "
             "still active")
    one_time = h.get("one_time_buyers", math.nan)
    if one_time is not None and not math.isnan(one_time):
        lines.append(
            f"- {one_time:.1%} of the customers have bought only once; {alive} (in BG/NBD a "
            "customer can only drop out after a repeat purchase, so one-time buyers count as "
            "active).")
    else:
        lines.append(f"- {alive[0].upper()}{alive[1:]}.")
    if h.get("best_group") is not None:
        lines.append(
            f"- By {h['group_column']}: highest predicted value per customer "
            f"**{h['best_group']}** ({h['best_group_clv']:,.2f}), lowest "
            f"**{h['worst_group']}** ({h['worst_group_clv']:,.2f})."
        )
    checks = {
        "holdout": "- Holdout check: fitted on the calibration window, the model expected "
        "**{e:,.0f}** purchases by those customers in the holdout; they made **{a:,.0f}**",
        "tracking": "- Over the whole period the model expects **{e:,.0f}** repeat transactions "
        "against **{a:,.0f}** actual",
    }
    for check, sentence in checks.items():
        if h.get(f"{check}_actual") is not None:
            a, e = h[f"{check}_actual"], h[f"{check}_expected"]
            lines.append(f"{sentence.format(a=a, e=e)} ({_model_gap(a, e)}).")
    return "\n".join(lines)

