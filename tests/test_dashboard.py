"""The batch's index dashboard, segment comparison page, downloads and per-segment data
checks, on a real ``--by channel`` run of the cohort report (papermill, nbconvert)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import retention as rt
from retention.reports.comparison import comparison_page
from retention.reports.narrative import (
    in_window,
    kpi_table,
    retention_counts,
    segment_validation,
    select_segment,
)
from retention.reports.publish import IndexEntry, read_index, render_index_html
from retention.reports.run import run_reports

ROOT = Path(__file__).resolve().parents[1]
COHORT = ROOT / "notebooks" / "cohort_retention_report.ipynb"


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rt.load_transactions(rt.sample_path())


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("dashboard")
    results = run_reports([COHORT], by="channel", output_dir=out, currency="EUR",
                          progress=False)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return out, results


def test_downloads_are_written_linked_and_hold_the_tables(batch, tx) -> None:
    out, results = batch
    email = next(r for r in results if r.job.segment_value == "email")
    names = sorted(p.name for p in email.downloads)
    assert names == ["cohort_report.xlsx", "cohort_table.csv", "kpi_table.csv",
                     "retention_matrix.csv"]
    page = email.html_path.read_text(encoding="utf-8")
    assert f'href="{email.job.name}_files/kpi_table.csv"' in page
    kpi = pd.read_csv(email.html_path.parent / f"{email.job.name}_files" / "kpi_table.csv")
    expected = rt.period_metrics(select_segment(tx, "channel", "email"), "M")
    assert len(kpi) == len(expected)  # every period, not only the 12 shown
    np.testing.assert_allclose(kpi["revenue"], expected["revenue"], rtol=1e-12)
    book = pd.read_excel(email.html_path.parent / f"{email.job.name}_files"
                         / "cohort_report.xlsx", sheet_name=None)
    assert list(book) == ["Retention matrix", "Cohort table", "KPI table"]
    entry = next(e for e in read_index(out) if e.segment_value == "email")
    assert entry.downloads == [str(p.relative_to(out)) for p in email.downloads]


def test_index_is_a_dashboard_with_labels_currency_and_source(batch, tx) -> None:
    out, _ = batch
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<h2>bundled sample data</h2>" in page
    assert "Cohort retention" in page and "<th>Revenue, EUR</th>" in page
    assert "<th>Period-1 retention</th>" in page
    assert "average_period1_retention" not in page and "period1_base" not in page
    assert 'href="compare_channel.html"' in page
    assert page.count("<table>") == 1  # one report type: one table, a row per segment
    # the total and a row per channel
    assert page.count('<span class="ok">ok</span>') == 1 + tx["channel"].nunique()


def test_comparison_page_pools_retention_with_wilson_intervals(batch, tx) -> None:
    out, _ = batch
    page = (out / "compare_channel.html").read_text(encoding="utf-8")
    long = rt.cohort_table(select_segment(tx, "channel", "email"), "M")
    kept, base = retention_counts(long, 1)
    p = kept / base
    z = 1.959963984540054
    centre = (p + z * z / (2 * base)) / (1 + z * z / base)
    half = z * np.sqrt(p * (1 - p) / base + z * z / (4 * base**2)) / (1 + z * z / base)
    assert f"{p:.1%}" in page and f"{centre - half:.1%} – {centre + half:.1%}" in page
    assert f"(n = {base:,})" in page
    # the total report's test of the curves, within cohorts
    compared = rt.compare_curves(rt.cohort_table(tx, "M", by="channel"), "channel")
    assert "Cochran–Mantel–Haenszel" in page
    assert f"p = {compared.attrs['overall_p_value']:.3g}" in page
    for channel in tx["channel"].unique():
        assert f"<td>{channel}" in page


def test_segment_data_checks_count_the_segments_rows(tx) -> None:
    seg = select_segment(tx, "channel", "email")
    whole = segment_validation(tx)
    mine = segment_validation(seg, "channel", "email")
    refunds = {f.problem: f.count for f in mine.notes}["negative (refunds or returns)"]
    assert refunds == int((seg["revenue"] < 0).sum())
    assert refunds < {f.problem: f.count for f in whole.notes}["negative (refunds or returns)"]
    assert mine.rows_kept == len(seg) and mine.rows_read == whole.rows_read


def test_kpi_table_follows_the_window_and_says_what_it_truncates(tx) -> None:
    kpi = rt.period_metrics(tx, "M")
    window = in_window(kpi, "2023-03", "2023-10")
    assert [str(p) for p in window.index[[0, -1]]] == ["2023-03", "2023-10"]
    styler, note = kpi_table(kpi, rows=5)
    html = styler.to_html()
    assert "Churn" in html and "churn_rate" not in html and "partial" not in html
    assert note.startswith(f"The last 5 of {len(kpi)} periods")
    assert kpi_table(window)[1] == ""  # 8 periods, none partial: nothing to say
    weekly = rt.period_metrics(tx, "W")
    assert "-W" in kpi_table(weekly)[0].to_html()  # ISO weeks, as on the heatmap


def test_index_groups_data_sets_and_runs_and_keeps_failures_red() -> None:
    entries = [
        IndexEntry("cohort_retention_report", "report", "report", "ok",
                   summary={"customers": 10, "revenue": 5.5}, data_source="a.csv",
                   generated="2026-01-01T10:00:00+00:00"),
        IndexEntry("cohort_retention_report", "b", "b", "failed", error="ValueError: bad",
                   data_source="b.csv", generated="2026-01-02T10:00:00+00:00"),
    ]
    page = render_index_html(entries)
    assert page.index("<h2>b.csv</h2>") < page.index("<h2>a.csv</h2>")  # newest first
    assert '<tr class="failed-row">' in page and "ValueError: bad" in page


def test_comparison_page_falls_back_to_a_pooled_test() -> None:
    def entry(value, kept, base):
        return IndexEntry("cohort_retention_report", str(value), str(value), "ok",
                          summary={"customers": base, "period1_retained": kept,
                                   "period1_base": base},
                          segment_column="channel", segment_value=value)

    page = comparison_page([entry(None, 60, 300), entry("a", 50, 100), entry("b", 10, 200)],
                           "channel")
    assert "chi-square test of independence" in page and "the segments differ" in page


def test_comparison_page_escapes_segment_values() -> None:
    entry = IndexEntry("cohort_retention_report", "x", "x", "ok",
                       summary={"customers": 3, "period1_retained": 1, "period1_base": 3},
                       segment_column="channel", segment_value="<b>[a](javascript:x)")
    page = comparison_page([entry], "channel")
    assert "<b>[a]" not in page and "&lt;b&gt;" in page


def _browse(page: Path, tmp: Path) -> tuple[str, list[str]]:
    """The DOM chromium builds from ``page`` with the network cut off, and every URL the
    page asked for (requests with the page as initiator in chromium's network log; the
    browser's own service requests have none)."""
    import json
    import shutil
    import subprocess

    if shutil.which("chromium") is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    log = tmp / f"{page.stem}.netlog.json"
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--proxy-server=127.0.0.1:9", f"--user-data-dir={tmp / 'profile'}",
         f"--log-net-log={log}", "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    netlog = json.loads(log.read_text(encoding="utf-8"))
    start = netlog["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = [e["params"]["url"] for e in netlog["events"] if e["type"] == start
            and "url" in e.get("params", {})
            and e["params"].get("initiator") != "not an origin"]
    return dom, urls


def test_index_comparison_and_report_render_offline_in_a_browser(batch, tmp_path) -> None:
    control = tmp_path / "control.html"
    control.write_text('<img src="http://example.com/x.png">', encoding="utf-8")
    assert _browse(control, tmp_path)[1] == ["http://example.com/x.png"]  # the log sees it
    out, results = batch
    email = next(r for r in results if r.job.segment_value == "email")
    for page in (out / "index.html", out / "compare_channel.html", email.html_path):
        dom, urls = _browse(page, tmp_path)
        assert [u for u in urls if not u.startswith(("file:", "data:", "about:"))] == []
        text = re.sub(r"<style.*?</style>|<script.*?</script>|<[^>]+>", " ", dom, flags=re.S)
        assert "$$" not in text and "\\frac" not in text
    assert "Cohort retention" in text and "<img" in dom  # the report's charts are inline


def test_cohort_report_window_and_filtered_retention(tmp_path, tx) -> None:
    import papermill as pm

    nb = pm.execute_notebook(
        str(COHORT), str(tmp_path / "out.ipynb"), cwd=str(COHORT.parent), progress_bar=False,
        parameters={"end": "2024-06", "returns_column": "channel", "returns_value": "email",
                    "currency": "EUR"})
    html = "\n".join("".join(o.get("data", {}).get("text/html", ""))
                     for c in nb["cells"] for o in c.get("outputs", []))
    text = "\n".join("".join(o.get("data", {}).get("text/markdown", ""))
                     for c in nb["cells"] for o in c.get("outputs", []))
    assert "to 2024\\-06)" in text and "2024-06-30" in text  # the header follows the window
    assert "EUR" in text
    assert ">2024-06<" in html and ">2024-07<" not in html  # the KPI table too
    assert "Repeat purchases with channel = email" in text
    filtered = rt.bracket_matrix(rt.bracket_retention(
        tx[tx["order_date"] <= "2024-06-30"], tuple((k, k) for k in range(1, 7)), unit="M",
        returns={"channel": "email"}))
    assert f"{filtered.iloc[-12, 0]:.1%}" in html
