"""Tables a report offers for download: one CSV per table and one Excel workbook.

A report notebook declares the parameter ``downloads`` (a folder, ``None`` by default);
``retention report`` sets it to ``<name>_files`` beside the report's page, and the
notebook's last cells call :func:`save_downloads` with the tables a reader may want to
work on (the retention matrix, the KPI table, the per-customer CLV, the at-risk list). The
links it returns are relative to the page, so the folder can be moved together with it.
Run interactively, with ``downloads=None``, nothing is written.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from retention.reports.plan import slugify

__all__ = ["save_downloads"]

#: Excel's limit on sheet-name length.
_SHEET_CHARS = 31


def _flat(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """A table as plain columns: the index becomes columns, periods and categories text,
    time zones dropped (Excel stores none)."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    frame = frame.copy()
    frame.columns = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c)
                     for c in frame.columns]
    if not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None):
        frame = frame.reset_index()
    for col in frame.columns:
        values = frame[col]
        if isinstance(values.dtype, pd.PeriodDtype | pd.CategoricalDtype):
            frame[col] = values.astype(str)
        elif isinstance(values.dtype, pd.DatetimeTZDtype):
            frame[col] = values.dt.tz_localize(None)
    return frame


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the control characters a worksheet cannot hold (NUL and the other C0
    controls but tab and newlines) shown as U+FFFD; the CSV files keep the text as it is."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = [c for c in frame.columns if frame[c].dtype == object
            or pd.api.types.is_string_dtype(frame[c].dtype)]
    if not text:
        return frame
    out = frame.copy()
    for col in text:
        out[col] = out[col].map(
            lambda v: ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v)
    return out


def save_downloads(
    tables: Mapping[str, pd.DataFrame | pd.Series],
    folder: str | os.PathLike[str] | None,
    *,
    workbook: str = "tables",
) -> str:
    """Write each table as CSV, all of them as one Excel workbook, and return the links.

    Parameters
    ----------
    tables : mapping of str to DataFrame or Series
        Display name (e.g. ``"Retention matrix"``) to table. The file name is the name made
        safe by :func:`retention.reports.plan.slugify`, in lower case; a named or
        non-default index is written as columns.
    folder : path or None
        Where the files go (created); ``None`` writes nothing and returns ``""``.
    workbook : str, default "tables"
        Stem of the workbook (``<workbook>.xlsx``), one sheet per table.

    Returns
    -------
    str
        An HTML paragraph linking the files, relative to the folder's parent (the page's
        folder), or ``""`` when nothing was written.

    Notes
    -----
    CSV files are UTF-8 with a byte-order mark, comma-separated with a decimal point, which
    Excel opens correctly in every locale's "Data > From Text" and pandas reads as is.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "report_files"
    >>> links = save_downloads({"KPI table": pd.DataFrame({"x": [1, 2]})}, folder)
    >>> sorted(p.name for p in folder.iterdir())
    ['kpi_table.csv', 'tables.xlsx']
    >>> 'href="report_files/kpi_table.csv"' in links
    True
    >>> save_downloads({"KPI table": pd.DataFrame({"x": [1]})}, None)
    ''
    >>> _ = save_downloads({"t": pd.DataFrame({"segment": ["a\\x00b"]})}, folder)
    >>> pd.read_excel(folder / "tables.xlsx")["segment"].tolist()
    ['a\\ufffdb']
    """
    if folder is None or not tables:
        return ""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    flat = {name: _flat(table) for name, table in tables.items()}
    links = []
    for name, frame in flat.items():
        path = folder / f"{slugify(name, fallback='table').lower()}.csv"
        frame.to_csv(path, index=False, encoding="utf-8-sig")
        links.append((name, path))
    book = folder / f"{slugify(workbook, fallback='tables').lower()}.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        taken: set[str] = set()
        for name, frame in flat.items():
            sheet = re.sub(r"[\[\]:*?/\\]", " ", name)[:_SHEET_CHARS] or "table"
            while sheet in taken:
                sheet = f"{sheet[:_SHEET_CHARS - 2]}_{len(taken)}"
            taken.add(sheet)
            _for_excel(frame).to_excel(writer, sheet_name=sheet, index=False)
    links.append(("all tables (Excel)", book))

    def link(text: str, path: Path) -> str:
        href = html.escape(quote(f"{folder.name}/{path.name}"), quote=True)
        return f'<a href="{href}" download>{html.escape(text)}</a>'

    items = " · ".join(link(f"{text} (CSV)" if p.suffix == ".csv" else text, p)
                       for text, p in links)
    return f'<p class="downloads"><strong>Downloads:</strong> {items}</p>'
