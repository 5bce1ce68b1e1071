"""The CLV report's model choice, margin and segment consistency, run by real papermill.

The overall report's breakdown row of a segment and that segment's own report give the same
CLV total when the segment report uses the model fitted on all customers (the default); with
``segment_model="segment"`` it gives the figure the default report quotes for the segment's own
fit; ``margin`` scales the CLV.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import papermill as pm
import pytest

from retention.reports.publish import read_summary

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "clv_breakdown_report.ipynb"


class _Table(HTMLParser):
    """Cell texts of the table with one id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def outputs(nb, kind: str) -> str:
    return "\n".join("".join(o.get("data", {}).get(kind, "")) for c in nb["cells"]
                     for o in c.get("outputs", []))


def table(nb, table_id: str) -> list[list[str]]:
    parser = _Table(table_id)
    parser.feed(outputs(nb, "text/html"))
    return parser.rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("clv")
    common = {"model": "bgnbd", "breakdown": "channel"}
    params = {
        "overall": common,
        "email": {**common, "segment_column": "channel", "segment_value": "email"},
        "email_own": {**common, "segment_column": "channel", "segment_value": "email",
                      "segment_model": "segment", "margin": 0.5},
    }
    return {name: pm.execute_notebook(str(NOTEBOOK), str(out / f"{name}.ipynb"),
                                      parameters=p, kernel_name="retention", progress_bar=False,
                                      cwd=str(out))
            for name, p in params.items()}


def test_segment_total_adds_up_to_the_overall_breakdown(runs) -> None:
    rows = table(runs["overall"], "T_segments")
    header = rows[0]
    email = dict(zip(header, next(r for r in rows if r[0] == "email"), strict=True))
    seg = read_summary(runs["email"])
    assert seg["model"] == read_summary(runs["overall"])["model"] == "BG/NBD"
    assert seg["clv_total"] == pytest.approx(float(email["CLV"].replace(",", "")), abs=0.5)
    assert seg["customers"] == int(email["customers"].replace(",", ""))
    assert seg["clv_low"] < seg["clv_total"] < seg["clv_high"]
    markdown = outputs(runs["email"], "text/markdown")
    assert "models fitted on all 3,000 customers, this segment's 316 predicted with them" in (
        markdown)
    assert "This report uses the model fitted on **all customers**" in markdown


def test_segment_own_fit_and_margin(runs) -> None:
    text = outputs(runs["email"], "text/markdown")
    own = float(re.search(r"with its own models it would be ([\d,]+)", text)[1].replace(",", ""))
    seg_own = read_summary(runs["email_own"])
    assert seg_own["margin"] == 0.5
    assert seg_own["clv_total"] == pytest.approx(0.5 * own, abs=1.0)
    assert "predicted profit at a 50% margin" in outputs(runs["email_own"], "text/markdown")
    assert "This report uses the model fitted on **this segment**" in outputs(
        runs["email_own"], "text/markdown")


def test_scorecard_and_segment_test_are_shown(runs) -> None:
    card = table(runs["overall"], "T_scorecard")
    assert card[0][1:] == ["BG/NBD", "MBG/NBD", "Pareto/NBD", "better"]
    labels = [r[0] for r in card[1:]]
    assert "RMSE of holdout purchases per customer" in labels and "AIC" in labels
    fits = table(runs["overall"], "T_segment_fits")
    assert [r[0] for r in fits[2:]] == ["email", "organic", "paid_search", "referral", "social",
                                        "all customers"]
    text = outputs(runs["overall"], "text/markdown")
    assert re.search(r"BG/NBD per channel: likelihood ratio [\d.,]+ on 16 degrees of "
                     r"freedom, p = ", text)
    assert "Chosen: **BG/NBD** (the `model` parameter)" in text
