"""Pareto/NBD: published CDNOW fit, lifetimes' values, large histories, recovery, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate

from retention.models import ConvergenceError, NotFittedError
from retention.models.paretonbd import (
    ParetoNBD,
    _log_hyp2f1_unit_a,
    _log_tail,
    _log_tail_quadrature,
    _log_terms,
    _ParetoNBDLikelihood,
)

PAPER = {"r": 0.5531, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}  # FHL (2005), weeks


@pytest.fixture
def paper_model() -> ParetoNBD:
    model = ParetoNBD()
    model.params_ = dict(PAPER)
    return model


def simulate_pareto_nbd(n: int, r: float, alpha: float, s: float, beta: float, seed: int,
                        weeks: tuple[float, float] = (26, 52)) -> pd.DataFrame:
    """Customers observed for T in ``weeks``: exponential lifetimes, Poisson purchases."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    T = rng.uniform(*weeks, n)
    active = np.minimum(rng.exponential(1 / mu), T)  # purchases happen in (0, active]
    x = rng.poisson(lam * active)
    # the last of x uniform purchase times on (0, active]
    tx = np.where(x > 0, active * rng.uniform(size=n) ** (1 / np.maximum(x, 1)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def _log_between_reference(r, alpha, s, beta, x, lo, hi):
    """log of s * int_lo^hi (alpha+u)^-(r+x) (beta+u)^-(s+1) du, by quad in w = log(u)."""
    shift = (r + x) * np.log(alpha + max(lo, 1e-300)) + (s + 1) * np.log(beta + lo)

    def f(w):
        u = np.exp(w)
        return np.exp(w - (r + x) * np.log(alpha + u) - (s + 1) * np.log(beta + u) + shift)

    edges = np.linspace(np.log(lo) if lo > 0 else -60.0, np.log(hi), 400)
    total = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=200)[0]
                for a, b in zip(edges[:-1], edges[1:], strict=True))
    return np.log(s) + np.log(total) - shift


# ---------------------------------------------------------------------------------------------
# CDNOW (Fader, Hardie & Lee 2005)
# ---------------------------------------------------------------------------------------------


def test_cdnow_reproduces_published_pareto_nbd_fit(cdnow_summary):
    model = ParetoNBD().fit(cdnow_summary)
    for name, value in PAPER.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-3), name
    assert round(model.log_likelihood_, 2) == -9594.98
    assert model.n_customers_ == 2357
    assert model.time_unit_ == "W"
    se = model.standard_errors_
    assert all(0 < se[k] < 0.6 * model.params_[k] for k in PAPER)
    assert list(model.summary.columns) == ["coef", "se", "lower_95", "upper_95"]


def test_cdnow_likelihood_at_published_parameters(cdnow_summary):
    nll = _ParetoNBDLikelihood(*(cdnow_summary[c].to_numpy(float)
                                 for c in ("frequency", "recency", "T")),
                               np.ones(len(cdnow_summary)))
    assert nll.log_likelihood(np.array(list(PAPER.values()))) == pytest.approx(-9594.98,
                                                                              abs=5e-3)


# ---------------------------------------------------------------------------------------------
# predictions against lifetimes
# ---------------------------------------------------------------------------------------------

# Computed once with lifetimes 0.11.3 (/work/main/.venv-lifetimes/bin/python) on
# ParetoNBDFitter with params_ = PAPER: conditional_probability_alive(x, t_x, T) and
# conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T).
LIFETIMES_HISTORIES = [
    # (x, t_x, T), P(alive), E[purchases in the next 39 weeks]
    ((0, 0.0, 38.86), 0.29519033148139, 0.1070640328845897),
    ((2, 30.43, 38.86), 0.8691320859201223, 1.455095239678262),
    ((5, 10.0, 35.0), 0.07485247652705995, 0.29207438925779783),
    ((1, 1.0, 39.0), 0.14979714049476917, 0.15219207277835853),
    ((10, 38.0, 39.0), 0.9866164675908515, 6.811103857980911),
    ((20, 20.0, 39.0), 0.0013150020199212086, 0.017680430862994173),
]
# expected_number_of_purchases_up_to_time(t) for t = 1, 39, 78
LIFETIMES_NEW = [0.050997102596916824, 1.2133024612665606, 1.909764573861444]
# conditional_probability_of_n_purchases_up_to_time(n, 39, 0, 0, 0) for n = 0, 1, 2, 5
LIFETIMES_PMF = [0.5935709026306404, 0.1655714211285324, 0.08249546150054803,
                 0.021489425294405763]


@pytest.mark.parametrize(("history", "alive", "expected"), LIFETIMES_HISTORIES)
def test_conditional_predictions_match_lifetimes(paper_model, history, alive, expected):
    x, tx, T = history
    assert paper_model.probability_alive(x, tx, T) == pytest.approx(alive, rel=1e-10)
    assert paper_model.conditional_expected_purchases(39, x, tx, T) == pytest.approx(
        expected, rel=1e-10)


def test_new_customer_predictions_match_lifetimes(paper_model):
    t = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(paper_model.expected_purchases_new(t), LIFETIMES_NEW,
                               rtol=1e-10)
    np.testing.assert_allclose(paper_model.probability_of_purchases([0, 1, 2, 5], 39.0),
                               LIFETIMES_PMF, rtol=1e-10)


def test_purchase_count_distribution_sums_to_one_with_right_mean(paper_model):
    k = np.arange(600)
    for t in (1.0, 39.0, 78.0):
        pmf = paper_model.probability_of_purchases(k, t)
        assert (pmf >= 0).all()
        assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert (k * pmf).sum() == pytest.approx(paper_model.expected_purchases_new(t), rel=1e-8)
    assert paper_model.probability_of_purchases(0, 0.0) == 1.0


def test_series_inputs_keep_the_index(paper_model):
    s = pd.DataFrame({"frequency": [0, 3], "recency": [0.0, 20.0], "T": [30.0, 30.0]},
                     index=["u", "v"])
    alive = paper_model.probability_alive(s["frequency"], s["recency"], s["T"])
    assert isinstance(alive, pd.Series) and list(alive.index) == ["u", "v"]
    expected = paper_model.conditional_expected_purchases(10, s["frequency"], s["recency"],
                                                          s["T"])
    assert list(expected.index) == ["u", "v"]
    assert isinstance(paper_model.expected_purchases_new(np.array([1.0, 2.0])), np.ndarray)


def test_s_equal_to_one_is_the_limit(paper_model):
    near = ParetoNBD()
    near.params_ = {**PAPER, "s": 1.0 + 1e-9}
    at = ParetoNBD()
    at.params_ = {**PAPER, "s": 1.0}
    assert at.expected_purchases_new(39.0) == pytest.approx(near.expected_purchases_new(39.0),
                                                            rel=1e-7)
    assert at.conditional_expected_purchases(39, 2, 30.0, 38.0) == pytest.approx(
        near.conditional_expected_purchases(39, 2, 30.0, 38.0), rel=1e-7)


# ---------------------------------------------------------------------------------------------
# numerics: large histories
# ---------------------------------------------------------------------------------------------

LARGE = [(500, 999.0, 1000.0), (500, 500.0, 1000.0), (500, 1.0, 1000.0), (0, 0.0, 1000.0),
         (2000, 10.0, 1000.0), (1, 0.001, 1000.0)]
PARAMS = [(0.5531, 10.5763, 0.6062, 11.6715), (2.0, 0.5, 0.3, 200.0), (1.0, 300.0, 1.0, 0.01),
          (0.1, 0.01, 3.0, 1e4), (3.0, 2.0, 2.0, 2.0)]


@pytest.mark.parametrize("theta", PARAMS)
def test_likelihood_is_finite_and_exact_for_large_histories(theta):
    x, tx, T = (np.array(c, dtype=float) for c in zip(*LARGE, strict=True))
    alive, dead = _log_terms(*theta, x, tx, T)
    assert np.isfinite(alive).all() and np.isfinite(dead).all()
    for i, (xi, txi, Ti) in enumerate(LARGE):
        assert dead[i] == pytest.approx(_log_between_reference(*theta, xi, txi, Ti),
                                        rel=1e-11, abs=1e-9)


def test_fit_and_predictions_on_long_heavy_histories():
    # up to 1000 weeks and hundreds of purchases, where lifetimes' hypergeometric term fails
    true = {"r": 2.0, "alpha": 4.0, "s": 0.5, "beta": 200.0}
    data = simulate_pareto_nbd(3000, **true, seed=7, weeks=(500, 1000))
    assert data["frequency"].max() > 500
    model = ParetoNBD().fit(data)
    assert np.isfinite(model.log_likelihood_)
    for name, value in true.items():
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name], name
    alive = model.probability_alive(data["frequency"], data["recency"], data["T"])
    assert alive.between(0, 1).all()
    future = model.conditional_expected_purchases(52, data["frequency"], data["recency"],
                                                  data["T"])
    assert np.isfinite(future).all() and (future >= 0).all()


def test_continued_fraction_matches_closed_forms():
    z = np.array([0.0, 0.5, 0.9, 0.999999])
    # 2F1(1, 1; 2; z) = -log(1-z)/z, 2F1(1, b; b; z) = 1/(1-z) (gap -> 0 limit is not used)
    expected = np.where(z > 0, -np.log1p(-z) / np.where(z > 0, z, 1.0), 1.0)
    np.testing.assert_allclose(np.exp(_log_hyp2f1_unit_a(np.ones(4), np.ones(4), z)),
                               expected, rtol=1e-9)
    # 2F1(1, b; b+1; z) = b z^-b B_z(b, 0) -> with b = 2: (-log(1-z) - z) * 2 / z^2
    zz = z[1:]
    np.testing.assert_allclose(
        np.exp(_log_hyp2f1_unit_a(np.full(3, 2.0), np.ones(3), zz)),
        2 * (-np.log1p(-zz) - zz) / zz**2, rtol=1e-8)


def test_tail_quadrature_agrees_with_continued_fraction():
    # the quadrature stands in for the continued fraction within 1e-4 of z = 1
    x = np.array([0.0, 1.0, 5.0, 50.0, 500.0, 2000.0])
    y = np.array([0.0, 0.3, 10.0, 100.0, 1.0, 900.0])
    for theta in PARAMS:
        np.testing.assert_allclose(_log_tail_quadrature(*theta, x, y), _log_tail(*theta, x, y),
                                   rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------

params = st.fixed_dictionaries({
    "r": st.floats(0.05, 5), "alpha": st.floats(0.1, 100),
    "s": st.floats(0.05, 5), "beta": st.floats(0.1, 1000),
})
histories = st.tuples(st.integers(0, 600), st.floats(0, 1), st.floats(0.01, 1000)).map(
    lambda h: (h[0], h[1] * h[2] if h[0] > 0 else 0.0, h[2]))


@settings(max_examples=200, deadline=None)
@given(p=params, h=histories)
def test_probability_alive_is_a_probability(p, h):
    model = ParetoNBD()
    model.params_ = p
    x, tx, T = h
    alive = model.probability_alive(x, tx, T)
    assert 0.0 <= alive <= 1.0
    # longer silence since the last purchase -> less likely alive
    assert model.probability_alive(x, tx, T + 10) <= alive + 1e-9
    # a later last purchase (same x, same T) -> more likely alive
    if x > 0:
        assert model.probability_alive(x, (tx + T) / 2, T) >= alive - 1e-9
    expected = model.conditional_expected_purchases(10, x, tx, T)
    assert np.isfinite(expected) and expected >= 0
    assert model.conditional_expected_purchases(20, x, tx, T) >= expected


@settings(max_examples=100, deadline=None)
@given(p=params, t=st.floats(0.1, 100))
def test_new_customer_is_the_zero_history_case(p, t):
    model = ParetoNBD()
    model.params_ = p
    new = model.expected_purchases_new(t)
    assert new >= 0
    assert model.conditional_expected_purchases(t, 0, 0.0, 0.0) == pytest.approx(new, rel=1e-8)
    assert model.expected_purchases_new(2 * t) >= new


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------

TRUE = {"r": 0.55, "alpha": 10.5, "s": 0.6, "beta": 11.7}


def test_recovers_simulated_parameters():
    data = simulate_pareto_nbd(6000, **TRUE, seed=0)
    model = ParetoNBD().fit(data)
    for name, value in TRUE.items():
        se = model.standard_errors_[name]
        assert 0 < se < 0.6 * value, name  # the tolerance below is informative
        assert abs(model.params_[name] - value) < 4 * se, name


def test_numeric_gradient_is_accurate():
    data = simulate_pareto_nbd(1000, **TRUE, seed=1)
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(data))
    nll = _ParetoNBDLikelihood(*(data[c].to_numpy(float) for c in ("frequency", "recency", "T")),
                               w)
    theta = np.array([0.4, 8.0, 0.9, 15.0])
    _, grad = nll(theta)
    for j in range(4):
        h = 1e-4 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        # fourth-order central difference as the reference
        up2, down2 = theta.copy(), theta.copy()
        up2[j] += 2 * h
        down2[j] -= 2 * h
        f = nll.log_likelihood
        ref = -(-f(up2) + 8 * f(up) - 8 * f(down) + f(down2)) / (12 * h)
        assert grad[j] == pytest.approx(ref, rel=1e-6), j


def test_weights_equal_repeated_rows():
    data = simulate_pareto_nbd(600, **TRUE, seed=3).round(1)
    counts = data.value_counts().rename("n").reset_index()
    expanded = ParetoNBD().fit(data)
    weighted = ParetoNBD().fit(counts, weights="n")
    for k in TRUE:
        assert weighted.params_[k] == pytest.approx(expanded.params_[k], rel=1e-5)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-9)
    assert weighted.n_customers_ == 600


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

GOOD = pd.DataFrame({"frequency": [0, 2, 1, 3], "recency": [0.0, 5.0, 3.0, 9.0],
                     "T": [10.0, 10.0, 12.0, 10.0]}, index=["a", "b", "c", "d"])


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"frequency": [0, -1, 1, -2]}, r"'frequency' has 2 negative value\(s\).*\['b', 'd'\]"),
        ({"recency": [0.0, np.nan, 3.0, 9.0]}, r"'recency' has 1 missing or infinite.*\['b'\]"),
        ({"frequency": [0, 2.5, 1, 3]}, r"'frequency' has 1 non-integer value\(s\).*\['b'\]"),
        ({"recency": [0.0, 11.0, 3.0, 12.0]},
         r"recency has 2 value\(s\) greater than T, e.g. at rows \['b', 'd'\]"),
        ({"T": [10.0, np.inf, 12.0, 10.0]}, r"'T' has 1 missing or infinite"),
        ({"frequency": [0, 0, 1, 3]},
         r"recency has 1 value\(s\) above 0 while frequency is 0.*\['b'\]"),
    ],
)
def test_bad_values_are_counted_with_examples(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        ParetoNBD().fit(GOOD.assign(**changes))


def test_structural_errors(paper_model):
    with pytest.raises(ValueError, match=r"missing column\(s\) 'T' \(T=\).*available columns"):
        ParetoNBD().fit(GOOD.drop(columns="T"))
    with pytest.raises(ValueError, match="empty"):
        ParetoNBD().fit(GOOD.iloc[:0])
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        ParetoNBD().fit(GOOD.assign(frequency=0, recency=0.0))
    with pytest.raises(ValueError, match="weights has 2 values but the summary has 4 rows"):
        ParetoNBD().fit(GOOD, weights=[1, 2])
    with pytest.raises(NotFittedError, match=r"not fitted yet.*\.fit\(summary\)"):
        ParetoNBD().probability_alive(1, 1, 2)
    with pytest.raises(ValueError, match=r"recency has 1 value\(s\) greater than T"):
        paper_model.probability_alive([1, 2], [3.0, 5.0], [4.0, 4.0])
    with pytest.raises(ValueError, match="negative"):
        paper_model.conditional_expected_purchases(-1, 1, 1.0, 2.0)
    with pytest.raises(ValueError, match="whole numbers"):
        paper_model.probability_of_purchases(1.5, 10.0)


def test_unidentified_data_raise_convergence_error():
    # every repeat buyer bought on the last day: nobody ever drops out, s/beta -> 0
    rng = np.random.default_rng(0)
    T = rng.uniform(20, 40, 500)
    x = rng.poisson(3, 500)
    data = pd.DataFrame({"frequency": x, "recency": np.where(x > 0, T, 0.0), "T": T})
    with pytest.raises(ConvergenceError, match="do not identify the model|did not"):
        ParetoNBD().fit(data)


# one rule for impossible histories, in every model taking (frequency, recency, T)
# ---------------------------------------------------------------------------------------------

def _fitted_models():
    from retention.models import BetaGeo, BetaGeoBetaBinom, ModifiedBetaGeo

    params = {
        BetaGeo: {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259},
        ModifiedBetaGeo: {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
        ParetoNBD: {"r": 0.5531, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715},
        BetaGeoBetaBinom: {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783},
    }
    models = []
    for cls, p in params.items():
        model = cls()
        model.params_ = p
        models.append(model)
    return models


IMPOSSIBLE = [
    ([1, 2, 3], [5.0, 9.0, 5.0], [8.0, 8.0, 8.0],
     r"recency has 1 value\(s\) greater than T, e.g. at rows \['b'\]: recency=9.0 with T=8.0"),
    ([0, 0, 2], [0.0, 3.0, 5.0], [8.0, 8.0, 8.0],
     r"recency has 1 value\(s\) above 0 while frequency is 0 .*rows \['b'\] \(values \[3.0\]"),
    ([1, -2, 3], [5.0, 5.0, 5.0], [8.0, 8.0, 8.0],
     r"frequency has 1 negative value\(s\), e.g. at rows \['b'\]"),
    ([1, 2, 3], [5.0, np.nan, 5.0], [8.0, 8.0, 8.0],
     r"recency has 1 missing or infinite value\(s\), e.g. at rows \['b'\]"),
    ([1, 2, 3], [5.0, 5.0, 5.0], [8.0, np.inf, 8.0], r"T has 1 missing or infinite value\(s\)"),
]


@pytest.mark.parametrize("model", _fitted_models(), ids=lambda m: type(m).__name__)
@pytest.mark.parametrize(("frequency", "recency", "T", "message"), IMPOSSIBLE)
def test_every_model_refuses_impossible_histories_alike(model, frequency, recency, T, message):
    idx = pd.Index(["a", "b", "c"])
    x, tx, big_t = (pd.Series(v, index=idx, dtype=float) for v in (frequency, recency, T))
    with pytest.raises(ValueError, match=message):
        model.probability_alive(x, tx, big_t)
    with pytest.raises(ValueError, match=message):
        model.conditional_expected_purchases(2, x, tx, big_t)
    assert np.all(np.isfinite(model.probability_alive([0, 1, 2], [0.0, 5.0, 8.0], 8.0)))


def test_discrete_histories_also_need_whole_numbers_and_enough_opportunities():
    bgbb = _fitted_models()[-1]
    with pytest.raises(ValueError, match=r"recency has 1 non-integer value"):
        bgbb.probability_alive(1, 1.5, 4)
    with pytest.raises(ValueError, match=r"frequency has 1 value\(s\) greater than recency, "
                                         r"e.g. at positions \[0\]: frequency=3.0 with "
                                         r"recency=2.0"):
        bgbb.conditional_expected_purchases(2, 3, 2, 4)
    with pytest.raises(ValueError, match=r"t has 1 non-integer value"):
        bgbb.conditional_expected_purchases(1.5, 1, 1, 4)


@pytest.mark.parametrize("model", _fitted_models()[:3], ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("kind", ["probability_alive", "expected_purchases"])
def test_frequency_recency_matrix_works_for_every_continuous_model(model, kind):
    from retention.models.diagnostics import frequency_recency_matrix

    m = frequency_recency_matrix(model, 8.0, max_frequency=3, recency_step=2, kind=kind)
    assert m.loc[0, 0.0] == m.loc[0, 0.0]  # finite where possible
    assert np.isnan(m.loc[0, 2.0]) and np.isfinite(m.loc[2, 8.0])


# ---------------------------------------------------------------------------------------------
# penalizer
# ---------------------------------------------------------------------------------------------


def _log_size(model: ParetoNBD) -> float:
    return float(np.sum(np.log(list(model.params_.values())) ** 2))


@pytest.fixture(scope="module")
def penalizer_sample() -> pd.DataFrame:
    return simulate_pareto_nbd(400, **TRUE, seed=5)


def test_penalizer_shrinks_the_log_parameters(penalizer_sample):
    plain = ParetoNBD().fit(penalizer_sample)
    shrunk = ParetoNBD(penalizer=0.1).fit(penalizer_sample)
    assert _log_size(shrunk) < 0.8 * _log_size(plain)
    assert shrunk.log_likelihood_ < plain.log_likelihood_  # the unpenalised likelihood falls
    assert shrunk.fit_options_["penalizer"] == 0.1


def test_penalizer_zero_is_the_unpenalised_fit(penalizer_sample):
    plain, zero = ParetoNBD().fit(penalizer_sample), ParetoNBD(penalizer=0).fit(penalizer_sample)
    assert zero.params_ == plain.params_
    assert zero.log_likelihood_ == plain.log_likelihood_
    assert zero.fit_options_["penalizer"] == plain.fit_options_["penalizer"] == 0.0


@pytest.mark.parametrize("bad", [-1, float("nan"), True, "x"])
def test_penalizer_must_be_a_nonnegative_number(bad):
    with pytest.raises(ValueError, match="penalizer"):
        ParetoNBD(penalizer=bad)
