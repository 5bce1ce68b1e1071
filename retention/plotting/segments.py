"""Plots of the RFM segments: the R x FM grid and the movement between two dates.

Axes-level, in the seaborn sense: each function takes a table from
:mod:`retention.metrics.segments`, draws on ``ax`` (a new figure when ``ax`` is None),
passes extra keyword arguments through to the underlying matplotlib/seaborn call and returns
the Axes. Shares are fractions in the data and percentages on the plots.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retention.checks import require_columns
from retention.metrics.segments import (
    SegmentMovement,
    grid_counts,
    segment_grid,
)
from retention.plotting.cohorts import HEATMAP_CMAP, new_axes, tick_formatter

if TYPE_CHECKING:  # matplotlib and seaborn are imported by the functions that draw
    from matplotlib.axes import Axes

__all__ = ["SEGMENT_COLORS", "plot_segment_grid", "plot_segment_movement"]

#: Colours of the default segments: greens for the best, blues for the new, ambers for
#: those slipping, reds for those at risk, greys for the gone.
SEGMENT_COLORS: dict[str, str] = {
    "Champions": "#1b7837",
    "Loyal": "#5aae61",
    "Potential loyalist": "#a6dba0",
    "New": "#2166ac",
    "Promising": "#92c5de",
    "Need attention": "#fee08b",
    "About to sleep": "#fdb863",
    "At risk": "#e08214",
    "Can't lose them": "#b2182b",
    "Hibernating": "#bababa",
    "Lost": "#878787",
}

R_AXIS_LABEL = "R score (recency: higher = bought more recently)"
FM_AXIS_LABEL = "FM score (average of frequency and monetary scores)"


def _text_color(color: Any) -> str:
    """Black or white, whichever reads better on ``color``."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(color)
    return "#1a1a1a" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _palette(names: list[str], palette: Any) -> dict[str, Any]:
    if isinstance(palette, dict):
        missing = [n for n in names if n not in palette]
        if missing:
            raise ValueError(f"palette has no colour for segment(s) {missing}.")
        return {n: palette[n] for n in names}
    import seaborn as sns

    extra = [n for n in names if n not in SEGMENT_COLORS]
    colors = dict(SEGMENT_COLORS) if palette is None else {}
    fill = sns.color_palette(palette if palette is not None else "tab20",
                             len(extra) if palette is None else len(names))
    for name, color in zip(extra if palette is None else names, fill, strict=False):
        colors[name] = color
    return {n: colors[n] for n in names}


def _cells(data: Any) -> tuple[pd.DataFrame, bool]:
    """The (R, FM) cells: from rfm_segments, grid_counts or a segment_grid table."""
    if isinstance(data, pd.DataFrame) and {"R", "FM", "segment", "customers"} <= set(data.columns):
        return data, True
    if isinstance(data, pd.DataFrame) and {"R", "FM", "segment"} <= set(data.columns):
        return grid_counts(data), True
    if isinstance(data, pd.DataFrame) and data.shape[0] == data.shape[1] and len(data) > 1:
        try:
            grid = segment_grid(data, bins=len(data))
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"plot_segment_grid expects rfm_segments output, grid_counts output or a "
                f"segment_grid table (index R, columns FM); as a grid: {err}"
            ) from None
        long = grid.stack().rename("segment").reset_index()
        long.attrs["segments"] = grid.attrs["segments"]
        return long, False
    raise ValueError(
        "plot_segment_grid expects rfm_segments output, grid_counts output or a segment_grid "
        "table (index R, columns FM)."
        + (f" Got columns {list(data.columns[:10])}." if isinstance(data, pd.DataFrame) else
           f" Got {type(data).__name__}.")
    )


def plot_segment_grid(
    data: pd.DataFrame,
    ax: Axes | None = None,
    *,
    annotate: str = "both",
    palette: Any = None,
    wrap: int = 12,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """The R x FM segment grid, each cell coloured by its segment, with customers annotated.

    R grows upwards and FM to the right, so the best customers (Champions) are at the top
    right and the lost ones at the bottom left. Each segment's name is written once, at the
    centre of its cells when they form a rectangle (in every cell otherwise); each cell shows
    its customers and their share of all customers.

    Parameters
    ----------
    data : DataFrame
        :func:`retention.rfm_segments` output, :func:`retention.metrics.segments.grid_counts`
        output, or a :func:`retention.metrics.segments.segment_grid` table (the grid alone,
        without counts).
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    annotate : {"both", "count", "share", "none"}, default "both"
        What each cell shows.
    palette : dict or seaborn palette name, optional
        Segment -> colour, or a palette for all segments. Default :data:`SEGMENT_COLORS`
        (other names from "tab20").
    wrap : int, default 12
        Segment names longer than this many characters are wrapped.
    title : str, optional
        Axes title; default names the customers counted. ``""`` for none.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow` (``alpha``...).

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from retention.metrics.segments import segment_grid
    >>> ax = plot_segment_grid(segment_grid())
    >>> ax.get_xlabel()
    'FM score (average of frequency and monetary scores)'
    >>> sorted(t.get_text() for t in ax.texts)[:2]
    ['About to\\nsleep', 'At risk']
    """
    if annotate not in ("both", "count", "share", "none"):
        raise ValueError(f"annotate must be 'both', 'count', 'share' or 'none', got {annotate!r}.")
    cells, counted = _cells(data)
    bins = int(max(cells["R"].max(), cells["FM"].max()))
    order = [s for s in cells.attrs.get("segments") or [] if s in set(cells["segment"])]
    order += [s for s in pd.unique(cells["segment"]) if s not in order]
    colors = _palette(order, palette)
    code = {name: i for i, name in enumerate(order)}
    names = np.empty((bins, bins), dtype=object)
    image = np.zeros((bins, bins), dtype=np.int64)
    for r, fm, seg in zip(cells["R"], cells["FM"], cells["segment"], strict=True):
        names[int(r) - 1, int(fm) - 1] = seg
        image[int(r) - 1, int(fm) - 1] = code[seg]

    if ax is None:
        ax = new_axes(None, (8.0, 6.5))
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap([colors[n] for n in order])
    kwargs.setdefault("interpolation", "nearest")
    ax.imshow(image, cmap=cmap, vmin=-0.5, vmax=len(order) - 0.5, origin="lower",
              extent=(0.5, bins + 0.5, 0.5, bins + 0.5), aspect="auto", **kwargs)

    # white lines between cells, thicker between segments
    for i in range(bins):
        for j in range(bins):
            if j + 1 < bins:
                wide = names[i, j] != names[i, j + 1]
                ax.plot([j + 1.5, j + 1.5], [i + 0.5, i + 1.5], color="white",
                        linewidth=3.0 if wide else 0.6, solid_capstyle="butt")
            if i + 1 < bins:
                wide = names[i, j] != names[i + 1, j]
                ax.plot([j + 0.5, j + 1.5], [i + 1.5, i + 1.5], color="white",
                        linewidth=3.0 if wide else 0.6, solid_capstyle="butt")

    # segment names: once per rectangle, else in every cell
    size = 9.0 if bins <= 5 else max(5.0, 9.0 * 5 / bins)
    for name in order:
        rows, cols = np.nonzero(names == name)
        label = textwrap.fill(str(name), wrap)
        color = _text_color(colors[name])
        rect = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1) == len(rows)
        numbers = counted and annotate != "none"
        if rect:  # centred; on the top row, above its counts, when the cells show counts
            spots = [(cols.mean() + 1, (rows.max() + 1.1) if numbers else rows.mean() + 1)]
        else:
            spots = [(c + 1, r + 1 + (0.1 if numbers else 0.0))
                     for r, c in zip(rows, cols, strict=True)]
        for x, y in spots:
            ax.text(x, y, label, ha="center", va="center", fontsize=size, fontweight="bold",
                    color=color, gid="segment-name")

    if counted and annotate != "none":
        n = cells.attrs.get("n_customers", int(cells["customers"].sum()))
        for r, fm, seg, count, share in zip(cells["R"], cells["FM"], cells["segment"],
                                            cells["customers"], cells["share_of_customers"],
                                            strict=True):
            parts = []
            if annotate in ("both", "count"):
                parts.append(f"{int(count):,}")
            if annotate in ("both", "share") and not pd.isna(share):
                parts.append(f"{share:.1%}")
            ax.text(fm, r - 0.32, " · ".join(parts), ha="center", va="center",
                    fontsize=size * 0.8, color=_text_color(colors[seg]), gid="cell-count")
        if title is None:
            title = f"Customers by RFM segment (n={n:,})"
    ax.set_xticks(range(1, bins + 1))
    ax.set_yticks(range(1, bins + 1))
    ax.set_xlim(0.5, bins + 0.5)
    ax.set_ylim(0.5, bins + 0.5)
    ax.set_xlabel(FM_AXIS_LABEL)
    ax.set_ylabel(R_AXIS_LABEL)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title)
    return ax


def _movement_matrix(movement: Any, normalize: bool) -> tuple[pd.DataFrame, pd.Series, dict]:
    if isinstance(movement, SegmentMovement):
        counts = movement.matrix(normalize=False)
        info = dict(movement.customers.attrs)
    else:
        require_columns(movement, ["segment_start", "segment_end", "customers"],
                        what="plot_segment_movement: the transitions",
                        hint="Pass retention.segment_movement(...) or its .transitions.")
        counts = movement.pivot_table(index="segment_start", columns="segment_end",
                                      values="customers", aggfunc="sum", observed=False,
                                      fill_value=0)
        info = dict(movement.attrs)
    sizes = counts.sum(axis=1)
    keep = [i for i in counts.index if sizes.get(i, 0) > 0]  # start segments with customers
    counts, sizes = counts.loc[keep], sizes.loc[keep]
    values = counts.div(sizes, axis=0) if normalize else counts.astype(float)
    values = values.where(counts > 0)
    return values, sizes, info


def plot_segment_movement(
    movement: SegmentMovement | pd.DataFrame,
    ax: Axes | None = None,
    *,
    normalize: bool = True,
    annot: bool = True,
    fmt: str | None = None,
    cmap: Any = HEATMAP_CMAP,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Heatmap of the segment transitions: rows = segment at ``start``, columns = at ``end``.

    Parameters
    ----------
    movement : SegmentMovement or DataFrame
        :func:`retention.segment_movement` output, or its ``transitions`` table.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    normalize : bool, default True
        Show each row as shares of its start segment (rows sum to 100%); counts otherwise.
        Empty cells are blank; start segments without customers are left out.
    annot : bool, default True
        Write the value in each non-empty cell.
    fmt : str, optional
        Annotation and colour-bar format; default ``".0%"`` for shares, ``",.0f"`` for counts.
    cmap : colormap or name, default "YlGnBu"
    title : str, optional
        Axes title; default names the two dates. ``""`` for none.
    **kwargs
        Passed to :func:`seaborn.heatmap`.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.metrics.segments import segment_movement
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 2, 3],
    ...                    "order_date": pd.to_datetime(["2024-01-01", "2024-01-02",
    ...                                                  "2024-03-01", "2024-03-15"]),
    ...                    "revenue": [5.0, 8.0, 9.0, 4.0]})
    >>> ax = plot_segment_movement(segment_movement(tx, "2024-01-31", "2024-03-31"))
    >>> ax.get_ylabel(), ax.get_xlabel()
    ('Segment on 2024-01-31', 'Segment on 2024-03-31')
    """
    values, sizes, info = _movement_matrix(movement, normalize)
    if values.notna().sum().sum() == 0:
        raise ValueError("plot_segment_movement: the transitions hold no customer.")
    fmt = fmt or (".0%" if normalize else ",.0f")
    rows = [f"{i}  (n={int(sizes[i]):,})" for i in values.index]
    plot_data = pd.DataFrame(values.to_numpy(dtype=float), index=rows,
                             columns=[str(c) for c in values.columns])
    if ax is None:
        ax = new_axes(None, (min(4.0 + 0.75 * plot_data.shape[1], 16.0),
                              min(2.0 + 0.45 * plot_data.shape[0], 12.0)))
    label = "Share of the start segment" if normalize else "Customers"
    cbar_kws = {"format": tick_formatter(fmt), "label": label,
                **(kwargs.pop("cbar_kws", None) or {})}
    kwargs.setdefault("linewidths", 0.5)
    kwargs.setdefault("linecolor", "white")
    if normalize:
        kwargs.setdefault("vmin", 0)
        kwargs.setdefault("vmax", 1)
    import seaborn as sns

    sns.heatmap(plot_data, ax=ax, annot=annot, fmt=fmt, cmap=cmap,
                mask=plot_data.isna().to_numpy(), cbar_kws=cbar_kws, **kwargs)
    ax.tick_params(axis="y", rotation=0)
    ax.tick_params(axis="x", rotation=30)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    start = str(info.get("start", ""))[:10] or "start"
    end = str(info.get("end", ""))[:10] or "end"
    ax.set_ylabel(f"Segment on {start}")
    ax.set_xlabel(f"Segment on {end}")
    if title is None:
        title = f"Segment movement, {start} to {end}"
    if title:
        ax.set_title(title)
    return ax
