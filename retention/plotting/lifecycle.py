"""Lifecycle and stickiness plots.

Axes-level, in the seaborn sense: each function takes a table from
:mod:`retention.metrics.lifecycle`, draws on ``ax`` (a new figure when ``ax`` is None),
passes extra keyword arguments through to :meth:`matplotlib.axes.Axes.bar` and returns the
Axes. Shares are fractions in the data and percentages on the axes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retention.checks import numeric_columns, require_columns
from retention.periods import period_label, unit_name
from retention.plotting.cohorts import MAX_LABELS, new_axes, percent_formatter

if TYPE_CHECKING:  # matplotlib is imported by the functions that draw
    from matplotlib.axes import Axes

__all__ = ["plot_lifecycle", "plot_stickiness"]

#: Layers of the lifecycle chart, bottom to top above zero, then the one below zero.
LIFECYCLE_LAYERS: dict[str, str] = {
    "returning": "Returning",
    "new": "New",
    "resurrected": "Resurrected",
    "dormant": "Dormant",
}
#: Colour of each layer (colour-blind safe: blue, green, orange, vermilion).
LIFECYCLE_COLORS: dict[str, str] = {
    "returning": "#0072b2",
    "new": "#009e73",
    "resurrected": "#e69f00",
    "dormant": "#d55e00",
}
STICKINESS_COLOR = "#0072b2"
#: Look of the bars of a partial period.
PARTIAL_STYLE: dict[str, Any] = {"alpha": 0.5, "hatch": "//", "edgecolor": "0.25"}


def _period_ticks(ax: Axes, x: np.ndarray, periods: pd.Index) -> None:
    """Readable period labels under the bars, at most :data:`MAX_LABELS`, tilted if crowded."""
    step = math.ceil(len(x) / MAX_LABELS)
    labels = [period_label(p) for p in periods[::step]]
    ax.set_xticks(x[::step], labels)
    if len(labels) > 6 or max(len(t) for t in labels) > 8:
        ax.tick_params(axis="x", rotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
            tick.set_rotation_mode("anchor")


def plot_lifecycle(table: pd.DataFrame, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Lifecycle chart: per period, stacked bars of the customers who bought (returning,
    new, resurrected) above zero and of those who became dormant below zero.

    Parameters
    ----------
    table : DataFrame
        A lifecycle table (:func:`retention.lifecycle`): columns ``new``, ``returning``,
        ``resurrected`` and ``dormant`` (a count, drawn below zero), periods in the index or
        in a ``period`` column, and optionally ``partial``: those periods are drawn lighter
        and hatched, and labelled "partial".
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar` (``width``, ``edgecolor``...).

    Returns
    -------
    matplotlib Axes
        ``ax.containers`` holds one bar container per layer (returning, new, resurrected,
        dormant), each with one bar per period.

    Raises
    ------
    ValueError
        A column is missing or not numeric, or the table has no rows.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame(
    ...     {"new": [2, 1, 0], "returning": [0, 1, 1], "resurrected": [0, 0, 1],
    ...      "dormant": [0, 1, 2], "partial": [False, False, True]},
    ...     index=pd.period_range("2024-01", periods=3, freq="M", name="period"))
    >>> ax = plot_lifecycle(table)
    >>> len(ax.patches), [t.get_text() for t in ax.get_xticklabels()]
    (12, ['2024-01', '2024-02', '2024-03'])
    """
    func = "plot_lifecycle"
    what = f"{func}: the lifecycle table"
    require_columns(table, list(LIFECYCLE_LAYERS), what=what,
                    hint="Build it with retention.lifecycle.")
    numeric_columns(table, list(LIFECYCLE_LAYERS), what=what)
    if table.empty:
        raise ValueError(f"{what} has no rows; nothing to plot.")
    periods = pd.Index(table["period"]) if "period" in table.columns else table.index
    partial = (
        table["partial"].to_numpy(dtype=bool)
        if "partial" in table.columns
        else np.zeros(len(table), dtype=bool)
    )
    ax = new_axes(ax, (10.0, 5.0))
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for column, label in LIFECYCLE_LAYERS.items():
        values = table[column].to_numpy(dtype=float)
        heights = -values if column == "dormant" else values
        bars = ax.bar(
            x,
            heights,
            bottom=0.0 if column == "dormant" else bottom,
            label=label,
            **{"color": LIFECYCLE_COLORS[column], "edgecolor": "white", **kwargs},
        )
        for bar in np.asarray(bars.patches, dtype=object)[partial]:
            bar.set(**PARTIAL_STYLE)
        if column != "dormant":
            bottom = bottom + values
    for i in np.flatnonzero(partial):
        ax.annotate("partial", (x[i], bottom[i]), xytext=(0, 3), textcoords="offset points",
                    ha="right" if i == len(x) - 1 and i > 0 else "center", va="bottom",
                    fontsize="small", color="0.3")
    ax.axhline(0.0, color="0.2", linewidth=0.8)
    _period_ticks(ax, x, periods)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: format(abs(y), ",.0f")))
    ax.set_ylabel("Customers (dormant below zero)")
    ax.set_xlabel("Period")
    _lifecycle_legend(ax, partial.any())
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def _lifecycle_legend(ax: Axes, partial: bool) -> None:
    """Legend in the order of the layers on the chart, top to bottom, plus the partial key."""
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    order = [2, 1, 0, 3]  # resurrected, new, returning above zero; dormant below
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    if partial:
        handles.append(Patch(facecolor="0.85", **PARTIAL_STYLE))
        labels.append("Partial period (incomplete data)")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize="small", frameon=False)


def _share_label(share: float) -> str:
    """``"42%"``; ``"<1%"`` for a share that would round to 0% without being 0."""
    if np.isnan(share):
        return ""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def plot_stickiness(table: pd.DataFrame, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Bar chart of the customers by number of active periods in the window, labelled with
    their share.

    Parameters
    ----------
    table : DataFrame
        A stickiness table (:func:`retention.stickiness`): columns ``active_periods``,
        ``customers`` and ``share``. ``attrs["freq"]`` and ``attrs["start"]`` /
        ``attrs["end"]``, when present, name the periods on the axis and in the title.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar` (``color``, ``width``...).

    Returns
    -------
    matplotlib Axes
        One bar per row of the table (the height is the share), labelled with the share as
        a percentage ("<1%" for a share that rounds to 0% but is not 0).

    Raises
    ------
    ValueError
        A column is missing or not numeric, or the table has no rows.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"active_periods": [1, 2, 3], "customers": [6, 3, 1],
    ...                       "share": [0.6, 0.3, 0.1]})
    >>> ax = plot_stickiness(table)
    >>> len(ax.patches), [t.get_text() for t in ax.texts]
    (3, ['60%', '30%', '10%'])
    """
    func = "plot_stickiness"
    what = f"{func}: the stickiness table"
    columns = ["active_periods", "customers", "share"]
    require_columns(table, columns, what=what, hint="Build it with retention.stickiness.")
    numeric_columns(table, columns, what=what)
    if table.empty:
        raise ValueError(f"{what} has no rows; nothing to plot.")
    unit = unit_name(table.attrs.get("freq"), default="period")
    x = table["active_periods"].to_numpy()
    share = table["share"].to_numpy(dtype=float)
    ax = new_axes(ax)
    bars = ax.bar(x, np.nan_to_num(share), **{"color": STICKINESS_COLOR, **kwargs})
    ax.bar_label(bars, labels=[_share_label(s) for s in share], padding=2, fontsize="small")
    ax.set_xticks(x)
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_ylim(0.0, max(float(np.nanmax(share, initial=0.0)), 0.01) * 1.15)
    ax.set_xlabel(f"Active {unit}s in the window")
    ax.set_ylabel("Share of the customers")
    if "start" in table.attrs and "end" in table.attrs:
        ax.set_title(
            f"Customers who bought in {table.attrs['start']} .. {table.attrs['end']}"
            f" (n={int(table['customers'].sum()):,})",
            fontsize="medium",
        )
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return ax
