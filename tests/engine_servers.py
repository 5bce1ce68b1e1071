"""Real engine servers for the cross-engine tests: a throwaway PostgreSQL cluster and local Spark.

A pytest plugin. Register it in ``tests/conftest.py`` with::

    pytest_plugins = ["engine_servers"]

or try it ad hoc with ``PYTHONPATH=tests .venv/bin/pytest -p engine_servers ...``.

Session-scoped fixtures
-----------------------
``postgres_url``
    ``postgres://retention@127.0.0.1:PORT/retention_test`` of a cluster made by ``initdb`` in a
    temporary directory and started by ``pg_ctl`` on a free loopback port (trust auth, server
    time zone UTC, durability switched off for speed). Stopped and removed at the end of the
    session, also after failures. Skips when no PostgreSQL server binaries are installed.
``postgres_backend``
    ``ibis.connect(postgres_url)``.
``spark_session``
    A local ``pyspark.sql.SparkSession`` (``local[2]``, 4 shuffle partitions, no UI, session
    time zone UTC, warehouse and scratch directories in a temporary directory, logs at ERROR).
    Skips when Java or pyspark is missing.
``spark_backend``
    ``ibis.pyspark.connect(spark_session)``.

Tests that use a PostgreSQL fixture get the ``postgres`` marker and tests that use a Spark
fixture the ``spark`` marker automatically, so ``-m "not spark"`` deselects them. Start-up and
shutdown times are printed in the terminal summary.

Binary look-up order for PostgreSQL: ``$RETENTION_PG_BINDIR`` (if set, the only place looked
at), the newest
``/usr/lib/postgresql/<version>/bin`` (Debian), ``pg_config --bindir``, then ``PATH``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: The superuser and the database of the throwaway cluster.
PG_USER = "retention"
PG_DATABASE = "retention_test"

#: System user that runs the cluster when the tests run as root (PostgreSQL refuses root).
PG_SYSTEM_USER = "postgres"

PG_INSTALL_HINT = "install it with `apt-get install -y postgresql` (Debian/Ubuntu)"

_FIXTURE_MARKERS = {
    "postgres_url": "postgres",
    "postgres_backend": "postgres",
    "spark_session": "spark",
    "spark_backend": "spark",
}

#: Timings and versions for the terminal summary, filled in by the fixtures.
_TIMINGS: dict[str, str] = {}


# --------------------------------------------------------------------------- pytest hooks


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: needs a real PostgreSQL server (deselect with -m 'not postgres')"
    )
    config.addinivalue_line(
        "markers", "spark: needs a local PySpark session and Java (deselect with -m 'not spark')"
    )


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for marker in sorted({m for f, m in _FIXTURE_MARKERS.items() if f in names}):
            item.add_marker(marker)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TIMINGS:
        terminalreporter.section("engine servers")
        for name, line in _TIMINGS.items():
            terminalreporter.write_line(f"{name}: {line}")


# --------------------------------------------------------------------------- PostgreSQL


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parents[1].name  # /usr/lib/postgresql/<version>/bin/postgres
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def find_postgres_bindir() -> Path | None:
    """Return the directory holding ``postgres``, ``initdb`` and ``pg_ctl``, or None.

    Examples
    --------
    >>> d = find_postgres_bindir()
    >>> d is None or (d / "initdb").exists()
    True
    """
    candidates: list[Path] = []
    if os.environ.get("RETENTION_PG_BINDIR"):  # an explicit choice: nothing else is tried
        bindir = Path(os.environ["RETENTION_PG_BINDIR"])
        return bindir if _has_server(bindir) else None
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version_key)
    candidates += [Path(p).parent for p in reversed(debian)]
    if shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            candidates.append(Path(out))
    if shutil.which("postgres"):
        candidates.append(Path(shutil.which("postgres")).resolve().parent)
    return next((bindir for bindir in candidates if _has_server(bindir)), None)


def _has_server(bindir: Path) -> bool:
    return all((bindir / exe).is_file() for exe in ("postgres", "initdb", "pg_ctl"))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    Examples
    --------
    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """A throwaway PostgreSQL cluster in its own temporary directory.

    Parameters
    ----------
    bindir
        Directory of the server binaries (see :func:`find_postgres_bindir`).

    Examples
    --------
    >>> bindir = find_postgres_bindir()
    >>> if bindir is not None:  # doctest: +SKIP
    ...     with PostgresCluster(bindir) as url:
    ...         print(url)
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_user = PG_SYSTEM_USER if os.geteuid() == 0 else None
        self.root: Path | None = None
        self.port: int | None = None
        self.start_seconds = float("nan")
        self.stop_seconds = float("nan")

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user is not None:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
        env.pop("PGDATA", None)
        result = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            log = self.root / "server.log" if self.root else None
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(
                f"{' '.join(cmd)} failed with exit code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n--- server.log ---\n{tail}"
            )
        return result

    def start(self) -> str:
        """Create, start and fill the cluster; return its URL."""
        began = time.perf_counter()
        self.root = Path(tempfile.mkdtemp(prefix="retention-pg-"))
        if self.as_user is not None:
            shutil.chown(self.root, user=self.as_user)
        self._run("initdb", "-D", str(self.datadir), "-U", PG_USER, "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync")
        options = " ".join([
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            "-c TimeZone=UTC",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=20",
        ])
        for attempt in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            try:
                self._run("pg_ctl", "start", "-D", str(self.datadir), "-w", "-t", "60",
                          "-l", str(self.root / "server.log"),
                          "-o", f"{options} -p {self.port}")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self._create_database()
        self.start_seconds = time.perf_counter() - began
        return self.url

    def _create_database(self) -> None:
        import psycopg

        admin = f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and remove its directory."""
        began = time.perf_counter()
        try:
            if self.root is not None and (self.datadir / "postmaster.pid").exists():
                try:
                    self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "fast", "-w",
                              "-t", "30", timeout=60)
                except (RuntimeError, subprocess.TimeoutExpired):
                    self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "immediate",
                              "-w", timeout=60)
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
            self.stop_seconds = time.perf_counter() - began

    def server_version(self) -> str:
        return self._run("postgres", "--version").stdout.strip()

    def __enter__(self) -> str:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL database, for ``ibis.connect`` or psycopg."""
    bindir = find_postgres_bindir()
    if bindir is None and os.environ.get("RETENTION_PG_BINDIR"):
        pytest.skip(f"$RETENTION_PG_BINDIR={os.environ['RETENTION_PG_BINDIR']} does not hold "
                    "the PostgreSQL server binaries (postgres, initdb, pg_ctl)")
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (postgres, initdb, pg_ctl) not found in "
            f"$RETENTION_PG_BINDIR, /usr/lib/postgresql/*/bin, `pg_config --bindir` or PATH: "
            f"{PG_INSTALL_HINT}"
        )
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            pytest.skip(f"running as root and there is no '{PG_SYSTEM_USER}' system user to run "
                        f"PostgreSQL as (it refuses root): {PG_INSTALL_HINT} creates it")
        if shutil.which("runuser") is None:
            pytest.skip("running as root and `runuser` (util-linux) is missing")
    pytest.importorskip("psycopg", reason="psycopg (3) is not installed")
    cluster = PostgresCluster(bindir)
    with cluster as url:
        _TIMINGS["postgres"] = (f"{cluster.server_version()} from {bindir}, port {cluster.port}, "
                                f"started in {cluster.start_seconds:.2f} s")
        yield url
    _TIMINGS["postgres"] += f", stopped and removed in {cluster.stop_seconds:.2f} s"


@pytest.fixture(scope="session")
def postgres_backend(postgres_url: str) -> Iterator[Any]:
    """An Ibis PostgreSQL backend connected to :func:`postgres_url`."""
    ibis = pytest.importorskip("ibis")
    con = ibis.connect(postgres_url)
    try:
        yield con
    finally:
        con.disconnect()


# --------------------------------------------------------------------------- Spark


def find_java() -> str | None:
    """Return the ``java`` executable from ``$JAVA_HOME`` or ``PATH``, or None.

    Examples
    --------
    >>> java = find_java()
    >>> java is None or os.path.exists(java)
    True
    """
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """A local ``SparkSession`` (``local[2]``, UTC), stopped at the end of the session."""
    if find_java() is None:
        pytest.skip("Java not found (neither $JAVA_HOME/bin/java nor `java` on PATH): "
                    "install it with `apt-get install -y openjdk-17-jre-headless`")
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as exc:
        pytest.skip(f"pyspark is not importable ({exc}): `.venv/bin/pip install pyspark`")

    root = Path(tempfile.mkdtemp(prefix="retention-spark-"))
    (root / "log4j2.properties").write_text(_LOG4J2)
    java_options = " ".join([
        f"-Dlog4j2.configurationFile=file:{root / 'log4j2.properties'}",
        f"-Djava.io.tmpdir={root / 'tmp'}",
        f"-Dderby.system.home={root / 'derby'}",
        "-Duser.timezone=UTC",
    ])
    (root / "tmp").mkdir()
    saved_env = {k: os.environ.get(k) for k in ("SPARK_LOCAL_IP", "PYSPARK_PYTHON")}
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    began = time.perf_counter()
    session = None
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("retention-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.session.timeZone", "UTC")
            # pandas <-> Spark through Arrow: naive timestamps keep their wall-clock values in
            # the session time zone instead of the Python process's local time zone
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.warehouse.dir", str(root / "warehouse"))
            .config("spark.local.dir", str(root / "local"))
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.memory", "1g")
            .config("spark.driver.extraJavaOptions", java_options)
            .config("spark.executor.extraJavaOptions", java_options)
            .config("spark.pyspark.python", sys.executable)
            .config("spark.pyspark.driver.python", sys.executable)
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        session.sql("SELECT 1").collect()
        seconds = time.perf_counter() - began
        _TIMINGS["spark"] = f"pyspark {session.version} local[2], started in {seconds:.2f} s"
        yield session
    finally:
        began = time.perf_counter()
        if session is not None:
            session.stop()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(root, ignore_errors=True)
        if "spark" in _TIMINGS:
            _TIMINGS["spark"] += f", stopped in {time.perf_counter() - began:.2f} s"


@pytest.fixture(scope="session")
def spark_backend(spark_session: Any) -> Any:
    """An Ibis PySpark backend on :func:`spark_session` (stopped with the session)."""
    ibis = pytest.importorskip("ibis")
    return ibis.pyspark.connect(spark_session)
