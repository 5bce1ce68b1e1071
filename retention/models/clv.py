"""Discounted customer lifetime value from a fitted BG/NBD and Gamma-Gamma pair.

For each customer, the expected purchases in each of ``horizon`` future periods (differences
of the BG/NBD conditional expectation) times the Gamma-Gamma expected order value, discounted
at ``discount_rate`` per period:

    CLV = sum_{i=1..horizon} (E[X(0, i)] - E[X(0, i-1)]) * E[M] / (1 + d)^i

as in lifetimes' ``customer_lifetime_value``. (Not to be confused with the scalar seed
formula :func:`retention.customer_lifetime_value`.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention.periods import PERIOD_DAYS, normalize_freq
from retention.models.base import summary_columns
from retention.models.betageo import BetaGeo
from retention.models.gammagamma import GammaGamma

__all__ = ["predict_clv"]


def predict_clv(
    bgf: BetaGeo,
    ggf: GammaGamma,
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
    bgf : BetaGeo
        Fitted purchase-count model.
    ggf : GammaGamma
        Fitted order-value model.
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
        Time unit of recency / T (and so of the BG/NBD). Default: ``bgf.time_unit_`` or
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
    if not isinstance(bgf, BetaGeo) or not isinstance(ggf, GammaGamma):
        raise TypeError("predict_clv needs a fitted BetaGeo (bgf) and a fitted GammaGamma (ggf).")
    bgf._check_fitted()
    ggf._check_fitted()
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a positive whole number of periods, got {horizon!r}.")
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
    out.attrs.update(horizon=horizon, time_unit=unit, discount_rate=discount_rate,
                     model_time_unit=model_unit)
    return out
