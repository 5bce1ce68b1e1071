"""Sampling uncertainty of cohort retention: Wilson intervals and tests between segments.

A retention cell is a share: ``customers`` of the ``cohort_size`` members of a cohort are
active at offset k. Read as a binomial proportion it has a sampling error that is large for
small cohorts: 1 of 2 customers and 500 of 1,000 are both 50%.

* :func:`wilson_interval` — the Wilson score interval of ``successes / trials``, vectorised;
* :func:`retention_intervals` — ``retention_low`` / ``retention_high`` columns for the long
  table of :func:`retention.metrics.cohorts.cohort_table`;
* :func:`compare_curves` — do two or more segments retain differently? One
  Cochran–Mantel–Haenszel test per period offset, stratified by cohort, and an overall
  p-value over the offsets (Holm).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from retention.checks import N_EXAMPLES, as_list, is_real, require_columns

__all__ = ["compare_curves", "retention_intervals", "wilson_interval"]

_COHORT_TABLE_HINT = "Build it with retention.cohort_table."
_COUNTS = ("cohort_size", "customers")


def _check_level(level: Any) -> float:
    if not (is_real(level) and 0 < level < 1):
        raise ValueError(
            f"level must be a number strictly between 0 and 1 (0.95 for 95%); got {level!r}."
        )
    return float(level)


def _check_counts(successes: np.ndarray, trials: np.ndarray) -> None:
    """Refuse negative or infinite counts and successes above trials (NaN passes)."""
    problems = {
        "trials is negative or infinite": (trials < 0) | np.isinf(trials),
        "successes is negative or infinite": (successes < 0) | np.isinf(successes),
        "successes exceeds trials": successes > trials,
    }
    for problem, bad in problems.items():
        if bad.any():
            where = np.flatnonzero(bad)[:N_EXAMPLES]
            pairs = ", ".join(f"{successes.flat[i]:g} of {trials.flat[i]:g}" for i in where)
            raise ValueError(
                f"{problem} in {int(bad.sum())} position(s), e.g. {pairs} "
                f"(successes of trials) at positions {where.tolist()}."
            )


def _series_index(*values: Any) -> pd.Index | None:
    indexes = [v.index for v in values if isinstance(v, pd.Series)]
    if len(indexes) == 2 and not indexes[0].equals(indexes[1]):
        raise ValueError("successes and trials are Series with different indexes; align them.")
    return indexes[0] if indexes else None


def wilson_bounds(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson bounds of ``k / n`` at the normal quantile ``z``, vectorised, unchecked
    (the arithmetic of :func:`wilson_interval`): exactly 0 at ``k = 0`` and 1 at ``k = n``,
    never excluding ``k / n``, NaN where ``n`` is 0 or an input is NaN.

    >>> low, high = wilson_bounds(np.array([8.0]), np.array([10.0]), 1.959964)
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.4902, 0.9433)
    """
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(n > 0, n, np.nan)
        p = k / n
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = z / (1 + z2 / n) * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    # rounding must not push the observed share outside its own interval
    low, high = np.fmin(low, p), np.fmax(high, p)
    return np.where(np.isnan(p), np.nan, low), np.where(np.isnan(p), np.nan, high)


def wilson_interval(successes: Any, trials: Any, level: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval of the proportion ``successes / trials``.

    With ``p = k / n`` and ``z`` the ``(1 + level) / 2`` quantile of the standard normal
    (:func:`scipy.stats.norm.ppf`), the bounds are

    ``(p + z²/2n ± z·sqrt(p(1 - p)/n + z²/4n²)) / (1 + z²/n)``.

    Unlike the Wald interval ``p ± z·sqrt(p(1 - p)/n)`` it stays inside [0, 1] and does not
    collapse to a point at 0 or n successes. The bounds are exactly 0 at ``k = 0`` and 1 at
    ``k = n``.

    Parameters
    ----------
    successes, trials : number, array-like or Series
        Counts, broadcast against each other (floats accepted). NaN passes through.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    low, high : float, ndarray or Series
        Floats for scalar inputs, Series (named ``"low"`` and ``"high"``, with the index
        of the input Series) when either input is a Series, arrays otherwise. NaN where
        ``trials`` is 0 or an input is NaN.

    Raises
    ------
    ValueError
        For a negative or infinite count, successes above trials, or a level outside (0, 1).

    Examples
    --------
    >>> low, high = wilson_interval(8, 10)
    >>> round(low, 4), round(high, 4)
    (0.4902, 0.9433)
    >>> wilson_interval([0, 10, 0], [10, 10, 0], level=0.9)[1].round(4)
    array([0.2129, 1.    ,    nan])
    """
    level = _check_level(level)
    index = _series_index(successes, trials)
    k, n = np.broadcast_arrays(
        np.asarray(successes, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    )
    _check_counts(k, n)
    low, high = wilson_bounds(k, n, float(stats.norm.ppf(0.5 + level / 2)))
    if index is not None:
        return pd.Series(low, index=index, name="low"), pd.Series(high, index=index, name="high")
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def retention_intervals(long: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The cohort table with a Wilson interval around each retention cell.

    Each cell's retention is ``customers / cohort_size``, read as a binomial proportion:
    the interval is :func:`wilson_interval` with ``successes = customers`` and
    ``trials = cohort_size``. It measures the sampling error of a cohort of that size, not
    differences between cohorts. Cells that are not observed (``observed`` False, or
    ``customers`` NaN) get NaN bounds. Partial cells (``partial="flag"`` or ``"keep"``)
    get the interval of what has been observed so far.

    Parameters
    ----------
    long : DataFrame
        Output of :func:`retention.metrics.cohorts.cohort_table` (any ``kind``, ``by``
        or ``partial``): at least ``cohort_size`` and ``customers``.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    DataFrame
        A copy of ``long`` with ``retention_low`` and ``retention_high`` (fractions) right
        after ``retention`` (at the end when there is no ``retention`` column). ``attrs``
        gains ``interval_level`` and ``interval_method`` (``"wilson"``).

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "cohort": pd.PeriodIndex(["2024-01"] * 3, freq="M"),
    ...     "period": [0, 1, 2],
    ...     "cohort_size": [10, 10, 10],
    ...     "customers": [10.0, 8.0, float("nan")],
    ...     "retention": [1.0, 0.8, float("nan")],
    ...     "observed": [True, True, False],
    ... })
    >>> retention_intervals(long)[["period", "retention", "retention_low", "retention_high"]]
       period  retention  retention_low  retention_high
    0       0        1.0       0.722467        1.000000
    1       1        0.8       0.490162        0.943318
    2       2        NaN            NaN             NaN
    """
    require_columns(
        long, list(_COUNTS), what="retention_intervals: the cohort table", hint=_COHORT_TABLE_HINT
    )
    customers = pd.to_numeric(long["customers"], errors="coerce").to_numpy(np.float64)
    if "observed" in long.columns:
        customers = np.where(long["observed"].to_numpy(bool), customers, np.nan)
    size = pd.to_numeric(long["cohort_size"], errors="coerce").to_numpy(np.float64)
    low, high = wilson_interval(customers, size, level)
    out = long.copy()
    at = out.columns.get_loc("retention") + 1 if "retention" in out.columns else out.shape[1]
    out.insert(at, "retention_low", low)
    out.insert(at + 1, "retention_high", high)
    out.attrs.update(interval_level=_check_level(level), interval_method="wilson")
    return out


def _cmh(n: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalized Cochran–Mantel–Haenszel statistic and its degrees of freedom.

    ``n`` and ``x`` are (test, stratum, segment) arrays of group sizes and successes; each
    test is the S x 2 (segment x retained / not) tables of its strata.
    """
    total = n.sum(axis=2)
    retained = x.sum(axis=2)
    usable = total >= 2
    safe = np.where(usable, total, 2.0)
    share = np.where(usable, retained / safe, 0.0)
    deviation = np.where(usable[..., None], x - n * share[..., None], 0.0).sum(axis=1)
    # hypergeometric covariance of the successes: m (N - m) / (N^2 (N - 1)) (N diag(n) - n n')
    factor = np.where(usable, retained * (safe - retained) / (safe**2 * (safe - 1)), 0.0)
    diagonal = np.einsum("th,ths->ts", factor * safe, n)
    cov = diagonal[..., None] * np.eye(n.shape[2]) - np.einsum("th,ths,thu->tsu", factor, n, n)
    inverse = np.linalg.pinv(cov, hermitian=True)
    dof = np.linalg.matrix_rank(cov, hermitian=True)
    statistic = np.einsum("ts,tsu,tu->t", deviation, inverse, deviation)
    return np.where(dof > 0, statistic, np.nan), dof


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries are not tests and stay NaN)."""
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    steps = p[order] * (m - np.arange(m))
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted


def compare_curves(
    long: pd.DataFrame, by: str | Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Test whether segments' retention curves differ, offset by offset and overall.

    One Cochran–Mantel–Haenszel test per period offset, stratified by cohort, and an overall
    p-value over the offsets (see Notes).

    Parameters
    ----------
    long : DataFrame
        Output of :func:`retention.metrics.cohorts.cohort_table` with ``by=...``: columns
        ``cohort``, ``period``, ``cohort_size``, ``customers`` and the segment column(s).
        Cells not observed (``observed`` False or ``customers`` NaN) are left out, and so
        are partial cells (``partial`` True), which are counted in ``attrs``.
    by : str or list of str
        Segment column(s); every combination is a segment. At least two are needed.
    level : float, default 0.95
        Level of the Wilson interval of each segment's pooled retention.

    Returns
    -------
    DataFrame
        One row per (period, segment), sorted by period then segment:

        - ``period`` and the ``by`` column(s);
        - ``cohorts``: cohorts of the segment observed at that offset;
        - ``cohort_size``, ``customers``: their total size and active customers;
        - ``retention``, ``retention_low``, ``retention_high``: the pooled retention
          ``customers / cohort_size`` and its Wilson interval;
        - ``statistic``, ``dof``, ``p_value``: the CMH test of the offset (the same on every
          segment's row; NaN statistic and 0 dof where there is nothing to test);
        - ``p_adjusted``: Holm-adjusted p-value over the offsets tested.

        ``attrs``: ``by``, ``level``, ``method`` (``"cochran-mantel-haenszel"``),
        ``overall_p_value``, ``overall_method`` (``"holm"``), ``periods_tested`` and
        ``partial_cells_excluded``.

    Raises
    ------
    ValueError
        If a column is missing or fewer than two segments have observed cells.

    Notes
    -----
    At each period offset k, the observed cells of every cohort form a stratum: an
    S x 2 table of the S segments by retained (``customers``) / not retained
    (``cohort_size - customers``). The generalized Cochran–Mantel–Haenszel statistic
    over these strata tests that, within every cohort, the segments share one
    retention rate; under that null it is chi-square with S - 1 degrees of freedom. For
    two segments it is the classical Mantel–Haenszel test without continuity correction,
    for a single cohort ``(N - 1) / N`` times Pearson's chi-square. ``dof`` is the rank of
    the covariance, below S - 1 when a segment shares no cohort with another.
    Stratifying by cohort keeps a segment that was acquired mostly in good months from
    looking better merely for that (the pooled ``retention`` columns, in contrast, can
    differ through the cohort mix alone). Strata where only one segment has customers, or
    where everyone or no one is retained, carry no information (offset 0, where every
    member is active, has no test).

    The offsets are not independent samples (the same customers are counted at every
    offset), so their chi-squares are not summed. The overall p-value is the smallest
    Holm-adjusted p-value, i.e. ``min(1, m * min p)`` over the m offsets tested, which
    holds whatever the dependence between offsets.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({
    ...     "channel": ["web"] * 4 + ["store"] * 4,
    ...     "cohort": pd.PeriodIndex(["2024-01", "2024-01", "2024-02", "2024-02"] * 2, freq="M"),
    ...     "period": [0, 1] * 4,
    ...     "cohort_size": [200, 200, 100, 100, 150, 150, 120, 120],
    ...     "customers": [200, 60, 100, 35, 150, 60, 120, 54],
    ... })
    >>> result = compare_curves(long, "channel")
    >>> result[["period", "channel", "retention", "statistic", "dof", "p_value"]].round(3)
       period channel  retention  statistic  dof  p_value
    0       0   store      1.000        NaN    0      NaN
    1       0     web      1.000        NaN    0      NaN
    2       1   store      0.422      6.041    1    0.014
    3       1     web      0.317      6.041    1    0.014
    >>> round(result.attrs["overall_p_value"], 3)
    0.014
    """
    by_cols = as_list(by)
    if not by_cols:
        raise ValueError("compare_curves needs the segment column(s) in by=, e.g. by='channel'.")
    require_columns(
        long,
        [*by_cols, "cohort", "period", *_COUNTS],
        what="compare_curves: the cohort table",
        hint="Build it with retention.cohort_table(..., by=...).",
    )
    level = _check_level(level)
    customers = pd.to_numeric(long["customers"], errors="coerce")
    use = customers.notna()
    if "observed" in long.columns:
        use &= long["observed"].astype(bool)
    partial = (
        long["partial"].astype(bool) & use
        if "partial" in long.columns
        else pd.Series(False, index=long.index)
    )
    use &= ~partial
    cells = long.loc[use, [*by_cols, "cohort", "period", "cohort_size"]].assign(
        customers=customers[use].astype(np.float64)
    )
    segment = cells.groupby(by_cols, sort=True, dropna=False, observed=True).ngroup()
    n_segments = int(segment.max()) + 1 if len(cells) else 0
    if n_segments < 2:
        found = cells[by_cols].drop_duplicates().to_dict("records")
        raise ValueError(
            f"compare_curves needs at least two segments of {by_cols} with observed cells; "
            f"found {found}."
        )

    periods, period_code = np.unique(cells["period"].to_numpy(np.int64), return_inverse=True)
    cohort_code, _cohorts = pd.factorize(cells["cohort"])
    shape = (len(periods), len(_cohorts), n_segments)
    where = (period_code, cohort_code, segment.to_numpy())
    n, x = np.zeros(shape), np.zeros(shape)
    np.add.at(n, where, cells["cohort_size"].to_numpy(np.float64))
    np.add.at(x, where, cells["customers"].to_numpy())
    statistic, dof = _cmh(n, x)
    p_value = stats.chi2.sf(statistic, np.maximum(dof, 1))
    p_adjusted = _holm(p_value)

    out = (
        cells.groupby(["period", *by_cols], sort=True, dropna=False, observed=True)
        .agg(
            cohorts=("cohort", "size"),
            cohort_size=("cohort_size", "sum"),
            customers=("customers", "sum"),
        )
        .reset_index()
    )
    out["retention"] = out["customers"] / out["cohort_size"]
    out["retention_low"], out["retention_high"] = wilson_interval(
        out["customers"].to_numpy(), out["cohort_size"].to_numpy(), level
    )
    test = np.searchsorted(periods, out["period"].to_numpy(np.int64))
    out["statistic"] = statistic[test]
    out["dof"] = dof[test].astype(np.int64)
    out["p_value"] = p_value[test]
    out["p_adjusted"] = p_adjusted[test]
    tested = int(np.count_nonzero(~np.isnan(p_value)))
    out.attrs = {
        "by": by_cols,
        "level": level,
        "method": "cochran-mantel-haenszel",
        "overall_p_value": float(np.nanmin(p_adjusted)) if tested else None,
        "overall_method": "holm",
        "periods_tested": tested,
        "partial_cells_excluded": int(partial.sum()),
    }
    return out
