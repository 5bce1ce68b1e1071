"""Running reports: the kernel for each notebook, the papermill run of each job, its result,
and the index of every report (:func:`run_reports` is the engine behind ``retention report``).

:func:`run_reports` plans the reports (:mod:`retention.reports.plan`), checks every
parameter against the notebook's declarations *before* anything runs, executes each
report with papermill, publishes HTML and writes the index page (see
:mod:`retention.reports.publish` for the files written and the key-figure convention).
It also keeps a batch safe to interrupt and repeat: the output-folder check and lock,
SIGINT/SIGTERM handling, and notebooks without execution times or random cell ids (see
:func:`run_reports`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retention.io.cache import CACHE_ENV
from retention.reports.parameters import ReportError, inspect_notebook, quiet_papermill
from retention.reports.plan import NOTEBOOK_DIR, ReportJob, plan_reports
from retention.reports.publish import (
    IndexEntry,
    new_file_mode,
    read_index,
    read_summary,
    render_html,
    write_index,
    write_temporary,
)

__all__ = [
    "FALLBACK_KERNEL",
    "LOCK_NAME",
    "BatchInterrupted",
    "OutputError",
    "ReportResult",
    "check_output_dir",
    "default_jobs",
    "generation_time",
    "index_entry",
    "output_lock",
    "remove_temporaries",
    "reproducible_notebook",
    "resolve_kernel",
    "run_report",
    "run_reports",
]

#: Fallback kernel when the notebook's kernel is not installed.
FALLBACK_KERNEL = "python3"


_kernel_specs: Any = None


def _kernel_spec_manager() -> Any:
    """The process's ``KernelSpecManager``, created on first use (it scans the kernel folders)."""
    global _kernel_specs
    if _kernel_specs is None:
        from jupyter_client.kernelspec import KernelSpecManager

        _kernel_specs = KernelSpecManager()
    return _kernel_specs


def resolve_kernel(kernel_name: str | None, *, requested: str | None = None) -> str:
    """Choose the kernel to run a notebook with.

    Parameters
    ----------
    kernel_name : str or None
        The notebook's kernelspec name.
    requested : str, optional
        A kernel asked for explicitly (``--kernel``); it must exist.

    Returns
    -------
    str
        ``requested`` if given; else ``kernel_name`` if jupyter_client knows it; else
        ``"python3"``, which jupyter_client resolves to the running interpreter.

    Raises
    ------
    ReportError
        If ``requested`` is not an installed kernel.

    Examples
    --------
    >>> resolve_kernel("no-such-kernel")
    'python3'
    """
    from jupyter_client.kernelspec import NoSuchKernel

    specs = _kernel_spec_manager()

    def exists(name: str) -> bool:
        try:
            specs.get_kernel_spec(name)
        except NoSuchKernel:
            return False
        return True

    if requested:
        if not exists(requested):
            known = ", ".join(sorted(specs.find_kernel_specs())) or "none"
            raise ReportError(f"No kernel named {requested!r} (installed: {known})")
        return requested
    if kernel_name and exists(kernel_name):
        return kernel_name
    return FALLBACK_KERNEL


@dataclass
class ReportResult:
    """The outcome of one report.

    Attributes
    ----------
    job : ReportJob
        What was run.
    status : str
        ``"ok"`` or ``"failed"``.
    error : str or None
        For a failed report, the error (``"ValueError: ..."``).
    ipynb_path : Path or None
        The executed notebook; ``<name>.failed.ipynb`` for a failed report (``None`` if
        the notebook never started).
    html_path : Path or None
        The HTML page written; ``None`` for a failed report (the last good page, if any,
        is left untouched).
    summary : dict
        Key figures recorded by the notebook (see :mod:`retention.reports.publish`).
    kernel : str
        The kernel used.
    seconds : float
        Wall time.
    downloads : list of Path
        The files the notebook offers for download (its ``downloads`` folder), if any.
    """

    job: ReportJob
    status: str
    error: str | None = None
    ipynb_path: Path | None = None
    html_path: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    kernel: str = ""
    seconds: float = 0.0
    downloads: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the report succeeded."""
        return self.status == "ok"

    @property
    def name(self) -> str:
        """The report name (file stem)."""
        return self.job.name

    @property
    def label(self) -> str:
        """The human-readable report name."""
        return self.job.label


def _kernel_arguments(kernel: str) -> list[str]:
    """Extra kernel arguments: keep ipykernel's start-up warnings out of batch output."""
    try:
        argv = _kernel_spec_manager().get_kernel_spec(kernel).argv
    except Exception:
        return []
    if any("ipykernel" in str(a) for a in argv):
        return ["--IPKernelApp.log_level=ERROR"]
    return []


def _error_text(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename:  # papermill.PapermillExecutionError
        evalue = str(getattr(exc, "evalue", "")).strip()
        count = getattr(exc, "exec_count", None)
        where = f" (in cell [{count}])" if count else ""
        return f"{ename}: {evalue}{where}" if evalue else f"{ename}{where}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class _Staged:
    """A finished report whose files are written but not yet in place: ``moves`` are
    (temporary file, final path) pairs, ``removals`` the files its success supersedes."""

    result: ReportResult
    moves: list[tuple[Path, Path]] = field(default_factory=list)
    removals: list[Path] = field(default_factory=list)

    def commit(self) -> ReportResult:
        """Rename every file into place (each rename is atomic); return the result."""
        for tmp, path in self.moves:
            os.replace(tmp, path)
        for path in self.removals:
            path.unlink(missing_ok=True)
        return self.result

    def discard(self) -> None:
        """Remove the temporary files."""
        for tmp, _ in self.moves:
            tmp.unlink(missing_ok=True)
        self.moves = []


#: Tags papermill gives the cells it adds (each with a random id).
_PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
#: Timing fields papermill records for the notebook and each cell.
_TIMING = ("start_time", "end_time", "duration")


def reproducible_notebook(nb: Any, output_path: str | os.PathLike[str]) -> Any:
    """Make an executed notebook the same file whenever the same inputs run again.

    Papermill's cells (injected parameters, error cell) get ids derived from their
    position and source instead of random ones; the execution times that papermill and
    nbclient record (``metadata.papermill`` start/end/duration, ``metadata.execution``)
    are removed; ``metadata.papermill.output_path`` becomes ``output_path``. Changes
    ``nb`` in place and returns it.

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["injected-parameters"]})
    >>> nb = nbformat.v4.new_notebook(cells=[cell])
    >>> reproducible_notebook(nb, "out.ipynb").cells[0].id
    'papermill-0-b7d9a495'
    """
    for i, cell in enumerate(nb.cells):
        if _PAPERMILL_TAGS.intersection(cell.get("metadata", {}).get("tags", [])):
            digest = hashlib.sha256(f"{i}\n{cell.source}".encode()).hexdigest()[:8]
            cell.id = f"papermill-{i}-{digest}"
        meta = cell.get("metadata", {})
        meta.pop("execution", None)
        for key in _TIMING:
            meta.get("papermill", {}).pop(key, None)
    papermill_meta = nb.metadata.get("papermill")
    if papermill_meta is not None:
        for key in _TIMING:
            papermill_meta.pop(key, None)
        papermill_meta["output_path"] = Path(output_path).name
    return nb


def _is_notebook(path: Path) -> Any:
    """The notebook in ``path``, or ``None`` if it is missing, empty or not a whole notebook."""
    import nbformat

    try:
        return nbformat.read(os.fspath(path), as_version=4)
    except Exception:  # truncated JSON (a full disk), an empty file ...
        return None


def _stage_report(
    job: ReportJob, output_dir: str | os.PathLike[str], *, kernel: str | None,
    timeout: float | None,
) -> _Staged:
    """Run one report and write its files to temporary names (see :func:`run_report`)."""
    import nbformat
    import papermill

    start = time.perf_counter()
    folder = Path(output_dir).resolve() / job.folder
    folder.mkdir(parents=True, exist_ok=True)
    final_nb = folder / f"{job.name}.ipynb"
    failed_nb = folder / f"{job.name}.failed.ipynb"
    html_path = folder / f"{job.name}.html"
    info = inspect_notebook(job.notebook)
    kernel = kernel or resolve_kernel(info.kernel_name)
    parameters = dict(job.parameters)
    downloads = folder / f"{job.name}_files"
    if "downloads" in info.parameters:
        parameters.setdefault("downloads", str(downloads))
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{job.name}.", suffix=".running.ipynb")
    os.close(fd)
    tmp = Path(tmp_name)
    staged = _Staged(ReportResult(job, "failed", kernel=kernel))
    result = staged.result
    try:
        with quiet_papermill():
            nb = papermill.execute_notebook(
                str(job.notebook),
                str(tmp),
                parameters=parameters,
                kernel_name=kernel,
                cwd=str(job.notebook.parent),
                progress_bar=False,
                execution_timeout=timeout,
                extra_arguments=_kernel_arguments(kernel),
                kernel_manager_class=_tracked_kernel_manager(),
                # the notebook is complete by then: stop its kernel without waiting
                shutdown_kernel="immediate",
            )
        reproducible_notebook(nb, final_nb)
        result.summary = read_summary(nb)
        page = render_html(nb, title=f"{job.notebook.stem} · {job.label}")
        staged.moves.append((write_temporary(html_path, page), html_path))
        staged.moves.append((write_temporary(final_nb, nbformat.writes(nb)), final_nb))
        staged.removals.append(failed_nb)
        result.status, result.ipynb_path, result.html_path = "ok", final_nb, html_path
        if downloads.is_dir():
            result.downloads = sorted(p for p in downloads.iterdir() if p.is_file())
    except Exception as exc:
        staged.discard()
        result.error = _error_text(exc)
        _stage_failed_notebook(staged, tmp, failed_nb)
    except BaseException:
        staged.discard()
        raise
    finally:
        tmp.unlink(missing_ok=True)
        result.seconds = time.perf_counter() - start
    return staged


def _stage_failed_notebook(staged: _Staged, tmp: Path, failed_nb: Path) -> None:
    """Keep the executed part of a failed report as ``<name>.failed.ipynb``, if it is whole."""
    import nbformat

    nb = _is_notebook(tmp)
    if nb is None:
        staged.removals.append(failed_nb)
        return
    try:
        text = nbformat.writes(reproducible_notebook(nb, failed_nb))
        staged.moves.append((write_temporary(failed_nb, text), failed_nb))
    except OSError:  # no room for it: the previous failed notebook, if any, is stale
        staged.removals.append(failed_nb)
        return
    staged.result.ipynb_path = failed_nb


def run_report(
    job: ReportJob,
    output_dir: str | os.PathLike[str] = "reports",
    *,
    kernel: str | None = None,
    timeout: float | None = None,
) -> ReportResult:
    """Run one report: execute the notebook with papermill, then publish HTML.

    The notebook runs in its own folder (so relative data paths work) and is written to
    a temporary file; on success it becomes ``<name>.ipynb`` and its HTML
    ``<name>.html``, both written in full to temporary files first and then renamed; on
    failure it becomes ``<name>.failed.ipynb`` and the previous ``<name>.ipynb``/``.html``
    are left as they were. Errors are recorded, not raised. The notebook is written
    without execution times and with stable cell ids (:func:`reproducible_notebook`), so
    the same inputs give the same files.

    Parameters
    ----------
    job : ReportJob
        The report (from :func:`plan_reports`).
    output_dir : path
        Output directory; the files go to ``<output_dir>/<notebook stem>/``.
    kernel : str, optional
        Kernel name (already resolved); default: :func:`resolve_kernel` on the notebook's.
    timeout : float, optional
        Time limit per cell, in seconds.

    Returns
    -------
    ReportResult

    Examples
    --------
    >>> result = run_report(plan_reports()[0])  # doctest: +SKIP
    >>> result.status  # doctest: +SKIP
    'ok'
    """
    return _stage_report(job, output_dir, kernel=kernel, timeout=timeout).commit()


def index_entry(result: ReportResult, output_dir: str | os.PathLike[str], *,
                generated: str | None = None, currency: str | None = None) -> IndexEntry:
    """Describe a report for the index page, with paths relative to the output directory.

    A failed report links the last good page of the same name, if there is one.
    ``generated`` (the batch's time, shared by its reports; default now) and ``currency``
    go to the entry as given.

    Examples
    --------
    >>> job = ReportJob(Path("/nb/cohort_report.ipynb"), "web", "web")
    >>> entry = index_entry(ReportResult(job, "failed", error="ValueError: no rows"), "/out")
    >>> entry.notebook, entry.status, entry.html
    ('cohort_report', 'failed', None)
    """
    job = result.job
    output_dir = Path(output_dir)

    def rel(path: Path | None) -> str | None:
        return None if path is None else path.relative_to(output_dir).as_posix()

    html_path = result.html_path
    if html_path is None:  # failed: link the last good page, if there is one
        previous = output_dir / job.folder / f"{job.name}.html"
        html_path = previous if previous.is_file() else None
    return IndexEntry(
        notebook=job.folder,
        name=job.name,
        label=job.label,
        status=result.status,
        error=result.error,
        html=rel(html_path),
        ipynb=rel(result.ipynb_path),
        summary=dict(result.summary),
        parameters=dict(job.parameters),
        segment_column=job.segment_column,
        segment_value=job.segment_value,
        downloads=[rel(p) for p in result.downloads],
        data_source=job.parameters.get("data_path"),
        currency=currency,
        **({} if generated is None else {"generated": generated}),
    )


def run_reports(
    notebooks: Sequence[str | os.PathLike[str]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    by: str | None = None,
    max_segments: int | None = None,
    config: str | os.PathLike[str] | None = None,
    name: str | None = None,
    output_dir: str | os.PathLike[str] = "reports",
    kernel: str | None = None,
    timeout: float | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
    currency: str | None = None,
    notebook_dir: str | os.PathLike[str] = NOTEBOOK_DIR,
) -> list[ReportResult]:
    """Produce reports in batch: plan and validate, run each, publish HTML and the index.

    Every parameter of every report is checked before the first notebook runs, and so is
    the output folder (it must be a folder this process can write to). A report that
    fails does not stop the others; check ``result.ok`` (the ``retention report`` command
    exits with status 1 if any failed). ``index.html`` and ``index.json`` in
    ``output_dir`` list every report, including those of earlier runs still on disk.

    The batch is safe to interrupt and to repeat:

    - *Pages and index move together.* Each report's HTML and notebook are written in full
      to temporary files, then renamed into place and the index rewritten at once, after
      each report; an interruption leaves every report either with its old page and old
      index entry or with its new page and new entry.
    - *SIGINT and SIGTERM* stop the running kernels and workers, remove the temporary
      files, write the index of the reports that finished and raise
      :class:`BatchInterrupted` (``retention report`` exits with status 130 or 143).
    - *One run per folder.* The batch holds ``<output_dir>/.retention.lock`` (the
      lock file names the owner's pid); a second run into the same folder stops at once
      with an :class:`OutputError` naming that pid. A lock left by a process that is no
      longer running is taken over, with a warning.
    - *Reproducible.* Pages and notebooks carry no execution times or random ids: the
      same batch gives byte-identical pages and notebooks, and an index that differs
      only in the run's one timestamp, ``generated`` (shown as "Run of ..." and "latest
      run ..."). It is the batch's start time in UTC, or ``SOURCE_DATE_EPOCH`` (seconds
      since 1970) when that environment variable is set, which makes the index
      byte-identical too.
    - *Segments stay distinct.* Earlier reports of the same notebook, segment column and
      parameters are dropped from the index when their value is no longer in the data
      or is now reported under another name, so no segment is listed twice (their files
      stay on disk, unlisted).

    Parameters
    ----------
    notebooks, parameters, data, by, max_segments, config, name, notebook_dir
        What to run; see :func:`plan_reports`.
    output_dir : path, default "reports"
        Where reports go: ``<output_dir>/<notebook stem>/<report name>.html`` and
        ``.ipynb``, plus ``index.html``/``index.json``.
    kernel : str, optional
        Kernel for every notebook (must be installed). Default: each notebook's own
        kernel, or ``python3`` (this interpreter) if that is not installed.
    timeout : float, optional
        Time limit per cell, in seconds.
    jobs : int, optional
        How many reports run at the same time, each in its own worker process (with its
        own kernel); default :func:`default_jobs`, the number of cores this process may
        use. ``jobs=1`` runs them one after another in this process. Never more workers
        than reports.
    progress : bool, optional
        ``True``: a progress bar over reports on stderr, advancing as each report finishes;
        ``False``: nothing. Default: the bar if stderr is a terminal, else one line per
        finished report (``[3/12] ok  folder/name  (6.1 s)``), for logs and CI.
    currency : str, optional
        Currency of the money figures (e.g. ``"EUR"``), shown in the index headings.

    Returns
    -------
    list of ReportResult
        One per report, in planned order (whatever order they finished in).

    Raises
    ------
    ReportError
        Before anything runs, for bad parameters, notebooks, data or config.
    OutputError
        Before anything runs, for an output folder that cannot be written (read-only, a
        file, a full disk) or is in use by another run; after the run, if the index
        could not be written (the previous index is then left whole).
    BatchInterrupted
        On SIGINT or SIGTERM, after cleaning up; it holds the finished reports.

    Examples
    --------
    >>> results = run_reports(by="channel", parameters={"freq": "W"})  # doctest: +SKIP
    >>> [(r.label, r.status) for r in results]  # doctest: +SKIP
    [('Total', 'ok'), ('email', 'ok'), ('store', 'ok'), ('web', 'ok')]
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ReportError(f"jobs must be a whole number of at least 1, got {jobs!r}")
    workers = default_jobs() if jobs is None else jobs
    stamp = generation_time()
    with data_cache():
        if workers > 1:
            _start_worker_server()  # the workers' imports overlap the planning below
        limit = {} if max_segments is None else {"max_segments": max_segments}
        planned = plan_reports(
            notebooks, parameters, data=data, by=by, config=config, name=name,
            notebook_dir=notebook_dir, **limit,
        )
        kernels = {
            job.notebook: resolve_kernel(
                inspect_notebook(job.notebook).kernel_name, requested=kernel
            )
            for job in planned
        }
        out = Path(output_dir).resolve()
        folders = sorted({job.folder for job in planned})
        check_output_dir(output_dir, folders)
        workers = min(workers, len(planned))
        with output_lock(out), _Signals() as signals:
            remove_temporaries(out, folders)  # of a run that was killed
            batch = _Batch(planned, out, stamp, currency)
            try:
                with _Progress(len(planned), workers, progress) as done:

                    def finish(i: int, staged: _Staged) -> None:
                        with signals.held():  # files and index move together
                            done(batch.commit(i, staged))

                    if workers > 1:
                        _run_in_workers(planned, out, kernels, timeout, workers, finish)
                    else:
                        for i, job in enumerate(planned):
                            finish(i, _stage_report(job, out, kernel=kernels[job.notebook],
                                                    timeout=timeout))
            except KeyboardInterrupt as exc:
                signals.hold()
                _stop_kernels()
                remove_temporaries(out, folders)
                batch.write_index()
                raise BatchInterrupted(getattr(exc, "signum", signal.SIGINT), batch.finished,
                                       len(planned)) from None
            batch.write_index()
            if batch.index_error is not None:
                raise OutputError(
                    f"cannot write the index in {output_dir}: {_reason(batch.index_error)} "
                    "(the previous index.json and index.html are left as they were)"
                )
    return batch.finished


def generation_time() -> str:
    """The batch's timestamp: ``SOURCE_DATE_EPOCH`` if set, else now (ISO 8601, UTC).

    Examples
    --------
    >>> import os
    >>> os.environ["SOURCE_DATE_EPOCH"] = "1767225600"
    >>> generation_time()
    '2026-01-01T00:00:00+00:00'
    >>> del os.environ["SOURCE_DATE_EPOCH"]
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return when.isoformat(timespec="seconds")


def _family(notebook: str, column: str | None, parameters: Mapping[str, Any]) -> str:
    """What segment reports of one batch share: notebook, column and other parameters."""
    rest = {k: v for k, v in parameters.items() if k != "segment_value"}
    return json.dumps([notebook, column, rest], sort_keys=True, default=str)


class _Batch:
    """The committed reports of a batch and the index that lists them with earlier ones."""

    def __init__(self, planned: Sequence[ReportJob], out: Path, stamp: str,
                 currency: str | None) -> None:
        self.out, self.stamp, self.currency = out, stamp, currency
        self.results: dict[int, ReportResult] = {}
        self.previous = read_index(out)
        self.index_error: OSError | None = None
        self.planned_names = {(job.folder, job.name) for job in planned}
        self.planned_values = {
            (_family(job.folder, job.segment_column, job.parameters), job.segment_value)
            for job in planned if job.segment_column is not None
        }
        self.families = {family for family, _ in self.planned_values}

    @property
    def finished(self) -> list[ReportResult]:
        """The committed reports, in planned order."""
        return [self.results[i] for i in sorted(self.results)]

    def commit(self, i: int, staged: _Staged) -> ReportResult:
        """Move report ``i``'s files into place, then rewrite the index."""
        self.results[i] = staged.commit()
        self.write_index()
        return self.results[i]

    def write_index(self) -> None:
        """Write the index; a failure (a full disk) is kept in ``index_error``."""
        try:
            write_index(self.entries(), self.out, merge=False)
        except OSError as exc:
            self.index_error = exc
        else:
            self.index_error = None

    def _entry(self, result: ReportResult) -> IndexEntry:
        entry = index_entry(result, self.out, generated=self.stamp, currency=self.currency)
        if not result.ok and entry.html is not None:  # the last good page, if it is this one's
            old = next((o for o in self.previous
                        if (o.notebook, o.name) == (entry.notebook, entry.name)), None)
            if old is None or (old.segment_column, old.segment_value) != (
                    entry.segment_column, entry.segment_value):
                entry.html = None
        return entry

    def entries(self) -> list[IndexEntry]:
        """This batch's reports, then the earlier ones still on disk that are not stale."""
        rows = [self._entry(r) for r in self.finished]
        current = {(e.notebook, e.name) for e in rows}
        done = {(_family(e.notebook, e.segment_column, e.parameters), e.segment_value)
                for e in rows if e.segment_column is not None}
        for old in self.previous:
            key = (old.notebook, old.name)
            if key in current or not (_exists(self.out, old.html) or _exists(self.out, old.ipynb)):
                continue
            family = _family(old.notebook, old.segment_column, old.parameters)
            value = (family, old.segment_value)
            if old.segment_column is not None and family in self.families and (
                    value in done or (value not in self.planned_values
                                      and key not in self.planned_names)):
                continue  # reported again under another name, or no longer in the data
            rows.append(old)
        return rows


def _exists(out: Path, rel: str | None) -> bool:
    return rel is not None and (out / rel).is_file()


class _Progress:
    """Progress of a batch on stderr, called with each finished report: a tqdm bar on a
    terminal (or with ``progress=True``), one line per report elsewhere (logs, CI), nothing
    with ``progress=False``."""

    def __init__(self, total: int, workers: int, progress: bool | None) -> None:
        from tqdm import tqdm

        self.total, self.finished = total, 0
        self.lines = progress is None and not sys.stderr.isatty()
        self.bar = tqdm(total=total, desc="reports", unit="report", file=sys.stderr,
                        disable=not (progress or (progress is None and not self.lines)))
        if self.lines:
            print(f"running {total} report(s) on {workers} worker(s)", file=sys.stderr,
                  flush=True)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def __call__(self, result: ReportResult) -> None:
        self.finished += 1
        where = f"{result.job.folder}/{result.job.name}"
        self.bar.set_postfix_str(where, refresh=False)
        self.bar.update(1)
        if self.lines:
            print(f"[{self.finished}/{self.total}] {result.status:<6} {where}  "
                  f"({result.seconds:.1f} s)", file=sys.stderr, flush=True)


@contextmanager
def data_cache() -> Iterator[Path]:
    """A folder where the reports of one batch keep each loaded data file (see
    :func:`retention.load_transactions`), so that it is read and validated once; removed
    when the batch ends."""
    folder = Path(tempfile.mkdtemp(prefix="retention-cache-"))
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = previous
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- output folder

#: The lock file a batch holds in its output folder.
LOCK_NAME = ".retention.lock"
#: Bytes written (and removed again) to check that the output folder takes new files.
PROBE_SIZE = 64 * 1024


class OutputError(ReportError):
    """The output folder cannot be used: not writable, a file, full, or in use."""


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by SIGINT or SIGTERM, after its kernels were stopped, its
    temporary files removed and the index of its finished reports written.

    Attributes
    ----------
    signum : int
        The signal.
    finished : list of ReportResult
        The reports that finished (and are in the index), in planned order.
    total : int
        How many reports were planned.
    """

    def __init__(self, signum: int, finished: list[ReportResult], total: int) -> None:
        self.signum, self.finished, self.total = int(signum), finished, total
        super().__init__(f"interrupted by {self.signal_name} after {len(finished)} of "
                         f"{total} report(s)")

    @property
    def signal_name(self) -> str:
        """``"SIGINT"``, ``"SIGTERM"`` ..."""
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """The shell's status for a process ended by the signal: 128 + its number."""
        return 128 + self.signum


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_output_dir(output_dir: str | os.PathLike[str], folders: Sequence[str] = ()) -> Path:
    """Create the output folder and its report folders, and check that they take files.

    A probe file of :data:`PROBE_SIZE` bytes is written (flushed to disk) and removed in
    each, so a read-only folder, a path that is a file or a full disk is found before any
    kernel starts.

    Parameters
    ----------
    output_dir : path
        The output folder.
    folders : sequence of str
        Its sub-folders the reports go to.

    Returns
    -------
    Path
        The output folder, absolute.

    Raises
    ------
    OutputError
        Naming the folder and the reason, e.g. ``Read-only file system``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "file"
    >>> _ = file.write_text("x")
    >>> check_output_dir(file)
    Traceback (most recent call last):
    ...
    retention.reports.run.OutputError: cannot use the output folder ...: it is a file
    """
    out = Path(output_dir).resolve()
    for path in [out, *(out / f for f in folders)]:
        if path.exists() and not path.is_dir():
            raise OutputError(f"cannot use the output folder {output_dir}: "
                              f"{'it' if path == out else path.name} is a file")
        try:
            path.mkdir(parents=True, exist_ok=True)
            write_temporary(path / ".probe", "\n" * PROBE_SIZE).unlink()
        except OSError as exc:
            raise OutputError(
                f"cannot write to the output folder {output_dir}: {_reason(exc)}"
            ) from None
    return out


def remove_temporaries(out: Path, folders: Sequence[str]) -> list[Path]:
    """Remove the temporary files of report runs (``.*.running.ipynb``, ``.*.tmp``) from
    the output folder and its report folders; return them. Call it holding the lock."""
    removed = []
    for folder in [out, *(out / f for f in folders)]:
        for pattern in (".*.running.ipynb", ".*.tmp"):
            for path in folder.glob(pattern):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _try_lock(fd: int) -> bool:
    """Lock an open file for this process without waiting; the system releases the lock
    when the process ends, however it ends."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_owner(fd: int) -> str:
    """The pid written in a lock file (``"unknown"`` if there is none)."""
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


@contextmanager
def output_lock(out: Path) -> Iterator[Path]:
    """Hold ``<out>/.retention.lock`` while a batch writes into ``out``.

    The lock is a system file lock on that file, which holds the owner's pid. If another
    running process holds it, :class:`OutputError` names the lock and that pid at once
    (a second run does not wait). A lock file left by a process that ended without
    removing it is not locked: it is taken over, with a warning naming the old pid.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> with output_lock(out) as lock:
    ...     lock.read_text().strip() == str(os.getpid())
    True
    >>> lock.exists()
    False
    """
    import warnings

    path = out / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, new_file_mode())
        if not _try_lock(fd):
            owner = _lock_owner(fd)
            os.close(fd)
            raise OutputError(
                f"the output folder {out} is in use by another retention report run "
                f"(pid {owner}, lock file {path}); wait for it to finish or choose "
                "another --output-dir"
            )
        try:  # the file is still the one at ``path`` (not removed by its last owner)
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        previous = _lock_owner(fd)
        if previous != "unknown":
            warnings.warn(f"took over the lock {path} of pid {previous}, which is no "
                          "longer running", UserWarning, stacklevel=3)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


# --------------------------------------------------------------------------- signals, kernels

#: Kernels started by this process and not yet shut down.
_LIVE_KERNELS: set[Any] = set()


@functools.cache
def _tracked_kernel_manager() -> type:
    """jupyter_client's ``AsyncKernelManager``, registering each kernel while it runs."""
    from jupyter_client import AsyncKernelManager

    class TrackedKernelManager(AsyncKernelManager):  # type: ignore[misc]
        """A kernel manager that an interrupted batch can find, to stop its kernel."""

        async def start_kernel(self, **kw: Any) -> None:
            _LIVE_KERNELS.add(self)
            await super().start_kernel(**kw)

        async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            try:
                await super().shutdown_kernel(now=now, restart=restart)
            finally:
                _LIVE_KERNELS.discard(self)

    return TrackedKernelManager


def _stop_kernels() -> None:
    """Kill the kernels this process started (with their own child processes)."""
    while _LIVE_KERNELS:
        manager = _LIVE_KERNELS.pop()
        process = getattr(manager.provisioner, "process", None)
        if process is None:
            continue
        try:
            if hasattr(os, "killpg"):  # the kernel leads its own process group
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        manager.cleanup_connection_file()


class _Stop(KeyboardInterrupt):
    """SIGINT or SIGTERM arriving in a batch (a ``KeyboardInterrupt``, so that no
    ``except Exception`` takes it for a report's failure)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Signals:
    """SIGINT and SIGTERM raise :class:`_Stop` while a batch runs, except inside
    :meth:`held`, where they wait until it ends (handlers only in the main thread)."""

    def __init__(self) -> None:
        self.depth, self.pending = 0, None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.depth:
            self.pending = self.pending or signum
        else:
            raise _Stop(signum)

    def hold(self) -> None:
        """Hold every later signal until the batch ends (while it cleans up)."""
        self.depth += 1

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold signals while the block runs; raise the first that came, after it."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if not self.depth and self.pending is not None:
            raise _Stop(self.pending)


# --------------------------------------------------------------------------- workers

#: Modules every worker process starts with: imported once by the fork server, then
#: shared by each worker forked from it (only the runner's own module where there is
#: no fork server).
WORKER_MODULES = ("retention.reports.run", "papermill", "nbconvert", "nbformat")


def default_jobs() -> int:
    """Return how many reports run at the same time by default: the usable cores.

    ``os.process_cpu_count()`` where Python has it (3.13+), else the cores this process
    is allowed to run on (``os.sched_getaffinity``), else ``os.cpu_count()``.

    Examples
    --------
    >>> default_jobs() >= 1
    True
    """
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        n = count()
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:
        n = os.cpu_count()
    return max(1, n or 1)


def _pool_context() -> Any:
    """The multiprocessing context of the workers: a fork server where there is one.

    A fork server imports :data:`WORKER_MODULES` once and forks each worker from that
    clean, single-threaded process (papermill's event loops never cross a fork);
    elsewhere workers are spawned.
    """
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(WORKER_MODULES))
        return context
    return multiprocessing.get_context("spawn")


def _start_worker_server() -> None:
    """Start the fork server now, so that its imports run while the reports are planned."""
    context = _pool_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _run_in_worker(
    job: ReportJob, out: Path, kernel: str, timeout: float | None
) -> tuple[_Staged, list[tuple[type[Warning], str, str, int]]]:
    """Run one report in a worker; return it staged (the caller moves its files into
    place) with the warnings raised, for the caller to show."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        staged = _stage_report(job, out, kernel=kernel, timeout=timeout)
    return staged, [(w.category, str(w.message), w.filename, w.lineno) for w in caught]


def _stop_worker(signum: int, frame: Any) -> None:
    """A worker's SIGTERM: kill its kernel and end at once (the caller removes its files)."""
    _stop_kernels()
    os._exit(128 + signum)


def _prepare_worker() -> None:
    """Worker start-up: import what every report needs (a no-op after a fork server);
    leave SIGINT (a terminal's Ctrl-C reaches the whole process group) to the caller,
    which stops the workers with SIGTERM."""
    import importlib

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    for module in WORKER_MODULES:
        importlib.import_module(module)


def _stop_workers(pool: Any) -> None:
    """Send SIGTERM to each worker of a ``ProcessPoolExecutor`` (which has no public way to
    stop running workers before Python 3.14)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def _run_in_workers(
    planned: Sequence[ReportJob],
    out: Path,
    kernels: Mapping[Path, str],
    timeout: float | None,
    workers: int,
    finish: Callable[[int, _Staged], None],
) -> None:
    """Run the reports on ``workers`` processes; pass each to ``finish`` as it ends."""
    import warnings
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context(), initializer=_prepare_worker
    ) as pool:
        futures = {
            pool.submit(_run_in_worker, job, out, kernels[job.notebook], timeout): i
            for i, job in enumerate(planned)
        }
        try:
            for future in as_completed(futures):
                i = futures[future]
                job = planned[i]
                try:
                    staged, raised = future.result()
                except Exception as exc:  # the worker died (BrokenProcessPool) mid-report
                    staged = _Staged(ReportResult(
                        job, "failed", error=_error_text(exc), kernel=kernels[job.notebook]
                    ))
                else:  # as if the report had run here, under the caller's warning filters
                    for category, message, filename, lineno in raised:
                        warnings.warn_explicit(message, category, filename, lineno)
                finish(i, staged)
        except BaseException:  # SIGINT, SIGTERM: stop the workers and their kernels
            for future in futures:
                future.cancel()
            _stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
