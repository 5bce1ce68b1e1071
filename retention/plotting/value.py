"""Plots of the CLV breakdowns and of the BG/NBD diagnostics.

Axes-level, in the seaborn sense: each function takes a table from
:mod:`retention.metrics.value` or :mod:`retention.models` (or per-customer data and a column
name), draws on ``ax`` (a new figure when ``ax`` is None),
passes extra keyword arguments through to the underlying matplotlib/seaborn call and
returns the Axes. Shares are fractions in the data and percentages on the axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retention.checks import require_columns
from retention.metrics.value import concentration_curve, top_share
from retention.periods import period_label, unit_name
from retention.plotting.cohorts import (
    AVERAGE_COLOR,
    HEATMAP_CMAP,
    HIGHLIGHT_COLOR,
    new_axes,
    number_formatter,
    percent_formatter,
    tick_formatter,
)

if TYPE_CHECKING:  # matplotlib and seaborn are imported by the functions that draw
    from matplotlib.axes import Axes

__all__ = [
    "plot_calibration_vs_holdout",
    "plot_concentration",
    "plot_cumulative_transactions",
    "plot_deciles",
    "plot_frequency_recency_matrix",
    "plot_value_by_group",
]

ACTUAL_COLOR = AVERAGE_COLOR
MODEL_COLOR = HIGHLIGHT_COLOR

#: Axis and legend names of the columns of the CLV tables.
COLUMN_LABELS: dict[str, str] = {
    "revenue_per_customer": "Historical revenue per customer",
    "orders_per_customer": "Orders per customer",
    "average_order_value": "Average order value",
    "clv_per_customer": "Predicted CLV per customer",
    "expected_purchases_per_customer": "Expected purchases per customer",
    "probability_alive": "Mean P(alive)",
    "share_of_value": "Share of the value",
    "share_of_customers": "Share of the customers",
    "share_of_revenue": "Share of the revenue",
    "share_of_clv": "Share of the predicted CLV",
    "customers": "Customers",
    "revenue": "Revenue",
    "clv": "Predicted CLV",
}


def _column_label(name: str) -> str:
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    if name.endswith("_share"):
        return f"Share of {name[:-6].replace('_', ' ')}"
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def _lower_label(name: str) -> str:
    """``"Predicted CLV"`` -> ``"predicted CLV"`` (keeps acronyms such as ``"CLV"``)."""
    text = _column_label(name)
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


def _check(table: Any, columns: Sequence[str], func: str, made_by: str) -> None:
    """The table is a DataFrame with ``columns`` (see :func:`retention.checks.require_columns`)
    and at least one row."""
    require_columns(table, columns, what=f"{func}: the table", hint=f"Build it with {made_by}.")
    if table.empty:
        raise ValueError(f"{func}: the table has no rows; nothing to plot.")


def _number_label(value: Any) -> str:
    """``4.0`` -> ``"4"``, ``104.2857`` -> ``"104.3"``."""
    if isinstance(value, float | np.floating):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return str(value)


def _is_percent(fmt: str) -> bool:
    return fmt.endswith("%")


def _format(value: float, fmt: str) -> str:
    return format(value, fmt) if np.isfinite(value) else ""


# ---------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------


def plot_calibration_vs_holdout(
    table: pd.DataFrame, ax: Axes | None = None, *, show_counts: bool = True, **kwargs: Any
) -> Axes:
    """Mean holdout purchases, actual and predicted, by calibration-period frequency.

    Parameters
    ----------
    table : DataFrame
        :func:`retention.calibration_vs_holdout` output.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    show_counts : bool, default True
        Write the number of customers under each frequency label.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for both lines.

    Returns
    -------
    matplotlib Axes
        ``ax.lines[0]`` is the actual mean, ``ax.lines[1]`` the model's.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"frequency": [0, 1, 2], "label": ["0", "1", "2+"],
    ...                       "customers": [50, 20, 8], "actual": [0.2, 0.6, 1.9],
    ...                       "expected": [0.25, 0.55, 1.7]})
    >>> ax = plot_calibration_vs_holdout(table)
    >>> [line.get_label() for line in ax.lines]
    ['actual', 'model']
    """
    func = "plot_calibration_vs_holdout"
    _check(table, ["label", "customers", "actual", "expected"], func,
           "retention.calibration_vs_holdout")
    ax = new_axes(ax, (8.0, 4.5))
    x = np.arange(len(table))
    ax.plot(x, table["actual"].to_numpy(dtype=float), label="actual",
            **{"color": ACTUAL_COLOR, "marker": "o", "linewidth": 2.0, **kwargs})
    ax.plot(x, table["expected"].to_numpy(dtype=float), label="model",
            **{"color": MODEL_COLOR, "marker": "s", "linestyle": "--", "linewidth": 2.0,
               **kwargs})
    labels = [str(v) for v in table["label"]]
    if show_counts:
        labels = [f"{lab}\n(n={n:,})" for lab, n in zip(labels, table["customers"], strict=True)]
    ax.set_xticks(x, labels)
    ax.set_xlabel("Repeat purchases in the calibration period")
    unit = unit_name(table.attrs.get("time_unit"), default="")
    duration = table.attrs.get("duration")
    when = f" ({duration:.0f} {unit}s)" if unit and duration else ""
    ax.set_ylabel(f"Mean purchases in the holdout{when}")
    ax.set_ylim(bottom=0)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(frameon=False)
    return ax


def plot_frequency_recency_matrix(
    matrix: pd.DataFrame,
    ax: Axes | None = None,
    *,
    annot: bool = False,
    fmt: str | None = None,
    cmap: Any = HEATMAP_CMAP,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Heatmap of expected purchases or P(alive) by frequency (up) and recency (across).

    Both of lifetimes' ``plot_frequency_recency_matrix`` and ``plot_probability_alive_matrix``:
    the kind comes from ``matrix.attrs["kind"]`` (set by
    :func:`retention.frequency_recency_matrix`). Frequency grows upwards; impossible
    histories (NaN) are blank.

    Parameters
    ----------
    matrix : DataFrame
        :func:`retention.frequency_recency_matrix` output.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    annot : bool, default False
        Write the value in each cell.
    fmt : str, optional
        Format of the colour bar (and annotations); default ``".0%"`` for P(alive), ``".2f"``
        for expected purchases.
    cmap : colormap or name, default "YlGnBu"
    title : str, optional
        Axes title; by default one describing the matrix.
    **kwargs
        Passed to :func:`seaborn.heatmap`.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from retention.models import BetaGeo, frequency_recency_matrix
    >>> bgf = BetaGeo()
    >>> bgf.params_ = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}
    >>> m = frequency_recency_matrix(bgf, 39, max_frequency=5, kind="probability_alive")
    >>> ax = plot_frequency_recency_matrix(m)
    >>> ax.get_ylabel()
    'Repeat purchases (frequency)'
    """
    func = "plot_frequency_recency_matrix"
    require_columns(matrix, what=f"{func}: the matrix")
    if matrix.empty or matrix.isna().all().all():
        raise ValueError(f"{func}: the matrix has no value to plot.")
    kind = matrix.attrs.get("kind", "expected_purchases")
    alive = kind == "probability_alive"
    fmt = fmt or (".0%" if alive else ".2f")
    unit = unit_name(matrix.attrs.get("time_unit"), default="time unit")
    t = matrix.attrs.get("t", 1.0)
    label = ("P(alive)" if alive
             else f"Expected purchases, next {t:g} {unit}{'s' if t != 1 else ''}")
    values = matrix.sort_index(ascending=False)
    plot_data = pd.DataFrame(
        values.to_numpy(dtype=float),
        index=[str(i) for i in values.index],
        columns=[_number_label(c) for c in values.columns],
    )
    if ax is None:
        ax = new_axes(None, (min(max(6.0, 2.5 + 0.35 * plot_data.shape[1]), 14.0),
                              min(max(3.5, 1.5 + 0.3 * plot_data.shape[0]), 10.0)))
    cbar_kws = {"format": tick_formatter(fmt), "label": label,
                **(kwargs.pop("cbar_kws", None) or {})}
    kwargs.setdefault("vmin", 0)
    if alive:
        kwargs.setdefault("vmax", 1)
    import seaborn as sns

    sns.heatmap(plot_data, ax=ax, annot=annot, fmt=fmt, cmap=cmap,
                mask=plot_data.isna().to_numpy(), cbar_kws=cbar_kws, **kwargs)
    ax.tick_params(axis="y", rotation=0)
    # at most about 14 recency labels, upright
    step = max(1, -(-plot_data.shape[1] // 14))
    shown = list(range(0, plot_data.shape[1], step))
    ax.set_xticks([i + 0.5 for i in shown], [plot_data.columns[i] for i in shown], rotation=0)
    ax.set_xlabel(f"Recency: {unit}s from the first to the last purchase")
    ax.set_ylabel("Repeat purchases (frequency)")
    big_t = matrix.attrs.get("T")
    if title is None and big_t is not None:
        what = "Probability of being alive" if alive else label
        title = f"{what}: customers first seen {big_t:.0f} {unit}s ago"
    if title:
        ax.set_title(title)
    return ax


def plot_cumulative_transactions(
    table: pd.DataFrame,
    ax: Axes | None = None,
    *,
    incremental: bool = False,
    calibration_end: Any = None,
    **kwargs: Any,
) -> Axes:
    """Actual and expected repeat transactions over calendar time (the tracking plot).

    Parameters
    ----------
    table : DataFrame
        :func:`retention.expected_cumulative_transactions` output.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    incremental : bool, default False
        Plot the transactions of each interval instead of the running totals (intervals
        flagged ``partial`` are left out: they would show as a drop).
    calibration_end : date-like, optional
        Draw a vertical line at the end of the calibration window; default
        ``table.attrs["calibration_end"]`` when present.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for both lines.

    Returns
    -------
    matplotlib Axes
        ``ax.lines[0]`` actual, ``ax.lines[1]`` model, then the calibration line if any.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"date": pd.to_datetime(["2024-01-07", "2024-01-14"]),
    ...                       "actual": [3, 7], "expected": [2.5, 6.8],
    ...                       "actual_increment": [3, 4], "expected_increment": [2.5, 4.3]})
    >>> ax = plot_cumulative_transactions(table, calibration_end="2024-01-07")
    >>> [line.get_label() for line in ax.lines]
    ['actual', 'model', 'end of calibration']
    """
    func = "plot_cumulative_transactions"
    cols = ["actual_increment", "expected_increment"] if incremental else ["actual", "expected"]
    _check(table, ["date", *cols], func, "retention.expected_cumulative_transactions")
    ax = new_axes(ax, (9.0, 4.5))
    if incremental and "partial" in table.columns:
        table = table[~table["partial"].astype(bool)]  # a partial last interval looks like a drop
    dates = pd.to_datetime(table["date"]).to_numpy()
    ax.plot(dates, table[cols[0]].to_numpy(dtype=float), label="actual",
            **{"color": ACTUAL_COLOR, "linewidth": 2.0, **kwargs})
    ax.plot(dates, table[cols[1]].to_numpy(dtype=float), label="model",
            **{"color": MODEL_COLOR, "linewidth": 2.0, "linestyle": "--", **kwargs})
    end = calibration_end if calibration_end is not None else table.attrs.get("calibration_end")
    if end is not None:
        ax.axvline(pd.Timestamp(end).to_datetime64(), color="#808080", linestyle=":",
                   linewidth=1.5, label="end of calibration")
    interval = unit_name(table.attrs.get("interval"), default="period")
    ax.set_ylabel(f"Repeat transactions per {interval}" if incremental
                  else "Cumulative repeat transactions")
    ax.set_xlabel("")
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(number_formatter())
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False)
    return ax


# ---------------------------------------------------------------------------
# breakdowns
# ---------------------------------------------------------------------------


def _bars(
    ax: Axes,
    labels: list[str],
    table: pd.DataFrame,
    columns: list[str],
    fmt: str,
    bar_labels: bool,
    legend_labels: Mapping[str, str] | None,
    kwargs: dict[str, Any],
) -> None:
    """Bars (grouped when several columns) with value labels; percent axis for ``%`` formats."""
    import seaborn as sns

    x = np.arange(len(labels))
    width = 0.8 / len(columns)
    palette = sns.color_palette("crest", n_colors=max(len(columns), 2))
    if len(columns) == 2:
        palette = ["#9ecae1", "#08519c"]
    names = {**{c: _column_label(c) for c in columns}, **dict(legend_labels or {})}
    for i, col in enumerate(columns):
        style = {"color": palette[i], **kwargs}
        values = table[col].to_numpy(dtype=float)
        bars = ax.bar(x + (i - (len(columns) - 1) / 2) * width, values, width, label=names[col],
                      **style)
        if bar_labels:
            ax.bar_label(bars, labels=[_format(v, fmt) for v in values], padding=2,
                         fontsize="small")
    ax.set_xticks(x, labels)
    widest = max((len(s) for s in labels), default=0)
    if (len(labels) > 8 and widest > 4) or widest > 12:
        ax.tick_params(axis="x", rotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
            tick.set_rotation_mode("anchor")
    if _is_percent(fmt):
        ax.yaxis.set_major_formatter(percent_formatter())
    else:
        ax.yaxis.set_major_formatter(number_formatter())
    ax.margins(y=0.12)
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if len(columns) > 1:
        ax.legend(frameon=False)
        ax.set_ylabel("")
    else:
        ax.set_ylabel(names[columns[0]])


def plot_value_by_group(
    table: pd.DataFrame,
    value: str | Sequence[str] = "clv_per_customer",
    ax: Axes | None = None,
    *,
    by: str | None = None,
    fmt: str = ",.0f",
    bar_labels: bool = True,
    labels: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Axes:
    """Bars of a value per cohort or segment; side by side when several values are given.

    Parameters
    ----------
    table : DataFrame
        One row per group: :func:`retention.metrics.value.historical_value`,
        :func:`retention.predicted_value`, or the two merged on the group column.
    value : str or list of str, default "clv_per_customer"
        Column(s) to draw, e.g. ``["revenue_per_customer", "clv_per_customer"]``.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    by : str, optional
        Group column; default the first column of ``table``.
    fmt : str, default ",.0f"
        Format of the bar labels; a ``%`` format (``".0%"``) also puts the axis in percent.
    bar_labels : bool, default True
        Write each bar's value above it.
    labels : mapping, optional
        Legend / axis names of the value columns.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar`.

    Returns
    -------
    matplotlib Axes
        One bar container per value column in ``ax.containers``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"channel": ["email", "social"], "revenue_per_customer": [180.0, 80.0],
    ...                       "clv_per_customer": [86.0, 47.0]})
    >>> ax = plot_value_by_group(table, ["revenue_per_customer", "clv_per_customer"])
    >>> [t.get_text() for t in ax.get_xticklabels()], len(ax.containers)
    (['email', 'social'], 2)
    """
    func = "plot_value_by_group"
    columns = [value] if isinstance(value, str) else list(value)
    if not columns:
        raise ValueError(f"{func}: pass at least one value column.")
    require_columns(table, what=f"{func}: the table")
    by = by if by is not None else table.columns[0]
    _check(table, [by, *columns], func,
           "retention.metrics.value.historical_value or retention.predicted_value")
    non_numeric = [c for c in columns if not pd.api.types.is_numeric_dtype(table[c])]
    if non_numeric:
        raise ValueError(f"{func}: value column(s) {non_numeric} are not numeric.")
    ax = new_axes(ax, (max(6.0, 1.0 + 0.8 * len(table) * (1 + 0.4 * (len(columns) - 1))), 4.5))
    group_labels = ["(missing)" if pd.isna(v) else period_label(v) for v in table[by]]
    _bars(ax, group_labels, table, columns, fmt, bar_labels, labels, kwargs)
    ax.set_xlabel("Acquisition cohort" if by == "cohort" else _column_label(str(by)))
    return ax


def plot_deciles(
    deciles: pd.DataFrame,
    value: str | Sequence[str] = "share_of_value",
    ax: Axes | None = None,
    *,
    fmt: str = ".0%",
    bar_labels: bool = True,
    labels: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Axes:
    """Share of the value held by each decile of customers (1 = the most valuable tenth).

    A dashed line marks the equal share (1 / number of groups).

    Parameters
    ----------
    deciles : DataFrame
        :func:`retention.metrics.value.value_deciles` output.
    value : str or list of str, default "share_of_value"
        Column(s) to draw, e.g. ``["share_of_value", "revenue_share"]`` to compare the
        predicted value with a ``compare`` column.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    fmt : str, default ".0%"
        Format of the bar labels and the axis.
    bar_labels : bool, default True
        Write each bar's value above it.
    labels : mapping, optional
        Legend / axis names of the value columns.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar`.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.metrics.value import value_deciles
    >>> d = value_deciles(pd.Series(range(1, 21), name="clv", dtype=float))
    >>> ax = plot_deciles(d)
    >>> len(ax.patches)
    10
    """
    func = "plot_deciles"
    columns = [value] if isinstance(value, str) else list(value)
    _check(deciles, ["decile", *columns], func, "retention.metrics.value.value_deciles")
    ax = new_axes(ax, (8.0, 4.5))
    names = {"share_of_value": f"Share of {_lower_label(deciles.attrs.get('value', 'value'))}"}
    names.update(labels or {})
    _bars(ax, [str(d) for d in deciles["decile"]], deciles, columns, fmt, bar_labels, names,
          kwargs)
    if _is_percent(fmt):
        ax.axhline(1 / len(deciles), color="#808080", linestyle="--", linewidth=1,
                   label="equal share")
    n = len(deciles)
    group = {10: "Decile", 5: "Quintile", 4: "Quartile"}.get(n, "Group")
    ax.set_xlabel(f"{group} of customers by value (1 = the top {1 / n:.0%})")
    return ax


def plot_concentration(
    data: pd.DataFrame | pd.Series,
    value: str | None = "clv",
    ax: Axes | None = None,
    *,
    top: float | None = 0.2,
    **kwargs: Any,
) -> Axes:
    """Concentration (Lorenz-type) curve: share of the value held by the top x % of customers.

    Parameters
    ----------
    data : DataFrame or Series
        One row per customer.
    value : str, default "clv"
        Non-negative value column.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    top : float or None, default 0.2
        Mark and label the share held by this fraction of customers; None for no marker.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

    Returns
    -------
    matplotlib Axes
        ``ax.lines[0]`` the curve, ``ax.lines[1]`` the diagonal (equal value), then the marker.

    Examples
    --------
    >>> import pandas as pd
    >>> clv = pd.Series([100.0, 60.0, 10, 10, 5, 5, 4, 3, 2, 1], name="clv")
    >>> ax = plot_concentration(clv)
    >>> ax.texts[0].get_text()
    'top 20% of customers: 80% of predicted CLV'
    """
    curve = concentration_curve(data, value)
    column = value if value is not None and not isinstance(data, pd.Series) else (
        data.name if isinstance(data, pd.Series) and isinstance(data.name, str) else "value")
    name = _lower_label(column)
    ax = new_axes(ax, (5.5, 5.0))
    ax.plot(curve["share_of_customers"], curve["share_of_value"], label="customers ranked by value",
            **{"color": "#08519c", "linewidth": 2.0, **kwargs})
    ax.plot([0, 1], [0, 1], color="#808080", linestyle="--", linewidth=1, label="equal value")
    if top is not None:
        share = top_share(data, value, top)
        ax.plot([top, top, 0], [0, share, share], color=MODEL_COLOR, linestyle=":", linewidth=1.2)
        ax.annotate(f"top {top:.0%} of customers: {share:.0%} of {name}", (top, share),
                    xytext=(10, -18), textcoords="offset points", fontsize="small")
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Customers, most valuable first")
    ax.set_ylabel(f"Share of {name}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", frameon=False)
    return ax
