"""Faults during ``retention report``: signals, a second run, unusable or full output
folders, and repeated runs (real subprocesses, papermill and kernels; no mocks)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from retention.reports.run import LOCK_NAME

DATA = Path(__file__).parent / "data"
SLEEPY = "sleepy_report"
#: Planned order of ``--by channel`` on the fixture data.
SEGMENTS = ["total", "script_alert_1_script", "store", "web", "web_app"]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project-like folder: notebooks/ with a notebook that can sleep, and its data."""
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    shutil.copy(DATA / "transactions.csv", nb_dir / "transactions.csv")
    nbformat.write(sleepy_notebook(), nb_dir / f"{SLEEPY}.ipynb")
    (tmp_path / "markers").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sleepy_notebook() -> nbformat.NotebookNode:
    """Prints its label and segment; the segment ``sleep_on`` records its kernel's pid in
    ``marker`` and sleeps ``delay`` seconds; ``pad`` characters make a large page."""
    parameters = nbformat.v4.new_code_cell(
        'data_path: str = "transactions.csv"  # transaction file\n'
        "segment_column: str | None = None  # column defining the segment\n"
        "segment_value: str | None = None  # segment to report\n"
        'label: str = "first"  # printed in the page\n'
        'sleep_on: str = ""  # the segment that sleeps\n'
        "delay: float = 0.0  # seconds it sleeps\n"
        'marker: str = ""  # folder where the sleeping kernel writes its pid\n'
        "pad: int = 0  # characters of filler output\n",
        metadata={"tags": ["parameters"]},
    )
    body = nbformat.v4.new_code_cell(
        "import os, pathlib, time\n"
        "if marker and segment_value == sleep_on:\n"
        "    pathlib.Path(marker, f'kernel-{os.getpid()}').write_text('started')\n"
        "    time.sleep(delay)\n"
        "print(f'SLEEPY label={label} segment={segment_value}')\n"
        "if pad:\n"
        "    print('x' * pad)\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Sleepy"),
                                         parameters, body])
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    nb.metadata["kernelspec"] = {"name": "retention", "display_name": "retention",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def command(out: Path | str, *options: str) -> list[str]:
    return [sys.executable, "-m", "retention.cli", "report", "-n", f"notebooks/{SLEEPY}.ipynb",
            "--by", "channel", "-o", str(out), "--no-progress", *options]


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def wait_for_kernel(markers: Path, proc: subprocess.Popen[str], seconds: float = 120) -> int:
    """Wait until the sleeping segment's kernel has started; return its pid."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = list(markers.glob("kernel-*"))
        if found:
            return int(found[0].name.split("-")[1])
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("the sleeping report never started")


def gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"):
            return True  # a zombie: dead, waiting for its parent
        time.sleep(0.1)
    return False


def index(out: Path) -> list[dict]:
    return json.loads((out / "index.json").read_text(encoding="utf-8"))["reports"]


def assert_consistent(out: Path) -> dict[str, str]:
    """Every index entry's page and notebook are whole and hold that entry's run; no
    temporary file is left. Return each report's label."""
    labels = {}
    for entry in index(out):
        label = entry["parameters"].get("label", "first")
        if entry["html"] is not None:
            page = (out / entry["html"]).read_text(encoding="utf-8")
            assert page.rstrip().endswith("</html>"), entry["html"]
        if entry["status"] != "ok":  # it links the last good page, of an earlier run
            labels[entry["name"]] = "failed"
            continue
        expected = f"SLEEPY label={label} segment={entry['segment_value']}"
        assert html.escape(expected, quote=False) in page, (entry["name"], label)
        assert expected in json.dumps(nbformat.read(out / entry["ipynb"], as_version=4))
        labels[entry["name"]] = label
    index_page = (out / "index.html").read_text(encoding="utf-8")
    assert index_page.rstrip().endswith("</html>")
    assert list(out.rglob(".*")) == [], "temporary files or a lock left behind"
    return labels


def errors(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of stderr apart from warnings (the fixture data has a row without channel)."""
    return [line for line in proc.stderr.splitlines()
            if not line.startswith("retention report: warning: ")]


# --------------------------------------------------------------------------- signals


@pytest.mark.parametrize(("signum", "jobs"), [(signal.SIGINT, "1"), (signal.SIGTERM, "2")])
def test_signal_midway_stops_kernels_and_leaves_index_and_pages_agreeing(
        work: Path, signum: int, jobs: str) -> None:
    out = work / "reports"
    first = run(command(out, "-j", "2"), cwd=work)
    assert first.returncode == 0, first.stderr
    assert assert_consistent(out) == dict.fromkeys(SEGMENTS, "first")

    proc = start(command(out, "-j", jobs, "-p", "label", "second", "-p", "sleep_on", "web",
                         "-p", "delay", "120", "-p", "marker", str(work / "markers")), work)
    kernel = wait_for_kernel(work / "markers", proc)
    time.sleep(0.5)
    if signum == signal.SIGINT:  # Ctrl-C in a terminal: the whole process group
        os.killpg(proc.pid, signum)
    else:  # `kill PID`: the command only
        proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 128 + signum, stderr
    name = signal.Signals(signum).name
    assert f"retention report: interrupted by {name} after " in stderr
    assert "Traceback" not in stderr
    assert gone(kernel), "the kernel of the interrupted report still runs"
    labels = assert_consistent(out)
    assert labels["web"] == "first"  # interrupted: its old page and entry
    assert labels["total"] == "second"  # finished before the signal: new page and entry
    assert set(labels) == set(SEGMENTS)


# --------------------------------------------------------------------------- the lock


def test_second_run_into_the_same_folder_stops_naming_the_lock_and_its_owner(
        work: Path) -> None:
    out = work / "reports"
    first = start(command(out, "-j", "1", "-p", "sleep_on", "store", "-p", "delay", "120",
                          "-p", "marker", str(work / "markers")), work)
    try:
        wait_for_kernel(work / "markers", first)
        second = run(command(out, "-j", "1"), cwd=work)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)

    assert second.returncode == 2, second.stderr
    assert f"pid {first.pid}" in second.stderr and LOCK_NAME in second.stderr
    assert len(errors(second)) == 1, second.stderr  # one line
    assert first.returncode == 128 + signal.SIGTERM
    assert not (out / LOCK_NAME).exists()


def test_stale_lock_of_a_dead_process_is_taken_over(work: Path) -> None:
    out = work / "reports"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (out / LOCK_NAME).write_text(dead.stdout)
    (out / ".index.json.x1y2.tmp").write_text("{")  # left by a killed run

    done = run(command(out, "-j", "2"), cwd=work)

    assert done.returncode == 0, done.stderr
    assert f"took over the lock {out / LOCK_NAME} of pid {dead.stdout.strip()}" in done.stderr
    assert assert_consistent(out) == dict.fromkeys(SEGMENTS, "first")


# --------------------------------------------------------------------------- output folder


def assert_refused(proc: subprocess.CompletedProcess[str], reason: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = errors(proc)
    assert len(lines) == 1 and lines[0].startswith("retention report: error: "), proc.stderr
    assert reason in lines[0], lines[0]
    assert "[1/" not in proc.stderr  # no report ran


def test_output_path_that_is_a_file_stops_before_any_kernel(work: Path) -> None:
    (work / "taken").write_text("not a folder")
    assert_refused(run(command(work / "taken"), cwd=work), "it is a file")
    assert_refused(run(command(work / "taken" / "sub"), cwd=work), "Not a directory")
    assert not list(work.glob("markers/*"))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores file permissions, so a chmod'ed folder stays "
                           "writable (the read-only mount test covers root)")
def test_read_only_output_folder_stops_before_any_kernel(work: Path) -> None:
    out = work / "reports"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert_refused(run(command(out), cwd=work), "Permission denied")
    finally:
        out.chmod(0o755)


@pytest.fixture
def mount(work: Path) -> Iterator[callable]:
    """Mount a tmpfs (root only); unmounted after the test."""
    mounted: list[Path] = []

    def make(name: str, options: str) -> Path:
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        folder = work / name
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_read_only_file_system_stops_before_any_kernel(work: Path, mount) -> None:
    out = mount("readonly", "ro,size=1m")
    assert_refused(run(command(out), cwd=work), "Read-only file system")


def fill(folder: Path, leave: int) -> None:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as fh:
        try:
            fh.write(b"\0" * max(free - leave, 0))
            fh.flush()
            os.fsync(fh.fileno())
        except OSError:  # no space left: as intended
            pass


def test_full_disk_never_leaves_a_truncated_page_or_index(work: Path, mount) -> None:
    out = mount("small", "size=5m")
    first = run(command(out, "-j", "2"), cwd=work)
    assert first.returncode == 0, first.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    fill(out, leave=0)  # full: refused before any kernel starts, nothing changed
    assert_refused(run(command(out, "-p", "label", "second"), cwd=work), "No space left")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "filler"} \
        == before

    (out / "filler").unlink()  # room for a page or two of the next run, not for all
    fill(out, leave=700_000)
    proc = run(command(out, "-j", "1", "-p", "label", "second", "-p", "pad", "100000"),
               cwd=work)
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "No space left on device" in proc.stdout + proc.stderr
    labels = assert_consistent(out)
    assert "second" in labels.values() and "failed" in labels.values(), labels


# --------------------------------------------------------------------------- reproducible


def test_two_identical_runs_give_the_same_pages_and_one_timestamp(work: Path) -> None:
    options = ("-j", "2", "-p", "label", "same")
    one = run(command(work / "one", *options), cwd=work, SOURCE_DATE_EPOCH="1767225600")
    two = run(command(work / "two", *options), cwd=work)
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr

    files = sorted(p.relative_to(work / "one") for p in (work / "one").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(work / "two") for p in (work / "two").rglob("*")
                           if p.is_file())
    for rel in files:
        a, b = (work / "one" / rel).read_text(), (work / "two" / rel).read_text()
        if rel.name.startswith("index."):  # the run's timestamp is the only difference
            stamp = json.loads((work / "two" / "index.json").read_text())["generated"]
            shown = stamp.replace("T", " ").replace("+00:00", " UTC")
            assert a != b and (stamp in b or shown in b)
            b = b.replace(stamp, "2026-01-01T00:00:00+00:00").replace(
                shown, "2026-01-01 00:00:00 UTC")
        assert a == b, rel
    assert re.search(r'id="cell-id=papermill-\d+-[0-9a-f]{8}"',
                     (work / "one" / SLEEPY / "web.html").read_text())


# --------------------------------------------------------------------------- segment names


def test_segments_whose_names_collide_are_listed_once_without_stale_pages(work: Path) -> None:
    data = work / "tx.csv"
    data.write_text("customer_id,order_date,revenue,channel\n1,2024-01-05,10.0,a b\n"
                    "2,2024-01-07,20.0,a_b\n3,2024-01-08,5.0,gone\n", encoding="utf-8")
    options = ("-j", "2", "-p", "data_path", str(data))
    assert run(command(work / "out", *options), cwd=work).returncode == 0
    names = {e["name"]: e["segment_value"] for e in index(work / "out")}
    assert names == {"total": None, "a_b": "a b", "a_b-2": "a_b", "gone": "gone"}

    data.write_text("customer_id,order_date,revenue,channel\n2,2024-01-07,20.0,a_b\n",
                    encoding="utf-8")
    assert run(command(work / "out", *options), cwd=work).returncode == 0
    entries = index(work / "out")
    assert sorted((e["name"], e["segment_value"]) for e in entries) == [
        ("a_b", "a_b"), ("total", None)]  # a_b once, under its new name; "gone" not listed
    labels = assert_consistent(work / "out")
    assert set(labels) == {"a_b", "total"}
