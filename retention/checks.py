"""Input checks shared by every function that reads a transaction log or a customer summary.

One set of rules and one wording everywhere (loader, reductions, RFM summaries, KPIs, models):

* a missing column is named, with the argument that maps it, next to the columns present;
* a bad value is reported with its column, the number of bad rows and a few example row
  labels — ``column 'revenue' has 2 missing or infinite value(s), e.g. at rows [3, 7]``;
* customer ids become integer codes once, the same way for every row pass.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import threading
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

#: How many examples an error message shows.
N_EXAMPLES = 5
#: How many of the columns present an error message lists.
_SHOWN_COLUMNS = 30
#: datetime64 units the row passes work in (others are converted to nanoseconds).
DATE_UNITS = ("s", "ms", "us", "ns")


def examples(values: Any, mask: Any = None, distinct: bool = False) -> list:
    """The first few entries of ``values`` (where ``mask`` is true), as plain Python objects.

    Parameters
    ----------
    values : Series, Index, ndarray or list
        Row labels (for "e.g. at rows ...") or the bad values themselves.
    mask : boolean array, optional
        Which entries are bad; all of them when omitted.
    distinct : bool
        Show distinct values only.

    Examples
    --------
    >>> import pandas as pd
    >>> examples(pd.Index(["a", "b", "c", "d"]), [False, True, False, True])
    ['b', 'd']
    >>> examples([5.0, 5.0, -2.0], distinct=True)
    [5.0, -2.0]
    """
    if not hasattr(values, "take"):
        values = np.asarray(values, dtype=object)
    if mask is not None:
        positions = np.flatnonzero(np.asarray(mask))
        values = values.take(positions if distinct else positions[:N_EXAMPLES])
    series = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
    if distinct:
        series = series.drop_duplicates()
    return [v.item() if isinstance(v, np.generic) else v for v in series.head(N_EXAMPLES).tolist()]


def bad_rows(column: Any, problem: str, mask: Any, index: Any) -> str:
    """``"column 'x' has 3 negative value(s), e.g. at rows [4, 7, 9]"``.

    Examples
    --------
    >>> import pandas as pd
    >>> bad_rows("T", "negative value(s)", [True, False, True], pd.Index(["a", "b", "c"]))
    "column 'T' has 2 negative value(s), e.g. at rows ['a', 'c']"
    """
    mask = np.asarray(mask)
    count = int(np.count_nonzero(mask))
    return f"column {column!r} has {count} {problem}, e.g. at rows {examples(index, mask)}"


def require_columns(
    df: Any,
    columns: Sequence[str] | Mapping[str, str | Sequence[str] | None] = (),
    *,
    what: str = "tx",
    hint: str | None = None,
    **roles: str | Sequence[str] | None,
) -> None:
    """Raise a clear error unless ``df`` is a DataFrame holding every named column.

    Parameters
    ----------
    df : DataFrame
        The table to check.
    columns : list of str, or mapping
        The column names, or argument (role) name -> column name(s); ``None`` means "not
        used". Roles may also be given as keyword arguments (``customer="client"``).
    what : str
        How the messages name the table (``"tx"``, ``"the summary"``, a file name ...).
    hint : str, optional
        Last sentence of the message. Default, when the columns have roles: how to map
        another column (``Pass amount='<your column>' ...``).

    Raises
    ------
    TypeError
        ``df`` is not a DataFrame.
    ValueError
        Naming each missing column (with its argument) and listing the columns present.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1], "order_date": [pd.Timestamp("2024-01-01")]})
    >>> require_columns(tx, customer="customer_id", date="order_date", order=None)
    >>> require_columns(tx, amount="revenue")
    Traceback (most recent call last):
    ...
    ValueError: tx is missing column(s) 'revenue' (amount=); available columns: ['customer_id', \
'order_date']. Pass amount='<your column>' to use another name.
    """
    from retention.engine import lazy

    if not isinstance(df, pd.DataFrame) and not lazy.is_table(df):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}.")
    if isinstance(columns, Mapping):
        roles = {**columns, **roles}
        wanted: list[tuple[str | None, Any]] = []
    else:
        wanted = [(None, name) for name in columns]
    for role, names in roles.items():
        if names is not None:
            wanted += [(role, n) for n in ([names] if isinstance(names, str) else names)]
    missing = [(role, name) for role, name in wanted if name not in df.columns]
    if not missing:
        return
    listed = ", ".join(f"{name!r}" + (f" ({role}=)" if role else "") for role, name in missing)
    present = list(df.columns[:_SHOWN_COLUMNS])
    more = len(df.columns) - len(present)
    close = [
        m
        for _, name in missing
        for m in difflib.get_close_matches(str(name), map(str, df.columns), n=1)
    ]
    message = (
        f"{what} is missing column(s) {listed}; available columns: {present}"
        + (f" and {more} more" if more > 0 else "")
        + "."
        + (f" Did you mean {' or '.join(map(repr, close))}?" if close else "")
    )
    first_role = next((role for role, _ in missing if role is not None), None)
    if hint is None and first_role is not None:
        hint = f"Pass {first_role}='<your column>' to use another name."
    raise ValueError(message + (f" {hint}" if hint else ""))


def date_values(series: pd.Series, name: str, *, parse: bool = False) -> np.ndarray:
    """The datetime64 values of a date column, in one of :data:`DATE_UNITS` (no copy if so).

    Time-zone aware dates and missing dates (NaT) are refused. Other dtypes are parsed with
    :func:`pandas.to_datetime` when ``parse`` is true, refused otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> date_values(pd.Series(["2024-01-05"]), "order_date", parse=True).astype("datetime64[D]")
    array(['2024-01-05'], dtype='datetime64[D]')
    """
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        raise ValueError(
            f"column {name!r} is timezone-aware ({dtype}); convert it to naive local dates "
            f"first, e.g. tx[{name!r}].dt.tz_convert('Europe/Paris').dt.tz_localize(None)."
        )
    if not (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        if not parse:
            raise ValueError(
                f"column {name!r} must hold datetime64 dates, got dtype {dtype}; parse it with "
                "pd.to_datetime or load the data with retention.load_transactions."
            )
        try:
            parsed = pd.to_datetime(series)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"column {name!r} must hold datetime64 dates, got dtype {dtype} that could not "
                f"be parsed as dates: {err}"
            ) from None
        return date_values(parsed, name)
    values = series.to_numpy()
    unit, count = np.datetime_data(values.dtype)
    if unit not in DATE_UNITS or count != 1:
        values = values.astype("datetime64[ns]")
    missing = np.isnat(values)
    if missing.any():
        raise ValueError(
            bad_rows(name, "missing date(s) (NaT)", missing, series.index)
            + "; drop or fill them first."
        )
    return values


def is_numeric(dtype: Any) -> bool:
    """Whether a dtype holds numbers (booleans are not numbers here).

    Examples
    --------
    >>> import numpy as np
    >>> is_numeric(np.dtype("int8")), is_numeric(np.dtype(bool)), is_numeric(np.dtype(object))
    (True, False, False)
    """
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def numeric_values(
    series: pd.Series,
    name: Any,
    *,
    what: str | None = None,
    kind: str | None = None,
    nonnegative: bool = False,
    hint: str = "",
    negative_hint: str = "",
) -> np.ndarray:
    """The float64 values of a numeric column; non-numeric dtypes and missing, infinite (and,
    with ``nonnegative``, negative) values are refused with the column, count and examples.

    Parameters
    ----------
    series : Series
        The column.
    name : str
        Its name, as the messages show it.
    what : str, optional
        The table it belongs to (``"the summary"``), named after the column.
    kind : str, optional
        What the numbers are (``"amounts"``), named after "must hold numbers".
    nonnegative : bool
        Refuse negative values too.
    hint, negative_hint : str
        Appended to the message about missing/infinite values, about negative values.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_values(pd.Series([1, 2]), "frequency")
    array([1., 2.])
    >>> numeric_values(pd.Series([1.0, -2.0]), "T", what="the summary", nonnegative=True)
    Traceback (most recent call last):
    ...
    ValueError: column 'T' of the summary has 1 negative value(s), e.g. at rows [1].
    """
    label = f"{name!r}" + (f" of {what}" if what else "")
    dtype = series.dtype
    if not is_numeric(dtype):
        kinds = f" ({kind})" if kind else ""
        raise ValueError(f"column {label} must hold numbers{kinds}, got dtype {dtype}.")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        count = int(np.count_nonzero(bad))
        raise ValueError(
            f"column {label} has {count} missing or infinite value(s), e.g. at rows "
            f"{examples(series.index, bad)}" + (hint or ".")
        )
    if nonnegative:
        neg = values < 0
        if neg.any():
            count = int(np.count_nonzero(neg))
            raise ValueError(
                f"column {label} has {count} negative value(s), e.g. at rows "
                f"{examples(series.index, neg)}" + (negative_hint or ".")
            )
    return values


def amount_values(series: pd.Series, name: str) -> np.ndarray:
    """The float64 values of an amount column; missing or infinite amounts are refused.

    Examples
    --------
    >>> import pandas as pd
    >>> amount_values(pd.Series([10, -2.5]), "revenue")
    array([10. , -2.5])
    """
    return numeric_values(
        series, name, kind="amounts", hint="; fill them (0 for no revenue) or drop the rows."
    )


def numeric_columns(table: pd.DataFrame, columns: Sequence[Any] | None = None, *,
                    what: str = "the table") -> None:
    """Raise a ValueError naming the columns of ``table`` that do not hold numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_columns(pd.DataFrame({"a": [1], "b": [True]}), what="the matrix")
    Traceback (most recent call last):
    ...
    ValueError: the matrix must hold numbers; 1 column(s) are not numeric: {'b': 'bool'}.
    """
    columns = list(table.columns if columns is None else columns)
    bad = [c for c in columns if not is_numeric(table[c].dtype)]
    if bad:
        shown = {c: str(table[c].dtype) for c in bad[:N_EXAMPLES]}
        raise ValueError(
            f"{what} must hold numbers; {len(bad)} column(s) are not numeric: {shown}."
        )


def naive_timestamp(value: Any, name: str) -> pd.Timestamp:
    """``value`` as a timezone-naive Timestamp, or a ValueError naming the argument.

    Examples
    --------
    >>> naive_timestamp("2024-06-30", "observation_end")
    Timestamp('2024-06-30 00:00:00')
    >>> naive_timestamp("soon", "end")
    Traceback (most recent call last):
    ...
    ValueError: end='soon' is not a date.
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}={value!r} is not a date.") from err
    if ts is pd.NaT:
        raise ValueError(f"{name} must be a date, got {value!r}.")
    if ts.tzinfo is not None:
        raise ValueError(f"{name}={value!r} is timezone-aware; pass a naive date.")
    return ts


def is_missing(value: Any) -> bool:
    """Whether a single value is missing: None, ``pd.NA``, ``pd.NaT`` or a float NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> [is_missing(v) for v in (None, pd.NA, float("nan"), 0, "x")]
    [True, True, True, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return is_real(value) and bool(np.isnan(value))


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (Python or NumPy; booleans are not numbers).

    Examples
    --------
    >>> is_real(3), is_real(2.5), is_real(True), is_real("1")
    (True, True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_whole(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy; booleans and floats are not).

    Examples
    --------
    >>> import numpy as np
    >>> is_whole(3), is_whole(np.int8(3)), is_whole(3.0), is_whole(True)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def whole_number(name: str, value: Any, *, minimum: int = 1, what: str | None = None) -> int:
    """``value`` as an ``int``, refusing anything but a whole number ``>= minimum``.

    Parameters
    ----------
    name : str
        The parameter, as the message names it.
    value : object
        The value given (Python or NumPy integers; booleans and floats are refused).
    minimum : int
        Smallest allowed value.
    what : str, optional
        How the message describes an allowed value; default "a positive whole number"
        (``minimum=1``), else "a whole number >= <minimum>".

    Examples
    --------
    >>> whole_number("groups", 10)
    10
    >>> whole_number("periods", 0)
    Traceback (most recent call last):
    ...
    ValueError: periods must be a positive whole number, got 0.
    >>> whole_number("n", -1, minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: n must be a whole number >= 0, got -1.
    """
    if not (is_whole(value) and value >= minimum):
        if what is None:
            what = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}.")
    return int(value)


def fraction(
    name: str,
    value: Any,
    *,
    low: float = 0.0,
    high: float = 1.0,
    open_low: bool = False,
) -> float:
    """``value`` as a ``float``, refusing anything but a finite number in ``[low, high]``
    (``(low, high]`` with ``open_low``).

    Examples
    --------
    >>> fraction("rate", 0.05)
    0.05
    >>> fraction("rate", 5)
    Traceback (most recent call last):
    ...
    ValueError: rate is a fraction in [0.0, 1.0], got 5 (use 0.05 for 5%).
    >>> fraction("top", 0.0, open_low=True)
    Traceback (most recent call last):
    ...
    ValueError: top is a fraction in (0.0, 1.0], got 0.0 (use 0.05 for 5%).
    """
    if not is_real(value):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if not (value > low if open_low else value >= low) or value > high:
        interval = f"{'(' if open_low else '['}{low}, {high}]"
        raise ValueError(f"{name} is a fraction in {interval}, got {value!r} (use 0.05 for 5%).")
    return float(value)


def as_list(value: Any) -> list[Any]:
    """One name or value, or several, as a list: ``None`` -> ``[]``, a string (or any
    non-sequence, e.g. a :class:`pandas.Period`) -> ``[value]``, a sequence -> its items.

    Examples
    --------
    >>> as_list(None), as_list("country"), as_list(("country", "channel"))
    ([], ['country'], ['country', 'channel'])
    """
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(
        value, Sequence | pd.Index | pd.Series | np.ndarray
    ):
        return [value]
    return list(value)


class IdCodes(NamedTuple):
    """Integer codes of ids (see :func:`encode_ids`)."""

    codes: np.ndarray  # code of each row (int32, or int64 when needed); -1 for a missing id
    n: int  # number of codes: 0 <= code < n
    offset: int | None  # dense integer ids: id = code + offset
    uniques: Any  # the id of each code (offset None), or the dtype of the integer ids

    def ids(self, codes: np.ndarray) -> Any:
        """The ids of ``codes``, in the dtype they were given in."""
        if self.offset is not None:
            return (codes + self.offset).astype(self.uniques, copy=False)
        return self.uniques.take(codes)

    def index(self) -> pd.Index:
        """Index of the ids of every code ``0 .. n - 1``."""
        if self.offset is not None and self.uniques == np.int64:
            return pd.RangeIndex(self.offset, self.offset + self.n)  # no memory
        return pd.Index(self.ids(np.arange(self.n)))


_PAGES_LOCK = threading.Lock()
_pages_users = 0
_pages_before: bool | None = None


@contextmanager
def _small_pages():
    """Run the block (or, as a decorator, the function) with NumPy's huge-page advice off.

    NumPy asks the kernel for 2 MiB pages for its large arrays; where the first touch of such
    a page is slow (virtual machines, memory that must be compacted first) a pass over 10M
    rows spends as long faulting in the fresh arrays of its temporaries as computing, and
    ordinary pages are then several times faster. The setting is process-wide: it is switched
    off while at least one such block runs (in any thread) and restored after the last one;
    left alone when ``NUMPY_MADVISE_HUGEPAGE`` chooses it in the environment. Only speed
    depends on it, never a value.
    """
    global _pages_users, _pages_before
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        yield
        return
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # pragma: no cover - a NumPy without the switch
        yield
        return
    with _PAGES_LOCK:
        if _pages_users == 0:
            _pages_before = _set_madvise_hugepage(False)
        _pages_users += 1
    try:
        yield
    finally:
        with _PAGES_LOCK:
            _pages_users -= 1
            if _pages_users == 0:
                _set_madvise_hugepage(bool(_pages_before))


def encode_ids(values: np.ndarray | pd.Series) -> IdCodes:
    """Integer codes of ids: ``id - min`` for integers in a dense range, factorize otherwise.

    Integer ids whose range is at most about twice the number of rows are coded by their
    offset from the smallest (no hashing); categoricals use their category codes; anything
    else goes through :func:`pandas.factorize` (codes in order of first appearance).

    Examples
    --------
    >>> import numpy as np
    >>> codes = encode_ids(np.array([105, 101, 105]))
    >>> codes.codes.tolist(), codes.n, codes.ids(np.array([0, 4])).tolist()
    ([4, 0, 4], 5, [101, 105])
    >>> encode_ids(np.array(["b", "a", "b"], dtype=object)).codes.tolist()
    [0, 1, 0]
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        categories = values.cat.categories
        dtype = np.int32 if len(categories) < np.iinfo(np.int32).max else np.int64
        return IdCodes(codes.astype(dtype), len(categories), None, categories)
    array = values.to_numpy() if isinstance(values, pd.Series) else values
    n = len(array)
    if isinstance(array, np.ndarray) and array.dtype.kind in "iu" and n:
        lo, hi = int(array.min()), int(array.max())
        span = hi - lo + 1
        if span <= 2 * n + 1024:
            dtype = np.int32 if span < np.iinfo(np.int32).max else np.int64
            codes = np.empty(n, dtype=dtype)
            np.subtract(array, np.asarray(lo, dtype=array.dtype), out=codes, casting="unsafe")
            return IdCodes(codes, span, lo, array.dtype)
    codes, uniques = pd.factorize(values, sort=False)
    dtype = np.int32 if len(uniques) < np.iinfo(np.int32).max else np.int64
    return IdCodes(codes.astype(dtype, copy=False), len(uniques), None, uniques)


def encode_customers(values: np.ndarray | pd.Series, name: str, index: pd.Index) -> IdCodes:
    """Customer codes (see :func:`encode_ids`), refusing missing ids.

    Examples
    --------
    >>> import pandas as pd
    >>> encode_customers(pd.Series(["a", None]), "customer_id", pd.Index([10, 11]))
    Traceback (most recent call last):
    ...
    ValueError: column 'customer_id' has 1 missing customer id(s), e.g. at rows [11]; drop or \
fill them first.
    """
    codes = encode_ids(values)
    if codes.offset is None:
        missing = codes.codes < 0
        if missing.any():
            raise ValueError(
                bad_rows(name, "missing customer id(s)", missing, index)
                + "; drop or fill them first."
            )
    return codes


def json_value(value: Any) -> Any:
    """``value`` as a plain JSON value, for ``DataFrame.attrs`` (which must save to Parquet).

    Dates become ISO strings, NumPy scalars Python numbers, missing values ``None``,
    a Series or Index a list, a mapping a dict with string keys; anything else its ``str``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> json_value({"end": pd.Timestamp("2024-03-31"), "n": np.int64(3), "gap": pd.NaT})
    {'end': '2024-03-31T00:00:00', 'n': 3, 'gap': None}
    >>> json_value(pd.Series([1.5, np.nan]))
    [1.5, None]
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, pd.Series | pd.Index | np.ndarray | list | tuple):
        return [json_value(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int | bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def require_transactions(tx: Any, *, customer: str, date: str, amount: str | None,
                         **more: str | Sequence[str] | None) -> None:
    """Raise unless ``tx`` is a non-empty transaction table with the named columns and
    datetime64 dates (as :func:`retention.rfm_summary` requires); the row passes check the
    values themselves.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1], "order_date": [20240105], "revenue": [5.0]})
    >>> require_transactions(tx, customer="customer_id", date="order_date", amount="revenue")
    Traceback (most recent call last):
    ...
    ValueError: column 'order_date' must hold datetime64 dates, got dtype int64; parse it \
with pd.to_datetime or load the data with retention.load_transactions.
    """
    from retention.engine import lazy

    if lazy.is_table(tx):  # a table kept in its engine: its passes check their columns
        return
    require_columns(tx, customer=customer, date=date, amount=amount, **more)
    dtype = tx[date].dtype
    if not (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        date_values(tx[date], date)  # raises: dates not parsed, or timezone-aware
    if len(tx) == 0:
        raise ValueError("the transaction table is empty.")
