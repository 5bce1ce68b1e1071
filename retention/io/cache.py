"""A folder where loaded transaction logs are kept as Parquet, so that the reports of one
batch read and validate each data file once (:func:`retention.load_transactions` uses it
when :data:`CACHE_ENV` is set; ``retention report`` sets it for its reports)."""

from __future__ import annotations

from datetime import date
from os import PathLike
from pathlib import Path
from typing import Any

__all__ = ["CACHE_ENV", "cache_file", "write_cache"]

#: Environment variable naming a folder where loaded logs are kept as Parquet, so that the
#: reports of one batch read and validate a file once (set by ``retention report``).
CACHE_ENV = "RETENTION_CACHE_DIR"


def cache_file(source: Any, options: dict[str, Any]) -> Path | None:
    """Where the loaded log of a file is cached: a name from the file's path, size and
    modification time, the loader's options, the day (future dates depend on it) and the
    package version. ``None`` when caching is off (:data:`CACHE_ENV` unset) or the source is
    not a file."""
    import hashlib
    import json
    import os

    folder = os.environ.get(CACHE_ENV)
    if not folder or not isinstance(source, str | PathLike):
        return None
    try:
        path = Path(source).resolve()
        stat = path.stat()
    except (OSError, TypeError):
        return None
    from retention import __version__

    key = json.dumps(
        [str(path), stat.st_size, stat.st_mtime_ns, options, date.today().isoformat(),
         __version__],
        sort_keys=True,
        default=str,
    )
    return Path(folder) / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.parquet"


def write_cache(tx: Any, cache: Path) -> None:
    """Keep a loaded log for the next load of the same file (best effort: a frame Parquet
    cannot hold, or a full disk, just leaves no cache entry)."""
    import os

    tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tx.to_parquet(tmp)
        tmp.replace(cache)
    except Exception:
        tmp.unlink(missing_ok=True)
