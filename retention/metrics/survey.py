"""Survey metrics with confidence intervals: NPS, CSAT, CSI and CES.

Every metric takes a column of raw answers (a list, NumPy array or pandas Series), checks it
and returns a frozen result object holding the value, the counts behind it, the number of
answers used, a confidence interval (``ci_low``, ``ci_high`` at ``level``) and the name of the
interval ``method``:

=============  ==========================================  ===============================
metric         value                                       interval
=============  ==========================================  ===============================
:func:`nps`    promoters (9-10) minus detractors (0-6),    adjusted Wald (default) or Wald
               in points, -100..100
:func:`csat`   share of the top boxes (4-5 of 1-5)         Wilson score (default) or Wald
:func:`csi`    importance-weighted mean rating, 0..100     seeded percentile bootstrap
:func:`ces`    mean effort score, and share agreeing       t (mean), Wilson (share)
               (5-7 of 1-7)
=============  ==========================================  ===============================

:func:`compare_nps` gives the difference of two NPS with its interval and a p-value, and
:func:`survey_metrics` computes any metric by segment and/or by period, one row per group.

Bad answers are refused before anything is computed: a score off the scale, a non-integer on
an integer scale or a non-number raises a :class:`ValueError` naming the argument (or column),
the number of answers affected and a few of them. Missing answers raise too, unless
``missing="drop"`` is passed: they are then left out and counted in ``n_missing``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from retention.checks import as_list, date_values, is_missing, is_real, is_whole, require_columns
from retention.metrics.confidence import wilson_bounds
from retention.periods import normalize_freq, period_codes, period_labels

__all__ = [
    "CESResult",
    "CSATResult",
    "CSIResult",
    "NPSComparison",
    "NPSResult",
    "ces",
    "compare_nps",
    "csat",
    "csi",
    "nps",
    "survey_metrics",
]

_EXAMPLES = 3
NPS_METHODS = ("adjusted-wald", "wald")
SHARE_METHODS = ("wilson", "wald")
MISSING_POLICIES = ("raise", "drop")
#: Pseudo-counts of the adjusted-Wald NPS interval (Rocks 2016): 3/4 added to promoters and to
#: detractors, 3 to the number of answers (so 3/2 to passives).
_ADJUST_EACH, _ADJUST_N = 0.75, 3.0


class _AsFloat:
    """``float(result)`` is the result's ``value``."""

    value: float

    def __float__(self) -> float:
        return float(self.value)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class NPSResult(_AsFloat):
    """Net Promoter Score of a set of 0-10 answers, with its confidence interval.

    Attributes
    ----------
    value : float
        NPS in points, ``100 * (promoters - detractors) / n``, from -100 to 100.
    ci_low, ci_high : float
        Bounds of the confidence interval, in points, within [-100, 100].
    level : float
        Confidence level of the interval (0.95 for 95 %).
    method : str
        ``"adjusted-wald"`` or ``"wald"`` (see :func:`nps`).
    standard_error : float
        Standard error the interval is built from, in points (of the adjusted estimate for
        the adjusted-Wald method).
    promoters, passives, detractors : int
        Answers scoring 9-10, 7-8 and 0-6.
    promoter_share, passive_share, detractor_share : float
        The same as fractions of ``n``.
    n : int
        Answers used (``promoters + passives + detractors``).
    n_missing : int
        Missing answers left out (``missing="drop"``); 0 otherwise.
    """

    value: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    standard_error: float
    promoters: int
    passives: int
    detractors: int
    promoter_share: float
    passive_share: float
    detractor_share: float
    n: int
    n_missing: int = 0

    @property
    def confidence(self) -> float:
        """The confidence level (older name of :attr:`level`)."""
        return self.level

    @property
    def n_excluded(self) -> int:
        """Missing answers left out (older name of :attr:`n_missing`)."""
        return self.n_missing


@dataclass(frozen=True)
class NPSComparison:
    """Difference between two Net Promoter Scores, ``b - a``, with interval and p-value.

    Attributes
    ----------
    difference : float
        ``b.value - a.value`` in points, from -200 to 200.
    ci_low, ci_high : float
        Confidence interval of the difference, in points.
    level : float
        Confidence level of the interval.
    method : str
        ``"adjusted-wald"`` or ``"wald"``: how each variance is estimated.
    standard_error : float
        ``sqrt(se_a^2 + se_b^2)`` in points.
    z : float
        Test statistic of "no difference": the (adjusted) difference over its standard error.
    p_value : float
        Two-sided p-value of ``z`` under the normal approximation.
    a, b : NPSResult
        The two scores compared.
    """

    difference: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    standard_error: float
    z: float
    p_value: float
    a: NPSResult
    b: NPSResult

    @property
    def value(self) -> float:
        """The difference (same as :attr:`difference`)."""
        return self.difference


@dataclass(frozen=True)
class CSATResult(_AsFloat):
    """Customer-satisfaction score: the share of answers in the top boxes.

    Attributes
    ----------
    value : float
        Share of satisfied answers, a fraction from 0 to 1.
    ci_low, ci_high : float
        Confidence interval of the share.
    level : float
        Confidence level of the interval.
    method : str
        ``"wilson"`` or ``"wald"``.
    satisfied : int
        Answers in the top boxes.
    n : int
        Answers used.
    n_missing : int
        Missing answers left out (``missing="drop"``); 0 otherwise.
    satisfied_scores : tuple of int
        The scores counted as satisfied, e.g. ``(4, 5)``.
    scale : (int, int)
        Lowest and highest possible score.
    """

    value: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    satisfied: int
    n: int
    n_missing: int
    satisfied_scores: tuple[int, ...]
    scale: tuple[int, int]


@dataclass(frozen=True)
class CSIResult(_AsFloat):
    """Customer-satisfaction index: the importance-weighted mean rating on a 0-100 scale.

    Attributes
    ----------
    value : float
        The index, from 0 (every rating at the bottom of the scale) to 100 (at the top).
    ci_low, ci_high : float
        Percentile-bootstrap confidence interval of the index.
    level : float
        Confidence level of the interval.
    method : str
        ``"bootstrap"`` (percentile bootstrap over respondents).
    n_boot : int
        Bootstrap resamples drawn.
    seed : int
        Seed of the resampling: the same answers and seed give the same interval.
    attributes : tuple
        The attributes rated (column names; ``("rating",)`` for one column of ratings).
    attribute_means : tuple of float
        Mean rating of each attribute (weighted by respondent weights if given).
    weights : tuple of float
        Importance weight of each attribute, normalised to sum to 1.
    n : int
        Respondents used.
    n_missing : int
        Respondents left out for a missing rating or importance (``missing="drop"``).
    scale : (int, int)
        Lowest and highest possible rating.
    """

    value: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    n_boot: int
    seed: int
    attributes: tuple[Hashable, ...]
    attribute_means: tuple[float, ...]
    weights: tuple[float, ...]
    n: int
    n_missing: int
    scale: tuple[int, int]


@dataclass(frozen=True)
class CESResult(_AsFloat):
    """Customer-effort score: the mean answer and the share agreeing, each with an interval.

    Attributes
    ----------
    value : float
        Mean score on the scale (1-7 by default); higher means less effort ("it was easy").
    ci_low, ci_high : float
        Student-t confidence interval of the mean, within the scale (NaN for one answer).
    level : float
        Confidence level of both intervals.
    method : str
        ``"t"``: the method of the interval of the mean.
    standard_deviation : float
        Sample standard deviation of the scores (``ddof=1``; NaN for one answer).
    agree_share : float
        Share of answers from ``agree_from`` up (5-7 of 1-7: "somewhat agree" or more).
    agree_ci_low, agree_ci_high : float
        Wilson score interval of ``agree_share``.
    agreeing : int
        Answers from ``agree_from`` up.
    n : int
        Answers used.
    n_missing : int
        Missing answers left out (``missing="drop"``); 0 otherwise.
    agree_from : int
        Lowest score counted as agreeing.
    scale : (int, int)
        Lowest and highest possible score.
    """

    value: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    standard_deviation: float
    agree_share: float
    agree_ci_low: float
    agree_ci_high: float
    agreeing: int
    n: int
    n_missing: int
    agree_from: int
    scale: tuple[int, int]


# --------------------------------------------------------------------------- input checks


class _Answers:
    """One column of answers read as floats (NaN where missing), with what messages need."""

    def __init__(self, scores: Any, name: str) -> None:
        if isinstance(scores, str | bytes) or np.ndim(scores) == 0:
            raise ValueError(f"{name} must be a sequence of answers; got {scores!r}.")
        if isinstance(scores, pd.DataFrame):
            raise ValueError(f"{name} must be one column of answers, not a DataFrame.")
        self.name = name
        self.by_label = isinstance(scores, pd.Series)
        if self.by_label:
            self.labels = scores.index.to_numpy()
            raw = scores.to_numpy(dtype=object)
        else:
            raw = np.asarray(scores)
            if raw.dtype.kind not in "iuf":
                raw = np.asarray(scores, dtype=object)
            self.labels = np.arange(raw.shape[0]) if raw.ndim else np.arange(0)
        if raw.ndim != 1:
            raise ValueError(
                f"{name} must be one-dimensional; got an array of shape {raw.shape}."
            )
        self.raw = raw
        if raw.dtype.kind in "iuf":
            self.values = raw.astype(float)
            self.missing = np.isnan(self.values)
        else:
            items = raw.tolist()
            self.missing = np.array([is_missing(v) for v in items], dtype=bool)
            non_numeric = np.array(
                [not (m or is_real(v)) for v, m in zip(items, self.missing, strict=True)],
                dtype=bool,
            )
            if non_numeric.any():
                raise ValueError(
                    f"{name} must be numbers; {int(non_numeric.sum())} answer(s) are not, "
                    f"e.g. {self.examples(non_numeric)}."
                )
            self.values = np.array(
                [np.nan if m else float(v) for v, m in zip(items, self.missing, strict=True)],
                dtype=float,
            )

    def __len__(self) -> int:
        return int(self.values.size)

    def examples(self, mask: np.ndarray) -> str:
        """``"11 at position 4, 7.5 at position 6"`` for the first few flagged answers."""
        shown = []
        for i in np.flatnonzero(mask)[:_EXAMPLES]:
            value = self.raw[i]
            value = value.item() if isinstance(value, np.generic) else value
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # [10, 11, 7.5] arrives as floats: show 11, not 11.0
            label = self.labels[i]
            label = label.item() if isinstance(label, np.generic) else label
            place = f"index {label!r}" if self.by_label else f"position {int(i)}"
            shown.append(f"{value!r} at {place}")
        return ", ".join(shown)

    def check_scale(self, low: float, high: float, whole: bool) -> None:
        """Refuse answers off ``low..high`` (and, with ``whole``, non-integers)."""
        with np.errstate(invalid="ignore"):
            values = self.values
            bad = ~self.missing & (~np.isfinite(values) | (values < low) | (values > high))
            if whole:
                bad |= ~self.missing & np.isfinite(values) & (values != np.round(values))
        if bad.any():
            kind = "whole numbers" if whole else "numbers"
            raise ValueError(
                f"{self.name} must be {kind} from {low:g} to {high:g}; {int(bad.sum())} "
                f"answer(s) are not, e.g. {self.examples(bad)}."
            )

    def check_missing(self, missing: str) -> None:
        """Refuse missing answers unless the policy is ``"drop"``."""
        if missing == "raise" and self.missing.any():
            raise ValueError(
                f"{self.name} has {int(self.missing.sum())} missing answer(s), e.g. "
                f"{self.examples(self.missing)}; pass missing='drop' to leave them out "
                "(the result counts them in n_missing)."
            )


def _read(
    scores: Any, name: str, low: float, high: float, *, whole: bool, missing: str
) -> tuple[np.ndarray, int]:
    """The valid answers (floats) and the number of missing ones, after every check."""
    answers = _Answers(scores, name)
    answers.check_scale(low, high, whole)
    answers.check_missing(missing)
    values = answers.values[~answers.missing]
    n_missing = int(answers.missing.sum())
    if values.size == 0:
        extra = f" after leaving out {n_missing} missing" if n_missing else ""
        raise ValueError(f"{name} has no answers{extra}.")
    return values, n_missing


def _check_level(level: Any) -> float:
    if not (is_real(level) and 0 < level < 1):
        raise ValueError(
            f"level must be a number strictly between 0 and 1 (0.95 for 95%); got {level!r}."
        )
    return float(level)


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return str(value)


def _check_scale(scale: Any) -> tuple[int, int]:
    """``5`` -> ``(1, 5)``; ``(0, 10)`` stays ``(0, 10)``."""
    if is_whole(scale) and scale >= 2:
        return 1, int(scale)
    ok = (
        isinstance(scale, Sequence)
        and not isinstance(scale, str)
        and len(scale) == 2
        and all(is_whole(v) for v in scale)
        and scale[0] < scale[1]
    )
    if not ok:
        raise ValueError(
            "scale must be the highest score of a scale starting at 1 (e.g. 5 for 1-5), or "
            f"(lowest, highest) whole numbers with lowest < highest, e.g. (0, 10); got {scale!r}."
        )
    return int(scale[0]), int(scale[1])


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


# --------------------------------------------------------------------------- intervals


def _nps_interval(
    promoters: Any, detractors: Any, n: Any, z: float, method: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centre, standard error, low and high bound (fractions, -1..1) for counts (vectorised).

    The bounds are clipped to [-1, 1] and widened, where needed, to include the observed
    score ``(promoters - detractors) / n``.
    """
    promoters, detractors, n = (np.asarray(a, dtype=float) for a in (promoters, detractors, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (promoters - detractors) / n
        if method == "adjusted-wald":
            size = n + _ADJUST_N
            p, d = (promoters + _ADJUST_EACH) / size, (detractors + _ADJUST_EACH) / size
        else:
            size = n
            p, d = promoters / size, detractors / size
        centre = p - d
        se = np.sqrt(np.maximum(p + d - centre**2, 0.0) / size)
    low = np.minimum(np.maximum(centre - z * se, -1.0), observed)
    high = np.maximum(np.minimum(centre + z * se, 1.0), observed)
    return centre, se, low, high


def _share_interval(
    k: Any, n: Any, z: float, method: str = "wilson"
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson (or Wald) interval of the share ``k / n``, within [0, 1] (vectorised)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if method != "wald":
        return wilson_bounds(k, n, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        half = z * np.sqrt(p * (1 - p) / n)
    return np.clip(p - half, 0.0, 1.0), np.clip(p + half, 0.0, 1.0)


# --------------------------------------------------------------------------- NPS


def _nps_result(values: np.ndarray, n_missing: int, level: float, method: str) -> NPSResult:
    n = int(values.size)
    promoters = int(np.count_nonzero(values >= 9))
    detractors = int(np.count_nonzero(values <= 6))
    passives = n - promoters - detractors
    _centre, se, low, high = _nps_interval(promoters, detractors, n, _z(level), method)
    value = 100.0 * (promoters - detractors) / n
    return NPSResult(
        value=value,
        ci_low=min(100.0 * float(low), value),  # min/max: the same rounding as value
        ci_high=max(100.0 * float(high), value),
        level=level,
        method=method,
        standard_error=100.0 * float(se),
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        promoter_share=promoters / n,
        passive_share=passives / n,
        detractor_share=detractors / n,
        n=n,
        n_missing=n_missing,
    )


def nps(
    scores: Any,
    *,
    level: float = 0.95,
    method: str = "adjusted-wald",
    missing: str = "raise",
    confidence: float | None = None,
    dropna: bool | None = None,
) -> NPSResult:
    """Net Promoter Score with a confidence interval.

    Answers to "How likely are you to recommend us?" on the 0-10 scale are grouped into
    **promoters (9-10), passives (7-8) and detractors (0-6)**. The score is the share of
    promoters minus the share of detractors, in points from -100 to 100:
    ``NPS = 100 * (P - D) / n``.

    The interval treats ``(P, passives, D)`` as a multinomial sample, for which
    ``Var(p - d) = (p + d - (p - d)^2) / n``:

    * ``"adjusted-wald"`` (default; Rocks 2016): add 3/4 to the promoters and to the detractors
      and 3 to ``n`` (``p' = (P + 0.75) / (n + 3)``, ``d' = (D + 0.75) / (n + 3)``), then take
      ``100 * (p' - d' +/- z * sqrt((p' + d' - (p' - d')^2) / (n + 3)))``. It keeps close to
      the nominal coverage from a few dozen answers and never has zero width.
    * ``"wald"``: the same with the raw shares, ``value +/- z * 100 * sqrt(Var(p - d))``;
      too narrow for small samples and scores near +/-100 (zero width when every answer is
      in one group).

    Bounds are clipped to [-100, 100]. The adjusted interval is centred on the shrunk
    estimate ``100 * (P - D) / (n + 3)``; in the rare case (one answer at 95 %, a few extreme
    answers at lower levels) where that leaves the observed score outside, the interval is
    widened to include it.

    Parameters
    ----------
    scores : array-like of int
        Whole-number answers from 0 to 10 (list, NumPy array or pandas Series).
    level : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.
    method : {"adjusted-wald", "wald"}, default "adjusted-wald"
        Interval method, see above.
    missing : {"raise", "drop"}, default "raise"
        What to do with missing answers (NaN, None, ``pd.NA``): refuse them, or leave them
        out and count them in ``n_missing``.
    confidence, dropna : optional
        Older spellings of ``level`` and of ``missing="drop"`` (``dropna=True``), still
        accepted.

    Returns
    -------
    NPSResult
        ``value``, ``ci_low``, ``ci_high``, ``level``, ``method``, ``standard_error``, the
        counts ``promoters``, ``passives``, ``detractors``, their shares, ``n`` and
        ``n_missing``.

    Raises
    ------
    ValueError
        If an answer is not a number, not a whole number from 0 to 10, or missing (unless
        ``missing="drop"``); if no answers are left; if ``level``, ``method`` or ``missing``
        is not one of the allowed values.

    See Also
    --------
    compare_nps : difference of two scores, with interval and p-value.
    survey_metrics : the score by segment and by period.

    References
    ----------
    B. Rocks, "Interval estimation for the 'net promoter score'", *The American
    Statistician* 70(4), 365-372 (2016).

    Examples
    --------
    5 promoters, 3 passives and 2 detractors out of 10: NPS = 50 - 20 = 30 points.

    >>> from retention.metrics.survey import nps
    >>> result = nps([10, 10, 9, 9, 9, 8, 7, 7, 3, 0])
    >>> result.value, result.promoters, result.passives, result.detractors
    (30.0, 5, 3, 2)

    Adjusted Wald by hand: ``p' = 5.75 / 13``, ``d' = 2.75 / 13``, centre ``3 / 13 = 0.2308``,
    ``Var = (8.5 / 13 - (3 / 13)^2) / 13 = 0.04620``, so ``23.08 +/- 1.96 * 21.49``:

    >>> round(result.ci_low, 1), round(result.ci_high, 1)
    (-19.1, 65.2)
    >>> wald = nps([10, 10, 9, 9, 9, 8, 7, 7, 3, 0], method="wald")  # 30 +/- 1.96 * 24.70
    >>> round(wald.ci_low, 1), round(wald.ci_high, 1)
    (-18.4, 78.4)
    >>> nps([10, 9, None, 0], missing="drop").n_missing
    1
    """
    if confidence is not None:
        level = confidence
    if dropna is not None:
        missing = "drop" if dropna else "raise"
    level = _check_level(level)
    method = _check_choice("method", method, NPS_METHODS)
    missing = _check_choice("missing", missing, MISSING_POLICIES)
    values, n_missing = _read(scores, "scores", 0, 10, whole=True, missing=missing)
    return _nps_result(values, n_missing, level, method)


def compare_nps(
    a: Any,
    b: Any,
    *,
    level: float = 0.95,
    method: str = "adjusted-wald",
    missing: str = "raise",
) -> NPSComparison:
    """Difference between the Net Promoter Scores of two independent groups, ``b - a``.

    ``difference = NPS(b) - NPS(a)`` in points (positive when ``b`` scores higher), e.g.
    ``a`` last quarter and ``b`` this quarter, or ``a`` a control and ``b`` a treatment.

    With each group's estimate and variance from :func:`nps` (adjusted: ``p' - d'`` and
    ``(p' + d' - (p' - d')^2) / (n + 3)``), the standard error of the difference is
    ``sqrt(Var_a + Var_b)`` and the interval is
    ``(centre_b - centre_a) +/- z * se``, in points, clipped to [-200, 200] and widened if
    needed to include the observed difference. The two-sided p-value of "no difference" is
    ``2 * (1 - Phi(|centre_b - centre_a| / se))`` (normal approximation).

    Parameters
    ----------
    a, b : array-like of int
        Whole-number answers from 0 to 10 of each group (see :func:`nps`).
    level : float, default 0.95
        Confidence level of the interval.
    method : {"adjusted-wald", "wald"}, default "adjusted-wald"
        How each group's estimate and variance are computed.
    missing : {"raise", "drop"}, default "raise"
        Missing answers: refuse them, or leave them out (counted in ``a.n_missing`` and
        ``b.n_missing``).

    Returns
    -------
    NPSComparison
        ``difference``, ``ci_low``, ``ci_high``, ``level``, ``method``, ``standard_error``,
        ``z``, ``p_value`` and the two :class:`NPSResult` ``a`` and ``b``.

    Raises
    ------
    ValueError
        As :func:`nps`, naming ``a`` or ``b``.

    Examples
    --------
    ``a``: 2 promoters, 4 passives, 4 detractors of 10 (NPS -20); ``b``: 6, 3 and 1 (NPS 50).
    Adjusted: ``a`` centre ``(2.75 - 4.75) / 13 = -0.1538``, ``Var_a = (7.5 / 13 - 0.1538^2)
    / 13 = 0.04256``; ``b`` centre ``5 / 13 = 0.3846``, ``Var_b = (8.5 / 13 - 0.3846^2) / 13
    = 0.03892``; ``se = sqrt(0.08148) = 0.2854``, ``z = 0.5385 / 0.2854 = 1.89``.

    >>> from retention.metrics.survey import compare_nps
    >>> a = [9, 10, 7, 8, 7, 8, 0, 5, 6, 3]
    >>> b = [9, 10, 9, 10, 9, 9, 7, 8, 8, 2]
    >>> result = compare_nps(a, b)
    >>> result.difference, round(result.standard_error, 2), round(result.z, 2)
    (70.0, 28.54, 1.89)
    >>> round(result.ci_low, 1), round(result.ci_high, 1), round(result.p_value, 3)
    (-2.1, 109.8, 0.059)
    """
    level = _check_level(level)
    method = _check_choice("method", method, NPS_METHODS)
    missing = _check_choice("missing", missing, MISSING_POLICIES)
    results = []
    centres = []
    variances = []
    for name, scores in (("a", a), ("b", b)):
        values, n_missing = _read(scores, name, 0, 10, whole=True, missing=missing)
        result = _nps_result(values, n_missing, level, method)
        centre, se, _low, _high = _nps_interval(
            result.promoters, result.detractors, result.n, 1.0, method
        )
        results.append(result)
        centres.append(100.0 * float(centre))
        variances.append((100.0 * float(se)) ** 2)
    first, second = results
    difference = second.value - first.value
    centre = centres[1] - centres[0]
    se = math.sqrt(variances[0] + variances[1])
    z = _z(level)
    if se > 0:
        z_stat = centre / se
        p_value = float(2 * stats.norm.sf(abs(z_stat)))
    else:  # Wald with every answer of both groups in one group: no sampling variation seen
        z_stat = 0.0 if centre == 0 else math.copysign(math.inf, centre)
        p_value = 1.0 if centre == 0 else 0.0
    low = min(max(centre - z * se, -200.0), difference)
    high = max(min(centre + z * se, 200.0), difference)
    return NPSComparison(
        difference=difference,
        ci_low=low,
        ci_high=high,
        level=level,
        method=method,
        standard_error=se,
        z=z_stat,
        p_value=p_value,
        a=first,
        b=second,
    )


# --------------------------------------------------------------------------- CSAT


def _satisfied_scores(
    satisfied: Collection[int] | None, top: Any, low: int, high: int
) -> tuple[int, ...]:
    if satisfied is None:
        if not (is_whole(top) and 1 <= top <= high - low):
            raise ValueError(
                f"top must be a whole number of boxes from 1 to {high - low} on a "
                f"{low}-{high} scale; got {top!r}."
            )
        return tuple(range(high - int(top) + 1, high + 1))
    try:
        wanted = list(satisfied)
    except TypeError:
        raise ValueError(
            f"satisfied must be a collection of scores, e.g. (4, 5); got {satisfied!r}."
        ) from None
    bad = [v for v in wanted if not (is_whole(v) and low <= v <= high)]
    if not wanted or bad:
        raise ValueError(
            f"satisfied must be a non-empty collection of whole-number scores from {low} to "
            f"{high}; got {satisfied!r}"
            + (f" ({len(bad)} off the scale, e.g. {bad[:_EXAMPLES]!r})." if bad else ".")
        )
    return tuple(sorted({int(v) for v in wanted}))


def _csat_result(
    values: np.ndarray,
    n_missing: int,
    level: float,
    method: str,
    boxes: tuple[int, ...],
    scale: tuple[int, int],
) -> CSATResult:
    n = int(values.size)
    k = int(np.count_nonzero(np.isin(values, np.asarray(boxes, dtype=float))))
    low, high = _share_interval(k, n, _z(level), method)
    return CSATResult(
        value=k / n,
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        method=method,
        satisfied=k,
        n=n,
        n_missing=n_missing,
        satisfied_scores=boxes,
        scale=scale,
    )


def csat(
    scores: Any,
    *,
    scale: int | tuple[int, int] = 5,
    top: int = 2,
    satisfied: Collection[int] | None = None,
    level: float = 0.95,
    method: str = "wilson",
    missing: str = "raise",
) -> CSATResult:
    """Customer-satisfaction score (CSAT): the share of answers in the top boxes.

    ``CSAT = (answers in the top `top` boxes) / n``, a fraction from 0 to 1 (shown as a
    percentage). The usual definition is the **top-2 box of a 1-5 scale**: 4 ("satisfied")
    and 5 ("very satisfied").

    The interval is the Wilson score interval of a binomial share ``p = k / n``:
    ``(p + z^2 / 2n  +/-  z * sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n)``. Unlike the
    Wald interval ``p +/- z sqrt(p (1 - p) / n)`` (``method="wald"``) it keeps its coverage
    for small samples and shares near 0 or 1, and always lies within [0, 1].

    Parameters
    ----------
    scores : array-like of int
        Whole-number answers on ``scale``.
    scale : int or (int, int), default 5
        Highest score of a scale starting at 1 (``5`` for 1-5), or ``(lowest, highest)``.
    top : int, default 2
        Number of top boxes counted as satisfied (2: 4 and 5 on 1-5).
    satisfied : collection of int, optional
        The scores counted as satisfied, instead of ``top`` (e.g. ``{5}``, ``range(8, 11)``).
    level : float, default 0.95
        Confidence level of the interval.
    method : {"wilson", "wald"}, default "wilson"
        Interval method.
    missing : {"raise", "drop"}, default "raise"
        Missing answers: refuse them, or leave them out and count them in ``n_missing``.

    Returns
    -------
    CSATResult
        ``value`` (the share), ``ci_low``, ``ci_high``, ``level``, ``method``, the count
        ``satisfied``, ``n``, ``n_missing``, ``satisfied_scores`` and ``scale``.

    Raises
    ------
    ValueError
        If an answer is missing (unless ``missing="drop"``), not a number or not a whole
        number on ``scale``; if ``top``, ``satisfied`` or ``scale`` are malformed.

    Examples
    --------
    5 of 8 answers are 4 or 5: CSAT = 62.5 %. Wilson at 95 % (``z^2 = 3.8415``): centre
    ``(0.625 + 0.2401) / 1.4802 = 0.5845``, half-width ``1.96 * sqrt(0.02930 + 0.01501) /
    1.4802 = 0.2786``:

    >>> from retention.metrics.survey import csat
    >>> result = csat([5, 4, 4, 3, 2, 5, 1, 4])
    >>> result.value, result.satisfied, result.n
    (0.625, 5, 8)
    >>> round(result.ci_low, 3), round(result.ci_high, 3)
    (0.306, 0.863)
    >>> csat([9, 10, 7, 8, 3], scale=(0, 10), satisfied=range(8, 11)).value
    0.6
    """
    level = _check_level(level)
    method = _check_choice("method", method, SHARE_METHODS)
    missing = _check_choice("missing", missing, MISSING_POLICIES)
    low, high = _check_scale(scale)
    boxes = _satisfied_scores(satisfied, top, low, high)
    values, n_missing = _read(scores, "scores", low, high, whole=True, missing=missing)
    return _csat_result(values, n_missing, level, method, boxes, (low, high))


# --------------------------------------------------------------------------- CES


def _ces_result(
    values: np.ndarray, n_missing: int, level: float, agree_from: int, scale: tuple[int, int]
) -> CESResult:
    n = int(values.size)
    mean = float(values.mean())
    if n > 1:
        sd = float(values.std(ddof=1))
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
        ci_low, ci_high = max(mean - half, scale[0]), min(mean + half, scale[1])
    else:
        sd = ci_low = ci_high = math.nan
    k = int(np.count_nonzero(values >= agree_from))
    agree_low, agree_high = _share_interval(k, n, _z(level))
    return CESResult(
        value=mean,
        ci_low=ci_low,
        ci_high=ci_high,
        level=level,
        method="t",
        standard_deviation=sd,
        agree_share=k / n,
        agree_ci_low=float(agree_low),
        agree_ci_high=float(agree_high),
        agreeing=k,
        n=n,
        n_missing=n_missing,
        agree_from=agree_from,
        scale=scale,
    )


def ces(
    scores: Any,
    *,
    scale: int | tuple[int, int] = 7,
    agree_from: int = 5,
    level: float = 0.95,
    missing: str = "raise",
) -> CESResult:
    """Customer-effort score (CES 2.0): mean agreement and share agreeing, with intervals.

    Answers to "The company made it easy for me to handle my issue" on a 1-7 agreement scale
    (1 = strongly disagree, 7 = strongly agree; **higher is better**). Two summaries:

    * ``value``: the mean score, with the Student-t interval
      ``mean +/- t(level, n - 1) * s / sqrt(n)`` (``s`` the sample standard deviation),
      clipped to the scale;
    * ``agree_share``: the share of answers from ``agree_from`` up (5-7: "somewhat agree",
      "agree", "strongly agree"), with the Wilson score interval (see :func:`csat`).

    Parameters
    ----------
    scores : array-like of int
        Whole-number answers on ``scale``.
    scale : int or (int, int), default 7
        Highest score of a scale starting at 1 (``7`` for 1-7), or ``(lowest, highest)``.
    agree_from : int, default 5
        Lowest score counted as agreeing.
    level : float, default 0.95
        Confidence level of both intervals.
    missing : {"raise", "drop"}, default "raise"
        Missing answers: refuse them, or leave them out and count them in ``n_missing``.

    Returns
    -------
    CESResult
        ``value`` (mean), ``ci_low``, ``ci_high``, ``level``, ``method``,
        ``standard_deviation``, ``agree_share``, ``agree_ci_low``, ``agree_ci_high``,
        ``agreeing``, ``n``, ``n_missing``, ``agree_from`` and ``scale``.

    Raises
    ------
    ValueError
        If an answer is missing (unless ``missing="drop"``), not a number or not a whole
        number on ``scale``; if ``agree_from`` is off the scale.

    Examples
    --------
    Mean of ``[7, 6, 5, 5, 3, 4]`` is 5, ``s = sqrt(10 / 5) = 1.414``, ``t(0.975, 5) =
    2.571``: ``5 +/- 2.571 * 1.414 / sqrt(6) = 5 +/- 1.484``. 4 of 6 answers are 5 or more.

    >>> from retention.metrics.survey import ces
    >>> result = ces([7, 6, 5, 5, 3, 4])
    >>> result.value, round(result.ci_low, 2), round(result.ci_high, 2)
    (5.0, 3.52, 6.48)
    >>> result.agreeing, round(result.agree_share, 3)
    (4, 0.667)
    >>> round(result.agree_ci_low, 3), round(result.agree_ci_high, 3)
    (0.3, 0.903)
    """
    level = _check_level(level)
    missing = _check_choice("missing", missing, MISSING_POLICIES)
    low, high = _check_scale(scale)
    if not (is_whole(agree_from) and low < agree_from <= high):
        raise ValueError(
            f"agree_from must be a whole-number score from {low + 1} to {high}; "
            f"got {agree_from!r}."
        )
    values, n_missing = _read(scores, "scores", low, high, whole=True, missing=missing)
    return _ces_result(values, n_missing, level, int(agree_from), (low, high))


# --------------------------------------------------------------------------- CSI


class _CSIData:
    """Ratings (n x k), respondent weights (n) and importance (fixed k, or n x k) of a CSI."""

    def __init__(
        self,
        ratings: Any,
        importance: Any,
        low: int,
        high: int,
        missing: str,
        name: str = "ratings",
        importance_name: str = "importance",
    ) -> None:
        two_d = isinstance(ratings, pd.DataFrame) or (
            not isinstance(ratings, pd.Series | str | bytes) and np.ndim(ratings) == 2
        )
        if two_d:
            frame = ratings if isinstance(ratings, pd.DataFrame) else pd.DataFrame(
                np.asarray(ratings)
            )
            if frame.shape[0] == 0 or frame.shape[1] == 0:
                raise ValueError(f"{name} has no ratings (shape {frame.shape}).")
            columns = [_Answers(frame[c], f"{name} column {c!r}") for c in frame.columns]
            self.attributes: tuple[Hashable, ...] = tuple(
                c.item() if isinstance(c, np.generic) else c for c in frame.columns
            )
        else:
            columns = [_Answers(ratings, name)]
            self.attributes = ("rating",)
            frame = None
        for column in columns:
            column.check_scale(low, high, whole=False)
        gone = np.zeros(len(columns[0]), dtype=bool)
        for column in columns:
            column.check_missing(missing)
            gone |= column.missing
        self.respondent_weights = np.ones(gone.size)
        self.fixed: np.ndarray | None = None
        self.per_respondent: np.ndarray | None = None
        if importance is None:
            self.fixed = np.ones(len(columns))
        elif frame is None:
            self.respondent_weights = _weight_vector(
                importance, gone.size, "answer", importance_name
            )
            self.fixed = np.ones(1)
        elif isinstance(importance, pd.DataFrame):
            self.per_respondent, missing_importance = _importance_frame(
                importance, frame, missing, importance_name
            )
            gone |= missing_importance
        else:
            if isinstance(importance, Mapping):
                known = list(frame.columns)
                absent = [c for c in known if c not in importance]
                unknown = [k for k in importance if k not in known]
                if absent or unknown:
                    raise ValueError(
                        f"{importance_name} must give one weight per column of {name}; "
                        + (f"missing for {absent[:_EXAMPLES]!r}" if absent else "")
                        + ("; " if absent and unknown else "")
                        + (f"unknown columns {unknown[:_EXAMPLES]!r}" if unknown else "")
                        + "."
                    )
                importance = [importance[c] for c in known]
            self.fixed = _weight_vector(importance, len(columns), "column", importance_name)
        keep = ~gone
        self.n_missing = int(gone.sum())
        self.ratings = np.column_stack([c.values[keep] for c in columns])
        self.respondent_weights = self.respondent_weights[keep]
        if self.per_respondent is not None:
            self.per_respondent = self.per_respondent[keep]
        self.n = int(keep.sum())
        if self.n == 0:
            extra = (
                f" after leaving out {self.n_missing} with missing answers" if gone.any() else ""
            )
            raise ValueError(f"{name} has no respondents{extra}.")
        if self.respondent_weights.sum() == 0:
            raise ValueError(f"{importance_name} are all zero; at least one must be positive.")
        if self.per_respondent is not None and not (self.per_respondent.sum(axis=0) > 0).any():
            raise ValueError(f"{importance_name} are all zero; at least one must be positive.")


def _weight_vector(weights: Any, size: int, what: str, name: str) -> np.ndarray:
    if isinstance(weights, Mapping):
        raise ValueError(
            f"{name} as a mapping (column -> weight) needs ratings with several columns "
            "(a DataFrame)."
        )
    w = np.asarray(weights.to_numpy() if isinstance(weights, pd.Series) else weights)
    if w.ndim != 1 or w.size != size:
        got = w.size if w.ndim == 1 else f"shape {w.shape}"
        raise ValueError(f"{name} must have one value per {what}: {size} {what}s, got {got}.")
    if w.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numbers; got dtype {w.dtype}.")
    w = w.astype(float)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        shown = ", ".join(repr(v) for v in w[bad][:_EXAMPLES].tolist())
        raise ValueError(
            f"{name} must be finite and non-negative; {int(bad.sum())} are not, e.g. {shown}."
        )
    if w.sum() == 0:
        raise ValueError(f"{name} are all zero; at least one must be positive.")
    return w


def _importance_frame(
    importance: pd.DataFrame, ratings: pd.DataFrame, missing: str, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-respondent importance ratings, aligned with the rating columns."""
    if importance.shape != ratings.shape:
        raise ValueError(
            f"{name} as a DataFrame must have one importance answer per rating: the ratings "
            f"have shape {ratings.shape}, {name} {importance.shape}."
        )
    if set(importance.columns) == set(ratings.columns):
        importance = importance[list(ratings.columns)]  # same names: match by name
    columns = [_Answers(importance[c], f"{name} column {c!r}") for c in importance.columns]
    gone = np.zeros(len(columns[0]), dtype=bool)
    for column in columns:
        with np.errstate(invalid="ignore"):
            bad = ~column.missing & (~np.isfinite(column.values) | (column.values < 0))
        if bad.any():
            raise ValueError(
                f"{column.name} must be finite and non-negative; {int(bad.sum())} answer(s) "
                f"are not, e.g. {column.examples(bad)}."
            )
        column.check_missing(missing)
        gone |= column.missing
    return np.column_stack([c.values for c in columns]), gone


def _csi_statistic(
    counts: np.ndarray, ratings: np.ndarray, s: np.ndarray, per: np.ndarray | None,
    fixed: np.ndarray | None,
) -> np.ndarray:
    """Weighted mean rating for each row of ``counts`` (how often each row of the data is
    drawn): ``ratings`` (m x k), respondent weights ``s`` (m), importance ``per`` (m x k) or
    ``fixed`` (k)."""
    cs = counts if (s == 1).all() else counts * s
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (cs @ ratings) / cs.sum(axis=1, keepdims=True)
        w = counts @ per if per is not None else np.broadcast_to(fixed, means.shape)
        return (w * means).sum(axis=1) / w.sum(axis=1)


def _csi_result(
    data: _CSIData, level: float, n_boot: int, seed: int, scale: tuple[int, int]
) -> CSIResult:
    low, high = scale

    def index(m: np.ndarray) -> np.ndarray:
        return np.clip(100.0 * (m - low) / (high - low), 0.0, 100.0)

    n, k = data.ratings.shape
    per = data.per_respondent
    rows = np.column_stack(
        [data.ratings, data.respondent_weights, *([per] if per is not None else [])]
    )
    # Respondents with identical answers are interchangeable in a resample: on a short
    # rating scale, drawing counts of the distinct answer patterns (multinomial with their
    # frequencies) is the same bootstrap and much faster than drawing n respondents.
    patterns, multiplicity = np.unique(rows, axis=0, return_counts=True)
    compress = patterns.shape[0] <= n // 4
    table = patterns if compress else rows
    args = (table[:, :k], table[:, k], table[:, k + 1 :] if per is not None else None, data.fixed)
    whole = (rows[:, :k], rows[:, k], rows[:, k + 1 :] if per is not None else None, data.fixed)
    value = float(index(_csi_statistic(np.ones((1, n)), *whole))[0])
    rng = np.random.default_rng(seed)
    m = table.shape[0]
    chunk = max(1, 2_000_000 // m)  # bounded memory: chunk x m counts at a time
    replicates = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        if compress:
            counts = rng.multinomial(n, multiplicity / n, size=size)
        else:  # how often each respondent is drawn in each resample of n with replacement
            draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
            counts = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
        replicates.append(_csi_statistic(counts.astype(float), *args))
    boot = index(np.concatenate(replicates))
    ci_low, ci_high = np.nanquantile(boot, [0.5 - level / 2, 0.5 + level / 2])
    s = data.respondent_weights
    means = (s @ data.ratings) / s.sum()
    w = data.per_respondent.mean(axis=0) if data.per_respondent is not None else data.fixed
    return CSIResult(
        value=value,
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        level=level,
        method="bootstrap",
        n_boot=n_boot,
        seed=seed,
        attributes=data.attributes,
        attribute_means=tuple(float(m) for m in means),
        weights=tuple(float(v) for v in w / w.sum()),
        n=data.n,
        n_missing=data.n_missing,
        scale=scale,
    )


def csi(
    ratings: Any,
    importance: Any = None,
    *,
    scale: int | tuple[int, int] = 5,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    missing: str = "raise",
    weights: Any = None,
) -> CSIResult:
    """Customer-satisfaction index: importance-weighted mean rating, rescaled to 0-100.

    Each respondent rates several attributes (product, delivery, price, ...) on ``scale``.
    With ``m_j`` the mean rating of attribute ``j`` and ``w_j`` its importance weight,

    ``CSI = 100 * (sum_j w_j m_j / sum_j w_j - lowest) / (highest - lowest)``

    so all ratings at the bottom of the scale give 0 and all at the top give 100. The weights
    are fixed (one per attribute), or the mean importance respondents gave each attribute
    (``importance`` as a DataFrame of importance ratings). Without ``importance`` every
    attribute counts equally. With one column of ratings, ``importance`` holds optional
    survey weights, one per respondent.

    The interval is a percentile bootstrap over respondents: ``n_boot`` resamples of the
    respondents with replacement (drawn with ``seed`` as counts per respondent, vectorised), the
    index recomputed on each (including per-respondent importance weights), and the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles taken. It needs a few dozen
    respondents to be trustworthy; the same answers and ``seed`` always give the same interval.

    Parameters
    ----------
    ratings : DataFrame, 2-D array or 1-D array-like
        One row per respondent, one column per attribute rated; or one rating per
        respondent. Ratings need not be whole numbers (averaged ratings are allowed).
    importance : sequence, mapping, DataFrame or 1-D array-like, optional
        Several attributes: one non-negative weight per column (a sequence in column order,
        or a mapping column -> weight), or a DataFrame of per-respondent importance answers of
        the same shape (matched by column name when the names are the same, by position
        otherwise). One column of ratings: one non-negative weight per respondent.
    scale : int or (int, int), default 5
        Highest rating of a scale starting at 1 (``5`` for 1-5), or ``(lowest, highest)``.
    level : float, default 0.95
        Confidence level of the interval.
    n_boot : int, default 2000
        Number of bootstrap resamples.
    seed : int, default 0
        Seed of the resampling.
    missing : {"raise", "drop"}, default "raise"
        Missing ratings or importance answers: refuse them, or leave out the respondents who
        have any and count them in ``n_missing``.
    weights : optional
        Older name of ``importance``, still accepted.

    Returns
    -------
    CSIResult
        ``value``, ``ci_low``, ``ci_high``, ``level``, ``method``, ``n_boot``, ``seed``,
        ``attributes``, ``attribute_means``, ``weights`` (normalised), ``n``, ``n_missing``
        and ``scale``.

    Raises
    ------
    ValueError
        If a rating is missing (unless ``missing="drop"``), not a number or off the scale; if
        the weights are missing, negative, all zero or do not match the ratings.

    Examples
    --------
    Price means 3, support means 14/3; weights 1 and 3 give ``(3 + 14) / 4 = 4.25`` on 1-5,
    i.e. ``100 * 3.25 / 4 = 81.25``:

    >>> import pandas as pd
    >>> from retention.metrics.survey import csi
    >>> ratings = pd.DataFrame({"price": [3, 2, 4], "support": [5, 4, 5]})
    >>> result = csi(ratings, {"price": 1, "support": 3})
    >>> result.value, result.weights
    (81.25, (0.25, 0.75))
    >>> csi([5, 4, 3, 4]).value  # mean 4 on 1-5
    75.0
    >>> result.ci_low <= result.value <= result.ci_high
    True
    """
    if weights is not None:
        if importance is not None:
            raise ValueError("pass importance or its older name weights, not both.")
        importance = weights
    level = _check_level(level)
    missing = _check_choice("missing", missing, MISSING_POLICIES)
    low, high = _check_scale(scale)
    if not (is_whole(n_boot) and n_boot >= 100):
        raise ValueError(f"n_boot must be a whole number of resamples >= 100; got {n_boot!r}.")
    if not (is_whole(seed) and seed >= 0):
        raise ValueError(f"seed must be a non-negative whole number; got {seed!r}.")
    data = _CSIData(ratings, importance, low, high, missing)
    return _csi_result(data, level, int(n_boot), int(seed), (low, high))


# --------------------------------------------------------------------------- by group and period

#: Columns of :func:`survey_metrics` after the group columns, per metric.
_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "nps": (
        "value", "ci_low", "ci_high", "n", "n_missing", "promoters", "passives", "detractors",
        "promoter_share", "passive_share", "detractor_share",
    ),
    "csat": ("value", "ci_low", "ci_high", "n", "n_missing", "satisfied"),
    "ces": (
        "value", "ci_low", "ci_high", "n", "n_missing", "agreeing", "agree_share",
        "agree_ci_low", "agree_ci_high",
    ),
    "csi": ("value", "ci_low", "ci_high", "n", "n_missing"),
}
_INT_COLUMNS = {"n", "n_missing", "promoters", "passives", "detractors", "satisfied", "agreeing"}
_DEFAULT_SCORE = {"nps": "nps", "csat": "csat", "ces": "ces"}


def survey_metrics(
    responses: pd.DataFrame,
    metric: str = "nps",
    *,
    score: str | Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    freq: str | None = None,
    date: str = "response_date",
    importance: str | Sequence[str] | Mapping[str, float] | None = None,
    level: float = 0.95,
    missing: str = "raise",
    **options: Any,
) -> pd.DataFrame:
    """A survey metric with its interval for each segment and/or period: one row per group.

    Parameters
    ----------
    responses : DataFrame
        One row per response.
    metric : {"nps", "csat", "ces", "csi"}, default "nps"
        Which metric (see :func:`nps`, :func:`csat`, :func:`ces`, :func:`csi`).
    score : str or list of str, optional
        Column of the answers; default ``"nps"``, ``"csat"`` or ``"ces"`` after the metric.
        For ``"csi"``, the list of attribute rating columns (required).
    by : str or list of str, optional
        Segment column(s): one row per combination seen in the data.
    freq : {"D", "W", "M", "Q"}, optional
        Also group by the period of ``date`` (a ``period`` column of :class:`pandas.Period`).
    date : str, default "response_date"
        Date column used with ``freq`` (parsed if it holds text).
    importance : list of str or mapping, optional
        ``"csi"`` only: the importance columns (one per rating column, in the same order) or
        a mapping rating column -> fixed weight.
    level : float, default 0.95
        Confidence level of the intervals.
    missing : {"raise", "drop"}, default "raise"
        Missing answers: refuse them (the message names the column, the count and the rows),
        or leave them out and count them per group in ``n_missing``.
    **options
        Passed to the metric: ``method`` (``nps``, ``csat``), ``scale``, ``top``,
        ``satisfied`` (``csat``), ``agree_from`` (``ces``), ``n_boot``, ``seed`` (``csi``).

    Returns
    -------
    DataFrame
        A ``RangeIndex``; the group columns (``by`` in order, then ``period``), sorted; then
        ``value``, ``ci_low``, ``ci_high``, ``n``, ``n_missing`` and the metric's counts:
        ``promoters``, ``passives``, ``detractors`` and their shares (NPS), ``satisfied``
        (CSAT), ``agreeing``, ``agree_share``, ``agree_ci_low``, ``agree_ci_high`` (CES).
        A group whose answers are all missing has ``n = 0`` and NaN values. ``attrs`` holds
        ``metric``, ``score``, ``by``, ``freq``, ``level`` and ``method`` (JSON-serialisable).

    Raises
    ------
    ValueError
        If a column is absent; if a group column or the date has missing values; if an
        answer is invalid (see the metric).

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.metrics.survey import survey_metrics
    >>> responses = pd.DataFrame({
    ...     "channel": ["email"] * 4 + ["social"] * 4,
    ...     "nps": [10, 9, 9, 6, 10, 7, 3, 0],
    ... })
    >>> table = survey_metrics(responses, "nps", by="channel")
    >>> table[["channel", "value", "n", "promoters", "detractors"]]
      channel  value  n  promoters  detractors
    0   email   50.0  4          3           1
    1  social  -25.0  4          1           2
    >>> table.attrs["method"]
    'adjusted-wald'
    """
    metric = _check_choice("metric", metric, tuple(_TABLE_COLUMNS))
    level = _check_level(level)
    missing = _check_choice("missing", missing, MISSING_POLICIES)
    known = {
        "nps": {"method"},
        "csat": {"method", "scale", "top", "satisfied"},
        "ces": {"scale", "agree_from"},
        "csi": {"scale", "n_boot", "seed"},
    }[metric]
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"survey_metrics(metric={metric!r}) does not take {unknown}; it takes "
            f"{sorted(known) or 'no other options'}."
        )
    if score is None:
        if metric == "csi":
            raise ValueError(
                "survey_metrics(metric='csi') needs score=[the attribute rating columns], "
                "e.g. score=['rating_product', 'rating_delivery', 'rating_price']."
            )
        score = _DEFAULT_SCORE[metric]
    scores = as_list(score)
    if metric != "csi" and len(scores) != 1:
        raise ValueError(f"score must be one column for metric={metric!r}; got {score!r}.")
    by_columns = as_list(by)
    importance_columns = (
        as_list(importance) if importance is not None and not isinstance(importance, Mapping)
        else []
    )
    if importance is not None and metric != "csi":
        raise ValueError(f"importance is for metric='csi' only; got metric={metric!r}.")
    require_columns(
        responses,
        what="responses",
        score=scores,
        by=by_columns,
        date=date if freq is not None else None,
        importance=importance_columns,
    )
    keys = pd.DataFrame(index=responses.index)
    for column in by_columns:
        absent = responses[column].isna().to_numpy()
        if absent.any():
            raise ValueError(
                f"column {column!r} (by=) has {int(absent.sum())} missing value(s), e.g. at "
                f"rows {list(responses.index[absent][:_EXAMPLES])}; fill them (e.g. with "
                "'unknown') so that those responses are counted."
            )
        keys[column] = responses[column].to_numpy()
    if freq is not None:
        freq = normalize_freq(freq)
        codes = period_codes(date_values(responses[date], date, parse=True), freq)
        keys["period"] = codes
    group_columns = list(keys.columns)

    # validate every answer once, over the whole table, so messages name the rows
    method = options.get("method")
    if metric == "csi":
        low, high = _check_scale(options.get("scale", 5))
        n_boot, seed = options.get("n_boot", 2000), options.get("seed", 0)
        if not (is_whole(n_boot) and n_boot >= 100):
            raise ValueError(f"n_boot must be a whole number of resamples >= 100; got {n_boot!r}.")
        if not (is_whole(seed) and seed >= 0):
            raise ValueError(f"seed must be a non-negative whole number; got {seed!r}.")
        ratings = responses[scores]
        weights: Any = (
            importance if isinstance(importance, Mapping)
            else responses[importance_columns]  # matched to the ratings by position
            if importance_columns else None
        )
        # checks only (whole table); each group is computed on its own rows below
        _CSIData(ratings, weights, low, high, missing, name="responses")
        method = "bootstrap"
    else:
        answers = _Answers(responses[scores[0]], f"column {scores[0]!r}")
        if metric == "nps":
            method = _check_choice("method", method or "adjusted-wald", NPS_METHODS)
            scale = (0, 10)
        elif metric == "csat":
            method = _check_choice("method", method or "wilson", SHARE_METHODS)
            scale = _check_scale(options.get("scale", 5))
            boxes = _satisfied_scores(options.get("satisfied"), options.get("top", 2), *scale)
        else:
            method = "t"
            scale = _check_scale(options.get("scale", 7))
            agree_from = options.get("agree_from", 5)
            if not (is_whole(agree_from) and scale[0] < agree_from <= scale[1]):
                raise ValueError(
                    f"agree_from must be a whole-number score from {scale[0] + 1} to "
                    f"{scale[1]}; got {agree_from!r}."
                )
        answers.check_scale(*scale, whole=True)
        answers.check_missing(missing)

    if group_columns:
        grouped = pd.Series(np.arange(len(keys))).groupby(
            [keys[c].to_numpy() for c in group_columns], sort=True
        )
        items = [(key, part.to_numpy()) for key, part in grouped]
    else:
        items = [((), np.arange(len(responses)))]
    rows = []
    for key, positions in items:
        key = key if isinstance(key, tuple) else (key,)
        if metric == "csi":
            part = ratings.iloc[positions]
            part_weights = (
                weights.iloc[positions] if isinstance(weights, pd.DataFrame) else weights
            )
            try:
                data = _CSIData(part, part_weights, low, high, "drop")
            except ValueError as error:  # every respondent of the group has a missing answer
                if "has no respondents" not in str(error):
                    raise
                row = dict.fromkeys(_TABLE_COLUMNS[metric], math.nan)
                row.update(n=0, n_missing=len(positions))
            else:
                row = _row(_csi_result(data, level, int(n_boot), int(seed), (low, high)), metric)
        else:
            gone = answers.missing[positions]
            values = answers.values[positions][~gone]
            if values.size == 0:
                row = dict.fromkeys(_TABLE_COLUMNS[metric], math.nan)
                row.update({c: 0 for c in _TABLE_COLUMNS[metric] if c in _INT_COLUMNS})
                row["n_missing"] = int(gone.sum())
            else:
                if metric == "nps":
                    result: Any = _nps_result(values, int(gone.sum()), level, method)
                elif metric == "csat":
                    result = _csat_result(values, int(gone.sum()), level, method, boxes, scale)
                else:
                    result = _ces_result(values, int(gone.sum()), level, int(agree_from), scale)
                row = _row(result, metric)
        rows.append({**dict(zip(group_columns, key, strict=True)), **row})
    table = pd.DataFrame(rows, columns=[*group_columns, *_TABLE_COLUMNS[metric]])
    for column in _TABLE_COLUMNS[metric]:
        table[column] = table[column].astype("int64" if column in _INT_COLUMNS else "float64")
    if freq is not None:
        table["period"] = period_labels(table["period"].to_numpy(dtype=np.int64), freq)
    for column in by_columns:
        table[column] = table[column].astype(responses[column].dtype)
    table.attrs = {
        "metric": metric,
        "score": scores if metric == "csi" else scores[0],
        "by": by_columns,
        "freq": freq,
        "level": level,
        "method": method,
    }
    return table


def _row(result: Any, metric: str) -> dict[str, Any]:
    names = {f.name for f in fields(result)}
    return {c: getattr(result, c) for c in _TABLE_COLUMNS[metric] if c in names}
