"""Customer lifetime value from a fitted purchase-count model and an order-value model.

:func:`predict_clv` (discounted CLV), :func:`customer_value` (one row per customer with
P(alive)), :func:`predicted_value` (its totals per cohort or segment), :func:`clv_schedule`
(the same value period by period, as a finance plan reads it) and
:func:`probability_alive_at` (P(alive) at a future date without a purchase meanwhile).

For each customer, the expected purchases in each of ``horizon`` future periods (differences
of the model's conditional expectation) times the expected order value, discounted at
``discount_rate`` per period:

    CLV = margin * sum_{i=1..horizon} (E[X(0, i)] - E[X(0, i-1)]) * E[M] / (1 + d)^i

as in lifetimes' ``customer_lifetime_value`` (which has ``margin = 1``: revenue). With
``margin`` the gross-margin fraction of revenue, CLV is discounted profit. (Not to be
confused with the scalar seed formula :func:`retention.customer_lifetime_value`.) The models
may be :class:`~retention.models.BetaGeo` and :class:`~retention.models.GammaGamma` or any
objects with the methods of :class:`~retention.models.base.TransactionModel` and
:class:`~retention.models.base.SpendModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from retention.checks import as_list, fraction, numeric_values, require_columns, whole_number
from retention.models.base import (
    SpendModel,
    TransactionModel,
    check_histories,
    require_methods,
    summary_columns,
)
from retention.periods import PERIOD_DAYS, normalize_freq

__all__ = ["clv_schedule", "customer_value", "predict_clv", "predicted_value",
           "probability_alive_at"]

#: Years, for future periods only (summaries and models use the grains of PERIOD_DAYS).
_YEAR_ALIASES = {"Y": "Y", "A": "Y", "YE": "Y", "year": "Y", "annual": "Y", "yearly": "Y"}


def _future_unit(time_unit: str, years: bool = False) -> tuple[str, float]:
    """Alias and length in days of one future period: D, W, M, Q, and Y (365.25 days) when
    ``years``."""
    if not years:
        unit = normalize_freq(time_unit)
        return unit, PERIOD_DAYS[unit]
    year = _YEAR_ALIASES.get(time_unit) or _YEAR_ALIASES.get(str(time_unit).lower())
    if year:
        return "Y", 365.25
    try:
        unit = normalize_freq(time_unit)
    except ValueError as err:
        raise ValueError(f"time_unit={time_unit!r} is not supported; use 'D', 'W', 'M', 'Q' or "
                         "'Y' (or 'day', 'week', 'month', 'quarter', 'year').") from err
    return unit, PERIOD_DAYS[unit]


def _model_unit(bgf: Any, summary: pd.DataFrame, model_time_unit: str | None) -> str:
    model_unit = model_time_unit or getattr(bgf, "time_unit_", None) or summary.attrs.get(
        "time_unit")
    if model_unit is None:
        raise ValueError(
            "the time unit of recency and T is unknown; pass model_time_unit= ('D', 'W', 'M' "
            "or 'Q'), the unit the BG/NBD model was fitted in."
        )
    return normalize_freq(model_unit)


def _cash_flows(bgf: TransactionModel, ggf: SpendModel, summary: pd.DataFrame, *,
                horizon: Any, time_unit: str, discount_rate: float, margin: float,
                model_time_unit: str | None, columns: tuple[str, str, str, str],
                years: bool = False) -> dict[str, Any]:
    """Expected purchases per customer and future period, order values and discount factors:
    what :func:`predict_clv` and :func:`clv_schedule` share."""
    require_methods(bgf, TransactionModel, "bgf", "conditional_expected_purchases")
    require_methods(ggf, SpendModel, "ggf")
    horizon = whole_number("horizon", horizon, what="a positive whole number of periods")
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise ValueError(f"discount_rate must be a fraction above -1, got {discount_rate!r}.")
    margin = fraction("margin", margin)
    unit, days = _future_unit(time_unit, years)
    model_unit = _model_unit(bgf, summary, model_time_unit)
    frequency, recency, T, monetary_value = columns
    values, _, index = summary_columns(
        summary, {"frequency": frequency, "recency": recency, "T": T,
                  "monetary_value": monetary_value}
    )
    x, tx, big_t = values["frequency"], values["recency"], values["T"]
    check_histories(x, tx, big_t, index=index, names=(frequency, recency, T))
    step = days / PERIOD_DAYS[model_unit]
    ends = step * np.arange(1, horizon + 1)
    cumulative = np.column_stack(
        [np.zeros(len(x))]
        + [np.asarray(bgf.conditional_expected_purchases(e, x, tx, big_t), dtype=float)
           for e in ends]
    )
    return {
        "index": index, "cumulative": cumulative, "per_period": np.diff(cumulative, axis=1),
        "discount": (1.0 + discount_rate) ** -np.arange(1, horizon + 1),
        "aov": np.asarray(ggf.expected_average_order_value(x, values["monetary_value"]),
                          dtype=float),
        "attrs": {"horizon": horizon, "time_unit": unit, "discount_rate": float(discount_rate),
                  "margin": margin, "model_time_unit": model_unit},
    }


def predict_clv(
    bgf: TransactionModel,
    ggf: SpendModel,
    summary: pd.DataFrame,
    *,
    horizon: int = 12,
    time_unit: str = "M",
    discount_rate: float = 0.01,
    margin: float = 1.0,
    model_time_unit: str | None = None,
    frequency: str = "frequency",
    recency: str = "recency",
    T: str = "T",
    monetary_value: str = "monetary_value",
) -> pd.DataFrame:
    """Discounted CLV of each customer over ``horizon`` periods of ``time_unit``.

    Parameters
    ----------
    bgf : TransactionModel
        Fitted purchase-count model (e.g. :class:`~retention.models.BetaGeo`): its
        ``conditional_expected_purchases`` is used.
    ggf : SpendModel
        Fitted order-value model (e.g. :class:`~retention.models.GammaGamma`): its
        ``expected_average_order_value`` is used.
    summary : DataFrame
        One row per customer with frequency, recency, T and monetary value (see
        :func:`retention.rfm_summary`); recency and T in the unit the BG/NBD was fitted in.
    horizon : int, default 12
        Number of future periods.
    time_unit : {"D", "W", "M", "Q"}, default "M"
        Length of one future period; also the period of ``discount_rate``. Months and
        quarters are 365.25/12 and 365.25/4 days. (Yearly periods: :func:`clv_schedule`.)
    discount_rate : float, default 0.01
        Discount rate per ``time_unit`` period (a fraction: 0.01 = 1% a month); cash flows of
        period i are divided by ``(1 + discount_rate) ** i``.
    margin : float, default 1.0
        Share of revenue kept as profit (a fraction in [0, 1]): ``clv`` is ``margin`` times
        the discounted revenue. 1.0 gives revenue CLV (as lifetimes does).
    model_time_unit : {"D", "W", "M", "Q"}, optional
        Time unit of recency / T (and so of ``bgf``). Default: ``bgf.time_unit_`` or
        ``summary.attrs["time_unit"]``, both set when the data came from ``rfm_summary``.
    frequency, recency, T, monetary_value : str
        Column names.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``expected_purchases`` (undiscounted, over the horizon),
        ``expected_average_order_value`` and ``clv`` (discounted, times ``margin``).
        ``attrs``: ``horizon``, ``time_unit``, ``discount_rate``, ``margin`` and
        ``model_time_unit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo, GammaGamma
    >>> bgf, ggf = BetaGeo(), GammaGamma()
    >>> bgf.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    >>> ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> summary = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86],
    ...                         "monetary_value": [0.0, 25.0]}, index=["a", "b"])
    >>> out = predict_clv(bgf, ggf, summary, horizon=12, time_unit="M", model_time_unit="W")
    >>> list(out.columns)
    ['expected_purchases', 'expected_average_order_value', 'clv']
    >>> bool(out.loc["b", "clv"] > out.loc["a", "clv"])
    True
    >>> profit = predict_clv(bgf, ggf, summary, margin=0.3, model_time_unit="W")
    >>> bool(np.allclose(profit["clv"], 0.3 * out["clv"]))
    True
    """
    flows = _cash_flows(bgf, ggf, summary, horizon=horizon, time_unit=time_unit,
                        discount_rate=discount_rate, margin=margin,
                        model_time_unit=model_time_unit,
                        columns=(frequency, recency, T, monetary_value))
    out = pd.DataFrame(
        {
            "expected_purchases": flows["cumulative"][:, -1],
            "expected_average_order_value": flows["aov"],
            "clv": flows["attrs"]["margin"] * (flows["per_period"] @ flows["discount"])
            * flows["aov"],
        },
        index=flows["index"],
    )
    out.attrs.update(flows["attrs"])
    return out


def customer_value(
    summary: pd.DataFrame,
    bgf: TransactionModel,
    ggf: SpendModel,
    *,
    history: pd.DataFrame | None = None,
    horizon: int = 12,
    time_unit: str = "M",
    discount_rate: float = 0.01,
    margin: float = 1.0,
    model_time_unit: str | None = None,
) -> pd.DataFrame:
    """Per-customer predictions: P(alive), expected purchases, order value and discounted CLV.

    Parameters
    ----------
    summary : DataFrame
        RFM summary (:func:`retention.rfm_summary`) with ``frequency``, ``recency``, ``T``
        and ``monetary_value``, in the time unit the models were fitted in.
    bgf : TransactionModel
        Fitted purchase-count model (e.g. :class:`~retention.models.BetaGeo`): its
        ``conditional_expected_purchases`` and ``probability_alive`` are used.
    ggf : SpendModel
        Fitted order-value model (e.g. :class:`~retention.models.GammaGamma`).
    history : DataFrame, optional
        :func:`retention.customer_history` of the same transactions: its columns (cohort,
        segments, orders, revenue) are joined on the customer id.
    horizon, time_unit, discount_rate, margin, model_time_unit
        As in :func:`predict_clv`: ``horizon`` periods of ``time_unit``, ``discount_rate``
        per ``time_unit`` period, ``margin`` the profit share of revenue (1.0: revenue).

    Returns
    -------
    DataFrame
        Indexed like ``summary``: its four columns, ``probability_alive``,
        ``expected_purchases`` (over the horizon, undiscounted),
        ``expected_average_order_value``, ``clv`` (discounted), then the history columns.
        ``attrs`` holds ``horizon``, ``time_unit``, ``discount_rate``, ``margin``,
        ``model_time_unit`` and ``n_without_history`` (customers of the summary absent
        from ``history``; their history columns are missing values).

    Raises
    ------
    ValueError
        Missing columns, or a ``history`` that shares no customer with the summary.
    TypeError
        A model without the methods needed.

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
    require_methods(bgf, TransactionModel, "bgf", "conditional_expected_purchases",
                    "probability_alive")
    cols = ["frequency", "recency", "T", "monetary_value"]
    require_columns(summary, cols, what="the summary",
                    hint="Build it with retention.rfm_summary.")
    clv = predict_clv(bgf, ggf, summary, horizon=horizon, time_unit=time_unit,
                      discount_rate=discount_rate, margin=margin,
                      model_time_unit=model_time_unit)
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
    cols = as_list(by)
    what = "the per-customer table"
    require_columns(values, [*cols, clv], what=what,
                    hint="Join the cohort and segment columns with customer_value(..., "
                    "history=customer_history(tx, segments=[...])).")
    frame = values[cols].assign(_customers=1, _clv=numeric_values(values[clv], clv, what=what))
    means = {}
    for name, col in (("expected_purchases_per_customer", expected_purchases),
                      ("probability_alive", alive)):
        if col is not None and col in values.columns:
            frame[name] = numeric_values(values[col], col, what=what)
            means[name] = "mean"
    grouped = frame.groupby(cols, sort=True, dropna=False, observed=True)
    table = grouped.agg(customers=("_customers", "sum"), clv=("_clv", "sum"),
                        **{k: (k, v) for k, v in means.items()}).reset_index()
    table["customers"] = table["customers"].astype(np.int64)
    table.insert(len(cols) + 2, "clv_per_customer", table["clv"] / table["customers"])
    total = table["clv"].sum()
    table.insert(len(cols) + 3, "share_of_clv", table["clv"] / total if total != 0 else np.nan)
    return table


def clv_schedule(
    summary: pd.DataFrame,
    transaction_model: TransactionModel,
    spend_model: SpendModel,
    *,
    horizon: int,
    time_unit: str = "M",
    discount_rate: float,
    margin: float = 1.0,
    per_customer: bool = False,
    model_time_unit: str | None = None,
    frequency: str = "frequency",
    recency: str = "recency",
    T: str = "T",
    monetary_value: str = "monetary_value",
) -> pd.DataFrame:
    """Expected purchases, revenue and discounted value in each future period.

    The cash-flow plan behind :func:`predict_clv`: period ``i`` (1 .. ``horizon``) holds the
    expected purchases ``E[X(0, i)] - E[X(0, i-1)]``, the revenue they bring (times the
    expected order value), the value (revenue times ``margin``) and that value discounted by
    ``(1 + discount_rate) ** i``. The discounted values add up to the ``clv`` of
    :func:`predict_clv` and :func:`customer_value` with the same arguments; years
    (``time_unit="Y"``) are available here only.

    Parameters
    ----------
    summary : DataFrame
        RFM summary with frequency, recency, T and monetary value, in the unit the models
        were fitted in.
    transaction_model : TransactionModel
        Fitted purchase-count model (its ``conditional_expected_purchases`` is used).
    spend_model : SpendModel
        Fitted order-value model (its ``expected_average_order_value`` is used).
    horizon : int
        Number of future periods.
    time_unit : {"M", "Y", "Q", "W", "D"}, default "M"
        Length of one period (a year is 365.25 days, a month a twelfth of it); also the period
        of ``discount_rate``.
    discount_rate : float
        Discount rate per period, a fraction (0.1 = 10% a year with ``time_unit="Y"``).
    margin : float, default 1.0
        Profit share of revenue, a fraction in [0, 1]; 1.0 makes value = revenue.
    per_customer : bool, default False
        Also split every period by customer: one row per (customer, period).
    model_time_unit, frequency, recency, T, monetary_value
        As in :func:`predict_clv`.

    Returns
    -------
    DataFrame
        Totals over the customers, one row per period: ``period``, ``expected_purchases``,
        ``revenue``, ``value``, ``discount_factor``, ``discounted_value`` and
        ``cumulative_discounted_value``. With ``per_customer`` the same columns for each
        customer, led by the customer id (the summary's index name, else ``customer_id``),
        customers in summary order and periods within. ``attrs`` as in :func:`predict_clv`
        plus ``n_customers``.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo, GammaGamma
    >>> bgf, ggf = BetaGeo(), GammaGamma()
    >>> bgf.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    >>> ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> summary = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86],
    ...                         "monetary_value": [0.0, 25.0]}, index=["a", "b"])
    >>> plan = clv_schedule(summary, bgf, ggf, horizon=3, time_unit="Y", discount_rate=0.1,
    ...                     margin=0.3, model_time_unit="W")
    >>> plan["period"].tolist()
    [1, 2, 3]
    >>> plan = clv_schedule(summary, bgf, ggf, horizon=12, time_unit="M", discount_rate=0.01,
    ...                     margin=0.3, model_time_unit="W")
    >>> clv = predict_clv(bgf, ggf, summary, horizon=12, time_unit="M", discount_rate=0.01,
    ...                   margin=0.3, model_time_unit="W")
    >>> bool(np.isclose(plan["discounted_value"].sum(), clv["clv"].sum()))
    True
    """
    flows = _cash_flows(transaction_model, spend_model, summary, horizon=horizon,
                        time_unit=time_unit, discount_rate=discount_rate, margin=margin,
                        model_time_unit=model_time_unit,
                        columns=(frequency, recency, T, monetary_value), years=True)
    purchases, aov, discount = flows["per_period"], flows["aov"], flows["discount"]
    horizon = flows["attrs"]["horizon"]
    periods = np.arange(1, horizon + 1)
    revenue = purchases * aov[:, None]
    value = flows["attrs"]["margin"] * revenue
    if per_customer:
        index = flows["index"]
        name = index.name if index.name is not None else "customer_id"
        n = len(index)
        discounted = value * discount
        out = pd.DataFrame({
            name: np.repeat(index.to_numpy(), horizon),
            "period": np.tile(periods, n),
            "expected_purchases": purchases.ravel(),
            "revenue": revenue.ravel(),
            "value": value.ravel(),
            "discount_factor": np.tile(discount, n),
            "discounted_value": discounted.ravel(),
            "cumulative_discounted_value": np.cumsum(discounted, axis=1).ravel(),
        })
    else:
        discounted = value.sum(axis=0) * discount
        out = pd.DataFrame({
            "period": periods,
            "expected_purchases": purchases.sum(axis=0),
            "revenue": revenue.sum(axis=0),
            "value": value.sum(axis=0),
            "discount_factor": discount,
            "discounted_value": discounted,
            "cumulative_discounted_value": np.cumsum(discounted),
        })
    out.attrs.update(flows["attrs"], n_customers=len(flows["index"]))
    return out


def probability_alive_at(
    model: TransactionModel,
    summary: pd.DataFrame,
    when: Any,
    *,
    observation_end: Any = None,
    model_time_unit: str | None = None,
    frequency: str = "frequency",
    recency: str = "recency",
    T: str = "T",
) -> pd.Series:
    """Probability that each customer is alive at a future time, given no purchase until then.

    The question a retention team asks of a quiet customer: if she buys nothing more, how
    likely is she still a customer in three months? Observing ``t`` more time units without a
    purchase leaves the history ``(x, t_x, T + t)``, so the answer is the model's P(alive) of
    that history. For the BG/NBD (Fader, Hardie & Lee 2005) this is Bayes' rule on the
    probability ``P_a`` of being alive at ``T``: dropout happens only at a purchase, the
    purchase rate of a live customer is ``Gamma(r + x, alpha + T)`` a posteriori, and no
    purchase in ``t`` has probability ``q = ((alpha+T)/(alpha+T+t))^(r+x)`` if alive (1 if
    not), so::

        P(alive at T+t | no purchase in (T, T+t]) = P_a q / (1 - P_a + P_a q)
            = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T+t)/(alpha+t_x))^(r+x)).

    It falls with ``t`` for repeat buyers and stays 1 for customers without a repeat
    purchase (the BG/NBD holds them alive). The same reasoning holds for every model whose
    likelihood depends on the history through ``(x, t_x, T)`` only: MBG/NBD and Pareto/NBD
    (``probability_alive`` at ``T + t``) and, in discrete time, the BG/BB (its
    ``probability_alive_at(0, x, t_x, n + t)``, ``t`` whole opportunities).

    Parameters
    ----------
    model : TransactionModel
        Fitted model with ``probability_alive`` (BetaGeo, ModifiedBetaGeo, ParetoNBD) or
        ``probability_alive_at`` (BetaGeoBetaBinom).
    summary : DataFrame
        One row per customer with frequency, recency and T.
    when : float, array-like or date-like
        Time ahead of the end of observation, in the model's time unit (one value, or one a
        customer), or a date: then ``t`` is the time from ``observation_end`` to it.
    observation_end : date-like, optional
        End of the observation of ``summary``; default ``summary.attrs["observation_end"]``
        (set by :func:`retention.rfm_summary`). Only for a date ``when``.
    model_time_unit : {"D", "W", "M", "Q"}, optional
        Unit of recency and T; default the model's ``time_unit_`` or
        ``summary.attrs["time_unit"]``. Only for a date ``when``.
    frequency, recency, T : str
        Column names.

    Returns
    -------
    Series
        Indexed like ``summary``, named ``probability_alive``.

    Raises
    ------
    ValueError
        Missing columns, impossible histories, a date before the end of observation, an
        unknown observation end or time unit, or a fractional ``when`` for the BG/BB.
    TypeError
        A model with neither method.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo
    >>> bgf = BetaGeo()
    >>> bgf.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    >>> summary = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.0], "T": [38.0, 38.0]},
    ...                        index=["a", "b"])
    >>> probability_alive_at(bgf, summary, 0).round(3).tolist()      # P(alive) now
    [1.0, 0.73]
    >>> probability_alive_at(bgf, summary, 13).round(3).tolist()     # a quarter ahead, in weeks
    [1.0, 0.598]
    >>> summary.attrs.update(observation_end="1997-09-30", time_unit="W")
    >>> probability_alive_at(bgf, summary, "1997-12-30").round(3).tolist()  # 13 weeks later
    [1.0, 0.598]
    """
    discrete = callable(getattr(model, "probability_alive_at", None))
    if not discrete:
        require_methods(model, TransactionModel, "model", "probability_alive")
    values, _, index = summary_columns(summary, {"frequency": frequency, "recency": recency,
                                                 "T": T})
    x, tx, big_t = values["frequency"], values["recency"], values["T"]
    check_histories(x, tx, big_t, index=index, names=(frequency, recency, T))
    if isinstance(when, (str, pd.Timestamp, np.datetime64)) or hasattr(when, "isoformat"):
        end = observation_end if observation_end is not None else summary.attrs.get(
            "observation_end")
        if end is None:
            raise ValueError("when is a date but the end of observation is unknown; pass "
                             "observation_end= (the summary has no attrs['observation_end']).")
        unit = _model_unit(model, summary, model_time_unit)
        days = (pd.Timestamp(when) - pd.Timestamp(end)) / pd.Timedelta(days=1)
        if days < 0:
            raise ValueError(f"when={when!r} is before the end of observation ({end}); give a "
                             "future date.")
        ahead = np.full(len(x), days / PERIOD_DAYS[unit])
    else:
        ahead = np.asarray(when.to_numpy() if isinstance(when, pd.Series) else when,
                           dtype=np.float64)
        bad = ~np.isfinite(ahead) | (ahead < 0)
        if bad.any():
            raise ValueError(f"when has {int(bad.sum())} negative, missing or infinite "
                             "value(s); give the time ahead (>= 0) in the model's time unit.")
        ahead = np.broadcast_to(ahead, x.shape)
    if discrete:
        if np.any(ahead != np.round(ahead)):
            raise ValueError(f"{type(model).__name__} counts whole transaction opportunities; "
                             "when must be a whole number of them.")
        out = model.probability_alive_at(0, x, tx, big_t + ahead)
    else:
        out = model.probability_alive(x, tx, big_t + ahead)
    return pd.Series(np.asarray(out, dtype=float), index=index, name="probability_alive")
