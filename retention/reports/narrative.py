"""What report pages say: the escaping every string from data or parameters passes through,
headings and tables built on it, segment selection and the written summaries of the reports.

A segment value, group name, title or column name reaches a page only through
:func:`markdown_text` (Markdown cells) or :func:`html_text` (HTML tables, via
:func:`html_table`): HTML is escaped, Markdown syntax and TeX delimiters are shown as text, and
line breaks and control characters become single spaces.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retention.checks import numeric_values, require_columns
from retention.engine import lazy
from retention.engine.frame import customer_totals
from retention.metrics.value import gini, top_share
from retention.periods import unit_name

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

__all__ = [
    "clv_highlights",
    "cohort_highlights",
    "describe_clv",
    "describe_cohorts",
    "describe_penalty",
    "describe_validation",
    "html_table",
    "html_text",
    "in_window",
    "kpi_table",
    "markdown_text",
    "plain_text",
    "report_heading",
    "retention_counts",
    "segment_validation",
    "select_segment",
]

# --------------------------------------------------------------------------------------------
# text from data or parameters
# --------------------------------------------------------------------------------------------

#: Runs of whitespace and control characters (line breaks, tabs, NUL, C1 controls, U+2028/9).
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
#: Punctuation that Markdown, its common extensions (tables, strikethrough, footnotes,
#: autolinks, attributes) or TeX math give a meaning to. ``& < > " '`` become HTML entities.
MARKDOWN_PUNCTUATION = "\\`*_{}[]()#+-.!|~$:=^@"
_MARKDOWN_ESCAPES = {ord(c): "\\" + c for c in MARKDOWN_PUNCTUATION}


def plain_text(value: Any) -> str:
    r"""One line of text: ``str(value)`` with every run of whitespace or control characters
    (line breaks, tabs, NUL) replaced by one space, and no leading or trailing space.

    Examples
    --------
    >>> plain_text("north\n## east\x00 ")
    'north ## east'
    """
    return _BREAKS.sub(" ", str(value)).strip()


def _outside_math(text: str, escaped: str) -> str:
    r"""Keep the page's TeX renderer off text holding ``$`` or ``\`` (``\(``, ``\[``)."""
    if "$" in text or "\\" in text:
        return f'<span class="tex2jax_ignore">{escaped}</span>'
    return escaped


def html_text(value: Any) -> str:
    r"""Text from data or parameters, safe inside HTML: :func:`plain_text`, then
    :func:`html.escape` (quotes included).

    Examples
    --------
    >>> html_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> html_text('say "hi"\nthere')
    'say &quot;hi&quot; there'
    """
    text = plain_text(value)
    return _outside_math(text, html.escape(text, quote=True))


def markdown_text(value: Any) -> str:
    r"""Text from data or parameters, shown as written in rendered Markdown.

    :func:`plain_text` (no line break can end a heading or start a block), then a backslash
    before each character of :data:`MARKDOWN_PUNCTUATION` (no link, image, emphasis, code,
    table cell, heading mark or math), then :func:`html.escape` (no tag). Text with ``$`` or
    ``\`` is also kept out of the page's TeX rendering.

    Examples
    --------
    >>> print(markdown_text("[x](javascript:alert(1))"))
    \[x\]\(javascript\:alert\(1\)\)
    >>> print(markdown_text("<b>*north*</b>\n# east"))
    &lt;b&gt;\*north\*&lt;/b&gt; \# east
    """
    text = plain_text(value)
    return _outside_math(text, html.escape(text.translate(_MARKDOWN_ESCAPES), quote=True))


def _html_cell(value: Any) -> Any:
    """Strings and other non-number objects as :func:`html_text`; numbers, dates, NA as is."""
    if isinstance(value, str) or not pd.api.types.is_scalar(value):
        return html_text(value)
    return value


def _html_labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        out = index.map(lambda key: tuple(_html_cell(k) for k in key))
    elif pd.api.types.is_string_dtype(index.dtype) or isinstance(index.dtype, pd.CategoricalDtype):
        out = index.map(_html_cell)
    else:
        out = index.copy()
    return out.set_names([_html_cell(n) if n is not None else None for n in index.names])


def html_table(table: pd.DataFrame | pd.Series) -> Styler:
    """A :class:`~pandas.io.formats.style.Styler` of ``table`` whose text is safe in HTML.

    A Styler writes cell values and labels into the page as they are; here every text cell,
    row and column label and axis name goes through :func:`html_text` first. Numbers, dates
    and missing values are left to the Styler's formats (chain ``.format(...)`` as usual).
    The table's HTML id is derived from its content, so the same table gives the same page.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"<b>channel</b>": ["<script>alert(1)</script>"], "clv": [1.5]})
    >>> page = html_table(table).format("{:.2f}", subset=["clv"]).to_html()
    >>> "<script>" in page, "&lt;script&gt;alert(1)&lt;/script&gt;" in page, "1.50" in page
    (False, True, True)
    """
    out = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    for i, dtype in enumerate(out.dtypes):
        if pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
            out.isetitem(i, out.iloc[:, i].astype(object).map(_html_cell))
    out.index = _html_labels(out.index)
    out.columns = _html_labels(out.columns)
    content = pd.util.hash_pandas_object(out.astype(str), index=True).to_numpy()
    digest = hashlib.sha1(content.tobytes() + repr(list(out.columns)).encode()).hexdigest()
    return out.style.set_uuid(digest[:8])


def describe_validation(report: Any) -> str:
    r"""What the loader read, as Markdown: the file's name (not its folder), the rows read and
    kept, and how the file was read (separator, decimal mark, encoding, date order).

    Parameters
    ----------
    report : ValidationReport
        :meth:`retention.ValidationReport.from_attrs` of the loaded frame.

    Examples
    --------
    >>> from retention.io.load import ValidationReport
    >>> report = ValidationReport("/data/eu_orders.csv", 120, 118, dialect={
    ...     "sep": ";", "decimal": ",", "encoding": "cp1251", "detected": ["sep", "decimal"]})
    >>> print(describe_validation(report))
    eu\_orders\.csv\: 120 rows read, 118 kept; read as &#x27;;&#x27;\-separated, decimal &#x27;,&#x27;, cp1251 \(detected\: sep, decimal\)\.
    """  # noqa: E501
    from pathlib import PurePath

    from retention.io.load import describe_dialect

    name = report.source if report.source == "DataFrame" else PurePath(report.source).name
    if "://" in report.source:  # a database table: its URL (never a password) and name
        name = report.source
    elif any(c in name for c in "*?["):  # a glob: with the folder it looks in
        name = "/".join(PurePath(report.source).parts[-2:])
    how = describe_dialect(getattr(report, "dialect", None) or {})
    text = f"{name}: {report.rows_read:,} rows read, {report.rows_kept:,} kept"
    return markdown_text(text + (f"; {how}" if how else "") + ".")


def segment_validation(tx: pd.DataFrame, segment_column: Any = None, segment_value: Any = None,
                       *, amount: str = "revenue", date: str = "order_date") -> Any:
    """The loader's report for one segment's rows: refunds, duplicates and future dates
    recounted on them (:func:`retention.io.load.row_notes`), rows kept = the segment's;
    rows read and excluded stay the file's (an excluded row has no segment).

    Parameters
    ----------
    tx : DataFrame
        The segment's transactions (:func:`select_segment` of a loaded log).
    segment_column, segment_value
        The segment; ``None`` returns the file's report unchanged.
    amount, date : str
        The source's names of the amount and date columns.

    Examples
    --------
    >>> import warnings
    >>> import retention as rt
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     tx = rt.load_transactions(rt.sample_path())
    >>> whole = segment_validation(tx)
    >>> web = segment_validation(select_segment(tx, "channel", "email"), "channel", "email")
    >>> web.rows_kept < whole.rows_kept and web.rows_read == whole.rows_read
    True
    """
    import dataclasses

    from retention.io.load import ValidationReport, row_notes

    report = ValidationReport.from_attrs(tx)
    if segment_column is None or segment_value is None:
        return report
    if lazy.is_table(tx):
        from retention.io.tables import row_notes as engine_notes

        return dataclasses.replace(report, rows_kept=len(tx),
                                   notes=engine_notes(tx, amount=amount, date=date))
    return dataclasses.replace(report, rows_kept=len(tx),
                               notes=row_notes(tx, amount=amount, date=date))


#: Short headings of the KPI table (period_metrics columns), in display order.
KPI_HEADINGS = {
    "start_customers": "Start (S)", "new_customers": "New (N)", "reactivated": "Back",
    "lost": "Lost", "end_customers": "End (E)", "retention_rate": "CRR (E−N)/S",
    "retained_share": "Kept of S", "churn_rate": "Churn", "buyers": "Buyers",
    "returning_buyers": "Repeat buyers", "repeat_customer_rate": "Repeat rate",
    "orders": "Orders", "purchase_frequency": "Orders / buyer", "revenue": "Revenue",
    "average_order_value": "AOV",
}
_KPI_PERCENT = ("retention_rate", "retained_share", "churn_rate", "repeat_customer_rate")


def in_window(table: pd.DataFrame, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Rows of a table indexed by period (e.g. :func:`retention.period_metrics`) between
    ``start`` and ``end`` inclusive, given as for :func:`retention.cohort_table`.

    >>> kpi = pd.DataFrame({"x": [1, 2, 3]}, index=pd.period_range("2024-01", periods=3, freq="M"))
    >>> in_window(kpi, "2024-02").index.astype(str).tolist()
    ['2024-02', '2024-03']
    """
    freq = table.index.freq
    keep = np.ones(len(table), dtype=bool)
    if start is not None:
        keep &= table.index >= pd.Period(start, freq=freq)
    if end is not None:
        keep &= table.index <= pd.Period(end, freq=freq)
    return table[keep]


def kpi_table(kpi: pd.DataFrame, *, rows: int = 12) -> tuple[Styler, str]:
    """The KPI table as a report shows it: short headings, formatted numbers, readable
    period labels (a partial period marked ``*``), the last ``rows`` periods; and the note
    that says what was left out.

    Examples
    --------
    >>> import retention as rt
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     kpi = rt.period_metrics(rt.load_transactions(rt.sample_path()), "M")
    >>> table, note = kpi_table(kpi)
    >>> "Churn" in table.to_html(), note.startswith("The last 12 of")
    (True, True)
    """
    from retention.periods import period_label

    shown = kpi.tail(rows)
    partial = (shown["partial"].to_numpy(dtype=bool) if "partial" in shown
               else np.zeros(len(shown), dtype=bool))
    out = shown[[c for c in KPI_HEADINGS if c in shown]].rename(columns=KPI_HEADINGS)
    out.index = [period_label(p) + ("*" if flag else "")
                 for p, flag in zip(shown.index, partial, strict=True)]
    out.index.name = "Period"
    percent = [KPI_HEADINGS[c] for c in _KPI_PERCENT if c in shown]
    counts = [h for c, h in KPI_HEADINGS.items() if c in shown and c not in _KPI_PERCENT
              and c not in ("purchase_frequency", "average_order_value")]
    styler = (html_table(out)
              .format("{:.1%}", subset=percent, na_rep="–")
              .format("{:,.0f}", subset=counts, na_rep="–")
              .format("{:,.2f}", subset=[h for h in ("Orders / buyer", "AOV") if h in out],
                      na_rep="–")
              .set_table_styles([{"selector": "", "props": "font-size: 0.8em;"},
                                 {"selector": "th", "props": "white-space: nowrap;"}]))
    notes = []
    if len(kpi) > rows:
        notes.append(f"The last {rows} of {len(kpi)} periods; the download has them all.")
    if partial.any():
        notes.append("* partial period: the data end before it does, so its lost and churn "
                     "figures are incomplete.")
    return styler, " ".join(notes)


def report_heading(
    title: Any, segment_column: Any = None, segment_value: Any = None, *, level: int = 2
) -> str:
    r"""Markdown heading naming the report and its segment, safe for values from the data.

    Title, column and value go through :func:`markdown_text`: a value such as ``<script>``
    or ``[x](javascript:...)`` is shown, never run or linked, and a line break in it cannot
    end the heading.

    Examples
    --------
    >>> report_heading("Cohort retention", "channel", "<b>email</b>")
    '## Cohort retention: channel = &lt;b&gt;email&lt;/b&gt;'
    >>> report_heading("Cohort retention")
    '## Cohort retention: all customers'
    >>> print(report_heading("CLV", "channel", "paid\n# social", level=3))
    ### CLV: channel = paid \# social
    """
    if segment_column is None or segment_value is None:
        scope = "all customers"
    else:
        scope = f"{markdown_text(segment_column)} = {markdown_text(segment_value)}"
    return f"{'#' * level} {markdown_text(title)}: {scope}"


# --------------------------------------------------------------------------------------------
# segments and the cohort report
# --------------------------------------------------------------------------------------------


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
    if lazy.is_table(tx):
        return lazy.select_segment(tx, column, value, customer=customer, date=date,
                                   amount=amount)
    segment = customer_totals(tx, by=column, customer=customer, date=date, amount=amount)
    segment = segment.customers[column]
    members = segment.index[segment.astype(str) == str(value)]
    if members.empty:
        known = sorted(map(str, segment.dropna().unique()))[:20]
        raise ValueError(f"No customer has {column} = {value!r}; values present: {known}.")
    return tx[tx[customer].isin(members)]


def retention_counts(long: pd.DataFrame, period: int) -> tuple[int, int]:
    """Customers active at offset ``period`` and the size of their cohorts, summed over the
    cohorts observed there (the trials and successes of a pooled retention rate).

    >>> long = pd.DataFrame({"period": [0, 1, 0, 1], "cohort_size": [100, 100, 300, 300],
    ...                      "customers": [100, 40, 300, 60],
    ...                      "observed": [True, True, True, False]})
    >>> retention_counts(long, 1)
    (40, 100)
    """
    require_columns(long, ["period", "cohort_size", "customers", "observed"], what="cohort table")
    at = long[(long["period"] == period) & long["observed"]]
    return int(at["customers"].sum()), int(at["cohort_size"].sum())


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


def _currency(code: str | None) -> str:
    return f" {markdown_text(code)}" if code else ""


def describe_cohorts(highlights: dict[str, Any], *, unit: str = "month",
                     currency: str | None = None) -> str:
    """A few sentences of Markdown summarising :func:`cohort_highlights` (money in
    ``currency``, when given).

    Examples
    --------
    >>> print(describe_cohorts({"customers": 400, "cohorts": 2, "revenue": 190.0, "period": 1,
    ...     "min_size": 30,
    ...     "average_retention": 0.25, "best_cohort": "2024-01", "best_retention": 0.4,
    ...     "worst_cohort": "2024-02", "worst_retention": 0.2,
    ...     "recent_retention": float("nan"), "earlier_retention": float("nan")}))
    - **400** customers in **2** cohorts, revenue **190**.
    - On average **25.0%** of a cohort buys again in its 1st month after the first purchase.
    - Best cohort: **2024\\-01** (40.0%); worst: **2024\\-02** (20.0%).
    """
    h = highlights
    k = h["period"]
    ordinal = {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")
    lines = [
        f"- **{h['customers']:,}** customers in **{h['cohorts']}** cohorts, "
        f"revenue **{h['revenue']:,.0f}**{_currency(currency)}."
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
            f"- Best cohort: **{markdown_text(h['best_cohort'])}** ({h['best_retention']:.1%}); "
            f"worst: **{markdown_text(h['worst_cohort'])}** ({h['worst_retention']:.1%})."
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


# --------------------------------------------------------------------------------------------
# the CLV report
# --------------------------------------------------------------------------------------------


def clv_highlights(
    values: pd.DataFrame,
    *,
    clv: str = "clv",
    alive: str = "probability_alive",
    revenue: str | None = "revenue",
    top: float = 0.2,
    groups: pd.DataFrame | None = None,
    holdout: pd.DataFrame | None = None,
    tracking: pd.DataFrame | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Key figures of a CLV analysis, for :func:`describe_clv` and the report index.

    Parameters
    ----------
    values : DataFrame
        :func:`retention.customer_value` output (one row per customer).
    clv, alive, revenue : str
        Column names; ``revenue`` (historical) is optional.
    top : float, default 0.2
        Fraction of customers for the concentration figure.
    groups : DataFrame, optional
        :func:`retention.predicted_value` by one segment column: the best and worst groups by
        CLV per customer (groups of fewer than 30 customers are not ranked).
    holdout : DataFrame, optional
        :func:`retention.calibration_vs_holdout` output: total actual vs expected holdout
        purchases.
    tracking : DataFrame, optional
        :func:`retention.expected_cumulative_transactions` output: actual vs expected at the end.
    model : str, optional
        Label of the purchase-count model (``"BG/NBD"``, ``"MBG/NBD"``, ``"Pareto/NBD"``).

    With ``values`` from :func:`retention.with_intervals`, the interval of the total CLV is
    included (``clv_low``, ``clv_high``, ``interval_level``); ``margin`` comes from
    ``values.attrs``.

    Returns
    -------
    dict
        ``customers``, ``clv_total``, ``clv_mean``, ``clv_median``, ``top``,
        ``top_share``, ``gini``, ``expected_alive`` (sum of P(alive)), ``mean_alive``,
        ``one_time_buyers`` (share with frequency 0, NaN without the column),
        ``revenue_total``, ``horizon``, ``time_unit``, ``discount_rate``, and when given
        ``group_column``, ``best_group``, ``best_group_clv``, ``worst_group``,
        ``worst_group_clv``, ``holdout_actual``, ``holdout_expected``, ``tracking_actual``,
        ``tracking_expected``.

    Examples
    --------
    >>> import pandas as pd
    >>> values = pd.DataFrame({"clv": [100.0, 60.0, 10, 10, 5, 5, 4, 3, 2, 1],
    ...                        "probability_alive": [0.9] * 5 + [0.5] * 5})
    >>> h = clv_highlights(values, revenue=None)
    >>> h["customers"], h["clv_total"], h["top_share"], round(h["expected_alive"], 1)
    (10, 200.0, 0.8, 7.0)
    """
    require_columns(values, [clv, alive], what="the per-customer table")
    amounts = numeric_values(values[clv], clv, what="the per-customer table")
    p_alive = numeric_values(values[alive], alive, what="the per-customer table")
    out: dict[str, Any] = {
        "customers": len(values),
        "clv_total": float(amounts.sum()),
        "clv_mean": float(amounts.mean()) if len(amounts) else math.nan,
        "clv_median": float(np.median(amounts)) if len(amounts) else math.nan,
        "top": float(top),
        "top_share": top_share(values, clv, top) if amounts.sum() > 0 else math.nan,
        "gini": gini(values, clv) if amounts.sum() > 0 else math.nan,
        "expected_alive": float(p_alive.sum()),
        "mean_alive": float(p_alive.mean()) if len(p_alive) else math.nan,
        "one_time_buyers": float((values["frequency"] == 0).mean())
        if "frequency" in values.columns and len(values) else math.nan,
        "revenue_total": float(values[revenue].sum())
        if revenue is not None and revenue in values.columns else math.nan,
        "horizon": values.attrs.get("horizon"),
        "time_unit": values.attrs.get("time_unit"),
        "discount_rate": values.attrs.get("discount_rate"),
        "margin": values.attrs.get("margin"),
        "model": model,
    }
    total = values.attrs.get("totals", {}).get(clv)
    if total is not None:
        out.update(clv_low=float(total["low"]), clv_high=float(total["high"]),
                   interval_level=values.attrs.get("interval_level"))
    if groups is not None:
        require_columns(groups, ["customers", "clv_per_customer"], what="groups",
                        hint="Pass predicted_value(values, by=column).")
        label_col = groups.columns[0]
        ranked = groups[groups["customers"] >= 30].dropna(subset=["clv_per_customer"])
        out["group_column"] = str(label_col)
        if len(ranked) >= 2:
            best = ranked.loc[ranked["clv_per_customer"].idxmax()]
            worst = ranked.loc[ranked["clv_per_customer"].idxmin()]
            out.update(best_group=str(best[label_col]),
                       best_group_clv=float(best["clv_per_customer"]),
                       worst_group=str(worst[label_col]),
                       worst_group_clv=float(worst["clv_per_customer"]))
    if holdout is not None:
        require_columns(holdout, ["actual_total", "expected_total"], what="holdout",
                        hint="Pass calibration_vs_holdout(...).")
        out["holdout_actual"] = float(holdout["actual_total"].sum())
        out["holdout_expected"] = float(holdout["expected_total"].sum())
        out["holdout_duration"] = holdout.attrs.get("duration")
    if tracking is not None:
        require_columns(tracking, ["actual", "expected"], what="tracking",
                        hint="Pass expected_cumulative_transactions(...).")
        out["tracking_actual"] = float(tracking["actual"].iloc[-1])
        out["tracking_expected"] = float(tracking["expected"].iloc[-1])
    return out


def _model_gap(actual: float, expected: float) -> str:
    """``"the model is 16.9% below"`` (expected vs actual)."""
    if actual == 0:
        return "no actual value to compare with"
    gap = (expected - actual) / actual
    if abs(gap) < 0.0005:
        return "the model matches"
    return f"the model is {abs(gap):.1%} {'below' if gap < 0 else 'above'}"


#: How each purchase-count model treats one-time buyers, for :func:`describe_clv`.
_ONE_TIME_BUYERS = {
    "BG/NBD": " (in BG/NBD a customer can only drop out after a repeat purchase, so one-time "
              "buyers count as active)",
    "MBG/NBD": " (in MBG/NBD a customer may drop out at the first purchase too, so one-time "
               "buyers who stayed away long are likely gone)",
    "Pareto/NBD": " (in Pareto/NBD a customer may drop out at any time, purchase or not)",
}


def describe_penalty(model: Any) -> str:
    """A sentence on a fit that needed a penalty (see :func:`retention.fit_identified`);
    empty for an unpenalised fit.

    Examples
    --------
    >>> from retention.models import GammaGamma
    >>> describe_penalty(GammaGamma())
    ''
    >>> print(describe_penalty(GammaGamma(penalizer=0.001)))  # doctest: +ELLIPSIS
    Gamma-Gamma: without a penalty ... penalizer 0.001, which keeps them finite.
    """
    penalizer = getattr(model, "penalizer", 0.0)
    if not penalizer:
        return ""
    name = getattr(model, "_model_name", type(model).__name__)
    return (f"{name}: without a penalty its estimates run away (these data do not identify "
            f"the model: too few repeat buyers, or customers too alike), so it is fitted with "
            f"penalizer {penalizer:g}, which keeps them finite.")


def describe_clv(highlights: Mapping[str, Any], *, currency: str | None = None) -> str:
    """A few sentences of Markdown summarising :func:`clv_highlights` (money in
    ``currency``, when given).

    The segment column and group names come from the data and go through
    :func:`markdown_text`.

    Examples
    --------
    >>> print(describe_clv({"customers": 10, "clv_total": 200.0, "clv_mean": 20.0,
    ...     "clv_median": 5.0, "top": 0.2, "top_share": 0.8, "gini": 0.6,
    ...     "expected_alive": 7.0, "mean_alive": 0.7, "one_time_buyers": 0.5,
    ...     "revenue_total": float("nan"), "horizon": 12, "time_unit": "M",
    ...     "discount_rate": 0.008}))  # doctest: +NORMALIZE_WHITESPACE
    - **10** customers; predicted value over the next 12 months (discounted at 0.80% a month):
      **200** in total, **20.00** per customer on average (median 5.00).
    - The top 20% of customers hold **80.0%** of the predicted value (Gini 0.60).
    - 50.0% of the customers have bought only once; the model expects **7** (70.0%) to be still
      active (in BG/NBD a customer can only drop out after a repeat purchase, so one-time buyers
      count as active).
    """
    h = highlights
    unit = unit_name(h.get("time_unit"), default="time unit")
    horizon = h.get("horizon")
    when = f" over the next {horizon} {unit}s" if horizon else ""
    rate = h.get("discount_rate")
    disc = f" (discounted at {rate:.2%} a {unit})" if rate else ""
    margin = h.get("margin")
    what = (f"predicted profit at a {margin:.0%} margin" if margin is not None and margin < 1
            else "predicted value")
    interval = (f" ({h['interval_level']:.0%} interval {h['clv_low']:,.0f} to "
                f"{h['clv_high']:,.0f})" if h.get("clv_low") is not None else "")
    cur = _currency(currency)
    lines = [
        f"- **{h['customers']:,}** customers; {what}{when}{disc}: "
        f"**{h['clv_total']:,.0f}**{cur} in total{interval}, **{h['clv_mean']:,.2f}**{cur} per "
        f"customer on average (median {h['clv_median']:,.2f})."
    ]
    if not math.isnan(h.get("top_share", math.nan)):
        lines.append(
            f"- The top {h['top']:.0%} of customers hold **{h['top_share']:.1%}** of the "
            f"predicted value (Gini {h['gini']:.2f})."
        )
    alive = (f"the model expects **{h['expected_alive']:,.0f}** ({h['mean_alive']:.1%}) to be "
             "still active")
    one_time = h.get("one_time_buyers", math.nan)
    if one_time is not None and not math.isnan(one_time):
        why = _ONE_TIME_BUYERS.get(h.get("model") or "BG/NBD", "")
        lines.append(f"- {one_time:.1%} of the customers have bought only once; {alive}{why}.")
    else:
        lines.append(f"- {alive[0].upper()}{alive[1:]}.")
    if h.get("model"):
        lines.insert(0, f"- Purchases are modelled with **{h['model']}**.")
    if h.get("best_group") is not None:
        lines.append(
            f"- By {markdown_text(h['group_column'])}: highest predicted value per customer "
            f"**{markdown_text(h['best_group'])}** ({h['best_group_clv']:,.2f}), lowest "
            f"**{markdown_text(h['worst_group'])}** ({h['worst_group_clv']:,.2f})."
        )
    checks = {
        "holdout": "- Holdout check: fitted on the calibration window, the model expected "
        "**{e:,.0f}** purchases by those customers in the holdout; they made **{a:,.0f}**",
        "tracking": "- Over the whole period the model expects **{e:,.0f}** repeat transactions "
        "against **{a:,.0f}** actual",
    }
    for check, sentence in checks.items():
        if h.get(f"{check}_actual") is not None:
            a, e = h[f"{check}_actual"], h[f"{check}_expected"]
            lines.append(f"{sentence.format(a=a, e=e)} ({_model_gap(a, e)}).")
    return "\n".join(lines)
