"""Customer lifetime value from a fitted purchase-count model and an order-value model.

:func:`predict_clv` (discounted CLV), :func:`customer_value` (one row per customer with
P(alive)) and :func:`predicted_value` (its totals per cohort or segment).

For each customer, the expected purchases in each of ``horizon`` future periods (differences
of the model's conditional expectation) times the expected order value, discounted at
``discount_rate`` per period:

    CLV = sum_{i=1..horizon} (E[X(0, i)] - E[X(0, i-1)]) * E[M] / (1 + d)^i

as in lifetimes' ``customer_lifetime_value``. (Not to be confused with the scalar seed
formula :func:`retention.customer_lifetime_value`.) The models may be
:class:`~retention.models.BetaGeo` and :class:`~retention.models.GammaGamma` or any objects
with the methods of :class:`~retention.models.base.TransactionModel` and
:class:`~retention.models.base.SpendModel`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from retention.checks import as_list, numeric_values, require_columns, whole_number
from retention.models.base import SpendModel, TransactionModel, require_methods, summary_columns
from retention.periods import PERIOD_DAYS, normalize_freq

__all__ = ["customer_value", "predict_clv", "predicted_value"]


def predict_clv(
    bgf: TransactionModel,
    ggf: SpendModel,
    summary: pd.DataFrame,
    *,
    horizon: int = 12,
    time_unit: str = "M",
    discount_rate: float = 0.01,
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
        quarters are 365.25/12 and 365.25/4 days.
    discount_rate : float, default 0.01
        Discount rate per ``time_unit`` period (a fraction: 0.01 = 1% a month); cash flows of
        period i are divided by ``(1 + discount_rate) ** i``.
    model_time_unit : {"D", "W", "M", "Q"}, optional
        Time unit of recency / T (and so of ``bgf``). Default: ``bgf.time_unit_`` or
        ``summary.attrs["time_unit"]``, both set when the data came from ``rfm_summary``.
    frequency, recency, T, monetary_value : str
        Column names.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``expected_purchases`` (undiscounted, over the horizon),
        ``expected_average_order_value`` and ``clv`` (discounted).

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
    """
    require_methods(bgf, TransactionModel, "bgf", "conditional_expected_purchases")
    require_methods(ggf, SpendModel, "ggf")
    horizon = whole_number("horizon", horizon, what="a positive whole number of periods")
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise ValueError(f"discount_rate must be a fraction above -1, got {discount_rate!r}.")
    unit = normalize_freq(time_unit)
    model_unit = model_time_unit or getattr(bgf, "time_unit_", None) or summary.attrs.get(
        "time_unit")
    if model_unit is None:
        raise ValueError(
            "the time unit of recency and T is unknown; pass model_time_unit= ('D', 'W', 'M' "
            "or 'Q'), the unit the BG/NBD model was fitted in."
        )
    model_unit = normalize_freq(model_unit)
    values, _, index = summary_columns(
        summary, {"frequency": frequency, "recency": recency, "T": T,
                  "monetary_value": monetary_value}
    )
    x, tx, big_t = values["frequency"], values["recency"], values["T"]
    step = PERIOD_DAYS[unit] / PERIOD_DAYS[model_unit]
    ends = step * np.arange(1, horizon + 1)
    cumulative = np.column_stack(
        [np.zeros(len(x))]
        + [bgf.conditional_expected_purchases(e, x, tx, big_t) for e in ends]
    )
    per_period = np.diff(cumulative, axis=1)
    discount = (1.0 + discount_rate) ** -np.arange(1, horizon + 1)
    aov = ggf.expected_average_order_value(x, values["monetary_value"])
    out = pd.DataFrame(
        {
            "expected_purchases": cumulative[:, -1],
            "expected_average_order_value": aov,
            "clv": (per_period @ discount) * aov,
        },
        index=index,
    )
    out.attrs.update(horizon=horizon, time_unit=unit, discount_rate=float(discount_rate),
                     model_time_unit=model_unit)
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
    horizon, time_unit, discount_rate, model_time_unit
        As in :func:`predict_clv`: ``horizon`` periods of ``time_unit``, ``discount_rate``
        per ``time_unit`` period.

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
