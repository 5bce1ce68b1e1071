"""End-to-end tests of the batch report runner (real papermill, nbconvert and kernels).

The fixture notebooks in ``tests/data`` are built by ``tests/data/make_fixtures.py``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from retention.cli import main
from retention.reports import parameters, plan, publish
from retention.reports.config import ReportConfig, load_config
from retention.reports.parameters import (
    CommandLineValue,
    ReportError,
    notebook_parameters,
    value_matches,
)
from retention.reports.plan import plan_reports, slugify
from retention.reports.publish import SUMMARY_MIME_TYPE, IndexEntry, read_summary, render_index_html
from retention.reports.run import run_reports

DATA = Path(__file__).parent / "data"
ALL_ROWS = {"customers": 5, "orders": 6, "revenue": 94.75, "segment": None}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project-like folder: notebooks/ with the fixtures and their data; cwd set to it."""
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    for name in ("summary_report.ipynb", "fragile_report.ipynb", "transactions.csv"):
        shutil.copy(DATA / name, nb_dir / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def summary_nb(work: Path) -> Path:
    return work / "notebooks" / "summary_report.ipynb"


def fragile_nb(work: Path) -> Path:
    return work / "notebooks" / "fragile_report.ipynb"


def index(out: Path) -> list[dict]:
    return json.loads((out / "index.json").read_text(encoding="utf-8"))["reports"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retention.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


# --------------------------------------------------------------------------- end to end


def test_successful_run_writes_notebook_html_and_index(work: Path) -> None:
    results = run_reports(output_dir="reports", progress=False)  # default: notebooks/*_report

    assert [(r.job.folder, r.name, r.status) for r in results] == [
        ("fragile_report", "report", "ok"),
        ("summary_report", "report", "ok"),
    ]
    summary = next(r for r in results if r.job.folder == "summary_report")
    assert summary.summary == ALL_ROWS
    assert summary.kernel == "retention"
    folder = work / "reports" / "summary_report"
    assert summary.ipynb_path == folder / "report.ipynb"
    assert summary.html_path == folder / "report.html"
    assert read_summary(folder / "report.ipynb") == ALL_ROWS

    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "OUTPUT_MARKER customers=5 revenue=94.75" in page  # outputs kept
    assert "CODE_MARKER" not in page and "import csv" not in page  # code hidden
    assert SUMMARY_MIME_TYPE not in page and "Key figures:" not in page
    assert "Summary report" in page  # markdown kept
    assert not list(folder.glob(".*")), "temporary files left behind"

    entries = {e["notebook"]: e for e in index(work / "reports")}
    assert entries["summary_report"]["html"] == "summary_report/report.html"
    assert entries["summary_report"]["summary"] == ALL_ROWS
    page = (work / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'href="summary_report/report.html"' in page
    assert "<th>Revenue</th>" in page and '<td class="num">94.75</td>' in page
    assert "<link" not in page and "<script" not in page and "src=" not in page


def test_missing_kernel_falls_back_to_python3(work: Path) -> None:
    path = summary_nb(work)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"]["name"] = "no-such-kernel-here"
    nbformat.write(nb, path)

    [result] = run_reports([path], output_dir="out", progress=False)

    assert result.ok, result.error
    assert result.kernel == "python3"
    assert result.summary == ALL_ROWS


def test_by_segment_one_report_per_value_plus_total_with_safe_names(work: Path) -> None:
    with pytest.warns(UserWarning, match="1 row"):
        results = run_reports([summary_nb(work)], by="channel", output_dir="out", progress=False)

    got = {r.label: (r.name, r.summary["customers"]) for r in results}
    assert got == {
        "Total": ("total", 5),
        "<script>alert(1)</script>": ("script_alert_1_script", 1),
        "store": ("store", 1),
        "web": ("web", 1),
        "web/app": ("web_app", 1),
    }
    assert all(r.ok for r in results)
    assert results[0].job.segment_value is None
    assert results[0].job.parameters == {"segment_column": "channel", "segment_value": None}
    folder = work / "out" / "summary_report"
    assert sorted(p.name for p in folder.glob("*.html")) == [
        "script_alert_1_script.html",
        "store.html",
        "total.html",
        "web.html",
        "web_app.html",
    ]

    page = (work / "out" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="summary_report/script_alert_1_script.html"' in page
    assert "web/app" in page
    report = (folder / "script_alert_1_script.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in report
    rows = index(work / "out")
    assert rows[0]["name"] == "total"  # total first
    assert {r["segment_value"] for r in rows} == {
        None,
        "<script>alert(1)</script>",
        "store",
        "web",
        "web/app",
    }


def test_failure_is_isolated_and_keeps_last_good_html(work: Path) -> None:
    [first] = run_reports(
        [fragile_nb(work)], {"label": "first"}, output_dir="reports", progress=False
    )
    folder = work / "reports" / "fragile_report"
    good_html = (folder / "report.html").read_bytes()
    good_nb = (folder / "report.ipynb").read_bytes()
    assert first.ok and b"FRAGILE_OK first" in good_html

    (work / "jobs.yml").write_text(
        "defaults:\n"
        "  notebook: notebooks/fragile_report.ipynb\n"
        "reports:\n"
        "  - name: report\n"
        "    parameters: {mode: fail, label: second}\n"
        "  - name: other\n"
        "  - notebook: notebooks/summary_report.ipynb\n",
        encoding="utf-8",
    )
    proc = cli("report", "--config", "jobs.yml", "--no-progress", cwd=work)

    assert proc.returncode == 1, proc.stderr
    assert "FAILED  fragile_report/report: ValueError: deliberate failure" in proc.stdout
    assert "2 ok, 1 failed" in proc.stdout
    # the other reports were produced
    assert (folder / "other.html").is_file()
    assert (work / "reports" / "summary_report" / "report.html").is_file()
    # the last good report is untouched, the failed notebook kept with papermill's error cell
    assert (folder / "report.html").read_bytes() == good_html
    assert (folder / "report.ipynb").read_bytes() == good_nb
    failed = nbformat.read(folder / "report.failed.ipynb", as_version=4)
    text = json.dumps(failed)
    assert "deliberate failure" in text and "papermill-error-cell-tag" in text
    assert not list(folder.glob(".*"))

    rows = {(r["notebook"], r["name"]): r for r in index(work / "reports")}
    bad = rows[("fragile_report", "report")]
    assert bad["status"] == "failed"
    assert bad["error"].startswith("ValueError: deliberate failure <b>second</b>")
    assert bad["html"] == "fragile_report/report.html"  # the last good page
    assert bad["ipynb"] == "fragile_report/report.failed.ipynb"
    assert rows[("fragile_report", "other")]["status"] == "ok"
    page = (work / "reports" / "index.html").read_text(encoding="utf-8")
    assert '<span class="failed">failed</span>' in page
    assert "deliberate failure &lt;b&gt;second&lt;/b&gt;" in page
    assert "last good page" in page

    # a later success replaces the report and clears the failed notebook
    [again] = run_reports(
        [fragile_nb(work)], {"label": "third"}, output_dir="reports", progress=False
    )
    assert again.ok
    assert b"FRAGILE_OK third" in (folder / "report.html").read_bytes()
    assert not (folder / "report.failed.ipynb").exists()
    rows = {(r["notebook"], r["name"]): r for r in index(work / "reports")}
    assert rows[("fragile_report", "report")]["status"] == "ok"
    assert ("fragile_report", "other") in rows  # earlier entries are kept in the index
    assert ("summary_report", "report") in rows


def test_yaml_list_config_paths_relative_to_the_config(work: Path) -> None:
    configs = work / "configs"
    configs.mkdir()
    (configs / "monthly.yml").write_text(
        "- name: big orders\n"
        "  notebook: ../notebooks/summary_report.ipynb\n"
        "  parameters:\n"
        "    min_revenue: 15\n"
        "    data_path: ../notebooks/transactions.csv\n"
        "- name: all\n"
        "  notebook: ../notebooks/summary_report.ipynb\n",
        encoding="utf-8",
    )
    results = run_reports(config=configs / "monthly.yml", output_dir="out", progress=False)

    assert [(r.name, r.label, r.ok) for r in results] == [
        ("big_orders", "big orders", True),
        ("all", "all", True),
    ]
    big = results[0]
    assert big.job.parameters["min_revenue"] == 15.0
    assert big.job.parameters["data_path"] == str(work / "notebooks" / "transactions.csv")
    assert big.summary["orders"] == 3
    assert results[1].summary == ALL_ROWS


# --------------------------------------------------------------------------- validation


def test_unknown_parameter_stops_before_running(work: Path, capsys) -> None:
    code = main(["report", "--notebook", str(summary_nb(work)), "-p", "min_revenu", "3"])

    assert code == 2
    err = capsys.readouterr().err
    assert "summary_report.ipynb: unknown parameter 'min_revenu'" in err
    assert "did you mean 'min_revenue'" in err
    assert not (work / "reports").exists()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("top_n", "abc", "parameter 'top_n' expects int, got 'abc' (str)"),
        ("top_n", "2.5", "parameter 'top_n' expects int, got 2.5 (float)"),
        ("min_revenue", "true", "parameter 'min_revenue' expects float, got True (bool)"),
        ("show_details", "maybe", "parameter 'show_details' expects bool, got 'maybe' (str)"),
    ],
)
def test_wrong_type_stops_before_running(work: Path, capsys, name, value, expected) -> None:
    code = main(["report", "--notebook", str(summary_nb(work)), "-p", name, value])

    assert code == 2
    assert expected in capsys.readouterr().err
    assert not (work / "reports").exists()


def test_cli_values_are_typed_from_the_declaration(work: Path) -> None:
    params = {
        "min_revenue": CommandLineValue("5"),  # int accepted for float, passed as float
        "top_n": CommandLineValue("7"),
        "show_details": CommandLineValue("yes"),
        "segment_value": CommandLineValue("2024"),  # declared str: stays text
        "segment_column": CommandLineValue("null"),
    }
    [job] = plan_reports([summary_nb(work)], params)

    assert job.parameters == {
        "min_revenue": 5.0,
        "top_n": 7,
        "show_details": True,
        "segment_value": "2024",
        "segment_column": None,
    }


def test_api_values_are_checked_strictly(work: Path) -> None:
    with pytest.raises(ReportError, match=r"'top_n' expects int, got '3' \(str\)"):
        plan_reports([summary_nb(work)], {"top_n": "3"})
    with pytest.raises(ReportError) as info:  # every problem is listed
        plan_reports([summary_nb(work)], {"top_n": None, "nope": 1})
    assert "'top_n' expects int, got None" in str(info.value)
    assert "unknown parameter 'nope'" in str(info.value)


def test_dry_run_lists_reports(work: Path, capsys) -> None:
    code = main(
        [
            "report",
            "--notebook",
            str(summary_nb(work)),
            "--by",
            "channel",
            "--dry-run",
            "--name",
            "march",
            "-p",
            "min_revenue",
            "1.5",
        ]
    )

    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out] == [
        "summary_report/march-total",
        "summary_report/march-script_alert_1_script",
        "summary_report/march-store",
        "summary_report/march-web",
        "summary_report/march-web_app",
    ]
    assert "min_revenue=1.5" in out[0]
    assert not (work / "reports").exists()


def test_by_errors_are_clear(work: Path) -> None:
    with pytest.raises(ReportError, match=r"no column 'chanel' \(--by\)\. Did you mean 'channel'"):
        plan_reports([summary_nb(work)], by="chanel")
    with pytest.raises(ReportError, match="declare segment_column and segment_value"):
        plan_reports([fragile_nb(work)], by="channel")
    with pytest.raises(ReportError, match="Data file not found"):
        plan_reports([summary_nb(work)], {"data_path": "missing.csv"}, by="channel")


def test_config_errors_are_clear(work: Path) -> None:
    (work / "bad.yml").write_text("- name: x\n  parameter: {a: 1}\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"report 1: unknown key\(s\) 'parameter'"):
        plan_reports(config=work / "bad.yml")
    (work / "dup.yml").write_text("- name: a\n- name: A\n", encoding="utf-8")
    with pytest.raises(ReportError, match="would be named 'A'"):
        plan_reports([summary_nb(work)], config=work / "dup.yml")


def test_usage_errors_exit_2(work: Path, capsys) -> None:
    assert main(["report", "--notebook", "nowhere.ipynb"]) == 2
    assert "Notebook not found: nowhere.ipynb" in capsys.readouterr().err
    assert main(["report", "--kernel", "no-such-kernel-here"]) == 2
    assert "No kernel named 'no-such-kernel-here'" in capsys.readouterr().err
    (work / "notebooks" / "summary_report.ipynb").unlink()
    (work / "notebooks" / "fragile_report.ipynb").unlink()
    assert main(["report"]) == 2
    assert "No report notebooks" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["report", "--timeout", "-1"])
    assert info.value.code == 2


def test_help_and_version(tmp_path: Path) -> None:
    proc = cli("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "report" in proc.stdout and "version" in proc.stdout
    proc = cli("report", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    for option in (
        "--notebook",
        "--by",
        "--config",
        "--output-dir",
        "--kernel",
        "--timeout",
        "--no-progress",
        "exit status",
    ):
        assert option in proc.stdout
    proc = cli("version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("retention ")


# --------------------------------------------------------------------------- units


def test_notebook_parameters_include_what_papermill_skips(work: Path) -> None:
    params = notebook_parameters(summary_nb(work))

    assert list(params) == [
        "data_path",
        "segment_column",
        "segment_value",
        "min_revenue",
        "top_n",
        "show_details",
    ]
    assert params["segment_value"].type_name == "str | None"
    assert params["segment_value"].help == "segment to keep; None = all rows"
    assert params["data_path"].default_value() == "transactions.csv"


@pytest.mark.parametrize(
    ("value", "annotation", "ok"),
    [
        ("a", "str", True),
        (None, "str", False),
        (None, "str | None", True),
        (None, "Optional[int]", True),
        (3, "float", True),
        (True, "int", False),
        (True, "float", False),
        (1, "bool", False),
        ([1, 2], "list[int]", True),
        ([1, "x"], "list[int]", False),
        ({"a": 1}, "dict[str, float]", True),
        ("M", "Literal['M', 'W']", True),
        ("D", "Literal['M', 'W']", False),
        ("2024", "int | str", True),
        (object(), "SomeUnknownType", True),
        (5, None, True),
    ],
)
def test_value_matches(value, annotation, ok) -> None:
    assert value_matches(value, annotation) is ok


@pytest.mark.parametrize(
    ("value", "annotation", "passed"),
    [
        (3, "float", 3.0),  # an int given for a float is passed as a float
        (3, "float | None", 3.0),
        ((1, 2), "tuple[int, int]", [1, 2]),  # papermill passes JSON types
        ([1, 2], "tuple[int, ...]", [1, 2]),
        (["b", "a", "b"], "set[str]", ["b", "a", "b"]),  # order kept, as given
        ({"a": 1}, "Mapping[str, float]", {"a": 1.0}),
        ("data.csv", "pathlib.Path", "data.csv"),
        (float("inf"), "float", float("inf")),
    ],
)
def test_checked_values_are_passed_as_json_types(value, annotation, passed) -> None:
    checked = parameters._validated(value, parameters.type_adapter(annotation))
    assert checked == passed and type(checked) is type(passed)


@pytest.mark.parametrize(
    ("value", "annotation"),
    [
        (True, "Literal[1, 2]"),  # a bool is not an int, in a Literal too
        (1, "Literal[True]"),
        ("1", "Literal[1]"),
        (2.0, "int"),
        (1, "str"),
        ([1, True], "list[int]"),
        ([1, 2, 3], "tuple[int, int]"),
        ({"a": "x"}, "dict[str, float]"),
        (None, "list[str]"),
        ("a", "Sequence[str]"),  # text is not a sequence of texts
    ],
)
def test_strict_types_reject(value, annotation) -> None:
    assert value_matches(value, annotation) is False


@pytest.mark.parametrize(
    "annotation",
    [
        "list[\"__import__('os').system('exit 1')\"]",  # quoted names are looked up, not run
        "__import__('os').getcwd()",
        "Literal[print('x')]",
        "int[",
        "Path[str]",
    ],
)
def test_annotations_are_never_evaluated(annotation, capsys) -> None:
    assert parameters.type_adapter(annotation) is None  # unknown: any value fits
    assert value_matches(object(), annotation)
    assert capsys.readouterr().out == ""


def test_config_is_a_typed_model(work: Path) -> None:
    (work / "jobs.yml").write_text(
        "defaults:\n"
        "  notebooks: [notebooks/summary_report.ipynb]\n"
        "  parameters: {data_path: notebooks/transactions.csv, end: 2024-01-31}\n"
        "reports:\n"
        "  - name: 2024\n"
        "  -\n",
        encoding="utf-8",
    )
    loaded = load_config(work / "jobs.yml")

    assert isinstance(loaded, ReportConfig)
    assert loaded.defaults.targets == [work / "notebooks" / "summary_report.ipynb"]
    assert loaded.defaults.parameters == {
        "data_path": str(work / "notebooks" / "transactions.csv"),
        "end": "2024-01-31",  # YAML dates stay text
    }
    assert [r.name for r in loaded.reports] == ["2024", None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nope: 1\n", "jobs.yml: unknown key(s) 'nope' (expected data, defaults, reports)"),
        (
            "defaults: {notebok: a.ipynb}\n",
            "jobs.yml: 'defaults': unknown key(s) 'notebok' (expected by, notebook, notebooks",
        ),
        ("- name: [a]\n", "jobs.yml: report 1: 'name': Input should be a valid string"),
        ("- parameters: [1]\n", "jobs.yml: report 1: 'parameters': Input should be a valid dict"),
        ("- by: true\n", "jobs.yml: report 1: 'by': Input should be a valid string, got True"),
        ("- notebook: ''\n", "jobs.yml: report 1: 'notebook': should be a notebook path"),
        (
            "defaults: {notebooks: [a.ipynb, 3]}\n",
            "jobs.yml: 'defaults.notebooks' item 2: should be a notebook path, got 3 (int)",
        ),
        ("reports: 3\n", "jobs.yml: 'reports': Input should be a valid list, got 3 (int)"),
        ("just text\n", "jobs.yml: expected a list of reports or a mapping with 'reports'"),
        ("- [\n", "jobs.yml is not valid YAML"),
    ],
)
def test_config_errors_name_the_file_the_entry_and_the_key(work: Path, text, expected) -> None:
    (work / "jobs.yml").write_text(text, encoding="utf-8")
    with pytest.raises(ReportError) as info:
        load_config(work / "jobs.yml")
    assert expected in str(info.value)


def test_config_lists_every_problem(work: Path) -> None:
    (work / "jobs.yml").write_text(
        "- {name: a, parameter: {}, notbook: x}\n- by: [1]\n", encoding="utf-8"
    )
    with pytest.raises(ReportError) as info:
        load_config(work / "jobs.yml")
    assert str(info.value).splitlines() == [
        "jobs.yml: report 1: unknown key(s) 'parameter', 'notbook' "
        "(expected by, data, name, notebook, parameters)",
        "jobs.yml: report 2: 'by': Input should be a valid string, got [1] (list)",
    ]


def test_reports_layer_imports_no_private_names() -> None:
    package = Path(parameters.__file__).parent
    private = []
    for module in [*package.glob("*.py"), package.parent / "cli.py"]:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("retention"):
                private += [f"{module.name}: {a.name}" for a in node.names if a.name[0] == "_"]
    assert private == []


def test_command_line_values() -> None:
    assert CommandLineValue("3").parsed == 3
    assert CommandLineValue("[a, b]").parsed == ["a", "b"]
    assert CommandLineValue("2024-01-31").parsed == "2024-01-31"
    assert CommandLineValue("a: b: c").parsed == "a: b: c"


def test_slugify_is_safe_and_unique() -> None:
    assert slugify("<script>alert(1)</script>") == "script_alert_1_script"
    assert slugify("../../etc/passwd") == "etc_passwd"
    assert slugify("..") == "segment"
    assert slugify("-rf") == "rf"
    assert slugify("CON") == "CON_"
    assert slugify("x.failed") == "x_failed"
    assert slugify("Zürich") == "Zurich"
    assert len(slugify("x" * 500)) == 64
    for value in ["a/b", "a\\b", "a b", "<>", "..a..", "\x00", "é" * 3]:
        s = slugify(value)
        assert s and ".." not in s and not s.startswith((".", "-")), value
        assert all(c.isascii() and (c.isalnum() or c in "._-") for c in s), value
    taken: set[str] = set()
    assert [plan._unique(s, taken) for s in ["a_b", "a_b", "A_B", "total"]] == [
        "a_b",
        "a_b-2",
        "A_B-3",
        "total",
    ]


def test_summary_bundle_and_index_escaping() -> None:
    np = pytest.importorskip("numpy")
    bundle = publish.summary_bundle({"n": np.int64(3)}, rate=np.float64(0.25), bad=float("nan"))
    assert bundle[SUMMARY_MIME_TYPE] == {"n": 3, "rate": 0.25, "bad": None}
    json.dumps(bundle)

    entry = IndexEntry(
        notebook="nb<",
        name="x",
        label="<img src=x onerror=alert(1)>",
        status="failed",
        error="Boom: <script>\nsecond line",
        summary={"<k>": "<v>"},
        html='a"b.html',
    )
    page = render_index_html([entry])
    assert "<img" not in page and "<script>" not in page and "<k>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Boom: &lt;script&gt;" in page and "second line" not in page
    assert 'href="a%22b.html"' in page


# --------------------------------------------------------------------------- workers and imports


def test_parallel_reports_match_sequential_in_planned_order(work: Path) -> None:
    with pytest.warns(UserWarning, match="1 row"):
        one = run_reports([summary_nb(work)], by="channel", output_dir="one", jobs=1)
    with pytest.warns(UserWarning, match="1 row"):
        two = run_reports([summary_nb(work)], by="channel", output_dir="two", jobs=2)

    assert [r.name for r in two] == [r.name for r in one]  # planned order, not finish order
    assert [(r.status, r.summary, r.kernel) for r in two] == [
        (r.status, r.summary, r.kernel) for r in one
    ]
    def page(path: Path | None) -> str:  # papermill gives its injected cell a random id
        assert path is not None
        return re.sub(r'id="cell-id=[0-9a-f]{8}"', "", path.read_text(encoding="utf-8"))

    for a, b in zip(one, two, strict=True):
        assert page(a.html_path) == page(b.html_path)
        assert b.html_path.is_relative_to(work / "two")
    assert [e["name"] for e in index(work / "two")] == [e["name"] for e in index(work / "one")]
    assert not list((work / "two" / "summary_report").glob(".*")), "temporary files left behind"


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_jobs_must_be_a_positive_whole_number(work: Path, jobs) -> None:
    with pytest.raises(ReportError, match="jobs"):
        run_reports(output_dir="out", jobs=jobs)
    assert not (work / "out").exists()


def test_default_jobs_is_the_usable_cores() -> None:
    from retention.reports.run import default_jobs

    assert 1 <= default_jobs() <= (os.cpu_count() or 1)


def test_imports_are_lazy() -> None:
    code = """
import sys, time
start = time.perf_counter()
import retention as rt
seconds = time.perf_counter() - start
heavy = ("pandas", "matplotlib", "seaborn", "scipy", "papermill", "nbconvert", "nbformat")
print(sorted(m for m in heavy if m in sys.modules), round(seconds, 3))
assert set(rt.__all__) <= set(dir(rt))
import retention.cli, retention.reports.run, retention.plotting.value, retention.models
print(sorted(m for m in heavy[1:] if m in sys.modules))
from retention import plot_cohort_heatmap, BetaGeo
assert rt.plot_cohort_heatmap is plot_cohort_heatmap and rt.periods.unit_name
missing = [n for n in rt.__all__ if getattr(rt, n, None) is None]
print(missing)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    first, second, missing = done.stdout.splitlines()
    assert first.startswith("[] "), first  # nothing heavy for `import retention`
    assert float(first.split()[-1]) < 0.3
    assert second == "[]", second  # modules import; matplotlib, scipy ... wait for a call
    assert missing == "[]"
    with pytest.raises(AttributeError, match="no_such_name"):
        import retention

        retention.no_such_name  # noqa: B018


def test_progress_lines_without_a_terminal(work: Path) -> None:
    # stderr is a pipe here, as in CI or a log file: no bar, one line per finished report
    proc = cli("report", "-n", "notebooks/summary_report.ipynb", "--by", "channel",
               "--jobs", "2", cwd=work)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert proc.stderr.splitlines()[0] == "running 5 report(s) on 2 worker(s)"
    assert [line.split("]")[0] + "]" for line in lines] == [f"[{i}/5]" for i in range(1, 6)]
    assert all(re.search(r"\] ok +summary_report/\S+ +\(\d+\.\d s\)$", line) for line in lines)
    assert "summary_report/total" in proc.stderr and "\r" not in proc.stderr  # no bar
    quiet = cli("report", "-n", "notebooks/summary_report.ipynb", "--no-progress", cwd=work)
    assert quiet.returncode == 0 and "[1/1]" not in quiet.stderr
