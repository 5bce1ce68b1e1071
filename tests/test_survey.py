"""Tests of the survey metrics (retention.metrics.survey)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.metrics.survey import NPSResult, csat, csi, nps

# 5 promoters (9, 10), 3 passives (7, 8), 2 detractors (0..6): NPS = 50% - 20% = 30.
TEN = [10, 10, 9, 9, 9, 8, 7, 7, 3, 0]


def _wald_interval(p: float, d: float, n: int, z: float) -> tuple[float, float]:
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / n)
    value = 100 * (p - d)
    return max(value - z * se, -100.0), min(value + z * se, 100.0)


# --------------------------------------------------------------------------- NPS


def test_nps_hand_computed_example() -> None:
    result = nps(TEN)
    assert isinstance(result, NPSResult)
    assert result.value == 30.0
    assert (result.promoters, result.passives, result.detractors, result.n) == (5, 3, 2, 10)
    assert result.n_excluded == 0
    assert result.confidence == 0.95
    # Var(p - d) = (0.5 + 0.2 - 0.3^2) / 10 = 0.061; z(97.5%) = 1.959964.
    assert result.standard_error == pytest.approx(100 * math.sqrt(0.061))
    assert result.ci_low == pytest.approx(30 - 1.959964 * 100 * math.sqrt(0.061), abs=1e-4)
    assert result.ci_high == pytest.approx(30 + 1.959964 * 100 * math.sqrt(0.061), abs=1e-4)
    assert round(result.ci_low, 2) == -18.41 and round(result.ci_high, 2) == 78.41


def test_nps_result_is_frozen() -> None:
    result = nps(TEN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 0.0  # type: ignore[misc]


def test_nps_boundaries_of_the_groups() -> None:
    result = nps(list(range(11)))  # 0..6 detract, 7..8 passive, 9..10 promote
    assert (result.detractors, result.passives, result.promoters) == (7, 2, 2)
    assert result.value == pytest.approx(100 * (2 - 7) / 11)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.99])
def test_nps_interval_matches_direct_computation(confidence: float) -> None:
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 11, size=537)
    result = nps(scores, confidence=confidence)
    n = scores.size
    p = np.count_nonzero(scores >= 9) / n
    d = np.count_nonzero(scores <= 6) / n
    z = {0.8: 1.2815515655446004, 0.9: 1.6448536269514722, 0.99: 2.5758293035489004}[confidence]
    low, high = _wald_interval(p, d, n, z)
    assert result.value == pytest.approx(100 * (p - d))
    assert result.ci_low == pytest.approx(low)
    assert result.ci_high == pytest.approx(high)
    assert result.confidence == confidence


def test_nps_interval_is_clipped_and_narrows_with_sample_size() -> None:
    nearly_all = nps([10] * 9 + [8])  # 90 points, upper bound 90 + 18.6 clipped to 100
    assert nearly_all.value == 90.0 and nearly_all.ci_high == 100.0
    assert nearly_all.ci_low == pytest.approx(_wald_interval(0.9, 0.0, 10, 1.959964)[0], abs=1e-4)
    unanimous = nps([0, 0, 0])
    assert (unanimous.value, unanimous.ci_low, unanimous.ci_high) == (-100.0, -100.0, -100.0)
    small, large = nps(TEN), nps(TEN * 100)
    assert small.value == large.value
    assert large.ci_high - large.ci_low == pytest.approx((small.ci_high - small.ci_low) / 10)


def test_nps_accepts_arrays_and_series() -> None:
    expected = nps(TEN)
    assert nps(np.array(TEN)) == expected
    assert nps(np.array(TEN, dtype=float)) == expected
    assert nps(pd.Series(TEN, index=[f"r{i}" for i in range(10)])) == expected
    assert nps(pd.Series(TEN, dtype="Int64")) == expected
    assert nps(tuple(TEN)) == expected


def test_nps_dropna_reports_exclusions() -> None:
    scores = pd.Series([*TEN, None, np.nan], dtype="Float64")
    result = nps(scores, dropna=True)
    assert result.n == 10 and result.n_excluded == 2 and result.value == 30.0
    mixed = nps([*TEN, None, float("nan"), pd.NA], dropna=True)
    assert mixed.n_excluded == 3 and mixed.value == 30.0


@pytest.mark.parametrize(
    ("scores", "kwargs", "message"),
    [
        (
            [10, 11, 7.5, -1, 8],
            {},
            r"whole numbers from 0 to 10; 3 response\(s\).*11 at position 1",
        ),
        ([9, float("inf")], {}, r"whole numbers from 0 to 10; 1 response\(s\).*inf at position 1"),
        ([9, float("nan"), None], {}, r"2 missing response\(s\).*position 1.*dropna=True"),
        (pd.Series([9, None], index=["a", "b"], dtype="Int64"), {}, r"1 missing.*index 'b'"),
        ([9, "ten", "10"], {}, r"must be numbers; 2 response\(s\).*'ten' at position 1"),
        ([True, False], {}, r"must be numbers; 2 response"),
        ([], {}, r"no responses"),
        ([None, None], {"dropna": True}, r"no responses after excluding 2 missing"),
        (7, {}, r"sequence of responses"),
        ("9 10", {}, r"sequence of responses"),
        ([[9, 10], [8, 7]], {}, r"one-dimensional"),
        (pd.DataFrame({"q": [9, 10]}), {}, r"not a DataFrame"),
        (TEN, {"confidence": 95}, r"confidence must be .* between 0 and 1.*got 95"),
        (TEN, {"confidence": 1.0}, r"confidence must be"),
    ],
)
def test_nps_rejects_bad_input(scores: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nps(scores, **kwargs)


@settings(max_examples=200, deadline=None)
@given(
    scores=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=300),
    confidence=st.floats(min_value=0.5, max_value=0.999),
)
def test_nps_properties(scores: list[int], confidence: float) -> None:
    result = nps(scores, confidence=confidence)
    assert result.promoters + result.passives + result.detractors == result.n == len(scores)
    assert -100 <= result.ci_low <= result.value <= result.ci_high <= 100
    assert result.value == pytest.approx(100 * (result.promoters - result.detractors) / result.n)
    # Adding passives only dilutes: same sign, smaller or equal magnitude.
    diluted = nps([*scores, 8], confidence=confidence)
    assert abs(diluted.value) <= abs(result.value) and diluted.value * result.value >= 0


# --------------------------------------------------------------------------- CSAT


def test_csat_hand_computed() -> None:
    assert csat([5, 4, 4, 3, 2, 5, 1, 4]) == 5 / 8
    assert csat([1, 2, 3]) == 0.0
    assert csat([4, 5]) == 1.0
    assert csat([5, 4, 4, 3], satisfied=(5,)) == 0.25
    assert csat([9, 10, 7, 8, 3], satisfied=range(8, 11), scale=(0, 10)) == 3 / 5
    assert csat(pd.Series([7, 6, 5], dtype="Int64"), satisfied={6, 7}, scale=(1, 7)) == 2 / 3


@pytest.mark.parametrize(
    ("scores", "kwargs", "message"),
    [
        ([1, 2, 6, 0], {}, r"whole numbers from 1 to 5; 2 response\(s\).*6 at position 2"),
        ([1, 2.5], {}, r"whole numbers from 1 to 5; 1 response"),
        ([1, None], {}, r"1 missing response\(s\).*dropna\(\)"),
        ([1, "5"], {}, r"must be numbers"),
        ([1, 2], {"satisfied": (5, 6)}, r"satisfied must be .* from 1 to 5.*1 off the scale"),
        ([1, 2], {"satisfied": ()}, r"satisfied must be a non-empty"),
        ([1, 2], {"satisfied": 5}, r"satisfied must be a collection"),
        ([1, 2], {"scale": (5, 1)}, r"scale must be \(lowest, highest\)"),
        ([1, 2], {"scale": (1, 5.5)}, r"scale must be"),
    ],
)
def test_csat_rejects_bad_input(scores: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        csat(scores, **kwargs)


# --------------------------------------------------------------------------- CSI


def test_csi_one_dimensional() -> None:
    assert csi([5, 4, 3, 4]) == 75.0  # mean 4 on 1..5 -> (4 - 1) / 4
    assert csi([1, 1]) == 0.0
    assert csi([5, 5]) == 100.0
    assert csi([7, 1], scale=(1, 7)) == 50.0
    # Survey weights: (5 * 3 + 1 * 1) / 4 = 4 -> 75.
    assert csi([5, 1], weights=[3, 1]) == 75.0
    assert csi([4.5, 3.5]) == 75.0  # averaged ratings are allowed


def test_csi_importance_weighted_attributes() -> None:
    ratings = pd.DataFrame({"price": [3, 2, 4], "support": [5, 4, 5]})
    # Attribute means 3 and 14/3; weights 1 and 3 -> (3 + 14) / 4 = 4.25 -> 100 * 3.25 / 4.
    assert csi(ratings, weights={"price": 1, "support": 3}) == pytest.approx(81.25)
    assert csi(ratings, weights=[1, 3]) == pytest.approx(81.25)
    assert csi(ratings.to_numpy(), weights=[1, 3]) == pytest.approx(81.25)
    # Equal weights: mean of attribute means (3 + 14/3) / 2.
    assert csi(ratings) == pytest.approx(100 * ((3 + 14 / 3) / 2 - 1) / 4)


@pytest.mark.parametrize(
    ("scores", "kwargs", "message"),
    [
        ([1, 2.5, 6], {}, r"numbers from 1 to 5; 1 response\(s\).*6 at position 2"),
        ([1, float("nan")], {}, r"1 missing response"),
        ([1, 5], {"weights": [1, -1]}, r"finite and non-negative; 1 are not"),
        ([1, 5], {"weights": [1]}, r"one value per response: 2 responses, got 1"),
        ([1, 5], {"weights": [0, 0]}, r"all zero"),
        ([1, 5], {"weights": {"a": 1}}, r"needs two-dimensional scores"),
        (
            pd.DataFrame({"a": [1, 2], "b": [3, None]}, index=["r1", "r2"]),
            {},
            r"scores column 'b' has 1 missing.*index 'r2'",
        ),
        (
            pd.DataFrame({"a": [1, 2], "b": [3, 4]}),
            {"weights": {"a": 1, "c": 2}},
            r"missing for \['b'\]; unknown columns \['c'\]",
        ),
        (pd.DataFrame({"a": [1, 2], "b": [3, 4]}), {"weights": [1, 2, 3]}, r"one value per column"),
        (np.array([[1, 2], [3, 7]]), {}, r"scores column 1 must be numbers from 1 to 5.*7"),
        ([1, 2], {"scale": (1,)}, r"scale must be"),
    ],
)
def test_csi_rejects_bad_input(scores: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        csi(scores, **kwargs)
