"""Input checks shared by every function that reads a transaction log or a customer summary.

One set of rules and one wording everywhere (loader, reductions, RFM summaries, KPIs, models):

* a missing column is named, with the argument that maps it, next to the columns present;
* a bad value is reported with its column, the number of bad rows and a few example row
  labels — ``column 'revenue' has 2 missing or infinite value(s), e.g. at rows [3, 7]``;
* customer ids become integer codes once, the same way for every row pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
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
    if not isinstance(df, pd.DataFrame):
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


def amount_values(series: pd.Series, name: str) -> np.ndarray:
    """The float64 values of an amount column; missing or infinite amounts are refused.

    Examples
    --------
    >>> import pandas as pd
    >>> amount_values(pd.Series([10, -2.5]), "revenue")
    array([10. , -2.5])
    """
    dtype = series.dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise ValueError(f"column {name!r} must hold numbers (amounts), got dtype {dtype}.")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            bad_rows(name, "missing or infinite value(s)", bad, series.index)
            + "; fill them (0 for no revenue) or drop the rows."
        )
    return values


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
