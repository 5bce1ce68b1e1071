"""The real report notebooks, run end to end by the batch runner on the sample data.

Real papermill, kernels and nbconvert: hostile segment values, a failing parameter set, and a
failure that must not replace the last good report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from retention.reports.batch import run_reports

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
