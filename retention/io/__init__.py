"""Reading transaction logs: files of every format and dialect, column mapping, validation.

:func:`load_transactions` returns the canonical schema plus a :class:`ValidationReport`.
The names are imported on first use, so ``retention.io.cache`` loads without pandas.
"""

import importlib
from typing import Any

_EXPORTS = {
    "ValidationReport": "retention.io.load",
    "load_transactions": "retention.io.load",
    "read_table": "retention.io.load",
    "sample_path": "retention.io.sample",
    "sample_transactions": "retention.io.sample",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
