"""Tests of the shifted-beta-geometric model (retention.models.sbg)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import special

import retention.models.base as base_module
import retention.models.sbg as sbg_module
from retention.models import (
    BetaGeo,
    ConvergenceError,
    GammaGamma,
    NotFittedError,
    ShiftedBetaGeometric,
)

# Fader & Hardie (2007), "How to project customer retention": percent of an initial cohort
# still active at the start of years 0..12, and the sBG fitted on years 0..7.
REGULAR = [100, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1, 22.3, 20.7, 19.4, 18.3, 17.3]
HIGH_END = [100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1, 46.8, 44.5, 42.7, 40.9, 39.4]
PUBLISHED = {
    "regular": (REGULAR, {"alpha": 0.704, "beta": 1.182}),
    "high end": (HIGH_END, {"alpha": 0.668, "beta": 3.806}),
}
COHORT = 1000
CALIBRATION_YEARS = 8  # years 0..7


def _counts(percent: list[float]) -> np.ndarray:
    return np.asarray(percent[:CALIBRATION_YEARS]) * COHORT / 100


def _direct_loglik(active: np.ndarray, alpha: float, beta: float) -> float:
    """Textbook sBG log-likelihood: sum lost_t log P(T = t) + active_n log S(n)."""
    n = active.size - 1
    t = np.arange(1, n + 1)
    lost = -np.diff(active)
    log_p = special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta)
    log_s = special.betaln(alpha, beta + n) - special.betaln(alpha, beta)
    return float(np.sum(lost * log_p) + active[-1] * log_s)


# --------------------------------------------------------------------------- published tables


@pytest.mark.parametrize("segment", list(PUBLISHED))
def test_fit_reproduces_published_parameters(segment: str) -> None:
    percent, expected = PUBLISHED[segment]
    model = ShiftedBetaGeometric().fit(_counts(percent))
    assert {k: round(v, 3) for k, v in model.params_.items()} == expected
    assert model.n_periods_ == CALIBRATION_YEARS - 1
    assert model.n_customers_ == COHORT


@pytest.mark.parametrize("segment", list(PUBLISHED))
def test_projection_tracks_published_actuals(segment: str) -> None:
    """Years 8..12 are outside the calibration data.

    Tolerance: the published actuals are one realisation of a cohort of 1,000, so each share
    has a binomial standard deviation of sqrt(p (1 - p) / 1000), 1.2 to 1.6 points here.
    The projection must lie within two of them of every actual. (The model-free alternative,
    a constant retention rate, misses by up to 13 points: see the next test.)
    """
    percent, _ = PUBLISHED[segment]
    model = ShiftedBetaGeometric().fit(_counts(percent))
    years = np.arange(8, 13)
    actual = np.asarray(percent)[years] / 100
    projected = model.survival(years)
    tolerance = 2 * np.sqrt(actual * (1 - actual) / COHORT)
    assert np.all(np.abs(projected - actual) <= tolerance)
    table = model.project(12)
    assert table.loc[8:, "projected"].all() and not table.loc[:7, "projected"].any()
    np.testing.assert_allclose(table.loc[8:, "expected_active"], COHORT * projected)


def test_projection_tolerance_rejects_constant_retention() -> None:
    """The tolerance above is tight enough to reject a model without heterogeneity."""
    percent = REGULAR
    counts = _counts(percent)
    retention = counts[1:].sum() / counts[:-1].sum()  # geometric MLE of the retention rate
    years = np.arange(8, 13)
    actual = np.asarray(percent)[years] / 100
    constant = retention**years
    tolerance = 2 * np.sqrt(actual * (1 - actual) / COHORT)
    assert np.all(np.abs(constant - actual) > tolerance)


def test_fit_accepts_percentages_fractions_counts_and_series() -> None:
    counts = _counts(REGULAR)
    reference = ShiftedBetaGeometric().fit(counts).params_
    variants = [
        (REGULAR[:CALIBRATION_YEARS], COHORT),
        ([p / 100 for p in REGULAR[:CALIBRATION_YEARS]], COHORT),
        (counts, COHORT),
        (pd.Series(counts, index=list("abcdefgh")), None),
        (counts.astype(int).tolist(), None),
    ]
    for active, size in variants:
        params = ShiftedBetaGeometric().fit(active, n_customers=size).params_
        assert params == pytest.approx(reference, rel=1e-6)


def test_cohort_size_sets_standard_errors_not_estimates() -> None:
    small = ShiftedBetaGeometric().fit(REGULAR[:8], n_customers=1000)
    large = ShiftedBetaGeometric().fit(REGULAR[:8], n_customers=4000)
    assert large.params_ == pytest.approx(small.params_, rel=1e-6)
    # Information grows linearly with the cohort, so standard errors halve.
    for name in ("alpha", "beta"):
        assert large.standard_errors_[name] == pytest.approx(
            small.standard_errors_[name] / 2, rel=1e-4
        )


def test_log_likelihood_matches_textbook_form_and_is_a_maximum() -> None:
    counts = _counts(HIGH_END)
    model = ShiftedBetaGeometric().fit(counts)
    alpha, beta = model.params_["alpha"], model.params_["beta"]
    assert model.log_likelihood_ == pytest.approx(_direct_loglik(counts, alpha, beta), rel=1e-12)
    for da, db in [(0.01, 0), (-0.01, 0), (0, 0.05), (0, -0.05), (0.01, 0.05)]:
        assert _direct_loglik(counts, alpha + da, beta + db) < model.log_likelihood_


def test_standard_errors_match_numerical_hessian() -> None:
    counts = _counts(REGULAR)
    model = ShiftedBetaGeometric().fit(counts)
    x = np.array([model.params_["alpha"], model.params_["beta"]])
    h = 1e-4
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hess[i, j] = (
                _direct_loglik(counts, *(x + ei + ej))
                - _direct_loglik(counts, *(x + ei - ej))
                - _direct_loglik(counts, *(x - ei + ej))
                + _direct_loglik(counts, *(x - ei - ej))
            ) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    assert [model.standard_errors_["alpha"], model.standard_errors_["beta"]] == pytest.approx(
        se, rel=1e-3
    )
    summary = model.summary
    assert summary.loc["alpha", "coef"] == model.params_["alpha"]
    assert summary.loc["beta", "se"] == model.standard_errors_["beta"]
    assert summary.loc["beta", "lower_95"] < model.params_["beta"] < summary.loc["beta", "upper_95"]


def test_summary_and_errors_match_the_other_models() -> None:
    """``summary`` is the same property, with the same columns, on every fitted model."""
    assert isinstance(ShiftedBetaGeometric.summary, property)
    assert ShiftedBetaGeometric.summary is BetaGeo.summary is GammaGamma.summary
    rng = np.random.default_rng(1)
    spend = pd.DataFrame(
        {"frequency": rng.integers(1, 6, 300), "monetary_value": rng.gamma(4.0, 10.0, 300)}
    )
    sbg = ShiftedBetaGeometric().fit(_counts(REGULAR))
    assert list(sbg.summary.columns) == list(GammaGamma().fit(spend).summary.columns)
    assert list(sbg.summary.index) == ["alpha", "beta"]
    assert repr(sbg).startswith("ShiftedBetaGeometric(alpha=0.7041, beta=1.182; n=1000")
    known = ShiftedBetaGeometric.from_params(0.7, 1.2)
    assert known.summary["se"].isna().all()
    with pytest.raises(NotFittedError, match=r"not fitted yet; call fit\(active\) or"):
        _ = ShiftedBetaGeometric().summary


# --------------------------------------------------------------------------- simulation


@pytest.mark.parametrize(("alpha", "beta"), [(0.7, 1.2), (2.0, 8.0)])
def test_recovers_parameters_from_simulated_cohort(alpha: float, beta: float) -> None:
    rng = np.random.default_rng(20070101)
    theta = rng.beta(alpha, beta, size=20_000)
    lifetime = rng.geometric(theta)  # T = 1, 2, ...: the period in which each customer churns
    active = np.array([(lifetime > t).sum() for t in range(11)])
    model = ShiftedBetaGeometric().fit(active)
    for name, true in (("alpha", alpha), ("beta", beta)):
        est, se = model.params_[name], model.standard_errors_[name]
        assert 0 < se < 0.15 * true
        assert abs(est - true) < 3 * se, (name, est, true, se)


# --------------------------------------------------------------------------- formulas


def test_closed_forms_for_uniform_churn_probability() -> None:
    # alpha = beta = 1: S(t) = 1 / (t + 1), P(T = t) = 1 / (t (t + 1)), r(t) = t / (t + 1).
    model = ShiftedBetaGeometric.from_params(1.0, 1.0)
    t = np.arange(1, 8)
    np.testing.assert_allclose(model.survival(t), 1 / (t + 1))
    np.testing.assert_allclose(model.churn_probability(t), 1 / (t * (t + 1)))
    np.testing.assert_allclose(model.retention_rate(t), t / (t + 1))
    assert model.survival(0) == 1.0
    assert isinstance(model.survival(3), float)


def test_survival_churn_and_retention_are_consistent() -> None:
    model = ShiftedBetaGeometric().fit(_counts(HIGH_END))
    t = np.arange(1, 40)
    s = model.survival(np.arange(0, 40))
    np.testing.assert_allclose(model.churn_probability(t), s[:-1] - s[1:], rtol=1e-10)
    np.testing.assert_allclose(model.retention_rate(t), s[1:] / s[:-1], rtol=1e-10)
    assert model.survival(1) == pytest.approx(
        model.params_["beta"] / (model.params_["alpha"] + model.params_["beta"])
    )


def _derl_by_summation(alpha: float, beta: float, d: float, k: int, terms: int = 200_000) -> float:
    """sum_{t > k} P(T > t | T > k) / (1 + d)^(t - k - 1), using S(t) = prod r(j)."""
    j = np.arange(1, k + terms + 1, dtype=float)
    log_r = np.log(beta + j - 1) - np.log(alpha + beta + j - 1)
    log_s = np.cumsum(log_r)  # log S(1), log S(2), ...
    log_s_k = log_s[k - 1] if k > 0 else 0.0
    t = j[k:]  # t = k + 1, k + 2, ...
    return float(np.sum(np.exp(log_s[k:] - log_s_k - (t - k - 1) * np.log1p(d))))


@pytest.mark.parametrize("d", [0.05, 0.1, 0.25])
@pytest.mark.parametrize(("alpha", "beta"), [(0.704, 1.182), (0.668, 3.806), (3.0, 10.0)])
def test_derl_matches_direct_summation(alpha: float, beta: float, d: float) -> None:
    model = ShiftedBetaGeometric.from_params(alpha, beta)
    ks = [0, 1, 4, 10]
    derl = model.discounted_expected_residual_lifetime(d, periods_survived=ks)
    expected = [_derl_by_summation(alpha, beta, d, k) for k in ks]
    np.testing.assert_allclose(derl, expected, rtol=1e-8)
    assert np.all(np.diff(derl) > 0)  # survivors are the loyal ones
    # DEL is valued at acquisition and counts the first period: 1 + DERL(k=0) one period later.
    assert model.discounted_expected_lifetime(d) == pytest.approx(
        1 + expected[0] / (1 + d), rel=1e-8
    )


def test_undiscounted_lifetime_is_mean_lifetime() -> None:
    alpha, beta = 2.5, 4.0
    model = ShiftedBetaGeometric.from_params(alpha, beta)
    assert model.discounted_expected_lifetime(0.0) == pytest.approx(
        (alpha + beta - 1) / (alpha - 1)
    )
    heavy_tail = ShiftedBetaGeometric.from_params(0.704, 1.182)  # E[T] infinite for alpha <= 1
    assert heavy_tail.discounted_expected_lifetime(0.0) == np.inf


@pytest.mark.parametrize(
    ("alpha", "beta", "d"),
    [
        # Found by test_derl_properties: DERL(k=5) needs 2F1(1, 69; 133; 1/1.0625), for which
        # scipy.special.hyp2f1 returns inf (alpha - 1 a whole number and z > 0.9).
        (64.0, 63.0, 0.0625),
        # hyp2f1 gives 2F1(1, 1.01; 2.01; 1/1.001) = -25.1, so DERL(k=0) came out negative.
        (1.0, 0.01, 0.001),
    ],
)
def test_derl_regressions(alpha: float, beta: float, d: float) -> None:
    model = ShiftedBetaGeometric.from_params(alpha, beta)
    ks = [0, 1, 5]
    derl = model.discounted_expected_residual_lifetime(d, periods_survived=ks)
    expected = [_derl_by_summation(alpha, beta, d, k) for k in ks]
    np.testing.assert_allclose(derl, expected, rtol=1e-10)
    assert model.discounted_expected_lifetime(d) == pytest.approx(1 + derl[0] / (1 + d), rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    alpha=st.one_of(st.integers(1, 300).map(float), st.floats(0.01, 1e4)),
    beta=st.floats(0.01, 1e6),
    k=st.integers(0, 1000),
    d=st.floats(0.001, 10.0),
)
def test_derl_matches_direct_summation_over_a_wide_range(
    alpha: float, beta: float, k: int, d: float
) -> None:
    """Whole-number alpha, large beta + k, rates down to 0.001: where hyp2f1 gave inf or NaN."""
    model = ShiftedBetaGeometric.from_params(alpha, beta)
    derl = model.discounted_expected_residual_lifetime(d, periods_survived=k)
    assert derl == pytest.approx(_derl_by_summation(alpha, beta, d, k), rel=1e-8)


def test_derl_near_a_zero_discount_rate() -> None:
    model = ShiftedBetaGeometric.from_params(3.0, 2.0)
    # d = 0: the expected number of further renewals, (beta + k) / (alpha - 1).
    assert model.discounted_expected_residual_lifetime(0.0, [0, 4]).tolist() == [1.0, 3.0]
    near = model.discounted_expected_residual_lifetime(1e-9, [0, 4])
    np.testing.assert_allclose(near, [1.0, 3.0], rtol=1e-6)
    assert model.discounted_expected_lifetime(1e-9) == pytest.approx(2.0, rel=1e-6)
    # alpha <= 1: infinite at d = 0, finite and growing towards it; d = 1e-10 with alpha, beta
    # near 0 is the slowest case the continued fraction is sized for.
    heavy = ShiftedBetaGeometric.from_params(0.03, 0.1)
    assert heavy.discounted_expected_residual_lifetime(0.0) == np.inf
    rates = [1e-2, 1e-5, 1e-8]
    values = [heavy.discounted_expected_residual_lifetime(d) for d in rates]
    assert np.all(np.diff(values) > 0)
    assert all(v <= (1 + d) / d for v, d in zip(values, rates, strict=True))
    assert 1 < heavy.discounted_expected_lifetime(1e-10) < (1 + 1e-10) / 1e-10


@pytest.mark.parametrize("d", [1.0, 1 / 64, 1e-3, 1e-6])
@pytest.mark.parametrize("beta", [0.1, 0.5, 0.9])
def test_del_closed_form_when_alpha_plus_beta_is_one(beta: float, d: float) -> None:
    """2F1(1, beta; 1; z) = (1 - z)^-beta, so DEL = ((1 + d) / d)^beta: exact down to small d.

    alpha = beta = 0.5 makes every coefficient of the continued fraction 1/4.
    """
    model = ShiftedBetaGeometric.from_params(1 - beta, beta)
    exact = ((1 + d) / d) ** beta
    assert model.discounted_expected_lifetime(d) == pytest.approx(exact, rel=1e-13 / d)


def test_derl_reports_a_rate_too_close_to_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sbg_module, "_CF_MAX_STEPS", 1000)
    model = ShiftedBetaGeometric.from_params(0.03, 0.1)
    with pytest.raises(ValueError, match=r"rate 1e-08 per period is too close to 0.*=0"):
        model.discounted_expected_residual_lifetime(1e-8)
    assert np.isfinite(model.discounted_expected_residual_lifetime(0.1))


def test_project_table() -> None:
    model = ShiftedBetaGeometric().fit(_counts(REGULAR))
    table = model.project(10)
    assert list(table.index) == list(range(11))
    assert table.index.name == "period"
    assert list(table.columns) == [
        "survival",
        "retention_rate",
        "churn_probability",
        "expected_active",
        "observed_active",
        "projected",
    ]
    np.testing.assert_allclose(table["observed_active"].iloc[:8], _counts(REGULAR))
    assert table["observed_active"].iloc[8:].isna().all()
    assert np.isnan(table.loc[0, "retention_rate"]) and np.isnan(table.loc[0, "churn_probability"])
    assert table.loc[0, "expected_active"] == COHORT
    short = model.project(3)
    assert len(short) == 4 and not short["projected"].any()


def test_fit_runs_through_the_shared_fitting_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """One optimiser, one parameter box and one set of checks for every model."""
    calls = []
    shared = base_module.fit_log_params

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return shared(*args, **kwargs)

    monkeypatch.setattr(base_module, "fit_log_params", spy)
    model = ShiftedBetaGeometric(tol=1e-11, max_iter=500).fit(_counts(REGULAR))
    assert len(calls) == 1
    (_, x0, names, scale, name), options = calls[0]
    assert names == ("alpha", "beta") and name == "sBG" and scale == COHORT
    assert np.shape(x0) == (2, 2)  # moment-matching start and alpha = beta = 1
    assert options["tol"] == 1e-11 and options["max_iter"] == 500
    assert {k: round(v, 3) for k, v in model.params_.items()} == PUBLISHED["regular"][1]
    assert model.optimizer_result_.x.max() < base_module.LOG_BOUND
    assert not hasattr(sbg_module, "optimize")


def test_fit_is_deterministic_and_does_not_mutate_input() -> None:
    counts = _counts(REGULAR)
    copy = counts.copy()
    first = ShiftedBetaGeometric().fit(counts)
    second = ShiftedBetaGeometric().fit(counts)
    assert first.params_ == second.params_
    np.testing.assert_array_equal(counts, copy)
    assert first.fit(counts) is first


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("active", "kwargs", "message"),
    [
        ([1000, 600], {}, r"at least 3 values .* got 2"),
        ([1000], {}, r"at least 3 values .* got 1"),
        ([1000, 600, 700, 500, 650], {}, r"must not increase.*2 value\(s\).*700 at position 2"),
        ([1000, -1, -2], {}, r"2 negative value\(s\).*-1 at position 1"),
        ([1000, 600, np.nan, 400], {}, r"1 missing or infinite value\(s\).*position 2"),
        ([1000, 600, None, 400], {}, r"1 missing or infinite value\(s\).*None at position 2"),
        ([1000, 600, np.inf], {}, r"missing or infinite"),
        ([1000, "600", "x"], {}, r"must hold numbers; 2 value\(s\).*'600' at position 1"),
        ([True, False, False], {}, r"must hold numbers"),
        ([[1000, 600], [500, 400]], {}, r"one-dimensional"),
        ([0, 0, 0], {}, r"positive cohort size"),
        ([1000, 1000, 1000], {}, r"no customer churned"),
        ([1000, 0, 0], {}, r"every customer churned in the first period"),
        ([50, 31, 23], {"n_customers": 1000}, r"starting at 1 .* or 100 .* it starts at 50"),
        ([100, 63, 47], {"n_customers": -5}, r"n_customers must be a positive number"),
    ],
)
def test_fit_rejects_bad_input(active: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShiftedBetaGeometric().fit(active, **kwargs)


@pytest.mark.parametrize(
    ("active", "message"),
    [
        ([1000, 500, 250, 125, 62.5], r"no heterogeneity.*0\.5 per period"),
        ([1000, 500, 500, 500], r"edge of the parameter space"),
    ],
)
def test_fit_without_interior_maximum_raises_convergence_error(active: list, message: str) -> None:
    with pytest.raises(ConvergenceError, match=message):
        ShiftedBetaGeometric().fit(active)


def test_fit_rejects_dataframe() -> None:
    with pytest.raises(ValueError, match="not a DataFrame"):
        ShiftedBetaGeometric().fit(pd.DataFrame({"active": [1000, 600, 400]}))


def test_non_convergence_is_reported() -> None:
    with pytest.raises(ConvergenceError, match="did not converge.*max_iter"):
        ShiftedBetaGeometric(max_iter=1).fit(_counts(REGULAR))


def test_unfitted_model_and_bad_arguments() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        ShiftedBetaGeometric().survival(1)
    with pytest.raises(NotFittedError, match="not fitted"):
        ShiftedBetaGeometric().discounted_expected_residual_lifetime(0.1)
    model = ShiftedBetaGeometric.from_params(0.7, 1.2)
    with pytest.raises(ValueError, match=r"t must be whole periods >= 0; 2 value\(s\).*-1"):
        model.survival([0, -1, 2.5])
    with pytest.raises(ValueError, match=r"t must be whole periods >= 1; 1 value\(s\).*0 at"):
        model.retention_rate([0, 1])
    with pytest.raises(ValueError, match=r"t must be whole periods >= 1"):
        model.churn_probability(0)
    with pytest.raises(ValueError, match="discount_rate must be a non-negative"):
        model.discounted_expected_residual_lifetime(-0.1)
    with pytest.raises(ValueError, match="discount_rate must be a non-negative"):
        model.discounted_expected_lifetime(float("nan"))
    with pytest.raises(ValueError, match="periods_survived must be whole periods >= 0"):
        model.discounted_expected_residual_lifetime(0.1, periods_survived=-1)
    with pytest.raises(ValueError, match="horizon must be whole periods"):
        model.project(-3)
    with pytest.raises(ValueError, match="alpha must be a positive finite number"):
        ShiftedBetaGeometric.from_params(0.0, 1.0)
    with pytest.raises(ValueError, match="beta must be a positive finite number"):
        ShiftedBetaGeometric.from_params(1.0, "x")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

positive = st.floats(min_value=0.01, max_value=100.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(alpha=positive, beta=positive, horizon=st.integers(min_value=1, max_value=500))
def test_survival_curve_properties(alpha: float, beta: float, horizon: int) -> None:
    model = ShiftedBetaGeometric.from_params(alpha, beta)
    s = model.survival(np.arange(horizon + 1))
    assert s[0] == 1.0
    assert np.all((s > 0) & (s <= 1))
    assert np.all(np.diff(s) <= 1e-12)
    r = model.retention_rate(np.arange(1, horizon + 1))
    assert np.all((r > 0) & (r < 1))
    assert np.all(np.diff(r) >= 0)
    np.testing.assert_allclose(np.cumprod(r), s[1:], rtol=1e-9)


@settings(max_examples=100, deadline=None)
@given(alpha=positive, beta=positive, d=st.floats(min_value=0.01, max_value=1.0))
def test_derl_properties(alpha: float, beta: float, d: float) -> None:
    model = ShiftedBetaGeometric.from_params(alpha, beta)
    derl = model.discounted_expected_residual_lifetime(d, periods_survived=[0, 1, 5])
    # Bounded by the perpetuity 1/d + 1 (every future renewal certain) and increasing in k.
    assert np.all((derl > 0) & (derl <= (1 + d) / d * (1 + 1e-9)))
    assert np.all(np.diff(derl) >= -1e-12)
    assert model.discounted_expected_lifetime(d) == pytest.approx(1 + derl[0] / (1 + d), rel=1e-9)


def test_known_parameters_round_trip_through_json(tmp_path) -> None:
    from retention.models.persistence import load_model

    model = ShiftedBetaGeometric.from_params(alpha=0.668, beta=3.806, n_customers=500)
    model.save(tmp_path / "sbg.json")
    loaded = load_model(tmp_path / "sbg.json")
    assert loaded.params_ == model.params_ and loaded.n_customers_ == 500
    assert all(np.isnan(v) for v in loaded.standard_errors_.values())
    assert np.isnan(loaded.log_likelihood_)
    periods = np.arange(10)
    assert np.array_equal(loaded.expected_active(periods), model.expected_active(periods))


def test_fitted_model_has_covariance_for_intervals() -> None:
    from retention.models.intervals import prediction_interval

    model = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    assert model.covariance_.shape == (2, 2)
    assert np.sqrt(model.covariance_.loc["alpha", "alpha"]) == model.standard_errors_["alpha"]
    pi = prediction_interval(model, "retention_rate", [1, 2, 3], n_draws=200)
    assert np.all((pi.low < pi.value) & (pi.value < pi.high))


# --------------------------------------------------------------------------- penalizer


def _log_size(model: ShiftedBetaGeometric) -> float:
    return float(np.sum(np.log(list(model.params_.values())) ** 2))


def test_penalizer_shrinks_the_log_parameters() -> None:
    # high end: beta = 3.8, far from 1, so the penalty has something to shrink
    plain = ShiftedBetaGeometric().fit(_counts(HIGH_END))
    shrunk = ShiftedBetaGeometric(penalizer=0.01).fit(_counts(HIGH_END))
    assert _log_size(shrunk) < 0.8 * _log_size(plain)
    assert shrunk.log_likelihood_ < plain.log_likelihood_  # the unpenalised likelihood falls
    assert shrunk.fit_options_["penalizer"] == 0.01


def test_penalizer_zero_is_the_unpenalised_fit() -> None:
    plain = ShiftedBetaGeometric().fit(_counts(HIGH_END))
    zero = ShiftedBetaGeometric(penalizer=0).fit(_counts(HIGH_END))
    assert zero.params_ == plain.params_
    assert zero.log_likelihood_ == plain.log_likelihood_
    assert zero.fit_options_["penalizer"] == plain.fit_options_["penalizer"] == 0.0


@pytest.mark.parametrize("bad", [-1, float("nan"), True, "x"])
def test_penalizer_must_be_a_nonnegative_number(bad) -> None:
    with pytest.raises(ValueError, match="penalizer"):
        ShiftedBetaGeometric(penalizer=bad)
