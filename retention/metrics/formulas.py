"""The seed formulas of retention analysis: scalar in, scalar out.

Rates are fractions (0.40, not 40). Every function checks its inputs and raises a
:class:`ValueError` that names the offending argument, so a typo in a spreadsheet-style
calculation fails loudly instead of returning a plausible-looking number.
"""

from __future__ import annotations

import math
from numbers import Real

from retention.checks import fraction, whole_number


def _number(name: str, value: object, *, positive: bool = False) -> float:
    """Validate one argument: a finite real number, non-negative (or positive)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}.")
    if positive and value == 0:
        raise ValueError(f"{name} must be greater than zero (it is a denominator), got 0.")
    return value


def retention_rate(*, start: float, end: float, new: float) -> float:
    """Customer retention rate, CRR = (E − N) / S.

    Parameters
    ----------
    start : float
        S, customers at the start of the period.
    end : float
        E, customers at the end of the period.
    new : float
        N, customers acquired during the period.

    Returns
    -------
    float
        The share of the starting customers still there at the end (a fraction).

    Notes
    -----
    The formula assumes every customer counted in E who is not new was also in S. Customers
    who lapse and come back inside the period are counted as retained; see
    :func:`retention.period_metrics` for the exact share alongside the formula.

    Examples
    --------
    >>> retention_rate(start=1000, end=800, new=400)
    0.4
    >>> retention_rate(start=500, end=520, new=100)
    0.84
    """
    s = _number("start", start, positive=True)
    e = _number("end", end)
    n = _number("new", new)
    if n > e:
        raise ValueError(
            f"new ({new!r}) cannot exceed end ({end!r}): new customers are part of the end count."
        )
    if e - n > s:
        raise ValueError(
            f"end − new = {e - n!r} exceeds start ({start!r}): more customers retained than "
            "there were at the start; check that new customers are counted in new."
        )
    return (e - n) / s


def churn_rate(*, start: float, lost: float) -> float:
    """Churn rate = customers lost during the period / customers at its start.

    Examples
    --------
    >>> churn_rate(start=1000, lost=50)
    0.05
    """
    s = _number("start", start, positive=True)
    lost_ = _number("lost", lost)
    if lost_ > s:
        raise ValueError(f"lost ({lost!r}) cannot exceed start ({start!r}).")
    return lost_ / s


def repeat_customer_rate(*, returning: float, total: float) -> float:
    """Repeat-customer rate = customers with more than one purchase / all customers.

    Examples
    --------
    >>> repeat_customer_rate(returning=200, total=800)
    0.25
    """
    t = _number("total", total, positive=True)
    r = _number("returning", returning)
    if r > t:
        raise ValueError(f"returning ({returning!r}) cannot exceed total ({total!r}).")
    return r / t


def purchase_frequency(*, orders: float, customers: float) -> float:
    """Purchase frequency = orders / customers over the same period.

    Examples
    --------
    >>> purchase_frequency(orders=1000, customers=250)
    4.0
    """
    return _number("orders", orders) / _number("customers", customers, positive=True)


def average_order_value(*, revenue: float, orders: float) -> float:
    """Average order value (AOV) = revenue / orders.

    Revenue may be net of refunds but must not be negative overall.

    Examples
    --------
    >>> average_order_value(revenue=5000, orders=200)
    25.0
    """
    return _number("revenue", revenue) / _number("orders", orders, positive=True)


def customer_lifetime_value(
    *, average_order_value: float, purchase_frequency: float, lifespan: float
) -> float:
    """Simple historical CLV = AOV × purchase frequency × lifespan.

    ``purchase_frequency`` and ``lifespan`` must use the same time unit (orders per year and
    years, say). The formula ignores discounting and margin; see :func:`margin_multiplier_clv`
    and the BG/NBD + Gamma-Gamma models for the forward-looking versions.

    Examples
    --------
    >>> customer_lifetime_value(average_order_value=50, purchase_frequency=4, lifespan=3)
    600.0
    """
    return (
        _number("average_order_value", average_order_value)
        * _number("purchase_frequency", purchase_frequency)
        * _number("lifespan", lifespan)
    )


def annualize_churn(rate: float, periods: int = 12) -> float:
    """Compound a per-period churn rate over ``periods`` periods: 1 − (1 − rate) ** periods.

    A 5% monthly churn is not 60% a year but 46%, because each month's churn applies
    only to the customers who survived the previous months.

    Examples
    --------
    >>> round(annualize_churn(0.05), 4)
    0.4596
    """
    rate = fraction("rate", rate)
    periods = whole_number("periods", periods)
    return 1 - (1 - rate) ** periods


def margin_multiplier_clv(*, margin: float, retention: float, discount_rate: float) -> float:
    """CLV with an infinite horizon and constant retention: m · r / (1 + d − r).

    Gupta & Lehmann's margin multiplier: ``margin`` is the contribution per customer per
    period, paid at the end of each period the customer survives; ``retention`` r and
    ``discount_rate`` d are per period.

    Examples
    --------
    >>> margin_multiplier_clv(margin=100, retention=0.8, discount_rate=0.1)
    266.66666666666663
    """
    m = _number("margin", margin)
    r = fraction("retention", retention)
    d = _number("discount_rate", discount_rate)
    if 1 + d - r <= 0:
        raise ValueError("1 + discount_rate − retention must be positive.")
    return m * r / (1 + d - r)
