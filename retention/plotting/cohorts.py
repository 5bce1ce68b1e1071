"""Cohort plots: retention heatmap, retention curves, layer cake, cumulative revenue.

Every function is axes-level in the seaborn sense: it takes a cohort table (long form, as
returned by ``cohort_table``) or a retention matrix (wide form, as returned by
``retention_matrix``), draws on ``ax`` (a new figure when ``ax`` is None), passes extra
keyword arguments through to the underlying seaborn/matplotlib call and returns the Axes.
Rates are fractions in the data and are shown as percentages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retention.checks import as_list, numeric_columns, require_columns, whole_number
from retention.metrics.cohorts import (
    AVERAGE_LABEL,
    cohort_sizes,
    matrix_average,
    pivot_cohorts,
    split_summary_rows,
)
from retention.periods import period_label

if TYPE_CHECKING:  # matplotlib and seaborn are imported by the functions that draw
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, PercentFormatter, StrMethodFormatter

__all__ = [
    "plot_cohort_heatmap",
    "plot_compared_curves",
    "plot_cumulative_revenue",
    "plot_layer_cake",
    "plot_retention_curves",
]

PERIOD_AXIS_LABEL = "Periods since first purchase"
COHORT_AXIS_LABEL = "Acquisition cohort"

#: Sequential colour map of the heatmap (light = low, dark = high).
HEATMAP_CMAP = "YlGnBu"
#: Palette of the per-cohort lines and layers, ordered from oldest to newest cohort.
COHORT_PALETTE = "crest"
AVERAGE_COLOR = "#1a1a1a"
HIGHLIGHT_COLOR = "#e6550d"
#: Cells of cohorts under ``min_customers`` in the heatmap: grey, hatched, off the scale.
SMALL_COHORT_STYLE: dict[str, Any] = {
    "facecolor": "#f0f0f0",
    "edgecolor": "#9e9e9e",
    "hatch": "///",
    "linewidth": 0.0,
}
SMALL_COHORT_TEXT_COLOR = "#333333"
#: At most this many cohorts in a legend / calendar periods labelled on an x axis.
MAX_LABELS = 12
_COHORT_TABLE_HINT = "Build it with retention.cohort_table."


# ---------------------------------------------------------------------------
# Private helpers shared by the plot functions
# ---------------------------------------------------------------------------


def percent_formatter(decimals: int = 0) -> PercentFormatter:
    """Tick formatter showing fractions as percentages (0.4 -> ``"40%"``)."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=decimals)


def number_formatter(fmt: str = ",.0f") -> FuncFormatter:
    """Tick formatter for plain quantities (counts, currency) with thousands separators."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: format(x, fmt))


def tick_formatter(fmt: str) -> PercentFormatter | StrMethodFormatter:
    """Colour-bar formatter matching an annotation format spec (``".0%"``, ``",.0f"``...)."""
    match = re.search(r"\.(\d+)%$", fmt)
    if match:
        return percent_formatter(int(match.group(1)))
    if fmt.endswith("%"):
        return percent_formatter(0)
    from matplotlib.ticker import StrMethodFormatter

    return StrMethodFormatter("{x:" + fmt + "}")


def new_axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 5.0)) -> Axes:
    """Return ``ax``, or the Axes of a new figure of ``figsize`` when it is None."""
    if ax is None:
        import matplotlib.pyplot as plt

        _fig, ax = plt.subplots(figsize=figsize)
    return ax


def _numeric_matrix(matrix: Any, func: str) -> pd.DataFrame:
    """Validate a wide matrix (DataFrame, non-empty, numeric) and return it as float."""
    if not isinstance(matrix, pd.DataFrame):
        raise TypeError(
            f"{func} expects a retention matrix as a pandas DataFrame "
            f"(index = cohort, columns = period), got {type(matrix).__name__}."
        )
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"{func}: the matrix is empty (shape {matrix.shape}); nothing to plot.")
    numeric_columns(matrix, what=f"{func}: the matrix")
    values = pd.DataFrame(
        matrix.to_numpy(dtype=float, na_value=np.nan), index=matrix.index, columns=matrix.columns
    )
    values.attrs = dict(matrix.attrs)
    if values.isna().all().all():
        raise ValueError(
            f"{func}: every cell of the matrix is NaN (unobservable); nothing to plot."
        )
    return values


def _long_to_matrix(long: Any, value: str, func: str) -> tuple[pd.DataFrame, pd.Series]:
    """Pivot a long cohort table to (cohort x period matrix of ``value``, cohort sizes).

    Rows flagged ``observed == False`` become NaN whatever their value.
    """
    require_columns(
        long,
        ["cohort", "period", value, "cohort_size"],
        what=f"{func}: the cohort table",
        hint=_COHORT_TABLE_HINT,
    )
    keys = long[["cohort", "period"]]
    duplicated = keys.duplicated()
    if duplicated.any():
        segment = "" if long.columns[0] == "cohort" else f" (by {long.columns[0]!r})"
        examples = [tuple(map(period_label, k)) for k in keys[duplicated].head(3).itertuples(False)]
        raise ValueError(
            f"{func}: {int(duplicated.sum())} duplicate (cohort, period) row(s), e.g. {examples}; "
            f"the table seems split into segments{segment}. Select one segment first."
        )
    if long.empty:
        raise ValueError(f"{func}: the cohort table has no rows; nothing to plot.")
    observed = (
        long["observed"].astype(bool)
        if "observed" in long.columns
        else pd.Series(True, index=long.index)
    )
    values = pd.to_numeric(long[value], errors="coerce").astype(float)
    frame = pd.DataFrame(
        {
            "cohort": long["cohort"],
            "period": long["period"],
            "cohort_size": long["cohort_size"],
            "observed": observed,
            value: values.where(observed),
        }
    )
    matrix = pivot_cohorts(frame, value)
    sizes = cohort_sizes(matrix)
    order = matrix.index.argsort()
    matrix = matrix.iloc[order].reindex(columns=sorted(matrix.columns))
    return matrix, sizes.iloc[order]


def _draw_cohort_lines(
    ax: Axes,
    matrix: pd.DataFrame,
    avg: pd.Series | None,
    *,
    avg_label: str,
    highlight: Any,
    kwargs: dict[str, Any],
) -> tuple[list[Line2D], Line2D | None]:
    """One light line per cohort (oldest dark -> newest light), plus a bold average line.

    Lines are labelled with the cohort label; the legend shows the oldest and newest
    cohorts (to read the colour order), highlighted cohorts and the average.
    """
    import seaborn as sns
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    kwargs = normalize_kwargs(kwargs, Line2D)
    labels = [period_label(c) for c in matrix.index]
    wanted = as_list(highlight)
    wanted_labels = {period_label(h) for h in wanted}
    unknown = sorted(wanted_labels - set(labels))
    if unknown:
        raise ValueError(
            f"highlight={unknown} is not a cohort of the table; cohorts are "
            f"{labels[:3] + ['...'] + labels[-3:] if len(labels) > 6 else labels}."
        )
    colors = sns.color_palette(COHORT_PALETTE + "_r", n_colors=max(len(labels), 1))
    lines: list[Line2D] = []
    handles: list[Line2D] = []
    names: list[str] = []
    for i, (label, (_, row)) in enumerate(zip(labels, matrix.iterrows(), strict=True)):
        row = row.dropna()
        style = {"color": colors[i], "linewidth": 1.0, "alpha": 0.6, **kwargs}
        if label in wanted_labels:
            style.update(color=HIGHLIGHT_COLOR, alpha=1.0, zorder=3)
            style["linewidth"] = max(float(style["linewidth"]), 2.0)
        (line,) = ax.plot(row.index.to_numpy(dtype=float), row.to_numpy(), label=label, **style)
        lines.append(line)
        if label in wanted_labels:
            handles.append(line)
            names.append(label)
        elif len(labels) > 1 and i in (0, len(labels) - 1):
            handles.append(line)
            names.append(f"{label} ({'oldest' if i == 0 else 'newest'})")
    avg_line = None
    if avg is not None:
        avg = avg.dropna()
        avg_kwargs = {k: v for k, v in kwargs.items() if k not in ("color", "c", "alpha")}
        avg_kwargs["linewidth"] = max(float(kwargs.get("linewidth", 1.0)), 1.0) * 3
        (avg_line,) = ax.plot(
            avg.index.to_numpy(dtype=float),
            avg.to_numpy(),
            label=avg_label,
            **{"color": AVERAGE_COLOR, "zorder": 4, **avg_kwargs},
        )
        handles.append(avg_line)
        names.append(avg_label)
    ax.legend(handles, names, fontsize="small", frameon=False)
    ax.set_xlabel(PERIOD_AXIS_LABEL)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    return lines, avg_line


def _annotation_fontsize(ax: Axes, values: pd.DataFrame, fmt: str) -> float:
    """Largest font size (4..10 pt) at which the widest annotation fits in a cell."""
    bbox = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted())
    cell_w = bbox.width * 72 * 0.85 / values.shape[1]  # ~15% of the width goes to the colour bar
    cell_h = bbox.height * 72 / values.shape[0]
    finite = values.to_numpy()[values.notna().to_numpy()]
    widest = max((len(("{:" + fmt + "}").format(v)) for v in finite), default=4)
    size = min(cell_h * 0.55, cell_w * 0.8 / (0.7 * widest), 10.0)
    return float(max(size, 4.0))


def _small_cohort_cells(
    matrix: pd.DataFrame,
    values: pd.DataFrame,
    n_cohorts: int,
    min_customers: int | None,
    func: str,
) -> np.ndarray:
    """Boolean mask of the cells of cohort rows with fewer than ``min_customers`` customers."""
    small = np.zeros(values.shape, dtype=bool)
    if min_customers is None:
        return small
    min_customers = whole_number("min_customers", min_customers)
    sizes = cohort_sizes(matrix)
    if sizes is None:
        raise ValueError(
            f"{func}: min_customers={min_customers} needs the cohort sizes, but the matrix "
            "has no attrs['cohort_size']; build it with retention_matrix."
        )
    small[:n_cohorts] = (sizes.to_numpy()[:n_cohorts] < min_customers)[:, None]
    return small


def _draw_small_cohort_cells(
    ax: Axes,
    values: pd.DataFrame,
    hatched: np.ndarray,
    *,
    annot: bool,
    fmt: str,
    annot_kws: dict[str, Any],
) -> None:
    """Grey hatched cells, with their value, where the heatmap left ``hatched`` cells blank."""
    from matplotlib.patches import Rectangle

    for row, col in zip(*np.nonzero(hatched), strict=True):
        ax.add_patch(Rectangle((col, row), 1, 1, gid="small-cohort", **SMALL_COHORT_STYLE))
        if annot:
            text = ("{:" + fmt + "}").format(values.iat[row, col])
            style = {"color": SMALL_COHORT_TEXT_COLOR, **annot_kws}
            ax.text(col + 0.5, row + 0.5, text, ha="center", va="center", **style)


def _small_cohort_legend(ax: Axes, min_customers: int) -> None:
    """Key of the hatched cells, above the Axes on the right (and below the title)."""
    from matplotlib.patches import Patch

    handle = Patch(**SMALL_COHORT_STYLE)
    label = f"cohorts under {min_customers:,} customers (not on the colour scale)"
    legend = ax.legend(
        [handle],
        [label],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        borderaxespad=0.2,
        fontsize="small",
        frameon=False,
    )
    if ax.get_title():
        # lift the title above the key: one line of legend text and its padding
        import matplotlib as mpl

        lift = 2.0 * legend.get_texts()[0].get_fontsize()
        ax.set_title(ax.get_title(), pad=mpl.rcParams["axes.titlepad"] + lift)


# ---------------------------------------------------------------------------
# Public plot functions
# ---------------------------------------------------------------------------


def plot_cohort_heatmap(
    matrix: pd.DataFrame,
    ax: Axes | None = None,
    *,
    annot: bool = True,
    fmt: str = ".0%",
    cmap: Any = HEATMAP_CMAP,
    show_sizes: bool = True,
    vmin: float | None = 0,
    vmax: float | None = None,
    title: str | None = None,
    min_customers: int | None = None,
    **kwargs: Any,
) -> Axes:
    """Cohort-retention heatmap: one row per acquisition cohort, one column per period.

    Parameters
    ----------
    matrix : DataFrame
        Wide retention matrix as returned by ``retention_matrix``: index = cohort (a
        ``PeriodIndex``), columns = period offsets 0..K, values = fractions (or any numbers,
        e.g. revenue retention above 1 or currency with ``fmt=",.0f"``). NaN marks cells not
        yet observable; they are masked (left blank), never drawn as 0. Trailing rows
        labelled with a string containing "average" (e.g. ``"weighted average"``) are
        separated from the cohorts by a line. ``matrix.attrs["cohort_size"]`` (a Series
        indexed like the matrix), when present, gives the sizes shown next to the labels.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure sized to the matrix.
    annot : bool, default True
        Write the value in each observable cell. The font shrinks with the cell size.
    fmt : str, default ".0%"
        Format spec of the annotations and of the colour-bar ticks (``".1%"``, ``",.0f"``...).
    cmap : matplotlib colormap or name, default "YlGnBu"
        Sequential map, light for low values and dark for high ones.
    show_sizes : bool, default True
        Append ``(n=size)`` to the cohort labels when the matrix carries cohort sizes.
    vmin : float or None, default 0
        Bottom of the colour scale.
    vmax : float or None, default None
        Top of the colour scale. By default the largest value outside period 0: period 0 is
        100% by definition and would otherwise squeeze every later period into the light end
        of the map. Cells above ``vmax`` get the darkest colour (the colour bar shows an arrow).
    title : str, optional
        Axes title.
    min_customers : int, optional
        Cohorts with fewer customers than this (from ``matrix.attrs["cohort_size"]``) are
        too small to read: their cells are drawn light grey and hatched, with their value
        written in them, and left out of the colour scale, so one tiny cohort at 100% does
        not wash out every other cell. The default ``vmin`` / ``vmax`` are computed from
        the other cells (from every cell when all cohorts are small) and the colour bar
        does not cover the hatched cells. A legend above the Axes, on the right, reads
        "cohorts under N customers (not on the colour scale)". Summary rows are never
        hatched. By default every cohort is drawn in colour.
    **kwargs
        Passed to :func:`seaborn.heatmap` (``linewidths``, ``cbar``, ``cbar_kws``,
        ``annot_kws``, ``mask``...). A ``mask`` is combined with the NaN mask.

    Returns
    -------
    matplotlib Axes
        With ``min_customers``, the hatched cells are the patches with gid
        ``"small-cohort"`` in ``ax.patches`` and their values follow the other annotations
        in ``ax.texts``.

    Raises
    ------
    ValueError
        If the matrix is empty, has non-numeric columns or holds no observable value, or
        if ``min_customers`` is given and the matrix carries no cohort sizes.

    Examples
    --------
    >>> import pandas as pd
    >>> cohorts = pd.period_range("2024-01", periods=3, freq="M", name="cohort")
    >>> m = pd.DataFrame([[1.0, 0.4, 0.3], [1.0, 0.5, None], [1.0, None, None]],
    ...                  index=cohorts, columns=pd.Index([0, 1, 2], name="period"))
    >>> m.attrs["cohort_size"] = pd.Series([120, 95, 80], index=cohorts)
    >>> ax = plot_cohort_heatmap(m)
    >>> ax.get_yticklabels()[0].get_text()
    '2024-01  (n=120)'
    >>> ax = plot_cohort_heatmap(m, min_customers=100)
    >>> len([p for p in ax.patches if p.get_gid() == "small-cohort"])
    3
    """
    func = "plot_cohort_heatmap"
    values = _numeric_matrix(matrix, func)
    n_rows, n_cols = values.shape
    cohort_rows, summary_rows = split_summary_rows(values)
    small = _small_cohort_cells(matrix, values, len(cohort_rows), min_customers, func)

    # Row labels: readable periods, optionally with the cohort size.
    sizes = cohort_sizes(matrix) if show_sizes else None
    row_labels = []
    for label in values.index:
        text = period_label(label)
        size = None if sizes is None else sizes.get(label)
        if size is not None and not pd.isna(size):
            text += f"  (n={size:,.0f})"
        row_labels.append(text)

    # Colour scale: ignore period 0 (always 100%) and small cohorts when choosing the top.
    on_scale = ~small & values.notna().to_numpy()
    scaled = values.mask(small) if small.any() and on_scale.any() else values
    cells = scaled.to_numpy()
    if vmax is None and kwargs.get("norm") is None:
        later = scaled.drop(columns=[0]) if 0 in values.columns and n_cols > 1 else scaled
        candidate = np.nanmax(later.to_numpy()) if later.notna().any().any() else np.nan
        if np.isnan(candidate) or (vmin is not None and candidate <= vmin):
            candidate = np.nanmax(cells)
        vmax = None if vmin is not None and candidate <= vmin else float(candidate)

    if ax is None:
        width = min(max(6.0, 3.5 + 0.5 * n_cols), 20.0)
        height = min(max(3.5, 1.5 + 0.35 * n_rows), 16.0)
        ax = new_axes(None, (width, height))

    cbar_kws = {"format": tick_formatter(fmt), **(kwargs.pop("cbar_kws", None) or {})}
    if vmax is not None and np.nanmax(cells) > vmax:
        cbar_kws.setdefault("extend", "max")

    annot_kws = dict(kwargs.pop("annot_kws", None) or {})
    if annot and "fontsize" not in annot_kws and "size" not in annot_kws:
        annot_kws["fontsize"] = _annotation_fontsize(ax, values, fmt)

    mask = values.isna().to_numpy()
    user_mask = kwargs.pop("mask", None)
    if user_mask is not None:
        mask = mask | np.asarray(user_mask, dtype=bool)
    hatched = small & ~mask

    kwargs.setdefault("linewidths", 0.5)
    kwargs.setdefault("linecolor", "white")
    plot_data = pd.DataFrame(
        values.to_numpy(), index=row_labels, columns=[period_label(c) for c in values.columns]
    )
    import seaborn as sns

    sns.heatmap(
        plot_data,
        ax=ax,
        annot=annot,
        fmt=fmt,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        mask=mask | hatched,
        cbar_kws=cbar_kws,
        annot_kws=annot_kws,
        **kwargs,
    )
    ax.tick_params(axis="y", rotation=0)
    ax.tick_params(axis="x", rotation=0)
    ax.set_xlabel(PERIOD_AXIS_LABEL)
    ax.set_ylabel(COHORT_AXIS_LABEL)
    if title is not None:
        ax.set_title(title)

    if len(summary_rows) and len(cohort_rows):
        ax.axhline(len(cohort_rows), color=AVERAGE_COLOR, linewidth=2.0, gid="summary-separator")
    summary_texts = set(row_labels[len(cohort_rows) :])
    for tick in ax.get_yticklabels():
        if tick.get_text() in summary_texts:
            tick.set_fontweight("bold")
    if min_customers is not None:
        _draw_small_cohort_cells(ax, values, hatched, annot=annot, fmt=fmt, annot_kws=annot_kws)
        _small_cohort_legend(ax, min_customers)
    return ax


def plot_retention_curves(
    long_or_matrix: pd.DataFrame,
    ax: Axes | None = None,
    *,
    average: bool = True,
    highlight: Hashable | Sequence[Hashable] | None = None,
    **kwargs: Any,
) -> Axes:
    """Retention curve of every cohort, plus the size-weighted average curve in bold.

    Parameters
    ----------
    long_or_matrix : DataFrame
        Either a long cohort table (columns ``cohort``, ``period``, ``retention``,
        ``cohort_size``; rows with ``observed == False`` are ignored) or a wide retention
        matrix (index = cohort, columns = period; sizes from ``attrs["cohort_size"]``, and
        summary rows such as ``"weighted average"`` are ignored and recomputed).
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    average : bool, default True
        Draw the average curve: at each period, the retention of the cohorts observable in
        that period, weighted by cohort size (unobservable cells are left out of both the
        values and the weights). Without sizes (matrix without ``attrs``), the plain mean.
    highlight : cohort or list of cohorts, optional
        Cohorts to emphasise (a ``Period`` or its label, e.g. ``"2024-03"``).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for every cohort line (``linewidth``,
        ``alpha``, ``marker``...). The average line keeps its colour and is three times
        as thick.

    Returns
    -------
    matplotlib Axes
        Lines in ``ax.lines``: one per cohort (oldest first, labelled with the cohort), then
        the average (labelled ``"weighted average"``).

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "cohort": pd.PeriodIndex(["2024-01"] * 2 + ["2024-02"] * 2, freq="M"),
    ...     "period": [0, 1, 0, 1],
    ...     "cohort_size": [100, 100, 300, 300],
    ...     "retention": [1.0, 0.4, 1.0, 0.2],
    ... })
    >>> ax = plot_retention_curves(long)
    >>> [round(float(y), 2) for y in ax.lines[-1].get_ydata()]
    [1.0, 0.25]
    """
    func = "plot_retention_curves"
    if isinstance(long_or_matrix, pd.DataFrame) and {"cohort", "period"} <= set(
        long_or_matrix.columns
    ):
        matrix, sizes = _long_to_matrix(long_or_matrix, "retention", func)
    else:
        values = _numeric_matrix(long_or_matrix, func)
        matrix, _summary = split_summary_rows(values)
        if matrix.empty:
            raise ValueError(f"{func}: the matrix has no cohort rows, only summary rows.")
        sizes = cohort_sizes(long_or_matrix)
        sizes = None if sizes is None else sizes.loc[matrix.index]
        matrix.columns = pd.to_numeric(matrix.columns)
    ax = new_axes(ax)
    avg = matrix_average(matrix, sizes) if average else None
    avg_label = AVERAGE_LABEL if sizes is not None else "average (unweighted)"
    _draw_cohort_lines(ax, matrix, avg, avg_label=avg_label, highlight=highlight, kwargs=kwargs)
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_ylim(bottom=0)
    ax.set_ylabel("Customers still active")
    return ax


def plot_cumulative_revenue(
    long: pd.DataFrame,
    ax: Axes | None = None,
    *,
    average: bool = True,
    highlight: Hashable | Sequence[Hashable] | None = None,
    **kwargs: Any,
) -> Axes:
    """Cumulative revenue per acquired customer, by periods since first purchase.

    One line per cohort (its ``cumulative_revenue_per_customer``) plus a size-weighted
    average in bold.

    Parameters
    ----------
    long : DataFrame
        Long cohort table with columns ``cohort``, ``period``, ``cohort_size`` and
        ``cumulative_revenue_per_customer``; rows with ``observed == False`` are ignored.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    average : bool, default True
        Draw the average line: the running total of the per-period increments
        (``cum[k] - cum[k-1]``), each averaged over the cohorts observable in period k and
        weighted by cohort size. Where every cohort is observable this is the weighted
        average of the cumulative values; at long horizons, observed only for the oldest
        cohorts, it does not fall merely because the mix of cohorts changes (a cumulative
        quantity cannot fall).
    highlight : cohort or list of cohorts, optional
        Cohorts to emphasise (a ``Period`` or its label).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for every cohort line.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "cohort": pd.PeriodIndex(["2024-01"] * 2 + ["2024-02"], freq="M"),
    ...     "period": [0, 1, 0],
    ...     "cohort_size": [10, 10, 30],
    ...     "cumulative_revenue_per_customer": [50.0, 80.0, 40.0],
    ... })
    >>> ax = plot_cumulative_revenue(long)
    >>> [float(y) for y in ax.lines[-1].get_ydata()]
    [42.5, 72.5]
    """
    func = "plot_cumulative_revenue"
    matrix, sizes = _long_to_matrix(long, "cumulative_revenue_per_customer", func)
    ax = new_axes(ax)
    avg = matrix_average(matrix, sizes, cumulative=True) if average else None
    _draw_cohort_lines(
        ax, matrix, avg, avg_label=AVERAGE_LABEL, highlight=highlight, kwargs=kwargs
    )
    ax.yaxis.set_major_formatter(number_formatter())
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.set_ylabel("Cumulative revenue per customer")
    return ax


def plot_layer_cake(
    long: pd.DataFrame,
    ax: Axes | None = None,
    *,
    value: str = "customers",
    **kwargs: Any,
) -> Axes:
    """Layer cake: active customers (or revenue) over calendar time, stacked by cohort.

    The oldest cohort is the bottom layer; each new cohort adds a layer on top, so the
    top edge is the total for the calendar period and the thickness of a layer shows how
    much of it the cohort still contributes.

    Parameters
    ----------
    long : DataFrame
        Long cohort table with columns ``cohort``, ``calendar_period`` and ``value``. Rows
        with ``observed == False`` or a NaN value are left out, calendar periods with no
        observed row are not drawn, and a cohort contributes 0 before it is acquired. Rows
        of several segments (a segment column) are added up.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    value : str, default "customers"
        Column to stack: ``"customers"`` (active customers) or ``"revenue"`` (or any
        other numeric column of the table, e.g. ``"orders"``).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.stackplot` (``alpha``, ``colors``,
        ``edgecolor``...).

    Returns
    -------
    matplotlib Axes
        ``ax.collections`` holds one stacked layer per cohort, oldest first. The legend
        lists the cohorts newest first, one in every k when there are more than 12.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "cohort": pd.PeriodIndex(["2024-01", "2024-01", "2024-02"], freq="M"),
    ...     "calendar_period": pd.PeriodIndex(["2024-01", "2024-02", "2024-02"], freq="M"),
    ...     "customers": [100, 40, 80],
    ... })
    >>> ax = plot_layer_cake(long)
    >>> len(ax.collections)
    2
    """
    func = "plot_layer_cake"
    if not isinstance(value, str):
        raise TypeError(f"{func}: value must be a column name, got {value!r}.")
    require_columns(
        long,
        ["cohort", "calendar_period", value],
        what=f"{func}: the cohort table",
        hint=_COHORT_TABLE_HINT,
    )
    amounts = pd.to_numeric(long[value], errors="coerce").astype(float)
    keep = amounts.notna()
    if "observed" in long.columns:
        keep &= long["observed"].astype(bool)
    frame = pd.DataFrame(
        {"cohort": long["cohort"], "calendar_period": long["calendar_period"], "value": amounts}
    )[keep]
    if frame.empty:
        raise ValueError(
            f"{func}: no observed {value!r} values in the cohort table; nothing to plot."
        )
    table = (
        frame.groupby(["calendar_period", "cohort"], sort=True)["value"]
        .sum()
        .unstack("cohort", fill_value=0.0)
        .sort_index()
    )
    table = table.reindex(columns=sorted(table.columns), fill_value=0.0)

    ax = new_axes(ax, (10.0, 5.0))
    cohorts = [period_label(c) for c in table.columns]
    x = np.arange(len(table))
    if "colors" in kwargs:
        colors = kwargs.pop("colors")
    else:
        import seaborn as sns

        colors = sns.color_palette(COHORT_PALETTE + "_r", n_colors=len(cohorts))
    kwargs.setdefault("edgecolor", "white")
    kwargs.setdefault("linewidth", 0.3)
    layers = ax.stackplot(x, table.to_numpy().T, labels=cohorts, colors=colors, **kwargs)

    # Legend: newest (top layer) first; at most MAX_LABELS entries, always the newest.
    step = math.ceil(len(layers) / MAX_LABELS)
    shown = list(range(len(layers) - 1, -1, -step))
    title = "Cohort" if step == 1 else f"Cohort (1 in {step} shown)"
    ax.legend(
        [layers[i] for i in shown],
        [cohorts[i] for i in shown],
        title=title,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize="small",
        frameon=False,
    )
    # x axis: calendar periods as labels, thinned to at most MAX_LABELS.
    xstep = math.ceil(len(x) / MAX_LABELS)
    tick_labels = [period_label(p) for p in table.index[::xstep]]
    ax.set_xticks(x[::xstep], tick_labels)
    # Tilt the labels when, side by side, they would fill the width of the Axes.
    axes_inches = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted()).width
    fontsize = ax.get_xticklabels()[0].get_fontsize()
    label_inches = sum(len(t) + 1 for t in tick_labels) * 0.58 * fontsize / 72
    if label_inches > axes_inches:
        import matplotlib.pyplot as plt

        ax.tick_params(axis="x", rotation=45)
        plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    if len(x) > 1:
        ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("Calendar period")
    ax.set_ylabel(
        "Active customers" if value == "customers" else value.replace("_", " ").capitalize()
    )
    ax.yaxis.set_major_formatter(number_formatter())
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def _one_line(value: Any) -> str:
    """A label from the data as one line of printable text (control characters as spaces)."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value))


def plot_compared_curves(compared: pd.DataFrame, by: str, ax: Axes | None = None,
                         **kwargs: Any) -> Axes:
    """Retention curve of each segment with its interval band, from
    :func:`retention.compare_curves`.

    Parameters
    ----------
    compared : DataFrame
        :func:`retention.compare_curves` output: ``period``, the ``by`` column,
        ``retention``, ``retention_low``, ``retention_high``; its
        ``attrs["overall_p_value"]``, when present, goes into the title.
    by : str
        The segment column.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot`.

    Returns
    -------
    matplotlib Axes
        One line and one band per segment.

    Examples
    --------
    >>> import warnings
    >>> import retention as rt
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     tx = rt.load_transactions(rt.sample_path())
    >>> compared = rt.compare_curves(rt.cohort_table(tx, "M", by="channel"), "channel")
    >>> ax = plot_compared_curves(compared, "channel")
    >>> len(ax.get_lines()) == tx["channel"].nunique()
    True
    """
    import seaborn as sns

    require_columns(compared, ["period", by, "retention", "retention_low", "retention_high"],
                    what="compared curves")
    ax = new_axes(ax, (9.0, 4.5))
    later = compared[compared["period"] > 0]
    segments = list(pd.unique(later[by]))
    for segment, color in zip(segments, sns.color_palette("colorblind", len(segments)),
                              strict=True):
        rows = later[later[by] == segment].sort_values("period")
        ax.plot(rows["period"], rows["retention"], color=color, label=_one_line(segment),
                **kwargs)
        ax.fill_between(rows["period"], rows["retention_low"], rows["retention_high"],
                        color=color, alpha=0.15, linewidth=0)
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_ylim(bottom=0)
    ax.set_xlabel(PERIOD_AXIS_LABEL)
    ax.set_ylabel("Customers active (pooled over cohorts)")
    p = compared.attrs.get("overall_p_value")
    level = compared.attrs.get("level", 0.95)
    title = f"Retention by {_one_line(by)}, {level:.0%} intervals"
    if p is not None and not math.isnan(p):
        title += f"; curves differ: p = {p:.2g}"
    ax.set_title(title)
    ax.legend(title=_one_line(by), frameon=False)
    ax.grid(alpha=0.3)
    return ax
