"""Plot of a survey metric by segment or period, with its confidence intervals.

Axes-level, in the seaborn sense: :func:`plot_survey_metric` takes a table from
:func:`retention.metrics.survey.survey_metrics`, draws on ``ax`` (a new figure when ``ax`` is
None), passes extra keyword arguments through to :meth:`matplotlib.axes.Axes.errorbar` and
returns the Axes. Shares are fractions in the data and percentages on the axis; NPS is in
points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retention.checks import require_columns
from retention.periods import period_label
from retention.plotting.cohorts import AVERAGE_COLOR, new_axes, percent_formatter

if TYPE_CHECKING:  # matplotlib is imported by the functions that draw
    from matplotlib.axes import Axes

__all__ = ["plot_survey_metric"]

#: Axis label of each metric's ``value`` column.
METRIC_LABELS: dict[str, str] = {
    "nps": "NPS (points)",
    "csat": "CSAT (share satisfied)",
    "csi": "CSI (0-100)",
    "ces": "CES (mean score)",
}
_MADE_BY = "Build it with retention.metrics.survey.survey_metrics."


def _bounds(value: str) -> tuple[str, str]:
    """``"value"`` -> ``("ci_low", "ci_high")``; ``"agree_share"`` -> ``("agree_ci_low", ...)``."""
    if value == "value":
        return "ci_low", "ci_high"
    stem = value[: -len("_share")] if value.endswith("_share") else value
    return f"{stem}_ci_low", f"{stem}_ci_high"


def plot_survey_metric(
    table: pd.DataFrame,
    ax: Axes | None = None,
    *,
    x: str | None = None,
    hue: str | None = None,
    value: str = "value",
    bounds: Sequence[str] | None = None,
    reference: float | None = None,
    annotate_n: bool = True,
    **kwargs: Any,
) -> Axes:
    """Points with confidence-interval bars of a survey metric per segment or period.

    Each group's value is a point and its **whole confidence interval** (not a standard
    error) a bar with caps, so two groups whose intervals overlap widely look alike: a gap
    between points that the intervals do not support stays visibly unsupported. The number
    of answers is written under each point, so small groups read as the uncertain ones.

    Parameters
    ----------
    table : DataFrame
        :func:`retention.metrics.survey.survey_metrics` output: group columns, then
        ``value``, ``ci_low``, ``ci_high``, ``n`` ...
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new figure.
    x : str, optional
        Group column along the x axis; default ``"period"`` when the table has one, else the
        first group column.
    hue : str, optional
        Group column drawn as separate, side-by-side series; default the other group column
        when there are two.
    value : str, default "value"
        Column to draw, e.g. ``"agree_share"`` for the CES share agreeing.
    bounds : (str, str), optional
        Interval columns; default ``("ci_low", "ci_high")`` for ``value``, else
        ``("<stem>_ci_low", "<stem>_ci_high")`` (``agree_share`` -> ``agree_ci_low`` ...).
    reference : float, optional
        Draw a dashed horizontal line there (e.g. the overall score). NPS tables get a line
        at 0 when no reference is given.
    annotate_n : bool, default True
        Write ``n=...`` under each point.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.errorbar` (``fmt``, ``color``, ``capsize``...).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError
        If a column is absent or more than two group columns would need drawing.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.metrics.survey import survey_metrics
    >>> responses = pd.DataFrame({"channel": ["email"] * 4 + ["social"] * 4,
    ...                           "nps": [10, 9, 9, 6, 10, 7, 3, 0]})
    >>> ax = plot_survey_metric(survey_metrics(responses, "nps", by="channel"))
    >>> [t.get_text() for t in ax.get_xticklabels()], ax.get_ylabel()
    (['email', 'social'], 'NPS (points)')
    """
    func = "plot_survey_metric"
    require_columns(table, what=f"{func}: the table", hint=_MADE_BY)
    low_col, high_col = bounds if bounds is not None else _bounds(value)
    require_columns(table, [value, low_col, high_col], what=f"{func}: the table", hint=_MADE_BY)
    attrs = table.attrs
    metric = attrs.get("metric")
    if "by" in attrs:
        groups = [*attrs.get("by", []), *(["period"] if attrs.get("freq") else [])]
    else:
        groups = list(table.columns[: list(table.columns).index(value)]) if value in table else []
    groups = [g for g in groups if g in table.columns]
    if x is None:
        x = "period" if "period" in groups else (groups[0] if groups else None)
    if hue is None:
        rest = [g for g in groups if g != x]
        if len(rest) > 1:
            raise ValueError(
                f"{func}: the table has {len(groups)} group columns {groups}; pass x= and "
                "hue=, and filter the table to one value of the others."
            )
        hue = rest[0] if rest else None
    require_columns(table, [c for c in (x, hue) if c is not None], what=f"{func}: the table")

    ax = new_axes(ax, (max(6.0, 1.2 + 0.7 * max(len(table), 1)), 4.5))
    x_values = list(dict.fromkeys(table[x])) if x is not None else [None]
    positions = {v: i for i, v in enumerate(x_values)}
    hue_values = list(dict.fromkeys(table[hue])) if hue is not None else [None]
    width = 0.6
    step = width / len(hue_values) if len(hue_values) > 1 else 0.0
    is_period = x == "period"
    style = {"fmt": "o-" if is_period else "o", "capsize": 4, "elinewidth": 1.6,
             "markersize": 6}
    if len(hue_values) == 1:
        style["color"] = AVERAGE_COLOR
    style.update(kwargs)
    percent = metric == "csat" if value == "value" else value.endswith("share")
    for k, level in enumerate(hue_values):
        part = table if hue is None else table[table[hue] == level]
        part = part[np.isfinite(part[value].to_numpy(dtype=float, na_value=np.nan))]
        if part.empty:
            continue
        offset = (k - (len(hue_values) - 1) / 2) * step
        xs = np.array([positions[v] for v in (part[x] if x is not None else [None] * len(part))])
        xs = xs + offset
        ys = part[value].to_numpy(dtype=float)
        lo = part[low_col].to_numpy(dtype=float, na_value=np.nan)
        hi = part[high_col].to_numpy(dtype=float, na_value=np.nan)
        yerr = np.vstack([np.nan_to_num(ys - lo), np.nan_to_num(hi - ys)])
        label = None if hue is None else ("(missing)" if pd.isna(level) else period_label(level))
        ax.errorbar(xs, ys, yerr=yerr, label=label, **style)
        if annotate_n and "n" in part.columns:
            for xi, yi, ni in zip(xs, lo, part["n"].to_numpy(), strict=True):
                ax.annotate(
                    f"n={int(ni)}", (xi, yi), xytext=(0, -4), textcoords="offset points",
                    ha="center", va="top", fontsize=8, color="0.35",
                )
    if reference is None and metric == "nps" and value == "value":
        reference = 0.0
    if reference is not None:
        ax.axhline(reference, color="0.5", linestyle="--", linewidth=1, zorder=0)
    ax.set_xticks(range(len(x_values)))
    ax.set_xticklabels(
        ["(missing)" if v is not None and pd.isna(v) else ("" if v is None else period_label(v))
         for v in x_values]
    )
    if len(x_values) > 8:
        for tick in ax.get_xticklabels():
            tick.set_rotation(45)
            tick.set_horizontalalignment("right")
    ax.set_xlim(-0.6, len(x_values) - 0.4)
    ax.margins(y=0.12)
    if percent:
        ax.yaxis.set_major_formatter(percent_formatter(0))
    if x is not None:
        ax.set_xlabel("Period" if is_period else str(x).replace("_", " ").capitalize())
    level_text = f"{attrs['level']:.0%} " if isinstance(attrs.get("level"), float) else ""
    if value == "value" and metric in METRIC_LABELS:
        ylabel = METRIC_LABELS[metric]
    elif value == "agree_share" and metric == "ces":
        ylabel = "CES (share agreeing)"
    else:
        ylabel = value.replace("_", " ").capitalize()
    ax.set_ylabel(ylabel)
    ax.set_title(f"{ylabel} with {level_text}confidence intervals", fontsize=10)
    if hue is not None:
        ax.legend(title=str(hue).replace("_", " ").capitalize(), frameon=False)
    return ax
