"""What-if arithmetic of retention: the value of a customer, the effect of more retention,
LTV / CAC, payback, and the cost of keeping versus winning customers.

All rates are fractions per period (0.8 = 80% of customers stay from one period to the next;
0.1 = 10% discount rate per period); a period is whatever the inputs are stated in (a month,
a year). The customer model is the textbook one (Gupta & Lehmann, Berger & Nasr): a customer
yields ``margin`` in each period they are still a customer, they stay from one period to the
next with probability ``retention``, and money of period t is worth ``1 / (1 + d) ** t``
today.

Timing convention (argument ``timing``):

* ``"start"`` (default): margins are paid at the start of each period, the first one at
  t = 0 (just acquired, so certain): value = m * sum_{t=0}^{H-1} r^t / (1+d)^t, which for an
  infinite horizon is m * (1 + d) / (1 + d - r);
* ``"end"``: margins are paid at the end of each period survived: value =
  m * sum_{t=1}^{H} r^t / (1+d)^t, for an infinite horizon m * r / (1 + d - r), the margin
  multiplier of :func:`retention.margin_multiplier_clv`.

Two popular claims can be checked against the arithmetic and the analyst's numbers:
"5 points more retention raise profit by 25% to 95%" (Reichheld & Sasser 1990;
:func:`retention_uplift`, :func:`retention_claim_grid`) and "keeping a customer costs 5 to
25 times less than winning a new one" (:func:`acquisition_vs_retention_cost`). Both hold for
some inputs and fail for others; the functions say which.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from retention.checks import as_list, is_real, is_whole

__all__ = [
    "CostComparison",
    "RetentionUplift",
    "acquisition_vs_retention_cost",
    "ltv_cac",
    "payback_period",
    "retention_claim_grid",
    "retention_uplift",
    "retention_value",
]

_TIMINGS = ("start", "end")


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------


def _real(name: str, value: Any) -> float:
    if not is_real(value):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return float(value)


def _nonnegative(name: str, value: Any) -> float:
    value = _real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}.")
    return value


def _retention(name: str, value: Any) -> float:
    if not is_real(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if not 0 <= value <= 1:
        raise ValueError(
            f"{name} is a fraction of customers kept per period, in [0, 1]; got {value!r} "
            "(use 0.8 for 80%)."
        )
    return float(value)


def _discount(value: Any) -> float:
    value = _real("discount_rate", value)
    if value <= -1:
        raise ValueError(f"discount_rate must be above -1 (a fraction per period), got {value!r}.")
    return value


def _horizon(value: Any) -> float:
    """A whole number of periods >= 0, or infinity."""
    if value is None or (is_real(value) and value == math.inf):
        return math.inf
    if is_whole(value) or (is_real(value) and float(value).is_integer()):
        if value < 0:
            raise ValueError(f"horizon must be a whole number of periods >= 0, got {value!r}.")
        return float(value)
    raise ValueError(
        f"horizon must be a whole number of periods >= 0 or math.inf, got {value!r}."
    )


def _timing(value: Any) -> str:
    if value not in _TIMINGS:
        raise ValueError(f"timing must be 'start' or 'end', got {value!r}.")
    return value


def _converges(retention: float, discount_rate: float, horizon: float, arg: str = "retention"
               ) -> None:
    if horizon == math.inf and retention >= 1 + discount_rate:
        raise ValueError(
            f"with an infinite horizon the value is finite only when {arg} < 1 + "
            f"discount_rate; got {arg}={retention!r}, discount_rate={discount_rate!r}. Give a "
            "finite horizon."
        )


def _value(m: Any, r: Any, d: Any, h: Any, timing: str) -> np.ndarray:
    """Vectorised discounted value (inputs already checked)."""
    m, r, d, h = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (m, r, d, h)))
    q = r / (1.0 + d)
    finite = np.isfinite(h)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q_h = np.where(finite, q ** np.where(finite, h, 0.0), 0.0)
        series = np.where(np.isclose(q, 1.0, rtol=0, atol=1e-15), h, (1.0 - q_h) / (1.0 - q))
    first = np.where(timing == "end", q, 1.0)
    return m * first * series


# --------------------------------------------------------------------------------------------
# value of a customer
# --------------------------------------------------------------------------------------------


def retention_value(
    margin: float,
    retention: float,
    discount_rate: float,
    horizon: float = math.inf,
    *,
    timing: str = "start",
) -> float:
    """Expected discounted profit of one customer over ``horizon`` periods.

    ``margin * sum_t retention**t / (1 + discount_rate)**t`` over t = 0 .. horizon-1
    (``timing="start"``) or t = 1 .. horizon (``timing="end"``).

    Parameters
    ----------
    margin : float
        Profit (contribution) per period from an active customer.
    retention : float
        Share of customers kept from one period to the next, in [0, 1].
    discount_rate : float
        Discount rate per period (0.1 = 10%), above -1.
    horizon : int or math.inf, default math.inf
        Number of periods counted (0 gives 0).
    timing : {"start", "end"}, default "start"
        Margins paid at the start of each period (the first one, at acquisition, certain)
        or at the end of each period survived (see the module notes).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A retention outside [0, 1], a discount rate <= -1, a negative or fractional
        horizon, or an infinite horizon whose sum diverges (retention >= 1 + discount_rate).

    Examples
    --------
    Margin 100, 80% retention, 10% discount rate. Three periods, margins at the start:
    100 + 100 * 0.8 / 1.1 + 100 * 0.8**2 / 1.1**2 = 100 + 72.73 + 52.89:

    >>> round(retention_value(100, 0.8, 0.1, 3), 2)
    225.62

    For ever, the closed form 100 * 1.1 / (1.1 - 0.8):

    >>> round(retention_value(100, 0.8, 0.1), 2)
    366.67
    >>> round(retention_value(100, 0.8, 0.1, timing="end"), 2)  # 100 * 0.8 / 0.3
    266.67
    """
    m = _real("margin", margin)
    r = _retention("retention", retention)
    d = _discount(discount_rate)
    h = _horizon(horizon)
    timing = _timing(timing)
    _converges(r, d, h)
    return float(_value(m, r, d, h, timing))


class RetentionUplift(NamedTuple):
    """Effect of a change in retention (see :func:`retention_uplift`).

    Attributes
    ----------
    retention_before, retention_after : float
    value_before, value_after : float
        Discounted value of one customer (:func:`retention_value`).
    value_uplift : float
        ``value_after / value_before - 1`` (NaN when ``value_before`` is 0).
    profit_before, profit_after : float
        Profit of the cohort: ``cohort_size * (value - acquisition_cost)``.
    profit_uplift : float
        ``profit_after / profit_before - 1``: the ratio the "5 points of retention raise
        profit by 25-95%" claim is about. NaN when ``profit_before`` <= 0 (no profit to
        raise).
    """

    retention_before: float
    retention_after: float
    value_before: float
    value_after: float
    value_uplift: float
    profit_before: float
    profit_after: float
    profit_uplift: float

    def supports_claim(self, low: float = 0.25, high: float = 0.95) -> bool:
        """Whether ``profit_uplift`` lies in ``[low, high]`` (default the 25-95% claim).

        Examples
        --------
        >>> retention_uplift(100, 0.8, 0.05, 0.1, 10).supports_claim()
        False
        """
        return bool(low <= self.profit_uplift <= high)


def retention_uplift(
    margin: float,
    retention: float,
    delta: float,
    discount_rate: float,
    horizon: float = math.inf,
    *,
    acquisition_cost: float = 0.0,
    cohort_size: float = 1.0,
    timing: str = "start",
) -> RetentionUplift:
    """Effect of ``delta`` more retention on the value of a customer and the profit of a cohort.

    Parameters
    ----------
    margin, retention, discount_rate, horizon, timing
        As in :func:`retention_value`.
    delta : float
        Change of retention in absolute points: 0.05 takes 0.80 to 0.85. The new retention
        must stay in [0, 1].
    acquisition_cost : float, default 0
        Cost of acquiring one customer, paid once at t = 0; it is the same before and after,
        so it lowers the base profit and raises the relative uplift.
    cohort_size : float, default 1
        Customers in the cohort (scales both profits, not the ratios).

    Returns
    -------
    RetentionUplift

    Examples
    --------
    Margin 100, retention 0.80 -> 0.85, discount 10%, for ever, margins at the start:
    value 100 * 1.1 / 0.30 = 366.67 -> 100 * 1.1 / 0.25 = 440, i.e. +20%. With an
    acquisition cost of 200, the cohort's profit goes from 166.67 to 240: +44%.

    >>> u = retention_uplift(100, 0.80, 0.05, 0.1, acquisition_cost=200)
    >>> round(u.value_uplift, 3), round(u.profit_uplift, 3), u.supports_claim()
    (0.2, 0.44, True)
    """
    m = _real("margin", margin)
    r = _retention("retention", retention)
    dr = _real("delta", delta)
    if not 0 <= r + dr <= 1:
        raise ValueError(
            f"delta={delta!r} takes retention {r!r} to {r + dr!r}, outside [0, 1]; delta is in "
            "absolute points (0.05 = 5 points)."
        )
    d = _discount(discount_rate)
    h = _horizon(horizon)
    timing = _timing(timing)
    cac = _nonnegative("acquisition_cost", acquisition_cost)
    size = _nonnegative("cohort_size", cohort_size)
    _converges(r, d, h)
    _converges(r + dr, d, h, arg="retention + delta")
    before, after = _value(m, [r, r + dr], d, h, timing)
    return _uplift(r, r + dr, float(before), float(after), cac, size)


def _uplift(r0: float, r1: float, v0: float, v1: float, cac: float, size: float
            ) -> RetentionUplift:
    p0, p1 = size * (v0 - cac), size * (v1 - cac)
    return RetentionUplift(
        retention_before=r0,
        retention_after=r1,
        value_before=v0,
        value_after=v1,
        value_uplift=v1 / v0 - 1 if v0 != 0 else math.nan,
        profit_before=p0,
        profit_after=p1,
        profit_uplift=p1 / p0 - 1 if p0 > 0 else math.nan,
    )


# --------------------------------------------------------------------------------------------
# LTV / CAC and payback
# --------------------------------------------------------------------------------------------


def ltv_cac(ltv: float, cac: float) -> float:
    """Lifetime value over customer acquisition cost.

    A common rule of thumb asks for about 3 (a customer returns three times what they
    cost); below 1 each new customer loses money.

    Parameters
    ----------
    ltv : float
        Lifetime value of a customer (e.g. :func:`retention_value`), same currency as cac.
    cac : float
        Acquisition cost per customer, > 0.

    Returns
    -------
    float

    Examples
    --------
    >>> ltv_cac(360.0, 120.0)
    3.0
    >>> ltv_cac(300, 0)
    Traceback (most recent call last):
    ...
    ValueError: cac must be > 0 (a cost per acquired customer), got 0.
    """
    value = _real("ltv", ltv)
    cost = _real("cac", cac)
    if cost <= 0:
        raise ValueError(f"cac must be > 0 (a cost per acquired customer), got {cac!r}.")
    return value / cost


def payback_period(
    margin_per_period: float,
    cac: float,
    retention: float,
    discount_rate: float = 0.0,
    *,
    timing: str = "start",
) -> float:
    """Periods until a customer's expected discounted margin first covers the acquisition cost.

    The smallest whole number ``n`` with
    ``margin * sum_{t < n} retention**t / (1 + d)**t >= cac`` (``timing="start"``; with
    ``"end"`` the sum runs over t = 1 .. n). ``math.inf`` when it never does: the
    infinite-horizon value (:func:`retention_value`) does not exceed ``cac``.

    Parameters
    ----------
    margin_per_period : float
        Margin of an active customer per period.
    cac : float
        Acquisition cost per customer, >= 0 (0 pays back at once: 0 periods).
    retention : float
        Share kept per period, in [0, 1].
    discount_rate : float, default 0
        Discount rate per period, above -1.
    timing : {"start", "end"}, default "start"
        See the module notes.

    Returns
    -------
    float
        A whole number of periods, or ``math.inf``.

    Examples
    --------
    Margin 100, cost 250, retention 0.8, no discounting: expected cumulative margin
    100, 180, 244, 295.2 after 1, 2, 3, 4 periods, so 4 periods; with margins at the end of
    each period 80, 144, 195.2, 236.2, 268.9: 5 periods.

    >>> payback_period(100, 250, 0.8)
    4.0
    >>> payback_period(100, 250, 0.8, timing="end")
    5.0
    >>> payback_period(100, 600, 0.8)  # at most 100 / 0.2 = 500 in expectation
    inf
    """
    m = _real("margin_per_period", margin_per_period)
    cost = _nonnegative("cac", cac)
    r = _retention("retention", retention)
    d = _discount(discount_rate)
    timing = _timing(timing)
    if cost == 0:
        return 0.0
    q = r / (1 + d)
    a = m * (q if timing == "end" else 1.0)  # first term
    if a <= 0:
        return math.inf
    if q >= 1:
        n = math.ceil(cost / a)
    elif q == 0:
        return 1.0 if a >= cost else math.inf
    else:
        limit = a / (1 - q)
        if limit <= cost * (1 + 1e-9):  # reached only in the limit (up to rounding): never
            return math.inf
        n = max(1, math.ceil(math.log(1 - cost * (1 - q) / a) / math.log(q)))

    def cumulative(k: int) -> float:
        return float(_value(m, r, d, k, timing))

    # guard against rounding at the boundary
    while n > 1 and cumulative(n - 1) >= cost:
        n -= 1
    while cumulative(n) < cost:
        n += 1
    return float(n)


# --------------------------------------------------------------------------------------------
# keeping versus winning
# --------------------------------------------------------------------------------------------


class CostComparison(NamedTuple):
    """Cost of winning versus keeping a customer (see :func:`acquisition_vs_retention_cost`).

    Attributes
    ----------
    cost_per_acquired : float
        Acquisition spend per customer won.
    cost_per_retained : float
        Retention spend per customer kept *because of* it (inf when it kept none).
    ratio : float
        ``cost_per_acquired / cost_per_retained``: how many times cheaper keeping is.
    claim_low, claim_high : float
        The claimed range (5 and 25 by default).
    verdict : str
        ``"below"``, ``"within"`` or ``"above"`` the claimed range.
    """

    cost_per_acquired: float
    cost_per_retained: float
    ratio: float
    claim_low: float
    claim_high: float
    verdict: str


def acquisition_vs_retention_cost(
    *,
    acquisition_spend: float,
    customers_acquired: float,
    retention_spend: float,
    customers_retained: float,
    retained_without_spend: float = 0.0,
    claim: tuple[float, float] = (5.0, 25.0),
) -> CostComparison:
    """Test "keeping a customer costs 5-25x less than winning one" on the analyst's numbers.

    The cost of keeping a customer is the retention spend divided by the customers it kept
    who would otherwise have left: ``customers_retained - retained_without_spend`` (e.g. from
    a control group). Counting every customer who stayed makes retention look cheaper than it
    is, because most of them would have stayed anyway.

    Parameters
    ----------
    acquisition_spend : float
        Spend on winning new customers over a period (>= 0).
    customers_acquired : float
        New customers won with it (> 0).
    retention_spend : float
        Spend on keeping customers over the same period (>= 0).
    customers_retained : float
        Customers kept among those targeted (>= 0).
    retained_without_spend : float, default 0
        How many of them would have stayed without the spend (e.g. the targeted count times
        the retention of an untreated control group).
    claim : (float, float), default (5, 25)
        The claimed range of ``cost_per_acquired / cost_per_retained``.

    Returns
    -------
    CostComparison

    Examples
    --------
    50,000 spent to win 500 customers (100 each); 20,000 spent on 2,000 customers of whom
    1,800 stayed, against 1,600 expected without the campaign: 200 kept for 100 each. Keeping
    is not cheaper at all here (ratio 1); counting all 1,800 would have claimed 9x.

    >>> c = acquisition_vs_retention_cost(acquisition_spend=50_000, customers_acquired=500,
    ...                                   retention_spend=20_000, customers_retained=1_800,
    ...                                   retained_without_spend=1_600)
    >>> c.cost_per_acquired, c.cost_per_retained, c.ratio, c.verdict
    (100.0, 100.0, 1.0, 'below')
    """
    acq = _nonnegative("acquisition_spend", acquisition_spend)
    won = _real("customers_acquired", customers_acquired)
    if won <= 0:
        raise ValueError(f"customers_acquired must be > 0, got {customers_acquired!r}.")
    spend = _nonnegative("retention_spend", retention_spend)
    kept = _nonnegative("customers_retained", customers_retained)
    base = _nonnegative("retained_without_spend", retained_without_spend)
    low, high = _claim(claim, "claim")
    per_acquired = acq / won
    extra = kept - base
    if extra <= 0:
        per_retained = math.inf if spend > 0 else 0.0
    else:
        per_retained = spend / extra
    if per_retained == 0:
        ratio = math.inf if per_acquired > 0 else math.nan
    else:
        ratio = per_acquired / per_retained
    return CostComparison(per_acquired, per_retained, ratio, low, high, _verdict(ratio, low, high))


def _claim(claim: Any, name: str) -> tuple[float, float]:
    if not (isinstance(claim, Sequence) and len(claim) == 2):
        raise ValueError(f"{name} must be a (low, high) pair, got {claim!r}.")
    low, high = _real(f"{name}[0]", claim[0]), _real(f"{name}[1]", claim[1])
    if low > high:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {claim!r}.")
    return low, high


def _verdict(value: float, low: float, high: float) -> str:
    if math.isnan(value):
        return "undefined"
    return "below" if value < low else "above" if value > high else "within"


# --------------------------------------------------------------------------------------------
# where a claim holds
# --------------------------------------------------------------------------------------------


def retention_claim_grid(
    margins: float | Sequence[float],
    retention: float | Sequence[float],
    horizons: float | Sequence[float],
    *,
    delta: float = 0.05,
    discount_rate: float | Sequence[float] = 0.1,
    acquisition_cost: float | Sequence[float] = 0.0,
    claim: tuple[float, float] = (0.25, 0.95),
    timing: str = "start",
) -> pd.DataFrame:
    """Where "``delta`` more retention raises profit by 25-95%" holds, over a grid of inputs.

    Every combination of margin, retention, horizon, discount rate and acquisition cost is
    one row, evaluated with :func:`retention_uplift`.

    Parameters
    ----------
    margins, retention, horizons : float or sequence
        Values to combine (horizons may include ``math.inf``).
    delta : float, default 0.05
        Retention change in absolute points.
    discount_rate, acquisition_cost : float or sequence
        Scalars or values to combine.
    claim : (float, float), default (0.25, 0.95)
        Claimed range of the profit uplift.
    timing : {"start", "end"}
        See the module notes.

    Returns
    -------
    DataFrame
        One row per combination (in the order margin, retention, horizon, discount_rate,
        acquisition_cost): those five inputs, ``retention_after``, ``value_before``,
        ``value_after``, ``value_uplift``, ``profit_before``, ``profit_after`` (per
        customer), ``profit_uplift``, ``verdict`` ("below", "within", "above", or
        "undefined" when there is no profit before) and ``holds`` (verdict == "within").
        ``attrs``: ``delta``, ``claim_low``, ``claim_high``, ``timing``.

    Notes
    -----
    Without an acquisition cost the margin cancels out of the uplift: only retention, the
    discount rate and the horizon matter. The claim needs high retention, long horizons or
    an acquisition cost that eats most of the base profit.

    Examples
    --------
    >>> g = retention_claim_grid(100, [0.6, 0.8, 0.9], [5, math.inf])
    >>> g[["retention", "horizon", "profit_uplift", "verdict"]].round(3)
       retention  horizon  profit_uplift verdict
    0        0.6      5.0          0.083   below
    1        0.6      inf          0.111   below
    2        0.8      5.0          0.091   below
    3        0.8      inf          0.200   below
    4        0.9      5.0          0.094   below
    5        0.9      inf          0.333  within
    """
    delta = _real("delta", delta)
    low, high = _claim(claim, "claim")
    timing = _timing(timing)
    axes = {
        "margin": [_real("margins", m) for m in as_list(margins)],
        "retention": [_retention("retention", r) for r in as_list(retention)],
        "horizon": [_horizon(h) for h in as_list(horizons)],
        "discount_rate": [_discount(d) for d in as_list(discount_rate)],
        "acquisition_cost": [_nonnegative("acquisition_cost", c)
                             for c in as_list(acquisition_cost)],
    }
    for name, values in axes.items():
        if not values:
            raise ValueError(f"{name}: give at least one value.")
    for r in axes["retention"]:
        if not 0 <= r + delta <= 1:
            raise ValueError(
                f"delta={delta!r} takes retention {r!r} to {r + delta!r}, outside [0, 1]."
            )
    for r, d, h in itertools.product(axes["retention"], axes["discount_rate"], axes["horizon"]):
        _converges(r, d, h)
        _converges(r + delta, d, h, arg="retention + delta")
    rows = pd.DataFrame(list(itertools.product(*axes.values())), columns=list(axes))
    m, r, h = rows["margin"], rows["retention"], rows["horizon"]
    d, cac = rows["discount_rate"], rows["acquisition_cost"]
    v0 = _value(m, r, d, h, timing)
    v1 = _value(m, r + delta, d, h, timing)
    rows["retention_after"] = r + delta
    rows["value_before"], rows["value_after"] = v0, v1
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["value_uplift"] = np.where(v0 != 0, v1 / v0 - 1, np.nan)
        p0, p1 = v0 - cac.to_numpy(), v1 - cac.to_numpy()
        rows["profit_before"], rows["profit_after"] = p0, p1
        rows["profit_uplift"] = np.where(p0 > 0, p1 / p0 - 1, np.nan)
    rows["verdict"] = [_verdict(u, low, high) for u in rows["profit_uplift"]]
    rows["holds"] = rows["verdict"] == "within"
    rows.attrs.update(delta=delta, claim_low=low, claim_high=high, timing=timing)
    return rows
