"""One data spec for the whole batch: routing of parameters, None words, and the checks made
before any kernel starts (data file, mapped columns, number of segments)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retention.cli import main
from retention.reports.parameters import CommandLineValue, ReportError
from retention.reports.plan import find_report_notebooks, plan_reports
from retention.reports.spec import SPEC_PARAMETERS, DataSpec

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
COHORT = "cohort_retention_report"
CLV = "clv_breakdown_report"
REPORTS = {p.stem for p in find_report_notebooks(NOTEBOOKS)}


@pytest.fixture
def renamed(tmp_path: Path) -> Path:
    """The bundled sample with a user's column names."""
    tx = pd.read_csv(ROOT / "data" / "sample_transactions.csv")
    tx = tx.rename(columns={"customer_id": "client", "order_date": "day", "revenue": "total"})
    path = tmp_path / "orders.csv"
    tx.drop(columns=["order_id"]).to_csv(path, index=False)
    return path


SPEC = {"customer": "client", "date": "day", "amount": "total"}


def _plan(*args, **kwargs):
    return plan_reports(*args, notebook_dir=NOTEBOOKS, **kwargs)


def test_report_notebooks_declare_the_whole_spec():
    for job in _plan():
        from retention.reports.parameters import inspect_notebook

        declared = inspect_notebook(job.notebook).parameters
        assert set(SPEC_PARAMETERS.values()) <= set(declared), job.notebook.name


def test_data_spec_goes_to_every_notebook(renamed: Path):
    jobs = _plan(data={"path": str(renamed), **SPEC, "sep": ","})
    assert {j.folder for j in jobs} == REPORTS >= {COHORT, CLV}
    for job in jobs:
        assert job.parameters == {"data_path": str(renamed), **SPEC, "sep": ","}


def test_relative_data_path_is_from_the_current_directory(renamed: Path, monkeypatch):
    monkeypatch.chdir(renamed.parent)
    jobs = _plan(data={"path": renamed.name, **SPEC})
    assert {j.parameters["data_path"] for j in jobs} == {str(renamed)}


def test_parameters_go_to_the_notebooks_that_declare_them():
    jobs = _plan(parameters={"freq": CommandLineValue("W"), "time_unit": CommandLineValue("M")})
    by_folder = {j.folder: j.parameters for j in jobs}
    assert by_folder[COHORT] == {"freq": "W"}
    assert by_folder[CLV] == {"freq": "W", "time_unit": "M"}


def test_a_parameter_no_notebook_declares_is_an_error():
    with pytest.raises(ReportError, match=r"unknown parameter 'frek'.*did you mean 'freq'"):
        _plan(parameters={"frek": CommandLineValue("W")})


@pytest.mark.parametrize("text", ["None", "none", "null", "NULL", "~"])
def test_none_words_mean_none_for_an_optional_parameter(text: str):
    (job,) = _plan([NOTEBOOKS / f"{CLV}.ipynb"], {"breakdown": CommandLineValue(text)})
    assert job.parameters == {"breakdown": None}


def test_none_word_stays_text_for_a_text_parameter():
    (job,) = _plan([NOTEBOOKS / f"{COHORT}.ipynb"], {"title": CommandLineValue("None")})
    assert job.parameters == {"title": "None"}


def test_missing_data_file_is_an_error_before_anything_runs(tmp_path: Path):
    with pytest.raises(ReportError, match="Data file not found: .*nowhere.csv"):
        _plan(data={"path": str(tmp_path / "nowhere.csv")})


def test_missing_mapped_column_is_named_with_the_columns_present(renamed: Path):
    with pytest.raises(ReportError) as err:
        _plan(data={"path": str(renamed), "customer": "client", "date": "dya", "amount": "total"})
    message = str(err.value)
    assert "'dya' (date column)" in message
    assert "Did you mean 'day'" in message and "'total'" in message


def test_a_breakdown_the_data_lacks_is_named(renamed: Path):
    with pytest.raises(ReportError, match="'country_code'"):
        _plan(
            data={"path": str(renamed), **SPEC},
            parameters={"breakdown": CommandLineValue("country_code")},
        )


def test_too_many_segments_need_max_segments(tmp_path: Path):
    path = tmp_path / "many.csv"
    pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(60)],
            "order_date": "2024-01-01",
            "revenue": 1.0,
        }
    ).to_csv(path, index=False)
    with pytest.raises(ReportError, match=r"60 distinct values.*--max-segments 60"):
        _plan([NOTEBOOKS / f"{COHORT}.ipynb"], data={"path": str(path)}, by="customer_id")
    jobs = _plan(
        [NOTEBOOKS / f"{COHORT}.ipynb"], data={"path": str(path)}, by="customer_id",
        max_segments=60,
    )
    assert len(jobs) == 61


def test_segments_are_read_in_the_files_dialect(tmp_path: Path):
    path = tmp_path / "eu.csv"
    path.write_text(
        "client;day;total;canal\nA;03.01.2024;1,5;web\nB;13.01.2024;2,5;магазин\n",
        encoding="cp1251",
    )
    jobs = _plan(
        [NOTEBOOKS / f"{COHORT}.ipynb"],
        data={"path": str(path), **SPEC, "sep": ";", "decimal": ",", "encoding": "cp1251"},
        by="canal",
    )
    assert [j.label for j in jobs] == ["Total", "web", "магазин"]


def test_config_data_section(tmp_path: Path, renamed: Path):
    config = tmp_path / "jobs.yml"
    config.write_text(
        "data: {path: orders.csv, customer: client, date: day, amount: total}\n"
        "reports:\n  - name: all\n    parameters: {freq: W}\n"
    )
    jobs = _plan(config=config)
    assert {j.folder for j in jobs} == REPORTS
    assert all(j.parameters["data_path"] == str(renamed) for j in jobs)
    assert all(j.parameters["freq"] == "W" for j in jobs if j.folder in (COHORT, CLV))
    # the command line's spec replaces the file's field by field
    jobs = _plan(config=config, data={"sep": ","})
    assert {j.parameters["sep"] for j in jobs} == {","}
    assert {j.parameters["customer"] for j in jobs} == {"client"}


def test_config_data_section_rejects_unknown_keys(tmp_path: Path):
    config = tmp_path / "jobs.yml"
    config.write_text("data: {path: a.csv, seperator: ';'}\n")
    with pytest.raises(ReportError, match=r"unknown key\(s\) 'seperator' \(expected amount"):
        _plan(config=config)


def test_spec_fields_match_the_loader_keywords():
    import inspect

    import retention as rt

    keywords = set(inspect.signature(rt.load_transactions).parameters)
    assert set(DataSpec.model_fields) - {"path"} <= keywords


def test_dry_run_exit_codes(renamed: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["report", "--dry-run", "--data", str(renamed), "--customer", "client",
            "--date", "day", "--amount", "total"]
    assert main(args) == 0
    out = capsys.readouterr()
    n = len(REPORTS)
    assert out.out.count("data_path=") == n and f"{n} report(s) would run" in out.err
    assert main(["report", "--dry-run", "--data", str(tmp_path / "missing.csv")]) == 2
    assert "Data file not found" in capsys.readouterr().err
    assert main(["report", "--dry-run", "--data", str(renamed)]) == 2
    assert "'customer_id' (customer column)" in capsys.readouterr().err
