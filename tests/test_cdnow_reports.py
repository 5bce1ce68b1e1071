"""Every report on a real log nobody here wrote: the CDNOW master file (``../shared``), with a
user's column names, as a plain CSV and as a European export (``;``, decimal commas, day-first
dates, Windows-1251). Both must give every report and the same key figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from retention.reports.plan import find_report_notebooks

ROOT = Path(__file__).resolve().parents[1]
CDNOW = ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"

pytestmark = pytest.mark.skipif(
    not CDNOW.is_file(), reason=f"CDNOW master file not found at {CDNOW}"
)
MAPPING = ["--customer", "client_id", "--date", "order_day", "--amount", "total"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cdnow")
    raw = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw.columns = ["client_id", "order_day", "qty", "total"]
    days = pd.to_datetime(raw["order_day"], format="%Y%m%d")
    plain, european = folder / "cdnow.csv", folder / "cdnow_eu.csv"
    raw.assign(order_day=days.dt.strftime("%Y-%m-%d")).to_csv(plain, index=False)
    raw.assign(order_day=days.dt.strftime("%d.%m.%Y")).to_csv(
        european, sep=";", decimal=",", index=False, encoding="cp1251"
    )
    return {"plain": plain, "european": european}


def _report(data: Path, out: Path) -> dict[tuple[str, str], dict]:
    command = [sys.executable, "-m", "retention.cli", "report", "--data", str(data), *MAPPING,
               "-o", str(out), "--no-progress"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    index = json.loads((out / "index.json").read_text())["reports"]
    expected = {p.stem for p in find_report_notebooks(ROOT / "notebooks")}
    assert {e["notebook"] for e in index} == expected
    assert all(e["status"] == "ok" for e in index)
    return {(e["notebook"], e["name"]): e["summary"] for e in index}


def test_every_report_on_cdnow_and_the_same_figures_from_a_european_export(exports, tmp_path):
    plain = _report(exports["plain"], tmp_path / "plain")
    european = _report(exports["european"], tmp_path / "european")
    assert plain == european
    cohort = plain[("cohort_retention_report", "report")]
    assert cohort["customers"] == 23_570
    assert cohort["cohorts"] == 3  # CDNOW customers were all acquired in 1997's first quarter
