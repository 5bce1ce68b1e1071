"""Tests of the survey metrics (retention.metrics.survey) and their plot."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from retention.metrics.survey import (
    CESResult,
    CSATResult,
    CSIResult,
    NPSComparison,
    NPSResult,
    ces,
    compare_nps,
    csat,
    csi,
    nps,
    survey_metrics,
)
from retention.plotting.survey import plot_survey_metric

# 5 promoters (9, 10), 3 passives (7, 8), 2 detractors (0..6): NPS = 50% - 20% = 30.
TEN = [10, 10, 9, 9, 9, 8, 7, 7, 3, 0]
Z95 = 1.959963984540054


def _wald(p_count: float, d_count: float, n: int, z: float) -> tuple[float, float]:
    p, d = p_count / n, d_count / n
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / n)
    value = 100 * (p - d)
    return max(value - z * se, -100.0), min(value + z * se, 100.0)


def _adjusted_wald(p_count: float, d_count: float, n: int, z: float) -> tuple[float, float]:
    p, d = (p_count + 0.75) / (n + 3), (d_count + 0.75) / (n + 3)
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / (n + 3))
    centre = 100 * (p - d)
    return max(centre - z * se, -100.0), min(centre + z * se, 100.0)


# --------------------------------------------------------------------------- NPS


def test_nps_hand_computed_example() -> None:
    result = nps(TEN)
    assert isinstance(result, NPSResult)
    assert result.value == 30.0
    assert (result.promoters, result.passives, result.detractors, result.n) == (5, 3, 2, 10)
    assert (result.promoter_share, result.passive_share, result.detractor_share) == (
        0.5, 0.3, 0.2,
    )
    assert (result.level, result.method, result.n_missing) == (0.95, "adjusted-wald", 0)
    # By hand: p' = 5.75 / 13, d' = 2.75 / 13; centre 3 / 13; p' + d' = 8.5 / 13.
    centre = 3 / 13
    variance = (8.5 / 13 - centre**2) / 13
    assert variance == pytest.approx(0.0461994, abs=1e-7)
    half = 1.959964 * math.sqrt(variance)  # 0.42128
    assert result.standard_error == pytest.approx(100 * math.sqrt(variance))
    assert result.ci_low == pytest.approx(100 * (centre - half), abs=1e-4)
    assert result.ci_high == pytest.approx(100 * (centre + half), abs=1e-4)
    assert round(result.ci_low, 2) == -19.05 and round(result.ci_high, 2) == 65.20


def test_nps_wald_option_hand_computed() -> None:
    result = nps(TEN, method="wald")
    # Var(p - d) = (0.5 + 0.2 - 0.3^2) / 10 = 0.061.
    assert result.method == "wald"
    assert result.standard_error == pytest.approx(100 * math.sqrt(0.061))
    assert round(result.ci_low, 2) == -18.41 and round(result.ci_high, 2) == 78.41


def test_nps_older_spellings_still_work() -> None:
    assert nps(TEN, confidence=0.9) == nps(TEN, level=0.9)
    result = nps([*TEN, None], dropna=True)
    assert result == nps([*TEN, None], missing="drop")
    assert result.confidence == 0.95 and result.n_excluded == 1 == result.n_missing
    assert float(result) == 30.0


def test_nps_result_is_frozen() -> None:
    result = nps(TEN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 0.0  # type: ignore[misc]


def test_nps_boundaries_of_the_groups() -> None:
    result = nps(list(range(11)))  # 0..6 detract, 7..8 passive, 9..10 promote
    assert (result.detractors, result.passives, result.promoters) == (7, 2, 2)
    assert result.value == pytest.approx(100 * (2 - 7) / 11)


@pytest.mark.parametrize("level", [0.8, 0.9, 0.99])
@pytest.mark.parametrize("method", ["adjusted-wald", "wald"])
def test_nps_interval_matches_direct_computation(level: float, method: str) -> None:
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 11, size=537)
    result = nps(scores, level=level, method=method)
    n = scores.size
    promoters, detractors = np.count_nonzero(scores >= 9), np.count_nonzero(scores <= 6)
    z = {0.8: 1.2815515655446004, 0.9: 1.6448536269514722, 0.99: 2.5758293035489004}[level]
    interval = _adjusted_wald if method == "adjusted-wald" else _wald
    low, high = interval(promoters, detractors, n, z)
    assert result.value == pytest.approx(100 * (promoters - detractors) / n)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.level == level


def test_nps_interval_is_clipped_never_zero_width_and_narrows() -> None:
    nearly_all = nps([10] * 9 + [8], method="wald")  # 90 + 18.6 clipped to 100
    assert nearly_all.value == 90.0 and nearly_all.ci_high == 100.0
    unanimous_wald = nps([0, 0, 0], method="wald")
    assert (unanimous_wald.ci_low, unanimous_wald.ci_high) == (-100.0, -100.0)
    unanimous = nps([0, 0, 0])  # the adjusted interval admits that 3 answers say little
    assert unanimous.ci_low == -100.0 and unanimous.ci_high > -40
    small, large = nps(TEN, method="wald"), nps(TEN * 100, method="wald")
    assert small.value == large.value
    assert large.ci_high - large.ci_low == pytest.approx((small.ci_high - small.ci_low) / 10)
    assert nps(TEN * 100).ci_high - nps(TEN * 100).ci_low < nps(TEN).ci_high - nps(TEN).ci_low


def test_nps_adjusted_interval_includes_the_observed_score() -> None:
    # One promoter: the shrunk centre 25 +/- 73.5 stops at 98.5; widened to include 100.
    one = nps([10])
    assert one.value == 100.0 and one.ci_high == 100.0
    assert one.ci_low == pytest.approx(100 * (0.25 - Z95 * 0.375))


def test_nps_coverage_simulation() -> None:
    """Adjusted Wald covers the true NPS in ~95% of samples of n=50; Wald less often."""
    rng = np.random.default_rng(2016)
    mix = (0.70, 0.25, 0.05)  # promoters, passives, detractors: true NPS = 65
    true = 100 * (mix[0] - mix[2])
    counts = rng.multinomial(50, mix, size=2000)
    covered = {"adjusted-wald": 0, "wald": 0}
    for promoters, passives, detractors in counts:
        scores = [10] * promoters + [8] * passives + [0] * detractors
        for method in covered:
            result = nps(scores, method=method)
            covered[method] += result.ci_low <= true <= result.ci_high
    coverage = {m: c / len(counts) for m, c in covered.items()}
    assert 0.93 <= coverage["adjusted-wald"] <= 0.97, coverage
    assert coverage["wald"] < coverage["adjusted-wald"], coverage
    assert coverage["wald"] < 0.94, coverage


def test_nps_accepts_arrays_and_series() -> None:
    expected = nps(TEN)
    assert nps(np.array(TEN)) == expected
    assert nps(np.array(TEN, dtype=float)) == expected
    assert nps(pd.Series(TEN, index=[f"r{i}" for i in range(10)])) == expected
    assert nps(pd.Series(TEN, dtype="Int64")) == expected
    assert nps(tuple(TEN)) == expected


def test_nps_missing_drop_counts_them() -> None:
    scores = pd.Series([*TEN, None, np.nan], dtype="Float64")
    result = nps(scores, missing="drop")
    assert result.n == 10 and result.n_missing == 2 and result.value == 30.0
    mixed = nps([*TEN, None, float("nan"), pd.NA], missing="drop")
    assert mixed.n_missing == 3 and mixed.value == 30.0


@pytest.mark.parametrize(
    ("scores", "kwargs", "message"),
    [
        (
            [10, 11, 7.5, -1, 8],
            {},
            r"scores must be whole numbers from 0 to 10; 3 answer\(s\) are not, "
            r"e.g. 11 at position 1, 7.5 at position 2, -1 at position 3",
        ),
        ([9, float("inf")], {}, r"whole numbers from 0 to 10; 1 answer\(s\).*inf at position 1"),
        (
            [9, float("nan"), None],
            {},
            r"scores has 2 missing answer\(s\), e.g. nan at position 1, None at position 2; "
            r"pass missing='drop'",
        ),
        (pd.Series([9, None], index=["a", "b"], dtype="Int64"), {}, r"1 missing.*index 'b'"),
        ([9, "ten", "10"], {}, r"must be numbers; 2 answer\(s\).*'ten' at position 1"),
        ([True, False], {}, r"must be numbers; 2 answer"),
        ([], {}, r"no answers"),
        ([None, None], {"missing": "drop"}, r"no answers after leaving out 2 missing"),
        (7, {}, r"sequence of answers"),
        ("9 10", {}, r"sequence of answers"),
        ([[9, 10], [8, 7]], {}, r"one-dimensional"),
        (pd.DataFrame({"q": [9, 10]}), {}, r"not a DataFrame"),
        (TEN, {"level": 95}, r"level must be .* between 0 and 1.*got 95"),
        (TEN, {"level": 1.0}, r"level must be"),
        (TEN, {"method": "exact"}, r"method must be one of 'adjusted-wald', 'wald'"),
        (TEN, {"missing": "ignore"}, r"missing must be one of 'raise', 'drop'"),
    ],
)
def test_nps_rejects_bad_input(scores: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nps(scores, **kwargs)


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=300),
    level=st.floats(min_value=0.5, max_value=0.999),
    method=st.sampled_from(["adjusted-wald", "wald"]),
)
def test_nps_properties(scores: list[int], level: float, method: str) -> None:
    result = nps(scores, level=level, method=method)
    assert result.promoters + result.passives + result.detractors == result.n == len(scores)
    assert -100 <= result.ci_low <= result.value <= result.ci_high <= 100
    assert result.value == pytest.approx(100 * (result.promoters - result.detractors) / result.n)
    # Adding passives only dilutes: same sign, smaller or equal magnitude.
    diluted = nps([*scores, 8], level=level, method=method)
    assert abs(diluted.value) <= abs(result.value) and diluted.value * result.value >= 0
    # A higher level never gives a narrower interval.
    wider = nps(scores, level=min(level + 0.0005, 0.9995), method=method)
    assert wider.ci_low <= result.ci_low + 1e-9 and wider.ci_high >= result.ci_high - 1e-9


# --------------------------------------------------------------------------- compare_nps

A = [9, 10, 7, 8, 7, 8, 0, 5, 6, 3]  # 2 promoters, 4 passives, 4 detractors: NPS -20
B = [9, 10, 9, 10, 9, 9, 7, 8, 8, 2]  # 6 promoters, 3 passives, 1 detractor: NPS 50


def test_compare_nps_hand_computed() -> None:
    result = compare_nps(A, B)
    assert isinstance(result, NPSComparison)
    assert result.a.value == -20.0 and result.b.value == 50.0
    assert result.difference == result.value == 70.0  # b - a
    # Adjusted: a centre (2.75 - 4.75) / 13, b centre (6.75 - 1.75) / 13.
    ca, cb = -2 / 13, 5 / 13
    var_a = (7.5 / 13 - ca**2) / 13
    var_b = (8.5 / 13 - cb**2) / 13
    se = 100 * math.sqrt(var_a + var_b)
    assert result.standard_error == pytest.approx(se)
    assert se == pytest.approx(28.544, abs=1e-3)
    centre = 100 * (cb - ca)  # 53.85
    assert result.ci_low == pytest.approx(centre - Z95 * se)
    assert result.ci_high == pytest.approx(centre + Z95 * se)
    assert result.z == pytest.approx(centre / se)
    assert result.p_value == pytest.approx(2 * (1 - 0.970376), abs=1e-4)  # Phi(1.8864)
    swapped = compare_nps(B, A)
    assert swapped.difference == -70.0 and swapped.p_value == pytest.approx(result.p_value)
    assert swapped.ci_low == pytest.approx(-result.ci_high)


def test_compare_nps_wald_and_edge_cases() -> None:
    wald = compare_nps(A, B, method="wald")
    var_a = (0.6 - 0.2**2) / 10
    var_b = (0.7 - 0.5**2) / 10
    se = 100 * math.sqrt(var_a + var_b)
    assert wald.standard_error == pytest.approx(se)
    assert (wald.ci_low, wald.ci_high) == pytest.approx((70 - Z95 * se, 70 + Z95 * se))
    same = compare_nps(TEN, TEN)
    assert same.difference == 0.0 and same.p_value == pytest.approx(1.0)
    assert same.ci_low < 0 < same.ci_high
    flat = compare_nps([10, 10], [10, 10], method="wald")  # no variation seen at all
    assert (flat.difference, flat.p_value, flat.ci_low, flat.ci_high) == (0.0, 1.0, 0.0, 0.0)
    big = compare_nps(TEN * 50, [*TEN, 10, 10] * 50)
    assert big.p_value < 0.05 < compare_nps(TEN, [*TEN, 10, 10]).p_value
    dropped = compare_nps([*A, None], B, missing="drop")
    assert dropped.a.n_missing == 1 and dropped.difference == 70.0


@settings(max_examples=150, deadline=None)
@given(
    a=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=120),
    b=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=120),
    method=st.sampled_from(["adjusted-wald", "wald"]),
)
def test_compare_nps_properties(a: list[int], b: list[int], method: str) -> None:
    result = compare_nps(a, b, method=method)
    assert result.difference == pytest.approx(nps(b).value - nps(a).value)
    assert -200 <= result.ci_low <= result.difference <= result.ci_high <= 200
    assert 0 <= result.p_value <= 1


def test_compare_nps_names_the_bad_group() -> None:
    with pytest.raises(ValueError, match=r"^b must be whole numbers from 0 to 10; 1 answer"):
        compare_nps(A, [*B, 12])
    with pytest.raises(ValueError, match=r"^a has 1 missing answer"):
        compare_nps([*A, None], B)


# --------------------------------------------------------------------------- CSAT


def test_csat_hand_computed() -> None:
    result = csat([5, 4, 4, 3, 2, 5, 1, 4])
    assert isinstance(result, CSATResult)
    assert (result.value, result.satisfied, result.n, result.n_missing) == (0.625, 5, 8, 0)
    assert result.satisfied_scores == (4, 5) and result.scale == (1, 5)
    # Wilson by hand: z^2 = 3.8415; centre (0.625 + 3.8415 / 16) / (1 + 3.8415 / 8).
    z2 = Z95**2
    centre = (0.625 + z2 / 16) / (1 + z2 / 8)
    half = Z95 / (1 + z2 / 8) * math.sqrt(0.625 * 0.375 / 8 + z2 / 256)
    assert (result.ci_low, result.ci_high) == pytest.approx((centre - half, centre + half))
    assert round(result.ci_low, 3) == 0.306 and round(result.ci_high, 3) == 0.863
    assert csat([1, 2, 3]).value == 0.0 and csat([1, 2, 3]).ci_low == 0.0
    assert csat([1, 2, 3]).ci_high == pytest.approx(z2 / 3 / (1 + z2 / 3))  # Wilson at k = 0
    assert csat([4, 5]).value == 1.0
    assert csat([5, 4, 4, 3], top=1).value == 0.25
    assert csat([5, 4, 4, 3], satisfied=(5,)).value == 0.25
    assert csat([9, 10, 7, 8, 3], scale=(0, 10), satisfied=range(8, 11)).value == 3 / 5
    assert csat([7, 6, 5], scale=7).value == 2 / 3  # top 2 of 1-7: 6 and 7
    assert csat([7, 6, 5], scale=(1, 7), top=3).value == 1.0
    assert csat(pd.Series([7, 6, 5], dtype="Int64"), satisfied={6, 7}, scale=(1, 7)).value == 2 / 3
    wald = csat([5, 4, 4, 3, 2, 5, 1, 4], method="wald")
    half = Z95 * math.sqrt(0.625 * 0.375 / 8)
    assert (wald.ci_low, wald.ci_high) == pytest.approx((0.625 - half, 0.625 + half))
    dropped = csat([5, None, 4, 1], missing="drop")
    assert (dropped.value, dropped.n, dropped.n_missing) == (2 / 3, 3, 1)
    assert float(dropped) == 2 / 3


@pytest.mark.parametrize(
    ("scores", "kwargs", "message"),
    [
        ([1, 2, 6, 0], {}, r"whole numbers from 1 to 5; 2 answer\(s\).*6 at position 2"),
        ([1, 2.5], {}, r"whole numbers from 1 to 5; 1 answer.*2.5 at position 1"),
        ([1, None], {}, r"1 missing answer\(s\).*missing='drop'"),
        ([1, "5"], {}, r"must be numbers"),
        ([1, 2], {"satisfied": (5, 6)}, r"satisfied must be .* from 1 to 5.*1 off the scale"),
        ([1, 2], {"satisfied": ()}, r"satisfied must be a non-empty"),
        ([1, 2], {"satisfied": 5}, r"satisfied must be a collection"),
        ([1, 2], {"top": 0}, r"top must be a whole number of boxes from 1 to 4"),
        ([1, 2], {"top": 5}, r"top must be"),
        ([1, 2], {"scale": (5, 1)}, r"scale must be"),
        ([1, 2], {"scale": (1, 5.5)}, r"scale must be"),
        ([1, 2], {"scale": 1}, r"scale must be"),
        ([1, 2], {"method": "exact"}, r"method must be one of 'wilson', 'wald'"),
    ],
)
def test_csat_rejects_bad_input(scores: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        csat(scores, **kwargs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=200))
def test_csat_interval_contains_the_share(scores: list[int]) -> None:
    result = csat(scores)
    assert 0 <= result.ci_low <= result.value <= result.ci_high <= 1


# --------------------------------------------------------------------------- CES


def test_ces_hand_computed() -> None:
    result = ces([7, 6, 5, 5, 3, 4])
    assert isinstance(result, CESResult)
    # mean 5, squared deviations 4 + 1 + 0 + 0 + 4 + 1 = 10, s = sqrt(10 / 5); t(0.975, 5).
    assert result.value == 5.0 and result.method == "t"
    assert result.standard_deviation == pytest.approx(math.sqrt(2))
    half = 2.5705818366147395 * math.sqrt(2) / math.sqrt(6)
    assert (result.ci_low, result.ci_high) == pytest.approx((5 - half, 5 + half))
    assert (result.agreeing, result.n, result.agree_from, result.scale) == (4, 6, 5, (1, 7))
    assert result.agree_share == pytest.approx(4 / 6)
    z2 = Z95**2
    centre = (4 / 6 + z2 / 12) / (1 + z2 / 6)
    half = Z95 / (1 + z2 / 6) * math.sqrt((4 / 6) * (2 / 6) / 6 + z2 / 144)
    assert (result.agree_ci_low, result.agree_ci_high) == pytest.approx(
        (centre - half, centre + half)
    )
    assert ces([7, 7, 7]).ci_high == 7.0  # clipped to the scale (zero spread here)
    assert ces([2, 5], agree_from=6).agreeing == 0
    assert ces([1, 5], scale=5, agree_from=4).agree_share == 0.5
    single = ces([6])
    assert single.value == 6.0 and math.isnan(single.ci_low) and math.isnan(single.ci_high)
    dropped = ces([7, None, 5], missing="drop")
    assert (dropped.value, dropped.n_missing) == (6.0, 1)


@pytest.mark.parametrize(
    ("scores", "kwargs", "message"),
    [
        ([1, 8], {}, r"whole numbers from 1 to 7; 1 answer\(s\).*8 at position 1"),
        ([1, 6.5], {}, r"whole numbers from 1 to 7"),
        ([1, np.nan], {}, r"1 missing answer"),
        ([1, 2], {"agree_from": 8}, r"agree_from must be a whole-number score from 2 to 7"),
        ([1, 2], {"agree_from": 4.5}, r"agree_from must be"),
    ],
)
def test_ces_rejects_bad_input(scores: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ces(scores, **kwargs)


# --------------------------------------------------------------------------- CSI


def test_csi_one_dimensional() -> None:
    result = csi([5, 4, 3, 4])
    assert isinstance(result, CSIResult)
    assert result.value == 75.0  # mean 4 on 1..5 -> (4 - 1) / 4
    assert (result.attributes, result.attribute_means, result.weights) == (
        ("rating",), (4.0,), (1.0,),
    )
    assert csi([1, 1]).value == 0.0
    assert csi([5, 5]).value == 100.0
    assert csi([7, 1], scale=(1, 7)).value == 50.0
    assert csi([7, 1], scale=7).value == 50.0
    # Survey weights: (5 * 3 + 1 * 1) / 4 = 4 -> 75.
    assert csi([5, 1], [3, 1]).value == 75.0
    assert csi([5, 1], weights=[3, 1]).value == 75.0  # older keyword
    assert csi([4.5, 3.5]).value == 75.0  # averaged ratings are allowed


def test_csi_importance_weighted_attributes() -> None:
    ratings = pd.DataFrame({"price": [3, 2, 4], "support": [5, 4, 5]})
    # Attribute means 3 and 14/3; weights 1 and 3 -> (3 + 14) / 4 = 4.25 -> 100 * 3.25 / 4.
    result = csi(ratings, {"price": 1, "support": 3})
    assert result.value == pytest.approx(81.25)
    assert result.attributes == ("price", "support")
    assert result.attribute_means == pytest.approx((3.0, 14 / 3))
    assert result.weights == (0.25, 0.75)
    assert csi(ratings, [1, 3]).value == pytest.approx(81.25)
    assert csi(ratings.to_numpy(), [1, 3]).value == pytest.approx(81.25)
    # Equal weights: mean of attribute means (3 + 14/3) / 2.
    assert csi(ratings).value == pytest.approx(100 * ((3 + 14 / 3) / 2 - 1) / 4)


def test_csi_per_respondent_importance() -> None:
    ratings = pd.DataFrame({"price": [3, 2, 4, 3], "support": [5, 4, 5, 4]})
    importance = pd.DataFrame({"price": [1, 2, 1, 2], "support": [5, 4, 5, 2]})
    # Weights are the mean importances 1.5 and 4: (1.5 * 3 + 4 * 4.5) / 5.5 = 22.5 / 5.5.
    result = csi(ratings, importance)
    assert result.weights == pytest.approx((1.5 / 5.5, 4 / 5.5))
    assert result.value == pytest.approx(100 * (22.5 / 5.5 - 1) / 4)
    # Matched by name when the names agree, by position otherwise.
    assert csi(ratings, importance[["support", "price"]]).value == result.value
    renamed = importance.set_axis(["imp_price", "imp_support"], axis=1)
    assert csi(ratings, renamed).value == result.value
    with_gap = importance.astype("Float64")
    with_gap.loc[0, "price"] = pd.NA
    dropped = csi(ratings, with_gap, missing="drop")
    assert (dropped.n, dropped.n_missing) == (3, 1)


def test_csi_bootstrap_is_seeded_and_matches_the_normal_interval() -> None:
    rng = np.random.default_rng(3)
    ratings = pd.Series(rng.integers(1, 6, size=400))
    first, again = csi(ratings, seed=1), csi(ratings, seed=1)
    assert first == again
    assert csi(ratings, seed=2).ci_low != first.ci_low
    assert first.n_boot == 2000 and first.method == "bootstrap" and first.seed == 1
    # For one column the index is a rescaled mean: the bootstrap interval is close to
    # mean +/- z * s / sqrt(n) (rescaled), within Monte Carlo error.
    values = ratings.to_numpy(dtype=float)
    half = 100 * Z95 * values.std() / math.sqrt(values.size) / 4
    assert first.ci_low == pytest.approx(first.value - half, abs=0.6)
    assert first.ci_high == pytest.approx(first.value + half, abs=0.6)
    # Several chunks of resamples (large n) give the same kind of interval.
    big = csi(np.tile(values, 20), n_boot=600, seed=0)  # 8,000 respondents: 3 chunks
    assert big.ci_low < big.value < big.ci_high and big.ci_high - big.ci_low < 2 * half


@pytest.mark.parametrize(
    ("ratings", "kwargs", "message"),
    [
        ([1, 2.5, 6], {}, r"ratings must be numbers from 1 to 5; 1 answer\(s\).*6 at position 2"),
        ([1, float("nan")], {}, r"ratings has 1 missing answer"),
        ([1, 5], {"importance": [1, -1]}, r"finite and non-negative; 1 are not"),
        ([1, 5], {"importance": [1]}, r"one value per answer: 2 answers, got 1"),
        ([1, 5], {"importance": [0, 0]}, r"all zero"),
        ([1, 5], {"importance": {"a": 1}}, r"needs ratings with several columns"),
        ([1, 5], {"importance": [1, 1], "weights": [1, 1]}, r"not both"),
        (
            pd.DataFrame({"a": [1, 2], "b": [3, None]}, index=["r1", "r2"]),
            {},
            r"ratings column 'b' has 1 missing answer\(s\), e.g. nan at index 'r2'",
        ),
        (
            pd.DataFrame({"a": [1, 2], "b": [3, 4]}),
            {"importance": {"a": 1, "c": 2}},
            r"missing for \['b'\]; unknown columns \['c'\]",
        ),
        (
            pd.DataFrame({"a": [1, 2], "b": [3, 4]}),
            {"importance": [1, 2, 3]},
            r"one value per column",
        ),
        (
            pd.DataFrame({"a": [1, 2], "b": [3, 4]}),
            {"importance": pd.DataFrame({"a": [1, 2]})},
            r"same shape|one importance answer per rating",
        ),
        (
            pd.DataFrame({"a": [1, 2], "b": [3, 4]}),
            {"importance": pd.DataFrame({"a": [1, -2], "b": [1, 1]})},
            r"importance column 'a' must be finite and non-negative; 1 answer",
        ),
        (np.array([[1, 2], [3, 7]]), {}, r"ratings column 1 must be numbers from 1 to 5.*7"),
        ([1, 2], {"scale": (1,)}, r"scale must be"),
        ([1, 2], {"n_boot": 10}, r"n_boot must be"),
        ([1, 2], {"seed": -1}, r"seed must be"),
    ],
)
def test_csi_rejects_bad_input(ratings: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        csi(ratings, **kwargs)


# --------------------------------------------------------------------------- by group and period


@pytest.fixture
def responses() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 240
    frame = pd.DataFrame(
        {
            "channel": rng.choice(["email", "social", "organic"], size=n),
            "response_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 180, size=n), unit="D"),
            "nps": rng.integers(0, 11, size=n),
            "csat": rng.integers(1, 6, size=n),
            "ces": rng.integers(1, 8, size=n),
            "rating_a": rng.integers(1, 6, size=n),
            "rating_b": rng.integers(1, 6, size=n),
            "importance_a": rng.integers(1, 6, size=n),
            "importance_b": rng.integers(1, 6, size=n),
        },
        index=pd.RangeIndex(100, 100 + n),
    )
    return frame


def test_survey_metrics_by_segment_matches_each_group(responses: pd.DataFrame) -> None:
    table = survey_metrics(responses, "nps", by="channel")
    assert list(table["channel"]) == ["email", "organic", "social"]
    assert list(table.columns[:6]) == ["channel", "value", "ci_low", "ci_high", "n", "n_missing"]
    for row in table.itertuples():
        expected = nps(responses.loc[responses["channel"] == row.channel, "nps"])
        assert (row.value, row.ci_low, row.ci_high, row.n) == (
            expected.value, expected.ci_low, expected.ci_high, expected.n,
        )
        assert (row.promoters, row.passives, row.detractors) == (
            expected.promoters, expected.passives, expected.detractors,
        )
    assert table["n"].sum() == len(responses)
    assert table.attrs == {
        "metric": "nps", "score": "nps", "by": ["channel"], "freq": None, "level": 0.95,
        "method": "adjusted-wald",
    }
    json.dumps(table.attrs)
    overall = survey_metrics(responses)
    assert len(overall) == 1 and overall.loc[0, "value"] == nps(responses["nps"]).value


def test_survey_metrics_by_period_and_segment(responses: pd.DataFrame) -> None:
    table = survey_metrics(responses, "csat", by="channel", freq="M", level=0.9)
    assert list(table.columns[:2]) == ["channel", "period"]
    assert isinstance(table.loc[0, "period"], pd.Period)
    assert table.groupby("channel")["period"].is_monotonic_increasing.all()
    months = responses["response_date"].dt.to_period("M")
    row = table.iloc[3]
    part = responses[(responses["channel"] == row["channel"]) & (months == row["period"])]
    expected = csat(part["csat"], level=0.9)
    assert (row["value"], row["ci_low"], row["n"], row["satisfied"]) == (
        expected.value, expected.ci_low, expected.n, expected.satisfied,
    )
    quarterly = survey_metrics(responses, "ces", freq="quarter")
    assert [str(p) for p in quarterly["period"]] == ["2024Q1", "2024Q2"]
    assert {"agree_share", "agree_ci_low", "agree_ci_high", "agreeing"} <= set(quarterly.columns)
    text_dates = responses.assign(response_date=responses["response_date"].dt.strftime("%Y-%m-%d"))
    assert survey_metrics(text_dates, "ces", freq="Q").equals(quarterly)


def test_survey_metrics_csi_and_options(responses: pd.DataFrame) -> None:
    table = survey_metrics(
        responses, "csi", score=["rating_a", "rating_b"],
        importance=["importance_a", "importance_b"], by="channel", n_boot=500, seed=3,
    )
    part = responses[responses["channel"] == "email"]
    expected = csi(
        part[["rating_a", "rating_b"]],
        part[["importance_a", "importance_b"]].set_axis(["rating_a", "rating_b"], axis=1),
        n_boot=500, seed=3,
    )
    assert (table.loc[0, "value"], table.loc[0, "ci_low"]) == (expected.value, expected.ci_low)
    bad = responses.astype({"importance_b": float})
    bad.loc[103, "importance_b"] = -1.0
    with pytest.raises(ValueError, match=r"importance column 'importance_b' must be finite and "
                       r"non-negative; 1 answer\(s\) are not, e.g. -1 at index 103"):
        survey_metrics(bad, "csi", score=["rating_a", "rating_b"],
                       importance=["importance_a", "importance_b"])
    fixed = survey_metrics(responses, "csi", score=["rating_a", "rating_b"],
                           importance={"rating_a": 1, "rating_b": 3}, n_boot=200)
    assert fixed.loc[0, "value"] == csi(responses[["rating_a", "rating_b"]], [1, 3]).value
    wald = survey_metrics(responses, "nps", method="wald")
    assert wald.attrs["method"] == "wald"
    assert wald.loc[0, "ci_low"] == nps(responses["nps"], method="wald").ci_low
    top1 = survey_metrics(responses, "csat", top=1)
    assert top1.loc[0, "value"] == csat(responses["csat"], top=1).value


def test_survey_metrics_missing_answers(responses: pd.DataFrame) -> None:
    with_gaps = responses.astype({"nps": "Int64"})
    with_gaps.loc[[101, 105], "nps"] = pd.NA
    with pytest.raises(
        ValueError, match=r"column 'nps' has 2 missing answer\(s\), e.g. <NA> at index 101"
    ):
        survey_metrics(with_gaps, "nps", by="channel")
    table = survey_metrics(with_gaps, "nps", by="channel", missing="drop")
    assert table["n_missing"].sum() == 2 and table["n"].sum() == len(responses) - 2
    # A group whose every answer is missing keeps its row, with n = 0 and no value.
    with_gaps.loc[with_gaps["channel"] == "social", "nps"] = pd.NA
    table = survey_metrics(with_gaps, "nps", by="channel", missing="drop")
    social = table[table["channel"] == "social"].iloc[0]
    assert social["n"] == 0 and social["n_missing"] > 0 and math.isnan(social["value"])
    assert table["n"].dtype == "int64"


def test_survey_metrics_rejects_bad_input(responses: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) 'score_nps' \(score=\)"):
        survey_metrics(responses, score="score_nps")
    with pytest.raises(ValueError, match=r"'segment' \(by=\)"):
        survey_metrics(responses, by="segment")
    with pytest.raises(ValueError, match=r"'answered' \(date=\)"):
        survey_metrics(responses, freq="M", date="answered")
    gaps = responses.astype({"channel": "object"})
    gaps.loc[[100, 102], "channel"] = None
    with pytest.raises(ValueError, match=r"column 'channel' \(by=\) has 2 missing value\(s\)"):
        survey_metrics(gaps, by="channel")
    bad = responses.assign(nps=responses["nps"] + 1)
    with pytest.raises(ValueError, match=r"column 'nps' must be whole numbers from 0 to 10; \d+"):
        survey_metrics(bad)
    with pytest.raises(ValueError, match=r"metric must be one of"):
        survey_metrics(responses, "ltv")
    with pytest.raises(ValueError, match=r"needs score=\[the attribute rating columns\]"):
        survey_metrics(responses, "csi")
    with pytest.raises(ValueError, match=r"does not take \['top'\]"):
        survey_metrics(responses, "nps", top=2)
    with pytest.raises(ValueError, match=r"freq='year' is not a supported grain"):
        survey_metrics(responses, freq="year")


def test_survey_metrics_table_round_trips(responses: pd.DataFrame, tmp_path) -> None:
    table = survey_metrics(responses, "nps", by="channel", freq="M")
    path = tmp_path / "nps.parquet"
    table.to_parquet(path)
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    csv = pd.read_csv(pd.io.common.StringIO(table.to_csv(index=False)))
    assert list(csv.columns) == list(table.columns) and len(csv) == len(table)


# --------------------------------------------------------------------------- plot


def test_plot_survey_metric_segments(responses: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    table = survey_metrics(responses, "nps", by="channel")
    ax = plot_survey_metric(table, color="tab:blue")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["email", "organic", "social"]
    assert ax.get_ylabel() == "NPS (points)" and "95% confidence" in ax.get_title()
    (container,) = ax.containers
    segments = container.lines[2][0].get_segments()  # the interval bars, one per group
    assert [s[0][1] for s in segments] == pytest.approx(list(table["ci_low"]))
    assert [s[1][1] for s in segments] == pytest.approx(list(table["ci_high"]))
    assert [t.get_text() for t in ax.texts] == [f"n={n}" for n in table["n"]]
    assert any(line.get_linestyle() == "--" for line in ax.lines)  # the zero line
    plt.close(ax.figure)


def test_plot_survey_metric_periods_hue_and_shares(responses: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    table = survey_metrics(responses, "csat", by="channel", freq="M")
    out = plot_survey_metric(table, ax=ax, annotate_n=False)
    assert out is ax and len(ax.containers) == 3  # one series per channel
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["email", "organic", "social"]
    assert ax.get_xticklabels()[0].get_text() == "2024-01"
    assert ax.yaxis.get_major_formatter().format_pct(0.5, 1.0).startswith("50")
    ax.clear()
    effort = survey_metrics(responses, "ces", by="channel")
    plot_survey_metric(effort, ax=ax, value="agree_share")
    assert ax.get_ylabel() == "CES (share agreeing)"
    with pytest.raises(ValueError, match=r"missing column\(s\) 'ci_low'"):
        plot_survey_metric(table.drop(columns="ci_low"))
    plt.close(fig)
