"""Realistic synthetic e-commerce transaction logs.

:func:`sample_transactions` simulates the purchase history of a web shop in the canonical
transaction schema, so that every table, model and notebook in the package can be tried
without real data. The generating process is the one the package's models assume, with the
frictions of real data added on top:

* **Acquisition.** Customers arrive between ``start`` and ``end`` at a rate that grows over
  time (``annual_growth``) and follows a retail calendar (November/December peak, quiet
  February). Each customer's first purchase is on the acquisition date.
* **Channels.** Each customer comes through one acquisition channel. Channels differ in
  share *and* behaviour: referral and e-mail customers buy more often and stay longer, paid
  social customers churn fastest and spend least. The social share grows over the window, so
  later cohorts retain slightly worse, as in many growing shops.
* **Repeat purchases (BG/NBD).** While alive, a customer buys as a Poisson process with a
  personal rate ``lambda ~ Gamma(r, alpha)`` (per day), modulated by the same retail calendar;
  after each repeat purchase they drop out for good with a personal probability
  ``p ~ Beta(a, b)``. This yields many one-time buyers and a long tail of loyal customers.
* **Order values (Gamma-Gamma).** Each customer has a personal mean spend; order values are
  ``Gamma(shape, scale=1/nu)`` with ``nu ~ Gamma(q, gamma)`` per customer, rounded to cents.
* **Refunds.** A small share of orders (``refund_rate``) is followed a few days later by a
  refund row with negative revenue (the full amount, or part of it).
* **Countries.** A handful of countries with fixed weights.

The simulation is vectorised over customers (one NumPy step per purchase *event*, over all
customers still active), so a million customers take seconds.

Run as a module to write a CSV file::

    python -m retention.io.sample --customers 3000 --seed 42 --output data/sample_transactions.csv
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from retention.checks import whole_number

__all__ = ["sample_transactions", "CHANNELS", "COUNTRIES"]

#: Acquisition channels, in a fixed order (the order of every per-channel table below).
CHANNELS: tuple[str, ...] = ("organic", "paid_search", "social", "email", "referral")

#: Channel shares among customers acquired at ``start`` and at ``end`` (linear in between).
_CHANNEL_SHARE_START = np.array([0.38, 0.27, 0.12, 0.13, 0.10])
_CHANNEL_SHARE_END = np.array([0.32, 0.25, 0.24, 0.10, 0.09])

#: Per-channel BG/NBD parameters (``r``, ``alpha`` in days, ``a``, ``b``) and a spend multiplier.
#: ``alpha`` is the *rate* of the gamma distribution of purchase rates, so the mean rate is
#: ``r / alpha`` purchases per day; the mean drop-out probability is ``a / (a + b)``.
_CHANNEL_PARAMS = {
    #               r     alpha   a     b     spend
    "organic": (0.30, 40.0, 0.80, 2.60, 1.00),
    "paid_search": (0.26, 40.0, 0.90, 2.20, 0.95),
    "social": (0.20, 42.0, 1.30, 1.50, 0.80),
    "email": (0.36, 38.0, 0.70, 2.80, 1.05),
    "referral": (0.38, 38.0, 0.60, 3.20, 1.20),
}

#: Customer countries (ISO 3166-1 alpha-2) and their weights.
COUNTRIES: tuple[str, ...] = ("US", "GB", "DE", "FR", "CA", "NL", "AU")
_COUNTRY_WEIGHTS = np.array([0.40, 0.16, 0.13, 0.10, 0.08, 0.07, 0.06])

#: Gamma-Gamma spend parameters: order value ~ Gamma(_GG_P, scale=1/nu), nu ~ Gamma(_GG_Q,
#: rate=_GG_GAMMA). The mean order value is _GG_P * _GG_GAMMA / (_GG_Q - 1) = 66 (currency
#: units) before the channel multiplier.
_GG_P, _GG_Q, _GG_GAMMA = 6.0, 4.0, 33.0

#: Retail calendar: relative activity by month (January .. December).
_MONTH_FACTOR = np.array([0.95, 0.80, 0.90, 0.90, 0.95, 0.90, 0.85, 0.90, 0.95, 1.05, 1.55, 1.70])

#: Refunds: share that refunds the full order amount; delay in days is 1 + Poisson(_REFUND_DELAY).
_REFUND_FULL_SHARE = 0.7
_REFUND_DELAY = 5.0

_COLUMNS = ("customer_id", "order_id", "order_date", "revenue", "channel", "country")


def sample_transactions(
    n_customers: int = 2000,
    seed: int = 0,
    *,
    start: str | pd.Timestamp = "2023-01-01",
    end: str | pd.Timestamp = "2024-12-31",
    annual_growth: float = 0.6,
    seasonality: bool = True,
    refund_rate: float = 0.02,
) -> pd.DataFrame:
    """Simulate a realistic e-commerce transaction log in the canonical schema.

    Customers are acquired between ``start`` and ``end`` (growing, with a November/December
    peak), buy again following a BG/NBD process whose parameters depend on the acquisition
    channel, spend following a Gamma-Gamma model, and occasionally get refunds. See the module
    documentation for the full generating process.

    Parameters
    ----------
    n_customers : int, default 2000
        Number of customers acquired in the window (each has at least one purchase).
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; the same arguments give an identical frame.
    start, end : str or Timestamp, default "2023-01-01" and "2024-12-31"
        First and last calendar day of the log, both inclusive. Any time of day is ignored.
    annual_growth : float, default 0.6
        Growth of the acquisition rate per year: ``0.6`` means 60 % more new customers per
        day one year later (before seasonality). Must be greater than -1.
    seasonality : bool, default True
        Apply the retail calendar (November/December peak) to acquisitions and repeat
        purchases. With ``False`` both are flat apart from growth.
    refund_rate : float, default 0.02
        Probability that an order is followed by a refund row. Refunds that would fall after
        ``end`` are not recorded, so the observed share is slightly lower.

    Returns
    -------
    DataFrame
        One row per purchase or refund, sorted by ``order_date``, then ``customer_id``, then
        ``order_id``, with a fresh ``RangeIndex`` and these columns:

        ``customer_id`` (str)
            ``"C000001"``, ``"C000002"``, ... numbered in order of acquisition (the number
            of digits grows beyond 999,999 customers, so that the ids still sort correctly).
        ``order_id`` (str)
            Unique per row. Purchases are ``"O0000001"``, ``"O0000002"``, ... in
            chronological order; a refund row carries ``"R"`` plus the number of the order
            it refunds (``"R0000042"`` refunds ``"O0000042"``).
        ``order_date`` (datetime64[ns])
            Calendar date of the purchase or refund, at midnight (dates only, no time of
            day), between ``start`` and ``end`` inclusive.
        ``revenue`` (float64)
            Order value in currency units, rounded to cents; positive for purchases,
            negative for refunds (the full order value or a part of it).
        ``channel`` (str)
            Acquisition channel of the customer, one of :data:`CHANNELS`.
        ``country`` (str)
            Country of the customer, one of :data:`COUNTRIES`.

    Raises
    ------
    ValueError
        If ``n_customers`` is not a positive integer, ``end`` is not after ``start``, or
        ``annual_growth`` or ``refund_rate`` are out of range.

    Notes
    -----
    Repeat purchases follow the BG/NBD story (Fader, Hardie and Lee, 2005): a customer cannot
    drop out right after the first purchase, only after each repeat purchase. The purchase
    rate is modulated by the retail calendar and its parameters differ by channel, so a single
    BG/NBD or Gamma-Gamma model fitted on the whole log describes it well but not exactly.

    The result depends on every argument: two calls with different ``n_customers`` do not
    share their first customers.

    Examples
    --------
    >>> tx = sample_transactions(500, seed=1)
    >>> list(tx.columns)
    ['customer_id', 'order_id', 'order_date', 'revenue', 'channel', 'country']
    >>> tx["customer_id"].nunique()
    500
    >>> bool(tx["order_date"].between("2023-01-01", "2024-12-31").all())
    True
    >>> tx.equals(sample_transactions(500, seed=1))
    True
    """
    n_customers = _check_n_customers(n_customers)
    start_ts, end_ts = _check_window(start, end)
    if not np.isfinite(annual_growth) or annual_growth <= -1:
        raise ValueError(f"annual_growth must be a number greater than -1, got {annual_growth!r}.")
    if not 0 <= refund_rate <= 1:
        raise ValueError(f"refund_rate must be between 0 and 1, got {refund_rate!r}.")

    rng = np.random.default_rng(seed)
    first_day = start_ts.to_datetime64().astype("datetime64[D]")
    n_days = int((end_ts - start_ts).days) + 1
    day_factor = _day_factor(first_day, n_days, seasonality)

    # --- acquisition: day drawn from the growing, seasonal intensity; ids in arrival order
    growth = (1.0 + annual_growth) ** (np.arange(n_days) / 365.25)
    weights = growth * day_factor
    cdf = np.cumsum(weights)
    acq_day = np.searchsorted(cdf, rng.random(n_customers) * cdf[-1], side="right")
    acq_day = np.sort(np.minimum(acq_day, n_days - 1))
    acq_time = acq_day + rng.random(n_customers)  # continuous time, in days since start

    # --- channel (mix drifting linearly over the window) and country
    u = (acq_day / max(n_days - 1, 1))[:, None]
    share = _CHANNEL_SHARE_START + u * (_CHANNEL_SHARE_END - _CHANNEL_SHARE_START)
    channel = _draw_categories(rng, n_customers, np.cumsum(share, axis=1))
    country = _draw_categories(rng, n_customers, np.cumsum(_COUNTRY_WEIGHTS)[None, :])

    # --- per-customer behaviour (BG/NBD + Gamma-Gamma), parameters by channel
    params = np.array([_CHANNEL_PARAMS[c] for c in CHANNELS])[channel]
    r, alpha, a, b, spend = params.T
    lam = rng.gamma(r, 1.0 / alpha)
    p_drop = rng.beta(a, b)
    nu = rng.gamma(_GG_Q, 1.0 / _GG_GAMMA, size=n_customers)

    # --- purchase events: first purchase at acquisition, then thinned Poisson + drop-out
    max_factor = float(day_factor.max())
    event_cust = [np.arange(n_customers)]
    event_time = [acq_time]
    active = np.flatnonzero(lam > 0)
    t = acq_time[active]
    while active.size:
        t = t + rng.exponential(1.0, active.size) / (lam[active] * max_factor)
        inside = t < n_days
        active, t = active[inside], t[inside]
        accept = rng.random(active.size) * max_factor < day_factor[t.astype(np.int64)]
        event_cust.append(active[accept])
        event_time.append(t[accept])
        stay = ~accept | (rng.random(active.size) >= p_drop[active])
        active, t = active[stay], t[stay]
    cust = np.concatenate(event_cust)
    day = np.floor(np.concatenate(event_time)).astype(np.int64)
    order = np.lexsort((np.concatenate(event_time), cust, day))
    cust, day = cust[order], day[order]
    n_orders = cust.size
    value = rng.gamma(_GG_P, 1.0, n_orders) * (spend[cust] / nu[cust])
    value = np.maximum(np.round(value, 2), 0.01)
    number = np.arange(1, n_orders + 1)

    # --- refunds a few days later, of the full amount or a part of it; none after ``end``
    refunded = np.flatnonzero(rng.random(n_orders) < refund_rate)
    ref_day = day[refunded] + 1 + rng.poisson(_REFUND_DELAY, refunded.size)
    fraction = np.where(
        rng.random(refunded.size) < _REFUND_FULL_SHARE, 1.0, rng.uniform(0.2, 0.8, refunded.size)
    )
    ref_value = -np.clip(np.round(value[refunded] * fraction, 2), 0.01, value[refunded])
    keep = ref_day < n_days
    refunded, ref_day, ref_value = refunded[keep], ref_day[keep], ref_value[keep]

    # --- assemble, sorted by date, customer, order number (purchase before its refund)
    all_cust = np.concatenate([cust, cust[refunded]])
    all_day = np.concatenate([day, ref_day])
    all_number = np.concatenate([number, number[refunded]])
    is_refund = np.concatenate([np.zeros(n_orders, bool), np.ones(refunded.size, bool)])
    all_value = np.concatenate([value, ref_value])
    order = np.lexsort((is_refund, all_number, all_cust, all_day))
    all_cust, all_day, all_number = all_cust[order], all_day[order], all_number[order]
    is_refund, all_value = is_refund[order], all_value[order]

    order_prefix = np.where(is_refund, ord("R"), ord("O")).astype(np.uint8)
    data = {
        "customer_id": _format_ids(all_cust + 1, ord("C"), 6),
        "order_id": _format_ids(all_number, order_prefix, 7),
        "order_date": pd.Series(
            (first_day + all_day).astype("datetime64[ns]"), dtype="datetime64[ns]"
        ),
        "revenue": pd.Series(all_value, dtype="float64"),
        "channel": _labels(CHANNELS, channel[all_cust]),
        "country": _labels(COUNTRIES, country[all_cust]),
    }
    return pd.DataFrame(data, columns=list(_COLUMNS))


# --------------------------------------------------------------------------- helpers


def _check_n_customers(n_customers: int) -> int:
    return whole_number("n_customers", n_customers, what="a positive integer (at least 1)")


def _check_window(
    start: str | pd.Timestamp, end: str | pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    parsed = []
    for name, value in (("start", start), ("end", end)):
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}={value!r} is not a date.") from exc
        if ts is pd.NaT or pd.isna(ts):
            raise ValueError(f"{name}={value!r} is not a date.")
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        parsed.append(ts.normalize())
    start_ts, end_ts = parsed
    if end_ts <= start_ts:
        raise ValueError(
            f"end ({end_ts.date()}) must be after start ({start_ts.date()}); "
            "both are calendar days and both are included."
        )
    return start_ts, end_ts


def _day_factor(first_day: np.datetime64, n_days: int, seasonality: bool) -> np.ndarray:
    """Relative activity of each day of the window (the retail calendar)."""
    if not seasonality:
        return np.ones(n_days)
    days = first_day + np.arange(n_days)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    return _MONTH_FACTOR[month]


def _draw_categories(rng: np.random.Generator, n: int, cum_share: np.ndarray) -> np.ndarray:
    """Category index of ``n`` rows by inverse CDF.

    ``cum_share`` holds cumulative shares, one row per draw or a single row for all draws.
    """
    draw = rng.random(n)[:, None] * cum_share[:, -1:]
    return np.minimum((draw >= cum_share).sum(axis=1), cum_share.shape[1] - 1)


def _format_ids(numbers: np.ndarray, prefix: int | np.ndarray, min_digits: int) -> pd.Series:
    """Zero-padded ids such as ``C000042``, built with array arithmetic."""
    numbers = np.asarray(numbers, dtype=np.int64)
    top = int(numbers.max()) if numbers.size else 0
    width = max(min_digits, len(str(top)))
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    chars = np.empty((numbers.size, width + 1), dtype=np.uint8)
    chars[:, 0] = prefix
    chars[:, 1:] = (numbers[:, None] // powers) % 10 + ord("0")
    text = chars.view(f"S{width + 1}").ravel().astype(f"U{width + 1}")
    return pd.Series(text, dtype="str")


def _labels(names: Sequence[str], codes: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(names, dtype=object)[codes], dtype="str")


#: Arguments of the bundled ``data/sample_transactions.csv``.
SAMPLE_ARGUMENTS = {"n_customers": 3000, "seed": 42}


def sample_path() -> Path:
    """Path of the bundled sample log, ``data/sample_transactions.csv``, from any directory.

    In a source checkout this is the file in the repository's ``data/`` folder. Where the
    package is installed without it, the same log is generated once
    (:data:`SAMPLE_ARGUMENTS`) into the user's cache folder.

    Examples
    --------
    >>> sample_path().name
    'sample_transactions.csv'
    """
    return bundled_file(
        "sample_transactions.csv",
        lambda path: _write_csv(sample_transactions(**SAMPLE_ARGUMENTS), path),
    )


def bundled_file(name: str, write: Callable[[Path], None]) -> Path:
    """A file of the repository's ``data/`` folder, or where the package is installed without
    it, the same file written once by ``write(path)`` into the user's cache folder."""
    bundled = Path(__file__).resolve().parents[2] / "data" / name
    if bundled.is_file():
        return bundled
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "retention"
    path = cache / name
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        write(tmp)
        tmp.replace(path)
    return path


# --------------------------------------------------------------------------- command line


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m retention.io.sample",
        description="Write a synthetic e-commerce transaction log as CSV.",
    )
    parser.add_argument("--customers", type=int, default=2000, help="number of customers")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--start", default="2023-01-01", help="first day (inclusive)")
    parser.add_argument("--end", default="2024-12-31", help="last day (inclusive)")
    parser.add_argument("--output", required=True, type=Path, help="CSV file to write")
    args = parser.parse_args(argv)
    tx = sample_transactions(args.customers, args.seed, start=args.start, end=args.end)
    _write_csv(tx, args.output)


def _write_csv(tx: pd.DataFrame, path: str | Path) -> None:
    """Write a transaction log as CSV in the format of ``data/sample_transactions.csv``.

    Dates as ``YYYY-MM-DD``, revenue with two decimals, ``\\n`` line endings, no index, so the
    file is byte-identical on every platform.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _write_csv(sample_transactions(10), path)
    >>> path.read_text().splitlines()[0]
    'customer_id,order_id,order_date,revenue,channel,country'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tx.to_csv(path, index=False, date_format="%Y-%m-%d", float_format="%.2f", lineterminator="\n")


if __name__ == "__main__":
    _main()
