"""Running reports: the kernel for each notebook, the papermill run of each job, its result,
and the index of every report (:func:`run_reports` is the engine behind ``retention report``).

:func:`run_reports` plans the reports (:mod:`retention.reports.plan`), checks every
parameter against the notebook's declarations *before* anything runs, executes each
report with papermill, publishes HTML and writes the index page (see
:mod:`retention.reports.publish` for the files written and the key-figure convention).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
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
    export_html,
    new_file_mode,
    read_summary,
    write_index,
)

__all__ = [
    "FALLBACK_KERNEL",
    "ReportResult",
    "default_jobs",
    "index_entry",
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
    ``<name>.html``; on failure it becomes ``<name>.failed.ipynb`` and the previous
    ``<name>.ipynb``/``.html`` are left as they were. Errors are recorded, not raised.

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
    os.chmod(tmp, new_file_mode())
    result = ReportResult(job, "failed", kernel=kernel)
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
                # the notebook is complete by then: stop its kernel without waiting
                shutdown_kernel="immediate",
            )
        result.summary = read_summary(nb)
        export_html(nb, html_path, title=f"{job.notebook.stem} · {job.label}")
        os.replace(tmp, final_nb)
        failed_nb.unlink(missing_ok=True)
        result.status, result.ipynb_path, result.html_path = "ok", final_nb, html_path
        if downloads.is_dir():
            result.downloads = sorted(p for p in downloads.iterdir() if p.is_file())
    except Exception as exc:
        result.error = _error_text(exc)
        if tmp.is_file() and tmp.stat().st_size > 0:
            os.replace(tmp, failed_nb)
            result.ipynb_path = failed_nb
        else:
            failed_nb.unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)
        result.seconds = time.perf_counter() - start
    return result


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

    Every parameter of every report is checked before the first notebook runs. A report
    that fails does not stop the others; check ``result.ok`` (the ``retention report``
    command exits with status 1 if any failed). ``index.html`` and ``index.json`` in
    ``output_dir`` list every report, including those of earlier runs still on disk.

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

    Examples
    --------
    >>> results = run_reports(by="channel", parameters={"freq": "W"})  # doctest: +SKIP
    >>> [(r.label, r.status) for r in results]  # doctest: +SKIP
    [('Total', 'ok'), ('email', 'ok'), ('store', 'ok'), ('web', 'ok')]
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ReportError(f"jobs must be a whole number of at least 1, got {jobs!r}")
    workers = default_jobs() if jobs is None else jobs
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
        out.mkdir(parents=True, exist_ok=True)
        workers = min(workers, len(planned))
        with _Progress(len(planned), workers, progress) as done:
            if workers > 1:
                results = _run_in_workers(planned, out, kernels, timeout, workers, done)
            else:
                results = []
                for job in planned:
                    results.append(
                        run_report(job, out, kernel=kernels[job.notebook], timeout=timeout)
                    )
                    done(results[-1])
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        write_index([index_entry(r, out, generated=stamp, currency=currency)
                     for r in results], out)
    return results


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
) -> tuple[ReportResult, list[tuple[type[Warning], str, str, int]]]:
    """Run one report in a worker; return it with the warnings raised, for the caller to show."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_report(job, out, kernel=kernel, timeout=timeout)
    return result, [(w.category, str(w.message), w.filename, w.lineno) for w in caught]


def _prepare_worker() -> None:
    """Worker start-up: import what every report needs (a no-op after a fork server)."""
    import importlib

    for module in WORKER_MODULES:
        importlib.import_module(module)


def _run_in_workers(
    planned: Sequence[ReportJob],
    out: Path,
    kernels: Mapping[Path, str],
    timeout: float | None,
    workers: int,
    done: Callable[[ReportResult], None],
) -> list[ReportResult]:
    """Run the reports on ``workers`` processes; results in planned order."""
    import warnings
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[ReportResult | None] = [None] * len(planned)
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
                    results[i], raised = future.result()
                except Exception as exc:  # the worker died (BrokenProcessPool) mid-report
                    results[i] = ReportResult(
                        job, "failed", error=_error_text(exc), kernel=kernels[job.notebook]
                    )
                else:  # as if the report had run here, under the caller's warning filters
                    for category, message, filename, lineno in raised:
                        warnings.warn_explicit(message, category, filename, lineno)
                done(results[i])
        except BaseException:  # KeyboardInterrupt: no new reports; running ones finish
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [r for r in results if r is not None]
