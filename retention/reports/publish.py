"""Publish executed report notebooks: key figures, HTML without code, and an index page.

This module is the second half of ``retention report`` (the first half, running the
notebooks, is :mod:`retention.reports.run`). It is also what a report notebook imports to
record its key figures, so it imports nothing heavy at module level.

Key-figure convention
---------------------
A report notebook records the handful of numbers that belong on the index page
(customers, retention rate, revenue, ...) by *displaying* a JSON mapping under the
custom MIME type :data:`SUMMARY_MIME_TYPE`, ``application/vnd.retention.summary+json``.
This needs nothing beyond IPython, which every kernel has. The simplest way is the
helper, usually in the notebook's last cell:

.. code-block:: python

    from retention.reports.publish import record_summary

    record_summary(customers=n_customers, retention_rate=crr, revenue=total_revenue)

which is equivalent to this plain IPython code (values must be JSON-serialisable:
``int``, ``float``, ``str``, ``bool`` or ``None``; the helper converts numpy scalars):

.. code-block:: python

    from IPython.display import display

    summary = {"customers": 1234, "retention_rate": 0.41}
    display(
        {"application/vnd.retention.summary+json": summary, "text/plain": repr(summary)},
        raw=True,
    )

The ``text/plain`` part is what JupyterLab shows interactively; the whole output is left
out of the published HTML, because the figures appear on the index page instead. If a
notebook records several summaries, they are merged in cell order (later keys win).
Rates are fractions (0.41, not 41), as everywhere in the package.

Files written
-------------
For notebook ``notebooks/<stem>.ipynb`` and report name ``<name>``, under the output
directory (``reports/`` by default):

- ``<stem>/<name>.ipynb``: the executed notebook of the last successful run;
- ``<stem>/<name>.html``: that notebook as HTML, code cells hidden, outputs kept;
- ``<stem>/<name>.failed.ipynb``: the executed notebook of the last failed run, with
  papermill's error cell (removed again by the next successful run);
- ``index.html`` and ``index.json``: every report with its status and key figures.

Every file is written to a temporary file (``.<name>.<random>.tmp``, flushed to disk) and
renamed only once complete, so a failed or interrupted run, or a full disk, never leaves
a truncated page or index and never replaces the last good report.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = [
    "FIGURES",
    "PAGE_CSS",
    "SUMMARY_MIME_TYPE",
    "IndexEntry",
    "export_html",
    "figure_label",
    "format_figure",
    "html_link",
    "html_page",
    "latest_run",
    "new_file_mode",
    "read_index",
    "read_summary",
    "record_summary",
    "render_html",
    "render_index_html",
    "summary_bundle",
    "tex_to_mathml",
    "write_atomic",
    "write_index",
    "write_temporary",
]

#: MIME type under which a report notebook displays its key figures.
SUMMARY_MIME_TYPE = "application/vnd.retention.summary+json"

INDEX_HTML = "index.html"
INDEX_JSON = "index.json"


# --------------------------------------------------------------------------- key figures


def _jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON data (numpy/pandas scalars become Python scalars)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)  # datetime, date, pandas Timestamp
    if callable(isoformat):
        return isoformat()
    return str(value)


def summary_bundle(figures: Mapping[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    """Return the MIME bundle that records key figures in a notebook output.

    Parameters
    ----------
    figures : mapping, optional
        Figure name -> value.
    **more
        More figures, as keyword arguments.

    Returns
    -------
    dict
        ``{SUMMARY_MIME_TYPE: {...}, "text/plain": "..."}``, ready for
        ``IPython.display.display(bundle, raw=True)``. Non-finite floats become ``None``,
        numpy scalars become Python scalars.

    Examples
    --------
    >>> bundle = summary_bundle({"customers": 120}, retention_rate=0.4)
    >>> bundle[SUMMARY_MIME_TYPE]
    {'customers': 120, 'retention_rate': 0.4}
    """
    data = _jsonable({**dict(figures or {}), **more})
    text = "Key figures: " + ", ".join(f"{k}={v!r}" for k, v in data.items())
    return {SUMMARY_MIME_TYPE: data, "text/plain": text}


def record_summary(figures: Mapping[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    """Record a report notebook's key figures for the report index.

    Call it from a notebook cell (usually the last one). The figures are displayed under
    :data:`SUMMARY_MIME_TYPE`; ``retention report`` reads them back from the executed
    notebook and shows them on the index page. See the module docstring.

    Parameters
    ----------
    figures : mapping, optional
        Figure name -> JSON-serialisable value (numpy scalars are converted).
    **more
        More figures, as keyword arguments.

    Returns
    -------
    dict
        The recorded figures.

    Examples
    --------
    >>> record_summary(customers=120, retention_rate=0.4)  # doctest: +SKIP
    {'customers': 120, 'retention_rate': 0.4}
    """
    from IPython.display import display

    bundle = summary_bundle(figures, **more)
    display(bundle, raw=True)
    return bundle[SUMMARY_MIME_TYPE]


def _outputs(nb: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            yield from cell.get("outputs", [])


def read_summary(nb: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """Read the key figures an executed notebook recorded with :func:`record_summary`.

    Parameters
    ----------
    nb : notebook or path
        An executed notebook (``nbformat.NotebookNode`` or plain dict) or its path.

    Returns
    -------
    dict
        The recorded figures, merged in cell order; empty if none were recorded.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> out = nbformat.v4.new_output("display_data", data=summary_bundle(customers=3))
    >>> nb.cells = [nbformat.v4.new_code_cell("...", outputs=[out])]
    >>> read_summary(nb)
    {'customers': 3}
    """
    if isinstance(nb, str | os.PathLike):
        import nbformat

        nb = nbformat.read(os.fspath(nb), as_version=4)
    summary: dict[str, Any] = {}
    for output in _outputs(nb):
        data = output.get("data") or {}
        if SUMMARY_MIME_TYPE not in data:
            continue
        value = data[SUMMARY_MIME_TYPE]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                continue
        if isinstance(value, Mapping):
            summary.update(value)
    return summary


# --------------------------------------------------------------------------- HTML export


def new_file_mode() -> int:
    """Permissions of a newly created file under the current umask (``mkstemp`` uses 0600).

    Examples
    --------
    >>> 0 <= new_file_mode() <= 0o666
    True
    """
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_temporary(path: Path, text: str) -> Path:
    """Write ``text`` to a new temporary file next to ``path``, flushed to disk; return it.

    The file is named ``.<name>.<random>.tmp``; renaming it onto ``path`` (``os.replace``)
    then replaces the old file in one step. If the write fails (a full disk, say), the
    temporary file is removed and ``path`` is untouched.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "page.html"
    >>> tmp = write_temporary(target, "<p>hi</p>")
    >>> tmp.name.startswith(".page.html.") and tmp.name.endswith(".tmp"), target.exists()
    (True, False)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, new_file_mode())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, so that
    ``path`` holds either its old content or all of ``text``, never part of it."""
    tmp = write_temporary(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _without_summary_outputs(nb: Any) -> Any:
    """Return a copy of ``nb`` without the outputs that only carry key figures."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            cell.outputs = [o for o in cell.outputs if SUMMARY_MIME_TYPE not in o.get("data", {})]
    return nb


#: The page template: nbconvert's ``lab`` template without the scripts it loads from a CDN
#: (require.js, MathJax, Mermaid, the widget manager); math is MathML made at build time.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def tex_to_mathml(tex: str, *, display: bool = False) -> str:
    r"""Render TeX math as MathML, which browsers show without any script.

    TeX that cannot be converted is shown as escaped source in ``<code>``.

    Examples
    --------
    >>> tex_to_mathml(r"\frac{E - N}{S}").startswith("<math")
    True
    >>> "<mfrac>" in tex_to_mathml(r"\frac{a}{b}", display=True)
    True
    """
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds on TeX it does not know
        return f'<code class="tex">{html.escape(tex)}</code>'


@functools.cache
def _html_exporter() -> Any:
    """The HTML exporter, created once per process (it keeps no state between notebooks).

    Pages stand alone: images are embedded, no script or style comes from a CDN, and math in
    Markdown is rendered to MathML when the page is built.
    """
    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class MathMLRenderer(IPythonRenderer):
        def block_math(self, body: str) -> str:
            return tex_to_mathml(body, display=True)

        def multiline_math(self, text: str) -> str:
            return text

        def latex_environment(self, name: str, body: str) -> str:
            return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)

        def inline_math(self, body: str) -> str:
            return tex_to_mathml(body)

    class OfflineHTMLExporter(HTMLExporter):
        @jinja2.pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            cell = context.get("cell", {})
            path = context.get("resources", {}).get("metadata", {}).get("path", "")
            renderer = MathMLRenderer(
                escape=False,
                attachments=cell.get("attachments", {}),
                embed_images=self.embed_images,
                path=path,
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )
            return MarkdownWithMath(renderer=renderer).render(source)

    return OfflineHTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        extra_loaders=[jinja2.DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="offline.html.j2",
    )


def export_html(
    nb: Any | str | os.PathLike[str], html_path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Export an executed notebook to HTML without its code, replacing the file atomically.

    Code cell inputs and prompts are hidden, outputs and markdown kept (nbconvert's
    ``HTMLExporter`` with ``exclude_input=True``). Key-figure outputs
    (:data:`SUMMARY_MIME_TYPE`) are left out. The page is written to a temporary file
    that replaces ``html_path`` only once complete.

    Parameters
    ----------
    nb : notebook or path
        The executed notebook or its path.
    html_path : path
        Where to write the HTML page.
    title : str, optional
        Page title; defaults to the file stem.

    Returns
    -------
    Path
        ``html_path``.

    Examples
    --------
    >>> import nbformat, tempfile, pathlib
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hi")])
    >>> out = export_html(nb, pathlib.Path(tempfile.mkdtemp()) / "hi.html")
    >>> "Hi" in out.read_text()
    True
    """
    html_path = Path(html_path)
    write_atomic(html_path, render_html(nb, title=title or html_path.stem))
    return html_path


def render_html(nb: Any | str | os.PathLike[str], *, title: str) -> str:
    """Return the HTML page of an executed notebook, as :func:`export_html` writes it.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hi")])
    >>> "<title>hi</title>" in render_html(nb, title="hi")
    True
    """
    import nbformat

    if isinstance(nb, str | os.PathLike):
        nb = nbformat.read(os.fspath(nb), as_version=4)
    body, _ = _html_exporter().from_notebook_node(
        _without_summary_outputs(nb), resources={"metadata": {"name": title}}
    )
    return str(body)


# --------------------------------------------------------------------------- index


@dataclass
class IndexEntry:
    """One row of the report index (``index.json`` / ``index.html``).

    Paths are relative to the output directory, with ``/`` separators.

    Attributes
    ----------
    notebook : str
        Notebook stem (the report's folder).
    name : str
        Report name (file stem, safe for the file system).
    label : str
        Original, human-readable name (e.g. the segment value).
    status : str
        ``"ok"`` or ``"failed"``.
    error : str or None
        Error message of a failed report.
    html : str or None
        HTML page: the new one, or for a failed report the last good one, if any.
    ipynb : str or None
        Executed notebook (``.failed.ipynb`` for a failed report).
    summary : dict
        Key figures recorded by the notebook.
    parameters : dict
        Parameters given to the notebook (beyond its defaults).
    segment_column, segment_value : optional
        The segment, for reports made with ``--by``; ``segment_value`` is ``None``
        for the total.
    generated : str
        When the batch started (ISO 8601, UTC; ``SOURCE_DATE_EPOCH`` when set, see
        :func:`retention.reports.run.run_reports`); the reports of one batch share it.
    data_source : str or None
        The transaction file the report read (``data_path``), ``None`` for the bundled
        sample.
    downloads : list of str
        Files the report offers for download (CSV, Excel).
    currency : str or None
        Currency of the money figures (``retention report --currency EUR``).
    """

    notebook: str
    name: str
    label: str
    status: str
    error: str | None = None
    html: str | None = None
    ipynb: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    segment_column: str | None = None
    segment_value: Any = None
    generated: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    data_source: str | None = None
    downloads: list[str] = field(default_factory=list)
    currency: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the entry as JSON-serialisable data."""
        return _jsonable(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexEntry:
        """Build an entry from :meth:`as_dict` output, ignoring unknown keys."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def read_index(output_dir: str | os.PathLike[str]) -> list[IndexEntry]:
    """Read ``index.json`` from an output directory (empty list if missing or unreadable).

    Examples
    --------
    >>> import tempfile
    >>> read_index(tempfile.mkdtemp())
    []
    """
    path = Path(output_dir) / INDEX_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [IndexEntry.from_dict(d) for d in data.get("reports", [])]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def _exists(output_dir: Path, rel: str | None) -> bool:
    return rel is not None and (output_dir / rel).is_file()


def write_index(
    entries: Sequence[IndexEntry],
    output_dir: str | os.PathLike[str],
    *,
    merge: bool = True,
    title: str = "Retention reports",
) -> tuple[Path, Path]:
    """Write ``index.html`` and ``index.json`` listing reports.

    Parameters
    ----------
    entries : sequence of IndexEntry
        The reports of this run.
    output_dir : path
        The output directory; links are relative to it.
    merge : bool, default True
        Keep the entries of earlier runs (from ``index.json``) for reports not in
        ``entries`` whose files still exist, so that running one notebook does not drop
        the others from the index.
    title : str
        Page heading.

    Returns
    -------
    (Path, Path)
        Paths of ``index.html`` and ``index.json``.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> page, data = write_index([IndexEntry("demo", "total", "Total", "ok")], out)
    >>> page.name, data.name
    ('index.html', 'index.json')
    """
    output_dir = Path(output_dir)
    rows = list(entries)
    if merge:
        current = {(e.notebook, e.name) for e in rows}
        for old in read_index(output_dir):
            if (old.notebook, old.name) in current:
                continue
            if _exists(output_dir, old.html) or _exists(output_dir, old.ipynb):
                rows.append(old)
    rows.sort(
        key=lambda e: (
            e.notebook,
            e.segment_column is not None and e.segment_value is not None,
            e.label.casefold(),
            e.name,
        )
    )
    from retention.reports.comparison import write_comparisons

    json_path = output_dir / INDEX_JSON
    html_path = output_dir / INDEX_HTML
    payload = {"generated": latest_run(rows), "reports": [e.as_dict() for e in rows]}
    latest: dict[str, str] = {}  # segment column -> its latest run
    for e in rows:
        if e.segment_column is not None:
            latest[e.segment_column] = max(latest.get(e.segment_column, ""), e.generated)
    comparisons = write_comparisons(
        [e for e in rows if e.segment_column and e.generated == latest[e.segment_column]],
        output_dir)
    staged = [(write_temporary(json_path, json.dumps(payload, indent=2, ensure_ascii=False)
                               + "\n"), json_path)]
    try:
        page = render_index_html(rows, title=title, comparisons=comparisons)
        staged.append((write_temporary(html_path, page), html_path))
    except BaseException:
        staged[0][0].unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    return html_path, json_path


def latest_run(entries: Sequence[IndexEntry]) -> str:
    """The ``generated`` time of the newest run among ``entries`` (now, if none).

    This is the one timestamp of the index: ``index.json`` and ``index.html`` give it as
    their own time, so an index written again for the same reports is the same file.

    Examples
    --------
    >>> latest_run([IndexEntry("a", "x", "x", "ok", generated="2026-01-02T00:00:00+00:00"),
    ...             IndexEntry("a", "y", "y", "ok", generated="2026-01-01T00:00:00+00:00")])
    '2026-01-02T00:00:00+00:00'
    """
    return max((e.generated for e in entries),
               default=datetime.now(UTC).isoformat(timespec="seconds"))


#: Key figures whose name ends like this are fractions, shown as percentages.
FRACTION_SUFFIXES = ("rate", "retention", "share", "probability")

#: Index labels and units of the key figures the package's reports record:
#: ``count``, ``money``, ``share`` (a fraction), ``number`` or ``text``.
FIGURES: dict[str, tuple[str, str]] = {
    "customers": ("Customers", "count"),
    "cohorts": ("Cohorts", "count"),
    "revenue": ("Revenue", "money"),
    "average_period1_retention": ("Period-1 retention", "share"),
    "period3_retention": ("Period-3 retention", "share"),
    "curves_differ_p": ("Segments differ, p", "number"),
    "best_cohort": ("Best cohort", "text"),
    "worst_cohort": ("Worst cohort", "text"),
    "clv_total": ("CLV, total", "money"),
    "clv_mean": ("CLV per customer", "money"),
    "model": ("Model", "text"),
    "margin": ("Margin", "share"),
    "top20_share": ("Top 20% share of CLV", "share"),
    "expected_alive": ("Expected active customers", "count"),
    "model_log_likelihood": ("Log-likelihood", "number"),
    "holdout_actual": ("Holdout purchases", "count"),
    "holdout_expected": ("Holdout purchases, predicted", "count"),
    "at_risk": ("At risk", "count"),
    "champions_share": ("Champions", "share"),
    "cant_lose": ("Can't lose them", "count"),
    "answers": ("Answers", "count"),
    "nps": ("NPS", "number"),
    "csat_share": ("CSAT (top-2 box)", "share"),
}
#: Figures shown inside another's cell as its interval: figure -> (low, high).
INTERVALS = {"clv_total": ("clv_low", "clv_high"), "nps": ("nps_ci_low", "nps_ci_high")}
#: Figures that describe the data or feed the comparison page, not shown as columns.
_NOT_COLUMNS = {"data_from", "data_to", "period1_retained", "period1_base",
                "period3_retained", "period3_base", "curves_breakdown"}
#: Index headings of the package's report notebooks.
NOTEBOOK_TITLES = {
    "cohort_retention_report": "Cohort retention",
    "clv_breakdown_report": "Customer lifetime value",
    "rfm_segments_report": "RFM segments",
    "loyalty_survey_report": "Loyalty survey",
}


def figure_label(name: str, currency: str | None = None) -> str:
    """Column heading of a key figure: its label, with the currency of money figures.

    >>> figure_label("clv_mean", "EUR"), figure_label("holdout_sales")
    ('CLV per customer, EUR', 'Holdout sales')
    """
    label, unit = FIGURES.get(name, (str(name).replace("_", " ").capitalize(), ""))
    return f"{label}, {currency}" if unit == "money" and currency else label


def format_figure(name: str, value: Any) -> str:
    """Display text of one key figure: thousands separators, fractions as percentages.

    >>> format_figure("revenue", 418263.4), format_figure("period1_retention", 0.1554)
    ('418,263', '15.5%')
    >>> format_figure("margin", 1.0), format_figure("expected_alive", 1722.4)
    ('100.0%', '1,722')
    """
    if isinstance(value, bool) or value is None:
        return "–" if value is None else ("yes" if value else "no")
    unit = FIGURES.get(name, ("", ""))[1]
    if isinstance(value, int | float) and (
            unit == "share" or (not unit and str(name).lower().endswith(FRACTION_SUFFIXES))):
        return f"{value:.1%}"
    if isinstance(value, int) or (unit == "count" and isinstance(value, float)):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return (
            f"{value:,.0f}"
            if abs(value) >= 100
            else f"{value:,.2f}"
            if abs(value) >= 1
            else f"{value:.3g}"
        )
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def html_link(rel: str, text: str) -> str:
    href = html.escape(quote(rel, safe="/"), quote=True)
    return f'<a href="{href}">{html.escape(text)}</a>'


PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 2rem; color: #1f2328; max-width: 1200px; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .25rem; border-bottom: 2px solid #d1d9e0; }
h3 { font-size: 1rem; margin: 1.25rem 0 .25rem; }
p.meta { color: #59636e; margin-top: 0; }
div.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border-bottom: 1px solid #d1d9e0; padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ok { color: #1a7f37; font-weight: 600; }
.failed { color: #d1242f; font-weight: 600; }
tr.failed-row td { background: #fff0f0; }
.error { color: #d1242f; font-family: ui-monospace, monospace; white-space: pre-wrap;
         font-size: .8rem; font-weight: normal; }
.muted { color: #59636e; }
small.range { color: #59636e; display: block; }
td.files { min-width: 9rem; max-width: 14rem; }
"""


def _source_label(source: str | None) -> str:
    return "bundled sample data" if source is None else str(source)


def _period(entries: Sequence[IndexEntry]) -> str:
    starts = [x.summary["data_from"] for x in entries if x.summary.get("data_from")]
    ends = [x.summary["data_to"] for x in entries if x.summary.get("data_to")]
    return f"{min(starts)} to {max(ends)}" if starts and ends else ""


def _figure_cell(x: IndexEntry, key: str) -> str:
    e = html.escape
    if key not in x.summary:
        return '<td class="num muted">–</td>'
    value = x.summary[key]
    text = e(format_figure(key, value))
    low, high = INTERVALS.get(key, (None, None))
    if x.summary.get(low) is not None and x.summary.get(high) is not None:
        text += (f'<small class="range">{e(format_figure(key, x.summary[low]))} – '
                 f'{e(format_figure(key, x.summary[high]))}</small>')
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"


def _report_table(entries: Sequence[IndexEntry]) -> str:
    """One report type of one run: a row per report (segment), a column per figure."""
    e = html.escape
    hidden = _NOT_COLUMNS | {b for pair in INTERVALS.values() for b in pair}
    keys: list[str] = []
    for x in entries:
        keys += [k for k in x.summary if k not in hidden and k not in keys]
    currency = next((x.currency for x in entries if x.currency), None)
    head = "".join(f"<th>{e(figure_label(k, currency))}</th>" for k in keys)
    rows = []
    for x in entries:
        if x.segment_column is not None:
            shown = "Total" if x.segment_value is None else str(x.segment_value)
            report = f'{e(shown)} <span class="muted">({e(x.segment_column)})</span>'
        else:
            report = e(x.label)
        links = []
        if x.html:
            links.append(html_link(x.html, "page" if x.status == "ok" else "last good page"))
        if x.ipynb:
            links.append(html_link(x.ipynb, "notebook" if x.status == "ok" else "failed notebook"))
        csv = [html_link(d, Path(d).stem.replace("_", " ")) for d in x.downloads
               if d.endswith(".csv")]
        excel = [html_link(d, "Excel") for d in x.downloads if d.endswith(".xlsx")]
        files = " · ".join(links) + (
            f'<small class="range">CSV: {", ".join(csv)}{" · " if excel else ""}'
            f'{" · ".join(excel)}</small>' if csv or excel else "")
        if x.status == "ok":
            status = '<span class="ok">ok</span>'
            cells = "".join(_figure_cell(x, k) for k in keys)
        else:
            first = (x.error or "").strip().splitlines()
            message = first[0] if first else "unknown error"
            status = '<span class="failed">failed</span>'
            cells = (f'<td colspan="{max(len(keys), 1)}" class="error">{e(message)}</td>'
                     if keys else f'<td class="error">{e(message)}</td>')
        row_class = "" if x.status == "ok" else ' class="failed-row"'
        rows.append(f"<tr{row_class}><td>{report}</td><td>{status}</td>"
                    f'<td class="files">{files}</td>{cells}</tr>')
    return (f'<div class="scroll"><table><thead><tr><th>Report</th><th>Status</th>'
            f'<th>Files</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def render_index_html(entries: Sequence[IndexEntry], *, title: str = "Retention reports",
                      comparisons: Mapping[str, str] | None = None) -> str:
    """Return the self-contained index page (inline CSS, no scripts or external assets).

    Reports are grouped by data set, then by run (newest first), with one table per
    report type: a row per report or segment, a column per key figure with its label and
    unit (money in ``currency`` where a run gives one), failures in red with their error.

    Every value that comes from data (names, segment values, error text, figures) is
    HTML-escaped.

    Parameters
    ----------
    entries : sequence of IndexEntry
    title : str
    comparisons : mapping of str to str, optional
        Segment column to the relative path of its segment comparison page.

    Examples
    --------
    >>> page = render_index_html([IndexEntry("demo", "x", "<b>", "ok")])
    >>> "&lt;b&gt;" in page and "<b>" not in page
    True
    """
    e = html.escape
    n_failed = sum(1 for x in entries if x.status != "ok")
    sources: dict[str | None, list[IndexEntry]] = {}
    for x in entries:
        sources.setdefault(x.data_source, []).append(x)
    sections = []
    for source, group in sorted(sources.items(),
                                key=lambda kv: max(x.generated for x in kv[1]), reverse=True):
        period = _period(group)
        sections.append(f"<h2>{e(_source_label(source))}</h2>")
        if period:
            sections.append(f'<p class="meta">Data from {e(period)}</p>')
        runs: dict[str, list[IndexEntry]] = {}
        for x in group:
            runs.setdefault(x.generated, []).append(x)
        for when, run in sorted(runs.items(), reverse=True):
            columns = sorted({x.segment_column for x in run if x.segment_column})
            compare = [html_link(comparisons[c], f"compare segments by {c}")
                       for c in columns if comparisons and c in comparisons]
            shown = when.replace("T", " ").replace("+00:00", " UTC")
            failed = sum(1 for x in run if x.status != "ok")
            sections.append(
                f"<h3>Run of {e(shown)} · {len(run)} report(s)"
                + (f', <span class="failed">{failed} failed</span>' if failed else "")
                + (f" · {' · '.join(compare)}" if compare else "") + "</h3>")
            notebooks: dict[str, list[IndexEntry]] = {}
            for x in run:
                notebooks.setdefault(x.notebook, []).append(x)
            for notebook, rows in notebooks.items():
                heading = NOTEBOOK_TITLES.get(notebook, notebook.replace("_", " ").capitalize())
                sections.append(f'<h4>{e(heading)} <span class="muted">({e(notebook)})</span>'
                                f"</h4>{_report_table(rows)}")
    latest = latest_run(entries).replace("T", " ").replace("+00:00", " UTC")
    summary_line = f"{len(entries)} report(s), {n_failed} failed · latest run {latest}"
    body = "\n".join(sections) or '<p class="muted">No reports.</p>'
    return html_page(title, f'<p class="meta">{e(summary_line)}</p>\n{body}')


def html_page(title: str, body: str) -> str:
    """A self-contained page of the batch (the index, a comparison): the package's inline
    CSS, ``title`` (escaped) as heading, and ``body`` (HTML, already escaped) below it.

    >>> "<h1>a &amp; b</h1>" in html_page("a & b", "<p>x</p>")
    True
    """
    e = html.escape
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{PAGE_CSS}</style>
</head>
<body>
<h1>{e(title)}</h1>
{body}
</body>
</html>
"""
