"""The segment comparison page of a batch: every segment of a ``--by`` run side by side.

Built from the key figures the reports record (see :mod:`retention.reports.publish`), so it
needs no second pass over the data: customers and revenue share, period-1 and period-3
retention pooled over the observed cohorts with Wilson intervals, CLV per customer with its
interval, the at-risk count, and a chi-square test of whether period-1 retention differs
between the segments.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retention.metrics.confidence import wilson_interval
from retention.reports.plan import slugify
from retention.reports.publish import (
    NOTEBOOK_TITLES,
    IndexEntry,
    figure_label,
    format_figure,
    html_link,
    html_page,
    write_atomic,
)

__all__ = ["comparison_page", "write_comparisons"]

COHORT_REPORT = "cohort_retention_report"
CLV_REPORT = "clv_breakdown_report"


def _rate(summary: dict[str, Any], period: int) -> str:
    retained = summary.get(f"period{period}_retained")
    base = summary.get(f"period{period}_base")
    if not base:
        return "–"
    low, high = wilson_interval(int(retained), int(base))
    return (f"{retained / base:.1%}<small class=\"range\">{low:.1%} – {high:.1%} "
            f"(n = {base:,})</small>")


def _difference_test(rows: Sequence[IndexEntry], total: IndexEntry | None, column: str) -> str:
    """The cohort report's test of the curves (:func:`retention.compare_curves`), when its
    total report compared this column; else a chi-square test of independence of segment and
    period-1 retention, pooled over cohorts."""
    from scipy.stats import chi2_contingency

    if total is not None and total.summary.get("curves_breakdown") == column \
            and total.summary.get("curves_differ_p") is not None:
        p = total.summary["curves_differ_p"]
        verdict = "the segments differ" if p < 0.05 else "no evidence that the segments differ"
        return (f"Retention curves by {column}, compared within cohorts (Cochran–Mantel–Haenszel "
                f"per period, Holm-adjusted over the periods): p = {p:.3g} — {verdict} (at the "
                "5% level).")

    counts = [(r.summary["period1_retained"], r.summary["period1_base"])
              for r in rows if r.summary.get("period1_base")]
    table = np.array([(kept, base - kept) for kept, base in counts], dtype=float)
    if len(table) < 2 or (table.sum(axis=0) == 0).any():
        return "Too few segments with observed period-1 retention to test for a difference."
    stat, p, dof, _ = chi2_contingency(table, correction=False)
    verdict = ("the segments differ" if p < 0.05 else
               "no evidence that the segments differ")
    return (f"Period-1 retention by segment, chi-square test of independence: "
            f"χ² = {stat:.1f} on {dof} degree(s) of freedom, p = {p:.3g} — {verdict} "
            "(at the 5% level).")


def comparison_page(entries: Sequence[IndexEntry], column: str, *,
                    title: str | None = None) -> str:
    """The HTML page comparing the segments of ``column`` (one run's reports).

    Parameters
    ----------
    entries : sequence of IndexEntry
        The reports of one run; those made with ``--by column`` are compared.
    column : str
        The segment column.
    title : str, optional
        Page heading; default "Segments by <column>".

    Examples
    --------
    >>> cohort = lambda value, retained, base, revenue: IndexEntry(
    ...     "cohort_retention_report", str(value), str(value), "ok",
    ...     summary={"customers": base, "revenue": revenue, "period1_retained": retained,
    ...              "period1_base": base}, segment_column="channel", segment_value=value)
    >>> page = comparison_page([cohort(None, 50, 300, 900.0), cohort("web", 40, 200, 600.0),
    ...                         cohort("store", 10, 100, 300.0)], "channel")
    >>> "66.7%" in page and "20.0%" in page and "chi-square" in page
    True
    """
    e = html.escape
    mine = [x for x in entries if x.segment_column == column]
    by_notebook: dict[str, dict[Any, IndexEntry]] = {}
    for x in mine:
        by_notebook.setdefault(x.notebook, {})[x.segment_value] = x
    cohorts = by_notebook.get(COHORT_REPORT, {})
    clv = by_notebook.get(CLV_REPORT, {})
    values = [None] + sorted({x.segment_value for x in mine if x.segment_value is not None},
                             key=lambda v: str(v).casefold())
    currency = next((x.currency for x in mine if x.currency), None)
    total_revenue = (cohorts.get(None).summary.get("revenue")
                     if cohorts.get(None) is not None else None)
    header = ["Segment", "Customers", "Revenue share", "Period-1 retention",
              "Period-3 retention", figure_label("clv_mean", currency), "At risk", "Reports"]
    rows = []
    for value in values:
        c = cohorts.get(value)
        v = clv.get(value)
        cs = c.summary if c is not None and c.status == "ok" else {}
        vs = v.summary if v is not None and v.status == "ok" else {}
        customers = cs.get("customers", vs.get("customers"))
        share = (cs["revenue"] / total_revenue
                 if total_revenue and cs.get("revenue") is not None else None)
        clv_text = "–"
        if vs.get("clv_mean") is not None:
            clv_text = e(format_figure("clv_mean", vs["clv_mean"]))
            if vs.get("clv_low") is not None and vs.get("customers"):
                n = vs["customers"]
                clv_text += (f'<small class="range">{format_figure("clv_mean", vs["clv_low"] / n)}'
                             f' – {format_figure("clv_mean", vs["clv_high"] / n)}</small>')
        links = [html_link(x.html, NOTEBOOK_TITLES.get(x.notebook, x.notebook))
                 for x in (c, v) if x is not None and x.html]
        failed = [x for x in (c, v) if x is not None and x.status != "ok"]
        name = e("Total" if value is None else str(value))
        notes = "".join(f'<div class="error">{e(NOTEBOOK_TITLES.get(x.notebook, x.notebook))}'
                        " failed</div>" for x in failed)
        at_risk = e(format_figure("at_risk", vs["at_risk"])) if "at_risk" in vs else "–"
        cells = [
            "–" if customers is None else f"{customers:,}",
            "–" if share is None else f"{share:.1%}",
            _rate(cs, 1), _rate(cs, 3), clv_text, at_risk,
        ]
        row_class = ' class="failed-row"' if failed else ""
        rows.append(
            f"<tr{row_class}><td>{f'<strong>{name}</strong>' if value is None else name}"
            f"{notes}</td>" + "".join(f'<td class="num">{c}</td>' for c in cells)
            + f"<td>{' · '.join(links)}</td></tr>")
    segments = [cohorts[v] for v in values[1:] if v in cohorts and cohorts[v].status == "ok"]
    heading = title or f"Segments by {column}"
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    return html_page(heading, f"""<p class="meta"><a href="index.html">All reports</a> ·
retention pooled over the cohorts observed at that period, with its 95% Wilson interval and
the customers it rests on; CLV per customer with its 90% interval from the model's parameter
uncertainty.</p>
<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>
{"".join(rows)}
</tbody></table></div>
<p>{e(_difference_test(segments, cohorts.get(None), column))}</p>""")


def write_comparisons(entries: Sequence[IndexEntry],
                      output_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``compare_<column>.html`` for every segment column of ``entries``; return
    the page of each column, relative to ``output_dir``.

    Examples
    --------
    >>> import tempfile
    >>> write_comparisons([IndexEntry("demo", "total", "Total", "ok")], tempfile.mkdtemp())
    {}
    """
    out = Path(output_dir)
    pages = {}
    for column in sorted({x.segment_column for x in entries if x.segment_column}):
        rel = f"compare_{slugify(column)}.html"
        write_atomic(out / rel, comparison_page(entries, column))
        pages[column] = rel
    return pages
