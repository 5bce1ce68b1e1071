"""RFM scores and named customer segments, their summary table and their movement over time.

Classic RFM segmentation, as marketing teams use it:

* **recency** ``recency_days``: days from the customer's last purchase day to
  ``observation_end`` (0 = bought on the last day);
* **frequency**: number of *purchase occasions*, the distinct days with a purchase (several
  orders on one day count once); a customer with a single purchase has frequency 1;
* **monetary**: the customer's net revenue up to ``observation_end`` (``monetary="total"``,
  refunds included) or that net revenue per purchase occasion (``monetary="mean"``).

A purchase is a row with revenue >= 0 (:func:`retention.engine.frame.is_purchase`); refunds
count in revenue but never make a purchase occasion. Customers whose rows are all refunds get
no row; they are counted in ``attrs``.

Scores
------
Each of R, F and M is a quantile score ``1 .. bins`` (quintiles by default), higher = better:
R is higher for *more recent* customers, F and M for more purchases and more revenue. The
customers are put in order from worst to best value, ties broken by customer id (a stable
sort by value, then id: of two customers with the same value, the one whose id sorts first
gets the lower-or-equal score; this is ``rank(method="first")`` on data sorted by id), and the
customer at 0-based position ``k`` of ``n`` gets ``1 + floor(bins * k / n)``. Every score
therefore holds ``n / bins`` customers (up to rounding), whatever the ties. Customers with a
single purchase occasion get ``F = 1`` by definition, even when the quantiles alone would
have spread them over several scores (they usually fill the bottom scores: half the customers
of a typical shop buy once).

Segments
--------
``FM`` = the average of F and M, rounded half up (``(F + M + 1) // 2``). A *segment grid*
maps every ``(R, FM)`` cell to exactly one name. The default grid (:func:`default_grid`,
on 5 scores) is the common R x FM map::

    R \\ FM   1                2                3                4                5
    5        New              Potential loy.   Potential loy.   Champions        Champions
    4        Promising        Potential loy.   Potential loy.   Loyal            Loyal
    3        About to sleep   About to sleep   Need attention   Loyal            Loyal
    2        Hibernating      Hibernating      At risk          At risk          Can't lose them
    1        Lost             Lost             At risk          At risk          Can't lose them

A user grid replaces it (:func:`segment_grid` validates it: a cell without a segment or with
two is an error naming the cells).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from retention.checks import (
    examples,
    is_whole,
    json_value,
    naive_timestamp,
    numeric_values,
    require_columns,
    whole_number,
)
from retention.engine import lazy
from retention.engine.frame import is_purchase, occasion_codes, purchase_occasions
from retention.periods import PERIOD_DAYS, normalize_freq

__all__ = [
    "DEFAULT_SEGMENTS",
    "NOT_YET_CUSTOMER",
    "SegmentMovement",
    "default_grid",
    "grid_counts",
    "rfm_segments",
    "segment_grid",
    "segment_movement",
    "segment_table",
]

#: Segment names of the default grid, from the best customers to the lost ones.
DEFAULT_SEGMENTS: tuple[str, ...] = (
    "Champions",
    "Loyal",
    "Potential loyalist",
    "New",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
)

#: The default grid as rectangles ``(segment, r_min, r_max, fm_min, fm_max)``, bounds inclusive.
_DEFAULT_RECTANGLES: tuple[tuple[str, int, int, int, int], ...] = (
    ("Champions", 5, 5, 4, 5),
    ("Loyal", 3, 4, 4, 5),
    ("Potential loyalist", 4, 5, 2, 3),
    ("New", 5, 5, 1, 1),
    ("Promising", 4, 4, 1, 1),
    ("Need attention", 3, 3, 3, 3),
    ("About to sleep", 3, 3, 1, 2),
    ("At risk", 1, 2, 3, 4),
    ("Can't lose them", 1, 2, 5, 5),
    ("Hibernating", 2, 2, 1, 2),
    ("Lost", 1, 1, 1, 2),
)

_RECT_COLUMNS = ["segment", "r_min", "r_max", "fm_min", "fm_max"]

#: ``segment_start`` of the customers whose first purchase falls between the two dates of
#: :func:`segment_movement`.
NOT_YET_CUSTOMER = "Not yet a customer"

_MONETARY = {
    "total": "net revenue up to observation_end (refunds included)",
    "mean": "net revenue per purchase occasion (refunds included)",
}


# --------------------------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------------------------


def default_grid() -> pd.DataFrame:
    """The default segment grid on 5 scores, as editable rectangles of (R, FM) scores.

    Returns
    -------
    DataFrame
        One row per rectangle: ``segment``, ``r_min``, ``r_max``, ``fm_min``, ``fm_max``
        (inclusive score bounds). A segment may span several rows. Edit a copy and pass it
        as ``grid=`` to :func:`rfm_segments`.

    Examples
    --------
    >>> grid = default_grid()
    >>> grid.head(3)
                  segment  r_min  r_max  fm_min  fm_max
    0           Champions      5      5       4       5
    1               Loyal      3      4       4       5
    2  Potential loyalist      4      5       2       3
    >>> grid.loc[grid["segment"] == "Loyal", "r_min"] = 4  # R 3 x FM 4-5 is now a gap
    >>> segment_grid(grid)
    Traceback (most recent call last):
    ...
    ValueError: the segment grid leaves 2 (R, FM) cell(s) without a segment: [(3, 4), (3, 5)].
    """
    return pd.DataFrame(list(_DEFAULT_RECTANGLES), columns=_RECT_COLUMNS)


def _score_range(value: Any, what: str) -> tuple[int, int]:
    """``3`` -> (3, 3); ``(2, 4)`` -> (2, 4)."""
    if is_whole(value):
        return int(value), int(value)
    if (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
            and all(is_whole(v) for v in value)):
        return int(value[0]), int(value[1])
    raise ValueError(
        f"{what} must be a score or a (low, high) pair of scores, got {value!r}."
    )


def _rectangles(grid: Any) -> list[tuple[str, int, int, int, int]]:
    """A grid given as rectangles (DataFrame or mapping) as a list of tuples."""
    if isinstance(grid, pd.DataFrame):
        require_columns(grid, _RECT_COLUMNS, what="the segment grid",
                        hint="See retention.metrics.segments.default_grid() for the layout, "
                        "or pass a bins x bins table of names (index R, columns FM).")
        out = []
        for i, row in enumerate(grid[_RECT_COLUMNS].itertuples(index=False)):
            bounds = row[1:]
            if not all(is_whole(b) for b in bounds):
                raise ValueError(
                    f"the segment grid's row {grid.index[i]!r} ({row[0]!r}) has score bounds "
                    f"that are not whole numbers: {[json_value(b) for b in bounds]}."
                )
            out.append((row[0], *map(int, bounds)))
        return out
    if isinstance(grid, Mapping):
        out = []
        for name, spec in grid.items():
            pieces = spec if isinstance(spec, list) else [spec]
            for piece in pieces:
                if not (isinstance(piece, Sequence) and len(piece) == 2):
                    raise ValueError(
                        f"the segment grid's entry {name!r} must be (R scores, FM scores), "
                        f"e.g. ((4, 5), (4, 5)), or a list of such pairs; got {spec!r}."
                    )
                r = _score_range(piece[0], f"the R scores of segment {name!r}")
                fm = _score_range(piece[1], f"the FM scores of segment {name!r}")
                out.append((name, *r, *fm))
        return out
    raise TypeError(
        "grid must be a DataFrame of rectangles (columns segment, r_min, r_max, fm_min, "
        "fm_max), a bins x bins DataFrame of names (index R, columns FM) or a mapping "
        f"{{segment: (R scores, FM scores)}}; got {type(grid).__name__}."
    )


def _is_matrix(grid: Any) -> bool:
    return isinstance(grid, pd.DataFrame) and "segment" not in grid.columns


def segment_grid(grid: Any = None, bins: int = 5) -> pd.DataFrame:
    """The validated segment grid as a ``bins x bins`` table of names.

    Parameters
    ----------
    grid : DataFrame or mapping, optional
        The default (:func:`default_grid`) when omitted. Three forms are accepted:

        * rectangles: a DataFrame with columns ``segment``, ``r_min``, ``r_max``, ``fm_min``,
          ``fm_max`` (inclusive bounds; several rows may name the same segment);
        * a mapping ``{segment: (R scores, FM scores)}``, each a score or a ``(low, high)``
          pair, e.g. ``{"Champions": ((5, 5), (4, 5))}``; a segment made of several
          rectangles takes a *list* of such tuples, ``[((1, 2), (1, 3)), ((1, 2), (4, 5))]``
          (a single rectangle is a tuple, never a list);
        * a table of names: index = R scores ``1 .. bins``, columns = FM scores ``1 .. bins``
          (the form this function returns, so its output can be edited and passed back).
    bins : int, default 5
        Number of scores.

    Returns
    -------
    DataFrame
        Index ``R`` (1 .. bins), columns ``FM`` (1 .. bins), values the segment names.
        ``attrs["segments"]`` lists the segment names in the grid's order (the order of the
        rectangles or mapping; for a table of names, from the top-right cell down).

    Raises
    ------
    ValueError
        A cell without a segment (a gap) or with several (an overlap), naming the cells;
        bounds outside ``1 .. bins``; names that are not non-empty strings.

    Examples
    --------
    >>> g = segment_grid()
    >>> g.loc[5, 5], g.loc[1, 1], g.loc[2, 5]
    ('Champions', 'Lost', "Can't lose them")
    >>> segment_grid({"Best": ((4, 5), (1, 5)), "Rest": ((1, 3), (1, 5))}, bins=5).loc[4, 1]
    'Best'
    >>> segment_grid({"Best": ((3, 5), (1, 5)), "Rest": ((1, 3), (1, 5))})
    Traceback (most recent call last):
    ...
    ValueError: the segment grid gives 5 (R, FM) cell(s) more than one segment: (3, 1): \
['Best', 'Rest'], (3, 2): ['Best', 'Rest'], (3, 3): ['Best', 'Rest'], (3, 4): ['Best', \
'Rest'], (3, 5): ['Best', 'Rest'].
    """
    bins = whole_number("bins", bins, minimum=2, what="a whole number of scores >= 2")
    scores = list(range(1, bins + 1))
    if grid is None:
        if bins != 5:
            raise ValueError(
                f"the default segment grid is defined on 5 scores; with bins={bins} pass "
                "grid= (see retention.metrics.segments.default_grid for the layout)."
            )
        grid = default_grid()
    if _is_matrix(grid):
        return _matrix_grid(grid, bins)
    cells: dict[tuple[int, int], list[str]] = {(r, f): [] for r in scores for f in scores}
    order: list[str] = []
    for name, r_lo, r_hi, f_lo, f_hi in _rectangles(grid):
        _check_name(name)
        for arg, lo, hi in (("R", r_lo, r_hi), ("FM", f_lo, f_hi)):
            if not 1 <= lo <= hi <= bins:
                raise ValueError(
                    f"the segment grid's {arg} scores {lo}..{hi} of segment {name!r} are not "
                    f"a range within 1..{bins} (low <= high)."
                )
        if name not in order:
            order.append(name)
        for r in range(r_lo, r_hi + 1):
            for f in range(f_lo, f_hi + 1):
                if name not in cells[(r, f)]:
                    cells[(r, f)].append(name)
    _check_cells(cells)
    table = pd.DataFrame(
        [[cells[(r, f)][0] for f in scores] for r in scores],
        index=pd.Index(scores, name="R"), columns=pd.Index(scores, name="FM"), dtype=object,
    )
    table.attrs["segments"] = order
    return table


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"segment names must be non-empty strings, got {name!r}.")


def _check_cells(cells: Mapping[tuple[int, int], list[str]]) -> None:
    gaps = [cell for cell, names in cells.items() if not names]
    if gaps:
        raise ValueError(
            f"the segment grid leaves {len(gaps)} (R, FM) cell(s) without a segment: {gaps}."
        )
    overlaps = [(cell, names) for cell, names in cells.items() if len(names) > 1]
    if overlaps:
        shown = ", ".join(f"{cell}: {names}" for cell, names in overlaps[:10])
        more = f" and {len(overlaps) - 10} more" if len(overlaps) > 10 else ""
        raise ValueError(
            f"the segment grid gives {len(overlaps)} (R, FM) cell(s) more than one segment: "
            f"{shown}{more}."
        )


def _matrix_grid(grid: pd.DataFrame, bins: int) -> pd.DataFrame:
    scores = list(range(1, bins + 1))

    def _axis(labels: pd.Index, what: str) -> list[int]:
        values = [int(v) if is_whole(v) else v for v in labels]
        extra = [v for v in values if v not in scores]
        if extra:
            raise ValueError(
                f"the segment grid's {what} labels must be the scores 1..{bins}; got {extra}."
            )
        return values

    rows, cols = _axis(grid.index, "R (index)"), _axis(grid.columns, "FM (column)")
    table = pd.DataFrame(grid.to_numpy(dtype=object), index=rows, columns=cols)
    cells: dict[tuple[int, int], list[str]] = {}
    for r in scores:
        for f in scores:
            value = table.loc[r, f] if (r in rows and f in cols) else None
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                cells[(r, f)] = []
            else:
                _check_name(value)
                cells[(r, f)] = [value]
    _check_cells(cells)
    out = pd.DataFrame(
        [[cells[(r, f)][0] for f in scores] for r in scores],
        index=pd.Index(scores, name="R"), columns=pd.Index(scores, name="FM"), dtype=object,
    )
    out.attrs["segments"] = list(pd.unique(out.to_numpy()[::-1, ::-1].ravel()))
    return out


# --------------------------------------------------------------------------------------------
# per-customer recency, frequency, monetary
# --------------------------------------------------------------------------------------------


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.index.is_monotonic_increasing:
        return frame
    try:
        return frame.sort_index(kind="stable")
    except TypeError:  # ids of mixed, unorderable types: keep first-appearance order
        return frame


def _from_log(tx: pd.DataFrame, observation_end: Any, monetary: str, customer: str,
              date: str, amount: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    log = occasion_codes(tx, "D", customer=customer, date=date, amount=amount)
    if observation_end is None:
        end_code = log.span - 1
        end_ts = pd.Timestamp(log.last_date).normalize()
    else:
        end_ts = naive_timestamp(observation_end, "observation_end")
        end_code = log.period_of(end_ts.to_datetime64())
    keep = log.period <= end_code
    n_after = int(len(keep) - np.count_nonzero(keep))
    if n_after == len(keep):
        raise ValueError(
            f"observation_end={observation_end!r} is before the first transaction "
            f"({pd.Timestamp(log.first_date).date()}); no customer to segment."
        )
    assert log.revenue is not None
    codes, period, revenue = log.codes, log.period, log.revenue
    if n_after:
        codes, period, revenue = codes[keep], period[keep], revenue[keep]
    n = len(log.labels)
    occ = purchase_occasions(codes, period, revenue, log.span, n)
    net = np.bincount(codes, weights=revenue, minlength=n)
    seen = np.bincount(codes, minlength=n) > 0
    present = occ.count > 0
    without = seen & ~present
    frequency = occ.count[present].astype(np.int64)
    total = net[present]
    frame = pd.DataFrame(
        {
            "recency_days": (end_code - occ.last[present]).astype(np.int64),
            "frequency": frequency,
            "monetary": total if monetary == "total" else total / frequency,
            "revenue": total,
        },
        index=log.labels[present],
    )
    frame.index.name = customer
    info = {
        "source": "transactions",
        "observation_end": end_ts.isoformat(),
        "n_transactions_after_end": n_after,
        "n_customers_without_purchase": int(np.count_nonzero(without)),
        "revenue_without_purchase": float(net[without].sum()),
    }
    return _sorted(frame), info


def _from_summary(summary: pd.DataFrame, time_unit: str | None, monetary_value: str
                  ) -> tuple[pd.DataFrame, dict[str, Any]]:
    what = "the summary"
    require_columns(summary, ["frequency", "recency", "T", monetary_value], what=what,
                    hint="Build it with retention.rfm_summary, or pass a transaction log.")
    unit = time_unit or summary.attrs.get("time_unit")
    if unit is None:
        raise ValueError(
            "the time unit of the summary's recency and T is unknown; pass time_unit= "
            "('D', 'W', 'M' or 'Q'), as in rfm_summary(..., time_unit=...)."
        )
    unit = normalize_freq(unit)
    freq = numeric_values(summary["frequency"], "frequency", what=what, nonnegative=True)
    not_whole = freq != np.round(freq)
    if not_whole.any():
        raise ValueError(
            f"column 'frequency' of the summary has {int(not_whole.sum())} value(s) that are "
            f"not whole numbers, e.g. at rows {examples(summary.index, not_whole)}."
        )
    recency = numeric_values(summary["recency"], "recency", what=what, nonnegative=True)
    big_t = numeric_values(summary["T"], "T", what=what, nonnegative=True)
    since = big_t - recency
    bad = since < -1e-9
    if bad.any():
        raise ValueError(
            f"the summary has {int(bad.sum())} customer(s) with recency > T, e.g. at rows "
            f"{examples(summary.index, bad)}; recency is measured from the first to the last "
            "purchase and T from the first purchase to the end of the observation."
        )
    value = numeric_values(summary[monetary_value], monetary_value, what=what)
    revenue = (numeric_values(summary["revenue"], "revenue", what=what)
               if "revenue" in summary.columns else np.full(len(summary), np.nan))
    frame = pd.DataFrame(
        {
            "recency_days": np.maximum(since, 0.0) * PERIOD_DAYS[unit],
            "frequency": freq.astype(np.int64) + 1,
            "monetary": value,
            "revenue": revenue,
        },
        index=summary.index.copy(),
    )
    if frame.index.name is None:
        frame.index.name = "customer_id"
    info = {
        "source": "summary",
        "observation_end": json_value(summary.attrs.get("observation_end")),
        "n_transactions_after_end": json_value(summary.attrs.get("n_transactions_after_end")),
        "n_customers_without_purchase": json_value(
            summary.attrs.get("n_customers_without_purchase")),
        "revenue_without_purchase": None,
    }
    return _sorted(frame), info


def _scores(values: np.ndarray, bins: int) -> np.ndarray:
    """Quantile scores 1..bins of ``values`` (higher = better), ties broken by position."""
    n = len(values)
    order = np.lexsort((np.arange(n), values))  # stable: by value, then by position (id)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return 1 + (bins * rank) // max(n, 1)


def _segment_names(r: np.ndarray, fm: np.ndarray, grid: pd.DataFrame) -> pd.Categorical:
    table = grid.to_numpy(dtype=object)
    names = table[r - 1, fm - 1] if len(r) else np.empty(0, dtype=object)
    return pd.Categorical(names, categories=grid.attrs["segments"])


def rfm_segments(
    data: pd.DataFrame,
    *,
    observation_end: Any = None,
    bins: int = 5,
    grid: Any = None,
    monetary: str = "total",
    time_unit: str | None = None,
    monetary_value: str = "monetary_value",
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
) -> pd.DataFrame:
    """Recency, frequency and monetary scores of each customer, and their named segment.

    Parameters
    ----------
    data : DataFrame
        Either a transaction log (columns ``customer``, ``date``, ``amount``, as
        :func:`retention.load_transactions` returns; negative revenue = refund), or an
        :func:`retention.rfm_summary`-like table indexed by customer id with ``frequency``
        (repeat occasions), ``recency``, ``T`` and ``monetary_value``. A table with the
        ``customer`` and ``date`` columns is read as a log.
    observation_end : date-like, optional
        The day the scores describe (logs only): later transactions are left out and counted
        in ``attrs["n_transactions_after_end"]``. Default: the day of the last transaction.
    bins : int, default 5
        Number of scores (5 = quintiles).
    grid : DataFrame or mapping, optional
        Segment grid (see :func:`segment_grid`); default :func:`default_grid` (needs
        ``bins=5``).
    monetary : {"total", "mean"}, default "total"
        For a log: ``monetary`` is the net revenue up to ``observation_end`` (refunds
        included) or that revenue per purchase occasion. For a summary, ``monetary`` is its
        ``monetary_value`` column (in lifetimes' definition, the mean value of the *repeat*
        occasions, 0 for customers who bought once).
    time_unit : {"D", "W", "M", "Q"}, optional
        Unit of a summary's recency and T; default ``summary.attrs["time_unit"]``.
    monetary_value : str, default "monetary_value"
        The summary's monetary column.
    customer, date, amount : str
        Column names of a log.

    Returns
    -------
    DataFrame
        One row per customer with a purchase, indexed by customer id (sorted):

        * ``recency_days`` (int for a log): days from the last purchase day to
          ``observation_end``; for a summary ``(T - recency)`` in days;
        * ``frequency`` (int): purchase occasions (distinct days with a purchase; for a
          summary, ``frequency + 1``);
        * ``monetary`` (float): see ``monetary``; ``revenue`` (float): net revenue (for a
          summary, its ``revenue`` column if it has one, else missing);
        * ``R``, ``F``, ``M`` (int, 1 .. bins; higher = more recent, more frequent, more
          revenue), ``FM`` = ``(F + M + 1) // 2``;
        * ``segment`` (categorical, categories in the grid's order).

        ``attrs``: ``source`` ("transactions" or "summary"), ``observation_end`` (ISO),
        ``bins``, ``monetary`` (what the column means), ``grid`` (the names as a list of
        lists, ``grid[R - 1][FM - 1]``), ``segments`` (their order), ``n_customers`` and
        what was set aside: ``n_transactions_after_end``,
        ``n_customers_without_purchase`` (customers with refunds only),
        ``revenue_without_purchase``.

    Notes
    -----
    Scores are quantiles of the customers present, so they are relative: the same customer
    can change score because others did. Ties are broken by customer id (see the module
    notes); customers with a single purchase occasion get ``F = 1``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "b", "c", "d", "e", "e"],
    ...     "order_date": pd.to_datetime(["2024-01-02", "2024-02-01", "2024-03-30",
    ...                                   "2024-01-10", "2024-03-01", "2024-03-29",
    ...                                   "2024-01-05", "2024-02-10", "2024-02-10"]),
    ...     "revenue": [50.0, 70.0, 80.0, 20.0, 30.0, 15.0, 300.0, 10.0, -10.0],
    ... })
    >>> seg = rfm_segments(tx, observation_end="2024-03-31")
    >>> seg[["recency_days", "frequency", "monetary", "R", "F", "M", "FM", "segment"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                 recency_days  frequency  monetary  R  F  M  FM             segment
    customer_id
    a                       1          3     200.0  5  5  4   5           Champions
    b                      30          2      50.0  3  4  3   4               Loyal
    c                       2          1      15.0  4  1  2   2  Potential loyalist
    d                      86          1     300.0  1  1  5   3             At risk
    e                      50          1       0.0  2  1  1   1         Hibernating

    Customer ``e``'s refund on the day of its only order nets its revenue to 0; it still
    bought once. With 5 customers and 5 scores, each score holds one customer; ``c``, ``d``
    and ``e`` bought once and get ``F = 1``.
    """
    data = lazy.in_memory(data, "rfm_segments")
    if monetary not in _MONETARY:
        raise ValueError(f"monetary must be 'total' or 'mean', got {monetary!r}.")
    bins = whole_number("bins", bins, minimum=2, what="a whole number of scores >= 2")
    table = segment_grid(grid, bins)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    if customer in data.columns and date in data.columns:
        frame, info = _from_log(data, observation_end, monetary, customer, date, amount)
        meaning = _MONETARY[monetary]
    elif {"frequency", "recency", "T"} <= set(data.columns):
        if observation_end is not None:
            raise ValueError(
                "observation_end applies to a transaction log; a summary already describes "
                "its own observation_end (rfm_summary(..., observation_end=...))."
            )
        frame, info = _from_summary(data, time_unit, monetary_value)
        meaning = f"the summary's {monetary_value!r} (mean value of the repeat occasions)"
    else:
        raise ValueError(
            "data is neither a transaction log (columns "
            f"{customer!r}, {date!r}, {amount!r}) nor an RFM summary (columns 'frequency', "
            f"'recency', 'T', {monetary_value!r}); its columns are "
            f"{list(data.columns[:20])}. Pass customer=, date=, amount= to name the log's "
            "columns."
        )
    r = _scores(-frame["recency_days"].to_numpy(dtype=float), bins)
    f = _scores(frame["frequency"].to_numpy(dtype=float), bins)
    f[frame["frequency"].to_numpy() <= 1] = 1
    m = _scores(frame["monetary"].to_numpy(dtype=float), bins)
    fm = (f + m + 1) // 2
    frame["R"], frame["F"], frame["M"], frame["FM"] = r, f, m, fm
    frame["segment"] = _segment_names(r, fm, table)
    frame.attrs.update(
        info,
        bins=bins,
        monetary=meaning,
        grid=[list(row) for row in table.to_numpy(dtype=object)],
        segments=list(table.attrs["segments"]),
        n_customers=len(frame),
    )
    return frame


# --------------------------------------------------------------------------------------------
# tables of segments
# --------------------------------------------------------------------------------------------


def _require_segments(segments: Any, func: str) -> None:
    require_columns(segments, ["segment"], what=f"{func}: segments",
                    hint="Build it with retention.rfm_segments.")


def _segment_order(segments: pd.DataFrame) -> list[Any]:
    column = segments["segment"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return list(column.cat.categories)
    order = list(segments.attrs.get("segments") or [])
    return order + [s for s in pd.unique(column) if s not in order]


def _active_after(log: pd.DataFrame, after: pd.Timestamp, until: Any, customer: str,
                  date: str, amount: str) -> tuple[pd.Index, dict[str, Any]]:
    """Customers with a purchase after the day ``after`` and up to ``until`` (inclusive)."""
    codes = occasion_codes(log, "D", customer=customer, date=date, amount=amount)
    start = codes.period_of(after.to_datetime64())
    keep = codes.period > start
    if until is not None:
        until_ts = naive_timestamp(until, "window_end")
        if until_ts <= after:
            raise ValueError(
                f"window_end ({until_ts.date()}) must be after the segments' observation_end "
                f"({after.date()})."
            )
        keep &= codes.period <= codes.period_of(until_ts.to_datetime64())
        end_text = until_ts.isoformat()
    else:
        end_text = pd.Timestamp(codes.last_date).normalize().isoformat()
    assert codes.revenue is not None
    keep &= is_purchase(codes.revenue)
    if not keep.any():
        raise ValueError(
            f"the retention log has no purchase after the segments' observation_end "
            f"({after.date()}); pass a log that covers the following window."
        )
    active = codes.labels[np.unique(codes.codes[keep])]
    return active, {"retention_window_start": (after + pd.Timedelta(days=1)).isoformat(),
                    "retention_window_end": end_text}


def segment_table(
    segments: pd.DataFrame,
    *,
    values: pd.DataFrame | None = None,
    retention: pd.DataFrame | pd.Series | Collection[Hashable] | None = None,
    window_end: Any = None,
    clv: str = "clv",
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
) -> pd.DataFrame:
    """Customers, revenue, retention and predicted value of each segment.

    Parameters
    ----------
    segments : DataFrame
        :func:`rfm_segments` output (one row per customer, indexed by customer id).
    values : DataFrame, optional
        Per-customer predictions indexed by customer id with a ``clv`` column, e.g.
        :func:`retention.customer_value`. Customers of ``segments`` missing from it are
        counted in ``attrs["n_without_value"]`` and left out of the CLV columns.
    retention : DataFrame, boolean Series or collection of ids, optional
        Who was active in the following window: a transaction log (its purchases dated
        after ``segments.attrs["observation_end"]`` and up to ``window_end`` count; the full
        log may be passed), a boolean Series indexed by customer id, or the ids of the
        active customers.
    window_end : date-like, optional
        Last day of the retention window (logs only); default the log's last day.
    clv : str, default "clv"
        Column of ``values``.
    customer, date, amount : str
        Column names of a retention log.

    Returns
    -------
    DataFrame
        One row per segment of the grid, in its order (segments without customers
        included, with 0 customers): ``segment``, ``customers``, ``share_of_customers``,
        ``revenue``, ``share_of_revenue``, ``revenue_per_customer``, ``mean_recency_days``,
        ``mean_frequency``, ``mean_monetary``; with ``retention``: ``retained`` and
        ``retention`` (retained / customers); with ``values``: ``clv``,
        ``clv_per_customer`` (over the customers with a prediction) and ``share_of_clv``.
        The ``customers`` column sums to the number of customers; shares are fractions.

    Examples
    --------
    >>> import pandas as pd
    >>> seg = pd.DataFrame({"segment": ["Loyal", "Lost", "Loyal"], "revenue": [50.0, 10.0, 40.0],
    ...                     "recency_days": [5, 90, 12], "frequency": [4, 1, 3],
    ...                     "monetary": [50.0, 10.0, 40.0]}, index=["a", "b", "c"])
    >>> out = segment_table(seg, retention=["a", "b"])
    >>> out[["segment", "customers", "share_of_customers", "share_of_revenue", "retention"]]
      segment  customers  share_of_customers  share_of_revenue  retention
    0   Loyal          2            0.666667               0.9        0.5
    1    Lost          1            0.333333               0.1        1.0
    """
    retention = lazy.in_memory(retention, "segment_table(retention=)")
    func = "segment_table"
    _require_segments(segments, func)
    order = _segment_order(segments)
    seg = pd.Categorical(segments["segment"], categories=order)
    frame = pd.DataFrame({"segment": seg, "_one": 1}, index=segments.index)
    for col in ("revenue", "recency_days", "frequency", "monetary"):
        frame[col] = (segments[col].astype(float) if col in segments.columns else np.nan)
    attrs: dict[str, Any] = {"n_customers": len(frame),
                             "observation_end": json_value(segments.attrs.get("observation_end"))}
    if retention is not None:
        if isinstance(retention, pd.DataFrame):
            end = segments.attrs.get("observation_end")
            if end is None:
                raise ValueError(
                    "segments carry no observation_end (attrs), so the following window of "
                    "the retention log is unknown; pass the ids of the active customers instead."
                )
            active, window = _active_after(retention, pd.Timestamp(end), window_end, customer,
                                           date, amount)
            attrs.update(window)
            frame["_retained"] = segments.index.isin(active)
        elif isinstance(retention, pd.Series):
            if not pd.api.types.is_bool_dtype(retention.dtype):
                raise ValueError(
                    f"retention as a Series must be boolean (active or not), indexed by "
                    f"customer id; got dtype {retention.dtype}."
                )
            found = segments.index.isin(retention.index)
            if not found.all():
                raise ValueError(
                    f"retention lacks {int((~found).sum())} customer(s) of the segments, e.g. "
                    f"{examples(segments.index, ~found)}."
                )
            frame["_retained"] = retention.reindex(segments.index).to_numpy(dtype=bool)
        else:
            frame["_retained"] = segments.index.isin(list(retention))
    if values is not None:
        require_columns(values, [clv], what=f"{func}: values",
                        hint="Build it with retention.customer_value.")
        found = segments.index.isin(values.index)
        attrs["n_without_value"] = int((~found).sum())
        if len(segments) and not found.any():
            raise ValueError(
                f"values shares no customer id with the segments (e.g. segment ids "
                f"{examples(segments.index)}, value ids {examples(values.index)})."
            )
        clv_values = numeric_values(values[clv], clv, what="values")
        lookup = pd.Series(clv_values, index=values.index)
        frame["_clv"] = lookup.reindex(segments.index).to_numpy(dtype=float)
        frame["_valued"] = found.astype(np.int64)

    grouped = frame.groupby("segment", observed=False, sort=True)
    aggs: dict[str, tuple[str, str]] = {
        "customers": ("_one", "sum"),
        "revenue": ("revenue", "sum"),
        "mean_recency_days": ("recency_days", "mean"),
        "mean_frequency": ("frequency", "mean"),
        "mean_monetary": ("monetary", "mean"),
    }
    if "_retained" in frame:
        aggs["retained"] = ("_retained", "sum")
    if "_clv" in frame:
        aggs["clv"] = ("_clv", "sum")
        aggs["_valued"] = ("_valued", "sum")
    table = grouped.agg(**aggs).reset_index()
    table["segment"] = table["segment"].astype(object)
    table["customers"] = table["customers"].astype(np.int64)
    n = int(table["customers"].sum())
    table.insert(2, "share_of_customers", table["customers"] / n if n else np.nan)
    if frame["revenue"].isna().all():
        table["revenue"] = np.nan
    total = table["revenue"].sum()
    table.insert(4, "share_of_revenue", table["revenue"] / total if total != 0 else np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        table.insert(5, "revenue_per_customer",
                     table["revenue"] / table["customers"].where(table["customers"] > 0))
        if "retained" in table:
            table["retained"] = table["retained"].astype(np.int64)
            table["retention"] = table["retained"] / table["customers"].where(
                table["customers"] > 0)
        if "clv" in table:
            valued = table.pop("_valued")
            table["clv_per_customer"] = table["clv"] / valued.where(valued > 0)
            clv_total = table["clv"].sum()
            table["share_of_clv"] = table["clv"] / clv_total if clv_total != 0 else np.nan
    table.attrs.update(attrs)
    return table


def grid_counts(segments: pd.DataFrame) -> pd.DataFrame:
    """Customers in each (R, FM) cell of the segment grid, with the cell's segment.

    Parameters
    ----------
    segments : DataFrame
        :func:`rfm_segments` output (its ``R`` and ``FM`` columns and ``attrs["grid"]``).

    Returns
    -------
    DataFrame
        One row per cell (every cell of the grid, empty ones with 0): ``R``, ``FM``,
        ``segment``, ``customers``, ``share_of_customers``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 2],
    ...                    "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-09"]),
    ...                    "revenue": [5.0, 8.0, 9.0]})
    >>> cells = grid_counts(rfm_segments(tx))
    >>> cells[cells["customers"] > 0]
        R  FM         segment  customers  share_of_customers
    0   1   1            Lost          1                 0.5
    12  3   3  Need attention          1                 0.5
    """
    require_columns(segments, ["R", "FM"], what="grid_counts: segments",
                    hint="Build it with retention.rfm_segments.")
    names = segments.attrs.get("grid")
    if names is None:
        raise ValueError("segments carry no grid (attrs['grid']); build them with "
                         "retention.rfm_segments.")
    bins = len(names)
    r = segments["R"].to_numpy(dtype=np.int64)
    fm = segments["FM"].to_numpy(dtype=np.int64)
    counts = np.bincount((r - 1) * bins + (fm - 1), minlength=bins * bins)
    n = len(segments)
    scores = np.arange(1, bins + 1)
    out = pd.DataFrame({
        "R": np.repeat(scores, bins),
        "FM": np.tile(scores, bins),
        "segment": [names[i][j] for i in range(bins) for j in range(bins)],
        "customers": counts.astype(np.int64),
    })
    out["share_of_customers"] = out["customers"] / n if n else np.nan
    out.attrs.update(bins=bins, n_customers=n, segments=list(segments.attrs.get("segments", [])),
                     observation_end=json_value(segments.attrs.get("observation_end")))
    return out


# --------------------------------------------------------------------------------------------
# movement between two dates
# --------------------------------------------------------------------------------------------


class SegmentMovement(NamedTuple):
    """Segments at two dates (see :func:`segment_movement`).

    Attributes
    ----------
    customers : DataFrame
        One row per customer known at ``end``: ``segment_start`` (``NOT_YET_CUSTOMER`` for
        customers whose first purchase came after ``start``), ``segment_end``, and the
        scores ``R_start``, ``F_start``, ``M_start`` (0 for new customers), ``R_end``,
        ``F_end``, ``M_end``.
    transitions : DataFrame
        One row per (from, to) pair with customers: ``segment_start``, ``segment_end``,
        ``customers`` and ``share_of_start`` (of the customers of ``segment_start``).
    start, end : str
        The two dates (ISO).
    """

    customers: pd.DataFrame
    transitions: pd.DataFrame
    start: str
    end: str

    def moved(self, from_segment: str, to_segment: str) -> pd.DataFrame:
        """The customers who were in ``from_segment`` at ``start`` and in ``to_segment`` at
        ``end``.

        Examples
        --------
        >>> import pandas as pd
        >>> tx = pd.DataFrame({"customer_id": [1, 2, 2, 3],
        ...                    "order_date": pd.to_datetime(["2024-01-01", "2024-01-02",
        ...                                                  "2024-03-01", "2024-03-15"]),
        ...                    "revenue": [5.0, 8.0, 9.0, 4.0]})
        >>> mv = segment_movement(tx, "2024-01-31", "2024-03-31")
        >>> list(mv.moved("About to sleep", "At risk").index)
        [2]
        """
        c = self.customers
        return c[(c["segment_start"] == from_segment) & (c["segment_end"] == to_segment)]

    def matrix(self, normalize: bool = False) -> pd.DataFrame:
        """The transitions as a wide table: index ``segment_start``, columns ``segment_end``
        (every segment of the grid), counts, or shares of each row with ``normalize``."""
        t = self.transitions
        value = "share_of_start" if normalize else "customers"
        wide = t.pivot_table(index="segment_start", columns="segment_end", values=value,
                             aggfunc="sum", observed=False, fill_value=0)
        rows = [s for s in self.customers["segment_start"].cat.categories]
        cols = list(self.customers["segment_end"].cat.categories)
        return wide.reindex(index=rows, columns=cols, fill_value=0)


def segment_movement(
    tx: pd.DataFrame,
    start: Any,
    end: Any,
    *,
    bins: int = 5,
    grid: Any = None,
    monetary: str = "total",
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
) -> SegmentMovement:
    """Each customer's segment at ``start`` and at ``end``, and the table of transitions.

    Both segmentations are :func:`rfm_segments` of the same log with ``observation_end`` =
    ``start`` and = ``end`` (scores are quantiles among the customers known at each date).

    Parameters
    ----------
    tx : DataFrame
        Transaction log covering both dates.
    start, end : date-like
        The two days, ``start < end``.
    bins, grid, monetary, customer, date, amount
        As in :func:`rfm_segments`.

    Returns
    -------
    SegmentMovement
        ``customers`` (one row per customer known at ``end``), ``transitions`` (counts from
        -> to) and ``moved(from, to)`` for "who moved from Loyal to At risk".

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": [1, 2, 2, 3],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-03-01",
    ...                                   "2024-03-15"]),
    ...     "revenue": [5.0, 8.0, 9.0, 4.0]})
    >>> mv = segment_movement(tx, "2024-01-31", "2024-03-31")
    >>> mv.transitions  # doctest: +NORMALIZE_WHITESPACE
            segment_start segment_end  customers  share_of_start
    0      About to sleep     At risk          1             1.0
    1                Lost        Lost          1             1.0
    2  Not yet a customer   Promising          1             1.0
    """
    tx = lazy.in_memory(tx, "segment_movement")
    start_ts = naive_timestamp(start, "start")
    end_ts = naive_timestamp(end, "end")
    if start_ts.normalize() >= end_ts.normalize():
        raise ValueError(f"start ({start_ts.date()}) must be a day before end ({end_ts.date()}).")
    kw = dict(bins=bins, grid=grid, monetary=monetary, customer=customer, date=date,
              amount=amount)
    before = rfm_segments(tx, observation_end=start_ts, **kw)
    after = rfm_segments(tx, observation_end=end_ts, **kw)
    order = list(after["segment"].cat.categories)
    known = after.index.isin(before.index)
    start_names = pd.Series(NOT_YET_CUSTOMER, index=after.index, dtype=object)
    start_names[known] = before["segment"].reindex(after.index[known]).astype(object).to_numpy()
    customers = pd.DataFrame(
        {
            "segment_start": pd.Categorical(start_names, categories=[*order, NOT_YET_CUSTOMER]),
            "segment_end": after["segment"],
        },
        index=after.index,
    )
    for s in ("R", "F", "M"):
        customers[f"{s}_start"] = before[s].reindex(after.index).fillna(0).astype(np.int64)
    for s in ("R", "F", "M"):
        customers[f"{s}_end"] = after[s]
    transitions = (customers.groupby(["segment_start", "segment_end"], observed=True,
                                     sort=True).size().rename("customers").reset_index())
    size = customers["segment_start"].value_counts()
    transitions["customers"] = transitions["customers"].astype(np.int64)
    transitions["share_of_start"] = (
        transitions["customers"]
        / transitions["segment_start"].map(size).astype(float).to_numpy()
    )
    info = {"start": start_ts.isoformat(), "end": end_ts.isoformat(),
            "n_customers_start": len(before), "n_customers_end": len(after),
            "n_new_customers": int((~known).sum())}
    customers.attrs.update(info)
    transitions.attrs.update(info)
    return SegmentMovement(customers, transitions, info["start"], info["end"])
