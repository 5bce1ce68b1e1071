"""Survey metrics: Net Promoter Score, customer satisfaction (CSAT) and a satisfaction index.

Each function takes the raw responses (a list, NumPy array or pandas Series) and checks them
before computing anything: a response outside the scale, a non-number or a missing answer
raises a :class:`ValueError` that says how many responses are affected and shows a few.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from retention.checks import is_missing, is_real, is_whole

__all__ = ["NPSResult", "csat", "csi", "nps"]

_EXAMPLES = 3


@dataclass(frozen=True)
class NPSResult:
    """Net Promoter Score of a set of 0-10 responses, with its confidence interval.

    Attributes
    ----------
    value : float
        NPS in points, ``100 * (promoters - detractors) / n``, between -100 and 100.
    ci_low, ci_high : float
        Bounds of the confidence interval, in points, clipped to [-100, 100].
    confidence : float
        Confidence level of the interval (0.95 for 95%).
    standard_error : float
        Standard error of ``value``, in points.
    promoters, passives, detractors : int
        Responses scoring 9-10, 7-8 and 0-6.
    n : int
        Responses used (``promoters + passives + detractors``).
    n_excluded : int
        Missing responses left out because ``dropna=True`` was passed (0 otherwise).
    """

    value: float
    ci_low: float
    ci_high: float
    confidence: float
    standard_error: float
    promoters: int
    passives: int
    detractors: int
    n: int
    n_excluded: int = 0


# --------------------------------------------------------------------------- input checks


def _where(labels: np.ndarray, values: np.ndarray, mask: np.ndarray, by_label: bool) -> str:
    """``"11 at position 4, 7.5 at position 6"`` for the first few flagged entries."""
    shown = []
    for i in np.flatnonzero(mask)[:_EXAMPLES]:
        value = values[i]
        value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a list like [10, 11, 7.5] arrives as floats; show 11, not 11.0
        label = labels[i].item() if isinstance(labels[i], np.generic) else labels[i]
        place = f"index {label!r}" if by_label else f"position {int(i)}"
        shown.append(f"{value!r} at {place}")
    return ", ".join(shown)


def _responses(
    scores: Any,
    *,
    name: str,
    low: float,
    high: float,
    whole: bool,
    dropna: bool = False,
    dropna_hint: str = "",
) -> tuple[np.ndarray, int]:
    """Validate one-dimensional responses on the scale ``low..high``.

    Returns the kept responses as floats and the number of missing ones dropped.
    """
    if isinstance(scores, str | bytes) or np.ndim(scores) == 0:
        raise ValueError(f"{name} must be a sequence of responses; got {scores!r}.")
    if isinstance(scores, pd.DataFrame):
        raise ValueError(f"{name} must be one column of responses, not a DataFrame.")
    by_label = isinstance(scores, pd.Series)
    if by_label:
        labels = scores.index.to_numpy()
        raw = scores.to_numpy(dtype=object)
    else:
        raw = np.asarray(scores)
        if raw.dtype.kind not in "iuf":
            raw = np.asarray(scores, dtype=object)
        labels = np.arange(raw.shape[0]) if raw.ndim else np.arange(0)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got an array of shape {raw.shape}.")
    if raw.dtype.kind in "iuf":
        values = raw.astype(float)
        missing = np.isnan(values)
    else:
        items = raw.tolist()
        missing = np.array([is_missing(v) for v in items], dtype=bool)
        non_numeric = np.array(
            [not (m or is_real(v)) for v, m in zip(items, missing, strict=True)], dtype=bool
        )
        if non_numeric.any():
            raise ValueError(
                f"{name} must be numbers; {int(non_numeric.sum())} response(s) are not, "
                f"e.g. {_where(labels, raw, non_numeric, by_label)}."
            )
        values = np.array([np.nan if m else float(v) for v, m in zip(items, missing, strict=True)])
    n_missing = int(missing.sum())
    if n_missing and not dropna:
        raise ValueError(
            f"{name} has {n_missing} missing response(s), "
            f"e.g. {_where(labels, raw, missing, by_label)}; {dropna_hint}"
        )
    with np.errstate(invalid="ignore"):
        bad = ~missing & (~np.isfinite(values) | (values < low) | (values > high))
        if whole:
            bad |= ~missing & (values != np.round(values))
    if bad.any():
        kind = "whole numbers" if whole else "numbers"
        raise ValueError(
            f"{name} must be {kind} from {low:g} to {high:g}; {int(bad.sum())} response(s) are "
            f"not, e.g. {_where(labels, raw, bad, by_label)}."
        )
    values = values[~missing]
    if values.size == 0:
        extra = f" after excluding {n_missing} missing" if n_missing else ""
        raise ValueError(f"{name} has no responses{extra}.")
    return values, n_missing


def _check_scale(scale: Any) -> tuple[int, int]:
    ok = (
        isinstance(scale, Sequence)
        and len(scale) == 2
        and all(is_whole(v) for v in scale)
        and scale[0] < scale[1]
    )
    if not ok:
        raise ValueError(
            f"scale must be (lowest, highest) whole-number scores with lowest < highest, "
            f"e.g. (1, 5); got {scale!r}."
        )
    return int(scale[0]), int(scale[1])


# --------------------------------------------------------------------------- metrics


def nps(scores: Any, *, confidence: float = 0.95, dropna: bool = False) -> NPSResult:
    """Net Promoter Score with a confidence interval.

    Responses to "How likely are you to recommend us?" on the 0-10 scale are grouped into
    promoters (9-10), passives (7-8) and detractors (0-6). The score is the share of
    promoters minus the share of detractors, in points: ``NPS = 100 * (P - D) / n``.

    The interval is the normal (Wald) interval of a difference of two multinomial
    proportions: with ``p = P / n`` and ``d = D / n``,
    ``Var(p - d) = (p + d - (p - d)^2) / n``, and the bounds ``value +/- z * 100 * sqrt(Var)``
    are clipped to [-100, 100]. It is adequate from a few dozen responses; with very few, or
    when every response is in one group (zero variance, a zero-width interval), treat it as
    indicative only.

    Parameters
    ----------
    scores : array-like of int
        Whole-number responses from 0 to 10 (list, NumPy array or pandas Series).
    confidence : float, default 0.95
        Confidence level of the interval, strictly between 0 and 1.
    dropna : bool, default False
        Exclude missing responses (NaN, None, ``pd.NA``) instead of raising; the number
        excluded is reported as ``n_excluded``.

    Returns
    -------
    NPSResult
        ``value``, ``ci_low``, ``ci_high``, ``confidence``, ``standard_error``, the counts
        ``promoters``, ``passives``, ``detractors``, ``n`` and ``n_excluded``.

    Raises
    ------
    ValueError
        If a response is not a number, not a whole number from 0 to 10, or missing (unless
        ``dropna=True``); if there are no responses; if ``confidence`` is not in (0, 1).

    Examples
    --------
    >>> from retention.metrics.survey import nps
    >>> result = nps([10, 10, 9, 9, 9, 8, 7, 7, 3, 0])
    >>> result.value, result.promoters, result.passives, result.detractors
    (30.0, 5, 3, 2)
    >>> round(result.ci_low, 1), round(result.ci_high, 1)
    (-18.4, 78.4)
    """
    if not (is_real(confidence) and 0 < confidence < 1):
        raise ValueError(
            f"confidence must be a number strictly between 0 and 1 (0.95 for 95%); "
            f"got {confidence!r}."
        )
    values, n_excluded = _responses(
        scores,
        name="scores",
        low=0,
        high=10,
        whole=True,
        dropna=dropna,
        dropna_hint="pass dropna=True to exclude them (the result reports how many).",
    )
    n = int(values.size)
    promoters = int(np.count_nonzero(values >= 9))
    detractors = int(np.count_nonzero(values <= 6))
    passives = n - promoters - detractors
    p, d = promoters / n, detractors / n
    variance = max(p + d - (p - d) ** 2, 0.0) / n
    se = 100.0 * float(np.sqrt(variance))
    value = 100.0 * (promoters - detractors) / n
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return NPSResult(
        value=value,
        ci_low=max(value - z * se, -100.0),
        ci_high=min(value + z * se, 100.0),
        confidence=float(confidence),
        standard_error=se,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        n=n,
        n_excluded=n_excluded,
    )


_MISSING_HINT = (
    "drop or impute them first (for a Series: scores.dropna()) so the exclusion is explicit."
)


def csat(
    scores: Any,
    *,
    satisfied: Collection[int] = (4, 5),
    scale: tuple[int, int] = (1, 5),
) -> float:
    """Customer-satisfaction score (CSAT): the share of satisfied responses.

    ``CSAT = (responses whose score is in satisfied) / (all responses)``, a fraction between
    0 and 1 (format it as a percentage for display). The usual definition counts the top two
    boxes of a 1-5 scale, 4 ("satisfied") and 5 ("very satisfied").

    Parameters
    ----------
    scores : array-like of int
        Whole-number responses on ``scale``. Missing responses are an error: drop them
        explicitly first.
    satisfied : collection of int, default (4, 5)
        The score values counted as satisfied: a set of values, not a range (use
        ``range(8, 11)`` for 8, 9 and 10). Each must lie on ``scale``.
    scale : (int, int), default (1, 5)
        Lowest and highest possible score.

    Returns
    -------
    float
        Share of satisfied responses.

    Raises
    ------
    ValueError
        If a response is missing, not a number or not a whole number on ``scale``; if
        ``satisfied`` is empty or has values off the scale; if ``scale`` is malformed.

    Examples
    --------
    >>> from retention.metrics.survey import csat
    >>> csat([5, 4, 4, 3, 2, 5, 1, 4])
    0.625
    >>> csat([9, 10, 7, 8, 3], satisfied=range(8, 11), scale=(0, 10))
    0.6
    """
    low, high = _check_scale(scale)
    try:
        wanted = list(satisfied)
    except TypeError:
        raise ValueError(
            f"satisfied must be a collection of scores, e.g. (4, 5); got {satisfied!r}."
        ) from None
    bad = [
        v
        for v in wanted
        if not (is_whole(v) and low <= v <= high)
    ]
    if not wanted or bad:
        raise ValueError(
            f"satisfied must be a non-empty collection of whole-number scores from {low} to "
            f"{high}; got {satisfied!r}"
            + (f" ({len(bad)} off the scale, e.g. {bad[:_EXAMPLES]!r})." if bad else ".")
        )
    values, _ = _responses(
        scores, name="scores", low=low, high=high, whole=True, dropna_hint=_MISSING_HINT
    )
    return float(np.isin(values, np.asarray(wanted, dtype=float)).mean())


def csi(
    scores: Any,
    weights: Sequence[float] | Mapping[Any, float] | np.ndarray | pd.Series | None = None,
    scale: tuple[int, int] = (1, 5),
) -> float:
    """Customer-satisfaction index: weighted mean satisfaction rescaled to 0-100.

    ``CSI = 100 * (m - lowest) / (highest - lowest)``, where ``m`` is a weighted mean score,
    so the lowest possible score maps to 0 and the highest to 100:

    * one-dimensional ``scores`` (one rating per respondent): ``m`` is the mean rating,
      weighted by ``weights``, one non-negative weight per respondent (e.g. survey weights);
    * two-dimensional ``scores`` (a DataFrame or array, one row per respondent and one column
      per attribute rated: price, delivery, support, ...): ``m = sum_j w_j m_j / sum_j w_j``,
      the importance-weighted mean of the attribute means ``m_j``, with one non-negative
      importance weight per column.

    Without ``weights`` every respondent (or attribute) counts equally.

    Parameters
    ----------
    scores : array-like or DataFrame
        Ratings on ``scale``; they need not be whole numbers (averaged ratings are allowed).
        Missing ratings are an error: drop or impute them first.
    weights : sequence of float or mapping, optional
        One-dimensional ``scores``: one weight per response. Two-dimensional: one weight per
        column, as a sequence in column order or, for a DataFrame, a mapping from column
        name to weight covering every column.
    scale : (int, int), default (1, 5)
        Lowest and highest possible score.

    Returns
    -------
    float
        The index, between 0 and 100.

    Raises
    ------
    ValueError
        If a rating is missing, not a number or off the scale; if the weights are missing,
        negative, all zero or do not match the responses or columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.metrics.survey import csi
    >>> csi([5, 4, 3, 4])
    75.0
    >>> ratings = pd.DataFrame({"price": [3, 2, 4], "support": [5, 4, 5]})
    >>> round(csi(ratings, weights={"price": 1, "support": 3}), 2)
    81.25
    """
    low, high = _check_scale(scale)
    two_d = isinstance(scores, pd.DataFrame) or (
        not isinstance(scores, pd.Series | str | bytes) and np.ndim(scores) == 2
    )
    if not two_d:
        values, _ = _responses(
            scores, name="scores", low=low, high=high, whole=False, dropna_hint=_MISSING_HINT
        )
        w = _weights(weights, size=values.size, what="responses")
        mean = float(np.sum(w * values) / np.sum(w))
    else:
        frame = scores if isinstance(scores, pd.DataFrame) else pd.DataFrame(np.asarray(scores))
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            raise ValueError(f"scores has no ratings (shape {frame.shape}).")
        means = []
        for column in frame.columns:
            values, _ = _responses(
                frame[column],
                name=f"scores column {column!r}",
                low=low,
                high=high,
                whole=False,
                dropna_hint=_MISSING_HINT,
            )
            means.append(values.mean())
        if isinstance(weights, Mapping):
            columns = list(frame.columns)
            missing = [c for c in columns if c not in weights]
            unknown = [k for k in weights if k not in columns]
            if missing or unknown:
                raise ValueError(
                    "weights must give one weight per column of scores; "
                    + (f"missing for {missing[:_EXAMPLES]!r}" if missing else "")
                    + ("; " if missing and unknown else "")
                    + (f"unknown columns {unknown[:_EXAMPLES]!r}" if unknown else "")
                    + "."
                )
            weights = [weights[c] for c in columns]
        w = _weights(weights, size=len(means), what="columns")
        mean = float(np.sum(w * np.asarray(means)) / np.sum(w))
    return 100.0 * (mean - low) / (high - low)


def _weights(weights: Any, *, size: int, what: str) -> np.ndarray:
    if weights is None:
        return np.ones(size)
    if isinstance(weights, Mapping):
        raise ValueError(
            "weights as a mapping (column -> weight) needs two-dimensional scores (a DataFrame)."
        )
    w = np.asarray(weights.to_numpy() if isinstance(weights, pd.Series) else weights)
    if w.ndim != 1 or w.size != size:
        raise ValueError(
            f"weights must have one value per {what[:-1]}: {size} {what}, got "
            f"{w.size if w.ndim == 1 else f'shape {w.shape}'}."
        )
    if w.dtype.kind not in "iuf":
        raise ValueError(f"weights must be numbers; got dtype {w.dtype}.")
    w = w.astype(float)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        shown = ", ".join(repr(v) for v in w[bad][:_EXAMPLES].tolist())
        raise ValueError(
            f"weights must be finite and non-negative; {int(bad.sum())} are not, e.g. {shown}."
        )
    if w.sum() == 0:
        raise ValueError("weights are all zero; at least one must be positive.")
    return w
