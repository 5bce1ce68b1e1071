"""Build the tiny fixture notebooks used by ``tests/test_report.py``.

Run ``python tests/data/make_fixtures.py`` after changing them; the notebooks are
committed so the tests need no build step. They use only the standard library so that
each run costs little more than the kernel start.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent

KERNELSPEC = {"name": "retention", "display_name": "retention", "language": "python"}
LANGUAGE_INFO = {"name": "python"}

# Key figures, in the plain-IPython form of the convention (retention.reports.publish docstring).
RECORD_SUMMARY = """\
from IPython.display import display

display(
    {"application/vnd.retention.summary+json": summary, "text/plain": repr(summary)},
    raw=True,
)
"""


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"  # stable ids: rebuilding gives identical files
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    return nb


def parameters_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


def summary_report() -> nbformat.NotebookNode:
    """Reads a CSV, filters one segment and records customers, orders and revenue."""
    return notebook(
        [
            nbformat.v4.new_markdown_cell("# Summary report"),
            parameters_cell(
                'data_path: str = "transactions.csv"  # transaction file\n'
                "segment_column: str | None = None  # column defining the segment\n"
                "segment_value: str | None = None  # segment to keep; None = all rows\n"
                "min_revenue: float = 0.0  # ignore smaller orders\n"
                "top_n: int = 3  # customers to list\n"
                "show_details: bool = False  # print every row\n"
            ),
            nbformat.v4.new_code_cell(
                "import csv\n"
                "# CODE_MARKER: this comment must not appear in the HTML\n"
                "with open(data_path, newline='') as fh:\n"
                "    rows = list(csv.DictReader(fh))\n"
                "if segment_value is not None:\n"
                "    rows = [r for r in rows if r[segment_column] == segment_value]\n"
                "rows = [r for r in rows if float(r['revenue']) >= min_revenue]\n"
                "customers = len({r['customer_id'] for r in rows})\n"
                "revenue = sum(float(r['revenue']) for r in rows)\n"
                "print(f'OUTPUT_MARKER customers={customers} revenue={revenue:.2f}')"
            ),
            nbformat.v4.new_code_cell(
                "summary = {'customers': customers, 'orders': len(rows), "
                "'revenue': round(revenue, 2), 'segment': segment_value}\n" + RECORD_SUMMARY
            ),
        ]
    )


def fragile_report() -> nbformat.NotebookNode:
    """Raises ValueError when ``mode == "fail"``."""
    return notebook(
        [
            nbformat.v4.new_markdown_cell("# Fragile report"),
            parameters_cell('mode: str = "ok"  # "fail" raises\nlabel: str = "run"  # shown\n'),
            nbformat.v4.new_code_cell(
                "if mode == 'fail':\n"
                "    raise ValueError(f'deliberate failure <b>{label}</b>')\n"
                "print(f'FRAGILE_OK {label}')"
            ),
            nbformat.v4.new_code_cell("summary = {'label': label}\n" + RECORD_SUMMARY),
        ]
    )


TRANSACTIONS = """\
customer_id,order_date,revenue,channel
1,2024-01-05,10.0,web
2,2024-01-07,20.0,store
1,2024-02-01,15.5,web
3,2024-02-03,7.25,<script>alert(1)</script>
4,2024-02-09,30.0,web/app
5,2024-03-01,12.0,
"""


def main() -> None:
    nbformat.write(summary_report(), HERE / "summary_report.ipynb")
    nbformat.write(fragile_report(), HERE / "fragile_report.ipynb")
    (HERE / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")


if __name__ == "__main__":
    main()
