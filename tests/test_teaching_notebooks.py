"""The two teaching notebooks, run by papermill on the bundled sample from two working
directories and on a real log with other column names (CDNOW, when it is next to the checkout).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FORMULAS = NOTEBOOKS / "01_retention_formulas.ipynb"
MODELS = NOTEBOOKS / "02_clv_models.ipynb"
CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow"
CDNOW_SPEC = {"customer": "client_id", "date": "order_day", "amount": "total"}


def run(notebook: Path, out_dir: Path, cwd: Path = ROOT, **parameters: object) -> str:
    """Execute ``notebook`` with papermill and return the text of every output, in order."""
    nb = pm.execute_notebook(
        str(notebook),
        str(out_dir / notebook.name),
        parameters=parameters,
        cwd=str(cwd),
        progress_bar=False,
    )
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"cell {cell.get('id')}: {output}"
            if output["output_type"] == "stream":
                texts.append(output["text"])
            elif "data" in output:
                texts.append(output["data"].get("text/plain", ""))
    return "\n".join(texts)


def number(pattern: str, text: str) -> float:
    """The number captured by ``pattern`` (commas allowed), which must be finite."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in the output"
    value = float(found.group(1).replace(",", ""))
    assert math.isfinite(value), found.group(0)
    return value


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CDNOW_master.txt with other column names and ISO dates, as a CSV file."""
    master = CDNOW / "CDNOW_master.txt"
    if not master.is_file():
        pytest.skip(f"CDNOW data not found at {master} (a folder next to the checkout)")
    raw = pd.read_csv(master, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    raw.columns = ["client_id", "order_day", "qty", "total"]
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    raw.to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- bundled sample


@pytest.mark.parametrize("where", ["root", "notebooks"])
def test_formulas_on_the_sample(where: str, tmp_path: Path) -> None:
    text = run(FORMULAS, tmp_path, cwd=ROOT if where == "root" else NOTEBOOKS)
    assert "sample_transactions.csv: 6,696 rows read" in text
    crr = number(r"CRR \d{4}-\d{2} = \(\d+ - \d+\) / \d+ = ([\d.]+)%", text)
    assert 0 < crr <= 100
    assert number(r"CLV = .* = ([\d.,]+)\n", text) > 0


@pytest.mark.parametrize("where", ["root", "notebooks"])
def test_models_on_the_sample(where: str, tmp_path: Path) -> None:
    text = run(MODELS, tmp_path, cwd=ROOT if where == "root" else NOTEBOOKS)
    assert "3,000 customers" in text
    assert "left out" not in text  # every kind of example customer exists in the sample
    assert number(r"CLV = .* = ([\d.,]+) per customer", text) > 0
    assert number(r"total CLV over 12 months: ([\d,]+) discounted", text) > 0


def test_month_outside_the_data_says_which_exist(tmp_path: Path) -> None:
    with pytest.raises(pm.PapermillExecutionError) as caught:
        run(FORMULAS, tmp_path, month="2030-01")
    assert caught.value.ename == "ValueError"
    assert "month 2030-01 is not in the data" in caught.value.evalue
    assert "2023-01 to 2024-12" in caught.value.evalue


# --------------------------------------------------------------------------- CDNOW


def test_formulas_on_cdnow(cdnow_csv: Path, tmp_path: Path) -> None:
    text = run(FORMULAS, tmp_path, data_path=str(cdnow_csv), **CDNOW_SPEC)
    assert "69,659 rows read" in text
    assert re.search(r"CRR 1998-06 = \(\d+ - 0\) / \d+ = ", text)  # nobody new after 1997-03
    assert re.search(r"repeat-customer rate = \d+ / 23570 = ", text)
    assert number(r"CLV = .* = ([\d.,]+)\n", text) > 0


def test_models_on_cdnow(cdnow_csv: Path, tmp_path: Path) -> None:
    text = run(MODELS, tmp_path, data_path=str(cdnow_csv), **CDNOW_SPEC)
    assert "69,659 rows, 23,570 customers, 1997-01-01 to 1998-06-30" in text
    # everyone was acquired in 1997-Q1: no one-time buyer is new at the end of the data
    assert "left out, no customer fits: one-time, new" in text
    assert number(r"CLV = .* = ([\d.,]+) per customer", text) > 0
    assert number(r"total CLV over 12 months: ([\d,]+) discounted", text) > 0
    assert "calibration up to 1998-01-31" in text
