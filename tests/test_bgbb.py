"""BG/BB: the published donations fit, predictions against lifetimes and direct sums,
parameter recovery on simulated histories, properties, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import optimize, special

from retention.models import ConvergenceError, NotFittedError
from retention.models.bgbb import BetaGeoBetaBinom, _BGBBLikelihood, _survival_sum

CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow"
# Fader, Hardie & Shang (2010), donations data (1995 cohort, n = 6 opportunities 1996-2001)
PAPER = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
PAPER_LL = -33225.6
# lifetimes 0.11.3 BetaGeoBetaBinomFitter().fit(frequency, recency, periods, weights=weights)
# (default tol) on donations.csv; the log-likelihood is that of its _loglikelihood at these
# parameters, summed with the weights.
LIFETIMES_FIT = {"alpha": 1.2035223936080475, "beta": 0.7497163581757659,
                 "gamma": 0.6567181695499289, "delta": 2.783441982887471}
LIFETIMES_LL = -33225.58127434616
LIFETIMES_SE = {"alpha": 0.069391, "beta": 0.029448, "gamma": 0.051010, "delta": 0.320819}

# lifetimes 0.11.3 BetaGeoBetaBinomFitter with params_ set to PAPER, for the patterns
# (x, t_x) below with n = 6: conditional_probability_alive(m, x, t_x, 6) for m = 1 (P(alive in
# 2002), FHS eq. 11) and m = 5, conditional_expected_number_of_purchases_up_to_time(m, x, t_x,
# 6) for m = 5 (2002-2006, FHS eq. 13) and m = 10, and
# expected_number_of_transactions_in_first_n_periods(6) / 11104 (P(X(6) = x), FHS eq. 7).
PATTERNS = [(0, 0), (1, 1), (1, 6), (3, 5), (4, 6), (6, 6)]
LIFETIMES_ALIVE_1 = [0.10801658416867374, 0.06940809320654888, 0.930402542372735,
                     0.7667340499954726, 0.9304025423726385, 0.930402542372872]
LIFETIMES_ALIVE_5 = [0.08594974499568063, 0.05522862954473447, 0.7403294769569404,
                     0.6100970196734693, 0.7403294769568629, 0.7403294769570489]
LIFETIMES_COND_5 = [0.07280287747504345, 0.08563539833787005, 1.147926540692499,
                    1.8044259997939913, 2.7104399808362754, 3.7521156075998188]
LIFETIMES_COND_10 = [0.13010379141285203, 0.1530363962156029, 2.05142434457663,
                     3.2246344106055447, 4.843744232838332, 6.705290825014633]
LIFETIMES_PMF_6 = [0.3112177432638495, 0.1701099784065147, 0.12148051376687109,
                   0.1002631150248037, 0.09165985342492182, 0.09248114790529242,
                   0.1127876482077468]


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    path = CDNOW / "donations.csv"
    if not path.exists():
        pytest.skip("donations data (../shared/data/cdnow) not available")
    return pd.read_csv(path)


@pytest.fixture
def paper_model() -> BetaGeoBetaBinom:
    bgbb = BetaGeoBetaBinom()
    bgbb.params_ = dict(PAPER)
    return bgbb


def simulate_bgbb(n_customers: int, alpha: float, beta: float, gamma: float, delta: float,
                  periods: int, seed: int) -> pd.DataFrame:
    """Per-customer (x, t_x, n): dies at the start of each opportunity with probability theta,
    transacts at each opportunity alive with probability p."""
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, beta, n_customers)
    theta = rng.beta(gamma, delta, n_customers)
    survived = rng.geometric(theta) - 1  # opportunities alive before becoming inactive
    opportunity = np.arange(1, periods + 1)
    buys = (rng.random((n_customers, periods)) < p[:, None]) & (
        opportunity[None, :] <= survived[:, None])
    x = buys.sum(axis=1)
    tx = np.where(x > 0, periods - np.argmax(buys[:, ::-1], axis=1), 0)
    return pd.DataFrame({"frequency": x, "recency": tx, "periods": periods})


def patterns_of(customers: pd.DataFrame) -> pd.DataFrame:
    return customers.value_counts().rename("weights").reset_index()


# ---------------------------------------------------------------------------------------------
# the published fit
# ---------------------------------------------------------------------------------------------


def test_donations_reproduce_the_paper(donations):
    assert len(donations) == 22 and donations["weights"].sum() == 11104
    bgbb = BetaGeoBetaBinom().fit(donations)
    for name, value in PAPER.items():
        assert bgbb.params_[name] == pytest.approx(value, rel=1e-3), name
        assert round(bgbb.params_[name], 3) == value, name
    assert round(bgbb.log_likelihood_, 1) == PAPER_LL
    assert bgbb.n_customers_ == 11104
    assert list(bgbb.summary.index) == ["alpha", "beta", "gamma", "delta"]


def test_donations_match_lifetimes(donations):
    bgbb = BetaGeoBetaBinom().fit(donations)
    for name, value in LIFETIMES_FIT.items():
        assert bgbb.params_[name] == pytest.approx(value, rel=1e-5), name
        assert bgbb.standard_errors_[name] == pytest.approx(LIFETIMES_SE[name], rel=1e-3), name
    assert bgbb.log_likelihood_ == pytest.approx(LIFETIMES_LL, abs=1e-4)


def test_one_row_per_donor_equals_the_patterns(donations):
    donors = donations.loc[donations.index.repeat(donations["weights"])].drop(columns="weights")
    per_donor = BetaGeoBetaBinom().fit(donors, weights=None)
    patterns = BetaGeoBetaBinom().fit(donations)
    for k in PAPER:
        assert per_donor.params_[k] == pytest.approx(patterns.params_[k], rel=1e-6)
    assert per_donor.log_likelihood_ == pytest.approx(patterns.log_likelihood_, rel=1e-10)


# ---------------------------------------------------------------------------------------------
# predictions
# ---------------------------------------------------------------------------------------------


def test_predictions_equal_lifetimes(paper_model):
    x, tx = (np.array([p[i] for p in PATTERNS]) for i in range(2))
    np.testing.assert_allclose(paper_model.probability_alive(x, tx, 6), LIFETIMES_ALIVE_1,
                               rtol=1e-9)
    np.testing.assert_allclose(paper_model.probability_alive_at(5, x, tx, 6), LIFETIMES_ALIVE_5,
                               rtol=1e-9)
    np.testing.assert_allclose(paper_model.conditional_expected_purchases(5, x, tx, 6),
                               LIFETIMES_COND_5, rtol=1e-9)
    np.testing.assert_allclose(paper_model.conditional_expected_purchases(10, x, tx, 6),
                               LIFETIMES_COND_10, rtol=1e-9)
    np.testing.assert_allclose(paper_model.probability_of_purchases(np.arange(7), 6),
                               LIFETIMES_PMF_6, rtol=1e-9)


def test_the_pattern_table_shows_the_papers_ordering(paper_model):
    # FHS (2010): for the same frequency, a more recent last gift means more likely alive and
    # more expected gifts; a donor who gave in every year is the best one.
    x, tx = np.meshgrid(np.arange(7), np.arange(7), indexing="ij")
    possible = (x <= tx) & ((x > 0) | (tx == 0))
    alive = np.full(x.shape, np.nan)
    expected = np.full(x.shape, np.nan)
    alive[possible] = paper_model.probability_alive(x[possible], tx[possible], 6)
    expected[possible] = paper_model.conditional_expected_purchases(5, x[possible],
                                                                    tx[possible], 6)
    with pytest.raises(ValueError, match="greater than recency"):
        paper_model.probability_alive(x[1:], tx[1:], 6)
    for f in range(1, 6):
        row = alive[f, f:]
        assert (np.diff(row) > 0).all()
        assert (np.diff(expected[f, f:]) > 0).all()
    assert np.nanargmax(expected) == np.ravel_multi_index((6, 6), x.shape)
    # donors whose last gift was in the final year are alive with the same probability
    np.testing.assert_allclose(alive[1:, 6], alive[6, 6], rtol=1e-12)


def _likelihood_direct(theta, x, tx, n):
    alpha, beta, gamma, delta = theta
    b_ab, b_gd = special.beta(alpha, beta), special.beta(gamma, delta)
    value = (special.beta(alpha + x, beta + n - x) / b_ab
             * special.beta(gamma, delta + n) / b_gd)
    for i in range(n - tx):
        value += (special.beta(alpha + x, beta + tx - x + i) / b_ab
                  * special.beta(gamma + 1, delta + tx + i) / b_gd)
    return value


def test_likelihood_matches_the_published_formula():
    theta = np.array([1.1, 0.8, 0.7, 2.5])
    rows = [(0, 0, 6), (1, 1, 6), (2, 5, 9), (3, 3, 3), (0, 0, 0), (4, 11, 12), (1, 2, 2)]
    x, tx, n = (np.array([r[i] for r in rows], dtype=float) for i in range(3))
    lik = _BGBBLikelihood(x, tx, n, np.ones(len(rows)))
    ll, _ = lik.rows(theta)
    direct = [np.log(_likelihood_direct(theta, *r)) for r in rows]
    np.testing.assert_allclose(ll[lik.codes], direct, rtol=1e-12, atol=1e-14)


def test_survival_sum_closed_form_equals_the_sum():
    for gamma in (0.3, 0.657, 0.99995, 1.0, 1.00007, 2.5):
        delta = 2.783
        for n, t in ((0, 1), (0, 6), (6, 5), (3, 40)):
            direct = sum(np.exp(special.betaln(gamma, delta + i) - special.betaln(gamma, delta))
                         for i in range(n + 1, n + t + 1))
            closed = _survival_sum(gamma, delta, np.array([n], float), np.array([t], float))
            assert closed[0] == pytest.approx(direct, rel=1e-7), (gamma, n, t)


def test_conditional_expectation_is_the_sum_of_alive_times_the_posterior_mean(paper_model):
    # E[X(n, n+t)] = sum_{m=1}^t P(alive at n+m) E[p | history]; E[p | ...] = (alpha+x)/(alpha
    # + beta + n) given alive at n. Independent of eq. 13's closed form.
    alpha, beta = PAPER["alpha"], PAPER["beta"]
    for x, tx in PATTERNS:
        m = np.arange(1, 11)
        alive = paper_model.probability_alive_at(m, x, tx, 6)
        cumulative = np.cumsum(alive) * (alpha + x) / (alpha + beta + 6)
        np.testing.assert_allclose(paper_model.conditional_expected_purchases(m, x, tx, 6),
                                   cumulative, rtol=1e-9)


def test_new_customer_is_the_zero_history_case(paper_model):
    t = np.arange(0, 30)
    np.testing.assert_allclose(paper_model.expected_purchases_new(t),
                               paper_model.conditional_expected_purchases(t, 0, 0, 0),
                               rtol=1e-12, atol=0)
    assert paper_model.probability_alive_at(0, 0, 0, 0) == pytest.approx(1.0)


def test_purchase_count_distribution_sums_to_one_with_right_mean(paper_model):
    for t in (0, 1, 6, 25):
        k = np.arange(t + 3)
        pmf = paper_model.probability_of_purchases(k, t)
        assert (pmf >= 0).all() and (pmf[t + 1:] == 0).all()
        assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
        assert (k * pmf).sum() == pytest.approx(paper_model.expected_purchases_new(t), rel=1e-10)


def test_series_inputs_keep_the_index(paper_model):
    s = pd.DataFrame({"frequency": [0, 3], "recency": [0, 5], "periods": [6, 6]},
                     index=["u", "v"])
    alive = paper_model.probability_alive(s["frequency"], s["recency"], s["periods"])
    assert isinstance(alive, pd.Series) and list(alive.index) == ["u", "v"]
    expected = paper_model.conditional_expected_purchases(5, s["frequency"], s["recency"],
                                                          s["periods"])
    assert list(expected.index) == ["u", "v"]
    assert isinstance(paper_model.expected_purchases_new(np.array([1, 2])), np.ndarray)


params = st.fixed_dictionaries({
    "alpha": st.floats(0.05, 20), "beta": st.floats(0.05, 20),
    "gamma": st.floats(0.05, 20), "delta": st.floats(0.05, 20),
})
histories = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)).map(
    lambda h: (min(h[0], h[1]) if h[1] > 0 else 0, h[1] if h[0] > 0 else 0, max(h[1], h[2])))


@settings(max_examples=200, deadline=None)
@given(p=params, h=histories, t=st.integers(1, 60))
def test_properties(p, h, t):
    bgbb = BetaGeoBetaBinom()
    bgbb.params_ = p
    x, tx, n = h
    alive = bgbb.probability_alive(x, tx, n)
    assert 0.0 <= alive <= 1.0
    assert bgbb.probability_alive_at(5, x, tx, n) <= alive + 1e-12
    expected = bgbb.conditional_expected_purchases(np.arange(t + 1), x, tx, n)
    assert expected[0] == 0 and (expected >= 0).all()
    assert (np.diff(expected) >= -1e-12 * expected[1:]).all()
    assert expected[-1] <= t * (1 + 1e-9)  # at most one transaction per opportunity


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------

TRUE = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}


def test_recovers_simulated_parameters():
    data = patterns_of(simulate_bgbb(30_000, **TRUE, periods=8, seed=0))
    bgbb = BetaGeoBetaBinom().fit(data)
    assert bgbb.n_customers_ == 30_000
    for name, value in TRUE.items():
        se = bgbb.standard_errors_[name]
        assert 0 < se < 0.3 * value, name  # the tolerance below is informative
        assert abs(bgbb.params_[name] - value) < 4 * se, name


def test_recovers_parameters_with_mixed_cohort_lengths():
    data = pd.concat([simulate_bgbb(10_000, **TRUE, periods=n, seed=n) for n in (3, 6, 12)])
    bgbb = BetaGeoBetaBinom().fit(patterns_of(data))
    for name, value in TRUE.items():
        assert abs(bgbb.params_[name] - value) < 4 * bgbb.standard_errors_[name], name


def test_analytic_gradient_matches_finite_differences():
    data = pd.concat([simulate_bgbb(500, **TRUE, periods=n, seed=n) for n in (1, 4, 9)])
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(data))
    nll = _BGBBLikelihood(*(data[c].to_numpy(float) for c in ("frequency", "recency",
                                                                "periods")), w)
    for theta in (np.array([1.1, 0.8, 0.7, 2.5]), np.array([0.3, 4.0, 2.0, 0.4])):
        numeric = optimize.approx_fprime(theta, lambda th: nll(th)[0], 1e-7)
        np.testing.assert_allclose(nll(theta)[1], numeric, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

GOOD = pd.DataFrame({"frequency": [0, 2, 1, 3], "recency": [0, 5, 3, 6],
                     "periods": [6, 6, 6, 6], "weights": [10, 4, 3, 2]},
                    index=["a", "b", "c", "d"])


@pytest.mark.parametrize(
    ("column", "values", "pattern"),
    [
        ("frequency", [0, -1, 1, -2], r"'frequency' has 2 negative value\(s\).*\['b', 'd'\]"),
        ("recency", [0.0, np.nan, 3.0, 6.0], r"'recency' has 1 missing or infinite.*\['b'\]"),
        ("frequency", [0, 2.5, 1, 3], r"'frequency' has 1 non-integer value\(s\).*\['b'\]"),
        ("periods", [6, 6, 5.5, 6], r"'periods' has 1 non-integer value\(s\).*\['c'\]"),
        ("recency", [0, 7, 3, 8], r"recency has 2 value\(s\) greater than periods.*\['b', 'd'\]"),
        ("frequency", [0, 6, 1, 3], r"frequency has 1 value\(s\) greater than recency.*\['b'\]"),
        ("recency", [2, 5, 3, 6],
         r"recency has 1 value\(s\) above 0 while frequency is 0.*\['a'\]"),
        ("weights", [10, -4, 3, 2], r"'weights' has 1 negative value\(s\).*\['b'\]"),
    ],
)
def test_bad_values_are_counted_with_examples(column, values, pattern):
    with pytest.raises(ValueError, match=pattern):
        BetaGeoBetaBinom().fit(GOOD.assign(**{column: values}))


def test_structural_errors(paper_model):
    with pytest.raises(ValueError, match=r"missing column\(s\) 'periods' \(T=\)"):
        BetaGeoBetaBinom().fit(GOOD.drop(columns="periods"))
    with pytest.raises(ValueError, match=r"missing column\(s\) 'weights' \(weights=\)"):
        BetaGeoBetaBinom().fit(GOOD.drop(columns="weights"))
    with pytest.raises(ValueError, match="empty"):
        BetaGeoBetaBinom().fit(GOOD.iloc[:0])
    with pytest.raises(ValueError, match="no customer has a transaction"):
        BetaGeoBetaBinom().fit(GOOD.assign(frequency=0, recency=0))
    with pytest.raises(NotFittedError, match=r"not fitted yet.*T='periods'"):
        BetaGeoBetaBinom().probability_alive(1, 1, 2)
    with pytest.raises(ValueError, match=r"T has 1 non-integer value"):
        paper_model.probability_alive(1, 1, 2.5)
    with pytest.raises(ValueError, match=r"t has 1 non-integer value"):
        paper_model.conditional_expected_purchases(1.5, 1, 1, 2)
    with pytest.raises(ValueError, match=r"recency has 1 value\(s\) greater than T"):
        paper_model.probability_alive(1, 3, 2)


def test_unidentified_data_raise_convergence_error():
    # everyone gave at every opportunity: nobody ever drops out and p is 1
    data = pd.DataFrame({"frequency": [1, 2, 3, 4], "recency": [1, 2, 3, 4],
                         "periods": [1, 2, 3, 4], "weights": [100, 100, 100, 100]})
    with pytest.raises(ConvergenceError):
        BetaGeoBetaBinom().fit(data)


# ---------------------------------------------------------------------------------------------
# penalizer
# ---------------------------------------------------------------------------------------------


def _log_size(model: BetaGeoBetaBinom) -> float:
    return float(np.sum(np.log(list(model.params_.values())) ** 2))


@pytest.fixture(scope="module")
def penalizer_sample() -> pd.DataFrame:
    return patterns_of(simulate_bgbb(800, **TRUE, periods=6, seed=5))


def test_penalizer_shrinks_the_log_parameters(penalizer_sample):
    plain = BetaGeoBetaBinom().fit(penalizer_sample)
    shrunk = BetaGeoBetaBinom(penalizer=0.1).fit(penalizer_sample)
    assert _log_size(shrunk) < 0.8 * _log_size(plain)
    assert shrunk.log_likelihood_ < plain.log_likelihood_  # the unpenalised likelihood falls
    assert shrunk.fit_options_["penalizer"] == 0.1


def test_penalizer_zero_is_the_unpenalised_fit(penalizer_sample):
    plain = BetaGeoBetaBinom().fit(penalizer_sample)
    zero = BetaGeoBetaBinom(penalizer=0).fit(penalizer_sample)
    assert zero.params_ == plain.params_
    assert zero.log_likelihood_ == plain.log_likelihood_
    assert zero.fit_options_["penalizer"] == plain.fit_options_["penalizer"] == 0.0


@pytest.mark.parametrize("bad", [-1, float("nan"), True, "x"])
def test_penalizer_must_be_a_nonnegative_number(bad):
    with pytest.raises(ValueError, match="penalizer"):
        BetaGeoBetaBinom(penalizer=bad)
