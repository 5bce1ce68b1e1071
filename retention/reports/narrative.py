"""What the report notebooks compute besides tables and plots: segment selection and the
written summary of a cohort table.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

from retention.io.load import require_columns
from retention.engine.frame import customer_totals


def select_segment(
    tx: pd.DataFrame,
    column: str | None,
    value: Any = None,
    *,
    customer: str = "customer_id",
    date: str = "order_date",
    amount: str = "revenue",
) -> pd.DataFrame:
    """Transactions of the customers whose first purchase was in a segment.

    A customer belongs to the segment recorded on their first purchase (the acquisition
    channel, say), and all of their transactions stay with them — the same rule as
    ``cohort_table(by=...)``. Values are compared as text, so ``"2024"`` selects the number
    2024 as well.

    Parameters
    ----------
    tx : DataFrame
        Transactions.
    column : str or None
        Segment column; ``None`` (or ``value=None``) returns ``tx`` unchanged.
    value : any
        Segment value.
    customer, date, amount : str
        Column names.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...                    "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05"]),
    ...                    "revenue": [10.0, 5.0, 8.0],
    ...                    "channel": ["email", "social", "social"]})
    >>> select_segment(tx, "channel", "email")["order_date"].dt.month.tolist()
    [1, 2]
    """
    if column is None or value is None:
        return tx
    segment = customer_totals(tx, by=column, customer=customer, date=date, amount=amount)
    segment = segment.customers[column]
    members = segment.index[segment.astype(str) == str(value)]
    if members.empty:
        known = sorted(map(str, segment.dropna().unique()))[:20]
        raise ValueError(f"No customer has {column} = {value!r}; values present: {known}.")
    return tx[tx[customer].isin(members)]


def report_heading(title: str, segment_column: str | None = None, segment_value: Any = None) -> str:
    """Markdown heading naming the report and its segment, safe for values from the data.

    Segment values come from the user's data and end up in an HTML page, so they are
    escaped: a value such as ``<script>`` is shown, never run.

    Examples
    --------
    >>> report_heading("Cohort retention", "channel", "<b>email</b>")
    '## Cohort retention: channel = &lt;b&gt;email&lt;/b&gt;'
    >>> report_heading("Cohort retention")
    '## Cohort retention: all customers'
    """
    if segment_column is None or segment_value is None:
        scope = "all customers"
    else:
        scope = f"{segment_column} = {segment_value}"
    return "## " + html.escape(f"{title}: {scope}", quote=False)


def cohort_highlights(long: pd.DataFrame, *, period: int = 1, min_size: int = 30) -> dict[str, Any]:
    """Key figures of a cohort table: average, best and worst retention at one offset, trend.

    Parameters
    ----------
    long : DataFrame
        A :func:`retention.cohort_table` without segment columns.
    period : int
        Offset to compare cohorts at (1 = the period after acquisition).
    min_size : int
        Cohorts smaller than this are left out of best / worst / trend (their rates are noise).

    Returns
    -------
    dict
        ``customers``, ``cohorts``, ``revenue``, ``average_retention`` (weighted by cohort size
        over the cohorts observed at ``period``), ``best_cohort``/``best_retention``,
        ``worst_cohort``/``worst_retention``, ``recent_retention`` (the last three eligible
        cohorts) and ``earlier_retention`` (the others), all NaN / None where not observable.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "cohort": pd.PeriodIndex(["2024-01"] * 2 + ["2024-02"] * 2, freq="M"),
    ...     "period": [0, 1, 0, 1], "cohort_size": [100, 100, 300, 300],
    ...     "retention": [1.0, 0.4, 1.0, 0.2], "revenue": [50.0, 20.0, 90.0, 30.0],
    ...     "observed": [True] * 4})
    >>> h = cohort_highlights(long, min_size=10)
    >>> h["average_retention"], h["best_cohort"], h["worst_cohort"]
    (0.25, '2024-01', '2024-02')
    """
    require_columns(
        long,
        ["cohort", "period", "cohort_size", "retention", "revenue", "observed"],
        what="cohort table",
    )
    sizes = long.drop_duplicates("cohort").set_index("cohort")["cohort_size"]
    at = long[(long["period"] == period) & long["observed"]].set_index("cohort")
    weighted = (
        (at["retention"] * at["cohort_size"]).sum() / at["cohort_size"].sum() if len(at) else np.nan
    )
    eligible = at.loc[at["cohort_size"] >= min_size, "retention"].dropna()
    out: dict[str, Any] = {
        "customers": int(sizes.sum()),
        "cohorts": len(sizes),
        "revenue": float(long.loc[long["observed"], "revenue"].sum()),
        "period": period,
        "min_size": min_size,
        "average_retention": float(weighted),
        "best_cohort": None,
        "best_retention": math.nan,
        "worst_cohort": None,
        "worst_retention": math.nan,
        "recent_retention": math.nan,
        "earlier_retention": math.nan,
    }
    if len(eligible):
        out.update(
            best_cohort=str(eligible.idxmax()),
            best_retention=float(eligible.max()),
            worst_cohort=str(eligible.idxmin()),
            worst_retention=float(eligible.min()),
        )
    if len(eligible) >= 6:
        size = at.loc[eligible.index, "cohort_size"]
        recent, earlier = eligible.index[-3:], eligible.index[:-3]
        out["recent_retention"] = float(np.average(eligible[recent], weights=size[recent]))
        out["earlier_retention"] = float(np.average(eligible[earlier], weights=size[earlier]))
    return out


def describe_cohorts(highlights: dict[str, Any], *, unit: str = "month") -> str:
    """A few sentences of Markdown summarising :func:`cohort_highlights`.

    Examples
    --------
    >>> print(describe_cohorts({"customers": 400, "cohorts": 2, "revenue": 190.0, "period": 1,
    ...     "min_size": 30,
    ...     "average_retention": 0.25, "best_cohort": "2024-01", "best_retention": 0.4,
    ...     "worst_cohort": "2024-02", "worst_retention": 0.2,
    ...     "recent_retention": float("nan"), "earlier_retention": float("nan")}))
    - **400** customers in **2** cohorts, revenue **190**.
    - On average **25.0%** of a cohort buys again in its 1st month after the first purchase.
    - Best cohort: **2024-01** (40.0%); worst: **2024-02** (20.0%).
    """
    h = highlights
    k = h["period"]
    ordinal = {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")
    lines = [
        f"- **{h['customers']:,}** customers in **{h['cohorts']}** cohorts, "
        f"revenue **{h['revenue']:,.0f}**."
    ]
    if math.isnan(h["average_retention"]):
        lines.append(f"- No cohort has been observed for a full {unit} after acquisition yet.")
        return "\n".join(lines)
    lines.append(
        f"- On average **{h['average_retention']:.1%}** of a cohort buys again in its "
        f"{ordinal} {unit} after the first purchase."
    )
    if h["best_cohort"] is not None:
        lines.append(
            f"- Best cohort: **{h['best_cohort']}** ({h['best_retention']:.1%}); "
            f"worst: **{h['worst_cohort']}** ({h['worst_retention']:.1%})."
        )
    else:
        lines.append(f"- No cohort has {h['min_size']} customers or more: too small to rank.")
    if not math.isnan(h["recent_retention"]):
        change = h["recent_retention"] - h["earlier_retention"]
        trend = "better than" if change > 0.005 else "worse than" if change < -0.005 else "about as"
        lines.append(
            f"- The three most recent cohorts retain **{h['recent_retention']:.1%}**, "
            f"{trend} the earlier ones ({h['earlier_retention']:.1%}, "
            f"{change * 100:+.1f} points)."
        )
    return "\n".join(lines)
