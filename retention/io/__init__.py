"""Reading transaction logs: files of every format and dialect, column mapping, validation.

:func:`load_transactions` returns the canonical schema plus a :class:`ValidationReport`.
"""

from retention.io.load import ValidationReport, load_transactions, read_table
from retention.io.sample import sample_transactions

__all__ = ["ValidationReport", "load_transactions", "read_table", "sample_transactions"]
