"""Calendar periods as integer codes.

Every table in the package groups dates into periods (day, week, month, quarter). The
reductions work on integer period codes, which are the ordinals of :class:`pandas.Period`
(so ``pd.Period(ordinal=code, freq=freq)`` is the label) but are computed with integer
arithmetic on the ``datetime64`` values, which is much faster than ``Series.dt.to_period``
on millions of rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Accepted spellings of each grain, mapped to the pandas period alias.
FREQ_ALIASES: dict[str, str] = {
    "D": "D",
    "day": "D",
    "daily": "D",
    "W": "W",
    "week": "W",
    "weekly": "W",
    "M": "M",
    "month": "M",
    "monthly": "M",
    "Q": "Q",
    "quarter": "Q",
    "quarterly": "Q",
}

#: Name of one period of each grain, for prose and axis labels.
UNIT_NAMES: dict[str, str] = {"D": "day", "W": "week", "M": "month", "Q": "quarter"}

#: Length of one period in days, used to express durations in a time unit.
PERIOD_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Q": 365.25 / 4}


def normalize_freq(freq: str) -> str:
    """Return the pandas alias (``"D"``, ``"W"``, ``"M"`` or ``"Q"``) for a grain name.

    Parameters
    ----------
    freq : str
        ``"D"``/``"day"``, ``"W"``/``"week"``, ``"M"``/``"month"`` or ``"Q"``/``"quarter"``
        (case-insensitive for the long names).

    Examples
    --------
    >>> normalize_freq("month")
    'M'
    """
    alias = FREQ_ALIASES.get(freq) or FREQ_ALIASES.get(str(freq).lower())
    if alias is None:
        raise ValueError(
            f"freq={freq!r} is not a supported grain; use one of 'D', 'W', 'M', 'Q' "
            "(or 'day', 'week', 'month', 'quarter')."
        )
    return alias


def unit_name(freq: str | None, default: str | None = None) -> str:
    """Name of one period of a grain: ``"day"``, ``"week"``, ``"month"`` or ``"quarter"``.

    With ``default``, a missing or unknown grain gives ``default`` instead of an error.

    Examples
    --------
    >>> unit_name("M"), unit_name("weekly"), unit_name(None, default="time unit")
    ('month', 'week', 'time unit')
    """
    if default is not None:
        try:
            return UNIT_NAMES[normalize_freq(freq)] if freq else default
        except ValueError:
            return default
    return UNIT_NAMES[normalize_freq(freq)]


def period_codes(dates: pd.Series | pd.Index | np.ndarray, freq: str) -> np.ndarray:
    """Integer period code (the :class:`pandas.Period` ordinal) of each date.

    Parameters
    ----------
    dates : Series, Index or ndarray of datetime64
        Tz-naive dates without missing values.
    freq : str
        Grain, see :func:`normalize_freq`. Weeks run Monday to Sunday.

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> import pandas as pd
    >>> period_codes(pd.Series(pd.to_datetime(["2024-01-31", "2024-02-01"])), "M")
    array([648, 649])
    """
    freq = normalize_freq(freq)
    values = np.asarray(dates, dtype="datetime64[ns]")
    if freq in ("D", "W"):
        days = values.astype("datetime64[D]").astype(np.int64)
        return days if freq == "D" else (days + 3) // 7 + 1
    months = values.astype("datetime64[M]").astype(np.int64)
    return months if freq == "M" else months // 3


def period_labels(codes: np.ndarray | pd.Index | list[int], freq: str) -> pd.PeriodIndex:
    """Turn period codes back into a :class:`pandas.PeriodIndex` for display.

    Examples
    --------
    >>> period_labels([648, 649], "M")
    PeriodIndex(['2024-01', '2024-02'], dtype='period[M]')
    """
    return pd.PeriodIndex.from_ordinals(
        np.asarray(codes, dtype=np.int64), freq=normalize_freq(freq)
    )


def period_label(value: object) -> str:
    """Readable label of a period: ``"2024-01"`` (month), ``"2024Q1"`` (quarter),
    ``"2024-01-15"`` (day), ISO weeks as ``"2024-W03"``; anything else through ``str``.

    Examples
    --------
    >>> import pandas as pd
    >>> period_label(pd.Period("2024-01-17", "W")), period_label(pd.Period("2024-03", "M"))
    ('2024-W03', '2024-03')
    """
    if isinstance(value, pd.Period) and value.freqstr.startswith("W"):
        iso = value.start_time.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return str(value)


def period_start(codes: np.ndarray | pd.Index | list[int], freq: str) -> pd.DatetimeIndex:
    """First day of each period, as timestamps.

    Examples
    --------
    >>> period_start([648], "M")
    DatetimeIndex(['2024-01-01'], dtype='datetime64[ns]', freq=None)
    """
    return period_labels(codes, freq).to_timestamp(how="start").as_unit("ns")


def period_end(codes: np.ndarray | pd.Index | list[int], freq: str) -> pd.DatetimeIndex:
    """Last day (midnight) of each period.

    Examples
    --------
    >>> period_end([648], "M")
    DatetimeIndex(['2024-01-31'], dtype='datetime64[ns]', freq=None)
    """
    return period_labels(codes, freq).to_timestamp(how="end").normalize().as_unit("ns")
