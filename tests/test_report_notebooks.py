"""The real report notebooks, run end to end by the batch runner on the sample data.

Real papermill, kernels and nbconvert: hostile segment values (every report notebook, with
hostile values, column names and titles too), a failing parameter set, and a failure that must
not replace the last good report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from retention.reports.parameters import notebook_parameters
from retention.reports.plan import find_report_notebooks
from retention.reports.run import run_reports

ROOT = Path(__file__).resolve().parents[1]
COHORT_REPORT = ROOT / "notebooks" / "cohort_retention_report.ipynb"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory) -> Path:
    """Two channels of the sample data, renamed to values that are unsafe in HTML and paths."""
    tx = pd.read_csv(ROOT / "data" / "sample_transactions.csv")
    tx = tx[tx["channel"].isin(["email", "social"])]
    tx["channel"] = tx["channel"].map({"email": SCRIPT, "social": "paid/social"})
    path = tmp_path_factory.mktemp("data") / "tx.csv"
    tx.to_csv(path, index=False)
    return path


def test_by_segment_with_unsafe_values(sample_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    results = run_reports(
        [COHORT_REPORT],
        {"data_path": str(sample_csv)},
        by="channel",
        output_dir=out,
        progress=False,
    )
    assert [r.status for r in results] == ["ok"] * 3
    assert sorted(r.job.parameters["segment_value"] or "" for r in results) == [
        "",
        SCRIPT,
        "paid/social",
    ]
    folder = out / "cohort_retention_report"
    files = sorted(p.name for p in folder.glob("*.html"))
    assert len(files) == 3
    assert all("<" not in f and "/" not in f and ".." not in f for f in files)

    index_html = (out / "index.html").read_text(encoding="utf-8")
    assert SCRIPT not in index_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index_html

    for result in results:
        page = result.html_path.read_text(encoding="utf-8")
        assert "data:image/png;base64" in page  # the heatmaps and curves are there
        assert "import retention" not in page  # code hidden
        assert SCRIPT not in page  # the segment title is escaped in the report too
        summary = result.summary
        assert summary["customers"] > 0 and 0 < summary["average_period1_retention"] < 1

    by_value = {r.job.parameters["segment_value"]: r.summary["customers"] for r in results}
    assert by_value[None] == by_value[SCRIPT] + by_value["paid/social"]


def test_failing_set_is_isolated_and_keeps_the_last_good_report(
    sample_csv: Path, tmp_path: Path
) -> None:
    config = tmp_path / "jobs.yml"
    config.write_text(
        f"defaults:\n  parameters: {{data_path: {sample_csv}}}\n"
        f"reports:\n"
        f"  - {{name: monthly, notebook: {COHORT_REPORT}}}\n"
        f"  - {{name: broken, notebook: {COHORT_REPORT}, parameters: {{freq: fortnight}}}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "reports"

    def cli(config_path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "retention.cli",
                "report",
                "--config",
                str(config_path),
                "--output-dir",
                str(out),
                "--no-progress",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    first = cli(config)
    assert first.returncode == 1, first.stderr
    folder = out / "cohort_retention_report"
    assert (folder / "monthly.html").exists()
    assert not (folder / "broken.html").exists()
    failed = (folder / "broken.failed.ipynb").read_text(encoding="utf-8")
    assert "freq='fortnight' is not a supported grain" in failed
    entries = {e["name"]: e for e in json.loads((out / "index.json").read_text())["reports"]}
    assert entries["monthly"]["status"] == "ok" and entries["broken"]["status"] == "failed"
    assert "not a supported grain" in entries["broken"]["error"]

    good = (folder / "monthly.html").read_bytes()
    again = tmp_path / "again.yml"
    again.write_text(
        f"reports:\n  - {{name: monthly, notebook: {COHORT_REPORT}, parameters: "
        f"{{data_path: {sample_csv}, freq: fortnight}}}}\n",
        encoding="utf-8",
    )
    second = cli(again)
    assert second.returncode == 1
    assert (folder / "monthly.html").read_bytes() == good
    assert (folder / "monthly.failed.ipynb").exists()


# --------------------------------------------------------------------------------------------
# every report notebook, with hostile segment values, column names and titles
# --------------------------------------------------------------------------------------------

LINK = "[x](javascript:alert(1))"
IMG = "<img src=x onerror=alert(1)>"
NEWLINE = "north\n# broken east"
NUL = "nul\x00value"
HOSTILE = [SCRIPT, LINK, IMG, NEWLINE, NUL]
#: The report title: every hostile string at once, a line break starting a new heading.
TITLE = "Report " + " ".join(HOSTILE) + "\n## broken title"
#: The segment of each report: a line break, then Markdown and HTML.
SEGMENT = f"NL\n# broken {LINK} {IMG}\x00end"
#: A segment column named with markup, holding the five hostile values.
CHANNEL = f"channel {IMG}"


class _Page(HTMLParser):
    """What a browser would make of a page: elements with attributes, script text, headings
    and the visible text."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self._open: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "script":
            self.scripts.append("")
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.headings.append("")
        if tag not in ("img", "br", "hr", "meta", "link", "input"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "script" in self._open:
            self.scripts[-1] += data
        elif "style" not in self._open:
            self.text.append(data)
            if any(t in self._open for t in ("h1", "h2", "h3", "h4", "h5", "h6")):
                self.headings[-1] += data


def assert_nothing_live(page: str) -> _Page:
    """No hostile string of the data or parameters works as markup on this page."""
    assert "\x00" not in page
    assert "<script>alert" not in page.lower()
    assert "<img src=x onerror" not in page.lower()
    parsed = _Page(page)
    assert not [s for s in parsed.scripts if "alert(" in s]
    for tag, attrs in parsed.elements:
        for name, value in attrs.items():
            assert not value.strip().lower().startswith("javascript:"), (tag, name, value)
            assert not (name.startswith("on") and "alert" in value), (tag, name, value)
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
    assert 'href="javascript:' not in page.lower()
    # a line break in a title or value never starts a heading of its own
    assert not [h for h in parsed.headings if h.strip().startswith("broken")], parsed.headings
    return parsed


@pytest.fixture(scope="module")
def hostile_parquet(tmp_path_factory) -> Path:
    """A small log from the sample data: the channels are the hostile values (in a column
    with markup in its name), the country of the reports is :data:`SEGMENT`."""
    tx = pd.read_csv(ROOT / "data" / "sample_transactions.csv")
    channels = sorted(tx["channel"].unique())
    assert len(channels) == len(HOSTILE)
    tx[CHANNEL] = tx.pop("channel").map(dict(zip(channels, HOSTILE, strict=True)))
    tx["country"] = tx["country"].where(tx["country"] != "NL", SEGMENT)
    customers = tx["customer_id"].drop_duplicates()
    tx = tx[tx["customer_id"].isin(customers.iloc[::2])]  # half the customers: fast
    path = tmp_path_factory.mktemp("hostile") / "tx.parquet"
    tx.to_parquet(path, index=False)
    return path


REPORTS = find_report_notebooks(ROOT / "notebooks")


def test_every_report_notebook_is_covered() -> None:
    assert {p.name for p in REPORTS} >= {COHORT_REPORT.name, "clv_breakdown_report.ipynb"}


@pytest.mark.parametrize("notebook", REPORTS, ids=lambda p: p.stem)
def test_hostile_values_and_titles_are_shown_never_run(
    notebook: Path, hostile_parquet: Path, tmp_path: Path
) -> None:
    declared = notebook_parameters(notebook)
    parameters = {
        "data_path": str(hostile_parquet),
        "segment_column": "country",
        "segment_value": SEGMENT,
        "title": TITLE,
    }
    # a report that breaks its figures down by a segment does so by the hostile column
    parameters.update({k: CHANNEL for k in ("breakdown",) if k in declared})
    assert set(parameters) <= set(declared)
    out = tmp_path / "reports"
    [result] = run_reports([notebook], parameters, output_dir=out, progress=False)
    assert result.status == "ok", result.error

    page = result.html_path.read_text(encoding="utf-8")
    parsed = assert_nothing_live(page)
    text = " ".join(parsed.text)
    # shown as written (line breaks and NUL as spaces), in one heading
    assert any(
        "Report <script>alert(1)</script> [x](javascript:alert(1))" in h
        and "north # broken east nul value ## broken title" in h
        and "NL # broken [x](javascript:alert(1)) <img src=x onerror=alert(1)> end" in h
        for h in parsed.headings
    ), parsed.headings
    if "breakdown" in declared:  # the hostile channels in the breakdown tables and text
        for value in (SCRIPT, LINK, IMG, "north # broken east", "nul value"):
            assert value in text, value
        assert CHANNEL in text
    assert_nothing_live((out / "index.html").read_text(encoding="utf-8"))


def test_value_reports_on_a_small_log_whose_unpenalised_fits_run_away(tmp_path: Path) -> None:
    """400 customers: on seed 3 the Gamma-Gamma estimates run away without a penalty, on
    seed 2 the Pareto/NBD chosen for the CLV; the reports fit them with the first penalizer
    that keeps them finite, and say so."""
    import retention as rt

    notebooks = [ROOT / "notebooks" / "clv_breakdown_report.ipynb",
                 ROOT / "notebooks" / "rfm_segments_report.ipynb"]
    seen = {}
    for seed, model in ((3, "Gamma-Gamma"), (2, "Pareto/NBD")):
        tx = rt.sample_transactions(n_customers=400, seed=seed)
        summary = rt.rfm_summary(tx, "D", time_unit="W")
        with pytest.raises(rt.ConvergenceError):  # what the reports met before
            (rt.GammaGamma().fit(summary[(summary["frequency"] > 0)
                                         & (summary["monetary_value"] > 0)])
             if seed == 3 else rt.ParetoNBD().fit(summary))
        path = tmp_path / f"small_{seed}.csv"
        tx.to_csv(path, index=False)
        results = run_reports(notebooks, {"data_path": str(path)}, output_dir=tmp_path / str(seed),
                              progress=False)
        assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
        for result in results:
            page = result.html_path.read_text(encoding="utf-8")
            seen[(seed, result.job.notebook.stem)] = (
                f"{model}: without a penalty its estimates run away" in page)
    assert seen[(3, "clv_breakdown_report")] and seen[(3, "rfm_segments_report")]
    assert seen[(2, "clv_breakdown_report")]
