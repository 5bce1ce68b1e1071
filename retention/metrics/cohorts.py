"""Cohort retention tables: the long cohort table, the retention matrix and its average curve.

A customer's *cohort* is the period of their first purchase over the whole transaction log.
:func:`cohort_table` follows every cohort through period offsets k = 0, 1, 2, ... and returns
one tidy row per (segment, cohort, k); :func:`retention_matrix` pivots it into the familiar
triangle (cohorts down, offsets across) and :func:`weighted_average_retention` gives the
average curve over cohorts. The heavy lifting is one pass over the transactions,
:func:`retention.engine.frame.cohort_activity`; everything here works on small tables.

Definitions
-----------
Qualifying transaction
    A purchase: a row with revenue >= 0, a zero-value order included
    (:func:`retention.engine.frame.is_purchase`, the rule of every table); with
    ``include_refunds=True``, any row. Only qualifying rows make a customer active and count
    as orders; refunds (negative revenue) always count in revenue.
Period offset k (``periods="calendar"``)
    Calendar period of the transaction minus the cohort's period: for monthly cohorts, a
    customer acquired on 31 January who buys on 1 February is active in k = 1.
Period offset k (``periods="rolling"``)
    ``floor(days since the customer's first purchase / period length)`` with period lengths
    of 1 day, 7 days, 30.4375 days (365.25 / 12, an average month) and 91.3125 days (an
    average quarter): k = 1 is "between 31 and 60 days after the first purchase" for months.
    The ``calendar_period`` label of a rolling cell is still ``cohort + k``, the period in
    which the k-th window *starts* for a customer acquired on the first day of the cohort.
Kinds
    ``"n_period"``: customers active in offset k. ``"unbounded"``: customers active in k or
    any later offset observed (the product-analytics "returned on or after" definition).
    The kind only changes ``customers`` and ``retention``; orders and revenue are always
    those of offset k.
Observability
    The data are taken to cover every day up to the day of the last transaction (or the day
    before the period following ``end``). A cell is *complete* when every cohort member has
    been observed for the whole of offset k, and *started* when some of it has been observed.
    The last calendar period is usually partial (data end before its last day); the
    ``partial`` option decides what happens to cells that are started but not complete:
    ``"exclude"`` (default) treats them as not observed (NaN), ``"flag"`` reports them and adds
    a boolean ``partial`` column, ``"keep"`` reports them like any other cell. Cells that are
    not observed are NaN in every measure, never 0.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Sequence
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
import pandas as pd

from retention.checks import as_list, json_value
from retention.engine.frame import (
    AMOUNT,
    CUSTOMER,
    DATE,
    ROLLING_DAYS,
    CohortActivity,
    cohort_activity,
)
from retention.periods import normalize_freq, period_label, period_labels, period_start

KINDS = ("n_period", "unbounded")
PERIODS = ("calendar", "rolling")
PARTIAL = ("exclude", "flag", "keep")
#: Measure columns of a cohort table (NaN where the cell is not observed).
MEASURES = (
    "customers",
    "retention",
    "orders",
    "revenue",
    "revenue_retention",
    "cumulative_revenue_per_customer",
)
#: Row label of the average appended by ``retention_matrix(..., average=True)``.
AVERAGE_LABEL = "weighted average"


def _choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; use one of {list(allowed)}.")
    return value


def _period_ordinal(value: Any, freq: str, how: Literal["start", "end"], name: str) -> int:
    """Ordinal of the period (at ``freq``) containing / starting / ending ``value``."""
    try:
        if isinstance(value, str):
            value = pd.Period(value)
        if isinstance(value, pd.Period):
            return int(value.asfreq(freq, how=how).ordinal)
        return int(pd.Period(pd.Timestamp(value), freq=freq).ordinal)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{name}={value!r} is not a date or period pandas understands "
            f"(e.g. '2024-01', '2024-01-15', pd.Period('2024Q1')): {err}"
        ) from None


def _horizons(
    cohorts: pd.DataFrame, last_date: pd.Timestamp, freq: str, periods: str
) -> tuple[np.ndarray, np.ndarray]:
    """Largest offset k each cohort has *started* and *completed* (``-1``: none)."""
    last_day = int(last_date.as_unit("ns").value // 86_400_000_000_000)
    if periods == "calendar":
        last_period = int(pd.Period(last_date, freq=freq).ordinal)
        next_start = period_start([last_period + 1], freq)[0]
        complete_last = last_date + pd.Timedelta(days=1) >= next_start
        started = last_period - cohorts["cohort"].to_numpy(np.int64)
        completed = started - (0 if complete_last else 1)
        return started, completed
    num, den = ROLLING_DAYS[freq]
    to_day = 86_400_000_000_000
    first_min = cohorts["first_purchase_min"].to_numpy("datetime64[ns]").view(np.int64) // to_day
    first_max = cohorts["first_purchase_max"].to_numpy("datetime64[ns]").view(np.int64) // to_day
    # window k covers days [ceil(k * num / den), ceil((k + 1) * num / den)) after the purchase
    started = ((last_day - first_min) * den) // num
    completed = ((last_day - first_max + 1) * den) // num - 1
    return started, completed


def _empty_table(
    by_cols: list[str], tx: pd.DataFrame | None, freq: str, flag: bool
) -> pd.DataFrame:
    columns: dict[str, Any] = {
        c: pd.Series([], dtype=tx[c].dtype if tx is not None else object) for c in by_cols
    }
    empty_periods = period_labels([], freq)
    columns.update(
        cohort=pd.Series(empty_periods),
        period=np.array([], dtype=np.int64),
        calendar_period=pd.Series(empty_periods),
        cohort_size=np.array([], dtype=np.int64),
        **{m: np.array([], dtype=np.float64) for m in MEASURES},
        observed=np.array([], dtype=bool),
    )
    if flag:
        columns["partial"] = np.array([], dtype=bool)
    return pd.DataFrame(columns)


def cohort_table(
    tx: pd.DataFrame,
    freq: str = "M",
    *,
    kind: Literal["n_period", "unbounded"] = "n_period",
    periods: Literal["calendar", "rolling"] = "calendar",
    by: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    partial: Literal["exclude", "flag", "keep"] = "exclude",
    include_refunds: bool = False,
    customer: str = CUSTOMER,
    date: str = DATE,
    amount: str = AMOUNT,
    order: str | None = None,
) -> pd.DataFrame:
    """Long cohort table: one row per (segment, acquisition cohort, period offset).

    See the module docstring for the definitions (qualifying transaction, calendar and
    rolling offsets, kinds, observability).

    Parameters
    ----------
    tx : DataFrame
        Transaction log: customer, date (datetime64) and revenue columns (refunds negative),
        optional order id and segment columns.
    freq : {"M", "W", "Q", "D"}
        Cohort and period grain (also ``"month"``, ``"week"``, ...).
    kind : {"n_period", "unbounded"}
        Count customers active *in* offset k, or in k *or later*.
    periods : {"calendar", "rolling"}
        Calendar periods, or windows of fixed length from each customer's first purchase.
    by : str or list of str, optional
        Segment column(s). A customer belongs to the segment recorded on their first purchase
        (e.g. the acquisition channel); all their transactions count there.
    start, end : str, Timestamp or Period, optional
        Report window, inclusive, at the ``freq`` grain ("2024-01", "2024" = all of 2024,
        a date = the period containing it). Only cohorts acquired in the window are shown,
        and nothing after ``end`` is used (the table is as it would have been at the end of
        ``end``). Cohorts are still defined on the whole history: a customer who first bought
        before ``start`` is never new inside the window.
    partial : {"exclude", "flag", "keep"}
        What to do with cells that are only partly observed (typically the last period):
        NaN, report with a ``partial`` column, or report.
    include_refunds : bool
        Let refund rows make a customer active and count as orders.
    customer, date, amount, order : str
        Column names. With ``order``, orders are distinct order ids; otherwise each
        qualifying row is an order.

    Returns
    -------
    DataFrame
        Sorted by segment, cohort and offset, with columns

        - the ``by`` column(s), when given;
        - ``cohort`` (Period): acquisition period;
        - ``period`` (int): offset k = 0 .. K, the same K for every cohort;
        - ``calendar_period`` (Period): ``cohort + k``;
        - ``cohort_size`` (int): customers acquired in the cohort (known for every row);
        - ``customers``: cohort members active in k (``"unbounded"``: in k or later);
        - ``retention``: ``customers / cohort_size``;
        - ``orders``, ``revenue``: orders and net revenue of the cohort in k;
        - ``revenue_retention``: revenue in k / revenue in 0 (NaN if revenue in 0 is 0);
        - ``cumulative_revenue_per_customer``: revenue in 0..k / cohort size (the CLV curve);
        - ``observed`` (bool): whether the cell is observed; the measures (float64, counts
          included) are NaN when it is not, and numbers (0 for no activity) when it is;
        - ``partial`` (bool, only with ``partial="flag"``): observed but incomplete.

        Cohorts without any customer (no first purchase in that period) have no rows.
        ``attrs`` (plain JSON values) records the options, ``last_date`` (ISO string) and
        what could not be attributed to a
        cohort cell (``unattributed_rows``, ``unattributed_revenue``: refunds dated before
        the customer's first purchase or from customers who never purchased;
        ``customers_without_purchase``).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 1, 2, 2, 3],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-03", "2024-02-10", "2024-01-20", "2024-03-05", "2024-02-01"]),
    ...     "revenue": [10.0, 20.0, 15.0, 5.0, 8.0],
    ... })
    >>> table = cohort_table(tx, "M", partial="keep")
    >>> table[["cohort", "period", "cohort_size", "customers", "retention", "observed"]]
        cohort  period  cohort_size  customers  retention  observed
    0  2024-01       0            2        2.0        1.0      True
    1  2024-01       1            2        1.0        0.5      True
    2  2024-01       2            2        1.0        0.5      True
    3  2024-02       0            1        1.0        1.0      True
    4  2024-02       1            1        0.0        0.0      True
    5  2024-02       2            1        NaN        NaN     False
    """
    freq = normalize_freq(freq)
    _choice("kind", kind, KINDS)
    _choice("periods", periods, PERIODS)
    _choice("partial", partial, PARTIAL)
    by_cols = as_list(by)
    start_code = None if start is None else _period_ordinal(start, freq, "start", "start")
    end_code = None if end is None else _period_ordinal(end, freq, "end", "end")
    until = None if end_code is None else period_start([end_code + 1], freq)[0]
    activity = cohort_activity(
        tx,
        freq,
        periods=periods,
        by=by_cols or None,
        include_refunds=include_refunds,
        until=until,
        customer=customer,
        date=date,
        amount=amount,
        order=order,
    )
    table = _assemble(activity, tx, freq, kind, periods, by_cols, start_code, end_code, partial)
    table.attrs.update(
        freq=freq,
        kind=kind,
        periods=periods,
        partial=partial,
        by=by_cols,
        include_refunds=include_refunds,
        last_date=json_value(activity.last_date),
        unattributed_rows=int(activity.unattributed_rows),
        unattributed_revenue=float(activity.unattributed_revenue),
        customers_without_purchase=int(activity.customers_without_purchase),
    )
    return table


def _assemble(
    activity: CohortActivity,
    tx: pd.DataFrame | None,
    freq: str,
    kind: str,
    periods: str,
    by_cols: list[str],
    start_code: int | None,
    end_code: int | None,
    partial: str,
) -> pd.DataFrame:
    """Build the long table from the output of :func:`cohort_activity`."""
    cohorts = activity.cohorts
    code = cohorts["cohort"].to_numpy(np.int64)
    shown = np.ones(len(cohorts), dtype=bool)
    if start_code is not None:
        shown &= code >= start_code
    if end_code is not None:
        shown &= code <= end_code
    cohorts = cohorts[shown].reset_index(drop=True)
    flag = partial == "flag"
    if activity.last_date is None or len(cohorts) == 0:
        return _empty_table(by_cols, tx, freq, flag)

    started, completed = _horizons(cohorts, activity.last_date, freq, periods)
    horizon = completed if partial == "exclude" else started
    n_groups = len(cohorts)
    n_k = max(int(horizon.max()), 0) + 1

    # Dense (group, k) arrays, filled from the sparse cells of the shown cohorts.
    keys = [*by_cols, "cohort"]
    group_id = cohorts[keys].assign(_group=np.arange(n_groups))
    cells = activity.cells.merge(group_id, on=keys, how="inner", sort=False)
    cells = cells[cells["period"].to_numpy() < n_k]
    flat = cells["_group"].to_numpy(np.int64) * n_k + cells["period"].to_numpy(np.int64)
    count_col = "customers" if kind == "n_period" else "customers_unbounded"

    def dense(column: str) -> np.ndarray:
        out = np.zeros(n_groups * n_k, dtype=np.float64)
        out[flat] = cells[column].to_numpy(np.float64)
        return out.reshape(n_groups, n_k)

    customers, orders, revenue = dense(count_col), dense("orders"), dense("revenue")
    size = cohorts["cohort_size"].to_numpy(np.int64)
    k = np.arange(n_k)
    observed = k[None, :] <= horizon[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        retention = customers / size[:, None]
        revenue0 = revenue[:, :1]
        revenue_retention = np.where(
            revenue0 != 0, revenue / np.where(revenue0 != 0, revenue0, 1), np.nan
        )
        cumulative = np.cumsum(revenue, axis=1) / size[:, None]
    measures = {
        "customers": customers,
        "retention": retention,
        "orders": orders,
        "revenue": revenue,
        "revenue_retention": revenue_retention,
        "cumulative_revenue_per_customer": cumulative,
    }
    for values in measures.values():
        values[~observed] = np.nan

    cohort_codes = np.repeat(cohorts["cohort"].to_numpy(np.int64), n_k)
    offsets = np.tile(k, n_groups)
    columns: dict[str, Any] = {
        c: cohorts[c].take(np.repeat(np.arange(n_groups), n_k)).reset_index(drop=True)
        for c in by_cols
    }
    columns.update(
        cohort=period_labels(cohort_codes, freq),
        period=offsets.astype(np.int64),
        calendar_period=period_labels(cohort_codes + offsets, freq),
        cohort_size=np.repeat(size, n_k),
        **{name: values.ravel() for name, values in measures.items()},
        observed=observed.ravel(),
    )
    if flag:
        columns["partial"] = (observed & (k[None, :] > completed[:, None])).ravel()
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------------------
# wide matrices and the average curve
# --------------------------------------------------------------------------------------


def _is_cohort_table(data: pd.DataFrame) -> bool:
    return isinstance(data, pd.DataFrame) and {
        "cohort",
        "period",
        "cohort_size",
        "observed",
    } <= set(data.columns)


def _check_cohort_table(long: Any, values: str) -> list[str]:
    if not _is_cohort_table(long):
        got = list(long.columns) if isinstance(long, pd.DataFrame) else type(long).__name__
        raise ValueError(
            "expected a cohort table from cohort_table() with columns 'cohort', 'period', "
            f"'cohort_size' and 'observed'; got {got}."
        )
    if values not in MEASURES or values not in long.columns:
        raise ValueError(
            f"values={values!r} is not a measure of the cohort table; use one of "
            f"{[m for m in MEASURES if m in long.columns]}."
        )
    return list(long.columns[: long.columns.get_loc("cohort")])


def weighted_average_retention(long: pd.DataFrame, values: str = "retention") -> pd.DataFrame:
    """Average curve over cohorts, weighted by cohort size, over observed cells only.

    For each offset k (and segment), ``sum(value * cohort_size) / sum(cohort_size)`` over the
    cohorts whose cell k is observed; for ``values="retention"`` this is the share of all
    observed customers still active in k. Later offsets rest on fewer, older cohorts: the
    ``cohorts`` column says how many.

    Parameters
    ----------
    long : DataFrame
        Output of :func:`cohort_table`.
    values : str
        Measure to average (see :data:`MEASURES`).

    Returns
    -------
    DataFrame
        The segment column(s) if any, ``period``, the averaged measure, ``cohorts`` (number
        of cohorts averaged) and ``cohort_size`` (their total size). NaN where no cohort is
        observed.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "cohort": pd.PeriodIndex(["2024-01", "2024-01", "2024-02", "2024-02"], freq="M"),
    ...     "period": [0, 1, 0, 1],
    ...     "cohort_size": [100, 100, 300, 300],
    ...     "retention": [1.0, 0.4, 1.0, float("nan")],
    ...     "observed": [True, True, True, False],
    ... })
    >>> weighted_average_retention(long)
       period  retention  cohorts  cohort_size
    0       0        1.0        2          400
    1       1        0.4        1          100
    """
    by_cols = _check_cohort_table(long, values)
    value = long[values].to_numpy(np.float64)
    use = long["observed"].to_numpy(bool) & ~np.isnan(value)
    size = long["cohort_size"].to_numpy(np.float64)
    parts = pd.DataFrame(
        {
            **{c: long[c] for c in by_cols},
            "period": long["period"],
            "_num": np.where(use, value * size, 0.0),
            "_den": np.where(use, size, 0.0),
            "cohorts": use.astype(np.int64),
        },
        index=long.index,
    )
    sums = parts.groupby([*by_cols, "period"], sort=True, dropna=False, observed=True).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(
            sums["_den"] > 0, sums["_num"] / sums["_den"].where(sums["_den"] > 0, 1), np.nan
        )
    out = sums.reset_index()[[*by_cols, "period"]]
    out[values] = average
    out["cohorts"] = sums["cohorts"].to_numpy(np.int64)
    out["cohort_size"] = sums["_den"].to_numpy().astype(np.int64)
    return out


def _pivot_one(long: pd.DataFrame, values: str, average: bool) -> pd.DataFrame:
    matrix = long.pivot(index="cohort", columns="period", values=values)
    matrix.index.name = "cohort"
    matrix.columns.name = "period"
    sizes = long.drop_duplicates("cohort").set_index("cohort")["cohort_size"]
    sizes = sizes.reindex(matrix.index)
    if average:
        curve = weighted_average_retention(long, values).set_index("period")[values]
        matrix = pd.DataFrame(
            np.vstack([matrix.to_numpy(np.float64), curve.reindex(matrix.columns).to_numpy()]),
            index=pd.Index(
                [*map(period_label, matrix.index), AVERAGE_LABEL], dtype=object, name="cohort"
            ),
            columns=matrix.columns,
        )
    matrix.attrs = {
        "cohort_size": {period_label(c): int(n) for c, n in sizes.items()},
        "values": values,
    }
    return matrix


def split_summary_rows(matrix: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a wide matrix into its cohort rows and its trailing summary rows.

    Summary rows are the trailing rows labelled :data:`AVERAGE_LABEL`, as
    :func:`pivot_cohorts` writes them; a slice of a matrix keeps what it holds.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({0: [1.0, 1.0, 1.0]}, index=["2024-01", "2024-02", AVERAGE_LABEL])
    >>> [list(part.index) for part in split_summary_rows(m)]
    [['2024-01', '2024-02'], ['weighted average']]
    """
    n = len(matrix)
    while n > 0 and matrix.index[n - 1] == AVERAGE_LABEL:
        n -= 1
    return matrix.iloc[:n], matrix.iloc[n:]


def cohort_sizes(matrix: pd.DataFrame) -> pd.Series | None:
    """Cohort sizes of a wide matrix's rows (NaN for summary rows), or None when unknown.

    :func:`pivot_cohorts` stores them in ``attrs["cohort_size"]`` as a dict keyed by the
    cohort's label (:func:`retention.periods.period_label`), so the matrix saves to Parquet
    and any slice of it still finds its sizes; a Series keyed by row is accepted too.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"cohort": pd.PeriodIndex(["2024-01", "2024-02"], freq="M"),
    ...                      "period": [0, 0], "cohort_size": [100, 300],
    ...                      "retention": [1.0, 1.0], "observed": [True, True]})
    >>> cohort_sizes(pivot_cohorts(long, average=True)).tolist()
    [100.0, 300.0, nan]
    """
    sizes = matrix.attrs.get("cohort_size")
    if sizes is None:
        return None
    if isinstance(sizes, pd.Series):
        found = [sizes.get(label, np.nan) for label in matrix.index]
    else:
        found = [sizes.get(period_label(label), np.nan) for label in matrix.index]
    return pd.Series(found, index=matrix.index, dtype=float, name="cohort_size")


def matrix_average(
    matrix: pd.DataFrame, sizes: pd.Series | None = None, *, cumulative: bool = False
) -> pd.Series:
    """Average of each period of a wide matrix over the cohorts observed in it, weighted by
    cohort size (the plain mean without sizes); NaN cells are left out of both the
    numerator and the weights.

    With ``cumulative``, the matrix holds running totals: each period's increment is
    averaged over the cohorts observed in that period and the averages summed up, so the
    curve does not drop at long horizons where only the oldest cohorts are observed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> m = pd.DataFrame([[1.0, 0.4], [1.0, np.nan]])
    >>> matrix_average(m, pd.Series([100, 300])).tolist()
    [1.0, 0.4]
    >>> matrix_average(pd.DataFrame([[10.0, 15.0], [20.0, np.nan]]), cumulative=True).tolist()
    [15.0, 20.0]
    """
    if cumulative:
        increments = matrix.diff(axis=1)
        increments.iloc[:, 0] = matrix.iloc[:, 0]
        return matrix_average(increments, sizes).cumsum()
    values = matrix.to_numpy(dtype=float)
    if sizes is None:
        weights = np.ones(values.shape)
    else:
        weights = np.broadcast_to(sizes.to_numpy(dtype=float)[:, None], values.shape)
    use = ~np.isnan(values) & ~np.isnan(weights)
    numerator = np.where(use, values * weights, 0.0).sum(axis=0)
    denominator = np.where(use, weights, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(denominator > 0, numerator / denominator, np.nan)
    return pd.Series(average, index=matrix.columns, name=AVERAGE_LABEL)


def pivot_cohorts(
    long: pd.DataFrame, values: str = "retention", *, average: bool = False
) -> pd.DataFrame | dict[Hashable, pd.DataFrame]:
    """Pivot a long cohort table into the wide cohort x offset matrix.

    Parameters
    ----------
    long : DataFrame
        Output of :func:`cohort_table` (compute it once, pivot it as often as needed).
    values : str
        Measure shown in the cells (see :data:`MEASURES`).
    average : bool
        Append a row labelled ``"weighted average"`` (see :func:`weighted_average_retention`);
        the index then holds text: the cohorts' labels (:func:`retention.periods.period_label`)
        and that string after them.

    Returns
    -------
    DataFrame or dict of DataFrame
        Index ``cohort`` (PeriodIndex), columns ``period`` 0..K, NaN where the cell is not
        observed; ``attrs["cohort_size"]`` holds the cohort sizes by cohort label
        (:func:`cohort_sizes` aligns them on the rows).
        For a table with segment columns: a dict ``{segment: matrix}`` in segment order (keys
        are tuples when there are several segment columns), ready for one heatmap each.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "cohort": pd.PeriodIndex(["2024-01", "2024-01", "2024-02", "2024-02"], freq="M"),
    ...     "period": [0, 1, 0, 1],
    ...     "cohort_size": [100, 100, 300, 300],
    ...     "retention": [1.0, 0.4, 1.0, float("nan")],
    ...     "observed": [True, True, True, False],
    ... })
    >>> pivot_cohorts(long)  # doctest: +NORMALIZE_WHITESPACE
    period     0    1
    cohort
    2024-01  1.0  0.4
    2024-02  1.0  NaN
    """
    by_cols = _check_cohort_table(long, values)
    if not by_cols:
        return _pivot_one(long, values, average)
    out: dict[Hashable, pd.DataFrame] = {}
    groups = long.groupby(
        by_cols if len(by_cols) > 1 else by_cols[0], sort=False, dropna=False, observed=True
    )
    for key, part in groups:
        out[key] = _pivot_one(part.drop(columns=by_cols), values, average)
    return out


class CohortOptions(TypedDict, total=False):
    """Options of :func:`cohort_table` that :func:`retention_matrix` passes on."""

    kind: Literal["n_period", "unbounded"]
    periods: Literal["calendar", "rolling"]
    by: str | Sequence[str] | None
    start: Any
    end: Any
    partial: Literal["exclude", "flag", "keep"]
    include_refunds: bool
    customer: str
    date: str
    amount: str
    order: str | None


def retention_matrix(
    data: pd.DataFrame,
    freq: str = "M",
    *,
    values: str = "retention",
    average: bool = False,
    **options: Unpack[CohortOptions],
) -> pd.DataFrame | dict[Hashable, pd.DataFrame]:
    """Wide retention matrix: cohorts down, period offsets 0..K across.

    ``data`` is either a transaction log (then :func:`cohort_table` is called with the
    options) or a long table already returned by :func:`cohort_table` (then it is only
    pivoted, see :func:`pivot_cohorts`, and the table options must be left at their
    defaults).

    Parameters
    ----------
    data : DataFrame
        Transactions, or the output of :func:`cohort_table`.
    freq : str
        See :func:`cohort_table`.
    **options
        Passed to :func:`cohort_table` (see :class:`CohortOptions`): ``kind``, ``periods``,
        ``by``, ``start``, ``end``, ``partial``, ``include_refunds``, ``customer``,
        ``date``, ``amount``, ``order``.
    values : str
        Measure in the cells: ``"retention"`` (default), ``"customers"``, ``"orders"``,
        ``"revenue"``, ``"revenue_retention"`` or ``"cumulative_revenue_per_customer"``.
    average : bool
        Append a ``"weighted average"`` row (weights: cohort sizes, observed cells only).

    Returns
    -------
    DataFrame or dict of DataFrame
        Index ``cohort`` (PeriodIndex), columns ``period`` (0..K), NaN where the cell cannot
        be observed yet; ``attrs["cohort_size"]`` holds the cohort sizes. With ``by``, a dict
        ``{segment value: matrix}``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 1, 2, 2, 3],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-03", "2024-02-10", "2024-01-20", "2024-03-05", "2024-02-01"]),
    ...     "revenue": [10.0, 20.0, 15.0, 5.0, 8.0],
    ... })
    >>> retention_matrix(tx, "M", partial="keep")  # doctest: +NORMALIZE_WHITESPACE
    period     0    1    2
    cohort
    2024-01  1.0  0.5  0.5
    2024-02  1.0  0.0  NaN
    """
    if _is_cohort_table(data):
        defaults = inspect.signature(cohort_table).parameters
        unknown = [name for name in options if name not in CohortOptions.__annotations__]
        changed = [
            name for name, value in options.items()
            if name in unknown or value != defaults[name].default
        ]
        if changed:
            raise ValueError(
                f"data is already a cohort table, so {changed} cannot apply; pass them to "
                "cohort_table() instead."
            )
        return pivot_cohorts(data, values, average=average)
    long = cohort_table(data, freq, **options)
    return pivot_cohorts(long, values, average=average)
