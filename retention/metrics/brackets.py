"""Bracketed retention: "bought again between lo and hi days (weeks, months) after the first
purchase", per acquisition cohort.

The cohort grain and the measurement grain are separate: customers are grouped by the
calendar period of their first purchase (``cohort_freq``), while the age of a later purchase
is measured in whole units (``unit``) from each customer's own first purchase. Monthly
cohorts measured weekly are ``cohort_freq="M", unit="W", brackets=((1, 1), (2, 2), ...)``.

Definitions
-----------
Purchase
    A row with revenue >= 0 (:func:`retention.engine.frame.is_purchase`); refunds never
    acquire a customer and never count as a return.
Return filter (``returns``)
    Which purchases count as a return: a mapping ``{column: value or list of values}`` (all
    conditions must hold) or a boolean Series aligned with ``tx``. With
    ``acquisition="any"`` the cohort is set by the first purchase of any kind; with
    ``acquisition="filtered"`` by the first purchase that matches the filter (earlier
    purchases of other kinds are ignored).
First purchase
    The earliest acquiring purchase of a customer (earliest timestamp, then earliest row);
    the ``by`` segment values are read on that row.
Return purchase
    A purchase matching the filter and dated strictly after the first purchase (rows at the
    same timestamp, e.g. other lines of the first order, are not returns).
Age
    Whole units from the day of the first purchase to the day of the return (times of day
    are ignored): ``"D"`` calendar days; ``"W"`` ``days // 7``; ``"M"`` the largest k with
    ``first + k months <= return`` (a first purchase on the 31st reaches its next month on the
    last day of a shorter month, as :class:`pandas.DateOffset` does).
Bracket ``(lo, hi)``
    Ages ``lo..hi`` inclusive. Brackets may overlap; they are reported in the order given.
Observability (eligible customers)
    The data cover every day up to ``end`` (default: the day of the last row of the log,
    refunds included); rows after ``end`` are not used. A customer is *eligible* for a
    bracket when its whole window is observed: the last day of age ``hi`` (first purchase day
    + ``hi`` days; + ``7 * hi + 6`` days for weeks; one day before first purchase + ``hi + 1``
    months for months) is on or before ``end``. Only eligible customers count, in the
    numerator and the denominator: ``retention = retained / eligible``, NaN (not 0) when no
    customer of the cohort is eligible. ``cohort_size`` counts every customer of the cohort.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from retention.checks import (
    amount_values,
    as_list,
    bad_rows,
    date_values,
    encode_customers,
    examples,
    is_whole,
    json_value,
    naive_timestamp,
    require_columns,
)
from retention.engine import lazy
from retention.engine.frame import AMOUNT, CUSTOMER, DATE, is_purchase
from retention.periods import normalize_freq, period_codes, period_labels

#: Measurement units of the brackets.
UNITS = ("D", "W", "M")
ACQUISITION = ("any", "filtered")
#: Default brackets, in days: the first three days, the rest of the first week, week two,
#: the rest of the first month.
DEFAULT_BRACKETS = ((1, 3), (4, 7), (8, 14), (15, 30))
#: Output columns after the segment columns.
COLUMNS = (
    "cohort",
    "bracket",
    "bracket_start",
    "bracket_end",
    "cohort_size",
    "eligible",
    "retained",
    "retention",
)
_UNIT_WORDS = {"D": ("day", "days"), "W": ("week", "weeks"), "M": ("month", "months")}


# --------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------


def check_brackets(brackets: Any) -> list[tuple[int, int]]:
    """The brackets as a list of ``(lo, hi)`` integer pairs, or a ValueError naming the bad one.

    Each bound is a whole number with ``0 <= lo <= hi``. Brackets may overlap; the same
    bracket twice is refused.

    Examples
    --------
    >>> check_brackets([(1, 3), (2, 7)])
    [(1, 3), (2, 7)]
    >>> check_brackets([(1, 3), (7, 4)])
    Traceback (most recent call last):
    ...
    ValueError: bracket (7, 4) (position 1): lo=7 is greater than hi=4; write it as (4, 7).
    """
    if isinstance(brackets, str | bytes) or not isinstance(brackets, Sequence):
        raise ValueError(
            f"brackets must be a sequence of (lo, hi) pairs such as ((1, 3), (4, 7)), "
            f"got {brackets!r}."
        )
    if len(brackets) == 0:
        raise ValueError("brackets is empty; pass at least one (lo, hi) pair.")
    out: list[tuple[int, int]] = []
    for i, pair in enumerate(brackets):
        where = f"bracket {pair!r} (position {i})"
        if isinstance(pair, str | bytes) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(
                f"{where} is not a (lo, hi) pair; brackets must be a sequence of pairs such as "
                "((1, 3), (4, 7)) (one bracket: ((1, 3),))."
            )
        lo, hi = pair
        for name, bound in (("lo", lo), ("hi", hi)):
            if not is_whole(bound):
                raise ValueError(
                    f"{where}: {name}={bound!r} is not a whole number; bounds count whole units."
                )
        if lo < 0:
            raise ValueError(f"{where}: lo={lo} is negative; ages start at 0.")
        if lo > hi:
            raise ValueError(
                f"{where}: lo={lo} is greater than hi={hi}; write it as ({hi}, {lo})."
            )
        if (int(lo), int(hi)) in out:
            raise ValueError(f"{where} is given twice; each bracket must be distinct.")
        out.append((int(lo), int(hi)))
    return out


def bracket_label(lo: int, hi: int, unit: str = "D") -> str:
    """Readable name of a bracket: ``"days 1-3"``, ``"week 2"``, ``"months 1-3"``.

    Examples
    --------
    >>> bracket_label(1, 3), bracket_label(2, 2, "W"), bracket_label(0, 5, "M")
    ('days 1-3', 'week 2', 'months 0-5')
    """
    one, many = _UNIT_WORDS[_unit(unit)]
    return f"{one} {lo}" if lo == hi else f"{many} {lo}-{hi}"


def _grain(name: str, value: str, allowed: Sequence[str] = ("D", "W", "M", "Q")) -> str:
    """The pandas alias of a grain, or a ValueError naming the argument."""
    try:
        alias = normalize_freq(value)
    except ValueError:
        alias = None
    if alias not in allowed:
        raise ValueError(
            f"{name}={value!r} is not supported; use one of {list(allowed)} "
            "(or 'day', 'week', 'month'" + (", 'quarter')." if "Q" in allowed else ").")
        )
    return alias


def _unit(unit: str) -> str:
    return _grain("unit", unit, UNITS)


def _return_mask(tx: pd.DataFrame, returns: Any) -> np.ndarray:
    """Boolean array: which rows match the return filter (every row when ``returns`` is None)."""
    if returns is None:
        return np.ones(len(tx), dtype=bool)
    if isinstance(returns, Mapping):
        if not returns:
            raise ValueError("returns is an empty mapping; pass {column: value(s)} or None.")
        require_columns(tx, list(returns), hint="returns= names columns of tx.")
        mask = np.ones(len(tx), dtype=bool)
        for column, values in returns.items():
            wanted = list(values) if isinstance(values, set | frozenset) else as_list(values)
            mask &= tx[column].isin(wanted).to_numpy()
        return mask
    if isinstance(returns, pd.Series):
        if not pd.api.types.is_bool_dtype(returns.dtype):
            raise ValueError(
                f"returns must be a boolean Series (or a {{column: value(s)}} mapping), got a "
                f"Series of dtype {returns.dtype}."
            )
        if not returns.index.equals(tx.index):
            extra = returns.index.difference(tx.index)
            lacking = tx.index.difference(returns.index)
            raise ValueError(
                "returns must be aligned with tx (the same index); "
                f"{len(lacking)} row label(s) of tx are missing from it, e.g. "
                f"{examples(lacking)}, and {len(extra)} are not in tx, e.g. {examples(extra)}."
            )
        missing = returns.isna().to_numpy()
        if missing.any():
            raise ValueError(
                bad_rows("returns", "missing value(s)", missing, tx.index)
                + "; fill them with True or False."
            )
        return returns.to_numpy(dtype=bool)
    raise ValueError(
        "returns must be None, a {column: value(s)} mapping or a boolean Series aligned with "
        f"tx, got {type(returns).__name__}."
    )


def _end_day(end: Any, day: np.ndarray) -> int:
    """Day number of the last observed day (0 for an empty log without ``end``)."""
    if end is None:
        return int(day.max()) if len(day) else 0
    if isinstance(end, pd.Period):
        end = end.end_time
    stamp = naive_timestamp(end, "end").normalize()
    return int(np.datetime64(stamp.as_unit("ns"), "D").astype(np.int64))


# --------------------------------------------------------------------------------------
# day arithmetic (integer day numbers since 1970-01-01)
# --------------------------------------------------------------------------------------


def _add_months(day: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """``day + months`` calendar months, clipped to the end of shorter months."""
    dates = day.astype("datetime64[D]")
    month = dates.astype("datetime64[M]")
    offset = (dates - month.astype("datetime64[D]")).astype(np.int64)  # day of month - 1
    target = month + np.asarray(months, dtype=np.int64)
    start = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - start).astype(np.int64)
    return start.astype(np.int64) + np.minimum(offset, length - 1)


def _age(day: np.ndarray, first: np.ndarray, unit: str) -> np.ndarray:
    """Whole units from day ``first`` to day ``day`` (``day >= first``)."""
    if unit == "D":
        return day - first
    if unit == "W":
        return (day - first) // 7
    months = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    months -= first.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months - (day < _add_months(first, months))


def _window_end(first: np.ndarray, hi: int, unit: str) -> np.ndarray:
    """Last day of age ``hi`` of each customer."""
    if unit == "D":
        return first + hi
    if unit == "W":
        return first + 7 * hi + 6
    return _add_months(first, hi + 1) - 1


# --------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------


def bracket_retention(
    tx: pd.DataFrame,
    brackets: Sequence[tuple[int, int]] = DEFAULT_BRACKETS,
    *,
    unit: str = "D",
    cohort_freq: str = "M",
    returns: Mapping[str, Any] | pd.Series | None = None,
    acquisition: Literal["any", "filtered"] = "any",
    by: str | Sequence[str] | None = None,
    end: Any = None,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
) -> pd.DataFrame:
    """Share of each cohort that bought again within each age bracket.

    See the module docstring for the definitions (return purchase, age, bracket,
    eligibility).

    Parameters
    ----------
    tx : DataFrame
        Transaction log: customer, date (datetime64, or strings pandas parses) and revenue
        columns (refunds negative), optional segment and filter columns.
    brackets : sequence of (int, int)
        ``(lo, hi)`` age ranges, inclusive, in ``unit``; ``0 <= lo <= hi``; overlaps allowed.
    unit : {"D", "W", "M"}
        Unit of the ages (also ``"day"``, ``"week"``, ``"month"``).
    cohort_freq : {"M", "W", "Q", "D"}
        Calendar grain of the cohorts (weeks start on Monday).
    returns : mapping or boolean Series, optional
        Which purchases count as a return: ``{"category": "shoes"}``,
        ``{"category": ["shoes", "boots"], "channel": "web"}`` (every condition holds), or a
        boolean Series with the index of ``tx``. Default: every purchase.
    acquisition : {"any", "filtered"}
        Cohort set by the first purchase of any kind, or by the first purchase matching
        ``returns``.
    by : str or list of str, optional
        Segment column(s), read on each customer's first purchase.
    end : str, Timestamp or Period, optional
        Last day covered by the data (a Period: its last day); default the day of the last
        row. Rows after it are not used.
    customer, date, amount : str
        Column names.

    Returns
    -------
    DataFrame
        One row per (segment, cohort, bracket), sorted by segment and cohort, brackets in the
        order given, with columns

        - the ``by`` column(s), when given;
        - ``cohort`` (Period at ``cohort_freq``);
        - ``bracket`` (str, e.g. ``"days 1-3"``), ``bracket_start``, ``bracket_end`` (int);
        - ``cohort_size`` (int): customers acquired in the cohort;
        - ``eligible`` (int): of them, those whose whole bracket is observed;
        - ``retained`` (int): of the eligible, those with a return purchase in the bracket;
        - ``retention`` (float): ``retained / eligible``, NaN when ``eligible`` is 0.

        Cohorts without customers have no rows. ``attrs`` (plain JSON values) records the
        options, ``end`` (ISO date) and what was left out: ``refund_rows`` (never purchases),
        ``rows_after_end`` and ``customers_without_acquisition`` (customers with rows but no
        acquiring purchase up to ``end``).

    Raises
    ------
    ValueError
        A missing column (listing the columns present), a bad bracket (named, with its
        position), an unknown unit, grain or acquisition, a bad ``returns`` filter, missing
        ids, dates or amounts.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 1, 2, 2, 3, 3],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-10",
    ...                                   "2024-01-20", "2024-01-25", "2024-02-08"]),
    ...     "revenue": [10.0, 5.0, 8.0, 4.0, 6.0, 7.0],
    ... })
    >>> table = bracket_retention(tx, [(1, 3), (4, 14)])
    >>> table[["cohort", "bracket", "cohort_size", "eligible", "retained", "retention"]]
        cohort    bracket  cohort_size  eligible  retained  retention
    0  2024-01   days 1-3            3         3         1   0.333333
    1  2024-01  days 4-14            3         3         2   0.666667

    The data end on 8 February, before day 30 of customers 2 and 3: only customer 1 is
    eligible for days 15-30.

    >>> bracket_retention(tx, [(15, 30)])[["bracket", "eligible", "retained", "retention"]]
          bracket  eligible  retained  retention
    0  days 15-30         1         0        0.0
    """
    tx = lazy.in_memory(tx, "bracket_retention")
    pairs = check_brackets(brackets)
    unit = _unit(unit)
    cohort_freq = _grain("cohort_freq", cohort_freq)
    if acquisition not in ACQUISITION:
        raise ValueError(
            f"acquisition={acquisition!r} is not supported; use one of {list(ACQUISITION)}."
        )
    by_cols = as_list(by)
    require_columns(tx, customer=customer, date=date, amount=amount, by=by_cols)
    clash = [c for c in by_cols if c in COLUMNS]
    if clash:
        raise ValueError(f"by column(s) {clash} clash with the output columns {list(COLUMNS)}.")
    matches = _return_mask(tx, returns)

    slots = encode_customers(tx[customer], customer, tx.index)
    stamps = date_values(tx[date], date, parse=True).astype("datetime64[ns]", copy=False)
    day = stamps.astype("datetime64[D]").astype(np.int64)
    refund = ~is_purchase(amount_values(tx[amount], amount))
    end_day = _end_day(end, day)
    observed = day <= end_day
    purchase = observed & ~refund
    returning = purchase & matches
    first_row = _first_rows(slots.codes, stamps.view(np.int64),
                            returning if acquisition == "filtered" else purchase)
    buyer = slots.codes[first_row]  # slots of the acquired customers, ascending
    first_day = day[first_row]
    position, age = _return_ages(slots.codes, stamps.view(np.int64), day, returning,
                                 first_row, slots.n, unit)

    customers = pd.DataFrame(
        {
            **{c: tx[c].take(first_row).to_numpy() for c in by_cols},
            "cohort": period_codes(stamps[first_row], cohort_freq),
        }
    )
    for b, (lo, hi) in enumerate(pairs):
        eligible = _window_end(first_day, hi, unit) <= end_day
        found = np.zeros(len(buyer), dtype=bool)
        found[position[(lo <= age) & (age <= hi)]] = True
        customers[f"eligible{b}"] = eligible
        customers[f"retained{b}"] = eligible & found
    table = _long_table(customers, by_cols, pairs, unit, cohort_freq, tx)
    with_rows = np.count_nonzero(np.bincount(slots.codes, minlength=slots.n))
    table.attrs.update(
        brackets=[list(p) for p in pairs],
        unit=unit,
        cohort_freq=cohort_freq,
        acquisition=acquisition,
        returns=None if returns is None else (
            json_value(dict(returns)) if isinstance(returns, Mapping) else "boolean Series"
        ),
        by=by_cols,
        end=json_value(np.datetime64(end_day, "D")) if len(tx) or end is not None else None,
        refund_rows=int(np.count_nonzero(refund)),
        rows_after_end=int(np.count_nonzero(~observed)),
        customers_without_acquisition=int(with_rows - len(buyer)),
    )
    return table


def _first_rows(codes: np.ndarray, ticks: np.ndarray, acquiring: np.ndarray) -> np.ndarray:
    """Row of each customer's first acquiring purchase (earliest timestamp, then earliest
    row), in ascending customer-slot order."""
    rows = np.flatnonzero(acquiring)
    rows = rows[np.lexsort((ticks[rows], codes[rows]))]  # stable: ties keep row order
    slot = codes[rows]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = slot[1:] != slot[:-1]
    return rows[new]


def _return_ages(
    codes: np.ndarray,
    ticks: np.ndarray,
    day: np.ndarray,
    returning: np.ndarray,
    first_row: np.ndarray,
    n_slots: int,
    unit: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Acquired-customer index and age of every return purchase (strictly after the first)."""
    first_tick = np.full(n_slots, np.iinfo(np.int64).max, dtype=np.int64)
    first_tick[codes[first_row]] = ticks[first_row]
    rows = np.flatnonzero(returning)
    rows = rows[ticks[rows] > first_tick[codes[rows]]]
    position = np.searchsorted(codes[first_row], codes[rows])
    return position, _age(day[rows], day[first_row][position], unit)


def _long_table(
    customers: pd.DataFrame,
    by_cols: list[str],
    pairs: list[tuple[int, int]],
    unit: str,
    cohort_freq: str,
    tx: pd.DataFrame,
) -> pd.DataFrame:
    """Sum the per-customer flags by (segment, cohort) and lay the brackets out long."""
    keys = [*by_cols, "cohort"]
    grouped = customers.groupby(keys, sort=True, dropna=False, observed=True)
    sums = grouped.sum()
    n_cells, n_brackets = len(sums), len(pairs)
    size = grouped.size().to_numpy(np.int64)
    eligible = sums[[f"eligible{b}" for b in range(n_brackets)]].to_numpy(np.int64).ravel()
    retained = sums[[f"retained{b}" for b in range(n_brackets)]].to_numpy(np.int64).ravel()
    cells = sums.index.to_frame(index=False)
    columns: dict[str, Any] = {
        c: pd.Series(np.repeat(cells[c].to_numpy(), n_brackets)).astype(tx[c].dtype)
        for c in by_cols
    }
    codes = np.repeat(cells["cohort"].to_numpy(np.int64), n_brackets)
    lo = np.array([p[0] for p in pairs], dtype=np.int64)
    hi = np.array([p[1] for p in pairs], dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        retention = np.where(eligible > 0, retained / np.maximum(eligible, 1), np.nan)
    columns.update(
        cohort=pd.Series(period_labels(codes, cohort_freq)),
        bracket=np.tile([bracket_label(a, b, unit) for a, b in pairs], n_cells),
        bracket_start=np.tile(lo, n_cells),
        bracket_end=np.tile(hi, n_cells),
        cohort_size=np.repeat(size, n_brackets),
        eligible=eligible,
        retained=retained,
        retention=retention.astype(np.float64),
    )
    return pd.DataFrame(columns)


def bracket_matrix(long: pd.DataFrame, values: str = "retention") -> pd.DataFrame:
    """Pivot a :func:`bracket_retention` table to cohorts down, brackets across.

    Parameters
    ----------
    long : DataFrame
        Output of :func:`bracket_retention` (possibly read back from Parquet or CSV).
    values : str
        Column shown in the cells: ``"retention"`` (default), ``"retained"``,
        ``"eligible"`` or ``"cohort_size"``.

    Returns
    -------
    DataFrame
        Index ``cohort`` (with the segment columns first, a MultiIndex, when the table has
        them), columns ``bracket`` in the order of the table, NaN where no customer is
        eligible.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "cohort": pd.PeriodIndex(["2024-01"] * 2 + ["2024-02"] * 2, freq="M"),
    ...     "bracket": ["days 8-14", "days 1-3"] * 2,
    ...     "bracket_start": [8, 1] * 2, "bracket_end": [14, 3] * 2,
    ...     "cohort_size": [4, 4, 2, 2], "eligible": [4, 4, 0, 2],
    ...     "retained": [1, 2, 0, 1], "retention": [0.25, 0.5, float("nan"), 0.5],
    ... })
    >>> bracket_matrix(long)  # doctest: +NORMALIZE_WHITESPACE
    bracket  days 8-14  days 1-3
    cohort
    2024-01       0.25       0.5
    2024-02        NaN       0.5
    """
    require_columns(long, list(COLUMNS), what="long",
                    hint="Pass the output of bracket_retention().")
    if values not in ("retention", "retained", "eligible", "cohort_size"):
        raise ValueError(
            f"values={values!r} is not a measure of the table; use 'retention', 'retained', "
            "'eligible' or 'cohort_size'."
        )
    position = list(long.columns).index("cohort")
    index: list[Hashable] = [*long.columns[:position], "cohort"]
    order = pd.unique(long["bracket"])
    duplicated = long.duplicated([*index, "bracket"])
    if duplicated.any():
        raise ValueError(
            bad_rows("bracket", "repeated (segment, cohort, bracket) cell(s)", duplicated,
                     long.index) + "; pass one bracket_retention() table."
        )
    wide = long.pivot(index=index, columns="bracket", values=values)
    return wide.reindex(columns=order)
