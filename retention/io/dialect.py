"""How a transaction file is written: compression, encoding, separator, number and date formats.

Each function looks at a small sample (the first megabyte of a file, the distinct values of a
column) and either says what it found or raises a :class:`ValueError` that tells the user which
argument of :func:`retention.load_transactions` settles the question. Nothing is guessed:

* **Compression** is read from the file's first bytes (a gzip file named ``.csv`` is read as
  gzip); files that are not text at all (images, Parquet, PDF, control bytes ...) are refused
  by name, saying what they look like (:func:`looks_like`).
* **Encoding**: a byte-order mark, then strict UTF-8, then :mod:`charset_normalizer` limited to
  Windows-1251 (Cyrillic) and Windows-1252 (Western European).
* **Separator**: the one of ``,`` ``;`` tab ``|`` that splits every sampled line (quotes
  respected) into the same number of fields, more than one.
* **Amounts**: decimal and thousands marks from the shape of the numbers; currency symbols and
  codes, spaces, a leading or trailing minus and accounting parentheses are understood.
* **Dates**: ISO 8601 and ``YYYYMMDD`` directly; ``D/M/Y`` or ``M/D/Y`` only when some value
  proves which (a first number above 12 means day-first). An ambiguous or mixed column is an
  error showing both readings. A date with a UTC offset or a time zone keeps its local wall
  time (``00:30+01:00`` on 1 February stays 1 February 00:30), each value its own. Numbers
  are dates only when every one is a ``YYYYMMDD`` date or every one an Excel day number in
  the plausible range; other numbers are an error asking for ``date_format=``.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import lzma
import numbers
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

__all__ = [
    "SAMPLE_BYTES",
    "compression_of",
    "open_binary",
    "sample_bytes",
    "refuse_binary",
    "looks_like",
    "detect_encoding",
    "detect_separator",
    "detect_number_marks",
    "parse_amounts",
    "parse_dates",
]

#: How much of a file the detection reads.
SAMPLE_BYTES = 1 << 20
#: Separators tried, in order of preference when several fit.
SEPARATORS = (",", ";", "\t", "|")
#: Encodings told apart when a file is not UTF-8.
LEGACY_ENCODINGS = ("cp1251", "cp1252")

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"(\xb5/\xfd", "zstd"),
)
_NOT_TEXT = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file (.xls)"),
    (b"SQLite format 3", "an SQLite database"),
    (b"ARROW1", "an Arrow/Feather file"),
)
#: Bytes that text never holds (C0 controls other than tab, newlines and form feed; DEL).
_CONTROL = np.zeros(256, dtype=bool)
_CONTROL[[*range(0, 9), 11, *range(14, 27), *range(28, 32), 127]] = True
#: Share of control bytes above which a sample is binary data, not text.
_CONTROL_SHARE = 0.01
#: Errors of reading a damaged compressed stream.
DECOMPRESSION_ERRORS = (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)


def compression_of(head: bytes) -> str | None:
    """The compression a file's first bytes announce, or None for a plain file.

    Examples
    --------
    >>> import gzip
    >>> compression_of(gzip.compress(b"a,b\\n")), compression_of(b"a,b\\n")
    ('gzip', None)
    """
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file for reading its (decompressed) bytes, whatever its name says.

    gzip, bz2, xz and zstd are recognised by their first bytes; a zip archive must hold
    exactly one file. An Excel workbook (a zip of XML) is refused with a hint to name it
    ``.xlsx``.

    Examples
    --------
    >>> import gzip, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = path.write_bytes(gzip.compress(b"a,b\\n1,2\\n"))
    >>> with open_binary(path) as f:
    ...     f.read()
    b'a,b\\n1,2\\n'
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(8)
    kind = compression_of(head)
    if kind is None:
        return open(path, "rb")
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "bz2":
        return bz2.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    if kind == "zstd":
        import pyarrow as pa

        return pa.CompressedInputStream(pa.OSFile(str(path)), "zstd")
    archive = zipfile.ZipFile(path)
    names = [n for n in archive.namelist() if not n.endswith("/")]
    if any(n.startswith("xl/") for n in names):
        raise ValueError(
            f"{path.name!r} is an Excel workbook, not a text/CSV file; name it .xlsx to read it."
        )
    if len(names) != 1:
        raise ValueError(
            f"The zip archive {path.name!r} holds {len(names)} files ({names[:5]}); "
            "it must hold exactly one CSV file."
        )
    return archive.open(names[0])


def sample_bytes(path: str | Path, size: int = SAMPLE_BYTES) -> bytes:
    """The first ``size`` bytes of a file, decompressed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = path.write_bytes(b"a,b\\n1,2\\n")
    >>> sample_bytes(path, 3)
    b'a,b'
    """
    with open_binary(path) as f:
        return f.read(size)


def _not_text(sample: bytes) -> str | None:
    """What a sample of bytes looks like when it is not text, else None."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None  # UTF-16 text (its NUL bytes are half of each ASCII character)
    what = next((label for magic, label in _NOT_TEXT if sample.startswith(magic)), None)
    if what is None and (head := sample[:65536]):
        if b"\x00" in head:
            what = "binary data (it holds NUL bytes)"
        else:
            share = _CONTROL[np.frombuffer(head, dtype=np.uint8)].mean()
            if share > _CONTROL_SHARE:
                what = f"binary data ({share:.0%} of its first bytes are control bytes)"
    return what


def refuse_binary(sample: bytes, name: str, compression: str | None = None) -> None:
    """Raise a ValueError unless ``sample`` (a file's first bytes, decompressed) looks like
    text: no NUL bytes, no file signature of another format, at most 1 % control bytes.

    Examples
    --------
    >>> refuse_binary(b"a,b\\n1,2\\n", "tx.csv")
    >>> refuse_binary(b"PAR1\\x15\\x04", "tx.csv")
    Traceback (most recent call last):
    ...
    ValueError: 'tx.csv' is not a text/CSV file: it looks like a Parquet file. Pass a CSV file, \
or name the file after its format (.parquet, .xlsx).
    >>> refuse_binary(bytes(range(1, 256)), "tx.csv", "gzip")
    Traceback (most recent call last):
    ...
    ValueError: 'tx.csv' is gzip-compressed, but what it holds is not text: it looks like \
binary data (11% of its first bytes are control bytes). Pass a CSV file, or name the file \
after its format (.parquet, .xlsx).
    """
    what = _not_text(sample)
    if what is not None:
        start = (f"{name!r} is {compression}-compressed, but what it holds is not text"
                 if compression else f"{name!r} is not a text/CSV file")
        raise ValueError(
            f"{start}: it looks like {what}. Pass a CSV file, "
            "or name the file after its format (.parquet, .xlsx)."
        )


def looks_like(path: str | Path) -> str:
    """What a file's first bytes look like, for error messages: ``"UTF-8 text"``,
    ``"gzip-compressed binary data (...)"``, ``"a Parquet file"`` ...

    Examples
    --------
    >>> import gzip, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = path.write_bytes(gzip.compress(b"a,b\\n1,2\\n")[:12])
    >>> looks_like(path)
    'gzip-compressed data that ends early (a truncated file?)'
    >>> _ = path.write_bytes(b"a,b\\n1,2\\n")
    >>> looks_like(path)
    'UTF-8 text'
    """
    with open(path, "rb") as f:
        head = f.read(65536)
    kind = compression_of(head)
    prefix = f"{kind}-compressed " if kind else ""
    if kind is not None:
        if kind == "zip":
            return "a zip archive (an Excel workbook is one too)"
        try:
            head = sample_bytes(path, 65536)
        except DECOMPRESSION_ERRORS + (OSError,):
            return f"{prefix}data that ends early (a truncated file?)"
    what = _not_text(head)
    if what is not None:
        return prefix + what
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return prefix + "text in a legacy encoding (not UTF-8)"
    return prefix + "UTF-8 text"


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_WORD = re.compile(r"[^\W\d_]{2,}")


def _mixed_words(text: str) -> int:
    """How many words mix Latin and Cyrillic letters (a sign of a wrong code page)."""
    return sum(
        1 for w in _WORD.findall(text) if _CYRILLIC.search(w) and _LATIN.search(w)
    )


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file's first bytes: ``utf-8-sig``, ``utf-16``, ``utf-8``, ``cp1251``
    or ``cp1252``.

    A byte-order mark (UTF-8, UTF-16) decides first; then the sample must decode as strict
    UTF-8 (ASCII is UTF-8); otherwise :mod:`charset_normalizer` chooses between Windows-1251 and
    Windows-1252, and a reading that mixes Latin and Cyrillic letters within words loses.

    Raises
    ------
    ValueError
        The sample decodes in none of them.

    Examples
    --------
    >>> detect_encoding("Москва;розница".encode("cp1251"))
    'cp1251'
    >>> detect_encoding("Crème brûlée, Zürich".encode("cp1252"))
    'cp1252'
    >>> detect_encoding("\\ufeffa,b".encode("utf-8")), detect_encoding(b"a,b")
    ('utf-8-sig', 'utf-8')
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=list(LEGACY_ENCODINGS)).best()
    readings = {}
    for enc in LEGACY_ENCODINGS:
        try:
            readings[enc] = sample.decode(enc)
        except UnicodeDecodeError:
            continue
    if not readings:
        raise ValueError(
            "the file is neither UTF-8, Windows-1251 nor Windows-1252 text; pass encoding=."
        )
    choice = best.encoding if best is not None and best.encoding in readings else None
    mess = {enc: _mixed_words(text) for enc, text in readings.items()}
    if choice is None or mess[choice] > min(mess.values()):
        choice = min(readings, key=lambda e: (mess[e], LEGACY_ENCODINGS.index(e)))
    return choice


def _lines(text: str, limit: int = 500) -> list[str]:
    lines = text.splitlines()
    return [line for line in lines[:limit] if line.strip()]


def detect_separator(text: str) -> str:
    """The field separator of a CSV sample (whole lines): the one of ``, ; tab |`` that
    gives every line the same number of fields (quotes respected), more than one.

    When several fit, the one giving more fields wins, then the order ``, ; tab |``.

    Raises
    ------
    ValueError
        No candidate splits the lines consistently.

    Examples
    --------
    >>> detect_separator("id;day;total\\n1;01.02.2024;12,50\\n")
    ';'
    >>> detect_separator('id,name\\n1,"Smith; John"\\n')
    ','
    >>> detect_separator("id\\tday\\n1\\t2024-01-02\\n")
    '\\t'
    """
    lines = _lines(text)
    if not lines:
        raise ValueError("the file holds no lines of text; pass sep=.")
    best: tuple[int, int, str] | None = None
    for rank, sep in enumerate(SEPARATORS):
        if sep not in lines[0]:
            continue
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=sep, quotechar='"')]
        except csv.Error:
            continue
        if counts and counts[0] > 1 and all(c == counts[0] for c in counts):
            key = (counts[0], -rank, sep)
            best = key if best is None or key > best else best
    if best is None:
        if len(lines) == 1 or not any(s in lines[0] for s in SEPARATORS):
            raise ValueError(
                f"cannot tell the field separator from the first line {lines[0][:80]!r}; "
                "pass sep= (e.g. sep=';')."
            )
        raise ValueError(
            "no separator among ', ; tab |' splits every line into the same number of fields "
            f"(first line {lines[0][:80]!r}); pass sep=."
        )
    return best[2]


_CURRENCY = re.compile(
    r"(?i)(€|\$|£|₽|₴|¥|₹|₺|₸|zł|kč|лв\.?|руб\.?|р\.|грн\.?|(?<![a-z])(?:EUR|USD|GBP|RUB|UAH|BGN|"
    r"CHF|PLN|CZK|SEK|NOK|DKK|JPY|CNY|INR|TRY|KZT|CAD|AUD)(?![a-z]))"
)
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


def _strip_money(values: pd.Series) -> pd.Series:
    """Text amounts without currency marks or outer spaces (a "str" Series)."""
    text = values.astype("str")
    text = text.str.replace(_CURRENCY.pattern, "", regex=True)
    return text.str.strip().str.replace("\u00a0", " ").str.replace("\u202f", " ")


_GROUPED = {
    ",": re.compile(r"^[-+(]?\d{1,3}(,\d{3})+([.]\d*)?\)?-?$"),
    ".": re.compile(r"^[-+(]?\d{1,3}(\.\d{3})+(,\d*)?\)?-?$"),
    " ": re.compile(r"^[-+(]?\d{1,3}( \d{3})+([.,]\d*)?\)?-?$"),
    "'": re.compile(r"^[-+(]?\d{1,3}('\d{3})+([.,]\d*)?\)?-?$"),
}


def detect_number_marks(values: Iterable[Any]) -> tuple[str, str | None]:
    """The decimal mark and thousands mark of text amounts, from the numbers' shape.

    A value holding both ``.`` and ``,`` has its decimal mark last; a comma followed by other
    than exactly three digits is a decimal comma; groups of three digits split by ``,`` ``.``
    space, no-break space or ``'`` are thousands. With no evidence, ``.`` and no thousands.

    Examples
    --------
    >>> detect_number_marks(["11,77", "12,0"])
    (',', None)
    >>> detect_number_marks(["1.234,50 €", "12,00 €"])
    (',', '.')
    >>> detect_number_marks(["$1,234.50", "$12.00"])
    ('.', ',')
    >>> detect_number_marks(["1 234,5", "12"])
    (',', ' ')
    >>> detect_number_marks(["12.5", "3"])
    ('.', None)
    """
    text = _strip_money(pd.Series(list(values), dtype=object).dropna())
    text = text[text.str.contains(r"\d", regex=True)].drop_duplicates()
    text = text.str.replace(r"\s+", " ", regex=True)
    decimal: str | None = None
    thousands: str | None = None
    both = text[text.str.contains(".", regex=False) & text.str.contains(",", regex=False)]
    if len(both):
        first = both.iloc[0]
        decimal = "," if first.rfind(",") > first.rfind(".") else "."
    if decimal is None:
        commas = text[text.str.contains(",", regex=False)]
        if len(commas):
            decimal = "," if (~commas.str.match(_GROUPED[","].pattern)).any() else None
            if decimal is None:
                thousands = ","
    if decimal is None:
        dots = text[text.str.contains(".", regex=False)]
        multi = dots.str.count(r"\.") > 1
        decimal = "," if thousands is None and len(dots) and multi.all() else "."
        if decimal == "," and thousands is None:
            thousands = "."
    if thousands is None:
        other = "," if decimal == "." else "."
        for mark in (other, " ", "'"):
            if text.str.match(_GROUPED[mark].pattern).any():
                thousands = mark
                break
    return decimal, thousands


def parse_amounts(
    values: pd.Series, *, decimal: str = ".", thousands: str | None = None
) -> pd.Series:
    """Text amounts as float64; NaN where a value is missing or still not a number.

    Currency symbols and codes (``€ $ £ ₽ ₴ лв``, ``EUR``, ``руб.`` ...), spaces and no-break
    spaces, the thousands mark, a decimal comma, a leading or trailing minus and accounting
    parentheses are understood.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series(["1.234,50 €", "(12,50)", "3,00-", "EUR 7", "n/a", None])
    >>> parse_amounts(s, decimal=",", thousands=".").tolist()
    [1234.5, -12.5, -3.0, 7.0, nan, nan]
    >>> parse_amounts(pd.Series(["$1,200.00", "-£3.5", "12 руб."]), thousands=",").tolist()
    [1200.0, -3.5, 12.0]
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    original = values
    if values.dtype == object:
        numbers = pd.to_numeric(values.where(values.map(type).isin((int, float))),
                                errors="coerce")
    else:
        numbers = None
    text = _strip_money(values)
    text = text.str.replace(_SPACES.pattern, "" if thousands in (" ", "\u00a0") else " ",
                            regex=True)
    if thousands is not None and thousands not in (" ", "\u00a0"):
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    text = text.str.replace(" ", "", regex=False)
    negative = text.str.match(r"^\(.*\)$") | text.str.endswith("-")
    text = text.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.replace(r"-$", "", regex=True)
    valid = text.str.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
    valid = valid.fillna(False).astype(bool)
    negative = negative.fillna(False).astype(bool) & ~text.str.startswith("-").fillna(False)
    result = pd.Series(np.nan, index=original.index, dtype="float64")
    if valid.any():
        parsed = text[valid].astype("float64")
        result[valid] = np.where(negative[valid], -parsed.abs(), parsed)
    if numbers is not None:
        result = result.fillna(numbers)
    return result


# ---------------------------------------------------------------------------------------------
# dates

_ISO = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$"
)
_YMD = re.compile(r"^\d{4}([/.])\d{1,2}\1\d{1,2}$")
_COMPACT = re.compile(r"^\d{8}$")
_DMY = re.compile(
    r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})"
    r"(?P<time>[ T]\d{1,2}:\d{2}(?P<sec>:\d{2})?)?$"
)


def _dmy_format(sep: str, year: str) -> str:
    return f"%d{sep}%m{sep}{'%Y' if len(year) == 4 else '%y'}"


_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3}


def _fitting_to_ns(values: np.ndarray) -> np.ndarray | None:
    """datetime64[ns] of plain datetime64 values without NaT that all fit in that unit (two
    reductions and one conversion); None when some value is NaT or out of range."""
    unit, count = np.datetime_data(values.dtype)
    if unit not in _NS_PER or count != 1 or len(values) == 0:
        return None
    ticks = values.view(np.int64)
    lo, hi = int(ticks.min()), int(ticks.max())  # NaT is the smallest int64
    scale = _NS_PER[unit]
    if lo == np.iinfo(np.int64).min or not (
        pd.Timestamp.min.value <= lo * scale and hi * scale <= pd.Timestamp.max.value
    ):
        return None
    return values.astype("datetime64[ns]")


def _to_ns(parsed: Any) -> np.ndarray:
    """datetime64[ns] values of parsed dates (their local wall time if aware), NaT outside
    the range datetime64[ns] holds."""
    if isinstance(parsed, np.ndarray) and parsed.dtype.kind == "M":
        if parsed.dtype == "datetime64[ns]":
            return parsed
        fitting = _fitting_to_ns(parsed)
        if fitting is not None:
            return fitting
    index = pd.DatetimeIndex(parsed)
    if index.tz is not None:
        index = index.tz_localize(None)
    values = index.to_numpy()
    if values.dtype != "datetime64[ns]":
        lo, hi = np.datetime64(pd.Timestamp.min), np.datetime64(pd.Timestamp.max)
        out = ~np.isnat(values) & ((values < lo) | (values > hi))
        values = np.where(out, np.datetime64("NaT"), values).astype("datetime64[ns]")
    return values


#: A UTC offset (or ``Z``) after a time of day: ``10:00+02:00``, ``10:00:00.5Z``, ``10:00 -0500``.
_OFFSET = r"\d:\d\d(?::\d\d)?(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_TIME_THEN_OFFSET = r"(\d:\d\d(?::\d\d)?(?:[.,]\d+)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"

#: Default plausible order dates: from this day to today.
EARLIEST = "1990-01-01"
#: Day 0 of Excel's day numbers (serial 1 is 1900-01-01, with Lotus' 29 February 1900).
EXCEL_EPOCH = np.datetime64("1899-12-30", "ns")


def _without_offsets(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The text dates with any UTC offset after the time removed (so that each keeps its
    local wall time), and which had one."""
    offset = text.str.contains(_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    if not offset.any():
        return text, offset
    return text.str.replace(_TIME_THEN_OFFSET, r"\1", regex=True), offset


def _wall_times(objects: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[ns] of date objects (NaT for anything else, such as True), each aware one
    at its own local wall time; and which were aware."""
    aware = objects.map(lambda v: getattr(v, "tzinfo", None) is not None).to_numpy(dtype=bool)
    naive = objects.map(lambda v: None if isinstance(v, bool | np.bool_) else (
        v.replace(tzinfo=None) if getattr(v, "tzinfo", None) is not None else v))
    return _to_ns(pd.to_datetime(naive.tolist(), errors="coerce")), aware


def _with_format(text: pd.Series, fmt: str) -> np.ndarray:
    if fmt == "ISO8601":
        return _to_ns(pd.to_datetime(text, format="ISO8601", errors="coerce"))
    return _to_ns(pd.to_datetime(text, format=fmt, errors="coerce"))


def date_bounds(date_range: Sequence[Any] | None = None, as_of: Any = None
                ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The plausible order dates ``(earliest, latest)``: ``date_range`` with its defaults,
    :data:`EARLIEST` and ``as_of`` (default: now) for a missing range, no lower bound for
    ``None`` first and ``as_of`` for ``None`` last.

    Raises
    ------
    ValueError
        A range that is not two dates, earliest first.

    Examples
    --------
    >>> date_bounds(("2000-01-01", "2024-12-31"))
    (Timestamp('2000-01-01 00:00:00'), Timestamp('2024-12-31 00:00:00'))
    >>> date_bounds(None, as_of="2025-06-30")
    (Timestamp('1990-01-01 00:00:00'), Timestamp('2025-06-30 00:00:00'))
    """
    if date_range is None:
        date_range = (EARLIEST, None)
    if isinstance(date_range, str) or not isinstance(date_range, Sequence) or len(
        date_range
    ) != 2:
        raise _range_error(date_range)
    low, high = date_range
    try:
        earliest = pd.Timestamp.min.ceil("D") if low is None else pd.Timestamp(low)
        latest = pd.Timestamp(high if high is not None else (
            as_of if as_of is not None else pd.Timestamp.now()))
    except (TypeError, ValueError):
        raise _range_error(date_range) from None
    if pd.isna(earliest) or pd.isna(latest) or earliest > latest:
        raise _range_error(date_range)
    return earliest, latest


def _range_error(date_range: Any) -> ValueError:
    return ValueError(
        "date_range must be (earliest, latest) dates, earliest first (None: no lower bound, "
        f"or today as the upper); got {str(date_range)[:60]}."
    )


def _shown_numbers(values: np.ndarray) -> str:
    return ", ".join(f"{v:g}" if v != int(v) else str(int(v)) for v in values[:3])


def _ymd(values: np.ndarray) -> np.ndarray:
    """datetime64[ns] of ``YYYYMMDD`` numbers (NaT for other numbers)."""
    eight = (values == np.floor(values)) & (values >= 1e7) & (values < 1e8)
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    if eight.any():
        digits = pd.Series(values[eight].astype(np.int64)).astype("str")
        out[eight] = _to_ns(pd.to_datetime(digits, format="%Y%m%d", errors="coerce"))
    return out


def _numeric_dates(values: np.ndarray, column: str, bounds: tuple[pd.Timestamp, pd.Timestamp]
                   ) -> tuple[np.ndarray, str | None]:
    """Dates of numbers (NaN = missing): ``YYYYMMDD`` when every number is one, else Excel
    day numbers when every one falls in ``bounds``; and which of the two (None: no number).

    Raises
    ------
    ValueError
        Numbers that are neither, naming the column, with examples.
    """
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    present = ~np.isnan(values)
    if not present.any():
        return out, None
    v = values[present]
    parsed = _ymd(v)
    if not np.isnat(parsed).any():
        out[present] = parsed
        return out, "YYYYMMDD"
    first, last = ((b.to_datetime64() - EXCEL_EPOCH) / np.timedelta64(1, "D") for b in bounds)
    serial = (v >= np.floor(first)) & (v < np.floor(last) + 1)
    if serial.all():
        millis = np.round(v * 86_400_000).astype(np.int64).astype("timedelta64[ms]")
        out[present] = EXCEL_EPOCH + millis.astype("timedelta64[ns]")
        return out, "Excel day numbers"
    not_ymd = np.unique(v[np.isnat(_ymd(v))])
    not_serial = np.unique(v[~serial])
    raise ValueError(
        f"column {column!r} holds numbers, not dates: {len(not_ymd):,} distinct values are not "
        f"YYYYMMDD dates (e.g. {_shown_numbers(not_ymd)}) and {len(not_serial):,} are not "
        f"Excel day numbers from {int(np.floor(first))} ({bounds[0]:%Y-%m-%d}) to "
        f"{int(np.floor(last))} ({bounds[1]:%Y-%m-%d}) (e.g. {_shown_numbers(not_serial)}). "
        "Pass date_format= (e.g. '%Y%m%d'; values that do not fit it are then invalid rows), "
        "widen date_range=, or convert the column to dates first (Unix seconds: "
        "pd.to_datetime(values, unit='s'))."
    )


def _readings(value: str, sep: str, year: str) -> str:
    m = _DMY.match(value)
    assert m is not None
    a, b = int(m["a"]), int(m["b"])
    y = m["year"] if len(year) == 4 else f"'{m['year']}"
    return (f"{value!r} is {y}-{b:02d}-{a:02d} day-first, {y}-{a:02d}-{b:02d} month-first")


def parse_dates(
    values: Sequence[Any] | pd.Series | pd.Index,
    *,
    column: str = "order_date",
    date_format: str | None = None,
    dayfirst: bool | None = None,
    date_range: Sequence[Any] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Parse date values (best: the distinct values of a column) without guessing.

    Parameters
    ----------
    values : sequence
        Text dates, numbers (``YYYYMMDD`` or Excel day numbers), or date objects.
    column : str
        The column's name, for the error messages.
    date_format : str, optional
        ``strftime`` format: every value is parsed strictly with it (numbers as their
        digits; a ``%z`` offset is read and dropped, the local wall time kept).
    dayfirst : bool, optional
        Read ``D/M/Y``-or-``M/D/Y`` dates day-first (True) or month-first (False).
    date_range : (earliest, latest), optional
        Plausible dates (:func:`date_bounds`), for telling Excel day numbers.

    Returns
    -------
    dates : ndarray of datetime64[ns]
        NaT where a value is missing, unparseable or outside the years 1677-2262. A date
        with a UTC offset or a time zone is its local wall time.
    info : dict
        ``date_format`` used (``"ISO8601"``, ``"%d.%m.%Y"`` ...; formats of several layouts
        joined by ``" | "``), ``dayfirst`` (None unless it mattered) and ``detected`` (True
        when the format was found rather than given); when numbers were read as dates,
        ``numbers`` (``"YYYYMMDD"`` or ``"Excel day numbers"``) and ``numeric`` (which values
        were numbers, a boolean array); when some values had an offset or a time zone,
        ``offsets`` (which, a boolean array).

    Raises
    ------
    ValueError
        ``D/M/Y``-or-``M/D/Y`` dates that no value settles (every number <= 12), or that
        contradict each other (some only valid day-first, others only month-first); the
        message shows both readings and asks for ``date_format=`` or ``dayfirst=``. Numbers
        that are neither all ``YYYYMMDD`` dates nor all Excel day numbers in ``date_range``.

    Examples
    --------
    >>> dates, info = parse_dates(["30.03.1997", "12.01.1997"])
    >>> dates.astype("datetime64[D]").tolist()
    [datetime.date(1997, 3, 30), datetime.date(1997, 1, 12)]
    >>> info
    {'date_format': '%d.%m.%Y', 'dayfirst': True, 'detected': True}
    >>> dates, info = parse_dates(["2024-02-01T00:30:00+01:00", "2024-02-01T00:30:00+02:00"])
    >>> dates, info["offsets"]
    (array(['2024-02-01T00:30:00.000000000', '2024-02-01T00:30:00.000000000'],
          dtype='datetime64[ns]'), array([ True,  True]))
    >>> parse_dates([20240105, 45292], date_range=("1990-01-01", "2030-01-01"))
    Traceback (most recent call last):
    ...
    ValueError: column 'order_date' holds numbers, not dates: 1 distinct values are not \
YYYYMMDD dates (e.g. 45292) and 1 are not Excel day numbers from 32874 (1990-01-01) to 47484 \
(2030-01-01) (e.g. 20240105). Pass date_format= (e.g. '%Y%m%d'; values that do not fit it are \
then invalid rows), widen date_range=, or convert the column to dates first (Unix seconds: \
pd.to_datetime(values, unit='s')).
    >>> parse_dates([45292.5], date_range=("1990-01-01", "2030-01-01"))[0]
    array(['2024-01-01T12:00:00.000000000'], dtype='datetime64[ns]')
    >>> parse_dates(["12.01.1997", "03.04.1997"], column="day")
    Traceback (most recent call last):
    ...
    ValueError: column 'day': every date could be day-first or month-first, e.g. '12.01.1997' \
is 1997-01-12 day-first, 1997-12-01 month-first; '03.04.1997' is 1997-04-03 day-first, \
1997-03-04 month-first. Pass date_format= (e.g. '%d.%m.%Y') or dayfirst=True/False.
    """
    if isinstance(values, pd.Series):
        series = values.reset_index(drop=True)
    else:
        series = pd.Series(values, dtype=object if not hasattr(values, "dtype") else None)
    n = len(series)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    info: dict[str, Any] = {"date_format": date_format, "dayfirst": None, "detected": False}
    if n == 0:
        return out, info
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        info["offsets"] = series.notna().to_numpy()
        return _to_ns(series), info
    if series.dtype.kind == "M":
        return _to_ns(series), info
    offsets = np.zeros(n, dtype=bool)
    numeric = np.full(n, np.nan)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        numeric = series.to_numpy(dtype=np.float64, na_value=np.nan)
        text = pd.Series(pd.NA, index=series.index, dtype="str")
    else:
        is_text = series.map(lambda v: isinstance(v, str), na_action="ignore")
        is_text = is_text.fillna(False).astype(bool)
        if not is_text.all():
            other = ~is_text.to_numpy() & series.notna().to_numpy()
            is_number = series[other].map(
                lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)
            ).to_numpy(dtype=bool)
            at = np.flatnonzero(other)
            numeric[at[is_number]] = series.iloc[at[is_number]].to_numpy(dtype=np.float64)
            if not is_number.all():
                objects = series.iloc[at[~is_number]]
                out[at[~is_number]], offsets[at[~is_number]] = _wall_times(objects)
        text = series.where(is_text).astype("str").str.strip()
    has_number = ~np.isnan(numeric)
    if has_number.any():
        if date_format is None:
            out[has_number], info["numbers"] = _numeric_dates(numeric[has_number], column,
                                                              date_bounds(date_range))
            info["numeric"] = has_number
        else:
            whole = has_number & (numeric == np.floor(numeric))
            text[whole] = numeric[whole].astype(np.int64).astype("str")
    text, offset_text = _without_offsets(text)
    offsets |= offset_text
    if offsets.any():
        info["offsets"] = offsets
    present = text.notna().to_numpy()
    if date_format is not None:
        fmt = date_format.replace("%z", "").rstrip() if offset_text.any() else date_format
        out[present] = _with_format(text[present], fmt)
        return out, info
    if "numbers" in info and not present.any():
        info.update(detected=True, date_format={"YYYYMMDD": "%Y%m%d"}.get(
            info["numbers"], info["numbers"]))
        return out, info

    info["detected"] = True
    formats: list[str] = []
    rest = present.copy()
    for pattern, fmt in ((_ISO, "ISO8601"), (_COMPACT, "%Y%m%d")):
        hit = rest & text.str.match(pattern.pattern).fillna(False).to_numpy(dtype=bool)
        if hit.any():
            out[hit] = _with_format(text[hit], fmt)
            formats.append(fmt)
            rest &= ~hit
    ymd = rest & text.str.match(_YMD.pattern).fillna(False).to_numpy(dtype=bool)
    if ymd.any():
        for sep in ("/", "."):
            hit = ymd & text.str.contains(sep, regex=False).fillna(False).to_numpy(dtype=bool)
            if hit.any():
                fmt = f"%Y{sep}%m{sep}%d"
                out[hit] = _with_format(text[hit], fmt)
                formats.append(fmt)
        rest &= ~ymd
    if rest.any():
        parts = text[rest].str.extract(_DMY.pattern)
        dmy = parts["a"].notna()
        if dmy.any():
            p = parts[dmy]
            a = p["a"].astype(int).to_numpy()
            b = p["b"].astype(int).to_numpy()
            only_day = (a > 12) & (b <= 12)
            only_month = (b > 12) & (a <= 12)
            order = dayfirst
            if order is None:
                if only_day.any() and not only_month.any():
                    order = True
                elif only_month.any() and not only_day.any():
                    order = False
                else:
                    shown = p.index[:3] if not only_day.any() else (
                        [p.index[np.flatnonzero(only_day)[0]],
                         p.index[np.flatnonzero(only_month)[0]]])
                    readings = "; ".join(
                        _readings(text[i], p.at[i, "sep"], p.at[i, "year"]) for i in shown
                    )
                    example_fmt = _dmy_format(p["sep"].iloc[0], p["year"].iloc[0])
                    if not only_day.any():
                        problem = "every date could be day-first or month-first, e.g. "
                    else:
                        problem = (f"dates are mixed: {int(only_day.sum())} only make sense "
                                   f"day-first and {int(only_month.sum())} only month-first, "
                                   "e.g. ")
                    raise ValueError(
                        f"column {column!r}: {problem}{readings}. Pass date_format= (e.g. "
                        f"{example_fmt!r}) or dayfirst=True/False."
                    )
            info["dayfirst"] = order
            first, second = ("%d", "%m") if order else ("%m", "%d")
            fmts = (
                first + p["sep"] + second + p["sep"]
                + p["year"].str.len().map({4: "%Y", 2: "%y"}).astype("str")
                + p["time"].str[0].fillna("") + p["time"].notna().map({True: "%H:%M", False: ""})
                + p["sec"].notna().map({True: ":%S", False: ""})
            )
            positions = pd.Index(text.index)
            for fmt, labels in fmts.groupby(fmts, sort=False).groups.items():
                where = positions.get_indexer(labels)
                out[where] = _with_format(text.iloc[where], fmt)
                formats.append(fmt)
            rest[positions.get_indexer(p.index)] = False
    if rest.any():
        # month names ("3 Jan 2024", "January 3, 2024"): unambiguous, parsed one by one
        named = rest & text.str.contains(r"[A-Za-z]{3}", regex=True).fillna(False).to_numpy(
            dtype=bool) & text.str.contains(r"\d", regex=True).fillna(False).to_numpy(dtype=bool)
        if named.any():
            with_names = _to_ns(pd.to_datetime(text[named], format="mixed", errors="coerce",
                                               dayfirst=bool(dayfirst)))
            out[named] = with_names
            if not np.isnat(with_names).all():
                formats.append("month names")
    if "numbers" in info:
        formats.append({"YYYYMMDD": "%Y%m%d"}.get(info["numbers"], info["numbers"]))
    info["date_format"] = " | ".join(dict.fromkeys(formats)) or None
    return out, info
