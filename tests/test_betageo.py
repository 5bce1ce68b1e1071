"""BG/NBD: published CDNOW fit, closed forms against integration, parameter recovery, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate, optimize, special, stats

from retention.models import BetaGeo, ConvergenceError, NotFittedError
from retention.models.betageo import _BGNBDLikelihood

PAPER = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}  # FHL (2005), weeks


@pytest.fixture
def paper_model() -> BetaGeo:
    bgf = BetaGeo()
    bgf.params_ = dict(PAPER)
    return bgf


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, seed: int) -> pd.DataFrame:
    """Customers observed for T in [26, 52] weeks; x = min(Poisson count, geometric dropout)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(26, 52, n)
    n_events = rng.poisson(lam * T)  # purchases in (0, T] if the customer never dropped out
    dropout_at = rng.geometric(p)  # drops out right after this repeat purchase
    x = np.minimum(n_events, dropout_at)
    # the x-th of n_events uniform purchase times on (0, T]
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), n_events - x + 1), 0.0)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


# ---------------------------------------------------------------------------------------------
# CDNOW (Fader, Hardie & Lee 2005)
# ---------------------------------------------------------------------------------------------


def test_cdnow_summary_shape(cdnow_summary):
    assert len(cdnow_summary) == 2357
    assert int((cdnow_summary["frequency"] > 0).sum()) == 946
    assert cdnow_summary["T"].max() == pytest.approx(272 / 7)  # 1997-01-01 .. 1997-09-30


def test_cdnow_reproduces_published_bgnbd_fit(cdnow_summary):
    bgf = BetaGeo().fit(cdnow_summary)
    for name, value in PAPER.items():
        assert bgf.params_[name] == pytest.approx(value, rel=1e-3), name
    assert bgf.log_likelihood_ == pytest.approx(-9582.43, rel=1e-3)
    assert round(bgf.log_likelihood_, 2) == -9582.43
    assert bgf.n_customers_ == 2357
    assert bgf.time_unit_ == "W"
    se = bgf.standard_errors_
    assert all(0 < se[k] < 0.3 * bgf.params_[k] for k in PAPER)


def test_cdnow_fit_does_not_depend_on_time_unit(cdnow_summary):
    weeks = BetaGeo().fit(cdnow_summary)
    days = BetaGeo().fit(cdnow_summary.assign(recency=cdnow_summary["recency"] * 7,
                                              T=cdnow_summary["T"] * 7))
    assert days.params_["alpha"] == pytest.approx(7 * weeks.params_["alpha"], rel=1e-5)
    for k in ("r", "a", "b"):
        assert days.params_[k] == pytest.approx(weeks.params_[k], rel=1e-5)


def test_paper_worked_example(paper_model):
    # FHL (2005): a customer with x = 2, t_x = 30.43, T = 38.86 weeks is expected to make
    # 1.226 purchases in the next 39 weeks.
    assert paper_model.conditional_expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(
        1.226, abs=5e-4)


# ---------------------------------------------------------------------------------------------
# closed forms against direct integration over (lambda, p)
# ---------------------------------------------------------------------------------------------


# Over p: quad with the algebraic weight q^(a-1) (1-q)^(b-1) (the Beta kernel). Over lambda:
# the elementary Gamma integral  int lam^x e^(-lam s) g(lam) dlam = G(s) below. The closed
# forms under test (hyp2f1, negative binomial) are not used.


def _over_p(paper_model, f):
    p = paper_model.params_
    value, _ = integrate.quad(f, 0, 1, weight="alg", wvar=(p["a"] - 1, p["b"] - 1),
                              epsabs=0, epsrel=1e-10, limit=200)
    return value / special.beta(p["a"], p["b"])


def _gamma_moment(paper_model, x, s):
    p = paper_model.params_
    r, alpha = p["r"], p["alpha"]
    return np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                  - (r + x) * np.log(alpha + s))


def test_expected_purchases_new_matches_integral(paper_model):
    # E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p
    t = 20.0
    r, alpha = PAPER["r"], PAPER["alpha"]
    direct = _over_p(paper_model, lambda q: (1 - _gamma_moment(paper_model, 0, q * t)) / q
                     if q > 0 else r * t / alpha)  # limit at q = 0
    assert paper_model.expected_purchases_new(t) == pytest.approx(direct, rel=1e-7)


@pytest.mark.parametrize(("x", "tx", "T"), [(2, 30.43, 38.86), (0, 0.0, 20.0), (5, 10.0, 35.0)])
def test_conditional_expectation_and_alive_match_integrals(paper_model, x, tx, T):
    t = 39.0

    def alive_lik(q):  # P(data, alive at T | p), lambda integrated out
        return (1 - q) ** x * _gamma_moment(paper_model, x, T)

    def dead_lik(q):
        return q * (1 - q) ** (x - 1) * _gamma_moment(paper_model, x, tx) if x > 0 else 0.0

    def future(q):  # alive, times E[purchases in (T, T+t] | alive, lambda, p]
        if q == 0:  # limit: t * E[lambda^(x+1) e^(-lambda T)]
            return t * _gamma_moment(paper_model, x + 1, T)
        return (1 - q) ** x * (_gamma_moment(paper_model, x, T)
                               - _gamma_moment(paper_model, x, T + q * t)) / q

    evidence = _over_p(paper_model, lambda q: alive_lik(q) + dead_lik(q))
    p_alive = _over_p(paper_model, alive_lik) / evidence
    assert paper_model.probability_alive(x, tx, T) == pytest.approx(p_alive, rel=1e-7)
    assert paper_model.conditional_expected_purchases(t, x, tx, T) == pytest.approx(
        _over_p(paper_model, future) / evidence, rel=1e-7)


def test_purchase_count_distribution_sums_to_one_with_right_mean(paper_model):
    k = np.arange(400)
    for t in (1.0, 39.0, 78.0):
        pmf = paper_model.probability_of_purchases(k, t)
        assert (pmf >= 0).all()
        assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert (k * pmf).sum() == pytest.approx(paper_model.expected_purchases_new(t), rel=1e-7)


def test_probability_of_purchases_matches_integral(paper_model):
    # FHL (2005) eq. 7, P(X(t) = k | lambda, p), averaged over p in closed form (Beta moments)
    # and over lambda numerically (substituting lambda = Gamma quantile of u).
    t, k = 39.0, 3
    p = paper_model.params_
    beta_ab = special.beta(p["a"], p["b"])
    alive_w = special.beta(p["a"], p["b"] + k) / beta_ab
    dead_w = special.beta(p["a"] + 1, p["b"] + k - 1) / beta_ab
    lam_dist = stats.gamma(p["r"], scale=1 / p["alpha"])

    def given_lambda(u):
        lam = lam_dist.ppf(u)
        return alive_w * stats.poisson.pmf(k, lam * t) + dead_w * stats.poisson.sf(k - 1, lam * t)

    direct, _ = integrate.quad(given_lambda, 0, 1, epsabs=1e-12, limit=200)
    assert paper_model.probability_of_purchases(k, t) == pytest.approx(direct, rel=1e-6)


def test_series_inputs_keep_the_index(paper_model):
    s = pd.DataFrame({"frequency": [0, 3], "recency": [0.0, 20.0], "T": [30.0, 30.0]},
                     index=["u", "v"])
    alive = paper_model.probability_alive(s["frequency"], s["recency"], s["T"])
    assert isinstance(alive, pd.Series) and list(alive.index) == ["u", "v"]
    expected = paper_model.conditional_expected_purchases(10, s["frequency"], s["recency"], s["T"])
    assert list(expected.index) == ["u", "v"]
    assert isinstance(paper_model.expected_purchases_new(np.array([1.0, 2.0])), np.ndarray)


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------

params = st.fixed_dictionaries({
    "r": st.floats(0.05, 5), "alpha": st.floats(0.5, 50),
    "a": st.floats(0.1, 5), "b": st.floats(0.1, 10),
})
histories = st.tuples(st.integers(0, 60), st.floats(0, 1), st.floats(0, 200)).map(
    lambda h: (h[0], h[1] * h[2] if h[0] > 0 else 0.0, h[2]))


@settings(max_examples=200, deadline=None)
@given(p=params, h=histories)
def test_probability_alive_is_a_probability(p, h):
    bgf = BetaGeo()
    bgf.params_ = p
    x, tx, T = h
    alive = bgf.probability_alive(x, tx, T)
    assert 0.0 <= alive <= 1.0
    if x == 0:
        assert alive == 1.0
    # longer silence since the last purchase -> less likely alive
    assert bgf.probability_alive(x, tx, T + 10) <= alive + 1e-12


@settings(max_examples=100, deadline=None)
@given(p=params, t=st.floats(0.1, 100))
def test_new_customer_is_the_zero_history_case(p, t):
    bgf = BetaGeo()
    bgf.params_ = p
    new = bgf.expected_purchases_new(t)
    assert new >= 0
    assert bgf.conditional_expected_purchases(t, 0, 0.0, 0.0) == pytest.approx(new, rel=1e-8)
    assert bgf.expected_purchases_new(2 * t) >= new


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def test_recovers_simulated_parameters():
    data = simulate_bgnbd(5000, **TRUE, seed=0)
    bgf = BetaGeo().fit(data)
    for name, value in TRUE.items():
        se = bgf.standard_errors_[name]
        assert 0 < se < 0.3 * value, name  # the tolerance below is informative
        assert abs(bgf.params_[name] - value) < 4 * se, name


def test_analytic_gradient_matches_finite_differences():
    data = simulate_bgnbd(1000, **TRUE, seed=1)
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(data))
    nll = _BGNBDLikelihood(*(data[c].to_numpy(float) for c in ("frequency", "recency", "T")), w)
    theta = np.array([0.4, 3.0, 1.2, 2.0])
    numeric = optimize.approx_fprime(theta, lambda th: nll(th)[0], 1e-7)
    np.testing.assert_allclose(nll(theta)[1], numeric, rtol=1e-4)


def test_weights_equal_repeated_rows():
    data = simulate_bgnbd(600, **TRUE, seed=3).round(1)
    counts = data.value_counts().rename("n").reset_index()
    expanded = BetaGeo().fit(data)
    weighted = BetaGeo().fit(counts, weights="n")
    for k in TRUE:
        assert weighted.params_[k] == pytest.approx(expanded.params_[k], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-9)
    assert weighted.n_customers_ == 600


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

GOOD = pd.DataFrame({"frequency": [0, 2, 1, 3], "recency": [0.0, 5.0, 3.0, 9.0],
                     "T": [10.0, 10.0, 12.0, 10.0]}, index=["a", "b", "c", "d"])


@pytest.mark.parametrize(
    ("column", "values", "pattern"),
    [
        ("frequency", [0, -1, 1, -2], r"'frequency' has 2 negative value\(s\).*\['b', 'd'\]"),
        ("recency", [0.0, np.nan, 3.0, 9.0], r"'recency' has 1 missing or infinite.*\['b'\]"),
        ("frequency", [0, 2.5, 1, 3], r"'frequency' has 1 non-integer value\(s\).*\['b'\]"),
        ("recency", [0.0, 11.0, 3.0, 12.0], r"'recency' has 2 greater-than-'T'.*\['b', 'd'\]"),
        ("T", [10.0, np.inf, 12.0, 10.0], r"'T' has 1 missing or infinite"),
    ],
)
def test_bad_values_are_counted_with_examples(column, values, pattern):
    with pytest.raises(ValueError, match=pattern):
        BetaGeo().fit(GOOD.assign(**{column: values}))


def test_structural_errors():
    with pytest.raises(ValueError, match=r"missing column\(s\) 'T' \(T=\).*available columns"):
        BetaGeo().fit(GOOD.drop(columns="T"))
    with pytest.raises(ValueError, match="empty"):
        BetaGeo().fit(GOOD.iloc[:0])
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        BetaGeo().fit(GOOD.assign(frequency=0, recency=0.0))
    with pytest.raises(ValueError, match="weights has 2 values but the summary has 4 rows"):
        BetaGeo().fit(GOOD, weights=[1, 2])
    with pytest.raises(NotFittedError, match=r"not fitted yet.*\.fit\(summary\)"):
        BetaGeo().probability_alive(1, 1, 2)


def test_unidentified_data_raise_convergence_error():
    # every repeat buyer bought on the last day: nobody ever drops out, b runs off to infinity
    rng = np.random.default_rng(0)
    T = rng.uniform(20, 40, 500)
    x = rng.poisson(3, 500)
    data = pd.DataFrame({"frequency": x, "recency": np.where(x > 0, T, 0.0), "T": T})
    with pytest.raises(ConvergenceError, match="do not identify the model"):
        BetaGeo().fit(data)


# ---------------------------------------------------------------------------------------------
# penalizer, impossible histories, covariance
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_sample() -> pd.DataFrame:
    return simulate_bgnbd(400, 0.24, 4.41, 0.79, 2.43, seed=21)


def test_penalizer_zero_is_the_unpenalised_fit(small_sample):
    plain, zero = BetaGeo().fit(small_sample), BetaGeo(penalizer=0.0).fit(small_sample)
    assert plain.params_ == zero.params_
    assert plain.log_likelihood_ == zero.log_likelihood_
    assert plain.standard_errors_ == zero.standard_errors_
    assert plain.fit_options_["penalizer"] == 0.0


def test_penalizer_shrinks_the_log_parameters(small_sample):
    def size(model):
        return float(np.sum(np.log(list(model.params_.values())) ** 2))

    fits = [BetaGeo(penalizer=c).fit(small_sample) for c in (0.0, 0.01, 0.1, 1.0)]
    sizes = [size(m) for m in fits]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < 0.5 * sizes[0]
    lls = [m.log_likelihood_ for m in fits]
    assert lls == sorted(lls, reverse=True)  # the unpenalised likelihood falls
    # the estimate minimises -log L / n + c * sum(log(theta) ** 2) (documented form)
    model = fits[2]
    x, tx, big_t = (small_sample[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    nll = _BGNBDLikelihood(x, tx, big_t, np.ones(len(x)))

    def objective(phi):
        return nll(np.exp(phi))[0] / len(x) + 0.1 * np.sum(phi**2)

    best = np.log(list(model.params_.values()))
    for j in range(4):
        for step in (-1e-3, 1e-3):
            moved = best.copy()
            moved[j] += step
            assert objective(moved) > objective(best)
    assert model.log_likelihood_ == pytest.approx(-nll(np.exp(best))[0], rel=1e-12)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_penalizer_must_be_a_nonnegative_number(bad):
    with pytest.raises(ValueError, match="penalizer must be a finite number >= 0"):
        BetaGeo(penalizer=bad)


def test_covariance_matches_standard_errors(small_sample):
    bgf = BetaGeo().fit(small_sample)
    cov = bgf.covariance_
    assert list(cov.index) == list(cov.columns) == ["r", "alpha", "a", "b"]
    assert np.allclose(cov.to_numpy(), cov.to_numpy().T)
    for name, se in bgf.standard_errors_.items():
        assert np.sqrt(cov.loc[name, name]) == se


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, 2, 3], [5.0, 40.0, 41.0], [38.0, 38.0, 38.0],
         r"recency has 2 value\(s\) greater than T, e.g. at rows \['b', 'c'\]: recency=40.0 "
         r"with T=38.0"),
        ([0, 0, 2], [0.0, 3.0, 5.0], [38.0, 38.0, 38.0],
         r"recency has 1 value\(s\) above 0 while frequency is 0 .*rows \['b'\] \(values \[3.0\]"),
        ([1, -2, 3], [5.0, 5.0, 5.0], [38.0, 38.0, 38.0],
         r"frequency has 1 negative value\(s\), e.g. at rows \['b'\]"),
        ([1, 2, 3], [5.0, np.nan, 5.0], [38.0, 38.0, 38.0],
         r"recency has 1 missing or infinite value\(s\), e.g. at rows \['b'\]"),
        ([1, 2, 3], [5.0, 5.0, 5.0], [38.0, np.inf, 38.0],
         r"T has 1 missing or infinite value\(s\)"),
    ],
)
def test_impossible_histories_are_refused_everywhere(paper_model, frequency, recency, T,
                                                     message):
    from retention.models import GammaGamma, customer_value, predict_clv

    idx = pd.Index(["a", "b", "c"])
    x, tx, big_t = (pd.Series(v, index=idx, dtype=float) for v in (frequency, recency, T))
    with pytest.raises(ValueError, match=message):
        paper_model.conditional_expected_purchases(10, x, tx, big_t)
    with pytest.raises(ValueError, match=message):
        paper_model.probability_alive(x, tx, big_t)
    ggf = GammaGamma()
    ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    summary = pd.DataFrame({"frequency": x, "recency": tx, "T": big_t,
                            "monetary_value": 20.0})
    column_message = message.replace("recency has", "'recency' has").replace(
        "frequency has", "'frequency' has").replace("T has", "'T' has")
    with pytest.raises(ValueError, match=f"{message}|{column_message}"):
        predict_clv(paper_model, ggf, summary, model_time_unit="W")
    with pytest.raises(ValueError, match=f"{message}|{column_message}"):
        customer_value(summary, paper_model, ggf, model_time_unit="W")


def test_impossible_histories_named_by_column_in_predict_clv(paper_model):
    from retention.models import GammaGamma, predict_clv

    ggf = GammaGamma()
    ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    summary = pd.DataFrame({"x_cal": [1.0, 2.0], "last_cal": [5.0, 50.0], "age_cal": [38.0, 38.0],
                            "monetary_value": [20.0, 30.0]}, index=["u1", "u2"])
    with pytest.raises(ValueError, match=r"last_cal has 1 value\(s\) greater than age_cal, "
                                         r"e.g. at rows \['u2'\]"):
        predict_clv(paper_model, ggf, summary, model_time_unit="W", frequency="x_cal",
                    recency="last_cal", T="age_cal")


def test_possible_edge_histories_are_accepted(paper_model):
    # repeat purchases on the first day (recency 0) and recency == T are possible
    values = paper_model.conditional_expected_purchases(10, [0, 2, 3], [0.0, 0.0, 38.0],
                                                        [38.0, 38.0, 38.0])
    assert np.all(np.isfinite(values))
    assert np.isfinite(paper_model.probability_alive(3, 38.0, 38.0))


def test_parameters_as_draw_rows_give_the_scalar_values(paper_model):
    """Each parameter an array of shape (n_draws, 1): one row of results per draw."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 8, 300).astype(float)
    big_t = rng.integers(20, 40, 300).astype(float)
    tx = np.where(x > 0, np.floor(big_t * rng.uniform(size=300)), 0.0)
    draws = np.array([[0.24, 4.4, 0.79, 2.43], [0.3, 5.0, 1.00005, 2.0], [0.2, 3.0, 0.5, 0.50002]])
    vec = BetaGeo()
    vec.params_ = {k: draws[:, [j]] for j, k in enumerate(PAPER)}
    got_e = vec.conditional_expected_purchases(10, x[None, :], tx[None, :], big_t[None, :])
    got_a = vec.probability_alive(x[None, :], tx[None, :], big_t[None, :])
    got_n = vec.expected_purchases_new(52)
    assert got_e.shape == got_a.shape == (3, 300) and np.shape(got_n) == (3, 1)
    for i, row in enumerate(draws):
        one = BetaGeo()
        one.params_ = dict(zip(PAPER, map(float, row), strict=True))
        np.testing.assert_allclose(got_e[i], one.conditional_expected_purchases(10, x, tx, big_t),
                                   rtol=1e-12)
        np.testing.assert_allclose(got_a[i], one.probability_alive(x, tx, big_t), rtol=1e-13)
        assert float(got_n[i, 0]) == pytest.approx(one.expected_purchases_new(52), rel=1e-12)
